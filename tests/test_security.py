"""Least privilege and tenant isolation, real server and real dbt (ops_schema/013, macros/security)."""

from __future__ import annotations

import psycopg
import pytest
from reliakit import load_tiny, login_role
from support import MARTS, build_marts

from opsmart import build

pytestmark = pytest.mark.every_server

ORG_MARTS = ("metric_timeseries", "feature_daily", "analysis_daily")


@pytest.fixture
def loaded_url(db_url: str) -> str:
    return load_tiny(db_url)


def _orgs(url: str) -> list:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("select id from ops.organization order by id limit 2").fetchall()]


def _map_tenant(url: str, role: str, org) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into ops.tenant_reader (reader, organization_id) values (%s, %s)", [role, org])


def _assert_isolated(superuser_url: str, tenant_url: str, org) -> None:
    with psycopg.connect(superuser_url) as conn:
        expected = {
            m: conn.execute(f"select count(*) from mart.{m} where organization_id = %s", [org]).fetchone()[0]
            for m in ORG_MARTS
        }
        assert conn.execute(
            "select count(*) from mart.analysis_daily where organization_id is null"
        ).fetchone()[0]
    assert all(expected.values()), expected
    with psycopg.connect(tenant_url) as conn:
        for mart in ORG_MARTS:
            seen = conn.execute(f"select organization_id, count(*) from mart.{mart} group by 1").fetchall()
            assert seen == [(org, expected[mart])], (mart, seen)
        # no organization column: nothing for tenants; the view runs as its caller
        assert conn.execute("select count(*) from mart.performance_dashboard").fetchone()[0] == 0
        assert conn.execute("select count(*) from mart.performance_last_hour").fetchone()[0] == 0
        assert conn.execute("select organization_id from ops.tenant_reader").fetchall() == [(org,)]
        for table in (
            "ops.event",
            "ops.organization",
            "core.users",
            "ops.api_key",
            "mart_staging.stg_ops__events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
            conn.rollback()


def test_a_tenant_reads_only_its_organizations_rows_in_every_mart_and_view(loaded_url: str) -> None:
    org_a, org_b = _orgs(loaded_url)
    with (
        login_role(loaded_url, "tenant_a", "opsmart_tenant") as url_a,
        login_role(loaded_url, "tenant_b", "opsmart_tenant") as url_b,
    ):
        _map_tenant(loaded_url, "tenant_a", org_a)
        _map_tenant(loaded_url, "tenant_b", org_b)
        _assert_isolated(loaded_url, url_a, org_a)
        _assert_isolated(loaded_url, url_b, org_b)
        with psycopg.connect(url_a) as conn:
            # A tenant cannot become another, nor widen its own mapping.
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("set role tenant_b")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("insert into ops.tenant_reader values ('tenant_a', %s)", [org_b])
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("alter table mart.feature_daily disable row level security")
        # Re-applied after every build: a full refresh creates new tables.
        build_marts(loaded_url, full_refresh=True)
        build_marts(loaded_url)
        _assert_isolated(loaded_url, url_a, org_a)


def test_analyst_transformer_and_app_reach_only_what_their_role_needs(loaded_url: str) -> None:
    secrets = ("core.auth_accounts", "core.sessions", "ops.api_key", "ops.provider_credential")
    with login_role(loaded_url, "an_analyst", "opsmart_analyst") as analyst, psycopg.connect(analyst) as conn:
        for mart in MARTS:  # all rows: no tenant filter for analysts
            assert conn.execute(f"select count(*) from mart.{mart}").fetchone()[0] > 0
        for table in (*secrets, "ops.event", "ops.tenant_reader"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
            conn.rollback()
    with login_role(loaded_url, "a_transformer", "opsmart_transformer") as url, psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from ops.event").fetchone()[0] > 0
        for table in secrets:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
            conn.rollback()
        for statement in (
            "update ops.event set feature_key = 'x'",
            "delete from ops.analysis_run",
            "insert into ops.audit_log (action, entity_type, entity_id) values ('x', 'x', 'x')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
    with login_role(loaded_url, "the_app", "opsmart_app") as app, psycopg.connect(app) as conn:
        org = conn.execute("select id from ops.organization limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'api', 'x', now())",
            [org],
        )
        conn.execute("insert into ops.audit_log (action, entity_type, entity_id) values ('a', 'b', 'c')")
        conn.commit()
        for statement in (
            "update ops.audit_log set action = 'rewritten'",
            "delete from ops.audit_log",
            "select 1 from mart.feature_daily",
            "delete from ops.mart_build_state",
            "delete from ops.schema_migrations",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


def test_a_transformer_login_runs_dbt_build_and_no_secret_reaches_a_mart_or_a_log(
    loaded_url: str, tmp_path
) -> None:
    raw_key = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    with psycopg.connect(loaded_url, autocommit=True) as conn:
        org = conn.execute("select id from ops.organization limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.provider_credential"
            " (organization_id, provider, credential_ref, encryption_key_id)"
            " values (%s, 'openai', %s, 'kms-1')",
            [org, raw_key],
        )
    password = "pw-Transformer-0451"
    with login_role(loaded_url, "dbt_runner", "opsmart_transformer", password=password) as url:
        # after the superuser's build (it handed the marts to opsmart_transformer) ...
        first = build.dbt(["build"], url, capture=True, target_path=tmp_path / "t1")
        assert first.returncode == 0, first.stdout[-4000:]
        # ... and a full refresh, which replaces every relation
        second = build.dbt(["run", "--full-refresh"], url, capture=True, target_path=tmp_path / "t2")
        assert second.returncode == 0, second.stdout[-4000:]
        logs = first.stdout + first.stderr + second.stdout + second.stderr
        logs += "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
        assert password not in logs
        assert raw_key not in logs
    with psycopg.connect(loaded_url) as conn:
        owners = conn.execute(
            "select distinct pg_get_userbyid(relowner) from pg_class"
            " where relnamespace = 'mart'::regnamespace and relkind in ('r', 'v')"
        ).fetchall()
        assert owners == [("opsmart_transformer",)]
        for mart in (*MARTS, "performance_last_hour"):
            text = conn.execute(
                f"select coalesce(string_agg(t::text, ''), '') from mart.{mart} as t"
            ).fetchone()[0]
            assert raw_key not in text
            assert "sha256$" not in text
