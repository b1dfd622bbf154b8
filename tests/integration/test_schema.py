"""The ops schema rejects bad rows at the door, each time naming the constraint that broke.

NOT NULL, foreign key and unique cases are generated from the catalog; CHECK
constraints each have a hand-written violating mutation, and a test fails when a
CHECK constraint in the catalog has no case. Every case starts from a valid row
made by a per-table factory, so the only thing wrong with it is the mutation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from opsmart import connection

pytestmark = pytest.mark.every_server

SCHEMAS = ["core", "ops"]
T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


class Rows:
    """Makes valid rows, creating the parent rows they need."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.counter = 0

    def uniq(self) -> int:
        self.counter += 1
        return self.counter

    def insert(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        columns = list(values)
        query = sql.SQL("insert into {} ({}) overriding system value values ({}) returning *").format(
            sql.Identifier(*table.split(".")),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        params = [Jsonb(v) if isinstance(v, dict | list) else v for v in values.values()]
        with self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query, params).fetchone()
        assert row is not None
        return row

    def valid(self, table: str) -> dict[str, Any]:
        return VALID[table](self)

    def make(self, table: str, **overrides: Any) -> dict[str, Any]:
        return self.insert(table, {**self.valid(table), **overrides})

    def id(self, table: str) -> Any:
        return self.make(table)["id"]


VALID: dict[str, Callable[[Rows], dict[str, Any]]] = {
    "ops.schema_migrations": lambda r: {
        "version": 1000 + r.uniq(),
        "name": "999_test.sql",
        "checksum": "0" * 64,
        "duration_ms": 3,
    },
    "core.users": lambda r: {"email": f"user{r.uniq()}@example.com", "name": "Ada"},
    "core.auth_accounts": lambda r: {
        "user_id": r.id("core.users"),
        "provider": "github",
        "provider_account_id": f"gh-{r.uniq()}",
        "access_token_ciphertext": b"\x01\x02",
        "encryption_key_id": "key-1",
    },
    "core.sessions": lambda r: {
        "user_id": r.id("core.users"),
        "jwt_id": f"jwt-{r.uniq()}",
        "expires_at": datetime.now(UTC) + timedelta(days=1),
    },
    "ops.organization": lambda r: {"name": "Acme", "slug": f"acme-{r.uniq()}"},
    "ops.organization_user": lambda r: {
        "organization_id": r.id("ops.organization"),
        "user_id": r.id("core.users"),
        "role": "member",
        "status": "active",
    },
    "ops.tenant_reader": lambda r: {
        "reader": "opsmart_tenant",
        "organization_id": r.id("ops.organization"),
    },
    "ops.api_key": lambda r: {
        "organization_id": r.id("ops.organization"),
        "user_id": r.id("core.users"),
        "name": "ci",
        "key_hash": "sha256$" + hashlib.sha256(str(r.uniq()).encode()).hexdigest(),
        "scopes": ["read"],
    },
    "ops.provider_credential": lambda r: {
        "organization_id": r.id("ops.organization"),
        "provider": "openai",
        "credential_ref": "vault:secret/openai",
        "encryption_key_id": "key-1",
    },
    "core.prompts": lambda r: {
        "organization_id": r.id("ops.organization"),
        "name": "summarise",
        "content": "Summarise the text.",
        "format_type": "text",
        "tags": ["demo"],
        "extra_metadata": {"team": "a"},
    },
    "core.prompt_relations": lambda r: {
        "source_id": r.id("core.prompts"),
        "target_id": r.id("core.prompts"),
        "relation_type": "depends_on",
    },
    "core.analysis_results": lambda r: {
        "prompt_id": r.id("core.prompts"),
        "prompt_content": "Summarise the text.",
        "detected_language": "en",
        "overall_score": 7.5,
        "judge_score": 8.0,
        "semantic_entropy": 0.4,
        "complexity_score": 3.0,
        "length_chars": 19,
        "length_words": 3,
    },
    "ops.experiment": lambda r: {
        "organization_id": r.id("ops.organization"),
        "name": "shorter prompts",
        "configuration": {"arm": "b"},
        "created_by": r.id("core.users"),
    },
    "ops.experiment_run": lambda r: {
        "experiment_id": r.id("ops.experiment"),
        "llm_model": "gpt-4o-mini",
        "started_at": T0,
        "finished_at": T1,
    },
    "ops.analysis_run": lambda r: {
        "organization_id": r.id("ops.organization"),
        "user_id": r.id("core.users"),
        "prompt_id": r.id("core.prompts"),
        "experiment_run_id": r.id("ops.experiment_run"),
        "llm_model": "gpt-4o-mini",
        "status": "succeeded",
        "started_at": T0,
        "finished_at": T1,
    },
    "ops.analysis_metric": lambda r: {
        "analysis_run_id": r.id("ops.analysis_run"),
        "key": "tokens.input",
        "value_num": 120,
    },
    "ops.analysis_node_result": lambda r: {
        "analysis_run_id": r.id("ops.analysis_run"),
        "node": "judge",
        "status": "ok",
        "score": 7,
    },
    "ops.judge_rubric": lambda r: {"organization_id": r.id("ops.organization"), "name": "default"},
    "ops.judge_criterion": lambda r: {
        "rubric_id": r.id("ops.judge_rubric"),
        "key": f"clarity_{r.uniq()}",
        "title": "Clarity",
        "weight": 1.5,
    },
    "ops.judge_score": lambda r: {
        "analysis_run_id": r.id("ops.analysis_run"),
        "criterion_id": r.id("ops.judge_criterion"),
        "score": 8,
    },
    "ops.workflow_run": lambda r: {
        "organization_id": r.id("ops.organization"),
        "user_id": r.id("core.users"),
        "status": "success",
        "started_at": T0,
        "finished_at": T1,
    },
    "ops.workflow_node": lambda r: {
        "run_id": r.id("ops.workflow_run"),
        "key": f"node_{r.uniq()}",
        "status": "success",
        "started_at": T0,
        "finished_at": T1,
    },
    "ops.evaluation_metric": lambda r: {
        "run_id": r.id("ops.workflow_run"),
        "node_key": "judge",
        "metric_name": "latency_ms",
        "metric_value": 12.5,
    },
    "ops.event": lambda r: {
        "organization_id": r.id("ops.organization"),
        "user_id": r.id("core.users"),
        "source": "web",
        "feature_key": "prompt.analyze",
        "occurred_at": datetime.now(UTC),
        "payload": {"ok": True},
    },
    "ops.query_performance_log": lambda r: {
        "query_name": "prompts_by_org",
        "endpoint": "/api/prompts",
        "organization_id": r.id("ops.organization"),
        "duration_ms": 4.2,
        "rows_returned": 10,
    },
    "ops.audit_log": lambda r: {
        "actor_user_id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "action": "prompt.update",
        "entity_type": "prompt",
        "entity_id": str(uuid.uuid4()),
        "after_state": {"name": "new"},
    },
    "ops.chat_session": lambda r: {
        "user_id": r.id("core.users"),
        "organization_id": r.id("ops.organization"),
        "started_at": T0,
        "ended_at": T1,
    },
    "ops.message": lambda r: {"session_id": r.id("ops.chat_session"), "role": "user", "content": "hello"},
    "ops.chain_analysis_result": lambda r: {
        "session_id": r.id("ops.chat_session"),
        "summary": "ok",
    },
    "ops.mart_change_log": lambda r: {"source": "event", "bucket": T0 + timedelta(hours=r.uniq())},
    "ops.mart_source": lambda r: {
        "source": f"source_{r.uniq()}",
        "relation": "ops.event",
        "time_expression": "row.occurred_at",
        "group_expression": "row.organization_id",
    },
    "ops.mart_schema": lambda r: {"schema_name": f"mart_{r.uniq()}", "kind": "mart"},
    "ops.build_run": lambda r: {
        "invocation_id": uuid.uuid4(),
        "command": "build",
        "target_schema": "mart",
        "started_at": T0,
        "ended_at": T1,
        "status": "success",
        "dbt_version": "1.11.0",
        "nodes": 4,
        "errors": 0,
        "warnings": 0,
    },
    "ops.build_node": lambda r: {
        "invocation_id": r.make("ops.build_run")["invocation_id"],
        "unique_id": f"model.opsmart.m_{r.uniq()}",
        "name": "feature_daily",
        "resource_type": "model",
        "status": "success",
        "execution_seconds": 0.5,
    },
    "ops.build_freshness": lambda r: {
        "invocation_id": r.make("ops.build_run")["invocation_id"],
        "source_name": "ops",
        "table_name": f"event_{r.uniq()}",
        "status": "pass",
    },
    "ops.replicated_table": lambda r: {
        "relation": f"ops.t_{r.uniq()}",
        # array literals (a list would be sent as jsonb)
        "column_names": "{id,name}",
        "column_types": "{bigint,text}",
    },
    "ops.mart_build_state": lambda r: {
        "target_schema": "mart",
        "model": f"model_{r.uniq()}",
        "snapshot": "10:20:",
        "is_full_refresh": True,
    },
}

# One violating mutation per CHECK constraint: (table, columns to override, or a
# function of the valid row returning them).
Mutation = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
CHECKS: dict[str, tuple[str, Mutation]] = {
    "chk_schema_migrations_version": ("ops.schema_migrations", {"version": 0}),
    "chk_schema_migrations_checksum": ("ops.schema_migrations", {"checksum": "not-a-sha256"}),
    "chk_schema_migrations_duration_ms": ("ops.schema_migrations", {"duration_ms": -1}),
    "chk_users_email": ("core.users", {"email": "no-at-sign"}),
    "chk_auth_accounts_provider": ("core.auth_accounts", {"provider": "GitHub"}),
    "chk_auth_accounts_key_id": ("core.auth_accounts", {"encryption_key_id": None}),
    "chk_sessions_expires_at": ("core.sessions", {"expires_at": datetime.now(UTC) - timedelta(hours=1)}),
    "chk_organization_name": ("ops.organization", {"name": "   "}),
    "chk_organization_slug": ("ops.organization", {"slug": "Acme Corp"}),
    "chk_organization_user_role": ("ops.organization_user", {"role": "superuser"}),
    "chk_organization_user_status": ("ops.organization_user", {"status": "banned"}),
    "chk_api_key_key_hash": ("ops.api_key", {"key_hash": "sk-live-raw-key-pasted-by-mistake"}),
    "chk_api_key_scopes": ("ops.api_key", {"scopes": {"read": True}}),
    "chk_provider_credential_provider": ("ops.provider_credential", {"provider": "Open AI"}),
    "chk_prompts_format_type": ("core.prompts", {"format_type": "html"}),
    "chk_prompts_tags": ("core.prompts", {"tags": {"demo": 1}}),
    "chk_prompts_extra_metadata": ("core.prompts", {"extra_metadata": ["team"]}),
    "chk_prompt_relations_relation_type": ("core.prompt_relations", {"relation_type": "likes"}),
    "chk_prompt_relations_not_self": (
        "core.prompt_relations",
        lambda valid: {"target_id": valid["source_id"]},
    ),
    "chk_analysis_results_overall_score": ("core.analysis_results", {"overall_score": 10.5}),
    "chk_analysis_results_judge_score": ("core.analysis_results", {"judge_score": -0.1}),
    "chk_analysis_results_complexity_score": ("core.analysis_results", {"complexity_score": float("nan")}),
    "chk_analysis_results_semantic_entropy": ("core.analysis_results", {"semantic_entropy": float("nan")}),
    "chk_analysis_results_length_chars": ("core.analysis_results", {"length_chars": -1}),
    "chk_analysis_results_length_words": ("core.analysis_results", {"length_words": -1}),
    "chk_analysis_results_contradictions": ("core.analysis_results", {"contradictions": {}}),
    "chk_analysis_results_patches": ("core.analysis_results", {"patches": {}}),
    "chk_analysis_results_clarify_questions": ("core.analysis_results", {"clarify_questions": {}}),
    "chk_experiment_configuration": ("ops.experiment", {"configuration": []}),
    "chk_experiment_run_finished_at": ("ops.experiment_run", {"finished_at": T0 - timedelta(seconds=1)}),
    "chk_analysis_run_status": ("ops.analysis_run", {"status": "done"}),
    "chk_analysis_run_finished_at": ("ops.analysis_run", {"finished_at": T0 - timedelta(seconds=1)}),
    "chk_analysis_run_finished_needs_start": ("ops.analysis_run", {"started_at": None}),
    "chk_analysis_run_meta": ("ops.analysis_run", {"meta": []}),
    "chk_analysis_metric_has_value": ("ops.analysis_metric", {"value_num": None}),
    "chk_analysis_metric_value_num": ("ops.analysis_metric", {"value_num": float("nan")}),
    "chk_analysis_metric_key": ("ops.analysis_metric", {"key": "Tokens In"}),
    "chk_analysis_node_result_status": ("ops.analysis_node_result", {"status": "great"}),
    "chk_analysis_node_result_score": ("ops.analysis_node_result", {"score": 11}),
    "chk_judge_criterion_weight": ("ops.judge_criterion", {"weight": 0}),
    "chk_judge_criterion_key": ("ops.judge_criterion", {"key": "9lives"}),
    "chk_judge_score_score": ("ops.judge_score", {"score": 10.01}),
    "chk_workflow_run_status": ("ops.workflow_run", {"status": "succeeded"}),
    "chk_workflow_run_finished_at": ("ops.workflow_run", {"finished_at": T0 - timedelta(seconds=1)}),
    "chk_workflow_node_status": ("ops.workflow_node", {"status": "skipped"}),
    "chk_workflow_node_finished_at": ("ops.workflow_node", {"finished_at": T0 - timedelta(seconds=1)}),
    "chk_evaluation_metric_metric_value": ("ops.evaluation_metric", {"metric_value": float("inf")}),
    "chk_evaluation_metric_metric_name": ("ops.evaluation_metric", {"metric_name": "Latency"}),
    "chk_event_source": ("ops.event", {"source": "fax"}),
    "chk_event_feature_key": ("ops.event", {"feature_key": "Prompt Analyze"}),
    "chk_event_payload": ("ops.event", {"payload": [1, 2]}),
    "chk_event_occurred_at": ("ops.event", {"occurred_at": "infinity"}),
    "chk_query_performance_log_duration_ms": ("ops.query_performance_log", {"duration_ms": -1}),
    "chk_query_performance_log_rows_returned": ("ops.query_performance_log", {"rows_returned": -5}),
    "chk_query_performance_log_measured_at": ("ops.query_performance_log", {"measured_at": "-infinity"}),
    "chk_audit_log_action": ("ops.audit_log", {"action": ""}),
    "chk_chat_session_ended_at": ("ops.chat_session", {"ended_at": T0 - timedelta(seconds=1)}),
    "chk_message_role": ("ops.message", {"role": "robot"}),
    "chk_message_ts": ("ops.message", {"ts": "infinity"}),
    "chk_mart_schema_kind": ("ops.mart_schema", {"kind": "view"}),
    "chk_build_run_status": ("ops.build_run", {"status": "partial"}),
    "chk_build_run_ended_at": ("ops.build_run", {"ended_at": T0 - timedelta(seconds=1)}),
    "chk_build_run_counts": ("ops.build_run", {"errors": -1}),
    "chk_build_node_execution_seconds": ("ops.build_node", {"execution_seconds": -0.1}),
    "chk_replicated_table_columns": ("ops.replicated_table", {"column_types": "{bigint}"}),
}

# Unique indexes on expressions: how a second row collides with the first.
EXPRESSION_UNIQUE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "unq_users_lower_email": lambda first: {"email": first["email"].upper()},
    # one row per transaction (the test's), source, hour and group
    "unq_mart_change_log_xid_source_bucket_group_key": lambda first: {
        "source": first["source"],
        "bucket": first["bucket"],
        "group_key": first["group_key"],
    },
}


