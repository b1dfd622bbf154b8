"""One server vs a Citus cluster: the side-by-side run's tables, and a model of more workers.

``render`` turns the document of ``opsmart bench --side-by-side`` (``cluster``) into
the BENCHMARKS.md section: per scenario the SQL time on each side and their ratio
against the goal (the cluster within ``GOAL`` times one server; same machine, so
this is overhead, not speed-up); where each build's time goes on the cluster (dbt,
the claim round trip, the coordinator's and each worker's CPU); and what M and L
would take on N workers.

The model (``estimate``) splits a build measured on the cluster into

- what every build pays once, whatever the data: dbt outside its SQL (start-up,
  parsing, introspection), the claim round trip (the coordinator's time inside
  ``ops.cluster_claim``), and the coordinator's CPU of a build with nothing to do
  (planning, bookkeeping: the no-change run's);
- what every worker pays per build whatever the data (the no-change run's CPU per
  worker: connections, caches, empty per-shard tasks, the claim's scans);
- the coordinator's CPU beyond its floor (gathering an incremental build's
  recomputed rows into a temporary table before the swap), which grows with the
  change;
- the workers' CPU beyond their floor (the per-shard tasks), which grows with the
  change and is spread over N workers of c cores, times the imbalance measured
  between the workers.

A build that grows with the data (the full refresh, a change of 1% of the rows)
grows in proportion to the events (k = 1); a fixed-size change and the no-change
run do not grow. CPU is not wall time: waiting on disks, the network and commits
is left out, and coordinator and workers are assumed not to overlap.
"""

from __future__ import annotations

from typing import Any

from opsmart.bench import plans, tables
from opsmart.bench.report import markdown_table
from opsmart.bench.scenarios import FIXED_SIZE
from opsmart.build import MARTS

GOAL = 1.3  # the cluster's time at most this many times one server's
WORKERS = (2, 4, 8, 16)
CORES_PER_WORKER = 2
MODEL_SCALES = ("M", "L")
COORDINATOR, CLAIM, DBT = "coordinator", "claim", "dbt"
FLAT = ("no_change", *FIXED_SIZE)  # builds whose change does not grow with the data
Result = dict[str, Any]


def exact(doc: Result) -> dict[str, bool]:
    """Per side: every mart equal to its baseline after the full refresh and after every change."""

    def ok(result: Result) -> bool:
        full = result["full_refresh"]["marts"]
        return all(full[m]["baseline_counted"] for m in MARTS) and all(
            result["exact_after_incrementals"].values()
        )

    return {"single": ok(doc["single"]), "cluster": ok(doc["cluster"])}


def builds(result: Result) -> dict[str, Result]:
    """Each dbt run the comparison covers: the full refresh (its best round), then each change's."""
    full = result["full_refresh"]
    runs = {
        "full refresh": {
            "wall_s": full["wall_s"],
            "sql_s": full["mart_total_s"],
            "dbt_overhead_s": full["dbt_overhead_s"],
            "spent_s": full.get("spent_s") or {},
        }
    }
    for key, inc in result["incremental"].items():
        runs[key] = {
            "wall_s": inc["wall_s"],
            "sql_s": inc["marts_sql_s"],
            "dbt_overhead_s": inc["dbt_overhead_s"],
            "spent_s": inc.get("spent_s") or {},
        }
    return runs


def _verdict(ratio: float | None) -> str:
    return "–" if ratio is None else ("yes" if ratio <= GOAL else "no")


def comparison_rows(doc: Result) -> tables.Rows:
    """Per mart's full refresh and per build: SQL time on each side, ratio, goal; wall time too."""
    single, cluster = doc["single"], doc["cluster"]
    headers = ["build", "one server SQL", "cluster SQL", "cluster / one", f"≤ {GOAL}×", "one server wall"]
    headers += ["cluster wall", "wall ratio"]
    rows = []
    for mart in MARTS:
        a, b = single["full_refresh"]["marts"][mart]["sql_s"], cluster["full_refresh"]["marts"][mart]["sql_s"]
        r = tables.ratio(b, a)
        rows.append([f"full refresh: {mart}", tables.seconds(a), tables.seconds(b), tables.times(r)])
        rows[-1] += [_verdict(r), "", "", ""]
    one, many = builds(single), builds(cluster)
    for key in one:
        a, b = one[key], many[key]
        r = tables.ratio(b["sql_s"], a["sql_s"])
        rows.append(
            [
                "full refresh: all marts" if key == "full refresh" else f"incremental: {key}",
                tables.seconds(a["sql_s"]),
                tables.seconds(b["sql_s"]),
                tables.times(r),
                _verdict(r),
                tables.seconds(a["wall_s"]),
                tables.seconds(b["wall_s"]),
                tables.times(tables.ratio(b["wall_s"], a["wall_s"])),
            ]
        )
    return headers, rows


