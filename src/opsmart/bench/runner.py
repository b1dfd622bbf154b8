"""One whole bench run on a fresh database: load, full refresh, incremental changes, queries, tracking."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from opsmart import bootstrap, build, connection, files
from opsmart.bench import (
    DATABASE,
    SCHEMA_VERSION,
    baselines,
    folder,
    machine,
    plans,
    queries,
    report,
    targets,
    tracking,
)
from opsmart.bench import scenarios as changes
from opsmart.bench.cpu import Probe
from opsmart.bench.dbt_timing import DbtRun, DbtTimer
from opsmart.errors import UserError
from opsmart.progress import steps as progress_steps

# The bench builds into its own database, so its marts sit in the default schema
# whatever OPSMART_MART_SCHEMA says (the analyst questions name it).
MART_SCHEMA = connection.DEFAULT_MART_SCHEMA
MARTS = build.MARTS


class Context:
    """What every phase needs: the database, dbt timed in a private target folder, the plan."""

    def __init__(
        self,
        url: str,
        scale: str,
        target: Path,
        step: Callable[[str], None],
        probe: Probe | None = None,
        build_url: str | None = None,
    ) -> None:
        self.url = url
        self.scale = scale
        self.plan = plans.plan(scale)
        self.step = step
        self.dbt = DbtTimer(url, build_url or build.build_url(url), MART_SCHEMA, target, probe)

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return connection.connect(self.url, application_name="opsmart-bench", **kwargs)


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``server_url``, bootstrapped; its URL."""
    if connection.conninfo_to_dict(server_url).get("dbname") == name:
        raise UserError(f"the bench creates database {name}: point OPSMART_DATABASE_URL at another database")
    drop_database(server_url, name)
    with connection.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = connection.with_database(server_url, name)
    bootstrap.apply(url, quiet=True)
    return url


