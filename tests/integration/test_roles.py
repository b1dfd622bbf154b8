"""Every privilege each role holds, read from the catalog, equals the documented set.

The set is the README's roles table, written here as rules over the catalog
(ops_schema/repeatable/grants.sql and the marts' post-hooks grant it): a new
grant anywhere, or a table added without its grants, fails this test.
"""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.every_server

ROLES = ["opsmart_app", "opsmart_transformer", "opsmart_analyst", "opsmart_tenant", "pg_database_owner"]
BOOKKEEPING = {
    "ops.schema_migrations",
    "ops.mart_change_log",
    "ops.mart_build_state",
    "ops.mart_source",
    "ops.mart_schema",
    "ops.tenant_reader",
    "ops.build_run",
    "ops.build_node",
    "ops.build_freshness",
    "ops.replicated_table",
}
MART_SOURCES = {
    "ops.organization",
    "ops.organization_user",
    "ops.event",
    "ops.analysis_run",
    "ops.analysis_metric",
    "ops.judge_criterion",
    "ops.judge_score",
    "ops.workflow_run",
    "ops.evaluation_metric",
    "ops.chat_session",
    "ops.message",
    "ops.query_performance_log",
}
TRANSFORMER_FUNCTIONS = {
    "ops.create_mart_schema(text,text)",
    "ops.drop_mart_schema(text)",
    "ops.mart_source_identity(text[])",
    "ops.mart_source_changes(jsonb,jsonb)",
    "ops.mart_source_expression(text,text)",
    "ops.build_role_problem()",
    "ops.replica_column_problems()",
    "ops.replica_subscription(name)",
    "ops.anonymous_organization()",
}

# (grantee, kind, object, privilege): every ACL entry of an opsmart role or
# PUBLIC on the database, the schemas core and ops and the mart schemas, their
# tables and views, columns, and functions; an owner's rights on what it owns
# (the transformer's on the marts) are ownership, not grants.
_HELD = """
with grantees as (
    select r.oid, r.rolname::text as name from pg_roles as r where r.rolname = any(%(roles)s)
    union all
    select 0, 'public'
),
schemas as (
    select n.oid, n.nspname, n.nspacl, n.nspowner from pg_namespace as n
    where n.nspname in ('core', 'ops') or n.nspname in (select ms.schema_name from ops.mart_schema as ms)
),
entries as (
    select 'database' as kind, d.datname::text as object, a.grantee, a.privilege_type
    from pg_database as d cross join lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) as a
    where d.datname = current_database() and a.grantee <> d.datdba
    union all
    select 'schema', s.nspname::text, a.grantee, a.privilege_type
    from schemas as s cross join lateral aclexplode(s.nspacl) as a
    where a.grantee <> s.nspowner
    union all
    select 'table', s.nspname || '.' || c.relname, a.grantee, a.privilege_type
    from pg_class as c inner join schemas as s on c.relnamespace = s.oid
    cross join lateral aclexplode(c.relacl) as a
    where c.relkind in ('r', 'p', 'v', 'm', 'S') and a.grantee <> c.relowner
    union all
    select 'column', s.nspname || '.' || c.relname || '.' || att.attname, a.grantee, a.privilege_type
    from pg_attribute as att inner join pg_class as c on att.attrelid = c.oid
    inner join schemas as s on c.relnamespace = s.oid
    cross join lateral aclexplode(att.attacl) as a
    where att.attnum > 0 and not att.attisdropped
    union all
    select 'function', p.oid::regprocedure::text, a.grantee, a.privilege_type
    from pg_proc as p inner join schemas as s on p.pronamespace = s.oid
    cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as a
    where a.grantee <> p.proowner
)
select g.name, e.kind, replace(e.object, ', ', ','), e.privilege_type
from entries as e inner join grantees as g on e.grantee = g.oid
"""


@pytest.fixture
def built_url(loaded_url: str) -> str:
    """Data and marts, so every kind of grant exists."""
    return loaded_url


def _held(url: str) -> set[tuple[str, str, str, str]]:
    with psycopg.connect(url) as conn:
        return {tuple(row) for row in conn.execute(_HELD, {"roles": ROLES}).fetchall()}


