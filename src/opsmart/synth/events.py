"""The events, loaded on a second connection into tables that become ops.event's partitions.

Events are most of a load's rows and index builds. A second connection (a second
server process: the second core) fills one new table per month in a staging schema,
builds each partition's indexes there and commits. The load's own transaction then
swaps them in for the empty monthly partitions (drop, move to ops, attach), so the
events become visible when, and only if, the load commits: the promise of one
transaction holds. The staging schema never holds anything else, and whatever ends a
load early drops it (the next load would too).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg import sql

from opsmart import connection
from opsmart.synth import load, session

STAGING = "synth_staging"
# On each staging table: its partition's bounds, so attaching it needs no scan.
_BOUNDS = "synth_staging_bounds"
_EPOCH = date(2000, 1, 1)  # day ordinals count from here

# The indexes of ops.event: definition, and the constraint's when one owns it.
_INDEXES = """
select pg_get_indexdef(x.indexrelid), pg_get_constraintdef(c.oid)
from pg_index as x
left join pg_constraint as c on c.conindid = x.indexrelid and c.conrelid = x.indrelid
where x.indrelid = 'ops.event'::regclass
order by x.indexrelid
"""


@dataclass(frozen=True)
class Month:
    """A monthly partition of ops.event and the day ordinals it receives."""

    start: date
    end: date
    first_day: int
    last_day: int

    @property
    def table(self) -> str:
        return f"event_{self.start:%Y_%m}"


def months(first_day: int, last_day: int) -> list[Month]:
    """The months that days ``first_day``..``last_day`` (ordinals) fall in."""
    out = []
    start = (_EPOCH + timedelta(days=first_day)).replace(day=1)
    while (start - _EPOCH).days <= last_day:
        end = (start + timedelta(days=32)).replace(day=1)
        first, last = max(first_day, (start - _EPOCH).days), min(last_day, (end - _EPOCH).days - 1)
        out.append(Month(start, end, first, last))
        start = end
    return out


class EventLoader:
    """Loads ops.event's rows on its own connection, in a thread; the load's transaction attaches them."""

    def __init__(
        self,
        url: str,
        first_day: int,
        last_day: int,
        rows_per_day: float,
        parameters: Callable[[psycopg.Connection], dict[str, Any]],
        advance: Callable[[float], Any],
    ) -> None:
        self.url = url
        self.months = months(first_day, last_day)
        self.rows_per_day = rows_per_day
        self.parameters = parameters  # installs the session's helpers; every statement's parameters
        self.advance = advance  # progress: about this many rows done
        self.rows = 0
        self._indexes: list[tuple[str, str | None]] = []
        self._error: BaseException | None = None
        self._conn: psycopg.Connection | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._load, name="opsmart-events", daemon=True)

    def _staged(self, month: Month) -> sql.Identifier:
        return sql.Identifier(STAGING, month.table)

    def stage(self) -> None:
        """Make (and commit) the staging schema and its empty tables, before the load locks ops.event."""
        with connection.connect(self.url) as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(STAGING)))
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(STAGING)))
            for month in self.months:
                table = self._staged(month)
                # as ops.ensure_event_partitions makes a partition; autovacuum would
                # vacuum it once committed, beside the load, for nothing
                conn.execute(
                    sql.SQL(
                        "create table {} (like ops.event including defaults including constraints)"
                        " with (autovacuum_enabled = false)"
                    ).format(table)
                )
                conn.execute(
                    sql.SQL(
                        "alter table {} add constraint {} check (occurred_at >= {} and occurred_at < {})"
                    ).format(table, sql.Identifier(_BOUNDS), sql.Literal(month.start), sql.Literal(month.end))
                )
            self._indexes = conn.execute(_INDEXES).fetchall()

    @staticmethod
    def _partition_index(table: sql.Identifier, index: str, constraint: str | None) -> sql.Composable:
        """ops.event's index (the server's rendering of it) on ``table``, named as a partition's would be."""
        if constraint:
            return sql.SQL("alter table {} add {}").format(table, sql.SQL(constraint))
        unique = sql.SQL("unique " if index.startswith("CREATE UNIQUE") else "")
        method = sql.SQL(index.split(" USING ", 1)[1])
        return sql.SQL("create {}index on {} using {}").format(unique, table, method)

    def start(self) -> None:
        self._thread.start()

    def _load(self) -> None:
        try:
            with connection.connect(self.url) as conn:
                self._conn = conn
                self._fill(conn)
        except BaseException as exc:  # raised again by finish(), in the load's thread
            self._error = exc
        finally:
            self._conn = None

    def _fill(self, conn: psycopg.Connection) -> None:
        session.prepare(conn)
        conn.execute("set local synchronous_commit = off")
        params = self.parameters(conn)
        select = session.statement("generate/ops.event")
        params.update(d0=self.months[0].first_day, d1=self.months[0].first_day)
        names = load.columns(conn, select, params)
        # ids in generation order, as the identity column would give them
        conn.execute("create temp sequence synth_event_id")
        for month in self.months:
            insert = sql.SQL(
                "insert into {} (id, {}) select nextval('pg_temp.synth_event_id'), q.* from ({}) as q"
            )
            statement = insert.format(
                self._staged(month), sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(select)
            )
            for d0, d1 in load.chunks(month.first_day, month.last_day, self.rows_per_day):
                if self._stopping.is_set():
                    return
                self.rows += max(conn.execute(statement, {**params, "d0": d0, "d1": d1}).rowcount, 0)
                self.advance(self.rows_per_day * (d1 - d0 + 1))
        for month in self.months:
            for index, constraint in self._indexes:
                conn.execute(self._partition_index(self._staged(month), index, constraint))

    def finish(self, conn: psycopg.Connection) -> int:
        """Wait for the events, then swap them in inside ``conn``'s transaction; returns how many."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        for month in self.months:
            partition = sql.Identifier("ops", month.table)
            conn.execute(sql.SQL("drop table if exists {}").format(partition))
            conn.execute(sql.SQL("alter table {} set schema ops").format(self._staged(month)))
            conn.execute(
                sql.SQL("alter table ops.event attach partition {} for values from ({}) to ({})").format(
                    partition, sql.Literal(month.start), sql.Literal(month.end)
                )
            )
            conn.execute(
                sql.SQL("alter table {} drop constraint {}").format(partition, sql.Identifier(_BOUNDS))
            )
            conn.execute(sql.SQL("alter table {} reset (autovacuum_enabled)").format(partition))
        conn.execute(sql.SQL("drop schema {}").format(sql.Identifier(STAGING)))
        if self.rows:
            conn.execute("select setval(pg_get_serial_sequence('ops.event', 'id'), %s)", [self.rows])
        conn.execute("select ops.refuse_truncate_of('ops.event')")
        return self.rows

    def stop(self) -> None:
        """End the loading thread early (its transaction rolls back) and drop the staging schema."""
        self._stopping.set()
        if self._thread.is_alive():
            conn = self._conn
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.cancel_safe()
            self._thread.join()
        with contextlib.suppress(Exception), connection.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(STAGING)))
