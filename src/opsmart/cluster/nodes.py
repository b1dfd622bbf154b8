"""A Citus cluster on this machine: a coordinator and workers, each a ``LocalServer``, under one folder.

``$OPSMART_HOME/cluster/`` holds ``coordinator/`` and ``worker-1/``, ``worker-2/``, ... (data
directories, each with its superuser password and log beside it, as for the embedded
server). Every node listens on 127.0.0.1 on a port chosen when it was made; clients
reach the coordinator there with a password (scram-sha-256), like any opsmart server.

Inter-node authentication. Citus opens its connections to the other nodes as the
current user (a query of login ``alice`` reaches the workers as ``alice``), and it only
has the password *hash* of a role, so password authentication between the nodes would
need every login's clear-text password in ``pg_dist_authinfo`` or a ``.pgpass`` of the
server's OS user. Instead the nodes are registered by the path of a Unix-socket folder
of their own (libpq takes a host that starts with ``/`` as one), and each node trusts
connections on its socket. Those folders are mode 0700 and belong to the OS user the
servers run as, so only that user (the servers themselves) and root can use them:
anyone else, and everything over TCP, still needs a password. The trade-off: a process
running as the servers' OS user may act as any role on any node, which it could
already do by reading the data directories. A production cluster uses scram with
``pg_dist_authinfo`` or certificates (see docs.citusdata.com, "Authentication").

Databases are per node: ``create_database`` makes one on every node, creates the
extension in each and registers the workers in it (Citus' metadata is per database).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from opsmart import connection, postgres
from opsmart.errors import UserError

DATABASE = "opsmart"
COORDINATOR = "coordinator"
WORKER = re.compile(r"^worker-([1-9][0-9]*)$")
MAX_WORKERS = 16
SOCKET_LIMIT = 100  # a Unix socket path must fit 108 bytes, ".s.PGSQL.65535" included

# Several servers share the machine: a quarter of the single server's memory each.
SETTINGS = {
    **postgres.TUNED,
    "shared_buffers": "256MB",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    "shared_preload_libraries": "citus",
    "wal_level": "logical",  # the shard mover copies by logical replication
    "max_prepared_transactions": "200",  # writes that span nodes commit in two phases
    "max_connections": "300",  # Citus opens several connections per worker and query
    "max_worker_processes": "24",
    "unix_socket_permissions": "0700",
}
# For throw-away test clusters only: a crash may lose or corrupt data; a rebalance
# starts its queued moves within a second instead of five; and a distributed table gets 8
# shards, not Citus' default 32. Every distributed DDL statement and query runs one task
# per shard, which on the tests' tiny data is nearly all of its cost: the cluster tests
# took 267 s instead of 505 (test_citus, test_bench_citus, test_cluster in one process).
# 8 still puts 4 of each table on each of 2 workers, and leaves shards to move to a third.
# `opsmart cluster up` keeps the default, and the README recipe's test runs with it.
FOR_TESTS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "citus.background_task_queue_interval": "1s",
    "citus.shard_count": "8",
}


def socket_root(root: Path) -> Path:
    """The folder of the nodes' socket folders: inside ``root`` when the path is short enough."""
    inside = root / "run"
    if len(str(inside)) + len("/worker-16/.s.PGSQL.65535") <= SOCKET_LIMIT:
        return inside
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"opsmart-cluster-{tag}"


@dataclass(frozen=True)
class NodeState:
    name: str
    running: bool
    port: int
    placements: int | None  # shard placements on it in the opsmart database (None: unknown)


@dataclass(frozen=True)
class Status:
    nodes: list[NodeState]
    health: list[tuple[str, str, bool]]  # (from node, to node, connected): citus_check_cluster_node_health


@dataclass(frozen=True)
class Node:
    """One server of the cluster: the coordinator or ``worker-N``."""

    name: str
    server: postgres.LocalServer
    socket_dir: Path

    @property
    def number(self) -> int | None:
        """N of ``worker-N``; None for the coordinator."""
        match = WORKER.match(self.name)
        return int(match.group(1)) if match else None

    @property
    def nodename(self) -> str:
        """The host the other nodes reach this one at (its socket folder), as in ``pg_dist_node``."""
        return str(self.socket_dir)

    @property
    def port(self) -> int:
        return self.server.port()

    def is_running(self) -> bool:
        return self.server.is_running()

    def url(self, database: str = DATABASE) -> str:
        """The superuser's URL of ``database`` on this node (TCP, password)."""
        return self.server.url(database)