def _workers(spent: dict[str, float]) -> list[str]:
    return sorted((n for n in spent if n.startswith("worker-")), key=lambda n: int(n.split("-")[1]))


def where_rows(doc: Result) -> tables.Rows:
    """Per build on the cluster: wall, SQL, dbt outside SQL, the claim, each node's CPU, dbt's CPU."""
    many, one = builds(doc["cluster"]), builds(doc["single"])
    names = _workers(many["full refresh"]["spent_s"])
    headers = ["build", "wall", "SQL", "dbt outside SQL", "claim round trip", "coordinator CPU"]
    headers += [f"{n} CPU" for n in names] + ["dbt CPU", "one server: server CPU"]
    rows = []
    for key, run in many.items():
        spent = run["spent_s"]
        rows.append(
            [
                key,
                tables.seconds(run["wall_s"]),
                tables.seconds(run["sql_s"]),
                tables.seconds(run["dbt_overhead_s"]),
                tables.seconds(spent.get(CLAIM)),
                tables.seconds(spent.get(COORDINATOR)),
                *(tables.seconds(spent.get(n)) for n in names),
                tables.seconds(spent.get(DBT)),
                tables.seconds(one[key]["spent_s"].get("server")),
            ]
        )
    return headers, rows


def parts(doc: Result) -> dict[str, dict[str, Any]]:
    """Per build on the cluster, the model's inputs: seconds that stay, that grow, and the imbalance.

    The no-change run is the floor: its coordinator CPU is fixed per build, its
    workers' CPU fixed per worker (connections, catalog caches, empty per-shard
    tasks, the claim's scans); what a build spends beyond the floor is its change's.
    """
    many = builds(doc["cluster"])
    floor = many["no_change"]["spent_s"]
    out = {}
    for key, run in many.items():
        spent = run["spent_s"]
        names = _workers(spent)
        idle = [min(floor.get(n, 0.0), spent[n]) for n in names]
        busy = [spent[n] - i for n, i in zip(names, idle, strict=True)]
        mean = sum(busy) / len(busy) if busy else 0.0
        coordinator, coordinator_idle = spent.get(COORDINATOR, 0.0), floor.get(COORDINATOR, 0.0)
        out[key] = {
            "fixed": run["dbt_overhead_s"] + spent.get(CLAIM, 0.0) + min(coordinator_idle, coordinator),
            "coordinator": max(coordinator - coordinator_idle, 0.0),
            "worker_floor": sum(idle) / len(idle) if idle else 0.0,
            "workers": sum(busy),
            "imbalance": max(busy) / mean if mean > 0 else 1.0,
            "grows": key not in FLAT,
        }
    return out


def growth(measured_scale: str, scale: str) -> float:
    """Events of ``scale`` over events of the measured one, as planned."""
    return plans.nominal_events(scale) / plans.nominal_events(measured_scale)


def estimate(part: dict[str, Any], g: float, workers: int, cores: int) -> float:
    """Seconds of one build at ``g`` times the data on ``workers`` workers of ``cores`` cores each."""
    g = g if part["grows"] else 1.0
    spread = part["imbalance"] * part["workers"] * g / (workers * cores)
    return part["fixed"] + part["coordinator"] * g + part["worker_floor"] / cores + spread


def one_server(doc: Result, key: str, g: float) -> float:
    """One server's estimate, the same way: dbt outside SQL, the no-change SQL, the rest times g."""
    one = builds(doc["single"])
    run, floor = one[key], one["no_change"]["sql_s"]
    g = g if key not in FLAT else 1.0
    return run["dbt_overhead_s"] + min(floor, run["sql_s"]) + max(run["sql_s"] - floor, 0.0) * g


def duration(value: float) -> str:
    """Seconds, or minutes and hours once they read better."""
    if value >= 2 * 3600:
        return f"{value / 3600:.1f} h"
    if value >= 120:
        return f"{value / 60:.1f} min"
    return tables.seconds(value)


