"""The bench on a Citus cluster: its fresh database, and single server vs cluster in one run.

Everything the bench needs to know about a cluster lives here: the fresh database is
created on every node with the extension and the workers registered (``Cluster``),
then bootstrapped on the coordinator, which distributes the ops tables; dbt then
builds against the coordinator as it would against one server. Each dbt run records
the CPU seconds of every node and of dbt, and the coordinator's time inside
``ops.cluster_claim`` (the round trip that asks every worker for its changes,
through ``run_command_on_workers``): what stays on the coordinator and what runs on
the workers (``cpu``). ``side_by_side`` runs the same scale and seed on the
embedded single server and on the cluster, on the same machine;
``cluster_report`` compares them and models more workers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg import sql

from opsmart import bootstrap, connection, files, localdb, logins
from opsmart.bench import cluster_report, folder, machine, runner
from opsmart.bench.cpu import Probe

SINGLE_DATABASE = "opsmart_bench"
CLUSTER_DATABASE = "opsmart_bench_citus"
CLAIM = "claim"  # the probe's counter: seconds the coordinator spent in ops.cluster_claim
_CLAIM_TIME = (
    "select coalesce(sum(total_time), 0) / 1000 from pg_stat_user_functions"
    " where schemaname = 'ops' and funcname = 'cluster_claim'"
)


def home_cluster() -> Any:
    """The running cluster of ``opsmart cluster up`` (``$OPSMART_HOME/cluster``)."""
    from opsmart.cluster import commands

    cluster = commands.home_cluster()
    cluster.check_running()
    return cluster


def fresh_database(cluster: Any, name: str) -> str:
    """``name`` dropped and created on every node, workers registered, bootstrapped; its URL.

    Its sessions time PL/pgSQL functions (``track_functions``), so that the probe can
    read how long the builds spent asking the workers for their changes.
    """
    cluster.drop_database(name)
    url = cluster.create_database(name)
    with connection.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} set track_functions = 'pl'").format(sql.Identifier(name)))
    bootstrap.apply(url, quiet=True)
    return url


def build_login(cluster: Any, url: str) -> str:
    """The URL of the cluster's own build login (a member of opsmart_transformer) on ``url``'s database.

    Its password file is the cluster's: the embedded single server's build login
    has the same name and a password of its own.
    """
    return logins.ensure_login(url, logins.BUILDER, logins.TRANSFORMER, cluster.root / "builder.password")


def _claim_seconds(url: str) -> Callable[[], float]:
    def read() -> float:
        with connection.connect(url, autocommit=True, application_name="opsmart-bench-probe") as conn:
            runner.wait_for_stats(conn)  # dbt's sessions gone: their function statistics flushed
            return float(conn.execute(_CLAIM_TIME).fetchone()[0])

    return read


def probe(cluster: Any, url: str) -> Probe:
    """CPU seconds of every node and of dbt, and the claim's seconds on the coordinator, per dbt run."""
    return Probe(
        {node.name: node.server.pid for node in cluster.nodes()},
        {CLAIM: _claim_seconds(url)},
    )


def single_probe() -> Probe:
    """CPU seconds of the embedded server (none for a server elsewhere) and of dbt, per dbt run."""
    return Probe({} if connection.is_external() else {"server": localdb.server().pid})


def describe(cluster: Any, url: str) -> dict[str, Any]:
    """Workers, Citus version, shard placements per worker and how the marts are placed."""
    with connection.connect(url, autocommit=True) as conn:
        version = conn.execute("select extversion from pg_extension where extname = 'citus'").fetchone()[0]
        placements = dict(
            conn.execute(
                "select n.nodeport, count(*) from pg_dist_placement as p"
                " inner join pg_dist_node as n on p.groupid = n.groupid"
                " where n.groupid <> 0 group by n.nodeport"
            ).fetchall()
        )
        marts = dict(
            conn.execute(
                "select logicalrelid::regclass::text, partmethod from pg_dist_partition"
                " where logicalrelid::regclass::text like %s",
                [f"{runner.MART_SCHEMA}.%"],
            ).fetchall()
        )
    ports = {node.port: node.name for node in cluster.workers()}
    return {
        "citus": version,
        "workers": len(placements),
        "placements": {ports.get(port, str(port)): n for port, n in placements.items()},
        "marts": marts,
    }


def side_by_side(
    scale: str,
    out: str | Path | None = None,
    *,
    seed: int = 42,
    progress: bool = True,
    markdown: bool = False,
) -> int:
    """``opsmart bench --side-by-side``: the same scale and seed on one server, then on the cluster.

    ``markdown``: also rewrite BENCHMARKS.md from the results folder the JSON went to.
    """
    cluster = home_cluster()
    path = files.check_output(
        out or folder() / "results" / f"{scale}-single-vs-citus.json", "results", make_folders=True
    )
    started = machine.load_average()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    single = runner.measure(
        scale, database=SINGLE_DATABASE, seed=seed, progress=progress, extras=False, probe=single_probe()
    )
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
    }
    with files.written_whole(path) as partial:
        partial.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(cluster_report.render(doc))
    print(f"results: {path}")
    if markdown:
        from opsmart.bench import report

        report.rewrite(path.parent)
    return 0 if all(cluster_report.exact(doc).values()) else 1