def drop_database(server_url: str, name: str) -> None:
    with connection.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _load(ctx: Context, seed: int) -> dict[str, Any]:
    from opsmart.synth.generate import generate

    scale = plans.data_scale(ctx.scale)
    started = time.perf_counter()
    counts = generate(ctx.url, scale, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    rows = sum(counts.values())
    # Statistics and hint bits set now, so no measured phase pays for them (or autovacuum's).
    with ctx.connect(autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
        size = conn.execute("select pg_database_size(current_database())").fetchone()[0]
    return {
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "events": counts.get("ops.event", 0),
        "events_per_s": counts.get("ops.event", 0) / seconds,
        "database_bytes": size,
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


def _full_refresh(ctx: Context, baseline_dir: Path | None) -> dict[str, Any]:
    """Best of N rounds of the dbt full refresh and of the baselines (alternating which goes first).

    dbt goes first in the first round: a baseline copies the indexes of the mart it is
    measured against, so the mart must exist.
    """
    runs: list[DbtRun] = []
    rounds: list[dict[str, dict[str, Any]]] = []
    order: tuple[str, ...] = ()
    for n in range(ctx.plan.full_refresh_rounds):
        order = ("dbt", "baseline") if n % 2 == 0 else ("baseline", "dbt")
        for what in order:
            ctx.step(
                f"full refresh, round {n + 1}: {'hand-written baselines' if what == 'baseline' else 'dbt'}"
            )
            if what == "dbt":
                runs.append(ctx.dbt.run("run", "--full-refresh", "--select", "marts", sample_memory=True))
            else:
                rounds.append(baselines.run(ctx.url, MART_SCHEMA, baseline_dir))
    # the equality verdict is the last round's, taken after the last full refresh
    last = baselines.run(ctx.url, MART_SCHEMA, baseline_dir) if order[-1] == "dbt" else rounds[-1]
    with ctx.connect(autocommit=True) as conn:
        counts = _mart_counts(conn)
    best = min(runs, key=lambda r: r.sql_s)
    marts: dict[str, Any] = {}
    for mart in MARTS:
        fastest = min((r.marts.get(mart, {"sql_s": math.inf}) for r in runs), key=lambda m: m["sql_s"])
        timed = [r[mart] for r in rounds if r[mart]["seconds"] is not None]
        base = min(timed, key=lambda b: b["seconds"]) if timed else {}
        base_s = base.get("seconds")
        counted = last[mart]["counted"]
        marts[mart] = {
            "sql_s": fastest["sql_s"],
            "statements": fastest.get("statements", {}),
            "rows": counts[mart],
            "baseline_s": base_s,  # the table and its indexes
            "baseline_table_s": base.get("table_seconds"),
            "baseline_index_s": base.get("index_seconds"),
            "baseline_counted": counted,
            "baseline_note": last[mart]["note"],
            "baseline_file": last[mart]["file"],
            "ratio_to_baseline": (fastest["sql_s"] / base_s) if counted and base_s else None,
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
        "peak_memory": dict(ctx.dbt.peak_memory),
        **({} if best.spent_s is None else {"spent_s": best.spent_s}),  # the best round's
    }


def wait_for_stats(conn: psycopg.Connection) -> None:
    """Let backends that wrote (dbt's) exit, so their table statistics are flushed, then re-read them.

    Citus's own connections (a coordinator's maintenance daemon talks to itself) stay open: not waited for.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        others = conn.execute(
            """
            select count(*) from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
            and not starts_with(application_name, 'citus_internal')
            """
        ).fetchone()[0]
        if others == 0:
            break
        time.sleep(0.05)
    conn.execute("select pg_stat_clear_snapshot()")


def _table_writes(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    wait_for_stats(conn)
    rows = conn.execute(
        "select relname, n_tup_ins, n_tup_del from pg_stat_user_tables"
        " where schemaname = %s and relname = any(%s)",
        [MART_SCHEMA, list(MARTS)],
    ).fetchall()
    return {name: (ins, dele) for name, ins, dele in rows}


def _incremental(ctx: Context, scenario: changes.Scenario, full: dict[str, Any]) -> dict[str, Any]:
    """Apply one change (its own transaction), then one incremental dbt run; what that run did."""
    ctx.step(f"incremental: {scenario.title}")
    with ctx.connect(autocommit=True) as conn:
        before = _table_writes(conn)
    started = time.perf_counter()
    change = scenario.apply(ctx.url, dt.datetime.now(dt.UTC))
    change_s = time.perf_counter() - started
    dbt_run = ctx.dbt.run("run", "--select", "marts")
    with ctx.connect(autocommit=True) as conn:
        after = _table_writes(conn)
        counts = _mart_counts(conn)
        state = {
            model: (buckets, groups)
            for model, buckets, groups in conn.execute(
                "select model, buckets_rebuilt, groups_rebuilt from ops.mart_build_state"
                " where target_schema = %s",
                [MART_SCHEMA],
            ).fetchall()
        }
    marts: dict[str, Any] = {}
    for mart in MARTS:
        ins = after.get(mart, (0, 0))[0] - before.get(mart, (0, 0))[0]
        dele = after.get(mart, (0, 0))[1] - before.get(mart, (0, 0))[1]
        sql_s = dbt_run.marts.get(mart, {}).get("sql_s", 0.0)
        full_s = full["marts"][mart]["sql_s"]
        buckets, groups = state.get(mart, (None, None))
        marts[mart] = {
            "sql_s": sql_s,
            "statements": dbt_run.marts.get(mart, {}).get("statements", {}),
            "rows_inserted": ins,
            "rows_deleted": dele,
            "mart_rows": counts[mart],
            "rewritten_share": ins / counts[mart] if counts[mart] else 0.0,
            "buckets_rebuilt": buckets,
            "groups_rebuilt": groups,
            "ratio_to_full_refresh": sql_s / full_s if full_s else None,
        }
    marts_sql = sum(m["sql_s"] for m in marts.values())
    return {
        "title": scenario.title,
        "fixed_size": scenario.fixed_size,
        "change": change,
        "change_s": change_s,
        **dbt_run.as_dict(),
        "marts": marts,
        "marts_sql_s": marts_sql,
        "ratio_to_full_refresh": marts_sql / full["mart_total_s"] if full["mart_total_s"] else None,
        "rows_rewritten": sum(m["rows_inserted"] for m in marts.values()),
    }


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
    cluster: Any = None,
    extras: bool = True,
    probe: Probe | None = None,
) -> dict[str, Any]:
    """Run every measurement on a fresh database ``database``; returns the result document.

    ``cluster`` (an ``opsmart.cluster.nodes.Cluster``): build on its coordinator instead
    (``opsmart.bench.cluster`` knows how). ``extras=False`` leaves out the analyst
    queries, the change-tracking cost and the targets: load, full refresh, the
    incremental scenarios and the exactness checks only. ``probe``: what each dbt run
    cost each server in CPU (on a cluster, every node's and the claim's time).
    """
    plan = plans.plan(scale)
    began = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    if cluster is None:
        server_url = server_url or connection.database_url()
    scenario_list = changes.scenarios(fraction)
    total = 5 + 2 * plan.full_refresh_rounds + len(scenario_list)
    total += len(queries.load_catalog(queries_dir)) if extras else -1  # no build with tests
    target = connection.home_dir() / "bench" / f"target-{database}"
    with progress_steps(progress, total, label="bench") as step:
        step("fresh database and bootstrap")
        if cluster is not None:
            from opsmart.bench import cluster as on_cluster

            url = on_cluster.fresh_database(cluster, database)
            probe = probe or on_cluster.probe(cluster, url)
            build_url = on_cluster.build_login(cluster, url)
        else:
            url = fresh_database(server_url, database)
            build_url = None
        try:
            ctx = Context(url, scale, target, step, probe, build_url)
            result: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "scale": scale,
                "started_at": started_at.isoformat(timespec="seconds"),
                "database": database,
                "machine": machine.machine(url),
                "commit": machine.commit(),
                "method": {
                    "sql_time": "sum of dbt's SQLQueryStatus events (JSON debug log) per node;"
                    " dbt runs with --threads 1",
                    "rows_rewritten": "pg_stat_user_tables n_tup_ins/n_tup_del deltas of the mart tables",
                    "full_refresh": f"best of {plan.full_refresh_rounds} rounds, baselines likewise",
                    "peak_memory": "RSS of the dbt process tree and of the database's backends,"
                    " sampled every 0.1 s",
                    "percentiles": "interpolated between the nearest ranks (percentile_cont)",
                },
            }
            step(f"load: generate {scale}")
            result["load"] = _load(ctx, seed)
            step("dbt: seeds, staging and intermediate views")
            # the marts' tests read the seeds (catalogs); the timed full refresh is the marts' alone
            ctx.dbt.run("seed")
            ctx.dbt.run("run", "--select", "staging", "intermediate")
            full = _full_refresh(ctx, baseline_dir)
            result["full_refresh"] = full
            if extras:
                step("dbt build with tests (for context)")
                result["build_with_tests"] = ctx.dbt.run("build", "--select", "marts").as_dict()
            result["incremental"] = {s.key: _incremental(ctx, s, full) for s in scenario_list}
            result["dbt_overhead_s"] = result["incremental"]["no_change"]["dbt_overhead_s"]
            step("exactness: marts vs baselines after the incremental runs")
            after = baselines.run(url, MART_SCHEMA, baseline_dir)
            result["exact_after_incrementals"] = {m: after[m]["counted"] for m in MARTS}
            if cluster is not None:
                result["cluster"] = on_cluster.describe(cluster, url)
            if not extras:
                result["duration_s"] = time.perf_counter() - began
                result["machine"]["load_average_at_end"] = machine.load_average()
                return result
            result["queries"] = queries.run_catalog(
                url,
                queries_dir,
                mart_runs=plan.mart_query_runs,
                ops_runs=plan.ops_query_runs,
                budget_s=plan.query_budget_s,
                step=step,
                schema=MART_SCHEMA,
            )
            step("change tracking: insert throughput with and without")
            result["change_tracking"] = tracking.cost(
                url,
                batch_rows=plan.tracking_batch_rows,
                single_rows=plan.tracking_single_rows,
                rounds=plan.tracking_rounds,
            )
            result["peak_memory"] = full["peak_memory"]
            result["targets"] = targets.evaluate(result)
            result["duration_s"] = time.perf_counter() - began
            result["machine"]["load_average_at_end"] = machine.load_average()
        finally:
            if not keep and cluster is not None:
                cluster.drop_database(database)
            elif not keep:
                drop_database(server_url, database)
    return result


def run(
    scale: str = "S",
    out: str | Path | None = None,
    *,
    markdown: bool = False,
    **options: Any,
) -> int:
    """``opsmart bench``: measure, print the tables, write the JSON (default bench/results/<scale>.json)."""
    plans.plan(scale)
    # checked before the minutes of measuring, not after
    name = f"{scale}-citus.json" if options.get("cluster") is not None else f"{scale}.json"
    path = files.check_output(out or folder() / "results" / name, "results", make_folders=True)
    result = measure(scale, **options)
    with files.written_whole(path) as partial:
        partial.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if "queries" not in result:  # scenarios and exactness only
        exact = all(result["exact_after_incrementals"].values()) and all(
            m["baseline_counted"] for m in result["full_refresh"]["marts"].values()
        )
        for inc in result["incremental"].values():
            print(f"{inc['title']}: {inc['marts_sql_s']:.3f} s")
        print(
            f"full refresh: {result['full_refresh']['mart_total_s']:.3f} s; marts equal to baselines: {exact}"
        )
        print(f"results: {path}")
        return 0 if exact else 1
    report.print_result(result)
    print(f"results: {path}")
    beside = path.with_name("S.json")
    if scale == "M" and beside.is_file():
        with suppress(ValueError, KeyError, TypeError):  # an S run the report cannot read: no comparison
            report.print_scaling(json.loads(beside.read_text()), result)
    if markdown:
        report.rewrite(path.parent)
    return 0
