"""opsmart backup / restore: a round trip preserves every table; a non-empty target needs --force.

A restore that fails (a damaged backup) or is interrupted leaves the database
exactly as it was; a database owner that is not a superuser can back up and
restore its own database.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support import MARTS, build_marts, dbt_ok, mart_digest
from support.platform import ANCHOR, login_role, run_cli
from support.processes import (
    Cli,
    assert_interrupted,
    assert_one_line,
    backend,
    cli_env,
    no_backend,
    wait_until,
)

from opsmart import backup, bootstrap, connection, digest
from opsmart.errors import UserError
from opsmart.synth import generate
from opsmart.synth.scale import Scale

SCHEMAS = ("core", "ops", "mart")


def test_backup_and_restore_round_trip_preserves_every_table(
    loaded_url: str, make_database, tmp_path
) -> None:
    source = loaded_url
    dump = tmp_path / "opsmart.dump"
    result = run_cli(source, "backup", str(dump))
    assert result.returncode == 0, result.stderr
    expected = digest.digest(source, SCHEMAS)
    assert len(expected) > 30

    empty = make_database(bootstrapped=False)
    result = run_cli(empty, "restore", str(dump))
    assert result.returncode == 0, result.stderr
    assert digest.digest(empty, SCHEMAS) == expected

    # Refused without --force, and nothing changed; replaced with it.
    with psycopg.connect(empty, autocommit=True) as conn:
        conn.execute(
            "insert into ops.audit_log (action, entity_type, entity_id) values ('after', 'backup', '1')"
        )
    changed = digest.digest(empty, SCHEMAS)
    refused = run_cli(empty, "restore", str(dump))
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1 and "--force" in refused.stderr
    assert digest.digest(empty, SCHEMAS) == changed
    forced = run_cli(empty, "restore", "--force", str(dump))
    assert forced.returncode == 0, forced.stderr
    assert digest.digest(empty, SCHEMAS) == expected


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(db_url: str, tmp_path) -> None:
    bogus = tmp_path / "not-a-dump"
    bogus.write_text("select 1;\n")
    before = digest.digest(db_url, SCHEMAS)
    with pytest.raises(UserError, match="not an opsmart backup"):
        backup.restore(db_url, bogus, force=True, quiet=True)
    with pytest.raises(UserError, match="does not exist"):
        backup.restore(db_url, tmp_path / "missing.dump", quiet=True)
    assert digest.digest(db_url, SCHEMAS) == before


@pytest.fixture
def saved(loaded_url: str, tmp_path: Path) -> tuple[str, Path, dict[str, str]]:
    """A database with data and marts, its backup, and then a change the backup does not hold.

    Returns the URL, the backup and the digest of the database as it is now: a
    restore that fails or is interrupted must leave exactly that.
    """
    url = loaded_url
    dump = tmp_path / "saved.dump"
    backup.backup(url, dump, quiet=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.audit_log (action, entity_type, entity_id) values ('after', 'backup', '2')"
        )
    return url, dump, digest.digest(url, SCHEMAS)


def _lists(dump: Path) -> bool:
    return (
        subprocess.run(
            [str(backup.bin_dir() / "pg_restore"), "--list", str(dump)], capture_output=True
        ).returncode
        == 0
    )


def _data_start(dump: Path) -> int:
    """Where the table data begins: the shortest prefix whose table of contents pg_restore reads."""
    data, probe = dump.read_bytes(), dump.with_name("probe.dump")
    low, high = 0, len(data)
    while low < high:
        middle = (low + high) // 2
        probe.write_bytes(data[:middle])
        low, high = (low, middle) if _lists(probe) else (middle + 1, high)
    probe.unlink()
    return low


def _damaged(dump: Path, how: str) -> Path:
    data = bytearray(dump.read_bytes())
    start = _data_start(dump)
    at = start + (len(data) - start) // 2  # in the middle of the table data
    if how == "truncated":
        del data[at:]
    else:
        data[at : at + 4096] = bytes(range(256)) * 16
    damaged = dump.with_name(f"{how}.dump")
    damaged.write_bytes(bytes(data))
    # the damage is past what pg_restore checks before it starts
    assert _lists(damaged)
    return damaged


@pytest.mark.parametrize("how", ["truncated", "corrupted"])
def test_restore_of_a_damaged_backup_over_data_changes_nothing(saved, how: str) -> None:
    url, dump, before = saved
    damaged = _damaged(dump, how)
    result = run_cli(url, "restore", "--force", str(damaged))
    assert digest.digest(url, SCHEMAS) == before
    assert_one_line(result, "restore failed, nothing changed: the backup is damaged (")


# Where a restore is interrupted: the drop of the old schemas waits for a lock
# the test holds; the others sleep in an event trigger on the statement's tag
# (the first table, the first index after all data, the first grant near the end).
# Nothing else runs DDL in the test's database meanwhile.
POINTS = ["dropping the old schemas", "CREATE TABLE", "CREATE INDEX", "GRANT"]

_PAUSE_ON = """
create function public.opsmart_test_pause() returns event_trigger language plpgsql as $$
begin
    perform pg_sleep(300);
