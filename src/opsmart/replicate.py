"""``opsmart replicate setup``: the marts built on an analytics server fed by logical replication.

The primary publishes the tables the marts read (every column but ``change_xid``,
through the partition root); the analytics server is bootstrapped with the same
ops schema, records the published columns, switches its change tracking to the
replica's (``ops_schema/015_replication.sql``: BEFORE row triggers enabled ALWAYS,
its own ``change_xid``), subscribes once to all of them (one apply worker: the
primary's commit order), waits for the initial copy and catches up, then builds
the marts as its build login. Run again, it changes only what is missing.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from opsmart import bootstrap, build, connection, replication_status
from opsmart.errors import UserError
from opsmart.replication_status import PUBLICATION, TABLES

Say = Callable[[str], None]


def subscription_name(analytics_url: str) -> str:
    """The subscription (and its slot on the primary): ``opsmart_`` and the analytics database's name."""
    dbname = conninfo_to_dict(analytics_url).get("dbname") or "postgres"
    return "opsmart_" + re.sub(r"[^a-z0-9_]", "_", str(dbname).lower())[:55]


def _version(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def _check_primary(conn: psycopg.Connection, url: str) -> None:
    where = f"the primary {connection.describe(url)}"
    if _version(conn) < 15:
        raise UserError(f"{where} runs PostgreSQL {_version(conn)}; publishing needs 15 or newer")
    wal_level = conn.execute("show wal_level").fetchone()[0]  # type: ignore[index]
    if wal_level != "logical":
        raise UserError(
            f"{where} has wal_level = {wal_level}: set wal_level = logical and restart it "
            "(RDS/Aurora: rds.logical_replication = 1; Cloud SQL: cloudsql.logical_decoding = on; "
            "Azure: wal_level = logical)"
        )
    pending = bootstrap.plan(url)
    if pending:
        names = ", ".join(m.filename for m in pending)
        raise UserError(f"{where} has migrations to apply ({names}): run `opsmart bootstrap` there first")
    without_key = conn.execute(
        """select string_agg(t, ', ') from unnest(%s::text[]) as t
           join pg_class as c on c.oid = to_regclass(t)
           where c.relreplident = 'n' or (c.relreplident = 'd' and not exists (
               select from pg_index as i where i.indrelid = c.oid and i.indisprimary))""",
        [list(TABLES)],
    ).fetchone()[0]  # type: ignore[index]
    if without_key:
        raise UserError(f"{where}: {without_key} have no primary key, so updates could not be published")


def _check_replication_login(url: str) -> str:
    """The role the subscription connects to the primary as; refuses one that may not stream changes."""
    with connection.connect(url, autocommit=True) as conn:
        user, may = conn.execute(
            "select rolname, rolreplication or rolsuper from pg_roles where rolname = session_user"
        ).fetchone()  # type: ignore[misc]
    if not may:
        raise UserError(
            f"{user} may not stream changes from the primary: it needs the REPLICATION attribute "
            f"(`alter role {user} replication`; RDS/Aurora: `grant rds_replication to {user}`; "
            "Cloud SQL and Azure: `alter role ... with replication` as the admin)"
        )
    return user


def _check_analytics(conn: psycopg.Connection, url: str) -> None:
    where = f"the analytics server {connection.describe(url)}"
    user, superuser, may_subscribe, may_create = conn.execute(
        """select r.rolname, r.rolsuper,
                  r.rolsuper or (current_setting('server_version_num')::int >= 160000
                                 and pg_has_role(r.oid, 'pg_create_subscription', 'USAGE')),
                  has_database_privilege(current_database(), 'CREATE')
           from pg_roles as r where r.rolname = session_user"""
    ).fetchone()  # type: ignore[misc]
    if _version(conn) < 15:
        raise UserError(f"{where} runs PostgreSQL {_version(conn)}; opsmart needs 15 or newer")
    if not may_subscribe:
        if _version(conn) < 16:
            raise UserError(
                f"{where} runs PostgreSQL 15, where only a superuser may create a subscription "
                f"and {user} is none: use a superuser there, or PostgreSQL 16+"
            )
        raise UserError(f"{user} may not subscribe on {where}: `grant pg_create_subscription to {user}`")
    if not (superuser or may_create):
        raise UserError(f"{user} may not subscribe on {where}: grant it CREATE on the database")


def _columns(url: str) -> dict[str, list[list[str]]]:
    """Per published table, its columns as a publication carries them: [[name, type], ...]."""
    with connection.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select relation, column_name, data_type from ops.replication_columns(%s)", [list(TABLES)]
        ).fetchall()
    found: dict[str, list[list[str]]] = {t: [] for t in TABLES}
    for relation, column, data_type in rows:
        found[relation].append([column, data_type])
    return found