@pytest.fixture(scope="module")
def schema_db_url(server_url: str, template_url: str) -> Iterator[str]:
    """One bootstrapped database for the module; every test rolls its changes back."""
    name = f"t_schema_{uuid.uuid4().hex[:8]}"
    template = connection.conninfo_to_dict(template_url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
        )
    yield connection.with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def conn(schema_db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(schema_db_url) as c:
        yield c
        c.rollback()


@pytest.fixture
def rows(conn: psycopg.Connection) -> Rows:
    return Rows(conn)


def catalog(conn: psycopg.Connection, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows about the tables of core and ops (partitions excluded: they share the parent's rules)."""
    return conn.execute(query, [SCHEMAS, *params]).fetchall()


def constraints(conn: psycopg.Connection, kinds: str) -> list[tuple[str, str, list[str]]]:
    """(table, constraint name, column names) for constraints of the given contype letters."""
    return catalog(
        conn,
        """
        select n.nspname || '.' || t.relname, c.conname,
               array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, i)
                     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.i)
        from pg_constraint c
        join pg_class t on t.oid = c.conrelid
        join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = any(%s) and not t.relispartition and c.contype::text = any(%s)
        order by 1, 2
        """,
        list(kinds),
    )


def is_or_inherits(conn: psycopg.Connection, reported: str | None, expected: str) -> bool:
    """True when ``reported`` is constraint ``expected`` or its copy on a partition."""
    if reported == expected:
        return True
    row = conn.execute(
        "select p.conname from pg_constraint c join pg_constraint p on p.oid = c.conparentid "
        "where c.conname = %s",
        [reported],
    ).fetchone()
    return row is not None and is_or_inherits(conn, row[0], expected)


def violation(conn: psycopg.Connection, attempt: Callable[[], Any]) -> psycopg.Error | None:
    """Runs ``attempt`` in a savepoint; returns the error it raised, or None."""
    try:
        with conn.transaction():
            attempt()
    except psycopg.Error as exc:
        return exc
    return None


def describe(exc: psycopg.Error | None) -> str:
    if exc is None:
        return "accepted"
    return f"{type(exc).__name__} (constraint {exc.diag.constraint_name}, column {exc.diag.column_name})"


def test_every_table_has_a_valid_row_factory(conn: psycopg.Connection) -> None:
    tables = {
        r[0]
        for r in catalog(
            conn,
            """select n.nspname || '.' || c.relname from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = any(%s) and c.relkind in ('r', 'p') and not c.relispartition""",
        )
    }
    assert tables == set(VALID)


@pytest.mark.parametrize("table", sorted(VALID))
def test_valid_row_is_accepted(rows: Rows, table: str) -> None:
    row = rows.make(table)
    assert row


def test_every_check_constraint_has_a_case(conn: psycopg.Connection) -> None:
    found = {(table, name) for table, name, _ in constraints(conn, "c")}
    assert found == {(table, name) for name, (table, _) in CHECKS.items()}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_constraint_rejects_violating_row(conn: psycopg.Connection, rows: Rows, name: str) -> None:
    table, mutation = CHECKS[name]
    values = rows.valid(table)
    values.update(mutation(values) if callable(mutation) else mutation)
    exc = violation(conn, lambda: rows.insert(table, values))
    assert isinstance(exc, errors.CheckViolation), describe(exc)
    assert exc.diag.constraint_name == name


def test_not_null_columns_reject_null(conn: psycopg.Connection, rows: Rows) -> None:
    columns = catalog(
        conn,
        """select n.nspname || '.' || c.relname, a.attname from pg_attribute a
           join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and c.relkind in ('r', 'p') and not c.relispartition
             and a.attnum > 0 and not a.attisdropped and a.attnotnull
           order by 1, a.attnum""",
    )
    assert len(columns) > 100
    failures = []
    for table, column in columns:
        values = {**rows.valid(table), column: None}
        exc = violation(conn, lambda table=table, values=values: rows.insert(table, values))
        if not (isinstance(exc, errors.NotNullViolation) and exc.diag.column_name == column):
            failures.append(f"{table}.{column}: {describe(exc)}")
    assert failures == []


def test_foreign_keys_reject_missing_parent(conn: psycopg.Connection, rows: Rows) -> None:
    fks = constraints(conn, "f")
    assert len(fks) > 20
    failures = []
    for table, name, cols in fks:
        # a single column points nowhere; a pair (parent id, organization) names
        # an existing parent with another organization
        broken = cols[:1] if len(cols) == 1 else cols[1:]
        values = {**rows.valid(table), **{c: uuid.uuid4() for c in broken}}
        exc = violation(conn, lambda table=table, values=values: rows.insert(table, values))
        if not (
            isinstance(exc, errors.ForeignKeyViolation)
            and is_or_inherits(conn, exc.diag.constraint_name, name)
        ):
            failures.append(f"{name}: {describe(exc)}")
    assert failures == []


def test_unique_keys_reject_duplicates(conn: psycopg.Connection, rows: Rows) -> None:
    keys = constraints(conn, "pu")
    expression_indexes = catalog(
        conn,
        """select n.nspname || '.' || t.relname, i.relname from pg_index x
           join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
           join pg_namespace n on n.oid = t.relnamespace
           where n.nspname = any(%s) and not t.relispartition and x.indisunique
             and not exists (select from pg_constraint c where c.conindid = x.indexrelid)""",
    )
    assert {name for _, name in expression_indexes} == set(EXPRESSION_UNIQUE)
    cases = [(table, name, cols, None) for table, name, cols in keys] + [
        (table, name, [], EXPRESSION_UNIQUE[name]) for table, name in expression_indexes
    ]
    assert len(cases) > 30
    failures = []
    for table, name, cols, collide in cases:

        def attempt(table: str = table, cols: list[str] = cols, collide: Any = collide) -> None:
            first = rows.make(table)
            second = rows.valid(table)
            second.update({c: first[c] for c in cols} if collide is None else collide(first))
            rows.insert(table, second)

        # a key over a narrower key's columns (what children's composite foreign
        # keys refer to) is unique because the narrower one is: that one reports it
        accepted = [name] + [
            other
            for t, other, other_cols in keys
            if t == table and other != name and set(other_cols) < set(cols)
        ]
        exc = violation(conn, attempt)
        if not (
            isinstance(exc, errors.UniqueViolation)
            and any(is_or_inherits(conn, exc.diag.constraint_name, a) for a in accepted)
        ):
            failures.append(f"{name}: {describe(exc)}")
    assert failures == []


def test_emails_are_unique_case_insensitively_and_optional(conn: psycopg.Connection, rows: Rows) -> None:
    rows.make("core.users", email="Ada@Example.com")
    exc = violation(conn, lambda: rows.make("core.users", email="ada@example.COM"))
    assert isinstance(exc, errors.UniqueViolation)
    assert exc.diag.constraint_name == "unq_users_lower_email"
    # Anonymous users have no email; any number of them may exist.
    rows.make("core.users", email=None)
    rows.make("core.users", email=None)


def test_audit_log_is_append_only(conn: psycopg.Connection, rows: Rows) -> None:
    entry = rows.make("ops.audit_log")
    statements = [
        sql.SQL("update ops.audit_log set action = 'tampered' where id = {}").format(entry["id"]),
        sql.SQL("delete from ops.audit_log where id = {}").format(entry["id"]),
        sql.SQL("truncate ops.audit_log"),
    ]
    for statement in statements:
        exc = violation(conn, lambda statement=statement: conn.execute(statement))
        assert isinstance(exc, errors.InsufficientPrivilege), describe(exc)
        assert "append-only" in (exc.diag.message_primary or "")
    assert conn.execute("select action from ops.audit_log where id = %s", [entry["id"]]).fetchone() == (
        "prompt.update",
    )


def test_truncate_of_a_mart_source_is_refused(conn: psycopg.Connection, rows: Rows) -> None:
    rows.make("ops.event")
    exc = violation(conn, lambda: conn.execute("truncate ops.event"))
    assert isinstance(exc, errors.FeatureNotSupported), describe(exc)


def partition_of(conn: psycopg.Connection, event_id: int) -> str:
    row = conn.execute("select tableoid::regclass::text from ops.event where id = %s", [event_id]).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("when", [datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)])
def test_events_outside_the_partitions_land_in_the_default_partition(rows: Rows, when: datetime) -> None:
    event = rows.make("ops.event", occurred_at=when)
    assert event["occurred_at"] == when
    assert partition_of(rows.conn, event["id"]) == "ops.event_default"


def test_ensure_event_partitions_moves_rows_out_of_default(conn: psycopg.Connection, rows: Rows) -> None:
    org = rows.id("ops.organization")
    early = rows.make("ops.event", organization_id=org, occurred_at=datetime(2150, 6, 3, tzinfo=UTC))
    other = rows.make("ops.event", organization_id=org, occurred_at=datetime(2150, 8, 1, tzinfo=UTC))
    assert partition_of(conn, early["id"]) == "ops.event_default"

    created = conn.execute("select ops.ensure_event_partitions('2150-06-01', '2150-06-30')").fetchone()
    assert created == (1,)
    assert partition_of(conn, early["id"]) == "ops.event_2150_06"
    assert partition_of(conn, other["id"]) == "ops.event_default"

    later = rows.make("ops.event", organization_id=org, occurred_at=datetime(2150, 6, 30, 23, 59, tzinfo=UTC))
    assert partition_of(conn, later["id"]) == "ops.event_2150_06"
    # The new partition enforces the parent's rules too.
    exc = violation(
        conn,
        lambda: rows.make(
            "ops.event", organization_id=org, occurred_at=datetime(2150, 6, 9, tzinfo=UTC), source="fax"
        ),
    )
    assert isinstance(exc, errors.CheckViolation)
    assert exc.diag.constraint_name == "chk_event_source"
    # Calling again creates nothing.
    assert conn.execute("select ops.ensure_event_partitions('2150-06-01', '2150-06-30')").fetchone() == (0,)


def test_database_health_check_reports_healthy(conn: psycopg.Connection, rows: Rows) -> None:
    report = conn.execute("select ops.database_health_check()").fetchone()[0]
    assert report["status"] == "healthy"
    assert report["modules_status"]["events"] is False
    rows.make("ops.event")
    report = conn.execute("select ops.database_health_check()").fetchone()[0]
    assert report["modules_status"]["events"] is True
    assert report["active_connections"] >= 1
