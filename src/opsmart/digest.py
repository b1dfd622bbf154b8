"""Content digests of database tables: equal digests mean equal rows.

Used to prove that generation is deterministic, that a backup restores what it
saved, and that incremental marts equal a full rebuild. Each table's digest
covers every column of every row (identity ids included; not change_xid, which
records the writing transaction) and does not depend on physical row order: it
combines a 64-bit hash of each row's text with a count and two sums, computed in
the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import NamedTuple

import psycopg
from psycopg import sql

from opsmart import build, connection

OVERALL = "*"

_TABLES = """
select n.nspname, c.relname
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any(%s)
order by n.nspname, c.relname
"""

_COLUMNS = """
select a.attname
from pg_attribute as a
where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped and a.attname <> all(%s)
order by a.attnum
"""

# Bookkeeping columns whose values depend on the writing transaction, not the data.
TRANSACTION_COLUMNS = ("change_xid",)

_TABLE_DIGEST = """
select count(*), coalesce(sum(hashtextextended(t.r::text, 1)::numeric), 0),
       coalesce(sum(hashtextextended(t.r::text, 2)::numeric), 0)
from (select row({}) as r from {}) as t
"""


def _prepare(conn: psycopg.Connection) -> None:
    # Row text must not depend on the session: timestamps in UTC, ISO dates, exact floats.
    conn.execute("set timezone = 'UTC'")
    conn.execute("set datestyle = 'ISO, YMD'")
    conn.execute("set extra_float_digits = 1")
    conn.execute("set intervalstyle = 'postgres'")


class TableDigest(NamedTuple):
    """A table's row count and content digest."""

    rows: int
    digest: str


def _table_digest(conn: psycopg.Connection, schema: str, table: str) -> TableDigest:
    ident = sql.Identifier(schema, table)
    columns = [c for (c,) in conn.execute(_COLUMNS, [ident.as_string(conn), list(TRANSACTION_COLUMNS)])]
    row = conn.execute(
        sql.SQL(_TABLE_DIGEST).format(sql.SQL(", ").join(map(sql.Identifier, columns)), ident)
    ).fetchone()
    assert row is not None
    return TableDigest(row[0], hashlib.sha256(repr(row).encode()).hexdigest())


def digest(url: str, schemas: Iterable[str] = ("core", "ops"), exclude: Iterable[str] = ()) -> dict[str, str]:
    """``{"schema.table": hex digest, ..., "*": digest of them all}`` for the tables of ``schemas``.

    ``exclude`` names tables (``schema.table``) to leave out, e.g. bookkeeping whose
    contents depend on when it was written.
    """
    skip = set(exclude)
    result: dict[str, str] = {}
    with connection.connect(url) as conn:
        _prepare(conn)
        for schema, table in conn.execute(_TABLES, [list(schemas)]).fetchall():
            name = f"{schema}.{table}"
            if name not in skip:
                result[name] = _table_digest(conn, schema, table).digest
        conn.rollback()
    overall = hashlib.sha256("".join(f"{k}={v}\n" for k, v in sorted(result.items())).encode())
    result[OVERALL] = overall.hexdigest()
    return result


def mart_digests(
    url: str, schema: str | None = None, marts: Iterable[str] | None = None
) -> dict[str, TableDigest]:
    """``{mart: (rows, digest)}`` of the marts (default: all) in ``schema`` (default: the mart schema).

    Two schemas hold the same rows in a mart exactly when its digests are equal; a
    mart missing from a schema has no entry.
    """
    schema = schema or connection.mart_schema()
    result: dict[str, TableDigest] = {}
    with connection.connect(url) as conn:
        _prepare(conn)
        for mart in build.MARTS if marts is None else marts:
            found = conn.execute("select to_regclass(%s)", [sql.Identifier(schema, mart).as_string(conn)])
            if found.fetchone() != (None,):
                result[mart] = _table_digest(conn, schema, mart)
        conn.rollback()
    return result
