"""``opsmart bench``: the marts measured against hand-written SQL on a fresh database.

One run loads synthetic data (``generate``), times dbt's full refresh of every mart
against a hand-written ``create table ... as select`` per mart (``bench/baseline/``,
counted only when its rows equal the mart's), times incremental runs after three
kinds of change, times the analyst questions of ``bench/queries/`` against the marts
and against the ops tables, and measures what change tracking costs the ops insert
path. It prints a table and writes every figure to JSON; ``report`` renders the JSON
files of ``bench/results/`` into ``BENCHMARKS.md``.

dbt's SQL time is the sum of the ``SQLQueryStatus`` events (one per statement, with
its elapsed time and node) of dbt's JSON debug log; wall time is our own clock.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from opsmart import bootstrap, build, connection, files, interrupts
from opsmart.errors import UserError

SCHEMA_VERSION = 1
DATABASE = "opsmart_bench"
MART_SCHEMA = "mart"
BASELINE_SCHEMA = "bench_baseline"
MARTS = build.MARTS
MARKDOWN_SCALES = ("S", "M", "L")


def bench_dir() -> Path:
    return connection.project_dir() / "bench"


@dataclass(frozen=True)
class Plan:
    """How hard each scale pushes: repeats and sample sizes."""

    full_refresh_rounds: int  # full refresh and baselines, best of N
    mart_query_runs: int
    ops_query_runs: int
    query_budget_s: float  # per query and side, after at least 3 runs
    tracking_batch_rows: int  # rows inserted 1000 per statement, per variant and round
    tracking_single_rows: int  # rows inserted one statement each, per variant and round
    tracking_rounds: int  # each round times with, without, without, with


PLANS = {
    "tiny": Plan(1, 20, 5, 2.0, 5_000, 200, 1),
    "demo": Plan(1, 100, 10, 10.0, 50_000, 1_000, 1),
    "S": Plan(2, 200, 20, 20.0, 200_000, 3_000, 2),
    "M": Plan(1, 200, 10, 30.0, 200_000, 3_000, 2),
    "L": Plan(1, 100, 5, 60.0, 200_000, 3_000, 1),
}

# --- the changes the incremental runs measure ------------------------------------------------------
#
# Each copies or changes a well-defined share of rows. New rows are copies of existing
# ones (so every foreign key and check holds) moved to a new moment: a tenth of them
# occurred 1..20 days before now (late arrivals), the rest within the last hour.

_NEW_TIME = """
    %(now)s::timestamptz - case
        when ({key} / %(modulus)s) %% 10 = 0
            then make_interval(days => 1 + (({key} / (10 * %(modulus)s)) %% 20)::int, secs => {key} %% 86400)
        else make_interval(secs => (({key} %% 3600) * 7919) %% 3600)
    end"""

_NEW_ROWS = [
    (
        "ops.event",
        """
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, received_at, payload)
select organization_id, user_id, source, feature_key, {t}, %(now)s, payload
from ops.event
where id %% %(modulus)s = 0
""".format(t=_NEW_TIME.format(key="id")),
    ),
    (
        "analysis runs (map)",
        """
create temporary table bench_new_runs on commit drop as
select id as old_id, gen_random_uuid() as new_id, {t} - coalesce(finished_at, started_at, created_at) as shift
from (select *, abs(hashtextextended(id::text, 11)) as k from ops.analysis_run) as r
where k %% %(modulus)s = 0
""".format(t=_NEW_TIME.format(key="k")),
    ),
    (
        "ops.analysis_run",
        """
insert into ops.analysis_run (
    id, organization_id, user_id, prompt_id, experiment_run_id, llm_model, status,
    started_at, finished_at, meta, created_at, updated_at
)
select n.new_id, r.organization_id, r.user_id, r.prompt_id, r.experiment_run_id, r.llm_model, r.status,
    r.started_at + n.shift, r.finished_at + n.shift, r.meta, r.created_at + n.shift, %(now)s
from bench_new_runs as n
join ops.analysis_run as r on r.id = n.old_id
""",
    ),
    (
        "ops.analysis_metric",
        """
insert into ops.analysis_metric (analysis_run_id, key, value_num, value_text, value_json, created_at)
select n.new_id, m.key, m.value_num, m.value_text, m.value_json, m.created_at + n.shift
from bench_new_runs as n
join ops.analysis_metric as m on m.analysis_run_id = n.old_id
""",
    ),
    (
        "ops.judge_score",
        """
insert into ops.judge_score (analysis_run_id, criterion_id, score, comment, evidence, created_at, updated_at)
select n.new_id, s.criterion_id, s.score, s.comment, s.evidence, s.created_at + n.shift, %(now)s
from bench_new_runs as n
join ops.judge_score as s on s.analysis_run_id = n.old_id
""",
    ),
    (
        "workflow runs (map)",
        """
create temporary table bench_new_workflows on commit drop as
select id as old_id, gen_random_uuid() as new_id, {t} - coalesce(finished_at, started_at) as shift
from (select *, abs(hashtextextended(id::text, 12)) as k from ops.workflow_run) as w
where k %% %(modulus)s = 0
""".format(t=_NEW_TIME.format(key="k")),
    ),
    (
        "ops.workflow_run",
        """
insert into ops.workflow_run (
    id, organization_id, user_id, status, started_at, finished_at, meta, created_at, updated_at
)
select n.new_id, w.organization_id, w.user_id, w.status, w.started_at + n.shift, w.finished_at + n.shift,
    w.meta, w.created_at + n.shift, %(now)s
from bench_new_workflows as n
join ops.workflow_run as w on w.id = n.old_id
""",
    ),
    (
        "ops.evaluation_metric",
        """
insert into ops.evaluation_metric (run_id, node_key, metric_name, metric_value, metric_meta, created_at)
select n.new_id, e.node_key, e.metric_name, e.metric_value, e.metric_meta, e.created_at + n.shift
from bench_new_workflows as n
join ops.evaluation_metric as e on e.run_id = n.old_id
""",
    ),
    (
        "ops.message",
        """
