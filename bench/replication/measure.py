"""Analytics off the primary: the figures of issue 14 from one run on two local servers.

Run from the repository, with its venv (a few minutes at the defaults):

    OPSMART_HOME=/tmp/oh-replmeasure .venv/bin/python bench/replication/measure.py \\
        [--preset tiny] [--seconds 45] [--writers 3] [--minutes 5]

Add PRIMARY_BINDIR=/usr/lib/postgresql/15/bin to run the primary on Debian's PostgreSQL 15.

Two fresh PostgreSQL servers (embedded 18 unless PRIMARY_BINDIR; wal_level = logical) in a
temporary directory: a platform database on the primary (bootstrap, ``generate`` at the preset)
and an analytics database fed by ``opsmart replicate setup``, which switches the primary's change
tracking off. ``opsmart load``'s writers (src/opsmart/load.py) then run on the primary for
``--seconds`` per phase:

1. ``primary, no builds``: the replicated platform database, nothing building anywhere;
2. ``builds on analytics``: the same, with ``dbt run --select marts`` looping on the analytics
   server as its transformer login;
3. ``busy loop, no database (control)``: the same writers with a process that only spins on the
   analytics server's CPU (with ``--pin``): what a busy neighbour costs the primary on this
   host when it touches no database at all, to tell the machine's share from the design's;
4. ``local, no builds`` and 5. ``builds on primary``: a second database on the primary server,
   bootstrapped and generated with the same seed, change tracking on, its marts built there (the
   deployment without replication), without and with the build loop on it.

During every phase a marker row (ops.organization.name) of the platform database is updated
every 0.5 s and polled on the analytics server: replication lag = commit on the primary ->
visible on the analytics server (phases 1 and 2 are under the writers).

Last, end-to-end freshness: ``opsmart build --every 60s`` runs against the analytics server while
probe events (as ``opsmart freshness`` writes them) are committed on the primary for
``--minutes``; a probe counts once mart.feature_daily on the analytics server shows it. No
writers run then. The script prints each figure and a markdown table for BENCHMARKS.md.

With ``--pin`` (on a machine with 2+ CPUs) the two servers stand in for two machines: the primary
server, the writers and the builds on the primary run on CPU 0; the analytics server and its
builds (dbt included) on CPU 1. Without it both servers share every CPU, so builds on the
analytics server take CPU from the primary's writers as builds on the primary would.
"""

# Throwaway servers in a temporary directory: literal passwords and a /tmp home are the point.
# ruff: noqa: S106, S108

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from opsmart import build, connection, freshness, interrupts, load, postgres, replication_status
from opsmart.synth import generate
from opsmart.synth.scale import Scale

SETTINGS = {"shared_buffers": "128MB", "wal_level": "logical", "max_wal_size": "1GB"}
SLOT = "opsmart_analytics"
PRIMARY_CPU, ANALYTICS_CPU = {0}, {1}


def pin_server(pgdata: Path, cpus: set[int]) -> None:
    """The server's postmaster and its current children on ``cpus`` (new backends inherit it)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    for pid in [postmaster, *map(int, children)]:
        os.sched_setaffinity(pid, cpus)


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPSMART_", "PG"))}
    full["OPSMART_HOME"] = os.environ.get("OPSMART_HOME", "/tmp/oh-replmeasure")
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "opsmart.cli", *args], env=full, capture_output=True, text=True, check=False
    )


def sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for s in statements:
            conn.execute(s)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


def platform(admin: str, db: str, owner: str, preset: str) -> str:
    """A bootstrapped, generated platform database ``db`` owned by ``owner``; its owner's URL."""
    sql(admin, f"create database {db} owner {owner}")
    url = make_conninfo(admin, user=owner, password="secret", dbname=db)
    done = cli("bootstrap", OPSMART_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    t = time.monotonic()
    generate.generate(url, Scale.preset(preset), seed=11, progress=False)
    with psycopg.connect(url) as c:
        n = c.execute("select count(*), pg_size_pretty(pg_database_size(current_database())) from ops.event")
        events, size = n.fetchone()
    print(f"{db}: generate {preset} {time.monotonic() - t:.1f} s, {events:,} events, db {size}", flush=True)
    return url


class Marker(threading.Thread):
    """Updates a marker row on the primary every 0.5 s and times it until the analytics server shows it."""

    def __init__(self, primary: str, analytics: str) -> None:
        super().__init__(daemon=True)
        self.primary, self.analytics = primary, analytics
        self.stop = threading.Event()
        self.lag: list[float] = []
        self.behind: list[int] = []

    def run(self) -> None:
        with (
            psycopg.connect(self.primary, autocommit=True) as p,
            psycopg.connect(self.analytics, autocommit=True) as a,
        ):
            org = p.execute("select id from ops.organization order by id limit 1").fetchone()[0]
            i = 0
            while not self.stop.is_set():
                i += 1
                marker = f"marker {i}"
                p.execute("update ops.organization set name = %s where id = %s", [marker, org])
                committed = time.monotonic()
                while (
                    a.execute("select name from ops.organization where id = %s", [org]).fetchone()[0]
                    != marker
                ):
                    time.sleep(0.005)
                self.lag.append(time.monotonic() - committed)
                row = p.execute("select bytes_behind from ops.replication_slot(%s)", [SLOT]).fetchone()
                self.behind.append(int(row[0]))
                time.sleep(0.5)

    def take(self) -> tuple[list[float], list[int]]:
        lag, behind = self.lag, self.behind
        self.lag, self.behind = [], []
        return lag, behind


def burner(pin: bool) -> subprocess.Popen[bytes]:
    """A process that only spins, on the analytics CPU with ``pin``: the neighbour with no database."""
    return subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        preexec_fn=(lambda: os.sched_setaffinity(0, ANALYTICS_CPU)) if pin else None,
    )


