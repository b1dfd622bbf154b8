"""Security: every attack a reviewer tried, done as the role that tried it, fails; isolation holds.

Logins are made the way the README says (members of the opsmart_* groups). The
marts are built as a transformer login, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from support import MARTS, build_marts, builder_url
from support.platform import login_role, run_cli

from opsmart import build, connection, marts

pytestmark = pytest.mark.every_server

REPO = Path(__file__).resolve().parents[2]
ORG_MARTS = tuple(m.name for m in marts.MARTS if m.has_organization)
# Reference data in the mart schema that every role reads: no tenant's rows.
REFERENCE = ("metric_catalog", "feature_catalog", "query_slo", "time_spine_daily", "time_spine_hourly")
SECRETS = ("core.auth_accounts", "core.sessions", "ops.api_key", "ops.provider_credential")


def _orgs(url: str) -> list:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("select id from ops.organization order by id limit 2").fetchall()]


def _map_tenant(url: str, role: str, org) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into ops.tenant_reader (reader, organization_id) values (%s, %s)", [role, org])


def _denied(url: str, *statements: str) -> None:
    """Each statement, run as the login of ``url``, is refused for lack of privilege."""
    with psycopg.connect(url) as conn:
        for statement in statements:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)  # type: ignore[arg-type]
            conn.rollback()


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
        others = (m.name for m in marts.MARTS if not m.has_organization)
        for mart in (*others, *(r for r in marts.OTHER_RELATIONS if r != "organizations")):
            assert conn.execute(f"select count(*) from mart.{mart}").fetchone()[0] == 0, mart
        # the organizations dimension: its own organization, no other
        assert conn.execute("select organization_id from mart.organizations").fetchall() == [(org,)]
        assert conn.execute("select organization_id from ops.tenant_reader").fetchall() == [(org,)]
        # statistics and plans do not leak other tenants' values either
        # (the reference tables every role reads, seeds and time spines, may show theirs)
        assert (
            conn.execute(
                "select array_agg(distinct tablename) from pg_stats where schemaname = 'mart'"
                " and not tablename = any(%s)",
                [list(REFERENCE)],
            ).fetchone()[0]
            is None
        )
    _denied(
        tenant_url,
        "select 1 from ops.event",
        "select 1 from core.users",
        "select 1 from mart_staging.stg_ops__events",
    )


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
        # A tenant cannot become another, widen its own mapping, or switch off the policy.
        _denied(
            url_a,
            "set role tenant_b",
            f"insert into ops.tenant_reader values ('tenant_a', '{org_b}')",
            "alter table mart.feature_daily disable row level security",
        )
        with psycopg.connect(url_a) as conn:
            conn.execute("set row_security = off")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from mart.feature_daily")
        # Re-applied after every build: a full refresh creates new tables.
        build_marts(loaded_url, full_refresh=True)
        build_marts(loaded_url)
        _assert_isolated(loaded_url, url_a, org_a)


def test_a_dropped_tenants_mapping_breaks_nobody_and_passes_to_no_new_role(loaded_url: str) -> None:
    org_a, org_b = _orgs(loaded_url)
    with login_role(loaded_url, "tenant_a", "opsmart_tenant") as url_a:
        _map_tenant(loaded_url, "tenant_a", org_a)
        with login_role(loaded_url, "ghost", "opsmart_tenant"):
            _map_tenant(loaded_url, "ghost", org_b)
        # the mapping of the dropped role stays behind, pointing at its old OID
        with psycopg.connect(loaded_url) as conn:
            assert conn.execute("select count(*) from ops.tenant_reader").fetchone()[0] == 2
        _assert_isolated(loaded_url, url_a, org_a)
        with (
            login_role(loaded_url, "ghost", "opsmart_tenant") as url_ghost,
            psycopg.connect(url_ghost) as conn,
        ):
            for mart in (*ORG_MARTS, "organizations"):
                assert conn.execute(f"select count(*) from mart.{mart}").fetchone()[0] == 0, mart


def test_analyst_transformer_and_app_reach_only_what_their_role_needs(loaded_url: str) -> None:
    with login_role(loaded_url, "an_analyst", "opsmart_analyst") as analyst:
        with psycopg.connect(analyst) as conn:
            for mart in MARTS:  # all rows: no tenant filter for analysts
                assert conn.execute(f"select count(*) from mart.{mart}").fetchone()[0] > 0
        _denied(analyst, *(f"select 1 from {t}" for t in (*SECRETS, "ops.event", "ops.tenant_reader")))
    with login_role(loaded_url, "a_transformer", "opsmart_transformer") as url:
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from ops.event").fetchone()[0] > 0
        # personal data and secrets no model reads
        _denied(
            url,
            *(f"select 1 from {t}" for t in SECRETS),
            "select email from core.users",
            "select content from core.prompts",
            "select * from ops.audit_log",
            "update ops.event set feature_key = 'x'",
            "delete from ops.analysis_run",
            "insert into ops.audit_log (action, entity_type, entity_id) values ('x', 'x', 'x')",
        )
    with login_role(loaded_url, "the_app", "opsmart_app") as app:
        with psycopg.connect(app) as conn:
            org = conn.execute("select id from ops.organization limit 1").fetchone()[0]
            conn.execute(
                "insert into ops.event (organization_id, source, feature_key, occurred_at)"
                " values (%s, 'api', 'x', now())",
                [org],
            )
            conn.execute("insert into ops.audit_log (action, entity_type, entity_id) values ('a', 'b', 'c')")
        _denied(
            app,
            "update ops.audit_log set action = 'rewritten'",
            "delete from ops.audit_log",
            "select 1 from mart.feature_daily",
            "delete from ops.mart_build_state",
            "delete from ops.schema_migrations",
        )


def test_the_app_cannot_bypass_or_forge_change_tracking(loaded_url: str) -> None:
    with psycopg.connect(loaded_url) as conn:
        part = conn.execute(
            "select tableoid::regclass::text from ops.event group by 1 order by count(*) desc limit 1"
        ).fetchone()[0]
        org = conn.execute("select id from ops.organization limit 1").fetchone()[0]
    with login_role(loaded_url, "the_app", "opsmart_app") as app:
        _denied(
            app,
            # a partition directly: every write goes through the parent, whose tracking sees it
            f"delete from {part} where id in (select id from {part} limit 43)",
            f"update {part} set feature_key = 'hidden' where id in (select id from {part} limit 31)",
            f"truncate {part}",
            # choosing change_xid: a row the next build would not see
            f"insert into ops.event (organization_id, source, feature_key, occurred_at, change_xid)"
            f" values ('{org}', 'api', 'forged', now(), 1)",
            "update ops.event set change_xid = 1 where id in (select id from ops.event limit 1)",
            # planting change-log rows that never go away, or moving a build's snapshot
            "insert into ops.mart_change_log (source, bucket, xid)"
            " values ('event', '2026-11-01', '99999999999')",
            "update ops.mart_build_state set snapshot = '1:1:'",
            "select ops.mart_source_identity(array['event'])",
        )
        with psycopg.connect(app) as conn:
            # the partition it needs: the function creates it with its owner's rights
            assert conn.execute(
                "select ops.ensure_event_partitions('2140-01-01', '2140-01-31')"
            ).fetchone() == (1,)
            assert conn.execute("select to_regclass('ops.event_2140_01') is not null").fetchone() == (True,)
    _denied(
        builder_url(loaded_url), "insert into ops.mart_change_log (source, bucket) values ('event', now())"
    )


def test_a_trigger_planted_by_a_transformer_login_never_runs_with_more_rights(loaded_url: str) -> None:
    with login_role(loaded_url, "mallory", "opsmart_transformer") as mallory:
        with psycopg.connect(mallory, autocommit=True) as conn:
            conn.execute(
                """create function mart.promote() returns trigger language plpgsql as $$
                   begin
                       begin
                           execute 'alter role mallory superuser';
                       exception when others then null;  -- stay quiet, try the next build
                       end;
                       return null;
                   end $$"""
            )
            conn.execute(
                "create trigger promote after insert on mart.feature_daily"
                " for each statement execute function mart.promote()"
            )
        with psycopg.connect(loaded_url) as conn:
            org = conn.execute("select id from ops.organization limit 1").fetchone()[0]
            conn.execute(
                "insert into ops.event (organization_id, source, feature_key, occurred_at)"
                " values (%s, 'api', 'bait', now())",
                [org],
            )
        # the scheduler's build (an owner's URL plus the build login) ...
        assert run_cli(loaded_url, "build", "--select", "feature_daily").returncode == 0
        # ... and a build started with only a superuser's URL, which is refused
        refused = subprocess.run(
            [sys.executable, "-m", "opsmart.cli", "build"],
            env={k: v for k, v in os.environ.items() if k not in (connection.BUILD_URL_ENV,)}
            | {connection.URL_ENV: loaded_url},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert refused.returncode != 0
        assert refused.stderr.strip().startswith("opsmart: builds run as a login of opsmart_transformer")
        assert "is a superuser" in refused.stderr
        # plain dbt as a superuser is refused before any model runs
        as_superuser = build.dbt(["run", "--select", "feature_daily"], loaded_url, capture=True)
        assert as_superuser.returncode != 0
        assert "builds run as a login of opsmart_transformer and nothing more" in as_superuser.stdout
        with psycopg.connect(loaded_url) as conn:
            assert conn.execute("select rolsuper from pg_roles where rolname = 'mallory'").fetchone() == (
                False,
            )
            conn.execute("drop trigger promote on mart.feature_daily")
            conn.execute("drop function mart.promote()")


def test_a_transformer_cannot_make_a_schema_that_shadows_another_roles_search_path(loaded_url: str) -> None:
    with login_role(loaded_url, "mallory", "opsmart_transformer") as mallory:
        _denied(mallory, "create schema postgres", "create schema mallory")
        with psycopg.connect(mallory) as conn:
            for name in ("postgres", "mallory", "public", "pg_evil", "ops", "Mixed"):
                with pytest.raises(psycopg.errors.InvalidSchemaName):
                    conn.execute("select ops.create_mart_schema(%s)", [name])
                conn.rollback()


@pytest.mark.parametrize("schema", ["m'||current_user||'", 'mart"; drop table ops.event; --', "Mart"])
def test_a_schema_name_from_the_environment_is_refused_before_any_sql(loaded_url: str, schema: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "opsmart.cli", "build"],
        env=os.environ
        | {
            connection.URL_ENV: loaded_url,
            connection.BUILD_URL_ENV: builder_url(loaded_url),
            connection.SCHEMA_ENV: schema,
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"opsmart: {connection.SCHEMA_ENV} must be a lowercase schema name (letters, digits, _; "
        f"at most 55 characters), got {schema!r}"
    ]
    # plain dbt: a compile error before anything runs
    env_result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--select", "feature_daily"],
        env=build.dbt_env(builder_url(loaded_url)) | {connection.SCHEMA_ENV: schema},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert env_result.returncode != 0
    assert "must be a lowercase schema name" in env_result.stdout
    with psycopg.connect(loaded_url) as conn:
        assert conn.execute(
            "select count(*) from pg_namespace where nspname like 'm%%current%%'"
        ).fetchone() == (0,)
        assert conn.execute("select to_regclass('ops.event') is not null").fetchone() == (True,)


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
        # after another login's build (it handed the marts to opsmart_transformer) ...
        first = build.dbt(["build"], url, capture=True, target_path=tmp_path / "t1")
        assert first.returncode == 0, first.stdout[-4000:]
        # ... and a full refresh, which replaces every relation
        second = build.dbt(["run", "--full-refresh"], url, capture=True, target_path=tmp_path / "t1")
        assert second.returncode == 0, second.stdout[-4000:]
        logs = first.stdout + first.stderr + second.stdout + second.stderr
        logs += "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
        assert password not in logs
        assert raw_key not in logs
    with psycopg.connect(loaded_url) as conn:
        owners = conn.execute(
            "select distinct pg_get_userbyid(relowner) from pg_class"
            " where relnamespace in ('mart'::regnamespace, 'mart_staging'::regnamespace)"
            " and relkind in ('r', 'v')"
        ).fetchall()
        assert owners == [("opsmart_transformer",)]
        for mart in (*MARTS, "performance_last_hour"):
            text = conn.execute(
                f"select coalesce(string_agg(t::text, ''), '') from mart.{mart} as t"
            ).fetchone()[0]
            assert raw_key not in text
            assert "sha256$" not in text


def test_a_tenants_own_functions_never_see_other_tenants_rows(loaded_url: str) -> None:
    org_a, org_b = _orgs(loaded_url)
    with login_role(loaded_url, "tenant_a", "opsmart_tenant") as url_a:
        _map_tenant(loaded_url, "tenant_a", org_a)
        seen: list[str] = []
        with psycopg.connect(url_a) as conn:
            conn.add_notice_handler(lambda diag: seen.append(diag.message_primary or ""))
            # a cheap, non-leakproof function the planner might run before the row filter
            conn.execute(
                """create function pg_temp.leak(org uuid) returns boolean language plpgsql cost 0.0001 as $$
                   begin raise notice 'saw %', org; return true; end $$"""
            )
            for mart in ORG_MARTS:
                conn.execute(
                    f"select count(*) from mart.{mart} where pg_temp.leak(organization_id)"
                ).fetchone()
        assert seen and all(message == f"saw {org_a}" for message in seen), set(seen)
        assert not any(str(org_b) in message for message in seen)
