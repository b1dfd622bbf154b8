"""Ctrl-C in the middle of a command: exit 130, one line, no process left, nothing half done.

Each test sends a real SIGINT to the ``opsmart`` process once its work is under
way (a backend shows the query, a child or a file appears), as a terminal's
Ctrl-C would reach it. Restore's interrupts are in test_backup.py.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import psycopg
import pytest
from support import MARTS, builder_url, mart_digest
from support.platform import ANCHOR, leftover_relations
from support.processes import Cli, assert_interrupted, backend, cli_env, no_backend, wait_until

from opsmart import connection, digest
from opsmart.synth import generate
from opsmart.synth.scale import Scale

# the generator's events load into staging tables, swapped in as partitions at the end
EVENTS_LOADING = "query like '%%insert into \"synth_staging\".%%'"
PAUSE = json.dumps({"opsmart_fault_pause": 120})


def _interrupt_when(cli: Cli, ready: object) -> None:
    assert ready
    cli.signal(signal.SIGINT)


def test_ctrl_c_during_build_stops_dbt_and_leaves_the_mart_as_before(loaded_url: str) -> None:
    url = loaded_url
    with psycopg.connect(url, autocommit=True) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " select %s, 'web', 'interrupt', %s - make_interval(mins => i) from generate_series(1, 50) as i",
            [org, ANCHOR],
        )
    before = {m: mart_digest(url, "mart", m) for m in MARTS}
    cli = Cli("build", "--select", "feature_daily", "--", "--vars", PAUSE, env=cli_env(builder_url(url)))
    try:
        # feature_daily's rows are replaced in its open transaction, which sleeps in the test hook
        _interrupt_when(cli, wait_until(lambda: backend(url, "query like '%%pg_sleep(120%%'"), "the pause"))
        result = cli.result()
        assert_interrupted(cli, result)
    finally:
        cli.close()
    no_backend(url, "application_name = 'dbt'")
    assert {m: mart_digest(url, "mart", m) for m in MARTS} == before
    assert not leftover_relations(url)


@pytest.mark.parametrize("point", ["imports", "waiting-for-the-user-row"])
def test_ctrl_c_during_purge_changes_nothing(db_url: str, point: str) -> None:
    generate.generate(db_url, Scale.preset("tiny"), anchor=ANCHOR, progress=False)
    with psycopg.connect(db_url, autocommit=True) as conn:
        user = conn.execute("select id from core.users order by id limit 1").fetchone()[0]
    before = digest.digest(db_url)
    with psycopg.connect(db_url) as holder:
        if point == "waiting-for-the-user-row":
            holder.execute("select from core.users where id = %s for update", [user])
        cli = Cli("purge", "--user", str(user), env=cli_env(db_url))
        try:
            if point == "imports":
                # psycopg is imported only once the command runs: start-up, before any connection
                maps = Path(f"/proc/{cli.proc.pid}/maps")
                _interrupt_when(cli, wait_until(lambda: "psycopg" in maps.read_text(), "psycopg loaded"))
            else:
                _interrupt_when(
                    cli,
                    wait_until(
                        lambda: backend(db_url, "application_name = 'opsmart' and wait_event_type = 'Lock'"),
                        "purge waiting for the row lock",
                    ),
                )
            result = cli.result()
            assert_interrupted(cli, result)
        finally:
            cli.close()
        holder.rollback()
    no_backend(db_url, "application_name = 'opsmart'")
    assert digest.digest(db_url) == before


def test_ctrl_c_during_backup_leaves_no_file(db_url: str, tmp_path: Path) -> None:
    generate.generate(db_url, Scale.preset("tiny"), anchor=ANCHOR, progress=False)
    target = tmp_path / "interrupted.dump"
    with psycopg.connect(db_url) as holder:
        # pg_dump waits for this lock after it has opened its output
        holder.execute("lock table ops.audit_log in access exclusive mode")
        cli = Cli("backup", str(target), env=cli_env(db_url))
        try:
            wait_until(
                lambda: backend(db_url, "query ilike 'lock table%%' and wait_event_type = 'Lock'"),
                "pg_dump waiting for its lock",
            )
            _interrupt_when(cli, target.with_name(target.name + ".partial").exists())
            result = cli.result()
            assert_interrupted(cli, result)
        finally:
            cli.close()
        holder.rollback()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    no_backend(db_url, "query ilike 'lock table%%'")


def test_ctrl_c_during_generate_rolls_back_quietly(db_url: str) -> None:
    before = digest.digest(db_url)
    cli = Cli("generate", "--days", "120", "--events-per-day", "20000", env=cli_env(db_url))
    try:
        _interrupt_when(
            cli,
            wait_until(lambda: backend(db_url, EVENTS_LOADING), "events inserted"),
        )
        result = cli.result()
        assert_interrupted(cli, result)
    finally:
        cli.close()
    no_backend(db_url, "application_name = 'opsmart'")
    assert digest.digest(db_url) == before


def test_ctrl_c_during_load_stops_its_builds_and_writers(loaded_url: str) -> None:
    url = loaded_url
    # writers as the owner, builds as a transformer login
    env = cli_env(url, **{connection.BUILD_URL_ENV: builder_url(url)})
    cli = Cli("load", "--seconds", "1", "--writers", "2", env=env)
    try:
        # the second phase: writers, and a `dbt run` in a loop
        wait_until(lambda: cli.children("dbt"), "a dbt child", timeout=120)
        _interrupt_when(cli, wait_until(lambda: backend(url, "application_name = 'dbt'"), "dbt connected"))
        result = cli.result()
        assert_interrupted(cli, result)
    finally:
        cli.close()
    no_backend(url, "application_name in ('dbt', 'opsmart', 'opsmart-load-writer')")
    assert not leftover_relations(url)


def test_sigterm_stops_like_ctrl_c_with_the_shells_status(db_url: str) -> None:
    cli = Cli("generate", "--days", "120", "--events-per-day", "20000", env=cli_env(db_url))
    try:
        wait_until(lambda: backend(db_url, EVENTS_LOADING), "events inserted")
        cli.signal(signal.SIGTERM)
        result = cli.result()
    finally:
        cli.close()
    assert result.returncode == 128 + signal.SIGTERM
    assert re.fullmatch(r"opsmart: stopped by SIGTERM\n", result.stderr), result.stderr
    no_backend(db_url, "application_name = 'opsmart'")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from ops.organization").fetchone() == (0,)
