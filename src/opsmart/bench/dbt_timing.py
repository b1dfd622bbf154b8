"""dbt runs timed from dbt's own JSON log.

dbt's SQL time is the sum of the ``SQLQueryStatus`` events (one per statement, with
its elapsed time and node) of its JSON debug log; wall time is our own clock, and
the difference is dbt's own overhead (start-up, parsing, introspection). With a
``cpu.Probe``, each run also records the CPU seconds every server and dbt spent on
it, and its counters (``spent_s``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsmart import build
from opsmart.bench.cpu import Probe, spent
from opsmart.bench.memory import MemorySampler
from opsmart.errors import UserError


@dataclass
class DbtRun:
    """One dbt invocation: wall time, SQL time in total and per mart, statements by kind."""

    command: str
    wall_s: float
    sql_s: float
    marts: dict[str, dict[str, Any]]
    spent_s: dict[str, float] | None = None  # with a probe: CPU s per server and dbt, its counters

    def as_dict(self) -> dict[str, Any]:
        done = {
            "command": self.command,
            "wall_s": self.wall_s,
            "sql_s": self.sql_s,
            "dbt_overhead_s": max(self.wall_s - self.sql_s, 0.0),
            "marts": self.marts,
        }
        if self.spent_s is not None:
            done["spent_s"] = self.spent_s
        return done


def statement_kind(status: str) -> str:
    """``INSERT 0 12`` -> ``INSERT``; ``CREATE INDEX`` stays two words."""
    words = status.split()
    if not words:
        return "?"
    if words[0] in ("CREATE", "DROP", "ALTER") and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


def parse_dbt_log(path: Path, marts: Iterable[str] = build.MARTS) -> tuple[float, dict[str, dict[str, Any]]]:
    """Total SQL seconds and, per mart, SQL seconds and seconds by statement kind."""
    wanted = set(marts)
    total = 0.0
    found: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("info", {}).get("name") != "SQLQueryStatus":
            continue
        data = event.get("data", {})
        elapsed = float(data.get("elapsed") or 0.0)
        total += elapsed
        node = (data.get("node_info") or {}).get("unique_id", "")
        name = node.rsplit(".", 1)[-1]
        if node.startswith("model.") and name in wanted:
            entry = found.setdefault(name, {"sql_s": 0.0, "statements": {}})
            entry["sql_s"] += elapsed
            kind = statement_kind(str(data.get("status", "")))
            entry["statements"][kind] = entry["statements"].get(kind, 0.0) + elapsed
    return total, found


class DbtTimer:
    """Runs dbt as the build login, one model at a time, in a private target folder; times each run."""

    def __init__(
        self, url: str, build_url: str, schema: str, target: Path, probe: Probe | None = None
    ) -> None:
        self.url = url
        self.probe = probe
        self.build_url = build_url
        self.schema = schema
        self.target = target
        self.peak_memory: dict[str, Any] = {}

    def run(self, *args: str, sample_memory: bool = False) -> DbtRun:
        """One dbt command, timed; raises when dbt fails. ``sample_memory`` adds to ``peak_memory``."""
        log = self.target / "logs" / "dbt.log"
        log.unlink(missing_ok=True)
        command = [*args, "--threads", "1"]
        full = ["--log-format-file", "json", "--log-level-file", "debug", *command]
        before = self.probe.read() if self.probe else None
        started = time.perf_counter()
        if sample_memory:
            with MemorySampler(self.url) as sampler:
                result = self._dbt(full)
            for key, value in sampler.peak.items():
                self.peak_memory[key] = max(self.peak_memory.get(key, 0.0), value)
            self.peak_memory["postgres_local"] = sampler.postgres_local
        else:
            result = self._dbt(full)
        wall = time.perf_counter() - started
        cpu = spent(before, self.probe.read()) if self.probe and before is not None else None
        if result.returncode != 0:
            tail = "\n".join((result.stdout or "").splitlines()[-15:])
            raise UserError(f"dbt {' '.join(command)} failed (exit {result.returncode}):\n{tail}")
        total, marts = parse_dbt_log(log)
        return DbtRun(" ".join(command), wall, total, marts, cpu)

    def _dbt(self, args: list[str]) -> Any:
        return build.dbt(args, self.build_url, schema=self.schema, capture=True, target_path=self.target)