def _refuse_drift(primary: dict[str, list[list[str]]], analytics: dict[str, list[list[str]]]) -> None:
    problems = replication_status.column_drift(
        {t: dict(map(tuple, cols)) for t, cols in primary.items()},
        {t: dict(map(tuple, cols)) for t, cols in analytics.items()},
    )
    if problems:
        raise UserError(f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))


def _subscription(conn: psycopg.Connection) -> str | None:
    row = conn.execute("select subscription from ops.replica_subscription(%s)", [PUBLICATION]).fetchone()
    return row[0] if row else None


def _recorded(conn: psycopg.Connection) -> dict[str, list[list[str]]]:
    rows = conn.execute("select relation, column_names, column_types from ops.replicated_table").fetchall()
    return {rel: [list(pair) for pair in zip(names, types, strict=True)] for rel, names, types in rows}


def _non_empty(conn: psycopg.Connection) -> list[str]:
    return [
        table
        for table in TABLES
        if conn.execute(
            sql.SQL("select exists (select from {})").format(sql.Identifier(*table.split(".")))
        ).fetchone()[0]  # type: ignore[index]
    ]


def _align_partitions(primary: psycopg.Connection, analytics: psycopg.Connection) -> None:
    """The analytics server gets the primary's event months (rows outside them would land in its default)."""
    bounds = primary.execute(
        """select min((leaf.value ->> 'lower')::timestamptz)::date,
                  (max((leaf.value ->> 'upper')::timestamptz) - interval '1 day')::date
           from jsonb_each(ops.mart_source_identity(array['event'])) as leaf"""
    ).fetchone()
    if bounds and bounds[0] is not None:
        analytics.execute("select ops.ensure_event_partitions(%s, %s)", list(bounds))


def _publish(conn: psycopg.Connection, spec: dict[str, list[list[str]]], reader: str) -> None:
    tables = sql.SQL(", ").join(
        sql.SQL("{} ({})").format(
            sql.Identifier(*table.split(".")), sql.SQL(", ").join(sql.Identifier(c) for c, _ in spec[table])
        )
        for table in TABLES
    )
    pub = sql.Identifier(PUBLICATION)
    with conn.transaction():
        if conn.execute("select 1 from pg_publication where pubname = %s", [PUBLICATION]).fetchone():
            conn.execute(sql.SQL("alter publication {} set table {}").format(pub, tables))
            conn.execute(sql.SQL("alter publication {} set (publish_via_partition_root = true)").format(pub))
        else:
            conn.execute(
                sql.SQL("create publication {} for table {} with (publish_via_partition_root = true)").format(
                    pub, tables
                )
            )
        if not conn.execute(
            "select rolsuper or rolname = current_user from pg_roles where rolname = %s", [reader]
        ).fetchone()[0]:  # type: ignore[index]
            # what the initial copy reads, and nothing more
            conn.execute(sql.SQL("grant usage on schema ops to {}").format(sql.Identifier(reader)))
            conn.execute(
                sql.SQL("grant select on table {} to {}").format(
                    sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in TABLES), sql.Identifier(reader)
                )
            )


def _subscribe(conn: psycopg.Connection, name: str, conninfo: str) -> None:
    streaming = sql.SQL("parallel" if _version(conn) >= 16 else "on")
    conn.execute(
        sql.SQL(
            "create subscription {} connection {} publication {} with (copy_data = true, streaming = {})"
        ).format(sql.Identifier(name), sql.Literal(conninfo), sql.Identifier(PUBLICATION), streaming)
    )


def _wait_copied(url: str, timeout: float, say: Say) -> None:
    deadline = time.monotonic() + timeout
    first_errors = None
    shown = 0.0
    with connection.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "select tables, tables_not_ready, sync_errors from ops.replica_subscription(%s)",
                [PUBLICATION],
            ).fetchone()
            tables, not_ready, errors = row if row else (0, [], 0)
            first_errors = errors if first_errors is None else first_errors
            if tables == len(TABLES) and not not_ready:
                return
            if errors - first_errors >= 3:
                raise UserError(
                    f"the initial copy fails ({errors - first_errors} errors): "
                    "see the analytics server's log "
                    "(a privilege the replication login lacks, or a table that differs)"
                )
            if time.monotonic() > deadline:
                raise UserError(
                    f"the initial copy did not finish within {timeout:.0f} s: {', '.join(not_ready)}"
                )
            if time.monotonic() - shown > 10:
                say(f"initial copy: {tables - len(not_ready)} of {len(TABLES)} tables ready")
                shown = time.monotonic()
            time.sleep(0.5)


