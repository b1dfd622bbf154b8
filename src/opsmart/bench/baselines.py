"""Hand-written SQL per mart (``bench/baseline/<mart>.sql``), timed and compared with the mart.

A baseline is the limit a mart's full refresh is measured against: one ``create
table bench_baseline.<mart> as select ...``. It counts only when its rows equal the
mart's (same columns in the same order, ``except all`` empty both ways).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from opsmart import bootstrap, build, connection
from opsmart.bench import folder

SCHEMA = "bench_baseline"

_COLUMNS = """
select a.attname, a.atttypid::regtype::text
from pg_attribute as a
where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped
order by a.attnum
"""

_MISSING = "select count(*) from (select * from {} except all select * from {}) as d"


def _columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(_COLUMNS, [sql.Identifier(schema, table).as_string(conn)]).fetchall()


def compare(conn: psycopg.Connection, mart: str, mart_schema: str) -> dict[str, Any]:
    """Whether bench_baseline.<mart> holds exactly the mart's rows (as multisets, same columns)."""
    mine, theirs = _columns(conn, mart_schema, mart), _columns(conn, SCHEMA, mart)
    if mine != theirs:
        return {"equal": False, "note": f"columns differ: mart {mine} vs baseline {theirs}"}
    a, b = sql.Identifier(mart_schema, mart), sql.Identifier(SCHEMA, mart)
    missing = conn.execute(sql.SQL(_MISSING).format(a, b)).fetchone()[0]
    extra = conn.execute(sql.SQL(_MISSING).format(b, a)).fetchone()[0]
    if missing or extra:
        return {
            "equal": False,
            "note": f"{missing} mart rows missing from the baseline, {extra} baseline rows not in the mart",
        }
    return {"equal": True, "note": "rows equal the mart's"}


def run(url: str, mart_schema: str, directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Run each ``<mart>.sql`` of ``directory`` (timed) and compare its table with the mart.

    ``counted`` says whether the baseline's rows equal the mart's.
    """
    directory = directory or folder() / "baseline"
    out: dict[str, dict[str, Any]] = {}
    with connection.connect(url, autocommit=True, application_name="opsmart-bench") as conn:
        if bootstrap.is_citus(conn):
            # The baselines join children to their parents by id, as written for one
            # server: on a Citus cluster that join is not on the distribution column,
            # so the shards are repartitioned (off by default), and that is DDL Citus
            # runs one connection per node once a reference table with foreign keys
            # (judge_criterion) is read. The mart builds need neither; the baselines
            # stay the same SQL everywhere (their times on a cluster are not compared).
            conn.execute("set citus.enable_repartition_joins = on")
            conn.execute("set citus.multi_shard_modify_mode = 'sequential'")
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(SCHEMA)))
        for mart in build.MARTS:
            path = directory / f"{mart}.sql"
            entry: dict[str, Any] = {"file": str(path), "seconds": None, "counted": False}
            if not path.is_file():
                out[mart] = {**entry, "note": "no baseline file"}
                continue
            started = time.perf_counter()
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                out[mart] = {**entry, "note": f"failed: {exc}"}
                continue
            seconds = time.perf_counter() - started
            check = compare(conn, mart, mart_schema)
            out[mart] = {**entry, "seconds": seconds, "counted": check["equal"], "note": check["note"]}
    return out
