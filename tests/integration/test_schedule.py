"""opsmart build --every: builds on a rhythm, one at a time, backs off after failures, stops cleanly."""

from __future__ import annotations

import re
import signal

import psycopg
import pytest
from support import builder_url
from support.platform import dashboard_views, write_dashboard_view
from support.processes import Cli, backend, cli_env, wait_until

from opsmart import connection, schedule
from opsmart.errors import UserError


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60), ("5min", 300), ("1h", 3600), ("90", 90), ("1.5m", 90)]
)
def test_intervals(text: str, seconds: float) -> None:
    assert schedule.parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["0s", "8d", "10 days", "-5s", "", "soon"])
def test_bad_intervals_are_one_line(text: str) -> None:
    with pytest.raises(UserError, match="--every"):
        schedule.parse_interval(text)


def test_failures_back_off_and_a_success_brings_the_rhythm_back() -> None:
    now = [0.0]
    slept: list[float] = []
    outcomes = iter([False, False, False, True, True])

    def turn() -> schedule.Turn:
        now[0] += 5  # every build takes 5 s
        return schedule.Turn(ok=next(outcomes), detail="dbt exited 1")

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    status = schedule.loop(60, turn, builds=5, clock=lambda: now[0], sleep=sleep)
    # start to start every 60 s; after failures 120, 240, 480 s; then the rhythm again
    assert slept == [120, 240, 480, 55]
    assert status == 0
    assert schedule.backoff(60, 10) == schedule.MAX_BACKOFF
    assert schedule.backoff(7200, 3) == 7200  # never waits less than the interval


def test_a_build_longer_than_the_interval_is_followed_at_once_never_overlapped() -> None:
    now = [0.0]
    slept: list[float] = []
    running = [0]

    def turn() -> schedule.Turn:
        running[0] += 1
        assert running[0] == 1
        now[0] += 90
        running[0] -= 1
        return schedule.Turn(ok=True)

    schedule.loop(60, turn, builds=3, clock=lambda: now[0], sleep=lambda s: slept.append(s))
    assert slept == [0.0, 0.0]


def test_a_turn_that_cannot_reach_the_server_fails_and_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(connection.URL_ENV, "postgresql://nobody:x@127.0.0.1:1/none")
    monkeypatch.delenv(connection.BUILD_URL_ENV, raising=False)
    turn = schedule.build_turn()
    assert not turn.ok and "cannot connect" in turn.detail


def test_loops_take_turns_on_one_schema(loaded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(connection.URL_ENV, loaded_url)
    monkeypatch.setenv(connection.BUILD_URL_ENV, builder_url(loaded_url))
    with psycopg.connect(loaded_url, autocommit=True) as other_loop:
        other_loop.execute("select pg_advisory_lock(hashtext('opsmart schedule mart'))")
        turn = schedule.build_turn()
    assert turn.ok and turn.skipped


def _builds(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from ops.build_run where command = 'build'").fetchone()[0]


def test_the_loop_keeps_the_marts_fresh_and_stops_on_sigterm(loaded_url: str) -> None:
    url = loaded_url
    before = _builds(url)
    cli = Cli("build", "--every", "1s", env=cli_env(url, OPSMART_BUILD_URL=builder_url(url)))
    try:
        wait_until(lambda: _builds(url) > before, "the first build", timeout=120)
        org, seen = write_dashboard_view(url)
        wait_until(lambda: dashboard_views(url, org) == seen + 1, "the event in feature_daily", timeout=120)
        # stop it mid-build: dbt goes with it
        wait_until(lambda: backend(url, "application_name = 'dbt'"), "a build under way", timeout=60)
        cli.signal(signal.SIGTERM)
        result = cli.result()
        assert result.returncode == 128 + signal.SIGTERM
        assert re.fullmatch(r"opsmart: stopped by SIGTERM\n", result.stderr), result.stderr
        assert not cli.survivors()
    finally:
        cli.close()
    log = [
        line.split("opsmart schedule: ")[1]
        for line in result.stdout.splitlines()
        if "opsmart schedule: " in line
    ]
    assert log[:3] == ["building every 1 s; stop with Ctrl-C or SIGTERM", "build 1 started", log[2]]
    assert re.fullmatch(r"build 1 succeeded in [0-9.]+ s", log[2])
    assert re.fullmatch(r"build [0-9]+ stopped: every mart stays as the last finished build left it", log[-1])
    with psycopg.connect(url) as conn:  # no build is left half-recorded or running
        assert conn.execute("select count(*) from ops.build_run where status <> 'success'").fetchone() == (0,)
