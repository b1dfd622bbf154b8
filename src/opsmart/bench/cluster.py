"""The bench on a Citus cluster: its fresh database, and single server vs cluster in one run.

Everything the bench needs to know about a cluster lives here: the fresh database is
created on every node with the extension and the workers registered (``Cluster``),
then bootstrapped on the coordinator, which distributes the ops tables; dbt then
builds against the coordinator as it would against one server. ``side_by_side``
runs the same scale and seed on the embedded single server and on the cluster, on
the same machine, and compares each scenario's SQL time (cluster / single).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from opsmart import bootstrap, connection, files
from opsmart.bench import folder, machine, runner

SINGLE_DATABASE = "opsmart_bench"
CLUSTER_DATABASE = "opsmart_bench_citus"


def home_cluster() -> Any:
    """The running cluster of ``opsmart cluster up`` (``$OPSMART_HOME/cluster``)."""
    from opsmart.cluster import commands

    cluster = commands.home_cluster()
    cluster.check_running()
    return cluster


def fresh_database(cluster: Any, name: str) -> str:
    """``name`` dropped and created on every node, workers registered, bootstrapped; its URL."""
    cluster.drop_database(name)
    url = cluster.create_database(name)
    bootstrap.apply(url, quiet=True)
    return url


def describe(cluster: Any, url: str) -> dict[str, Any]:
    """Workers, Citus version and how the marts are placed."""
    with connection.connect(url, autocommit=True) as conn:
        version = conn.execute("select extversion from pg_extension where extname = 'citus'").fetchone()[0]
        workers = conn.execute(
            "select count(*) from pg_dist_node where noderole = 'primary' and groupid <> 0"
        ).fetchone()[0]
        marts = dict(
            conn.execute(
                "select logicalrelid::regclass::text, partmethod from pg_dist_partition"
                " where logicalrelid::regclass::text like %s",
                [f"{runner.MART_SCHEMA}.%"],
            ).fetchall()
        )
    return {"citus": version, "workers": workers, "marts": marts}


def _figures(result: dict[str, Any]) -> dict[str, float]:
    """Scenario -> SQL seconds: the full refresh per mart and in all, then each incremental run."""
    full = result["full_refresh"]
    figures = {f"full refresh: {m}": full["marts"][m]["sql_s"] for m in runner.MARTS}
    figures["full refresh: all marts"] = full["mart_total_s"]
    for inc in result["incremental"].values():
        figures[f"incremental: {inc['title']}"] = inc["marts_sql_s"]
    return figures


def _exact(result: dict[str, Any]) -> bool:
    full = result["full_refresh"]["marts"]
    return all(full[m]["baseline_counted"] for m in runner.MARTS) and all(
        result["exact_after_incrementals"].values()
    )


def compare(single: dict[str, Any], clustered: dict[str, Any]) -> dict[str, Any]:
    """Per scenario: single and cluster SQL seconds and their ratio."""
    one, many = _figures(single), _figures(clustered)
    rows = [
        {
            "scenario": k,
            "single_s": one[k],
            "cluster_s": many[k],
            "ratio": many[k] / one[k] if one[k] else None,
        }
        for k in one
    ]
    return {"rows": rows, "exact": {"single": _exact(single), "cluster": _exact(clustered)}}


def markdown(doc: dict[str, Any]) -> str:
    """The BENCHMARKS.md table of a side-by-side document."""
    s, c = doc["single"], doc["cluster"]
    lines = [
        f"`{doc['command']}` at {doc['started_at']}, commit {s['commit']}, scale {s['scale']}"
        f" ({s['load']['events']:,} events), seed {doc['seed']}; {s['machine']['cores']} cores;"
        f" load average {doc['load_average_at_start']} at start, {doc['load_average_at_end']} at end.",
        f"Cluster: Citus {c['cluster']['citus']}, coordinator + {c['cluster']['workers']} workers"
        " on the same machine.",
        f"Marts equal to the baselines (full refresh and after every change): single"
        f" {'yes' if doc['comparison']['exact']['single'] else 'NO'},"
        f" cluster {'yes' if doc['comparison']['exact']['cluster'] else 'NO'}.",
        "",
        "| scenario | single (s) | cluster (s) | cluster / single | ≤ 1.3× |",
        "|---|---:|---:|---:|:-:|",
    ]
    for row in doc["comparison"]["rows"]:
        ratio = row["ratio"]
        lines.append(
            f"| {row['scenario']} | {row['single_s']:.3f} | {row['cluster_s']:.3f} |"
            f" {'' if ratio is None else f'{ratio:.2f}×'} |"
            f" {'' if ratio is None else ('yes' if ratio <= 1.3 else 'no')} |"
        )
    return "\n".join(lines) + "\n"


def side_by_side(scale: str, out: str | Path | None = None, *, seed: int = 42, progress: bool = True) -> int:
    """``opsmart bench --side-by-side``: the same scale and seed on one server, then on the cluster."""
    cluster = home_cluster()
    path = files.check_output(
        out or folder() / "results" / f"{scale}-single-vs-citus.json", "results", make_folders=True
    )
    started = machine.load_average()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    single = runner.measure(scale, database=SINGLE_DATABASE, seed=seed, progress=progress, extras=False)
    clustered = runner.measure(
        scale, database=CLUSTER_DATABASE, seed=seed, progress=progress, extras=False, cluster=cluster
    )
    doc = {
        "command": f"opsmart bench --scale {scale} --side-by-side",
        "started_at": started_at,
        "seed": seed,
        "load_average_at_start": started,
        "load_average_at_end": machine.load_average(),
        "single": single,
        "cluster": clustered,
        "comparison": compare(single, clustered),
    }
    with files.written_whole(path) as partial:
        partial.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(markdown(doc))
    print(f"results: {path}")
    return 0 if all(doc["comparison"]["exact"].values()) else 1
