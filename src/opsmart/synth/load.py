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

# Foreign keys of the tables we load, parents only (partitions inherit theirs).
_FOREIGN_KEYS = """
select n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)
from pg_constraint as c
join pg_class as t on t.oid = c.conrelid
join pg_namespace as n on n.oid = t.relnamespace
where c.contype = 'f' and c.conparentid = 0 and n.nspname in ('core', 'ops')
order by n.nspname, t.relname, c.conname
"""

# Secondary indexes (not backing a constraint) of the tables we load, parents only.
_SECONDARY_INDEXES = """
select n.nspname, i.relname, pg_get_indexdef(x.indexrelid)
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


def progress(enabled: bool):
    """A progress bar on stderr, when ``enabled`` and stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )


class BulkLoad:
    """Inserts into tables whose foreign keys, secondary indexes and inherit triggers are set aside."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._restore_keys: list[sql.Composable] = []
        self._rebuild_indexes: list[sql.Composable] = []
        self._enable_triggers: list[sql.Composable] = []
        self._columns: dict[tuple[str, str], list[str]] = {}

    def suspend(self) -> None:
        """Drop the foreign keys and secondary indexes, disable the inherit triggers."""
        for schema, table, name, definition in self.conn.execute(_FOREIGN_KEYS).fetchall():
            target, constraint = sql.Identifier(schema, table), sql.Identifier(name)
            self.conn.execute(sql.SQL("alter table {} drop constraint {}").format(target, constraint))
            # definition is the server's own rendering of the constraint, not outside input
            self._restore_keys.append(
                sql.SQL("alter table {} add constraint {} {}").format(target, constraint, sql.SQL(definition))
            )
        for schema, name, definition in self.conn.execute(_SECONDARY_INDEXES).fetchall():
            self.conn.execute(sql.SQL("drop index {}").format(sql.Identifier(schema, name)))
            # the server's rendering again; a partitioned parent's reads "ON ONLY",
            # which would skip the partitions
            self._rebuild_indexes.append(sql.SQL(definition.replace(" ON ONLY ", " ON ", 1)))
        for schema, table, trigger in self.conn.execute(_INHERIT_TRIGGERS).fetchall():
            target, name = sql.Identifier(schema, table), sql.Identifier(trigger)
            self.conn.execute(sql.SQL("alter table {} disable trigger {}").format(target, name))
            self._enable_triggers.append(sql.SQL("alter table {} enable trigger {}").format(target, name))

    def columns(self, table: str, select: str, params: dict[str, Any]) -> list[str]:
        """The output columns of ``select``, named like ``table``'s columns they fill."""
        key = (table, select)
        if key not in self._columns:
            probe = sql.SQL("select * from ({}) as q limit 0").format(sql.SQL(select))  # type: ignore[arg-type]
            cur = self.conn.execute(probe, params)
            self._columns[key] = [column.name for column in cur.description or ()]
        return self._columns[key]

    def insert(self, table: str, select: str, params: dict[str, Any]) -> int:
        """``insert into table (its columns) select ...``; returns the rows inserted."""
        columns = self.columns(table, select, params)
        statement = sql.SQL("insert into {} ({}) {}").format(
            sql.Identifier(*table.split(".")),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(select),  # type: ignore[arg-type]
        )
        with self.timed(table):
            rows = max(self.conn.execute(statement, params).rowcount, 0)
        self.counts[table] = self.counts.get(table, 0) + rows
        return rows

    def restore(self) -> Iterator[str]:
        """Build the indexes, add back the keys (validating every row), enable the triggers.

        Yields what it is about to do, for a progress bar.
        """
        yield "building indexes"
        for statement in self._rebuild_indexes:
            with self.timed("building indexes"):
                self.conn.execute(statement)
        yield "checking foreign keys"
        for statement in self._restore_keys:
            with self.timed("checking foreign keys"):
                self.conn.execute(statement)
        for statement in self._enable_triggers:
            self.conn.execute(statement)

    @contextmanager
    def timed(self, what: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[what] = self.seconds.get(what, 0.0) + time.perf_counter() - began
