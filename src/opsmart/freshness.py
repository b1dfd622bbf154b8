"""``opsmart freshness``: how long an event takes to reach mart.feature_daily under the build loop.

It starts ``opsmart build --every INTERVAL`` as a child (its log goes to
``$OPSMART_HOME/freshness-build.log``), waits for the loop's first build, then
for ``--minutes`` writes one probe event at random moments (``PROBE_GAP`` s
apart on average) and looks at mart.feature_daily twice a second. A probe is
visible once its (organization, day, feature) row counts it: every build reads
everything committed before its snapshot, so the k-th probe of a day is in
when the row holds the day's events before the first probe plus k. Then it
waits for the last probes, stops the loop and reports p50, p95 and max.

The probes are real events (feature ``dashboard.view`` of the first
organization), so run it on a demo or test database; another writer of that
same row while it runs would make probes look visible early.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from opsmart import connection, interrupts, schedule
from opsmart.errors import UserError

FEATURE = "dashboard.view"
PROBE_GAP = 10.0  # seconds between probes, on average
POLL = 0.5
MAX_MINUTES = 24 * 60


@dataclass
class Result:
    """What one measurement found: each probe's seconds from its commit to visible."""

    interval_s: float
    minutes: float
    latencies_s: list[float] = field(default_factory=list)
    unseen: int = 0
    build_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | None]:
        lat = sorted(self.latencies_s)
        cuts = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else lat * 99
        return {
            "interval_s": self.interval_s,
            "minutes": self.minutes,
            "probes": len(lat) + self.unseen,
            "unseen": self.unseen,
            "p50_s": round(statistics.median(lat), 1) if lat else None,
            "p95_s": round(cuts[94], 1) if lat else None,
            "max_s": round(lat[-1], 1) if lat else None,
            "builds": len(self.build_s),
            "build_mean_s": round(statistics.fmean(self.build_s), 1) if self.build_s else None,
        }


class _Probe:
    """Writes probe events and tells which of them feature_daily shows."""

    def __init__(self, url: str) -> None:
        self.conn = connection.connect(url, autocommit=True)
        row = self.conn.execute("select id from ops.organization order by id limit 1").fetchone()
        if row is None:
            raise UserError("the platform has no organization yet: load data first (`opsmart demo`)")
        self.org = row[0]
        self.schema = connection.mart_schema()
        self.base: dict[object, int] = {}  # day -> the day's events before its first probe
        self.probes: dict[object, int] = {}  # day -> probes written on it
        self.written: list[
            tuple[object, int, float]
        ] = []  # not yet seen: (day, k-th probe of it, written at)

    def write(self) -> None:
        day = self.conn.execute("select (now() at time zone 'UTC')::date").fetchone()[0]
        if day not in self.base:
            self.base[day] = self.conn.execute(
                "select count(*) from ops.event where organization_id = %s and feature_key = %s"
                " and occurred_at >= %s::timestamp at time zone 'UTC'"
                " and occurred_at < (%s + 1)::timestamp at time zone 'UTC'",
                [self.org, FEATURE, day, day],
            ).fetchone()[0]
        self.conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'web', %s, now())",
            [self.org, FEATURE],
        )
        self.probes[day] = self.probes.get(day, 0) + 1
        self.written.append((day, self.probes[day], time.monotonic()))

    def shown(self) -> dict[object, int]:
        """Per probed day, the events feature_daily counts."""
        from psycopg import sql

        rows = self.conn.execute(
            sql.SQL(
                "select day, events from {} where organization_id = %s and feature_key = %s and day = any(%s)"
            ).format(sql.Identifier(self.schema, "feature_daily")),
            [self.org, FEATURE, list(self.base)],
        ).fetchall()
        return dict(rows)

    def take_visible(self) -> list[float]:
        """The write times of the probes feature_daily shows now, which are no longer waited for."""
        shown = self.shown()
        seen = [w for w in self.written if shown.get(w[0], 0) >= self.base[w[0]] + w[1]]
        self.written = [w for w in self.written if w not in seen]
        return [written for _, _, written in seen]

    def close(self) -> None:
        self.conn.close()


def _builds(log: Path) -> list[float]:
    """The seconds of each build the loop reported as succeeded."""
    out = []
    for line in log.read_text().splitlines():
        if "opsmart schedule: build " in line and " succeeded in " in line:
            out.append(float(line.rsplit(" succeeded in ", 1)[1].split()[0]))
    return out


def _wait_first_build(proc: subprocess.Popen, log: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not _builds(log):
        if proc.poll() is not None:
            raise UserError(f"the build loop stopped (exit {proc.returncode}); see {log}")
        if time.monotonic() > deadline:
            raise UserError(f"no build finished within {timeout:.0f} s; see {log}")
        if "failed in" in log.read_text():
            raise UserError(f"the first build failed; see {log}")
        time.sleep(POLL)


def measure(url: str, minutes: float, every: str, seed: int = 1) -> Result:
    """Run the loop, probe for ``minutes``, and time each probe's way into feature_daily."""
    interval = schedule.parse_interval(every)
    result = Result(interval_s=interval, minutes=minutes)
    log = connection.ensure_home() / "freshness-build.log"
    rng = random.Random(seed)  # noqa: S311 - probe timing, not secrets
    with log.open("w") as output:
        cmd = [sys.executable, "-m", "opsmart.cli", "build", "--every", every]
        proc = interrupts.popen(cmd, stdout=output, stderr=subprocess.STDOUT, cwd=connection.project_dir())
    probe = _Probe(url)
    try:
        print(
            f"build loop started (every {interval:g} s, log {log}); waiting for its first build", flush=True
        )
        _wait_first_build(proc, log)
        print(f"first build done; writing probes for {minutes:g} minutes", flush=True)
        started = time.monotonic()
        next_probe = started + rng.uniform(0, 2 * PROBE_GAP)
        end = started + minutes * 60
        # after the last probe, two intervals and a slow build more at most
        give_up = end + 2 * interval + 300
        while time.monotonic() < give_up:
            now = time.monotonic()
            if now < end and now >= next_probe:
                probe.write()
                next_probe = now + rng.uniform(0.5, 2 * PROBE_GAP - 0.5)
            visible = probe.take_visible()
            seen_at = time.monotonic()
            result.latencies_s += [seen_at - written for written in visible]
            if visible:
                print(f"{len(result.latencies_s)} probes visible, {len(probe.written)} waiting", flush=True)
            if now >= end and not probe.written:
                break
            if proc.poll() is not None:
                raise UserError(f"the build loop stopped (exit {proc.returncode}); see {log}")
            time.sleep(POLL)
        result.unseen = len(probe.written)
    finally:
        probe.close()
        interrupts.stop(proc)
    result.build_s = _builds(log)
    return result


def run(minutes: float, every: str, out: str | None = None) -> int:
    """``opsmart freshness``: measure, print the figures (and write them as JSON to ``out``)."""
    from opsmart import files

    path = files.check_output(out, "freshness results") if out else None
    schedule.parse_interval(every)
    result = measure(connection.database_url(), minutes, every)
    figures = result.summary()
    print(json.dumps(figures, indent=2))
    if path is not None:
        with files.written_whole(path) as partial:
            partial.write_text(json.dumps({**figures, **asdict(result)}, indent=2) + "\n")
    if result.unseen:
        print(f"{result.unseen} probes never showed in feature_daily: see {connection.home_dir()}")
    return 0 if result.unseen == 0 else 1
