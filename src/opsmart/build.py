"""Run dbt against the configured database: `opsmart build` and friends.

dbt runs as a subprocess of the same virtualenv, with the libpq variables set
from ``OPSMART_DATABASE_URL`` or the embedded server, and a profiles.yml
copied from ``profiles.example.yml`` into ``$OPSMART_HOME/dbt``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from opsmart import connection
from opsmart.errors import UserError

SCHEMA_ENV = "OPSMART_MART_SCHEMA"
MARTS = ("metric_timeseries", "feature_daily", "analysis_daily", "performance_dashboard")


def parse_backfill(text: str) -> tuple[dt.date, dt.date]:
    """``START:END`` (ISO dates, END exclusive) into two dates; a clear error otherwise."""
    start_text, sep, end_text = text.partition(":")
    if not sep:
        raise UserError(f"--backfill wants START:END (e.g. 2026-01-01:2026-02-01), got {text!r}")
    try:
        start = dt.date.fromisoformat(start_text.strip())
        end = dt.date.fromisoformat(end_text.strip())
    except ValueError:
        raise UserError(f"--backfill dates must be YYYY-MM-DD, got {text!r}") from None
    if start >= end:
        raise UserError(f"--backfill start {start} is not before its end {end} (END is exclusive)")
    return start, end


def _dbt_executable() -> list[str]:
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("dbt")
    if found:
        return [found]
    raise UserError("dbt is not installed: run pip install -e '.[dev]'")


def profiles_dir() -> Path:
    """A folder holding profiles.yml (a copy of profiles.example.yml)."""
    folder = connection.home_dir() / "dbt"
    folder.mkdir(parents=True, exist_ok=True)
    source = connection.project_dir() / "profiles.example.yml"
    target = folder / "profiles.yml"
    text = source.read_text()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return folder


# Server-side limits of every dbt session, so a stuck lock or a hung statement
# cannot hang the scheduler: (setting, environment variable overriding it, default).
# statement_timeout stays above the mart lock wait (var mart_lock_wait, 5min);
# client_connection_check_interval lets the server abort the work of a build
# whose process was killed even while a statement runs.
SESSION_LIMITS = (
    ("statement_timeout", "OPSMART_STATEMENT_TIMEOUT", "1h"),
    ("lock_timeout", "OPSMART_LOCK_TIMEOUT", "10min"),
    ("idle_in_transaction_session_timeout", "OPSMART_IDLE_TIMEOUT", "10min"),
    ("client_connection_check_interval", "OPSMART_CONNECTION_CHECK", "2s"),
)


def session_options() -> str:
    """``-c name=value`` for each session limit, as libpq's PGOPTIONS takes them."""
    parts = []
    for setting, variable, default in SESSION_LIMITS:
        value = os.environ.get(variable, default).strip()
        if not value or any(c.isspace() or c == "\\" for c in value):
            raise UserError(f"{variable} must be a PostgreSQL duration such as 30s or 10min, got {value!r}")
        parts.append(f"-c {setting}={value}")
    return " ".join(parts)


def dbt_env(url: str, schema: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE"):
        env.pop(var, None)
    env.update(connection.libpq_env(url))
    env["DBT_PROFILES_DIR"] = str(profiles_dir())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # A PGOPTIONS of the caller's comes last, so its settings win.
    env["PGOPTIONS"] = " ".join(filter(None, [session_options(), os.environ.get("PGOPTIONS", "")]))
    if schema:
        env[SCHEMA_ENV] = schema
    return env


@contextlib.contextmanager
def _target_folder() -> Iterator[Path | None]:
    """dbt's target folder for one run: the project's, or a private one when another run holds it.

    Two dbt processes sharing target/ overwrite each other's manifest, partial-parse
    state and run results. The first opsmart run takes an exclusive lock on
    target/.opsmart.lock and uses target/; a run started meanwhile gets a private
    folder under $OPSMART_HOME, removed afterwards.
    """
    target = connection.project_dir() / "target"
    target.mkdir(exist_ok=True)
    with (target / ".opsmart.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            private = connection.home_dir() / "dbt" / f"target-{os.getpid()}-{threading.get_ident()}"
            try:
                yield private
            finally:
                shutil.rmtree(private, ignore_errors=True)
            return
        try:
            yield None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def dbt(
    args: list[str],
    url: str,
    *,
    schema: str | None = None,
    capture: bool = False,
    target_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one dbt command in the project; output streams through unless ``capture``."""
    cmd = [*_dbt_executable(), *args]
    env = dbt_env(url, schema)
    with contextlib.ExitStack() as stack:
        if target_path is None:
            target_path = stack.enter_context(_target_folder())
        if target_path is not None:
            cmd += ["--target-path", str(target_path), "--log-path", str(Path(target_path) / "logs")]
        return subprocess.run(
            cmd,
            cwd=connection.project_dir(),
            env=env,
            text=True,
            capture_output=capture,
            check=False,
        )


def build_args(
    *,
    command: str = "build",
    full_refresh: bool = False,
    backfill: str | None = None,
    select: str | None = None,
    variables: dict[str, str] | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    args = [command]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    merged = dict(variables or {})
    if backfill:
        if full_refresh:
            raise UserError("--backfill and --full-refresh do not mix: a full refresh rebuilds every day")
        start, end = parse_backfill(backfill)
        merged.update(backfill_start=start.isoformat(), backfill_end=end.isoformat())
    if merged:
        args += ["--vars", json.dumps(merged)]
    extra = [a for a in (extra or []) if a != "--"]
    return args + extra


def run(
    url: str,
    *,
    full_refresh: bool = False,
    backfill: str | None = None,
    select: str | None = None,
    extra: list[str] | None = None,
    freshness: bool = True,
) -> int:
    """``dbt build`` (models, tests, unit tests), then ``dbt source freshness``."""
    args = build_args(full_refresh=full_refresh, backfill=backfill, select=select, extra=extra)
    result = dbt(args, url)
    if result.returncode != 0:
        return result.returncode
    if freshness:
        return dbt(["source", "freshness"], url).returncode
    return 0