end
$$;
create event trigger opsmart_test_pause on ddl_command_start when tag in ({})
    execute function public.opsmart_test_pause();
"""


@pytest.mark.parametrize("point", POINTS)
def test_ctrl_c_during_restore_leaves_the_database_as_it_was(saved, point: str) -> None:
    url, dump, before = saved
    with psycopg.connect(url) as holder:
        if point == POINTS[0]:
            holder.execute("select from ops.audit_log limit 1")  # holds a lock the drop needs
            waiting = "query ilike 'drop schema%%' and wait_event_type = 'Lock'"
        else:
            holder.execute(sql.SQL(_PAUSE_ON).format(sql.Literal(point)))
            holder.commit()
            waiting = "wait_event = 'PgSleep'"
        cli = Cli("restore", "--force", str(dump), env=cli_env(url))
        try:
            wait_until(lambda: backend(url, waiting), f"restore at {point}")
            cli.signal(signal.SIGINT)
            result = cli.result()
            assert_interrupted(cli, result)
        finally:
            cli.close()
        holder.rollback()
    no_backend(url, "wait_event = 'PgSleep' or query ilike 'drop schema%%'")
    assert digest.digest(url, SCHEMAS) == before


OWNER = "opsmart_test_owner"
OWNER_PASSWORD = "pw-Owner-4711"


@pytest.fixture
def owner_url(server_url: str, template_url: str) -> Iterator[str]:
    """A database made and bootstrapped by its owner, a login with CREATEDB and nothing more.

    As on a managed server: the group roles exist (a DBA made them, here the
    template's bootstrap, with the test builder login), the owner is no superuser.
    """
    name = f"t_owner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(OWNER)))
        conn.execute(
            sql.SQL("create role {} login createdb password {}").format(
                sql.Identifier(OWNER), sql.Literal(OWNER_PASSWORD)
            )
        )
    as_owner = make_conninfo(server_url, user=OWNER, password=OWNER_PASSWORD)
    with psycopg.connect(as_owner, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = connection.with_database(as_owner, name)
    bootstrap.apply(url, quiet=True)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(OWNER)))


def _mart_digests(url: str) -> dict[str, tuple[int, str]]:
    return {mart: mart_digest(url, "mart", mart) for mart in MARTS}


def test_a_database_owner_that_is_no_superuser_backs_up_and_restores_and_the_next_build_rebuilds_the_marts(
    owner_url: str, tmp_path: Path
) -> None:
    url = owner_url
    generate.generate(url, Scale.preset("tiny"), anchor=ANCHOR, progress=False)
    build_marts(url, full_refresh=True)  # as the transformer: the marts are its own, row security forced
    marts = _mart_digests(url)
    build_state = ("ops.mart_build_state",)
    saved = digest.digest(url, ("core", "ops"), exclude=build_state)
    dump = tmp_path / "owner.dump"
    result = run_cli(url, "backup", str(dump))
    assert result.returncode == 0, result.stderr

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.audit_log (action, entity_type, entity_id) values ('after', 'backup', '3')"
        )
    result = run_cli(url, "restore", "--force", str(dump))
    assert result.returncode == 0, result.stderr
    assert "the next `opsmart build` rebuilds the marts" in result.stdout
    assert digest.digest(url, ("core", "ops"), exclude=build_state) == saved
    with psycopg.connect(url) as conn:
        # core and ops are the owner's; the mart schemas are there, empty, and the build state is gone
        owners = conn.execute(
            "select distinct pg_get_userbyid(relowner) from pg_class"
            " where relnamespace in ('core'::regnamespace, 'ops'::regnamespace)"
        ).fetchall()
        assert owners == [(OWNER,)]
        assert conn.execute(
            "select count(*) from pg_class where relnamespace = 'mart'::regnamespace"
        ).fetchone() == (0,)
        assert conn.execute("select count(*) from ops.mart_build_state").fetchone() == (0,)

    dbt_ok(url, "run", "--select", "+marts")  # an ordinary incremental run
    assert _mart_digests(url) == marts


def test_backup_refuses_a_login_that_would_miss_rows_to_row_level_security(
    loaded_url: str, tmp_path: Path
) -> None:
    url = loaded_url
    target = tmp_path / "partial.dump"
    # reads every table, but the marts' row-level security gives it none of their rows
    with login_role(url, "opsmart_test_reads_all", "pg_read_all_data") as reader:
        result = run_cli(reader, "backup", str(target))
    assert_one_line(result, "opsmart_test_reads_all may not read every row of mart.")
    assert not list(tmp_path.iterdir())