def phase(
    label: str,
    app: str,
    writers: int,
    seconds: float,
    build_once: Callable[[], bool] | None,
    neighbour: Callable[[], subprocess.Popen[bytes]] | None = None,
) -> tuple[load.Phase, tuple[float, float]]:
    """``writers`` of ``opsmart load`` on ``app`` for ``seconds`` (and until a build finished).

    ``neighbour`` starts a process that runs beside the writers for the phase (the control).
    """
    context = load._context(app)
    stop, builder_stop = threading.Event(), threading.Event()
    result = load.Phase(label)
    threads = [load._Writer(app, 500 + i, stop, context) for i in range(writers)]
    for t in threads:
        t.start()
    time.sleep(2)  # connections open, caches warm
    builder = None
    spinning = neighbour() if neighbour is not None else None
    if build_once is not None:
        builder = threading.Thread(
            target=load._build_loop, args=(build_once, builder_stop, result), daemon=True
        )
        builder.start()
    began = time.perf_counter()
    for t in threads:
        t.phase = result
    time.sleep(seconds)
    while builder is not None and result.builds + result.build_failures == 0:
        time.sleep(0.1)
    for t in threads:
        t.phase = None
    result.seconds = time.perf_counter() - began
    builds, build_seconds = result.builds, list(result.build_seconds)
    load_avg = os.getloadavg()[:2]
    if spinning is not None:
        spinning.kill()
        spinning.wait()
    stop.set()
    builder_stop.set()
    for t in [*threads, *([builder] if builder else [])]:
        t.join()
    result.builds, result.build_seconds = builds, build_seconds  # those that finished within the phase
    print(f"{result.summary()}, load {load_avg[0]:.2f}", flush=True)
    return result, load_avg


class Probe(freshness._Probe):
    """``opsmart freshness``'s probe, written on the primary and looked for on the analytics server."""

    def __init__(self, primary: str, analytics: str) -> None:
        super().__init__(analytics)
        self.pconn = psycopg.connect(primary, autocommit=True)

    def write(self) -> None:
        day = self.pconn.execute("select (now() at time zone 'UTC')::date").fetchone()[0]
        if day not in self.base:
            self.base[day] = self.pconn.execute(
                "select count(*) from ops.event where organization_id = %s and feature_key = %s"
                " and occurred_at >= %s::timestamp at time zone 'UTC'"
                " and occurred_at < (%s + 1)::timestamp at time zone 'UTC'",
                [self.org, freshness.FEATURE, day, day],
            ).fetchone()[0]
        self.pconn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'web', %s, now())",
            [self.org, freshness.FEATURE],
        )
        self.probes[day] = self.probes.get(day, 0) + 1
        self.written.append((day, self.probes[day], time.monotonic()))

    def close(self) -> None:
        super().close()
        self.pconn.close()


