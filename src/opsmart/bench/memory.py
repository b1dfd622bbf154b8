"""Peak resident memory of dbt's process tree and of the bench database's backends."""

from __future__ import annotations

import threading
from contextlib import suppress

import psutil

from opsmart import connection

_BACKENDS = "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
_MB = 1024 * 1024
# The server's shared memory in bytes (shared buffers and the rest of the segment, PostgreSQL 15+).
_SHARED = "select pg_size_bytes(current_setting('shared_memory_size', true))"


class MemorySampler:
    """Samples every ``interval`` seconds while in its ``with`` block; ``peak`` holds the highest MB seen.

    Backend RSS includes the shared buffers a backend touched, so a sum of RSS
    counts a shared page once per process that read it (a parallel query's workers
    read the same buffers). ``total_mb`` counts each byte once: dbt's processes, every
    backend's private memory (``postgres_private_mb``, RSS less its shared pages)
    and the server's shared memory (``shared_mb``: ``shared_memory_size``, all of
    it, touched or not). ``postgres_rss_mb`` keeps the plain sum. A server on
    another machine cannot be sampled: ``postgres_local`` says so.
    """

    def __init__(self, url: str, interval: float = 0.1) -> None:
        self.url = url
        self.interval = interval
        self.peak = {
            "dbt_mb": 0.0,
            "postgres_rss_mb": 0.0,
            "postgres_private_mb": 0.0,
            "shared_mb": 0.0,
            "total_mb": 0.0,
        }
        self.postgres_local = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = psutil.Process()
        with connection.connect(self.url, autocommit=True, application_name="opsmart-bench-sampler") as conn:
            found = conn.execute(_SHARED).fetchone()
            shared = (found[0] or 0) if found else 0
            while not self._stop.is_set():
                dbt_rss = 0
                for child in me.children(recursive=True):
                    with suppress(psutil.Error):
                        dbt_rss += child.memory_info().rss
                pg_rss = pg_private = 0
                for (pid,) in conn.execute(_BACKENDS).fetchall():
                    try:
                        info = psutil.Process(pid).memory_info()
                    except psutil.Error:
                        self.postgres_local = False
                        continue
                    pg_rss += info.rss
                    pg_private += info.rss - getattr(info, "shared", 0)
                for key, value in (
                    ("dbt_mb", dbt_rss / _MB),
                    ("postgres_rss_mb", pg_rss / _MB),
                    ("postgres_private_mb", pg_private / _MB),
                    ("shared_mb", shared / _MB),
                    ("total_mb", (dbt_rss + pg_private + shared) / _MB),
                ):
                    self.peak[key] = max(self.peak[key], value)
                self._stop.wait(self.interval)
