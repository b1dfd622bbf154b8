"""What change tracking costs the ops insert path: ``ops.event`` inserts with it and without.

The same rows go into the real table (every index, key and trigger), batched
(``bench/tracking/insert_batch.sql``, 1000 rows a statement) and one by one
(``insert_row.sql``), each measurement in a transaction that is rolled back.
Untracked is the same table without tracking's insert path: its ``change_xid``
column (the default) and that column's BRIN index, dropped inside the transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import psycopg

from opsmart import connection
from opsmart.bench import read_sql

BATCH_ROWS = 1000

_SAMPLE = (
    "select organization_id, user_id, source, feature_key, payload::text from ops.event"
    " order by id desc limit %s"
)


def _insert_seconds(
    conn: psycopg.Connection, sample: list[tuple], rows: int, *, batch: bool, tracked: bool, now: dt.datetime
) -> float:
    """Seconds to insert ``rows`` events into ops.event, in a transaction that is rolled back."""
    columns = list(zip(*sample, strict=True))
    names = ("organizations", "users", "sources", "features", "payloads")
    arrays = dict(zip(names, map(list, columns), strict=True))
    statement = read_sql("tracking/insert_batch" if batch else "tracking/insert_row")
    with conn.transaction(force_rollback=True):
        if not tracked:
            conn.execute("alter table ops.event drop column change_xid cascade")
        started = time.perf_counter()
        if batch:
            for n in range(0, rows, BATCH_ROWS):
                conn.execute(statement, {**arrays, "now": now - dt.timedelta(seconds=n)})
        else:
            for n in range(rows):
                o, u, s, f, p = sample[n % len(sample)]
                row = {"organization": o, "user_id": u, "source": s, "feature": f, "payload": p}
                conn.execute(statement, {**row, "occurred_at": now - dt.timedelta(milliseconds=n)})
        return time.perf_counter() - started


def cost(url: str, *, batch_rows: int, single_rows: int, rounds: int) -> dict[str, Any]:
    """Insert throughput into ops.event with change tracking and without, batched and row by row."""
    now = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {
        "table": "ops.event",
        "method": "same rows, rolled back; untracked drops change_xid",
    }
    with connection.connect(url, application_name="opsmart-bench") as conn:
        conn.autocommit = True
        sample = conn.execute(_SAMPLE, [BATCH_ROWS]).fetchall()
        conn.autocommit = False
        for kind, rows, batch in (("batch", batch_rows, True), ("single_row", single_rows, False)):
            seconds = {True: 0.0, False: 0.0}
            # with, without, without, with: a drift over the measurement cancels out
            for _ in range(rounds):
                for tracked in (True, False, False, True):
                    seconds[tracked] += _insert_seconds(
                        conn, sample, rows, batch=batch, tracked=tracked, now=now
                    )
            total = rows * 2 * rounds
            with_rate, without_rate = total / seconds[True], total / seconds[False]
            out[kind] = {
                "rows_per_statement": BATCH_ROWS if batch else 1,
                "rows": total,
                "with_s": seconds[True],
                "without_s": seconds[False],
                "with_rows_per_s": with_rate,
                "without_rows_per_s": without_rate,
                "throughput_ratio": with_rate / without_rate,
                "cost": 1 - with_rate / without_rate,
            }
    return out
