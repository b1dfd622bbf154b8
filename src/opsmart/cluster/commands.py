"""``opsmart cluster ...``: a Citus cluster on this machine, its arguments and what each action prints.

The URL ``up`` prints (the only thing on stdout) is the coordinator's opsmart database
as its superuser: ``export OPSMART_DATABASE_URL=$(opsmart cluster up)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opsmart import arguments, connection
from opsmart.cluster import build, nodes
from opsmart.errors import UserError

FOLDER = "cluster"


def home_cluster() -> nodes.Cluster:
    """The cluster under ``$OPSMART_HOME/cluster``."""
    return nodes.Cluster(connection.ensure_home() / FOLDER)


def _repo() -> Path | None:
    try:
        return connection.project_dir()
    except UserError:
        return None


def ensure_citus(cluster: nodes.Cluster, *, rebuild: bool = False) -> str:
    return build.ensure(cluster.bindir, _repo(), rebuild=rebuild)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``cluster`` command and its actions, on the CLI's subcommands."""
    cl = sub.add_parser("cluster", help="a Citus cluster on this machine: a coordinator and workers")
    actions = cl.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="build or find Citus, start the nodes, register them; print the URL")
    up.add_argument(
        "--workers",
        type=arguments.whole(1, nodes.MAX_WORKERS),
        default=2,
        help=f"workers a new cluster gets (default 2, at most {nodes.MAX_WORKERS}); existing ones are kept",
    )
    down = actions.add_parser("down", help="stop every node")
    down.add_argument("--remove", action="store_true", help="and delete the cluster's data")
    actions.add_parser("status", help="the nodes, their shards, and whether each reaches the others")
    url = actions.add_parser("url", help="print the coordinator's URL (its superuser's, or a login's)")
    url.add_argument("--user", metavar="LOGIN", help="the URL of this login instead of the superuser's")
    url.add_argument("--password", metavar="SECRET", help="with --user: its password, put in the URL")
    actions.add_parser("add-worker", help="start one more worker and register it (rebalance to use it)")
    for name, does in (
        ("stop-worker", "stop worker N"),
        ("start-worker", "start worker N again"),
        ("remove-worker", "move worker N's shards to the others, unregister and delete it"),
    ):
        p = actions.add_parser(name, help=does)
        p.add_argument("number", metavar="N", type=arguments.whole(1, nodes.MAX_WORKERS))
    bd = actions.add_parser("build", help="build Citus for the embedded server (once; cached) and install it")
    bd.add_argument("--rebuild", action="store_true", help="build again even if the cache has it")
    cl.set_defaults(func=run)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    cluster = home_cluster()
    action = args.action
    if action == "build":
        print(ensure_citus(cluster, rebuild=args.rebuild))
    elif action == "up":
        _say(ensure_citus(cluster))
        url = cluster.up(args.workers)
        _say(f"coordinator and {len(cluster.workers())} workers running in {cluster.root}")
        print(url)
    elif action == "down":
        stopped = cluster.down()
        if args.remove:
            cluster.remove()
        print(("stopped " + ", ".join(stopped)) if stopped else "not running")
        if args.remove:
            print(f"removed {cluster.root}")
    elif action == "url":
        if args.password and not args.user:
            raise UserError("--password goes with --user (the superuser's URL has its own)")
        cluster.check_running()
        if args.user:
            print(cluster.coordinator.server.url(nodes.DATABASE, args.user, args.password or ""))
        else:
            print(cluster.url())
    elif action == "status":
        return status(cluster)
    elif action == "add-worker":
        node = cluster.add_worker()
        print(f"{node.name} running on 127.0.0.1:{node.port}, registered; rebalance to move shards there")
    elif action == "stop-worker":
        name = f"worker-{args.number}"
        print(f"stopped {name}" if cluster.stop_worker(args.number) else f"{name} was not running")
    elif action == "start-worker":
        node = cluster.start_worker(args.number)
        print(f"{node.name} running on 127.0.0.1:{node.port}")
    elif action == "remove-worker":
        cluster.remove_worker(args.number)
        print(f"removed worker-{args.number}")
    return 0


def status(cluster: nodes.Cluster) -> int:
    """One line per node, then the node-to-node health; 0 when every node runs and reaches every other."""
    cluster.check_running()
    report = cluster.status()
    for node in report.nodes:
        state = "running" if node.running else "stopped"
        shards = f"  {node.placements} shard placements" if node.placements is not None else ""
        print(f"{node.name:<12} {state:<8} 127.0.0.1:{node.port}{shards}")
    failed = [f"{a} -> {b}" for a, b, ok in report.health if not ok]
    checked = len(report.health)
    if failed:
        print(f"health: {len(failed)} of {checked} node-to-node connections fail: {', '.join(failed)}")
    else:
        print(f"health: all {checked} node-to-node connections work")
    healthy = not failed and all(node.running for node in report.nodes)
    return 0 if healthy else 1
