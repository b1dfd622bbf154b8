"""Build history: every dbt invocation records itself, for opsmart build and plain dbt alike."""

from __future__ import annotations

import re

import psycopg
import pytest
from support import dbt_ok, run_dbt
from support.platform import ANCHOR, login_role, run_cli

pytestmark = pytest.mark.every_server


def _runs(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select command, status, target_schema, login, nodes, errors from ops.build_run"
            " order by started_at"
        ).fetchall()


def test_opsmart_build_and_plain_dbt_record_every_invocation_node_by_node(loaded_url: str) -> None:
    before = len(_runs(loaded_url))
    with psycopg.connect(loaded_url) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'api', 'history', %s)",
            [org, ANCHOR],
        )
    assert run_cli(loaded_url, "build").returncode == 0
    dbt_ok(loaded_url, "run", "--select", "feature_daily")
    runs = _runs(loaded_url)[before:]
    # opsmart build: dbt build, then source freshness; then plain dbt run
    assert [(r[0], r[1], r[2], r[3]) for r in runs] == [
        ("build", "success", "mart", "opsmart_test_builder"),
        ("freshness", "success", "mart", "opsmart_test_builder"),
        ("run", "success", "mart", "opsmart_test_builder"),
    ]
    with psycopg.connect(loaded_url) as conn:
        marts = dict(
            conn.execute(
                """select n.name, n.groups_rebuilt from ops.build_node as n
                   join ops.build_run as r using (invocation_id)
                   where r.command = 'build' and n.resource_type = 'model' and n.groups_rebuilt is not null
                   order by r.started_at desc"""
            ).fetchall()
        )
        assert marts["feature_daily"] == 1  # one (organization, feature, day)
        fresh = conn.execute(
            """select count(*) from ops.build_freshness as f join ops.build_run as r using (invocation_id)
               where r.command = 'freshness' and f.max_loaded_at is not null"""
        ).fetchone()[0]
        assert fresh > 0


def test_a_failed_build_is_recorded_as_failed(loaded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSMART_STATEMENT_TIMEOUT", "1ms")
    assert not run_dbt(loaded_url, "run", "--select", "feature_daily").success
    command, status, *_, errors = _runs(loaded_url)[-1]
    assert (command, status) == ("run", "error") and errors >= 1
    # the operator sees it in opsmart check, until a build succeeds
    monkeypatch.delenv("OPSMART_STATEMENT_TIMEOUT")
    check = run_cli(loaded_url, "check")
    assert check.returncode == 1
    assert "the latest dbt run (" in check.stdout and "node(s) in error" in check.stdout
    assert re.search(r"run\s+error\b", check.stdout)
    dbt_ok(loaded_url, "run", "--select", "feature_daily")
    check = run_cli(loaded_url, "check")
    assert check.returncode == 0 and re.search(r"run\s+success\b", check.stdout), check.stdout


def test_analysts_read_the_history_tenants_do_not(loaded_url: str) -> None:
    dbt_ok(loaded_url, "run", "--select", "build_history")
    with login_role(loaded_url, "an_analyst", "opsmart_analyst") as analyst, psycopg.connect(analyst) as conn:
        assert conn.execute("select count(*) from mart.build_history").fetchone()[0] > 0
    with login_role(loaded_url, "a_tenant", "opsmart_tenant") as tenant, psycopg.connect(tenant) as conn:
        assert conn.execute("select count(*) from mart.build_history").fetchone()[0] == 0