def setup(
    primary: str,
    analytics: str,
    *,
    subscribe_as: str | None = None,
    build_url: str | None = None,
    name: str | None = None,
    resync: bool = False,
    keep_primary_tracking: bool = False,
    timeout: float = 3600.0,
    say: Say = print,
) -> None:
    """Publish on ``primary``, subscribe ``analytics`` to it, wait for the copy, build the marts there."""
    subscribe_as = subscribe_as or primary
    name = connection.check_schema_name(name or subscription_name(analytics), "--name")
    with connection.connect(primary, autocommit=True) as conn:
        _check_primary(conn, primary)
    reader = _check_replication_login(subscribe_as)
    with connection.connect(analytics, autocommit=True) as conn:
        _check_analytics(conn, analytics)
    say(f"bootstrapping the analytics server {connection.describe(analytics)}")
    bootstrap.apply(analytics, quiet=True)
    spec = _columns(primary)
    _refuse_drift(spec, _columns(analytics))

    tenants: list[tuple] = []
    with connection.connect(analytics, autocommit=True) as conn:
        existing = _subscription(conn)
        if existing and existing != name:
            raise UserError(f"the analytics database already subscribes to the primary as {existing}")
        recorded = _recorded(conn)
        moved = sorted(t for t in recorded if t in spec and recorded[t] != spec[t])
        if existing and moved and not resync:
            raise UserError(
                f"the primary now publishes other columns of {', '.join(moved)}: the values the analytics "
                "server lacks come only with a new copy; run setup again with --resync"
            )
        if existing and resync:
            say(f"dropping subscription {name} to copy every table again")
            conn.execute(sql.SQL("drop subscription {}").format(sql.Identifier(name)))
            existing = None
        if not existing:
            filled = _non_empty(conn)
            if filled and not resync:
                raise UserError(
                    f"the analytics database already holds rows in {', '.join(filled)}: "
                    "use a new, empty database (or --resync to copy them again)"
                )
            if filled:
                tenants = conn.execute(
                    "select reader, organization_id, created_at from ops.tenant_reader"
                ).fetchall()
                conn.execute("select ops.truncate_replicated_tables()")
        conn.execute("select ops.track_replicated_tables(%s)", [Jsonb(spec)])
        with connection.connect(primary, autocommit=True) as pconn:
            _align_partitions(pconn, conn)
            _publish(pconn, spec, reader)
            # Off: nothing logs updates and deletes there any more (no log grows without builds).
            off = pconn.execute("select ops.mart_tracking_is_off()").fetchone()[0]  # type: ignore[index]
            if off == keep_primary_tracking:
                pconn.execute("select ops.set_mart_tracking(%s)", [keep_primary_tracking])
        if existing:
            conn.execute(sql.SQL("alter subscription {} enable").format(sql.Identifier(name)))
            conn.execute(
                sql.SQL("alter subscription {} refresh publication with (copy_data = true)").format(
                    sql.Identifier(name)
                )
            )
        else:
            say(f"subscribing {connection.describe(analytics)} to {PUBLICATION} as {name}")
            _subscribe(conn, name, subscribe_as)
    _wait_copied(analytics, timeout, say)
    waited = replication_status.wait_caught_up(primary, name, timeout)
    say(f"initial copy done, caught up with the primary ({waited:.1f} s)")
    if tenants:
        with connection.connect(analytics, autocommit=True) as conn:
            for row in tenants:
                conn.execute(
                    "insert into ops.tenant_reader (reader, organization_id, created_at)"
                    " select %s, %s, %s where exists (select from ops.organization where id = %s)"
                    " on conflict do nothing",
                    [*row, row[1]],
                )
    if not build_url:
        say(
            f"marts not built: no build login given (--build-url or {connection.BUILD_URL_ENV}); "
            "run `opsmart build` on the analytics server"
        )
        return
    # the marts themselves; their tests run with every `opsmart build`
    build.preflight(build_url)
    if build.dbt(["run"], build_url).returncode != 0:
        raise UserError("the first build on the analytics server failed (dbt's output above says why)")
    build.vacuum_marts(build_url)
    say(f"marts built on {connection.describe(analytics)}")


def command(args: argparse.Namespace) -> int:
    """``opsmart replicate setup|status`` from its parsed arguments."""
    primary = args.primary or os.environ.get(replication_status.PRIMARY_URL_ENV)
    analytics = args.analytics or os.environ.get(connection.URL_ENV)
    if args.action == "status":
        return replication_status.run(
            analytics or connection.database_url(), primary, as_json=args.json, wait=args.wait
        )
    if not primary or not analytics:
        raise UserError(
            f"replicate {args.action} needs --primary and --analytics"
            f" (or {replication_status.PRIMARY_URL_ENV} and {connection.URL_ENV})"
        )
    setup(
        primary,
        analytics,
        subscribe_as=args.subscribe_as,
        build_url=args.build_url or os.environ.get(connection.BUILD_URL_ENV),
        name=args.name,
        resync=args.resync,
        keep_primary_tracking=args.keep_primary_tracking,
    )
    return 0
