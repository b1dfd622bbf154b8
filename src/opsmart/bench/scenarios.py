"""The changes the incremental runs measure, each applied in its own committed transaction.

New rows are copies of existing ones (so every foreign key and check holds) moved to
a new moment; updates flip the status of picked runs (and, in the fixed-size change,
correct their scores); a purge goes through ``opsmart purge``. The SQL is in
``bench/scenarios/``: each scenario runs its statements in order, with one set of
parameters.

Two kinds of size:

- **a share of the data** (1%): grows with the scale, so its cost is compared with
  the full refresh at the same scale;
- **a fixed size** (``FIXED_*``): the same number of rows at every scale, all in the
  last hour, so its cost at M against its cost at S says whether the incremental
  work grows with the change or with the tables (goal: M at most 1.5 times S).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from opsmart import connection, purge
from opsmart.bench import read_sql
from opsmart.errors import UserError

# (statement, the table whose inserted or updated rows it counts, or None)
Step = tuple[str, str | None]

NEW_ROWS: tuple[Step, ...] = (
    ("scenarios/new_rows/moment", None),
    ("scenarios/new_rows/event", "ops.event"),
    ("scenarios/new_rows/analysis_run_map", None),
    ("scenarios/new_rows/analysis_run", "ops.analysis_run"),
    ("scenarios/new_rows/analysis_metric", "ops.analysis_metric"),
    ("scenarios/new_rows/judge_score", "ops.judge_score"),
    ("scenarios/new_rows/workflow_run_map", None),
    ("scenarios/new_rows/workflow_run", "ops.workflow_run"),
    ("scenarios/new_rows/evaluation_metric", "ops.evaluation_metric"),
    ("scenarios/new_rows/message", "ops.message"),
    ("scenarios/new_rows/query_performance_log", "ops.query_performance_log"),
)
RECENT_RUN_STATUS: tuple[Step, ...] = (
    ("scenarios/updates/recent_runs", None),
    ("scenarios/updates/analysis_run", "ops.analysis_run"),
)
SCATTERED_RUN_STATUS: tuple[Step, ...] = (
    ("scenarios/updates/scattered_runs", None),
    ("scenarios/updates/analysis_run", "ops.analysis_run"),
)
RECENT_RUN_CORRECTIONS: tuple[Step, ...] = (
    *RECENT_RUN_STATUS,
    ("scenarios/updates/analysis_metric", "ops.analysis_metric"),
    ("scenarios/updates/judge_score", "ops.judge_score"),
)

# The fixed-size change: rows copied into the last hour, whatever the scale. The
# limits name the parameters of the new-row statements (None: every picked row).
FIXED_NEW_ROWS = {"events": 10_000, "runs": 100, "workflow_runs": 25, "messages": 1_000, "query_logs": 1_000}
FIXED_UPDATED_RUNS = 100
_NO_LIMITS = dict.fromkeys(FIXED_NEW_ROWS)


@dataclass(frozen=True)
class Scenario:
    """One change: its key in the results, a title for people, and how to apply it."""

    key: str
    title: str
    apply: Callable[[str, dt.datetime], dict[str, Any]] = field(repr=False)  # (url, now) -> what changed
    fixed_size: bool = False


def run_steps(conn: psycopg.Connection, steps: tuple[Step, ...], params: Mapping[str, Any]) -> dict[str, int]:
    """Each step's statement in order; rows written per counted table."""
    rows: dict[str, int] = {}
    for name, table in steps:
        cur = conn.execute(read_sql(name), params)
        if table is not None:
            rows[table] = rows.get(table, 0) + max(cur.rowcount, 0)
    return rows


def _statements(steps: tuple[Step, ...], params: Mapping[str, Any], **info: Any) -> Callable:
    def apply(url: str, now: dt.datetime) -> dict[str, Any]:
        values = {**params, "now": now}
        done: dict[str, Any] = dict(info)
        with connection.connect(url, application_name="opsmart-bench") as conn:
            conn.execute("set local timezone = 'UTC'")
            done["rows"] = run_steps(conn, steps, values)
            if values.get("late"):
                late = conn.execute(read_sql("scenarios/new_rows/late_events"), values).fetchone()
                done["late_events"] = late[0] if late else 0
        return done

    return apply


def _purge(url: str, now: dt.datetime) -> dict[str, Any]:
    """The median user by events, purged by the project's own purge (one audited transaction)."""
    with connection.connect(url, autocommit=True, application_name="opsmart-bench") as conn:
        victim = conn.execute(read_sql("scenarios/purge/victim")).fetchone()
    if victim is None:
        raise UserError("no user with events to purge")
    user, events, days = victim
    # as `opsmart purge --user` does it: its own transaction, audited
    removed = purge.purge_user(url, user, quiet=True)
    return {
        "user": str(user),
        "events": events,
        "event_days": days,
        "rows": {"core.users": 1, "ops.event": removed.get("events", events)},
        "removed": removed,
    }


def _modulus(fraction: float) -> int:
    return max(1, round(1 / fraction))


def scenarios(fraction: float = 0.01) -> list[Scenario]:
    """Every change, in the order the bench applies them."""
    share = {"modulus": _modulus(fraction)}
    pct = f"{fraction:.0%}"
    return [
        Scenario(
            "new_rows_1pct",
            f"+{pct} new rows",
            _statements(
                NEW_ROWS,
                {**share, **_NO_LIMITS, "late": True},
                fraction=fraction,
                late_share=0.1,
                late_days="1..20",
            ),
        ),
        Scenario(
            "update_runs_1pct",
            f"updating {pct} of runs",
            _statements(
                RECENT_RUN_STATUS, {**share, "runs": None}, fraction=fraction, runs="most recently started"
            ),
        ),
        Scenario(
            "update_runs_scattered_1pct",
            f"updating {pct} of runs, scattered",
            _statements(SCATTERED_RUN_STATUS, share, fraction=fraction, runs="picked across all history"),
        ),
        Scenario("purge_user", "purging one user", _purge),
        Scenario(
            "fixed_new_rows",
            f"+{FIXED_NEW_ROWS['events']:,} events (and runs, messages, timings) in the last hour",
            _statements(NEW_ROWS, {"modulus": 1, **FIXED_NEW_ROWS, "late": False}, limits=FIXED_NEW_ROWS),
            fixed_size=True,
        ),
        Scenario(
            "fixed_updates",
            f"{FIXED_UPDATED_RUNS} recent runs updated, their scores corrected",
            _statements(
                RECENT_RUN_CORRECTIONS,
                {"modulus": 1, "runs": FIXED_UPDATED_RUNS},
                runs=FIXED_UPDATED_RUNS,
            ),
            fixed_size=True,
        ),
        Scenario("no_change", "no change", lambda _url, _now: {"rows": {}}),
    ]


TITLES = {s.key: s.title for s in scenarios()}
FIXED_SIZE = tuple(s.key for s in scenarios() if s.fixed_size)
