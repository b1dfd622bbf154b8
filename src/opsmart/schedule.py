"""``opsmart build --every 60s``: keep the marts fresh, one build at a time, until stopped.

Builds start on a fixed rhythm, start to start: a build that takes longer than
the interval is followed by the next one at once, never by two. Each is what
``opsmart build`` runs (``build.run``: the build login, its checks, session
limits, source freshness). A failed build (dbt failed, the server went away)
is tried again after a wait that doubles with each failure in a row, up to
``MAX_BACKOFF``; a success brings the rhythm back. Loops on other machines or
terminals that keep the same mart schema fresh take turns: each build holds a
PostgreSQL advisory lock, and a loop that finds it taken skips that turn.

SIGTERM or Ctrl-C stops the loop as it stops every command (``interrupts``):
a running dbt is stopped with its children, the mart it was replacing stays as
it was (each mart is replaced in one transaction), and the program exits 143
(130) with one line.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from opsmart import build, connection
from opsmart.errors import UserError

MIN_INTERVAL = 1.0
MAX_INTERVAL = 7 * 86400.0
MAX_BACKOFF = 15 * 60.0
_UNITS = {"": 1, "s": 1, "min": 60, "m": 60, "h": 3600}
_INTERVAL = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|min|m|h)?\s*$")


def parse_interval(text: str) -> float:
    """``60s``, ``5min``, ``1h`` or plain seconds, into seconds; a one-line error otherwise."""
    match = _INTERVAL.match(text)
    if not match:
        raise UserError(f"--every wants an interval such as 60s, 5min or 1h, got {text!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or ""]
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise UserError(f"--every must be between 1s and 7 days (168h), got {text!r}")
    return seconds


def backoff(interval: float, failures: int) -> float:
    """The wait after ``failures`` failed builds in a row: the interval doubled each time, capped."""
    return min(interval * 2**failures, max(interval, MAX_BACKOFF))


def log(message: str) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    print(f"{now}Z opsmart schedule: {message}", flush=True)


def _lock_key(schema: str) -> str:
    return f"opsmart schedule {schema}"


@dataclass
class Turn:
    """What one turn of the loop did: built (ok or not), or skipped because another loop was building."""

    ok: bool
    skipped: bool = False
    detail: str = ""


def build_turn(**build_args: object) -> Turn:
    """One build as ``opsmart build`` runs it, under the schema's advisory lock."""
    try:
        url = connection.database_url()
        with connection.connect(build.build_url(url), autocommit=True) as lock:
            key = _lock_key(connection.mart_schema())
            if not lock.execute("select pg_try_advisory_lock(hashtext(%s))", [key]).fetchone()[0]:
                return Turn(ok=True, skipped=True, detail="another scheduled build of this schema is running")
            # the session's end releases the lock, however the build ends
            code = build.run(url, **build_args)
    except (UserError, psycopg.Error) as exc:
        # the server restarting, a password changed: worth another try later
        return Turn(ok=False, detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return Turn(ok=code == 0, detail="" if code == 0 else f"dbt exited {code}")


def loop(
    interval: float,
    turn: Callable[[], Turn],
    *,
    builds: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``turn`` every ``interval`` seconds (start to start) until stopped, or for ``builds`` turns.

    The status is that of the last turn: 0 when it built or skipped, 1 when it failed.
    """
    failures = 0
    number = 0
    log(f"building every {interval:g} s; stop with Ctrl-C or SIGTERM")
    while builds is None or number < builds:
        number += 1
        started = clock()
        log(f"build {number} started")
        try:
            result = turn()
        except KeyboardInterrupt:
            log(f"build {number} stopped: every mart stays as the last finished build left it")
            raise
        took = clock() - started
        wait = interval - took
        if result.skipped:
            log(f"build {number} skipped: {result.detail}")
        elif result.ok:
            failures = 0
            log(f"build {number} succeeded in {took:.1f} s")
        else:
            failures += 1
            wait = backoff(interval, failures)
            log(f"build {number} failed in {took:.1f} s ({result.detail}); {failures} in a row")
        if builds is not None and number >= builds:
            break
        wait = max(0.0, wait)
        log(f"next build in {wait:.1f} s" if wait else "next build now: the last one took the whole interval")
        try:
            sleep(wait)
        except KeyboardInterrupt:
            log("stopped between builds")
            raise
    return 0 if failures == 0 else 1


def run(every: str, *, select: str | None = None, extra: list[str] | None = None) -> int:
    """``opsmart build --every``: the arguments checked once, then the loop until stopped."""
    interval = parse_interval(every)
    build.build_args(select=select, extra=extra)  # a bad selector is one line now, not one a minute
    build.check_session_limits()
    connection.mart_schema()
    return loop(interval, lambda: build_turn(select=select, extra=extra))