def end_to_end(primary: str, analytics: str, build_url: str, minutes: float, pin: bool) -> freshness.Result:
    """Probes on the primary under ``opsmart build --every 60s`` on the analytics server."""
    result = freshness.Result(interval_s=60, minutes=minutes)
    home = Path(os.environ.get("OPSMART_HOME", "/tmp/oh-replmeasure"))
    home.mkdir(parents=True, exist_ok=True)
    log = home / "replication-freshness-build.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSMART_", "PG"))}
    env.update(OPSMART_HOME=str(home), OPSMART_DATABASE_URL=analytics, OPSMART_BUILD_URL=build_url)
    rng = random.Random(1)  # noqa: S311 -- probe timing
    with log.open("w") as output:
        proc = interrupts.popen(
            [sys.executable, "-m", "opsmart.cli", "build", "--every", "60s"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=connection.project_dir(),
            preexec_fn=(lambda: os.sched_setaffinity(0, ANALYTICS_CPU)) if pin else None,
        )
    probe = Probe(primary, analytics)
    try:
        freshness._wait_first_build(proc, log)
        print(
            f"build loop on the analytics server running; probes on the primary for {minutes:g} min",
            flush=True,
        )
        end = time.monotonic() + minutes * 60
        next_probe = time.monotonic() + rng.uniform(0, 2 * freshness.PROBE_GAP)
        give_up = end + 2 * 60 + 300
        while time.monotonic() < give_up:
            now = time.monotonic()
            if now < end and now >= next_probe:
                probe.write()
                next_probe = now + rng.uniform(0.5, 2 * freshness.PROBE_GAP - 0.5)
            visible = probe.take_visible()
            seen = time.monotonic()
            result.latencies_s += [seen - w for w in visible]
            if now >= end and not probe.written:
                break
            assert proc.poll() is None, f"the build loop stopped; see {log}"
            time.sleep(freshness.POLL)
        result.unseen = len(probe.written)
    finally:
        probe.close()
        interrupts.stop(proc)
        interrupts.forget(proc)
    result.build_s = freshness._builds(log)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--pin", action="store_true", help="primary on CPU 0, analytics on CPU 1")
    args = parser.parse_args()
    if args.pin and (os.cpu_count() or 1) < 2:
        parser.error("--pin needs two CPUs")
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="repl-measure-", dir="/tmp"))
    servers = []
    try:
        for name in ("primary", "analytics"):
            bindir = os.environ.get("PRIMARY_BINDIR") if name == "primary" else None
            s = postgres.LocalServer(
                root / name / "pgdata",
                bindir=Path(bindir) if bindir else postgres.embedded_bindir(),
                settings=SETTINGS,
            )
            s.init()
            s.start()
            servers.append(s)
        primary, analytics = servers
        if args.pin:
            pin_server(root / "primary" / "pgdata", PRIMARY_CPU)
            pin_server(root / "analytics" / "pgdata", ANALYTICS_CPU)
            os.sched_setaffinity(0, PRIMARY_CPU)  # this thread, and the writer threads it starts
            print("pinned: primary, writers and builds on the primary on CPU 0; analytics on CPU 1")
        for label, srv in (("primary", primary), ("analytics", analytics)):
            with psycopg.connect(srv.url(), autocommit=True) as c:
                print(f"{label}: PostgreSQL {c.execute('show server_version').fetchone()[0]}", flush=True)
        padmin, aadmin = primary.url(), analytics.url()
        sql(
            padmin,
            "create role platform_owner login createrole password 'secret'",
            "create role opsmart_repl login replication password 'repl-secret'",
        )
        purl = platform(padmin, "platform", "platform_owner", args.preset)
        sql(
            aadmin,
            "create role analytics_owner login createrole password 'owner-secret'",
            "grant pg_create_subscription to analytics_owner",
            "create database analytics owner analytics_owner",
        )
        aurl = make_conninfo(aadmin, user="analytics_owner", password="owner-secret", dbname="analytics")
        burl = make_conninfo(aurl, user="analytics_build", password="build-secret")
        assert cli("bootstrap", OPSMART_DATABASE_URL=aurl).returncode == 0
        sql(aurl, "create role analytics_build login password 'build-secret' in role opsmart_transformer")
        sub_as = make_conninfo(purl, user="opsmart_repl", password="repl-secret")
        t = time.monotonic()
        done = cli(
            "replicate",
            "setup",
            "--primary",
            purl,
            "--analytics",
            aurl,
            "--subscribe-as",
            sub_as,
            "--build-url",
            burl,
        )
        print(f"opsmart replicate setup: {time.monotonic() - t:.1f} s, exit {done.returncode}", flush=True)
        assert done.returncode == 0, done.stderr

        # the same platform without replication, on the primary server: tracking on, marts built there
        lurl = platform(padmin, "local", "platform_owner", args.preset)
        sql(
            padmin,
            "create role platform_app login password 'app' in role opsmart_app",
            "create role local_build login password 'build-secret' in role opsmart_transformer",
        )
        lburl = make_conninfo(lurl, user="local_build", password="build-secret")
        build.preflight(lburl)
        assert build.dbt(["run"], lburl, capture=True).returncode == 0
        build.vacuum_marts(lburl)
        app = make_conninfo(purl, user="platform_app", password="app")
        lapp = make_conninfo(lurl, user="platform_app", password="app")

        def builder(url: str, cpus: set[int]) -> Callable[[], bool]:
            def once() -> bool:
                if args.pin:
                    os.sched_setaffinity(0, cpus)  # the builder thread, hence its dbt
                return build.dbt(["run", "--select", "marts"], url, capture=True).returncode == 0

            return once

        marker = Marker(purl, aurl)
        marker.start()
        spin = lambda: burner(args.pin)  # noqa: E731
        plan = [
            ("primary, no builds", app, None, None),
            ("builds on analytics", app, builder(burl, ANALYTICS_CPU), None),
            ("busy loop, no database (control)", app, None, spin),
            ("local, no builds", lapp, None, None),
            ("builds on primary", lapp, builder(lburl, PRIMARY_CPU), None),
        ]
        rows = []
        for label, url, build_once, neighbour in plan:
            marker.take()
            result, load_avg = phase(label, url, args.writers, args.seconds, build_once, neighbour)
            lag, behind = marker.take()
            rows.append((result, load_avg, lag, behind))
            print(
                f"  replication lag, {len(lag)} markers: p50 {statistics.median(lag) * 1000:.0f} ms,"
                f" p95 {pct(lag, 95) * 1000:.0f} ms, max {max(lag) * 1000:.0f} ms;"
                f" slot bytes behind p95 {pct(behind, 95):,.0f}",
                flush=True,
            )
        marker.stop.set()
        marker.join()
        waited = replication_status.wait_caught_up(purl, SLOT, 120)
        print(f"caught up {waited:.2f} s after the writers", flush=True)

        fresh = end_to_end(purl, aurl, burl, args.minutes, args.pin)
        f = fresh.summary()
        print(f"end-to-end freshness: {f}", flush=True)

        base = rows[0][0]
        print(
            "\n| phase (writers on the primary) | tx/s | p50 ms | p99 ms | p99 vs no builds "
            "| builds (mean s) | repl. lag p50 / p95 / max ms | load avg 1 min |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for i, (r, load_avg, lag, _) in enumerate(rows):
            ref = rows[0][0] if i < 3 else rows[3][0]
            builds = f"{r.builds} ({statistics.fmean(r.build_seconds):.1f})" if r.build_seconds else "–"
            print(
                f"| {r.label} | {r.throughput:,.0f} | {r.percentile(0.5):.2f} | {r.percentile(0.99):.2f}"
                f" | {(r.percentile(0.99) / ref.percentile(0.99) - 1) * 100:+.0f} % | {builds}"
                f" | {statistics.median(lag) * 1000:.0f} / {pct(lag, 95) * 1000:.0f} / {max(lag) * 1000:.0f}"
                f" | {load_avg[0]:.2f} |"
            )
        goal = rows[1][0].percentile(0.99) <= 1.10 * base.percentile(0.99)
        print(
            f"\ngoal (p99 with builds on analytics within 10 % of no builds): {'met' if goal else 'missed'}"
        )
        print(
            "end-to-end freshness (primary -> analytics mart.feature_daily, build --every 60s,"
            f" {args.minutes:g} min):"
            f" {f['probes']} probes, {f['unseen']} unseen, p50 {f['p50_s']} s, p95 {f['p95_s']} s,"
            f" max {f['max_s']} s; {f['builds']} builds, mean {f['build_mean_s']} s"
        )
        print(f"total {time.monotonic() - started:.0f} s, load average now {os.getloadavg()}")
    finally:
        for s in servers:
            s.remove()


if __name__ == "__main__":
    main()
