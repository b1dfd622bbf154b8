"""The Citus cluster the ``citus_cluster`` fixture yields: a coordinator and two workers for the session.

Tests isolate themselves by database (``create_database``), as on the single server;
a test that stops, adds or removes a worker puts the cluster back as it found it
(``worker_stopped``, ``extra_worker``), because the cluster is shared by the session.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from psycopg.conninfo import make_conninfo

from opsmart.cluster import nodes

Node = nodes.Node

# how PostgreSQL logs a server process that died, and the restart after it
CRASH_MARKS = (
    "terminated by signal",
    "was terminated by exception",
    "PANIC:",
    "terminating any other active",
)


@dataclass
class CitusCluster:
    cluster: nodes.Cluster

    @property
    def url(self) -> str:
        """The superuser's URL of the coordinator's ``opsmart`` database."""
        return self.cluster.url()

    @property
    def coordinator(self) -> Node:
        return self.cluster.coordinator

    @property
    def workers(self) -> list[Node]:
        """The workers, by number (``workers[0].number == 1``); each has ``.url(database)``, ``.port``."""
        return self.cluster.workers()

    def database_url(self, name: str, user: str | None = None, password: str | None = None) -> str:
        """URL of database ``name`` on the coordinator: as the superuser, or as ``user``/``password``."""
        url = self.cluster.url(name)
        return url if user is None else make_conninfo(url, user=user, password=password or "")

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new database on every node (dropped first if it exists), citus in each, the workers registered.

        Returns its superuser URL on the coordinator; ``name`` defaults to a fresh ``c_<hex>``.
        With ``template`` (a database made by ``create_database`` and filled, e.g. bootstrapped)
        it is a copy of that one, distributed tables and data included, in about a second;
        the template is closed to connections from then on (see ``Cluster.clone_database``).
        """
        name = name or f"c_{uuid.uuid4().hex[:12]}"
        self.cluster.drop_database(name)
        if template is not None:
            return self.cluster.clone_database(template, name)
        return self.cluster.create_database(name)

    def drop_database(self, name: str) -> None:
        self.cluster.drop_database(name)

    def crash_lines(self) -> list[str]:
        """What the nodes' logs say of a server process that died (a crash ends all of a node's sessions)."""
        lines = []
        for node in self.cluster.nodes():
            try:
                log = node.server.log_file.read_text(errors="replace").splitlines()
            except OSError:
                continue
            marked = [number for number, line in enumerate(log) if any(mark in line for mark in CRASH_MARKS)]
            # with the line after: the query a crashed backend was running
            shown = sorted({n for number in marked for n in (number, number + 1) if n < len(log)})
            lines += [f"{node.name}: {log[n]}" for n in shown]
        return lines

    def stop_worker(self, number: int) -> bool:
        """Stop worker ``number`` (1-based, as in ``worker-1``)."""
        return self.cluster.stop_worker(number)

    def start_worker(self, number: int) -> Node:
        return self.cluster.start_worker(number)

    def worker_stopped(self, number: int) -> contextlib.AbstractContextManager[Node]:
        """``with c.worker_stopped(2):`` worker 2 is down inside the block and up again after it."""
        return self.cluster.worker_stopped(number)

    def add_worker(self) -> Node:
        """One more worker, registered in every database of the cluster; remove it with ``remove_worker``."""
        return self.cluster.add_worker()

    def remove_worker(self, number: int) -> None:
        """Drain (move its shards to the others), unregister, stop and delete worker ``number``."""
        self.cluster.remove_worker(number)

    @contextlib.contextmanager
    def extra_worker(self) -> Iterator[Node]:
        """A worker added for the block and removed after it (its shards moved back first)."""
        node = self.add_worker()
        try:
            yield node
        finally:
            assert node.number is not None
            self.remove_worker(node.number)