insert into ops.message (session_id, role, content, ts)
select session_id, role, content, {t}
from ops.message
where id %% %(modulus)s = 0
""".format(t=_NEW_TIME.format(key="id")),
    ),
    (
        "ops.query_performance_log",
        """
insert into ops.query_performance_log (
    query_name, endpoint, organization_id, duration_ms, rows_returned, ok, measured_at
)
select query_name, endpoint, organization_id, duration_ms, rows_returned, ok, {t}
from ops.query_performance_log
where id %% %(modulus)s = 0
""".format(t=_NEW_TIME.format(key="id")),
    ),
]

# The runs production updates: the most recently started (running ones finish, outcomes flip).
_UPDATE_RUNS_RECENT = """
update ops.analysis_run
set status = case when status = 'succeeded' then 'failed' else 'succeeded' end,
    finished_at = coalesce(finished_at, started_at + interval '90 seconds')
where id in (
    select id from ops.analysis_run
    where started_at is not null
    order by started_at desc, id
    limit (select ceil(count(*)::numeric / %(modulus)s) from ops.analysis_run)
)
"""

# The same share of runs picked across the whole history: every day of analysis_daily changes.
_UPDATE_RUNS_SCATTERED = """
update ops.analysis_run
set status = case when status = 'succeeded' then 'failed' else 'succeeded' end,
    finished_at = coalesce(finished_at, started_at + interval '90 seconds')
where started_at is not null and abs(hashtextextended(id::text, 13)) %% %(modulus)s = 0
"""

# A typical user with events: the median by event count.
_PURGE_VICTIM = """
select user_id, events from (
    select user_id, count(*) as events from ops.event where user_id is not null group by user_id
) as counts
order by events, user_id
offset (select count(distinct user_id) / 2 from ops.event)
limit 1
"""

_PURGE_USER = "delete from core.users where id = %(user)s"


# --- dbt, timed from its own log ------------------------------------------------------------------


@dataclass
class DbtRun:
    """One dbt invocation: wall time, SQL time in total and per mart, statements by kind."""

    command: str
    wall_s: float
    sql_s: float
    marts: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "wall_s": self.wall_s,
            "sql_s": self.sql_s,
            "dbt_overhead_s": max(self.wall_s - self.sql_s, 0.0),
            "marts": self.marts,
        }


def _statement_kind(status: str) -> str:
    """``INSERT 0 12`` -> ``INSERT``; ``CREATE INDEX`` stays two words."""
    words = status.split()
    if not words:
        return "?"
    if words[0] in ("CREATE", "DROP", "ALTER") and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


def parse_dbt_log(path: Path) -> tuple[float, dict[str, dict[str, Any]]]:
    """Total SQL seconds and, per mart, SQL seconds and seconds by statement kind."""
    total = 0.0
    marts: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("info", {}).get("name") != "SQLQueryStatus":
            continue
        data = event.get("data", {})
        elapsed = float(data.get("elapsed") or 0.0)
        total += elapsed
        node = (data.get("node_info") or {}).get("unique_id", "")
        name = node.rsplit(".", 1)[-1]
        if node.startswith("model.") and name in MARTS:
            entry = marts.setdefault(name, {"sql_s": 0.0, "statements": {}})
            entry["sql_s"] += elapsed
            kind = _statement_kind(str(data.get("status", "")))
            entry["statements"][kind] = entry["statements"].get(kind, 0.0) + elapsed
    return total, marts


class _MemorySampler:
    """Peak resident memory of the dbt process tree and of the database's backends."""

    def __init__(self, url: str, interval: float = 0.1) -> None:
        self.url = url
        self.interval = interval
        self.peak = {"dbt_mb": 0.0, "postgres_rss_mb": 0.0, "postgres_private_mb": 0.0, "total_mb": 0.0}
        self.postgres_local = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = psutil.Process()
        query = (
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
        )
        with connection.connect(self.url, autocommit=True, application_name="opsmart-bench-sampler") as conn:
            while not self._stop.is_set():
                dbt_rss = 0
                for child in me.children(recursive=True):
                    with suppress(psutil.Error):
                        dbt_rss += child.memory_info().rss
                pg_rss = pg_private = 0
                for (pid,) in conn.execute(query).fetchall():
                    try:
                        info = psutil.Process(pid).memory_info()
                    except psutil.Error:
                        self.postgres_local = False
                        continue
                    pg_rss += info.rss
                    pg_private += info.rss - getattr(info, "shared", 0)
                mb = 1024 * 1024
                for key, value in (
                    ("dbt_mb", dbt_rss / mb),
                    ("postgres_rss_mb", pg_rss / mb),
                    ("postgres_private_mb", pg_private / mb),
                    ("total_mb", (dbt_rss + pg_rss) / mb),
                ):
                    self.peak[key] = max(self.peak[key], value)
                self._stop.wait(self.interval)


class _Context:
    """What every phase needs: the database, a private dbt target folder, the plan."""

    def __init__(self, url: str, scale: str, target: Path, step: Callable[[str], None]) -> None:
        self.url = url
        self.build_url = build.build_url(url)
        self.scale = scale
        self.plan = PLANS[scale]
        self.target = target
        self.step = step
        self.peak_memory: dict[str, Any] = {}

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return connection.connect(self.url, application_name="opsmart-bench", **kwargs)

    def dbt(self, *args: str, sample_memory: bool = False) -> DbtRun:
        """One dbt command (models run one at a time), timed; raises when dbt fails."""
        log = self.target / "logs" / "dbt.log"
        log.unlink(missing_ok=True)
        command = [*args, "--threads", "1"]
        full = ["--log-format-file", "json", "--log-level-file", "debug", *command]
        started = time.perf_counter()
        if sample_memory:
            with _MemorySampler(self.url) as sampler:
                result = build.dbt(full, self.build_url, capture=True, target_path=self.target)
            for key, value in sampler.peak.items():
                self.peak_memory[key] = max(self.peak_memory.get(key, 0.0), value)
            self.peak_memory["postgres_local"] = sampler.postgres_local
        else:
            result = build.dbt(full, self.build_url, capture=True, target_path=self.target)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            tail = "\n".join((result.stdout or "").splitlines()[-15:])
            raise UserError(f"dbt {' '.join(command)} failed (exit {result.returncode}):\n{tail}")
        total, marts = parse_dbt_log(log)
        return DbtRun(" ".join(command), wall, total, marts)


