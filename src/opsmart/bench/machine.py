"""The machine and the commit a run measured: other work on the machine skews every figure."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

import psutil
from psycopg import sql

from opsmart import connection, interrupts

SETTINGS = ("shared_buffers", "work_mem", "maintenance_work_mem", "max_parallel_workers_per_gather", "jit")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine(url: str) -> dict[str, Any]:
    """Cores, memory, platform, the server's version and settings, the load average now."""
    with connection.connect(url, autocommit=True) as conn:
        version = conn.execute("select version()").fetchone()[0]
        server_version = conn.execute("show server_version").fetchone()[0]
        settings = {
            name: conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()[0]
            for name in SETTINGS
        }
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": version,
        "postgres_version": server_version,
        "server": "external" if connection.is_external() else "embedded",
        # recorded, not prevented
        "load_average_at_start": load_average(),
        "settings": settings,
    }


def commit() -> dict[str, Any]:
    """The checkout's commit, and whether it had uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            done = interrupts.run(["git", *args], cwd=connection.project_dir(), capture=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"sha": sha, "dirty": bool(status) if status is not None else None}
