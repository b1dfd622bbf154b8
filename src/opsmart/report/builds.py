"""The report's freshness and build history: the marts' newest buckets and the builds that made them.

The history comes from ops.build_run when the login may read it (an owner),
else from its analyst view mart.build_history.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from opsmart import marts
from opsmart.report.snapshot import Marts, Snapshot, plain, readable, rows


def freshness(conn: psycopg.Connection, m: Marts, snap: Snapshot) -> None:
    """Each mart's newest bucket and size (the planner's estimate: no scan), and its last build."""
    for mart in marts.MARTS:
        row = conn.execute(
            sql.SQL(
                "select max({c}) as newest,"
                " (select c.reltuples from pg_class as c where c.oid = %s::regclass) as rows from {t}"
            ).format(c=sql.Identifier(mart.bucket_column), t=getattr(m, mart.name)),
            [f"{m.schema}.{mart.name}"],
        ).fetchone()
        snap.marts.append({"mart": mart.name, "grain": mart.grain, **{k: plain(v) for k, v in row.items()}})


def history(conn: psycopg.Connection, m: Marts, snap: Snapshot, window: dict[str, Any]) -> None:
    """Builds into this schema: from ops.build_run when this login may read it, else mart.build_history."""
    params = {**window, "schema": m.schema, "marts": list(marts.NAMES)}
    if readable(conn, "ops.build_run") and readable(conn, "ops.build_node"):
        snap.builds_from = "ops.build_run"
        runs = sql.SQL(
            """select invocation_id, command, login, started_at, ended_at, status, nodes, errors
               from ops.build_run where target_schema = %(schema)s"""
        )
        nodes = sql.SQL(
            """select n.invocation_id, n.name, n.status, n.execution_seconds, n.groups_rebuilt,
                      n.buckets_rebuilt, n.is_full_refresh
               from ops.build_node as n where n.resource_type = 'model'"""
        )
    elif m.has("build_history"):
        runs = sql.SQL(
            """select invocation_id, command, login, min(started_at) as started_at, min(ended_at) as ended_at,
                      min(build_status) as status, count(*) as nodes,
                      count(*) filter (where node_status in ('error', 'fail')) as errors
               from {h} where target_schema = %(schema)s group by 1, 2, 3"""
        ).format(h=m.build_history)
        nodes = sql.SQL(
            """select invocation_id, node_name as name, node_status as status, execution_seconds,
                      groups_rebuilt, buckets_rebuilt, is_full_refresh
               from {h} where resource_type = 'model' and target_schema = %(schema)s"""
        ).format(h=m.build_history)
    else:
        return
    since = sql.SQL(" where started_at >= %(start)s::timestamp at time zone 'UTC'")
    snap.builds = rows(
        conn,
        sql.SQL("select *, extract(epoch from ended_at - started_at) as seconds from ({}) as r").format(runs)
        + since
        + sql.SQL(" order by started_at desc"),
        params,
    )
    snap.mart_builds = rows(
        conn,
        sql.SQL(
            """select r.started_at, r.command, n.name as mart, n.status, n.execution_seconds as seconds,
                      n.groups_rebuilt, n.buckets_rebuilt, n.is_full_refresh
               from ({runs}) as r join ({nodes}) as n using (invocation_id)
               where r.started_at >= %(start)s::timestamp at time zone 'UTC' and n.name = any(%(marts)s)
               order by r.started_at"""
        ).format(runs=runs, nodes=nodes),
        params,
    )
    if readable(conn, "ops.build_freshness"):
        snap.sources = rows(
            conn,
            sql.SQL(
                """select distinct on (f.table_name) f.source_name, f.table_name, f.status, f.max_loaded_at,
                          f.snapshotted_at, f.age_seconds
                   from ops.build_freshness as f join ops.build_run as r using (invocation_id)
                   where r.target_schema = %(schema)s
                   order by f.table_name, f.snapshotted_at desc"""
            ),
            params,
        )