# --- baselines --------------------------------------------------------------------------------------


def _columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        """
        select a.attname, a.atttypid::regtype::text
        from pg_attribute as a
        where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        [str(sql.Identifier(schema, table).as_string(conn))],
    ).fetchall()


def compare_tables(conn: psycopg.Connection, mart: str) -> dict[str, Any]:
    """Whether bench_baseline.<mart> holds exactly mart.<mart>'s rows (as multisets, same columns)."""
    mine, theirs = _columns(conn, MART_SCHEMA, mart), _columns(conn, BASELINE_SCHEMA, mart)
    if mine != theirs:
        return {"equal": False, "note": f"columns differ: mart {mine} vs baseline {theirs}"}
    a, b = sql.Identifier(MART_SCHEMA, mart), sql.Identifier(BASELINE_SCHEMA, mart)
    count = "select count(*) from (select * from {} except all select * from {}) as d"
    missing = conn.execute(sql.SQL(count).format(a, b)).fetchone()[0]
    extra = conn.execute(sql.SQL(count).format(b, a)).fetchone()[0]
    if missing or extra:
        return {
            "equal": False,
            "note": f"{missing} mart rows missing from the baseline, {extra} baseline rows not in the mart",
        }
    return {"equal": True, "note": "rows equal the mart's"}


