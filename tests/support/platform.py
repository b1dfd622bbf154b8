"""Helpers the reliability and security tests share: data, login roles, dbt processes."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from opsmart import build, connection
from opsmart.synth import generate
from opsmart.synth.scale import Scale
from support import build_marts, builder_url, dbt_ok, differing_marts
from support.processes import default_signals

# Recent enough that source freshness passes; fixed for the whole session.
ANCHOR = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
REPO = Path(__file__).resolve().parents[2]


def load_tiny(url: str, seed: int = 7) -> str:
    """Tiny generated data, the seeds, and every model built once (as the test builder): the marts,
    what analysts' tools join (MetricFlow's time spines), and the staging views no mart reads,
    which the data tests read; and mart_full's staging views, for the full refreshes tests
    compare the marts with."""
    generate.generate(url, Scale.preset("tiny"), seed=seed, anchor=ANCHOR, progress=False)
    dbt_ok(url, "seed")
    dbt_ok(url, "run", "--full-refresh")
    # and the views of the schema that tests compare the marts with (support.build_marts)
    dbt_ok(url, "run", "--select", "+marts", "--exclude", "marts", schema="mart_full")
    return url


@contextlib.contextmanager
def login_role(url: str, name: str, group: str, password: str = "pw-Secret-4711") -> Iterator[str]:  # noqa: S107
    """A login role in ``group`` for the test's duration; yields the URL that connects as it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"drop role if exists {name}")
        conn.execute(f"create role {name} login password '{password}' in role {group}")
    try:
        yield make_conninfo(url, user=name, password=password)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"drop owned by {name} cascade")
            conn.execute(f"drop role {name}")


def assert_marts_exact(url: str) -> None:
    """The marts equal a full rebuild from the same ops data."""
    build_marts(url, full_refresh=True, schema="mart_full")
    diff = differing_marts(url, "mart", "mart_full")
    assert not diff, diff


def leftover_relations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """select n.nspname || '.' || c.relname from pg_class as c
               join pg_namespace as n on n.oid = c.relnamespace
               where c.relname like '%%dbt\\_tmp%%' or c.relname like '%%dbt\\_backup%%'"""
        ).fetchall()
    return [r[0] for r in rows]


def dbt_process(url: str, *args: str, target: Path, **popen: object) -> subprocess.Popen[str]:
    """A dbt process in the project with its own target folder (started, not awaited)."""
    cmd = [*build._dbt_executable(), *args, "--target-path", str(target), "--log-path", str(target / "logs")]
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        env=build.dbt_env(builder_url(url)),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=default_signals,
        **popen,
    )


def wait_for_query(url: str, pattern: str, timeout: float = 60.0) -> int:
    """Pid of the backend of this database whose running query matches ``pattern`` (SQL like)."""
    dbname = connection.conninfo_to_dict(url)["dbname"]
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "select pid from pg_stat_activity"
                " where datname = %s and query like %s and pid <> pg_backend_pid()",
                [dbname, pattern],
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.2)
    raise AssertionError(f"no backend ran {pattern!r} within {timeout} s")


def wait_backend_gone(url: str, pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if not conn.execute("select 1 from pg_stat_activity where pid = %s", [pid]).fetchone():
                return
            time.sleep(0.2)
    raise AssertionError(f"backend {pid} still there after {timeout} s")


def run_cli(url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real CLI on ``url`` (an owner's login), builds as the test builder: a deployment's two URLs."""
    env = dict(os.environ, **{connection.URL_ENV: url, connection.BUILD_URL_ENV: builder_url(url)})
    return subprocess.run(
        [sys.executable, "-m", "opsmart.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def dashboard_views(url: str, org: object) -> int:
    """mart.feature_daily's dashboard.view events of ``org`` on ANCHOR's day."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select coalesce(sum(events), 0) from mart.feature_daily"
            " where organization_id = %s and day = %s and feature_key = 'dashboard.view'",
            [org, ANCHOR.date()],
        ).fetchone()[0]


def write_dashboard_view(url: str) -> tuple[object, int]:
    """One more dashboard.view event (a catalogued feature) on ANCHOR's day: its organization, and
    the count feature_daily shows before a build picks it up."""
    with psycopg.connect(url, autocommit=True) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        seen = dashboard_views(url, org)
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'web', 'dashboard.view', %s)",
            [org, ANCHOR],
        )
    return org, seen
