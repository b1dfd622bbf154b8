"""The state of an analytics server's replication: ``opsmart replicate status`` and ``opsmart check``.

From the analytics server alone: the subscription (enabled, a worker applying,
tables not yet copied, errors counted), and columns of its replicas that differ
from what the primary publishes (``ops.replica_column_problems()``). With the
primary too (``--primary`` or ``OPSMART_PRIMARY_URL``): how far behind the
subscriber is (bytes it has not confirmed, the slot's WAL, ``replay_lag`` where
the login may see it), and schema drift: a column of a published table on the
primary that the publication or the analytics server lacks, or types that differ.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from opsmart import bootstrap, connection
from opsmart.errors import UserError

PRIMARY_URL_ENV = "OPSMART_PRIMARY_URL"
PUBLICATION = "opsmart_marts"
# What the marts read (ops_schema/repeatable/grants.sql's mart sources); never
# the marts' bookkeeping, which holds the primary's transaction ids.
TABLES = (
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
)

Columns = dict[str, dict[str, str]]  # table -> column -> type


def column_drift(
    primary: Columns, analytics: Columns, published: dict[str, list[str]] | None = None
) -> list[str]:
    """Schema drift between the primary's tables, their publication and the analytics server's tables,
    one line each."""
    problems = []
    for table in TABLES:
        ours, theirs = analytics.get(table, {}), primary.get(table, {})
        sent = published.get(table) if published is not None else list(theirs)
        if published is not None and sent is None:
            problems.append(
                f"{table} is not in the primary's publication {PUBLICATION}: run `opsmart replicate setup`"
            )
            continue
        for column, data_type in theirs.items():
            if column not in (sent or []):
                problems.append(
                    f"schema drift: {table}.{column} on the primary is not replicated to the analytics"
                    " server; "
                    "add it there, then run `opsmart replicate setup --resync`"
                )
            elif column not in ours:
                problems.append(
                    f"schema drift: the primary publishes {table}.{column}, which the analytics server"
                    " lacks: "
                    "replication stops until it is added there"
                )
            elif ours[column] != data_type:
                problems.append(
                    f"schema drift: {table}.{column} is {data_type} on the primary, {ours[column]} on the "
                    "analytics server"
                )
        for column in ours:
            if column not in theirs:
                problems.append(
                    f"schema drift: {table}.{column} on the analytics server is not on the primary:"
                    " it stays empty"
                )
    return problems


def _rows(conn: psycopg.Connection, query: str, params: list | None = None) -> list[dict[str, Any]]:
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()  # type: ignore[arg-type]


def _local_drift(conn: psycopg.Connection) -> list[str]:
    messages = {
        "not replicated": "schema drift: {0}.{1} on the analytics server is not replicated from the primary, "
        "so it stays empty; run `opsmart replicate setup --resync`",
        "missing": "schema drift: the primary publishes {0}.{1}, which the analytics server lacks: "
        "replication stops until it is added",
        "type": "schema drift: {0}.{1} is {3} on the primary, {2} on the analytics server",
    }
    return [
        messages[r["problem"]].format(r["relation"], r["column_name"], r["local_type"], r["published_type"])
        for r in _rows(conn, "select * from ops.replica_column_problems()")
    ]


def is_replica(conn: psycopg.Connection) -> bool:
    """Does this database receive its sources by replication (``opsmart replicate setup`` ran here)?"""
    [ready] = _rows(
        conn,
        """select to_regprocedure('ops.replica_subscription(name)') is not null
                  and has_function_privilege('ops.replica_subscription(name)', 'execute') as callable,
                  to_regclass('ops.replicated_table') is not null
                  and has_table_privilege('ops.replicated_table', 'select') as readable""",
    )
    if not ready["callable"]:
        return False
    if _rows(conn, "select from ops.replica_subscription(%s)", [PUBLICATION]):
        return True
    return bool(ready["readable"] and _rows(conn, "select from ops.replicated_table limit 1"))


def _analytics(conn: psycopg.Connection, report: dict[str, Any]) -> None:
    problems = report["problems"]
    subs = _rows(conn, "select * from ops.replica_subscription(%s)", [PUBLICATION])
    if not subs:
        report["subscription"] = None
        problems.append(
            f"no subscription to the primary's publication {PUBLICATION}: run `opsmart replicate setup`"
        )
    else:
        sub = subs[0]
        age = sub["last_message_age"]
        report["subscription"] = {
            "name": sub["subscription"],
            "enabled": sub["enabled"],
            "worker_running": sub["worker_running"],
            "last_message_age_s": round(age.total_seconds(), 1) if age is not None else None,
            "tables": sub["tables"],
            "tables_not_ready": sub["tables_not_ready"],
            "apply_errors": sub["apply_errors"],
            "sync_errors": sub["sync_errors"],
        }
        name, errors = sub["subscription"], sub["apply_errors"] + sub["sync_errors"]
        if not sub["enabled"]:
            problems.append(f"subscription {name} is disabled: `alter subscription {name} enable`")
        elif not sub["worker_running"]:
            problems.append(
                f"subscription {name} is not applying changes (the primary unreachable, or an apply error: "
                f"{errors} errors counted; the analytics server's log says which)"
            )
        if sub["tables_not_ready"]:
            problems.append(f"initial copy not finished: {', '.join(sub['tables_not_ready'])}")
    report["drift"] = _local_drift(conn)
    problems.extend(report["drift"])


def _primary(url: str, slot: str | None, analytics_columns: Columns, report: dict[str, Any]) -> None:
    problems = report["problems"]
    with connection.connect(url, autocommit=True) as conn:
        published: dict[str, list[str]] = {
            r["relation"]: list(r["columns"])
            for r in _rows(
                conn,
                "select format('%%I.%%I', schemaname, tablename) as relation, attnames as columns"
                " from pg_publication_tables where pubname = %s",
                [PUBLICATION],
            )
        }
        primary = _columns(conn)
        lag = _rows(conn, "select * from ops.replication_slot(%s)", [slot]) if slot else []
    lag_report: dict[str, Any] | None = None
    if slot and not lag:
        problems.append(f"the primary has no replication slot {slot}: run `opsmart replicate setup` again")
    elif lag:
        row = lag[0]
        replay = row["replay_lag"]
        lag_report = {
            "slot": slot,
            "active": row["active"],
            "bytes_behind": int(row["bytes_behind"]),
            "retained_bytes": int(row["retained_bytes"]),
            "wal_status": row["wal_status"],
            "replay_lag_s": round(replay.total_seconds(), 3) if replay is not None else None,
        }
        if row["wal_status"] == "lost":
            problems.append(
                f"slot {slot} lost WAL its subscriber needs: run `opsmart replicate setup --resync`"
            )
    report["lag"] = lag_report
    if not published:
        problems.append(f"the primary has no publication {PUBLICATION}: run `opsmart replicate setup`")
        return
    drift = column_drift(primary, analytics_columns, published)
    report["drift"] = sorted(set(report["drift"]) | set(drift))
    problems.extend(d for d in drift if d not in problems)
    mine, theirs = bootstrap.status(report["analytics_url"]), bootstrap.status(url)
    if [(e.version, e.name, e.state) for e in mine] != [(e.version, e.name, e.state) for e in theirs]:
        problems.append(
            "the primary and the analytics server have applied different migrations: bootstrap both"
        )


def _columns(conn: psycopg.Connection) -> Columns:
    found: Columns = {}
    for r in _rows(conn, "select * from ops.replication_columns(%s)", [list(TABLES)]):
        found.setdefault(r["relation"], {})[r["column_name"]] = r["data_type"]
    return found


def collect(analytics_url: str, primary_url: str | None = None) -> dict[str, Any]:
    """The replication report of an analytics server: state, lag, drift and the problems found."""
    report: dict[str, Any] = {
        "analytics": connection.describe(analytics_url),
        "analytics_url": analytics_url,
        "primary": connection.describe(primary_url) if primary_url else None,
        "problems": [],
        "lag": None,
    }
    with connection.connect(analytics_url, autocommit=True) as conn:
        _analytics(conn, report)
        columns = _columns(conn)
    if primary_url:
        slot = report["subscription"]["name"] if report["subscription"] else None
        try:
            _primary(primary_url, slot, columns, report)
        except UserError as exc:  # the primary down: that is what the report says
            report["problems"].append(f"the primary: {exc}")
    report.pop("analytics_url")
    report["healthy"] = not report["problems"]
    return report


def render(report: dict[str, Any]) -> list[str]:
    """The report as lines of text (without the problems, which the caller lists)."""
    sub = report.get("subscription")
    out = []
    if sub:
        state = "enabled" if sub["enabled"] else "DISABLED"
        worker = "applying" if sub["worker_running"] else "NOT applying"
        age = sub["last_message_age_s"]
        heard = f", last message from the primary {age:.1f} s ago" if age is not None else ""
        out.append(f"subscription    {sub['name']}: {state}, {worker}{heard}")
        out.append(
            f"  tables {sub['tables'] - len(sub['tables_not_ready'])} of {sub['tables']} copied;"
            f" errors counted: {sub['apply_errors']} apply, {sub['sync_errors']} initial copy"
        )
    lag = report.get("lag")
    if lag:
        replay = f", replay lag {lag['replay_lag_s']:.3f} s" if lag["replay_lag_s"] is not None else ""
        out.append(
            f"lag             {lag['bytes_behind']:,} bytes not confirmed{replay};"
            f" slot {lag['slot']} {'active' if lag['active'] else 'INACTIVE'},"
            f" retains {lag['retained_bytes']:,} bytes"
            f" of WAL ({lag['wal_status']})"
        )
    elif report.get("primary") is None:
        out.append(f"lag             unknown here: set {PRIMARY_URL_ENV} (or --primary) to ask the primary")
    return out


def run(analytics_url: str, primary_url: str | None, *, as_json: bool = False, wait: float = 0.0) -> int:
    """``opsmart replicate status``: 0 healthy, 1 not."""
    import json

    if wait:
        if not primary_url:
            raise UserError(f"--wait needs the primary: --primary or {PRIMARY_URL_ENV}")
        with connection.connect(analytics_url, autocommit=True) as conn:
            subs = _rows(conn, "select subscription from ops.replica_subscription(%s)", [PUBLICATION])
        if subs:
            wait_caught_up(primary_url, subs[0]["subscription"], wait)
    report = collect(analytics_url, primary_url)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(
            f"analytics       {report['analytics']}"
            + (f" <- primary {report['primary']}" if report["primary"] else "")
        )
        print("\n".join(render(report)))
        print("status          " + ("healthy" if report["healthy"] else "UNHEALTHY"))
        for problem in report["problems"]:
            print(f"  - {problem}")
    return 0 if report["healthy"] else 1


def wait_caught_up(primary_url: str, slot: str, timeout: float) -> float:
    """Wait until the subscriber confirmed all the WAL the primary had written when called; seconds waited."""
    began = time.monotonic()
    with connection.connect(primary_url, autocommit=True) as conn:
        target = conn.execute("select pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        while True:
            row = conn.execute(
                "select confirmed_flush_lsn >= %s::pg_lsn from pg_replication_slots where slot_name = %s",
                [target, slot],
            ).fetchone()
            if row is None:
                raise UserError(f"the primary has no replication slot {slot}")
            if row[0]:
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                raise UserError(
                    f"the analytics server did not catch up with the primary within {timeout:.0f} s"
                )
            time.sleep(0.2)


TRACKING_OFF = (
    r"select exists (select from pg_trigger where tgname like 'trg\_%\_mart\_change'"
    " and tgparentid = 0 and tgenabled = 'D') as off"
)


def build_preflight(build_url: str) -> None:
    """Before a build: one line on a primary whose tracking is off, or on schema drift on an analytics
    server; a warning when its replication stopped."""
    with connection.connect(build_url, autocommit=True) as conn:
        if _rows(conn, TRACKING_OFF)[0]["off"]:
            raise UserError(
                "the change tracking of this database is switched off: an analytics server builds its marts"
                " (opsmart replicate setup); build there"
            )
        try:
            if not is_replica(conn):
                return
            report: dict[str, Any] = {"problems": []}
            _analytics(conn, report)
        except psycopg.errors.InsufficientPrivilege:
            return  # a login that may not read ops yet: build.preflight says what to do, in one line
    if report["drift"]:
        more = f" (and {len(report['drift']) - 1} more)" if len(report["drift"]) > 1 else ""
        raise UserError(report["drift"][0] + more)
    for problem in report["problems"]:
        print(f"opsmart: warning: {problem}; building from the data replicated so far", file=sys.stderr)
