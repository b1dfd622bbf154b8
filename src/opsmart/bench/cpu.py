"""CPU seconds each server of the bench spends on a dbt run, and dbt's own.

A PostgreSQL server is a process tree: the postmaster and its children (one
backend per connection, background workers). The postmaster reaps every child
that exits, so the kernel adds an exited child's CPU time to the postmaster's
``children_*`` times; a live child's is its own. A server's CPU seconds at a
moment are therefore the postmaster's own and children's times plus those of its
live children, and the difference between two such readings is what the server
spent between them, whatever connections came and went (Citus opens several per
worker and query). dbt runs as a child of the bench, so its CPU time is the
bench's reaped children's (``RUSAGE_CHILDREN``) difference.

Only servers on this machine can be read: ``Probe`` is empty for a server of
``OPSMART_DATABASE_URL`` elsewhere.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Mapping
from contextlib import suppress

import psutil

DBT = "dbt"


def tree_seconds(pid: int) -> float:
    """CPU seconds of process ``pid``, its reaped children and its live children (with theirs)."""
    root = psutil.Process(pid)
    total = _seconds(root.cpu_times(), reaped=True)
    for child in root.children(recursive=False):
        with suppress(psutil.Error):  # exited meanwhile: the postmaster's children times have it
            total += _seconds(child.cpu_times(), reaped=True)
    return total


def _seconds(times: psutil._common.pcputimes, *, reaped: bool) -> float:
    own = times.user + times.system
    return own + (times.children_user + times.children_system if reaped else 0.0)


def reaped_children_seconds() -> float:
    """CPU seconds of this process's children that have exited and been waited for (dbt's runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Probe:
    """Reads the CPU seconds of named servers (by a function giving each one's postmaster pid) and of dbt.

    ``counters``: more running totals in seconds, read first (a counter that waits
    for dbt's sessions to end, so that their statistics are flushed, goes there).
    """

    def __init__(
        self,
        servers: Mapping[str, Callable[[], int | None]],
        counters: Mapping[str, Callable[[], float]] | None = None,
    ) -> None:
        self.servers = dict(servers)
        self.counters = dict(counters or {})

    def read(self) -> dict[str, float]:
        now = {name: counter() for name, counter in self.counters.items()}
        now[DBT] = reaped_children_seconds()
        for name, pid_of in self.servers.items():
            pid = pid_of()
            if pid is None:
                continue
            with suppress(psutil.Error):
                now[name] = tree_seconds(pid)
        return now


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """Per name read both times: the seconds spent in between (never negative)."""
    return {name: max(after[name] - before[name], 0.0) for name in after if name in before}
