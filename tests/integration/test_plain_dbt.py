"""Plain dbt, the way CI and orchestrators call it, with profiles.example.yml as the README says.

dbt runs in-process (support.run_dbt: the same profile, the libpq variables, a
transformer login), a subprocess where the test is about the command line itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from support import MARTS, copy_project, dbt_fails, dbt_ok, mart_digest, run_dbt
from support.platform import ANCHOR, assert_marts_exact

from opsmart import connection

pytestmark = pytest.mark.every_server

REPO = Path(__file__).resolve().parents[2]


def _digests(url: str, schema: str = "mart") -> dict:
    return {m: mart_digest(url, schema, m) for m in MARTS}


def _states(url: str, schema: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select model, snapshot::text, code_fingerprint from ops.mart_build_state"
            " where target_schema = %s order by 1",
            [schema],
        ).fetchall()


def _add_event(url: str, feature: str = "ci.probe") -> None:
    with psycopg.connect(url) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'api', %s, %s)",
            [org, feature, ANCHOR],
        )


def test_build_empty_into_a_ci_schema_makes_empty_marts_that_the_next_build_fills(loaded_url: str) -> None:
    dbt_ok(loaded_url, "build", "--empty", schema="ci_empty")
    assert all(count == 0 for count, _ in _digests(loaded_url, "ci_empty").values())
    assert _states(loaded_url, "ci_empty") == []  # nothing recorded: the next build is a full one
    dbt_ok(loaded_url, "build", schema="ci_empty")
    assert _digests(loaded_url, "ci_empty") == _digests(loaded_url)


def test_build_empty_on_the_deployments_schema_changes_nothing(loaded_url: str) -> None:
    before, states = _digests(loaded_url), _states(loaded_url, "mart")
    _add_event(loaded_url)
    dbt_ok(loaded_url, "build", "--empty")
    dbt_ok(loaded_url, "build", "--empty", "--full-refresh")
    assert _digests(loaded_url) == before
    assert _states(loaded_url, "mart") == states
    # --empty left the staging views selecting nothing: a mart build refuses them ...
    assert "feature_daily" in dbt_fails(loaded_url, "run", "--select", "feature_daily")
    assert _digests(loaded_url) == before
    # ... and a normal build rebuilds them first and catches up
    dbt_ok(loaded_url, "build")
    assert_marts_exact(loaded_url)


def test_show_previews_a_built_mart(loaded_url: str) -> None:
    result = dbt_ok(loaded_url, "show", "--select", "feature_daily", "--limit", "5")
    table = result.result.results[0].agate_table
    assert len(table.rows) == 5


def _log_rows_older_than_the_marts(conn: psycopg.Connection) -> int:
    """Change-log rows the deployment's marts have all seen: what a stale state would pin.

    (Rows newer than the marts' oldest snapshot may stay: any open transaction on the
    server holds that snapshot's xmin back, and pruning waits for it.)
    """
    return conn.execute(
        "select count(*) from ops.mart_change_log where xid < (select min(pg_snapshot_xmin(snapshot))"
        " from ops.mart_build_state where target_schema = 'mart')"
    ).fetchone()[0]


def test_slim_ci_into_a_throwaway_schema_and_its_drop_leave_the_change_log_unpinned(
    loaded_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod_state = tmp_path / "prod-state"
    prod_state.mkdir()
    result = dbt_ok(loaded_url, "build", artifacts=True)
    shutil.copy(Path(result.result.args["target_path"]) / "manifest.json", prod_state / "manifest.json")
    project = copy_project(tmp_path / "project")
    mart = project / "models" / "marts" / "feature_daily.sql"
    mart.write_text(mart.read_text() + "\n-- a reviewed change\n")
    monkeypatch.setenv(connection.PROJECT_ENV, str(project))

    ci = dbt_ok(
        loaded_url,
        "build",
        "--select",
        "state:modified+",
        "--defer",
        "--state",
        str(prod_state),
        schema="ci_pr1",
    )
    built = {r.node.name for r in ci.result.results if r.node.resource_type == "model"}
    # the changed mart and what is built from it (state:modified+), nothing else
    assert built == {"feature_daily", "feature_daily_platform"}
    assert [row[0] for row in _states(loaded_url, "ci_pr1")] == ["feature_daily", "feature_daily_platform"]

    # the CI schema's state must not hold change-log rows back once it is gone
    dbt_ok(loaded_url, "run-operation", "opsmart_drop_schema", "--args", json.dumps({"schema": "ci_pr1"}))
    with psycopg.connect(loaded_url) as conn:
        assert conn.execute(
            "select to_regnamespace('ci_pr1'), to_regnamespace('ci_pr1_staging')"
        ).fetchone() == (
            None,
            None,
        )
    assert _states(loaded_url, "ci_pr1") == []
    monkeypatch.delenv(connection.PROJECT_ENV)
    with psycopg.connect(loaded_url) as conn:
        conn.execute("delete from ops.event where id in (select id from ops.event order by id limit 5)")
    dbt_ok(loaded_url, "run", "--select", "marts")
    with psycopg.connect(loaded_url) as conn:
        assert _log_rows_older_than_the_marts(conn) == 0


def test_two_marts_committing_together_leave_nothing_every_mart_has_seen(loaded_url: str) -> None:
    with psycopg.connect(loaded_url) as conn:
        conn.execute("delete from ops.event where id in (select id from ops.event order by id limit 5)")
    marts = [row[0] for row in _states(loaded_url, "mart")]
    last = ["analysis_daily", "feature_daily_users"]  # independent: dbt runs them at once
    dbt_ok(loaded_url, "run", "--select", *(m for m in marts if m not in last))
    # each pauses after its own post-hook release, before its commit: each release
    # finds the other's previous state, as when two marts end together
    dbt_ok(loaded_url, "run", "--select", *last, "--vars", json.dumps({"opsmart_fault_pause": 4}))
    with psycopg.connect(loaded_url) as conn:
        assert _log_rows_older_than_the_marts(conn) == 0


def test_a_ci_schema_dropped_by_hand_neither_pins_the_log_nor_stays_in_the_build_state(
    loaded_url: str,
) -> None:
    dbt_ok(loaded_url, "run", "--select", "+feature_daily", schema="ci_gone")
    with psycopg.connect(loaded_url, autocommit=True) as conn:
        conn.execute("drop schema ci_gone cascade")
        conn.execute("delete from ops.event where id in (select id from ops.event order by id limit 5)")
    dbt_ok(loaded_url, "run", "--select", "marts")
    assert _states(loaded_url, "ci_gone") == []
    with psycopg.connect(loaded_url) as conn:
        assert _log_rows_older_than_the_marts(conn) == 0


def test_the_deployments_own_schema_cannot_be_dropped_by_the_transformer(loaded_url: str) -> None:
    result = run_dbt(
        loaded_url, "run-operation", "opsmart_drop_schema", "--args", json.dumps({"schema": "mart"})
    )
    assert not result.success
    with psycopg.connect(loaded_url) as conn:
        assert conn.execute("select to_regclass('mart.feature_daily') is not null").fetchone()[0]


def test_warn_error_build_passes(loaded_url: str) -> None:
    _add_event(loaded_url)
    dbt_ok(loaded_url, "--warn-error", "build")


@pytest.mark.parametrize("command", [["run", "--select", "marts"], ["test", "--select", "feature_daily"]])
def test_plain_dbt_runs_with_the_session_limits(
    loaded_url: str, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("OPSMART_STATEMENT_TIMEOUT", "1ms")
    result = run_dbt(loaded_url, *command)
    assert not result.success
    messages = " ".join(str(r.message) for r in result.result.results)
    assert "statement timeout" in messages, messages


def test_a_bad_session_limit_is_one_clear_compile_error(
    loaded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSMART_LOCK_TIMEOUT", "abc")
    result = run_dbt(loaded_url, "run", "--select", "feature_daily")
    assert not result.success
    assert "OPSMART_LOCK_TIMEOUT must be a duration" in str(result.exception or result.result)