def baselines(url: str, directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Run each ``<mart>.sql`` of ``directory`` (timed) and compare its table with the mart.

    A baseline counts only when its output equals the mart: ``counted`` says so.
    """
    directory = directory or bench_dir() / "baseline"
    out: dict[str, dict[str, Any]] = {}
    with connection.connect(url, autocommit=True, application_name="opsmart-bench") as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(BASELINE_SCHEMA)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(BASELINE_SCHEMA)))
        for mart in MARTS:
            path = directory / f"{mart}.sql"
            if not path.is_file():
                out[mart] = {"file": str(path), "seconds": None, "counted": False, "note": "no baseline file"}
                continue
            started = time.perf_counter()
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                out[mart] = {"file": str(path), "seconds": None, "counted": False, "note": f"failed: {exc}"}
                continue
            seconds = time.perf_counter() - started
            check = compare_tables(conn, mart)
            out[mart] = {
                "file": str(path),
                "seconds": seconds,
                "counted": check["equal"],
                "note": check["note"],
            }
    return out


# --- phases -----------------------------------------------------------------------------------------


def _fresh_database(server_url: str, name: str) -> str:
    if connection.conninfo_to_dict(server_url).get("dbname") == name:
        raise UserError(f"the bench creates database {name}: point OPSMART_DATABASE_URL at another database")
    with connection.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = connection.with_database(server_url, name)
    bootstrap.apply(url, quiet=True)
    return url


def drop_database(server_url: str, name: str) -> None:
    with connection.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _load(ctx: _Context, seed: int) -> dict[str, Any]:
    from opsmart.synth.generate import generate
    from opsmart.synth.scale import Scale

    scale = Scale.preset(ctx.scale)
    started = time.perf_counter()
    counts = generate(ctx.url, scale, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    rows = sum(counts.values())
    # Statistics and hint bits set now, so no measured phase pays for them (or autovacuum's).
    with ctx.connect(autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
    return {
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "events": counts.get("ops.event", 0),
        "events_per_s": counts.get("ops.event", 0) / seconds,
        "tables": counts,
        "scale": {
            k: getattr(scale, k) for k in ("organizations", "users", "days", "events_per_day", "runs_per_day")
        },
    }


def _mart_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {
        mart: conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(MART_SCHEMA, mart))
        ).fetchone()[0]
        for mart in MARTS
    }


def _full_refresh(ctx: _Context, baseline_dir: Path) -> dict[str, Any]:
    """Best of N rounds of the dbt full refresh and of the baselines (alternating which goes first)."""
    runs: list[DbtRun] = []
    rounds: list[dict[str, dict[str, Any]]] = []
    for n in range(ctx.plan.full_refresh_rounds):
        order = ("baseline", "dbt") if n % 2 == 0 else ("dbt", "baseline")
        for what in order:
            ctx.step(
                f"full refresh, round {n + 1}: {'hand-written baselines' if what == 'baseline' else 'dbt'}"
            )
            if what == "dbt":
                runs.append(ctx.dbt("run", "--full-refresh", "--select", "marts", sample_memory=True))
            else:
                rounds.append(baselines(ctx.url, baseline_dir))
    # the equality verdict is the last round's, taken after the last full refresh
    last = baselines(ctx.url, baseline_dir) if order[-1] == "dbt" else rounds[-1]
    with ctx.connect(autocommit=True) as conn:
        counts = _mart_counts(conn)
    best = min(runs, key=lambda r: r.sql_s)
    marts: dict[str, Any] = {}
    for mart in MARTS:
        mart_s = min(r.marts.get(mart, {}).get("sql_s", math.inf) for r in runs)
        stmts = min((r.marts.get(mart, {"sql_s": math.inf}) for r in runs), key=lambda m: m["sql_s"])
        timed = [r[mart]["seconds"] for r in rounds if r[mart]["seconds"] is not None]
        base_s = min(timed) if timed else None
        counted = last[mart]["counted"]
        marts[mart] = {
            "sql_s": mart_s,
            "statements": stmts.get("statements", {}),
            "rows": counts[mart],
            "baseline_s": base_s,
            "baseline_counted": counted,
            "baseline_note": last[mart]["note"],
            "baseline_file": last[mart]["file"],
            "ratio_to_baseline": (mart_s / base_s) if counted and base_s else None,
        }
    counted_marts = [m for m in MARTS if marts[m]["baseline_counted"]]
    return {
        "rounds": len(runs),
        "wall_s": min(r.wall_s for r in runs),
        "sql_s": best.sql_s,
        "dbt_overhead_s": max(best.wall_s - best.sql_s, 0.0),
        "marts": marts,
        "baseline_total_s": sum(marts[m]["baseline_s"] for m in counted_marts) if counted_marts else None,
        "mart_total_s": sum(marts[m]["sql_s"] for m in MARTS),
        "peak_memory": dict(ctx.peak_memory),
    }


def _wait_for_stats(conn: psycopg.Connection) -> None:
    """Let backends that wrote (dbt's) exit, so their table statistics are flushed, then re-read them."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        others = conn.execute(
            """
            select count(*) from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
            """
        ).fetchone()[0]
        if others == 0:
            break
        time.sleep(0.05)
    conn.execute("select pg_stat_clear_snapshot()")


def _table_writes(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    _wait_for_stats(conn)
    rows = conn.execute(
        "select relname, n_tup_ins, n_tup_del from pg_stat_user_tables"
        " where schemaname = %s and relname = any(%s)",
        [MART_SCHEMA, list(MARTS)],
    ).fetchall()
    return {name: (ins, dele) for name, ins, dele in rows}


def _incremental(
    ctx: _Context, name: str, change: Callable[[psycopg.Connection], dict[str, Any]], full: dict[str, Any]
) -> dict[str, Any]:
    """Apply one change (its own transaction), then one incremental dbt run; what that run did."""
    ctx.step(f"incremental: {name}")
    with ctx.connect(autocommit=True) as conn:
        before = _table_writes(conn)
    started = time.perf_counter()
    with ctx.connect() as conn:
        conn.execute("set local timezone = 'UTC'")
        change_info = change(conn)
    change_s = time.perf_counter() - started
    run = ctx.dbt("run", "--select", "marts")
    with ctx.connect(autocommit=True) as conn:
        after = _table_writes(conn)
        counts = _mart_counts(conn)
        buckets = dict(
            conn.execute(
                "select model, buckets_rebuilt from ops.mart_build_state where target_schema = %s",
                [MART_SCHEMA],
            ).fetchall()
        )
    marts: dict[str, Any] = {}
    for mart in MARTS:
        ins = after.get(mart, (0, 0))[0] - before.get(mart, (0, 0))[0]
        dele = after.get(mart, (0, 0))[1] - before.get(mart, (0, 0))[1]
        sql_s = run.marts.get(mart, {}).get("sql_s", 0.0)
        full_s = full["marts"][mart]["sql_s"]
        marts[mart] = {
            "sql_s": sql_s,
            "statements": run.marts.get(mart, {}).get("statements", {}),
            "rows_inserted": ins,
            "rows_deleted": dele,
            "mart_rows": counts[mart],
            "rewritten_share": ins / counts[mart] if counts[mart] else 0.0,
            "buckets_rebuilt": buckets.get(mart),
            "ratio_to_full_refresh": sql_s / full_s if full_s else None,
        }
    marts_sql = sum(m["sql_s"] for m in marts.values())
    return {
        "change": change_info,
        "change_s": change_s,
        **run.as_dict(),
        "marts": marts,
        "marts_sql_s": marts_sql,
        "ratio_to_full_refresh": marts_sql / full["mart_total_s"] if full["mart_total_s"] else None,
        "rows_rewritten": sum(m["rows_inserted"] for m in marts.values()),
    }


def _modulus(fraction: float) -> int:
    return max(1, round(1 / fraction))


def _new_rows(fraction: float, now: dt.datetime) -> Callable[[psycopg.Connection], dict[str, Any]]:
    def change(conn: psycopg.Connection) -> dict[str, Any]:
        params = {"now": now, "modulus": _modulus(fraction)}
        rows = {}
        for table, statement in _NEW_ROWS:
            cur = conn.execute(statement, params)
            if table.startswith(("ops.", "core.")):
                rows[table] = cur.rowcount
        late = conn.execute(
            "select count(*) from ops.event"
            " where received_at = %(now)s and occurred_at < %(now)s - interval '1 day'",
            params,
        ).fetchone()[0]
        return {
            "fraction": fraction,
            "late_share": 0.1,
            "late_days": "1..20",
            "rows": rows,
            "late_events": late,
        }

    return change


def _update(statement: str, fraction: float, what: str) -> Callable[[psycopg.Connection], dict[str, Any]]:
    def change(conn: psycopg.Connection) -> dict[str, Any]:
        cur = conn.execute(statement, {"modulus": _modulus(fraction)})
        return {"fraction": fraction, "runs": what, "rows": {"ops.analysis_run": cur.rowcount}}

    return change


def _purge(conn: psycopg.Connection) -> dict[str, Any]:
    victim = conn.execute(_PURGE_VICTIM).fetchone()
    if victim is None:
        raise UserError("no user with events to purge")
    user, events = victim
    days = conn.execute(
        "select count(distinct (occurred_at at time zone 'UTC')::date) from ops.event where user_id = %s",
        [user],
    ).fetchone()[0]
    conn.execute(_PURGE_USER, {"user": user})
    return {"user": str(user), "events": events, "event_days": days, "rows": {"core.users": 1}}


# --- analyst queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    name: str
    question: str
    mart_sql: str
    ops_sql: str


def load_catalog(directory: Path | None = None) -> list[Query]:
    """The ``<name>.mart.sql`` / ``<name>.ops.sql`` pairs of ``directory``; first comment: the question."""
    directory = directory or bench_dir() / "queries"
    out = []
    for mart_path in sorted(directory.glob("*.mart.sql")):
        name = mart_path.name.removesuffix(".mart.sql")
        ops_path = directory / f"{name}.ops.sql"
        if not ops_path.is_file():
            raise UserError(f"{mart_path} has no ops version {ops_path.name}")
        text = mart_path.read_text()
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        question = first.removeprefix("--").strip() if first.startswith("--") else name
        out.append(Query(name, question, text, ops_path.read_text()))
    return out


def query_parameters(conn: psycopg.Connection, now: dt.datetime | None = None) -> dict[str, Any]:
    """The biggest organization (by events) and the time windows the catalog's questions use."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    today = now.date()
    row = conn.execute(
        "select organization_id from ops.event group by 1 order by count(*) desc, 1 limit 1"
    ).fetchone()
    return {
        "org": row[0] if row else None,
        "yesterday": today - dt.timedelta(days=1),
        "since_7d": today - dt.timedelta(days=6),
        "since_30d": today - dt.timedelta(days=29),
        "since_90d": hour - dt.timedelta(days=90),
        "since_24h": hour - dt.timedelta(hours=23),
    }


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _time(
    conn: psycopg.Connection, text: str, params: dict[str, Any], runs: int, budget: float
) -> dict[str, Any]:
    """One untimed run for the answer, then up to ``runs`` timed runs (at least 3, within ``budget`` s)."""
    answer = conn.execute(text, params).fetchall()
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < runs and (len(samples) < 3 or time.perf_counter() < deadline):
        started = time.perf_counter()
        conn.execute(text, params).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "answer": answer,
        "runs": len(samples),
        "p50_ms": statistics.median(samples),
        "p95_ms": _percentile(samples, 0.95),
        "min_ms": min(samples),
    }


def run_catalog(
    url: str,
    directory: Path | None = None,
    *,
    mart_runs: int = 20,
    ops_runs: int = 5,
    budget_s: float = 5.0,
    step: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Each question timed on the marts and on the ops tables; answers compared once."""
    out: dict[str, Any] = {}
    with connection.connect(url, autocommit=True, application_name="opsmart-bench") as conn:
        params = query_parameters(conn)
        for q in load_catalog(directory):
            step(f"analyst query: {q.name}")
            mart = _time(conn, q.mart_sql, params, mart_runs, budget_s)
            ops = _time(conn, q.ops_sql, params, ops_runs, budget_s)
            mart_answer, ops_answer = mart.pop("answer"), ops.pop("answer")
            out[q.name] = {
                "question": q.question,
                "rows": len(mart_answer),
                "answers_match": mart_answer == ops_answer,
                "mart": mart,
                "ops": ops,
                "speedup_p50": ops["p50_ms"] / mart["p50_ms"] if mart["p50_ms"] else None,
                "speedup_p95": ops["p95_ms"] / mart["p95_ms"] if mart["p95_ms"] else None,
            }
    return {"parameters": {k: str(v) for k, v in params.items()}, "queries": out}


# --- the write cost of change tracking -------------------------------------------------------------

_TRACKING_BATCH = """
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, payload)
select t.o, t.u, t.s, t.f, %(now)s::timestamptz - t.i * interval '1 millisecond', t.p::jsonb
from unnest(%(o)s::uuid[], %(u)s::uuid[], %(s)s::text[], %(f)s::text[], %(p)s::text[])
    with ordinality as t(o, u, s, f, p, i)
"""

_TRACKING_SINGLE = """
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, payload)
values (%s, %s, %s, %s, %s, %s::jsonb)
"""

BATCH_ROWS = 1000


def _insert_seconds(
    conn: psycopg.Connection, sample: list[tuple], rows: int, *, batch: bool, tracked: bool, now: dt.datetime
) -> float:
    """Seconds to insert ``rows`` events into ops.event, in a transaction that is rolled back.

    Untracked is the same table without change tracking's insert path: the change_xid
    column (its default) and its BRIN index, dropped inside the transaction.
    """
    columns = list(zip(*sample, strict=True))
    arrays = {"o": list(columns[0]), "u": list(columns[1]), "s": list(columns[2]), "f": list(columns[3])}
    arrays["p"] = list(columns[4])
    with conn.transaction(force_rollback=True):
        if not tracked:
            conn.execute("alter table ops.event drop column change_xid cascade")
        started = time.perf_counter()
        if batch:
            for n in range(0, rows, BATCH_ROWS):
                conn.execute(_TRACKING_BATCH, {**arrays, "now": now - dt.timedelta(seconds=n)})
        else:
            for n in range(rows):
                o, u, s, f, p = sample[n % len(sample)]
                conn.execute(_TRACKING_SINGLE, (o, u, s, f, now - dt.timedelta(milliseconds=n), p))
        return time.perf_counter() - started


def tracking_cost(url: str, *, batch_rows: int, single_rows: int, rounds: int) -> dict[str, Any]:
    """Insert throughput into ops.event with change tracking and without, batched and row by row."""
    now = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {
        "table": "ops.event",
        "method": "same rows, rolled back; untracked drops change_xid",
    }
    with connection.connect(url, application_name="opsmart-bench") as conn:
        conn.autocommit = True
        sample = conn.execute(
            "select organization_id, user_id, source, feature_key, payload::text from ops.event"
            " order by id desc limit %s",
            [BATCH_ROWS],
        ).fetchall()
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


# --- machine, commit, targets ---------------------------------------------------------------------


def _machine(url: str) -> dict[str, Any]:
    with connection.connect(url, autocommit=True) as conn:
        version = conn.execute("select version()").fetchone()[0]
        server_version = conn.execute("show server_version").fetchone()[0]
        settings = {
            name: conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()[0]
            for name in (
                "shared_buffers",
                "work_mem",
                "maintenance_work_mem",
                "max_parallel_workers_per_gather",
                "jit",
            )
        }
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": version,
        "postgres_version": server_version,
        "server": "external" if connection.is_external() else "embedded",
        # other work on the machine skews every figure: recorded, not prevented
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "settings": settings,
    }


def _commit() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = interrupts.run(["git", *args], cwd=connection.project_dir(), capture=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def _target(
    name: str,
    goal: float,
    value: float | None,
    *,
    higher_is_better: bool = False,
    detail: str = "",
    **extra: Any,
) -> dict[str, Any]:
    met = None if value is None else (value >= goal if higher_is_better else value <= goal)
    miss = None
    if met is False and value is not None:
        miss = goal / value if higher_is_better else value / goal
    return {
        "target": name,
        "goal": goal,
        "value": value,
        "met": met,
        "missed_by_factor": miss,
        "detail": detail,
        **extra,
    }


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals against this run's figures; ``met`` is None where not measurable here."""
    scale = result["scale"]
    targets = []
    marts = result["full_refresh"]["marts"]
    ratios = {m: v["ratio_to_baseline"] for m, v in marts.items() if v["ratio_to_baseline"] is not None}
    worst = max(ratios, key=lambda m: ratios[m]) if ratios else None
    targets.append(
        _target(
            "full refresh ≤ 1.5× the baseline (every mart)",
            1.5,
            ratios[worst] if worst else None,
            detail=", ".join(f"{m} {r:.2f}×" for m, r in ratios.items())
            + "".join(f"; {m}: baseline not counted" for m, v in marts.items() if not v["baseline_counted"]),
        )
    )
    for key in ("new_rows_1pct", "update_runs_1pct"):
        scenario = result["incremental"][key]
        worst_mart = max(MARTS, key=lambda m: scenario["marts"][m]["ratio_to_full_refresh"] or 0)
        targets.append(
            _target(
                f"incremental after {SCENARIO_TITLES[key]} ≤ 5% of the full refresh (at M)",
                0.05,
                scenario["ratio_to_full_refresh"],
                detail=f"worst mart {worst_mart} "
                f"{(scenario['marts'][worst_mart]['ratio_to_full_refresh'] or 0):.1%}; measured at {scale}",
            )
        )
    queries = result["queries"]["queries"]
    if queries:
        slowest = max(queries, key=lambda q: queries[q]["mart"]["p95_ms"])
        targets.append(
            _target(
                "analyst queries p95 ≤ 10 ms (at M)",
                10.0,
                queries[slowest]["mart"]["p95_ms"],
                detail=f"slowest {slowest}; measured at {scale}",
            )
        )
        least = min(queries, key=lambda q: queries[q]["speedup_p50"] or math.inf)
        targets.append(
            _target(
                "analyst queries ≥ 100× faster than asking ops (p50)",
                100.0,
                queries[least]["speedup_p50"],
                higher_is_better=True,
                detail=f"least {least}",
            )
        )
    tracking = result["change_tracking"]
    for kind in ("batch", "single_row"):
        targets.append(
            _target(
                f"change tracking costs ≤ 10% of ops insert throughput ({kind.replace('_', ' ')})",
                0.10,
                tracking[kind]["cost"],
                detail=f"{tracking[kind]['with_rows_per_s']:,.0f} rows/s tracked"
                f" vs {tracking[kind]['without_rows_per_s']:,.0f} untracked",
            )
        )
    load = result["load"]
    targets.append(
        _target(
            "M generated in under 2 minutes",
            120.0,
            load["seconds"] if scale == "M" else None,
            detail=f"{scale}: {load['seconds']:.0f} s for {load['rows']:,} rows"
            f" ({load['rows_per_s']:,.0f} rows/s)",
        )
    )
    return targets


# --- the whole run --------------------------------------------------------------------------------

SCENARIO_TITLES = {
    "new_rows_1pct": "+1% new rows",
    "update_runs_1pct": "updating 1% of runs",
    "update_runs_scattered_1pct": "updating 1% of runs, scattered",
    "purge_user": "purging one user",
    "no_change": "no change",
}


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    bar = Progress(
        SpinnerColumn(),
        TextColumn("bench {task.description:<52}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )
    with bar:
        task = bar.add_task("starting", total=total)
        state = {"first": True}

        def step(description: str) -> None:
            if not state["first"]:
                bar.advance(task)
            state["first"] = False
            bar.update(task, description=description)

        yield step
        bar.update(task, completed=total)


def measure(
    scale: str = "S",
    *,
    server_url: str | None = None,
    database: str = DATABASE,
    baseline_dir: Path | None = None,
    queries_dir: Path | None = None,
    seed: int = 42,
    fraction: float = 0.01,
    progress: bool = True,
    keep: bool = True,
) -> dict[str, Any]:
    """Run every measurement on a fresh database ``database``; returns the result document."""
    if scale not in PLANS:
        raise UserError(f"unknown bench scale {scale!r}: choose one of {', '.join(PLANS)}")
    baseline_dir = baseline_dir or bench_dir() / "baseline"
    began = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    server_url = server_url or connection.database_url()
    steps = 5 + 2 * PLANS[scale].full_refresh_rounds + len(SCENARIO_TITLES) + len(load_catalog(queries_dir))
    target = connection.home_dir() / "bench" / f"target-{database}"
    with _progress(progress, steps) as step:
        step("fresh database and bootstrap")
        url = _fresh_database(server_url, database)
        try:
            ctx = _Context(url, scale, target, step)
            result: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "scale": scale,
                "started_at": started_at.isoformat(timespec="seconds"),
                "database": database,
                "machine": _machine(url),
                "commit": _commit(),
                "method": {
                    "sql_time": "sum of dbt's SQLQueryStatus events (JSON debug log) per node;"
                    " dbt runs with --threads 1",
                    "rows_rewritten": "pg_stat_user_tables n_tup_ins/n_tup_del deltas of the mart tables",
                    "full_refresh": f"best of {ctx.plan.full_refresh_rounds} rounds, baselines likewise",
                    "peak_memory": "RSS of the dbt process tree and of the database's backends,"
                    " sampled every 0.1 s",
                },
            }
            step(f"load: generate {scale}")
            result["load"] = _load(ctx, seed)
            step("dbt: staging views")
            ctx.dbt("run", "--select", "staging", "intermediate")
            full = _full_refresh(ctx, baseline_dir)
            result["full_refresh"] = full
            step("dbt build with tests (for context)")
            result["build_with_tests"] = ctx.dbt("build", "--select", "marts").as_dict()
            now = dt.datetime.now(dt.UTC)
            result["incremental"] = {
                "new_rows_1pct": _incremental(ctx, "+1% new rows", _new_rows(fraction, now), full),
                "update_runs_1pct": _incremental(
                    ctx,
                    "update 1% of runs",
                    _update(_UPDATE_RUNS_RECENT, fraction, "most recently started"),
                    full,
                ),
                "update_runs_scattered_1pct": _incremental(
                    ctx,
                    "update 1% of runs, scattered",
                    _update(_UPDATE_RUNS_SCATTERED, fraction, "picked across all history"),
                    full,
                ),
                "purge_user": _incremental(ctx, "purge one user", _purge, full),
                "no_change": _incremental(ctx, "no change", lambda _conn: {"rows": {}}, full),
            }
            result["dbt_overhead_s"] = result["incremental"]["no_change"]["dbt_overhead_s"]
            step("exactness: marts vs baselines after the incremental runs")
            after = baselines(url, baseline_dir)
            result["exact_after_incrementals"] = {m: after[m]["counted"] for m in MARTS}
            result["queries"] = run_catalog(
                url,
                queries_dir,
                mart_runs=ctx.plan.mart_query_runs,
                ops_runs=ctx.plan.ops_query_runs,
                budget_s=ctx.plan.query_budget_s,
                step=step,
            )
            step("change tracking: insert throughput with and without")
            result["change_tracking"] = tracking_cost(
                url,
                batch_rows=ctx.plan.tracking_batch_rows,
                single_rows=ctx.plan.tracking_single_rows,
                rounds=ctx.plan.tracking_rounds,
            )
            result["peak_memory"] = full["peak_memory"]
            result["targets"] = evaluate_targets(result)
            result["duration_s"] = time.perf_counter() - began
            result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            if not keep:
                drop_database(server_url, database)
    return result


# --- presentation: one set of rows for the console and the markdown --------------------------------


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def summary_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    load, full = result["load"], result["full_refresh"]
    rows = [
        [
            "load (generate)",
            _s(load["seconds"]),
            f"{load['rows_per_s']:,.0f} rows/s",
            f"{load['rows']:,} rows, {load['events']:,} events",
        ]
    ]
    for mart, m in full["marts"].items():
        verdict = "counted" if m["baseline_counted"] else f"NOT counted: {m['baseline_note']}"
        rows.append(
            [
                f"full refresh: {mart}",
                _s(m["sql_s"]),
                f"{_x(m['ratio_to_baseline'])} baseline",
                f"baseline {_s(m['baseline_s'])} ({verdict}); {m['rows']:,} rows",
            ]
        )
    rows.append(
        [
            "full refresh: all marts",
            _s(full["mart_total_s"]),
            f"{_x(_ratio(full['mart_total_s'], full['baseline_total_s']))} baseline",
            f"wall {_s(full['wall_s'])}, all SQL {_s(full['sql_s'])},"
            f" dbt overhead {_s(full['dbt_overhead_s'])}",
        ]
    )
    build_run = result["build_with_tests"]
    rows.append(
        ["dbt build with tests (no change)", _s(build_run["sql_s"]), "", f"wall {_s(build_run['wall_s'])}"]
    )
    for key, scenario in result["incremental"].items():
        rows.append(
            [
                f"incremental: {key}",
                _s(scenario["marts_sql_s"]),
                f"{_pct(scenario['ratio_to_full_refresh'])} of full refresh",
                f"{scenario['rows_rewritten']:,} mart rows rewritten; wall {_s(scenario['wall_s'])},"
                f" dbt overhead {_s(scenario['dbt_overhead_s'])}",
            ]
        )
    for kind, t in result["change_tracking"].items():
        if isinstance(t, dict):
            rows.append(
                [
                    f"ops insert, {kind.replace('_', ' ')}",
                    _s(t["with_s"]),
                    f"{t['throughput_ratio']:.2f}× throughput",
                    f"{t['with_rows_per_s']:,.0f} rows/s tracked vs {t['without_rows_per_s']:,.0f} untracked",
                ]
            )
    peak = result["peak_memory"]
    rows.append(
        [
            "peak memory of the full refresh",
            "",
            f"{peak.get('total_mb', 0):,.0f} MB",
            f"dbt {peak.get('dbt_mb', 0):,.0f} MB + postgres backends"
            f" {peak.get('postgres_rss_mb', 0):,.0f} MB RSS"
            f" ({peak.get('postgres_private_mb', 0):,.0f} MB not shared)",
        ]
    )
    return ["measure", "SQL time", "ratio", "notes"], rows


def incremental_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows = []
    for key, scenario in result["incremental"].items():
        for mart, m in scenario["marts"].items():
            rows.append(
                [
                    key,
                    mart,
                    _s(m["sql_s"]),
                    _pct(m["ratio_to_full_refresh"]),
                    f"{m['rows_inserted']:,} / {m['rows_deleted']:,}",
                    _pct(m["rewritten_share"]),
                    "–" if m["buckets_rebuilt"] is None else str(m["buckets_rebuilt"]),
                ]
            )
    headers = ["change", "mart", "SQL time", "of full refresh", "rows in / out", "of mart", "buckets"]
    return headers, rows


def query_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows = []
    for name, q in result["queries"]["queries"].items():
        rows.append(
            [
                name,
                f"{q['mart']['p50_ms']:.2f} / {q['mart']['p95_ms']:.2f}",
                f"{q['ops']['p50_ms']:.1f} / {q['ops']['p95_ms']:.1f}",
                _x(q["speedup_p50"]),
                str(q["rows"]),
                "yes" if q["answers_match"] else "NO",
            ]
        )
    return ["query", "mart p50 / p95 ms", "ops p50 / p95 ms", "speedup", "rows", "same answer"], rows


def target_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows = []
    for t in result["targets"]:
        value = t["value"]
        shown = "–" if value is None else (f"{value:.1%}" if t["goal"] < 1 else f"{value:,.2f}")
        if t["met"] is None:
            verdict = "not measured here"
        else:
            verdict = "met" if t["met"] else f"missed ({t['missed_by_factor']:.1f}× off)"
        rows.append([t["target"], shown, verdict, t["detail"]])
    return ["target", "value", "verdict", "detail"], rows


TABLES = (
    ("summary", summary_rows),
    ("incremental runs, per mart", incremental_rows),
    ("analyst queries", query_rows),
    ("targets", target_rows),
)


def print_result(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    for title, rows_of in TABLES:
        headers, rows = rows_of(result)
        table = Table(title=f"{title} ({result['scale']})")
        for h in headers:
            table.add_column(h)
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def where_the_time_goes(result: dict[str, Any]) -> str:
    """A paragraph computed from the figures: the biggest costs of each kind of run."""
    full = result["full_refresh"]
    marts = full["marts"]
    biggest = max(marts, key=lambda m: marts[m]["sql_s"])
    kinds: dict[str, float] = {}
    for m in marts.values():
        for kind, s in m["statements"].items():
            kinds[kind] = kinds.get(kind, 0.0) + s
    # dbt runs create + insert + the grain's unique constraint (added after the
    # rows, see macros/materializations) as one call: its status is the last
    # statement's, ALTER TABLE.
    main = kinds.get("INSERT", 0.0) + kinds.get("ALTER TABLE", 0.0)
    index = kinds.get("CREATE INDEX", 0.0)
    total = full["mart_total_s"] or 1.0
    new_rows = result["incremental"]["new_rows_1pct"]
    inc_biggest = max(new_rows["marts"], key=lambda m: new_rows["marts"][m]["sql_s"])
    nochange = result["incremental"]["no_change"]
    return (
        f"Of the full refresh's {_s(total)} of mart SQL, {biggest} takes"
        f" {marts[biggest]['sql_s'] / total:.0%};"
        f" the statement that computes and inserts the rows and adds the grain's unique constraint is"
        f" {main / total:.0%} of the total and the other index builds {index / total:.0%}, the rest is"
        f" hooks, metadata and commits. dbt itself adds"
        f" {_s(full['dbt_overhead_s'])} to a full refresh and {_s(nochange['dbt_overhead_s'])} to a run that"
        f" finds nothing to do (start-up, parsing, introspection), against {_s(nochange['sql_s'])} of SQL."
        f" After +1% new rows the incremental run spends most in {inc_biggest}"
        f" ({_s(new_rows['marts'][inc_biggest]['sql_s'])},"
        f" {new_rows['marts'][inc_biggest]['buckets_rebuilt']}"
        f" buckets rebuilt): the late rows reopen buckets across up to 20 past days."
    )


def render_section(result: dict[str, Any]) -> str:
    machine, commit = result["machine"], result["commit"]
    sha = (commit.get("sha") or "unknown")[:12]
    if commit.get("dirty"):
        sha += " (with uncommitted changes)"
    header = (
        f"Run {result['started_at'][:10]}, commit `{sha}`, {machine['cores']} cores,"
        f" {machine['memory_gb']} GB,"
        f" PostgreSQL {machine['postgres_version']} ({machine['server']}; shared_buffers"
        f" {machine['settings']['shared_buffers']}, work_mem {machine['settings']['work_mem']}),"
        f" {machine['platform']}; load average {machine['load_average_at_start'][0]} at the start,"
        f" {machine.get('load_average_at_end', ['?'])[0]} at the end."
        f" The whole bench took {result['duration_s'] / 60:.1f} min."
    )
    exact = result["exact_after_incrementals"]
    exact_line = (
        "After all incremental runs every mart still equals its hand-written baseline."
        if all(exact.values())
        else "After the incremental runs these marts differ from their baselines: "
        + ", ".join(m for m, ok in exact.items() if not ok)
        + "."
    )
    parts = [header, ""]
    for title, rows_of in TABLES:
        headers, rows = rows_of(result)
        parts += [f"**{title.capitalize()}**", "", _markdown_table(headers, rows), ""]
    parts += [exact_line, "", where_the_time_goes(result)]
    return "\n".join(parts)


def _markers(scale: str) -> tuple[str, str]:
    return f"<!-- bench:{scale}:begin -->", f"<!-- bench:{scale}:end -->"


def report(results_dir: Path | None = None, markdown: Path | None = None) -> int:
    """Rewrite the S/M/L sections of BENCHMARKS.md from ``bench/results/<scale>.json``."""
    results_dir = results_dir or bench_dir() / "results"
    markdown = markdown or connection.project_dir() / "BENCHMARKS.md"
    if not markdown.is_file():
        raise UserError(f"{markdown} does not exist")
    text = markdown.read_text()
    done = []
    for scale in MARKDOWN_SCALES:
        path = results_dir / f"{scale}.json"
        begin, end = _markers(scale)
        if not path.is_file() or begin not in text or end not in text:
            continue
        result = json.loads(path.read_text())
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{render_section(result)}\n{end}{tail}"
        done.append(scale)
    markdown.write_text(text)
    print(f"{markdown.name}: rewrote {', '.join(done) or 'nothing'} from {results_dir}")
    return 0


def run(
    scale: str = "S",
    out: str | Path | None = None,
    *,
    markdown: bool = False,
    **options: Any,
) -> int:
    """``opsmart bench``: measure, print the table, write the JSON (default bench/results/<scale>.json)."""
    # checked before the minutes of measuring, not after
    path = files.check_output(out or bench_dir() / "results" / f"{scale}.json", "results", make_folders=True)
    result = measure(scale, **options)
    with files.written_whole(path) as partial:
        partial.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_result(result)
    print(f"results: {path}")
    if markdown:
        report(path.parent)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m opsmart.bench report [RESULTS_DIR]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "report" or len(args) > 2:
        print("usage: python -m opsmart.bench report [RESULTS_DIR]", file=sys.stderr)
        return 2
    try:
        return report(Path(args[1]) if len(args) == 2 else None)
    except UserError as exc:
        print(f"opsmart: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
