"""Writers at full speed while incremental builds repeat: throughput, latency, exactness.

``measure`` runs writer threads (one autocommit connection each) for a quiet phase
without builds and then a phase with ``dbt run --select marts`` in a loop; after a
final incremental build it rebuilds the marts from scratch into another schema and
compares them row for row. Each writer transaction is one statement: insert an
event or a query timing, move an analysis run to a final status, re-time or delete
an event it inserted earlier.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from opsmart import build, connection, digest, stats
from opsmart.errors import UserError

FEATURES = ("search", "prompt.edit", "analysis.run", "export", "share", "judge.view")
FULL_SCHEMA = "mart_full"
# Every transaction's latency is kept for the percentiles: an hour at 10,000 tx/s is ~1 GB.
MAX_SECONDS = 3_600
# Each writer holds a connection, beside the builds' (PostgreSQL's default max_connections is 100).
MAX_WRITERS = 64


@dataclass
class Phase:
    """What the writers did in one phase."""

    label: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    builds: int = 0
    build_failures: int = 0
    build_seconds: list[float] = field(default_factory=list)

    @property
    def transactions(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return stats.percentile(self.latencies_ms, p) if self.latencies_ms else 0.0

    def summary(self) -> str:
        text = (
            f"{self.label:<16} {self.transactions:>8,} tx in {self.seconds:5.1f} s"
            f" = {self.throughput:8,.0f} tx/s,"
            f" p50 {self.percentile(0.5):6.2f} ms, p99 {self.percentile(0.99):7.2f} ms, errors {self.errors}"
        )
        if self.builds or self.build_failures:
            mean = statistics.fmean(self.build_seconds) if self.build_seconds else 0.0
            text += f", builds {self.builds} ok / {self.build_failures} failed (mean {mean:.1f} s)"
        return text


@dataclass
class Report:
    phases: list[Phase]
    events_expected: int
    events_found: int
    differing_marts: dict[str, tuple[digest.TableDigest | None, digest.TableDigest | None]]
    final_build_ok: bool

    @property
    def ok(self) -> bool:
        return self.final_build_ok and not self.differing_marts and self.events_expected == self.events_found

    def summary(self) -> str:
        lines = [p.summary() for p in self.phases]
        lines.append(
            f"writer events committed and still live: {self.events_expected:,},"
            f" found in ops.event: {self.events_found:,}"
        )
        lines.append(
            "marts equal a full refresh"
            if not self.differing_marts
            else f"marts differ: {sorted(self.differing_marts)}"
        )
        return "\n".join(lines)


class _Writer(threading.Thread):
    def __init__(
        self, url: str, seed: int, stop: threading.Event, context: dict, rate: float | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.context = url, stop, context
        self.pause = 1 / rate if rate else 0.0  # between transaction starts; 0: none, full speed
        self.rng = random.Random(seed)  # noqa: S311 -- a workload, not a secret
        self.phase: Phase | None = None
        self.live_events: dict[int, dt.datetime] = {}  # id -> occurred_at of committed, undeleted inserts
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.connect(
                self.url, autocommit=True, application_name="opsmart-load-writer"
            ) as conn:
                due = time.perf_counter()
                while not self.stop.is_set():
                    if self.pause:  # late (the server was busy): the next one now, no burst to catch up
                        now = time.perf_counter()
                        due = max(due + self.pause, now)
                        if self.stop.wait(due - now):
                            break
                    phase = self.phase
                    began = time.perf_counter()
                    try:
                        self._one(conn)
                    except psycopg.Error:
                        if phase is not None:
                            phase.errors += 1
                        continue
                    if phase is not None:
                        phase.latencies_ms.append((time.perf_counter() - began) * 1000)
        except BaseException as exc:  # reported by measure(), not lost in a thread
            self.failure = exc

    def _occurred_at(self) -> dt.datetime:
        # Mostly now, some late by hours or days: they land in old buckets.
        late = self.rng.choice([0, 0, 0, 1, 30, 600, 3 * 1440])
        return self.context["now"] - dt.timedelta(minutes=self.rng.uniform(0, late))

    def _one(self, conn: psycopg.Connection) -> None:
        ctx, rng = self.context, self.rng
        kind = rng.random()
        if kind < 0.55 or not self.live_events:
            occurred = self._occurred_at()
            row = conn.execute(
                """insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, payload)
                   values (%s, %s, 'api', %s, %s, '{"load": true}') returning id""",
                [rng.choice(ctx["orgs"]), rng.choice(ctx["users"]), rng.choice(FEATURES), occurred],
            ).fetchone()
            assert row is not None
            self.live_events[row[0]] = occurred
        elif kind < 0.75:
            conn.execute(
                """insert into ops.query_performance_log
                       (query_name, organization_id, duration_ms, ok, measured_at)
                   values (%s, %s, %s, %s, %s)""",
                [
                    rng.choice(FEATURES),
                    rng.choice(ctx["orgs"]),
                    rng.expovariate(1 / 40),
                    rng.random() > 0.02,
                    self._occurred_at(),
                ],
            )
        elif kind < 0.87 and ctx["runs"]:
            conn.execute(
                "update ops.analysis_run set status = %s, finished_at = coalesce(finished_at, started_at)"
                " where id = %s",
                [rng.choice(["succeeded", "failed", "cancelled"]), rng.choice(ctx["runs"])],
            )
        elif kind < 0.95:
            event_id, occurred = rng.choice(list(self.live_events.items()))
            moved = occurred - dt.timedelta(hours=rng.randint(1, 48))
            conn.execute(
                "update ops.event set occurred_at = %s, feature_key = %s where id = %s and occurred_at = %s",
                [moved, rng.choice(FEATURES), event_id, occurred],
            )
            self.live_events[event_id] = moved
        else:
            event_id, occurred = rng.choice(list(self.live_events.items()))
            conn.execute("delete from ops.event where id = %s and occurred_at = %s", [event_id, occurred])
            del self.live_events[event_id]


def _context(url: str) -> dict:
    with connection.connect(url) as conn:
        orgs = [r[0] for r in conn.execute("select id from ops.organization order by id").fetchall()]
        users = [r[0] for r in conn.execute("select id from core.users order by id limit 500").fetchall()]
        runs = [
            r[0]
            for r in conn.execute(
                "select id from ops.analysis_run where started_at is not null order by id limit 2000"
            ).fetchall()
        ]
        now = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
    if not orgs:
        raise UserError("load needs data: run `opsmart generate` first")
    return {"orgs": orgs, "users": [*users, None], "runs": runs, "now": now}


def _build_loop(build_once: Callable[[], bool], done: Callable[[], bool], phase: Phase) -> None:
    while not done():
        began = time.perf_counter()
        if build_once():
            phase.builds += 1
            phase.build_seconds.append(time.perf_counter() - began)
        else:
            phase.build_failures += 1


def measure(
    url: str,
    *,
    seconds: float = 20.0,
    writers: int = 4,
    select: str = "marts",
    seed: int = 1,
    build_once: Callable[[], bool] | None = None,
    min_builds: int = 1,
    rate: float | None = None,
) -> Report:
    """A quiet phase and a phase with builds, ``seconds`` each; then the final build and the comparison.

    ``build_once`` runs one build and says whether it passed (default: ``dbt run``
    of ``select``). The phase with builds starts no build after its ``seconds``, and
    lasts until the build then running and at least ``min_builds`` builds have
    finished, all of them while the writers commit. The marts must have been built
    once already (their staging views must exist). ``rate``: transactions a second each
    writer starts at most (default: as many as it can, what ``opsmart load`` measures).
    """
    context = _context(url)
    build_url = build.build_url(url)
    build.preflight(build_url)
    if build_once is None:

        def build_once() -> bool:
            return build.dbt(["run", "--select", select], build_url, capture=True).returncode == 0

    stop = threading.Event()
    time_up = threading.Event()
    threads = [_Writer(url, seed * 1000 + i, stop, context, rate) for i in range(writers)]
    phases = [Phase("without builds"), Phase("with builds")]
    busy = phases[1]

    def builds_done() -> bool:
        # no build starts once the phase's time is up and enough builds have finished
        return stop.is_set() or (time_up.is_set() and busy.builds + busy.build_failures >= min_builds)

    for t in threads:
        t.start()
    builder = threading.Thread(target=_build_loop, args=(build_once, builds_done, busy), daemon=True)
    try:
        for phase in phases:
            for t in threads:
                t.phase = phase
            if phase is busy:
                builder.start()
            began = time.perf_counter()
            time.sleep(seconds)
            if phase is busy:
                time_up.set()
                # Builds overlap the writers: the phase lasts until its last build has finished.
                while builder.is_alive():
                    builder.join(0.1)
            phase.seconds = time.perf_counter() - began
            for t in threads:
                t.phase = None
    finally:
        stop.set()
        for t in [*threads, *([builder] if builder.ident is not None else [])]:
            t.join()
    for t in threads:
        if t.failure is not None:
            raise t.failure
    expected = {i for t in threads for i in t.live_events}
    with connection.connect(url) as conn:
        found = conn.execute(
            "select count(*) from ops.event where id = any(%s)", [list(expected)]
        ).fetchone()[0]  # type: ignore[index]
    final = build.dbt(["run", "--select", select], build_url, capture=True)
    full = build.dbt(
        ["run", "--select", f"+{select}", "--full-refresh"], build_url, schema=FULL_SCHEMA, capture=True
    )
    incremental, rebuilt = digest.mart_digests(url), digest.mart_digests(url, FULL_SCHEMA)
    differing = {
        name: (incremental.get(name), rebuilt.get(name))
        for name in set(incremental) | set(rebuilt)
        if incremental.get(name) != rebuilt.get(name)
    }
    return Report(phases, len(expected), found, differing, final.returncode == 0 and full.returncode == 0)


def _check_marts_built(url: str) -> None:
    schema = connection.mart_schema()
    with connection.connect(url, autocommit=True) as conn:
        built = conn.execute(
            "select count(to_regclass(format('%%I.%%I', %s::text, m))) from unnest(%s::text[]) as m",
            [schema, list(build.MARTS)],
        ).fetchone()
    if built != (len(build.MARTS),):
        raise UserError(f"load needs the marts built once in {schema}: run `opsmart build` first")


def run(url: str, *, seconds: float = 30.0, writers: int = 4) -> int:
    """Print the load report; exit status 0 when nothing was lost and the marts are exact."""
    _context(url)  # one line, before any thread starts, when there is nothing to load against
    _check_marts_built(url)
    report = measure(url, seconds=seconds, writers=writers)
    print(report.summary())
    return 0 if report.ok else 1
