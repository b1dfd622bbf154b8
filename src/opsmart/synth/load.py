"""Bulk loading into an empty database: keys, indexes and inherit triggers set aside, then restored.

Checking a foreign key row by row costs more than generating the row, maintaining an
index row by row costs several times more than building it from a sort, and the
triggers that copy a child's organization from its parent cost a function call per
row (a query when the organization is NULL) for a value the generator supplies. So
the load drops them first and restores them last, all inside its one transaction: no
other session ever sees a table without its keys, and adding a key back validates
every row in one join.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

CHUNK_ROWS = 250_000  # rows per statement: big enough to be fast, small enough for a lively bar

# Foreign keys of the tables we load, parents only (partitions inherit theirs).
_FOREIGN_KEYS = """
select n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)
from pg_constraint as c
join pg_class as t on t.oid = c.conrelid
join pg_namespace as n on n.oid = t.relnamespace
where c.contype = 'f' and c.conparentid = 0 and n.nspname in ('core', 'ops')
order by n.nspname, t.relname, c.conname
"""

# Primary keys and unique constraints of the given tables: a random uuid key costs a
# descent into a cold btree per row, several times the cost of the row itself.
_KEYS = """
select n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)
from pg_constraint as c
join pg_class as t on t.oid = c.conrelid
join pg_namespace as n on n.oid = t.relnamespace
where c.contype in ('p', 'u') and c.conparentid = 0 and c.conrelid = any(%s::regclass[])
order by n.nspname, t.relname, c.conname
"""

# Secondary indexes (not backing a constraint) of the tables we load, parents only.
_SECONDARY_INDEXES = """
select n.nspname, t.relname, i.relname, pg_get_indexdef(x.indexrelid)
from pg_index as x
join pg_class as i on i.oid = x.indexrelid
join pg_class as t on t.oid = x.indrelid
join pg_namespace as n on n.oid = t.relnamespace
where n.nspname in ('core', 'ops') and not t.relispartition
  and not exists (select from pg_constraint as c where c.conindid = x.indexrelid)
order by n.nspname, i.relname
"""

# Row triggers that fill a child's organization from its parent when it is left out
# (ops.inherit_organization): the generator writes the organization itself, and the
# restored foreign keys on (parent, organization) check that it wrote its parent's.
_INHERIT_TRIGGERS = """
select n.nspname, t.relname, g.tgname
from pg_trigger as g
join pg_class as t on t.oid = g.tgrelid
join pg_namespace as n on n.oid = t.relnamespace
where g.tgfoid = 'ops.inherit_organization'::regproc and g.tgparentid = 0 and g.tgenabled != 'D'
order by n.nspname, t.relname, g.tgname
"""


def chunks(first_day: int, last_day: int, rows_per_day: float) -> Iterator[tuple[int, int]]:
    """Day ranges [d0, d1] (ordinals) of about CHUNK_ROWS rows each."""
    size = max(1, int(CHUNK_ROWS // max(rows_per_day, 1.0)))
    for d0 in range(first_day, last_day + 1, size):
        yield d0, min(last_day, d0 + size - 1)


def columns(conn: psycopg.Connection, select: str, params: dict[str, Any]) -> list[str]:
    """The output columns of ``select`` (named like the columns of the table they fill)."""
    probe = sql.SQL("select * from ({}) as q limit 0").format(sql.SQL(select))  # type: ignore[arg-type]
    return [column.name for column in conn.execute(probe, params).description or ()]


class BulkLoad:
    """Inserts into tables whose keys, secondary indexes and inherit triggers are set aside."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        # (table, statement) to run again, in order: keys and unique constraints,
        # secondary indexes, foreign keys (they need the keys they refer to)
        self._indexes: list[tuple[str, sql.Composable]] = []
        self._foreign_keys: list[tuple[str, sql.Composable]] = []
        self._triggers: list[sql.Composable] = []
        self._columns: dict[str, list[str]] = {}

    def suspend(self, tables: list[str]) -> None:
        """Drop the foreign keys and secondary indexes of core and ops, and the primary keys and
        unique constraints of ``tables``; disable the inherit triggers."""
        self._foreign_keys = self._drop_constraints(_FOREIGN_KEYS, None)
        self._indexes = self._drop_constraints(_KEYS, [tables])
        for schema, table, name, definition in self.conn.execute(_SECONDARY_INDEXES).fetchall():
            self.conn.execute(sql.SQL("drop index {}").format(sql.Identifier(schema, name)))
            # the server's rendering again; a partitioned parent's reads "ON ONLY",
            # which would skip the partitions
            self._indexes.append((f"{schema}.{table}", sql.SQL(definition.replace(" ON ONLY ", " ON ", 1))))
        for schema, table, trigger in self.conn.execute(_INHERIT_TRIGGERS).fetchall():
            target, name = sql.Identifier(schema, table), sql.Identifier(trigger)
            self.conn.execute(sql.SQL("alter table {} disable trigger {}").format(target, name))
            self._triggers.append(sql.SQL("alter table {} enable trigger {}").format(target, name))

    def _drop_constraints(self, query: str, params: list | None) -> list[tuple[str, sql.Composable]]:
        """Drop the constraints ``query`` finds; the statements that add them back, by table."""
        restore: list[tuple[str, sql.Composable]] = []
        for schema, table, name, definition in self.conn.execute(query, params).fetchall():
            target, constraint = sql.Identifier(schema, table), sql.Identifier(name)
            self.conn.execute(sql.SQL("alter table {} drop constraint {}").format(target, constraint))
            # definition is the server's own rendering of the constraint, not outside input
            add = sql.SQL("alter table {} add constraint {} {}").format(
                target, constraint, sql.SQL(definition)
            )
            restore.append((f"{schema}.{table}", add))
        return restore

    def insert(self, table: str, select: str, params: dict[str, Any]) -> int:
        """``insert into table (its columns) select ...``; returns the rows inserted."""
        if select not in self._columns:
            self._columns[select] = columns(self.conn, select, params)
        columns_ = self._columns[select]
        statement = sql.SQL("insert into {} ({}) {}").format(
            sql.Identifier(*table.split(".")),
            sql.SQL(", ").join(map(sql.Identifier, columns_)),
            sql.SQL(select),  # type: ignore[arg-type]
        )
        with self.timed(table):
            rows = max(self.conn.execute(statement, params).rowcount, 0)
        self.counts[table] = self.counts.get(table, 0) + rows
        return rows

    def restore(self, but: tuple[str, ...] = ()) -> Iterator[str]:
        """Build the indexes, add back the keys (validating every row), enable the triggers.

        ``but`` names tables whose turn comes in a later call (their keys, their indexes,
        and foreign keys on them); the triggers come back with the last call. Yields
        what it is about to do, for a progress bar.
        """
        for what, pending in (
            ("building indexes", self._indexes),
            ("checking foreign keys", self._foreign_keys),
        ):
            yield what
            for table, statement in [item for item in pending if item[0] not in but]:
                with self.timed(what):
                    self.conn.execute(statement)
                pending.remove((table, statement))
        if not but:
            for statement in self._triggers:
                self.conn.execute(statement)

    @contextmanager
    def timed(self, what: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[what] = self.seconds.get(what, 0.0) + time.perf_counter() - began