class Cluster:
    """The coordinator and workers in ``root`` (made by ``up``)."""

    def __init__(self, root: Path, *, durable: bool = True, bindir: Path | None = None) -> None:
        self.root = root
        self.durable = durable
        self.bindir = bindir or postgres.embedded_bindir()
        self.sockets = socket_root(root)

    # --- the nodes -------------------------------------------------------------

    def node(self, name: str) -> Node:
        socket_dir = self.sockets / name
        settings = {**SETTINGS, **({} if self.durable else FOR_TESTS)}
        settings.update({"unix_socket_directories": str(socket_dir), "citus.local_hostname": str(socket_dir)})
        server = postgres.LocalServer(self.root / name, bindir=self.bindir, settings=settings)
        return Node(name, server, socket_dir)

    @property
    def coordinator(self) -> Node:
        return self.node(COORDINATOR)

    def workers(self) -> list[Node]:
        """The workers made so far, by number."""
        if not self.root.is_dir():
            return []
        found = [self.node(p.name) for p in self.root.iterdir() if WORKER.match(p.name) and p.is_dir()]
        return sorted(found, key=lambda n: n.number or 0)

    def worker(self, number: int) -> Node:
        for node in self.workers():
            if node.number == number:
                return node
        made = ", ".join(str(n.number) for n in self.workers()) or "none"
        raise UserError(f"the cluster in {self.root} has no worker {number} (workers: {made})")

    def nodes(self) -> list[Node]:
        return [self.coordinator, *self.workers()]

    def exists(self) -> bool:
        return self.coordinator.server.exists()

    def url(self, database: str = DATABASE) -> str:
        """The superuser's URL of ``database`` on the coordinator."""
        return self.coordinator.url(database)

    def check_running(self) -> None:
        """A one-line error unless the cluster exists and its coordinator runs."""
        if not self.exists():
            raise UserError(f"no Citus cluster in {self.root}: make one with `opsmart cluster up`")
        if not self.coordinator.is_running():
            raise UserError(f"the cluster's coordinator in {self.root} is not running: `opsmart cluster up`")

    def _prepare_sockets(self, node: Node) -> None:
        """The node's socket folder: present (a reboot may empty /tmp), private to the servers' OS user."""
        node.socket_dir.mkdir(parents=True, exist_ok=True)
        node.socket_dir.chmod(0o700)
        if os.geteuid() == 0:
            shutil.chown(node.socket_dir, user=postgres.SYSTEM_USER)
            self.sockets.chmod(0o755)  # its parents are opened up with the data directories

    def _superuser_password(self) -> str:
        """The cluster's superuser password, made with the coordinator (kept beside it, owner only)."""
        coordinator = self.coordinator.server.password_file
        if coordinator.is_file():
            return coordinator.read_text().strip()
        shared = self.root / "superuser"
        if not shared.is_file():
            shared.write_text(secrets.token_urlsafe(24) + "\n")
            shared.chmod(0o600)
        return shared.read_text().strip()

    def _start(self, node: Node, password: str) -> None:
        if not node.server.exists():
            # One superuser password for every node: Citus copies the coordinator's roles,
            # passwords included, to each worker it registers.
            node.server.init(password=password)
            # the password rule of every opsmart server, and trust on the node's private socket
            hba = postgres.HBA + "# the other nodes of the Citus cluster, through a 0700 socket folder\n"
            (node.server.pgdata / "pg_hba.conf").write_text(hba + "local   all   all   trust\n")
        made_by = node.server.data_version()
        runs = postgres.binary_version(self.bindir)
        if made_by != runs:
            raise UserError(f"{node.server.pgdata} holds PostgreSQL {made_by} data; the server is {runs}")
        self._prepare_sockets(node)
        try:
            node.server.start()
        except UserError as exc:
            tail = node.server.log_tail(5)
            if "citus" in tail and ("could not access file" in tail or "not find" in tail):
                raise UserError(
                    f"Citus is not installed in {self.bindir}: run `opsmart cluster build`"
                ) from None
            raise exc

    def _start_all(self, nodes: list[Node]) -> None:
        if os.geteuid() == 0:  # made once, before the servers start side by side
            postgres.ensure_system_user()
        self.root.mkdir(parents=True, exist_ok=True)
        password = self._superuser_password()  # read here, not by the nodes starting side by side
        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [pool.submit(self._start, node, password) for node in nodes]:
                future.result()

    # --- databases ---------------------------------------------------------------

    def databases(self) -> list[str]:
        """The coordinator's databases with the citus extension."""
        found = []
        with connection.connect(self.url("postgres"), autocommit=True) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "select datname from pg_database where datallowconn and not datistemplate order by 1"
                )
            ]
        for name in names:
            with connection.connect(self.url(name), autocommit=True) as conn:
                if conn.execute("select 1 from pg_extension where extname = 'citus'").fetchone():
                    found.append(name)
        return found

    def create_database(self, name: str = DATABASE) -> str:
        """``name`` on every node with the extension, the workers registered (idempotent); its URL."""
        self.check_running()
        for node in self.nodes():
            _create_database(node, name)
        self.register(name)
        return self.url(name)

    def clone_database(self, template: str, name: str) -> str:
        """``name`` as a copy of Citus database ``template`` on every node at once; its URL.

        Each node copies its own part (the coordinator its metadata, each worker its
        shards), so the copy is a whole distributed database, made in about a second.
        ``template`` is closed to connections first, for good: PostgreSQL copies only a
        database nobody is connected to, and Citus' maintenance daemon and the other
        nodes would otherwise reconnect. Workers added since the template was made are
        not registered in the copy.
        """
        self.check_running()
        nodes = self.nodes()
        for node in nodes:
            with connection.connect(node.url("postgres"), autocommit=True) as conn:
                template_id = sql.Identifier(template)
                conn.execute(sql.SQL("alter database {} with allow_connections false").format(template_id))
                # CREATE DATABASE waits a few seconds for these to go
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", [template]
                )
        for node in nodes:
            with connection.connect(node.url("postgres"), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("create database {} template {}").format(sql.Identifier(name), template_id)
                )
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """``name`` dropped on every running node."""
        for node in self.nodes():
            if node.is_running():
                with connection.connect(node.url("postgres"), autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
                    )

    def register(self, database: str, nodes: list[Node] | None = None) -> None:
        """The coordinator and ``nodes`` (default: every worker) in ``database``'s ``pg_dist_node``.

        A node that moved to another port (it was taken while the node was down) is
        updated, first: every registration is copied to all nodes, at their registered ports.
        """
        coordinator = self.coordinator
        with connection.connect(self.url(database), autocommit=True) as conn:
            registered = {
                name: (nodeid, port, group)
                for nodeid, name, port, group in conn.execute(
                    "select nodeid, nodename, nodeport, groupid from pg_dist_node"
                )
            }
            missing = []
            for node in self.workers() if nodes is None else nodes:
                if node.nodename not in registered:
                    missing.append(node)
                elif registered[node.nodename][1] != node.port:
                    nodeid = registered[node.nodename][0]
                    conn.execute("select citus_update_node(%s, %s, %s)", [nodeid, node.nodename, node.port])
            if registered.get(coordinator.nodename, (0, 0, -1))[1:] != (coordinator.port, 0):
                conn.execute(
                    "select citus_set_coordinator_host(%s, %s)", [coordinator.nodename, coordinator.port]
                )
            for node in missing:
                conn.execute("select citus_add_node(%s, %s)", [node.nodename, node.port])

    def status(self, database: str = DATABASE) -> Status:
        """Each node's state and shard placements, and whether every node reaches every other."""
        self.check_running()
        names = {node.nodename: node.name for node in self.nodes()}
        with connection.connect(self.url(database), autocommit=True) as conn:
            counts = dict(
                conn.execute("select nodename, count(*) from citus_shards group by nodename").fetchall()
            )
            health = [
                (names.get(a, a), names.get(b, b), bool(ok))
                for a, b, ok in conn.execute(
                    "select from_nodename, to_nodename, result from citus_check_cluster_node_health()"
                    " order by from_nodename, to_nodename"
                )
            ]
        states = [
            NodeState(node.name, node.is_running(), node.port, counts.get(node.nodename, 0))
            for node in self.nodes()
        ]
        return Status(states, health)

    # --- lifecycle ---------------------------------------------------------------

    def up(self, workers: int = 2) -> str:
        """Start every node, make the missing workers up to ``workers``, register them; the URL."""
        if not 1 <= workers <= MAX_WORKERS:
            raise UserError(f"a cluster has 1 to {MAX_WORKERS} workers, not {workers}")
        have = self.workers()
        numbers = [n.number or 0 for n in have]
        new = [self.node(f"worker-{i}") for i in range(1, MAX_WORKERS + 1) if i not in numbers]
        self._start_all([self.coordinator, *have, *new[: max(0, workers - len(have))]])
        for database in [DATABASE, *(d for d in self.databases() if d != DATABASE)]:
            self.create_database(database)
        return self.url()

    def down(self) -> list[str]:
        """Stop every node; the names of those that were running."""
        running = [node for node in self.nodes() if node.is_running()]
        for node in reversed(running):  # workers first: the coordinator's daemons reach them
            node.server.stop()
        return [node.name for node in running]

    def add_worker(self) -> Node:
        """One more worker, started and registered in every Citus database; its shards come by rebalancing."""
        self.check_running()
        numbers = [n.number or 0 for n in self.workers()]
        free = [i for i in range(1, MAX_WORKERS + 1) if i not in numbers]
        if not free:
            raise UserError(f"the cluster already has {MAX_WORKERS} workers")
        node = self.node(f"worker-{free[0]}")
        self._start_all([node])
        for database in self.databases():
            _create_database(node, database)
            self.register(database, [node])
        return node

    def remove_worker(self, number: int) -> None:
        """Move the worker's shards to the others, unregister it everywhere, stop it and delete its data."""
        self.check_running()
        node = self.worker(number)
        self._start_all([node])
        for database in self.databases():
            with connection.connect(self.url(database), autocommit=True) as conn:
                if conn.execute("select 1 from pg_dist_node where nodename = %s", [node.nodename]).fetchone():
                    conn.execute(
                        "select citus_drain_node(%s, %s, shard_transfer_mode => 'block_writes')",
                        [node.nodename, node.port],
                    )
                    # the moved shards' leftovers go now, while the node is known: a record of
                    # them kept after it is removed would stop every later move of those shards
                    conn.execute("call citus_cleanup_orphaned_resources()")
                    conn.execute("select citus_remove_node(%s, %s)", [node.nodename, node.port])
        node.server.remove()
        shutil.rmtree(node.socket_dir, ignore_errors=True)

    def stop_worker(self, number: int) -> bool:
        """Stop one worker (fast shutdown); False when it was not running."""
        if not self.exists():
            raise UserError(f"no Citus cluster in {self.root}: make one with `opsmart cluster up`")
        return self.worker(number).server.stop()

    def start_worker(self, number: int) -> Node:
        """Start one worker again, and update its registration if its port changed."""
        self.check_running()
        node = self.worker(number)
        self._start_all([node])
        for database in self.databases():
            self.register(database, [node])
        return node

    @contextlib.contextmanager
    def worker_stopped(self, number: int) -> Iterator[Node]:
        """Worker ``number`` stopped inside the block, started again after it."""
        self.stop_worker(number)
        try:
            yield self.worker(number)
        finally:
            self.start_worker(number)

    def remove(self) -> None:
        """Stop every node and delete the cluster's folder."""
        for node in self.nodes():
            node.server.remove()
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.sockets, ignore_errors=True)


def _create_database(node: Node, name: str) -> None:
    with connection.connect(node.url("postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with connection.connect(node.url(name), autocommit=True) as conn:
        conn.execute("create extension if not exists citus")
