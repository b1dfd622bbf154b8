"""Helpers the mart tests share: build marts, digest them, compare schemas."""

from __future__ import annotations

import psycopg
from psycopg import sql

from opsmart import build

MARTS = build.MARTS


def dbt_ok(url: str, *args: str, schema: str = "mart") -> str:
    """Run dbt; fail the test with dbt's output when it fails."""
    result = build.dbt(list(args), url, schema=schema, capture=True)
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    return result.stdout


def dbt_fails(url: str, *args: str, schema: str = "mart") -> str:
    result = build.dbt(list(args), url, schema=schema, capture=True)
    assert result.returncode != 0, f"dbt {' '.join(args)} passed but should fail:\n{result.stdout[-3000:]}"
    return result.stdout


def build_marts(url: str, *, full_refresh: bool = False, schema: str = "mart") -> str:
    args = ["run", "--select", "marts"]
    if full_refresh:
        args.append("--full-refresh")
    return dbt_ok(url, *args, schema=schema)


def mart_digest(url: str, schema: str, mart: str) -> tuple[int, str]:
    """Row count and an order-independent md5 of a mart's rows as text."""
    query = sql.SQL(
        "select count(*), coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text))), '') from {} as t"
    ).format(sql.Identifier(schema, mart))
    with psycopg.connect(url) as conn:
        count, digest = conn.execute(query).fetchone()
    return count, digest


def differing_marts(url: str, left: str, right: str) -> dict[str, tuple]:
    """Marts whose rows differ between two schemas, with both digests."""
    out = {}
    for mart in MARTS:
        a, b = mart_digest(url, left, mart), mart_digest(url, right, mart)
        if a != b:
            out[mart] = (a, b)
    return out


def row_versions(url: str, schema: str, mart: str) -> str:
    """The physical versions of a mart's rows: any rewrite changes xmin or ctid."""
    query = sql.SQL("select coalesce(string_agg(xmin::text || ctid::text, ',' order by ctid), '') from {}").format(
        sql.Identifier(schema, mart)
    )
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]
