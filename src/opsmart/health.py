"""The health report behind ``opsmart check`` (the research plan's check_database.py).

Connection and server version, the bootstrap ledger against the files, the
tables the ops schema declares and their exact row counts, the newest event,
``ops.database_health_check()`` and, when dbt has built marts, their size and
last build. Exit status: 0 healthy, 1 unhealthy, 2 cannot connect.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from opsmart import bootstrap, connection, replication_status
from opsmart.errors import UserError


def _readable(conn: psycopg.Connection, relation: str) -> bool:
    """May this role read schema.table? (By OID: naming it needs USAGE on its schema.)"""
    schema, table = relation.split(".")
    row = conn.execute(
        "select has_schema_privilege(n.oid, 'usage') and has_table_privilege(c.oid, 'select') as ok"
        " from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s",
        [schema, table],
    ).fetchone()
    return bool(row and row["ok"])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _migrations(conn: psycopg.Connection, url: str, report: dict[str, Any]) -> None:
    ledger = conn.execute("select to_regclass('ops.schema_migrations') is not null as ok").fetchone()["ok"]
    if ledger and not _readable(conn, "ops.schema_migrations"):
        report["migrations"] = None  # not this role's to read: least privilege, not a problem
        return
    try:
        entries = bootstrap.status(url)
    except UserError as exc:  # bad file names, gaps, duplicates
        report["problems"].append(str(exc))
        report["migrations"] = None
        return
    by_state: dict[str, list[str]] = {}
    for e in entries:
        by_state.setdefault(e.state, []).append(e.name)
    report["migrations"] = {
        "applied": len(by_state.get("applied", [])),
        "pending": by_state.get("pending", []),
        "changed": by_state.get("changed", []) + by_state.get("renamed", []),
        "missing_files": by_state.get("missing file", []),
    }
    m = report["migrations"]
    if m["pending"]:
        report["problems"].append(f"{len(m['pending'])} pending migrations: run `opsmart bootstrap`")
    if m["changed"]:
        report["problems"].append(f"changed after they were applied: {', '.join(m['changed'])}")
    if m["missing_files"]:
        report["problems"].append(f"applied but no longer in ops_schema/: {', '.join(m['missing_files'])}")


def _tables(conn: psycopg.Connection, report: dict[str, Any]) -> None:
    try:
        declared = bootstrap.declared_tables()
    except UserError:
        declared = []  # _migrations already reported why the files cannot be read
    present = {
        (r["schema"], r["table"])
        for r in conn.execute(
            "select n.nspname as schema, c.relname as table from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind in ('r', 'p') and n.nspname::text = any(%s::text[])",
            [sorted({s for s, _ in declared})],
        )
    }
    missing = [f"{s}.{t}" for s, t in declared if (s, t) not in present]
    rows = {}
    unreadable = []
    for schema, table in declared:
        if (schema, table) not in present:
            continue
        if not _readable(conn, f"{schema}.{table}"):
            unreadable.append(f"{schema}.{table}")  # least privilege: not a problem
            continue
        count = conn.execute(
            sql.SQL("select count(*) as n from {}").format(sql.Identifier(schema, table))
        ).fetchone()
        rows[f"{schema}.{table}"] = count["n"] if count else 0
    report["tables"] = {"expected": len(declared), "missing": missing, "rows": rows, "unreadable": unreadable}
    if missing:
        report["problems"].append(f"missing tables: {', '.join(missing)}")


def _events(conn: psycopg.Connection, report: dict[str, Any]) -> None:
    exists = conn.execute("select to_regclass('ops.event') is not null as ok").fetchone()["ok"]
    if not exists or not _readable(conn, "ops.event"):
        report["events"] = None
        return
    row = conn.execute(
        "select max(occurred_at) as occurred, max(received_at) as received from ops.event"
    ).fetchone()
    report["events"] = {
        "newest_occurred_at": _iso(row["occurred"]),
        "newest_received_at": _iso(row["received"]),
    }


def _health_function(conn: psycopg.Connection, report: dict[str, Any]) -> None:
    if not conn.execute("select to_regprocedure('ops.database_health_check()') is not null as ok").fetchone()[
        "ok"
    ]:
        report["health_check"] = None
        report["problems"].append("ops.database_health_check() does not exist")
        return
    if not conn.execute(
        "select has_function_privilege('ops.database_health_check()', 'execute') as ok"
    ).fetchone()["ok"]:
        report["health_check"] = None  # not this role's to run: least privilege, not a problem
        return
    try:
        with conn.transaction():
            result = conn.execute("select ops.database_health_check() as h").fetchone()["h"]
    except psycopg.Error as exc:
        report["health_check"] = None
        report["problems"].append(f"ops.database_health_check() failed: {exc.diag.message_primary}")
        return
    report["health_check"] = result
    if result.get("status") != "healthy":
        report["problems"].append(f"ops.database_health_check() says {result.get('status')!r}")


def _marts(conn: psycopg.Connection, report: dict[str, Any]) -> None:
    mart_schema = connection.mart_schema()
    tables = [
        r["relname"]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 1",
            [mart_schema],
        )
    ]
    state: dict[str, dict[str, Any]] = {}
    if (
        tables
        and conn.execute("select to_regclass('ops.mart_build_state') is not null as ok").fetchone()["ok"]
        and _readable(conn, "ops.mart_build_state")
    ):
        for r in conn.execute(
            "select model, built_at, is_full_refresh, buckets_rebuilt from ops.mart_build_state "
            "where target_schema = %s",
            [mart_schema],
        ):
            state[r["model"]] = r
    marts = []
    for table in tables:
        if not _readable(conn, f"{mart_schema}.{table}"):
            continue
        count = conn.execute(
            sql.SQL("select count(*) as n from {}").format(sql.Identifier(mart_schema, table))
        ).fetchone()
        built = state.get(table, {})
        marts.append(
            {
                "table": f"{mart_schema}.{table}",
                "rows": count["n"] if count else 0,
                "last_built_at": _iso(built.get("built_at")),
                "is_full_refresh": built.get("is_full_refresh"),
                "buckets_rebuilt": built.get("buckets_rebuilt"),
            }
        )
    report["marts"] = marts


def _replication(conn: psycopg.Connection, url: str, report: dict[str, Any]) -> None:
    """On an analytics server: its subscription, lag and schema drift (the primary's side too when
    OPSMART_PRIMARY_URL is set)."""
    if not replication_status.is_replica(conn):
        return
    found = replication_status.collect(url, os.environ.get(replication_status.PRIMARY_URL_ENV))
    report["replication"] = found
    report["problems"] += found["problems"]


def _builds(conn: psycopg.Connection, report: dict[str, Any]) -> None:
    """The recent dbt invocations into the mart schema (ops.build_run, written by every build)."""
    exists = conn.execute("select to_regclass('ops.build_run') is not null as ok").fetchone()["ok"]
    if not exists or not _readable(conn, "ops.build_run"):
        report["builds"] = None
        return
    rows = conn.execute(
        "select command, status, started_at, ended_at, login, nodes, errors, warnings"
        " from ops.build_run where target_schema = %s order by started_at desc limit 5",
        [connection.mart_schema()],
    ).fetchall()
    report["builds"] = [
        {
            "command": r["command"],
            "status": r["status"],
            "started_at": _iso(r["started_at"]),
            "seconds": round((r["ended_at"] - r["started_at"]).total_seconds(), 1),
            "login": r["login"],
            "nodes": r["nodes"],
            "errors": r["errors"],
            "warnings": r["warnings"],
        }
        for r in rows
    ]
    latest = next((b for b in report["builds"] if b["command"] in ("build", "run")), None)
    if latest and latest["status"] != "success":
        report["problems"].append(
            f"the latest dbt {latest['command']} ({latest['started_at']}, {latest['login']}) failed:"
            f" {latest['errors']} node(s) in error"
        )


def collect(url: str) -> dict[str, Any]:
    """The health report as a dict; raises UserError when the database cannot be reached."""
    report: dict[str, Any] = {"database": connection.describe(url), "problems": []}
    with connection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        try:
            version = conn.execute("select current_setting('server_version') as v").fetchone()
            report["server_version"] = version["v"]
            report["user"] = conn.execute("select session_user as u").fetchone()["u"]
            _migrations(conn, url, report)
            _tables(conn, report)
            _events(conn, report)
            _health_function(conn, report)
            _marts(conn, report)
            _replication(conn, url, report)
            _builds(conn, report)
        except psycopg.Error as exc:
            raise UserError(f"check failed as {conn.info.user}: {exc.diag.message_primary or exc}") from None
    report["healthy"] = not report["problems"]
    return report


def render(report: dict[str, Any]) -> str:
    """The report as readable text."""
    out = [
        f"database        {report['database']} (as {report['user']})",
        f"server          PostgreSQL {report['server_version']}",
    ]
    m = report.get("migrations")
    if m is not None:
        out.append(
            f"migrations      {m['applied']} applied, {len(m['pending'])} pending, "
            f"{len(m['changed'])} changed, {len(m['missing_files'])} missing files"
        )
    t = report["tables"]
    out.append(f"tables          {t['expected'] - len(t['missing'])} of {t['expected']} present")
    if t["rows"]:
        width = max(len(name) for name in t["rows"])
        out += [f"  {name:<{width}}  {n:>12,}" for name, n in t["rows"].items()]
    if t["unreadable"]:
        out.append(f"  not readable by {report['user']} (least privilege): {', '.join(t['unreadable'])}")
    ev = report.get("events")
    if ev is not None:
        out.append(
            f"newest event    occurred {ev['newest_occurred_at'] or '-'}, "
            f"received {ev['newest_received_at'] or '-'}"
        )
    h = report.get("health_check")
    if h is not None:
        modules = h.get("modules_status", {})
        with_rows = [name for name, present in modules.items() if present]
        out.append(
            f"health check    {h.get('status')}, {h.get('active_connections')} active connections, "
            f"{h.get('database_size_mb')} MB, modules with rows: {', '.join(with_rows) or 'none'}"
        )
    if report["marts"]:
        out.append("marts")
        width = max(len(mart["table"]) for mart in report["marts"])
        for mart in report["marts"]:
            built = mart["last_built_at"] or "never recorded"
            out.append(f"  {mart['table']:<{width}}  {mart['rows']:>12,} rows  last built {built}")
    else:
        out.append("marts           none built yet")
    if report.get("replication"):
        out += replication_status.render(report["replication"])
    builds = report.get("builds")
    if builds:
        out.append("recent builds")
        out += [
            f"  {b['started_at']}  {b['command']:<9} {b['status']:<7} {b['seconds']:>7.1f} s"
            f"  {b['nodes']} nodes, {b['errors']} errors, {b['warnings']} warnings  by {b['login']}"
            for b in builds
        ]
    if report["healthy"]:
        out.append("status          healthy")
    else:
        out.append("status          UNHEALTHY")
        out += [f"  - {p}" for p in report["problems"]]
    return "\n".join(out)


def run(url: str, as_json: bool = False) -> int:
    """Prints the report (text or JSON); 0 healthy, 1 unhealthy, 2 cannot connect."""
    try:
        report = collect(url)
    except UserError as exc:
        if as_json:
            print(json.dumps({"healthy": False, "error": str(exc)}))
        print(f"opsmart: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2, default=str) if as_json else render(report))
    return 0 if report["healthy"] else 1
