"""Concurrent builds: serialised per mart, bounded waits with a named holder, nothing double-counted."""

from __future__ import annotations

import json
import threading
import time

import psycopg
from support import BUILDER, builder_url
from support.platform import ANCHOR, assert_marts_exact

from opsmart import build

LOCK_KEY = "select hashtextextended('opsmart.mart:mart.feature_daily', 0)"


def _add_events(url: str, n: int, feature: str) -> None:
    with psycopg.connect(url) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        conn.execute(
            """insert into ops.event (organization_id, source, feature_key, occurred_at)
               select %s, 'api', %s, %s - make_interval(mins => i * 7) from generate_series(1, %s) as i""",
            [org, feature, ANCHOR, n],
        )


def test_two_builds_started_at_once_both_finish_and_count_nothing_twice(loaded_url: str) -> None:
    _add_events(loaded_url, 300, "concurrent")
    results: list = [None, None]

    def one(i: int) -> None:
        results[i] = build.dbt(["run", "--select", "marts"], builder_url(loaded_url), capture=True)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [r.stdout[-4000:] for r in results if r.returncode != 0]
    assert not failed, "\n----\n".join(failed)
    with psycopg.connect(loaded_url) as conn:
        marted = conn.execute("select sum(events) from mart.feature_daily").fetchone()[0]
        events = conn.execute("select count(*) from ops.event").fetchone()[0]
    assert marted == events
    assert_marts_exact(loaded_url)


def test_a_build_waits_for_the_holder_then_stops_naming_it(loaded_url: str) -> None:
    _add_events(loaded_url, 20, "waiting")
    with psycopg.connect(loaded_url, application_name="nightly-backfill") as holder:
        holder.execute(f"select pg_advisory_xact_lock(({LOCK_KEY}))")
        pid = holder.info.backend_pid
        began = time.monotonic()
        vars_ = json.dumps({"mart_lock_wait": "3s"})
        result = build.dbt(
            ["run", "--select", "feature_daily", "--vars", vars_], builder_url(loaded_url), capture=True
        )
        waited = time.monotonic() - began
        assert result.returncode != 0
        out = result.stdout
        assert (
            "is being built by another build" in out and "nightly-backfill" in out and f"pid {pid}" in out
        ), out[-3000:]
        assert waited >= 3
        # A build with time to wait proceeds as soon as the holder finishes.
        released_at = []

        def release() -> None:
            time.sleep(4)
            holder.commit()
            released_at.append(time.monotonic())

        releaser = threading.Thread(target=release)
        releaser.start()
        ok = build.dbt(["run", "--select", "feature_daily"], builder_url(loaded_url), capture=True)
        releaser.join()
    assert ok.returncode == 0, ok.stdout[-3000:]
    with psycopg.connect(loaded_url) as conn:
        assert (
            conn.execute(
                "select sum(events) from mart.feature_daily where feature_key = 'waiting'"
            ).fetchone()[0]
            == 20
        )


def test_a_table_and_a_view_rebuilt_whole_wait_for_the_build_holding_them(loaded_url: str) -> None:
    """dbt rebuilds a table or view under a temporary name and drops the old one after its commit:
    two builds at once failed with "organizations__dbt_backup already exists" until these took
    the mart lock too."""
    whole = ["organizations", "performance_last_hour"]
    with psycopg.connect(loaded_url, application_name="dashboard-refresh") as holder:
        for name in whole:
            key = f"opsmart.mart:mart.{name}"
            holder.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
        args = ["run", "--select", *whole, "--vars", json.dumps({"mart_lock_wait": "1s"})]
        result = build.dbt(args, builder_url(loaded_url), capture=True)
    assert result.returncode != 0
    for name in whole:
        assert f'"mart"."{name}" is being built by another build' in result.stdout, result.stdout[-3000:]
    assert "dashboard-refresh" in result.stdout


def test_a_table_rebuilt_whole_drops_the_backup_the_build_before_it_left(loaded_url: str) -> None:
    """The window the lock leaves: the other build has committed its swap but not yet dropped its
    __dbt_backup (dbt drops it after the commit). The waiting build drops it itself and goes on."""
    released = threading.Event()
    problems: list[str] = []

    def hold_then_leave_a_backup() -> None:
        with (
            psycopg.connect(loaded_url, application_name="build-before") as holder,
            psycopg.connect(loaded_url, autocommit=True) as watcher,
        ):
            holder.execute(
                "select pg_advisory_xact_lock(hashtextextended('opsmart.mart:mart.organizations', 0))"
            )
            deadline = time.monotonic() + 120
            # commit only once the build waits for the lock: its relation cache, made when it
            # started, has no backup in it, so dbt itself drops none (watched from a session of
            # its own: pg_stat_activity stays as it was within a transaction)
            while not watcher.execute(
                "select exists (select from pg_stat_activity where usename = %s and query like %s)",
                [BUILDER, "%opsmart_lock%"],
            ).fetchone()[0]:
                if time.monotonic() > deadline:
                    problems.append("the build never waited for the lock")
                    break
                time.sleep(0.1)
            holder.execute("create table mart.organizations__dbt_backup (organization_id bigint)")
            holder.execute("alter table mart.organizations__dbt_backup owner to opsmart_transformer")
        released.set()

    holder = threading.Thread(target=hold_then_leave_a_backup)
    holder.start()
    result = build.dbt(["run", "--select", "organizations"], builder_url(loaded_url), capture=True)
    holder.join()
    assert not problems and released.is_set(), problems
    assert result.returncode == 0, result.stdout[-3000:]
    with psycopg.connect(loaded_url) as conn:
        assert conn.execute("select to_regclass('mart.organizations__dbt_backup')").fetchone()[0] is None
        assert conn.execute("select count(*) from mart.organizations").fetchone()[0] > 0