def _expected(url: str) -> set[tuple[str, str, str, str]]:
    """The documented privileges, expanded over the tables and columns of this database."""
    with psycopg.connect(url) as conn:
        app_tables = [
            r[0]
            for r in conn.execute(
                """select n.nspname || '.' || c.relname from pg_class as c
                   join pg_namespace as n on n.oid = c.relnamespace
                   where n.nspname in ('core', 'ops') and c.relkind in ('r', 'p') and not c.relispartition"""
            ).fetchall()
            if r[0] not in BOOKKEEPING
        ]
        columns = {
            table: [
                r[0]
                for r in conn.execute(
                    "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0"
                    " and not attisdropped and attname <> 'change_xid'",
                    [table],
                ).fetchall()
            ]
            for table in app_tables
        }
        mart_schemas = dict(conn.execute("select schema_name::text, kind from ops.mart_schema").fetchall())
        marts = [
            r[0]
            for r in conn.execute(
                """select n.nspname || '.' || c.relname from pg_class as c
                   join pg_namespace as n on n.oid = c.relnamespace
                   where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v')""",
                [[s for s, kind in mart_schemas.items() if kind == "mart"]],
            ).fetchall()
        ]
    expected: set[tuple[str, str, str, str]] = set()
    # the app: every core/ops table through its parent, never change_xid, never the bookkeeping
    expected |= {("opsmart_app", "schema", s, "USAGE") for s in ("core", "ops")}
    for table in app_tables:
        expected.add(("opsmart_app", "table", table, "SELECT"))
        kinds = ["INSERT"] if table == "ops.audit_log" else ["INSERT", "UPDATE"]
        if table != "ops.audit_log":
            expected.add(("opsmart_app", "table", table, "DELETE"))
        expected |= {("opsmart_app", "column", f"{table}.{c}", k) for c in columns[table] for k in kinds}
    expected.add(("opsmart_app", "function", "ops.ensure_event_partitions(date,date)", "EXECUTE"))
    # writers give anonymous rows this organization (NULL here; a sentinel on a Citus cluster)
    expected.add(("opsmart_app", "function", "ops.anonymous_organization()", "EXECUTE"))
    # the transformer: the marts' sources and its own bookkeeping; schemas through functions
    expected.add(("opsmart_transformer", "schema", "ops", "USAGE"))
    expected |= {("opsmart_transformer", "table", t, "SELECT") for t in MART_SOURCES}
    expected |= {
        ("opsmart_transformer", "table", t, "SELECT") for t in ("ops.mart_source", "ops.mart_schema")
    }
    expected |= {
        ("opsmart_transformer", "table", "ops.mart_change_log", p) for p in ("SELECT", "UPDATE", "DELETE")
    }
    expected |= {
        ("opsmart_transformer", "table", "ops.mart_build_state", p)
        for p in ("SELECT", "INSERT", "UPDATE", "DELETE")
    }
    expected |= {
        ("opsmart_transformer", "table", f"ops.{t}", p)
        for t in ("build_run", "build_node", "build_freshness")
        for p in ("SELECT", "INSERT")
    }
    expected |= {("opsmart_transformer", "function", f, "EXECUTE") for f in TRANSFORMER_FUNCTIONS}
    for schema in mart_schemas:
        expected |= {("opsmart_transformer", "schema", schema, p) for p in ("USAGE", "CREATE")}
    # readers: the mart schemas, the marts; a tenant its own mappings
    for schema, kind in mart_schemas.items():
        if kind == "mart":
            expected |= {(r, "schema", schema, "USAGE") for r in ("opsmart_analyst", "opsmart_tenant")}
    for mart in marts:
        # (and the database owner, so its pg_dump reads every mart row)
        expected |= {
            (r, "table", mart, "SELECT") for r in ("opsmart_analyst", "opsmart_tenant", "pg_database_owner")
        }
    expected.add(("opsmart_tenant", "schema", "ops", "USAGE"))
    expected.add(("opsmart_tenant", "table", "ops.tenant_reader", "SELECT"))
    expected |= {
        ("opsmart_tenant", "function", f, "EXECUTE") for f in ("ops.tenant_organizations()", "ops.my_roles()")
    }
    # PUBLIC: connecting and temporary tables, as on any database; nothing in core, ops or the marts
    expected |= {("public", "database", _dbname(url), p) for p in ("CONNECT", "TEMPORARY")}
    return expected


def _dbname(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("select current_database()").fetchone()[0]


def test_every_role_holds_exactly_the_documented_privileges(built_url: str) -> None:
    held, expected = _held(built_url), _expected(built_url)
    assert sorted(held - expected) == [], "privileges nobody documented"
    assert sorted(expected - held) == [], "documented privileges missing"


def test_a_rerun_of_bootstrap_converges_to_the_documented_privileges(built_url: str) -> None:
    from opsmart import bootstrap

    with psycopg.connect(built_url, autocommit=True) as conn:
        # drift: grants someone added by hand, and one taken away
        conn.execute("grant truncate on ops.event to opsmart_app")
        conn.execute("grant select on core.users to opsmart_transformer")
        conn.execute("grant execute on function ops.refuse_truncate() to public")
        conn.execute("revoke select on ops.event from opsmart_transformer")
    bootstrap.apply(built_url, quiet=True)
    assert _held(built_url) == _expected(built_url)