def model_input_rows(doc: Result) -> tables.Rows:
    """Per build: the model's inputs, and the model against the run on this machine."""
    many = builds(doc["cluster"])
    here = len(_workers(many["full refresh"]["spent_s"])) or 2
    headers = ["build", "grows with data", "fixed", "coordinator CPU, grows", "per-worker floor CPU"]
    headers += ["workers CPU, grows", "imbalance", "model here", "measured wall"]
    rows = []
    for key, part in parts(doc).items():
        rows.append(
            [
                key,
                "yes" if part["grows"] else "no",
                tables.seconds(part["fixed"]),
                tables.seconds(part["coordinator"]),
                tables.seconds(part["worker_floor"]),
                tables.seconds(part["workers"]),
                f"{part['imbalance']:.2f}",
                # this machine: its 2 cores serve every node, one per worker while they work
                tables.seconds(estimate(part, 1.0, here, 1)),
                tables.seconds(many[key]["wall_s"]),
            ]
        )
    return headers, rows


def model_rows(doc: Result) -> tables.Rows:
    """Per build: M and L estimated on N workers of ``CORES_PER_WORKER`` cores, and on one server."""
    measured = doc["cluster"]["scale"]
    headers = ["build"]
    for scale in MODEL_SCALES:
        headers += [f"{scale}, {n} workers" for n in WORKERS] + [f"{scale}, one server"]
    rows = []
    for key, part in parts(doc).items():
        row = [key]
        for scale in MODEL_SCALES:
            g = growth(measured, scale)
            row += [duration(estimate(part, g, n, CORES_PER_WORKER)) for n in WORKERS]
            row.append(duration(one_server(doc, key, g)))
        rows.append(row)
    return headers, rows


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def render(doc: Result) -> str:
    """The BENCHMARKS.md section of one side-by-side run."""
    s, c = doc["single"], doc["cluster"]
    ok = exact(doc)
    info = c.get("cluster", {})
    placements = ", ".join(f"{n} {k}" for n, k in sorted(info.get("placements", {}).items()))
    lines = [
        f"`{doc['command']}`, run {doc['started_at']}, commit `{(s['commit'].get('sha') or '?')[:12]}`"
        + (" (with uncommitted changes)" if s["commit"].get("dirty") else "")
        + f", scale {s['scale']} ({s['load']['events']:,} events), seed {doc['seed']};"
        f" {s['machine']['cores']} cores, PostgreSQL {s['machine']['postgres_version']}."
        f" One server: the embedded server (shared_buffers {s['machine']['settings']['shared_buffers']})."
        f" Cluster: Citus {info.get('citus', '?')}, a coordinator and {info.get('workers', '?')} workers"
        f" on the same machine (shared_buffers {c['machine']['settings']['shared_buffers']} each;"
        f" shard placements {placements or '?'}).",
        "",
        f"Load average (1 / 5 / 15 min) {_load(doc['load_average_at_start'])} at the start,"
        f" {_load(doc['load_average_at_end'])} at the end (one server's part from"
        f" {_load(s['machine']['load_average_at_start'])}, the cluster's from"
        f" {_load(c['machine']['load_average_at_start'])}).",
        "",
        "Marts equal to their baselines after the full refresh and after every change:"
        f" one server {'yes' if ok['single'] else '**NO**'}, cluster {'yes' if ok['cluster'] else '**NO**'}.",
        "",
        f"**One server vs the cluster** (SQL: dbt's SQL time of the marts;"
        f" goal: cluster ≤ {GOAL}× one server)",
        "",
        markdown_table(comparison_rows(doc)),
        "",
        "**Where each build's time goes on the cluster** (CPU seconds of each server's processes"
        " and of dbt during the run; the claim is the coordinator's time inside `ops.cluster_claim`)",
        "",
        markdown_table(where_rows(doc)),
        "",
        "**The scaling model's inputs** (from the cluster run: seconds that stay with every build, and"
        ' CPU seconds that grow with the change; the no-change run is the floor; "model here": the'
        " model with the workers measured, one core each, against the measured wall time)",
        "",
        markdown_table(model_input_rows(doc)),
        "",
        f"**What M and L would take on N workers** (estimated: fixed + coordinator × g + per-worker"
        f" floor / c + imbalance × workers × g / (N × c), c = {CORES_PER_WORKER} cores per worker,"
        f" g = the scale's events / {s['scale']}'s for a build that grows with the data, 1 for one"
        " that does not; one server: dbt outside SQL + the no-change SQL + the rest of the SQL × g)",
        "",
        markdown_table(model_rows(doc)),
    ]
    return "\n".join(lines)
