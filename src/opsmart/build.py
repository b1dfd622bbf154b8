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
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from opsmart import connection, dbt_chain, interrupts, logins, marts, replication_status
from opsmart.errors import UserError

MARTS = marts.NAMES
# A backfill recomputes every bucket of its range (hours for some marts) in one
# transaction per mart: ten years is 87,840 hours. A full refresh does more.
MAX_BACKFILL_DAYS = 3_660
# dbt's partial-parse state in a target folder
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


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
    if (end - start).days > MAX_BACKFILL_DAYS:
        raise UserError(
            f"--backfill {start}:{end} spans {(end - start).days:,} days, more than {MAX_BACKFILL_DAYS:,}"
            " (ten years): split it, or rebuild everything with --full-refresh"
        )
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
    folder = connection.ensure_home() / "dbt"
    folder.mkdir(parents=True, exist_ok=True)
    source = connection.project_dir() / "profiles.example.yml"
    target = folder / "profiles.yml"
    text = source.read_text()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return folder


_DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(us|ms|s|min|h|d)?$")


def session_limits() -> dict[str, tuple[str, str]]:
    """setting -> (environment variable, default), as dbt_project.yml's var session_limits declares them."""
    import yaml

    project = yaml.safe_load((connection.project_dir() / "dbt_project.yml").read_text())
    limits = project["vars"]["session_limits"]
    return {name: (spec["env"], str(spec["default"])) for name, spec in limits.items()}


def check_session_limits() -> None:
    """Each session-limit variable of the environment is a duration, or a one-line error names it."""
    for variable, default in session_limits().values():
        value = os.environ.get(variable, default).strip()
        if not _DURATION.match(value):
            raise UserError(f"{variable} must be a duration such as 30s or 10min, got {value!r}")


def dbt_env(url: str, schema: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE"):
        env.pop(var, None)
    env.update(connection.libpq_env(url))
    env["DBT_PROFILES_DIR"] = str(profiles_dir())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if schema:
        env[connection.SCHEMA_ENV] = connection.check_schema_name(schema, "the mart schema")
    return env


def build_url(url: str) -> str:
    """The URL builds connect with.

    ``OPSMART_BUILD_URL`` when set (a login of opsmart_transformer beside an owner's
    OPSMART_DATABASE_URL); else, on the embedded server, its own build login on
    ``url``'s database; else ``url`` as given.
    """
    if os.environ.get(connection.BUILD_URL_ENV):
        return connection.checked_url(connection.BUILD_URL_ENV)
    if connection.is_external():
        return url
    from opsmart import localdb

    password_file = localdb.server().pgdata.with_name("builder.password")
    return logins.ensure_login(url, logins.BUILDER, logins.TRANSFORMER, password_file)


def preflight(url: str) -> None:
    """One clear line, before dbt starts, when the database is unreachable or the login may not build."""
    check_session_limits()
    connection.mart_schema()
    problem = logins.build_role_problem(url)
    if problem:
        raise UserError(
            f"builds run as a login of opsmart_transformer and nothing more: {problem}; "
            f"create one (README, Roles) and point {connection.BUILD_URL_ENV} at it"
        )


def target_dir() -> Path:
    """The target folder dbt uses when given none: ``DBT_TARGET_PATH`` (dbt's own variable, relative
    to the project) when set, else the project's target/."""
    return connection.project_dir() / os.environ.get("DBT_TARGET_PATH", "target")


def side_target_dir(schema: str) -> Path:
    """The target folder of runs into another mart schema than the configured one (``opsmart
    load``'s full refresh it compares with): a folder of its own inside ``target_dir``."""
    return target_dir() / f"schema-{schema}"


@contextlib.contextmanager
def _target_folder(schema: str | None = None) -> Iterator[Path | None]:
    """dbt's target folder for one run: its usual one (``target_dir``), or a private one when
    another run holds it.

    Two dbt processes sharing a target folder overwrite each other's manifest, partial-parse
    state and run results. The first opsmart run takes an exclusive lock on
    .opsmart.lock in it and uses it; a run started meanwhile gets a private
    folder under $OPSMART_HOME, removed afterwards.

    A run into another mart ``schema`` than the configured one uses ``side_target_dir``: dbt's
    partial parsing holds only for the connection profile it parsed for, the schema included,
    so sharing the usual folder made such a run parse the whole project again (about 4 s of
    CPU here), then the next scheduled build too, and left that run's results where the
    scheduled build's belong.
    """
    side = schema is not None and schema != connection.mart_schema()
    target = side_target_dir(schema) if side else target_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot use dbt's target folder {target}: {exc.strerror or exc}") from None
    with (target / ".opsmart.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            private = connection.home_dir() / "dbt" / f"target-{os.getpid()}-{threading.get_ident()}"
            _seed_partial_parse(target, private)
            try:
                yield private
            finally:
                shutil.rmtree(private, ignore_errors=True)
            return
        try:
            yield target if side else None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _seed_partial_parse(source: Path, private: Path) -> None:
    """A copy of ``source``'s partial-parse state in the new folder ``private``: without it, a run
    that found the usual folder taken parsed the whole project (about 4 s of CPU here, against
    0.2 s). dbt checks the state against the project and the profile, and parses in full what it
    cannot use, a half-written copy included."""
    with contextlib.suppress(OSError):
        private.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / PARTIAL_PARSE_FILE, private / PARTIAL_PARSE_FILE)


def dbt(
    args: list[str],
    url: str,
    *,
    schema: str | None = None,
    capture: bool = False,
    target_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one dbt command in the project (a chain of one, ``opsmart.dbt_chain``); output
    streams through unless ``capture``."""
    chain = dbt_chain.command()
    return _dbt_process(lambda paths: [*chain, *args, *paths], url, schema, capture, target_path)


def dbt_sequence(commands: list[list[str]], url: str) -> list[int]:
    """Run dbt commands one after another in one process (``opsmart.dbt_chain``), output streaming
    through, up to the first that fails; the exit status of each command that ran."""
    with tempfile.TemporaryDirectory(prefix="opsmart-dbt-") as scratch:
        statuses = Path(scratch) / "statuses"
        statuses.touch()

        def chain(paths: list[str]) -> list[str]:
            cmd = dbt_chain.command(statuses)
            for i, args in enumerate(commands):
                cmd += [*([dbt_chain.THEN] if i else []), *args, *paths]
            return cmd

        result = _dbt_process(chain, url, None, False, None)
        done = [int(line) for line in statuses.read_text().split()]
    if result.returncode != 0 and (not done or done[-1] == 0):
        done.append(result.returncode)  # stopped before it could say: the status is the process's
    return done


def _dbt_process(
    command: Callable[[list[str]], list[str]],
    url: str,
    schema: str | None,
    capture: bool,
    target_path: Path | None,
) -> subprocess.CompletedProcess[str]:
    """``command(paths)`` run in the project as the login of ``url``, where ``paths`` are the
    --target-path and --log-path of each dbt command (none: dbt's own)."""
    env = dbt_env(url, schema)
    with contextlib.ExitStack() as stack:
        if target_path is None:
            target_path = stack.enter_context(_target_folder(schema))
        paths = []
        if target_path is not None:
            paths = ["--target-path", str(target_path), "--log-path", str(Path(target_path) / "logs")]
        return interrupts.run(command(paths), cwd=connection.project_dir(), env=env, capture=capture)


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
        if not select.strip():
            raise UserError("--select wants a dbt selector such as feature_daily, got an empty one")
        # a selector that matches nothing is a typo in a scheduled job, not success
        args += ["--select", select, "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}']
    merged = dict(variables or {})
    if backfill is not None:
        if full_refresh:
            raise UserError("--backfill and --full-refresh do not mix: a full refresh rebuilds every day")
        start, end = parse_backfill(backfill)
        merged.update(backfill_start=start.isoformat(), backfill_end=end.isoformat())
    if merged:
        args += ["--vars", json.dumps(merged)]
    extra = [a for a in (extra or []) if a != "--"]
    return args + extra


def vacuum_marts(url: str) -> None:
    """``vacuum (analyze)`` of the marts a build changed: fresh statistics, and a visibility map
    that lets analysts' index-only scans skip the heap. (Not a dbt hook: VACUUM cannot run
    inside the transaction every dbt hook runs in.)"""
    from psycopg import sql

    schema = connection.mart_schema()
    with connection.connect(url, autocommit=True) as conn:
        changed = conn.execute(
            "select st.model from ops.mart_build_state as st"
            " where st.target_schema = %s and st.model = any(%s)"
            " and (st.is_full_refresh or st.buckets_rebuilt > 0 or st.groups_rebuilt > 0)"
            " and to_regclass(format('%%I.%%I', st.target_schema, st.model)) is not null",
            [schema, list(marts.NAMES)],
        ).fetchall()
        for (model,) in changed:
            conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(schema, model)))


def platform_is_empty(url: str) -> bool:
    """True before the platform has written anything the marts read."""
    with connection.connect(url, autocommit=True) as conn:
        return not conn.execute(
            "select exists (select from ops.organization"
            " where id is distinct from ops.anonymous_organization())"
        ).fetchone()[0]


def run(
    url: str | None = None,
    *,
    full_refresh: bool = False,
    backfill: str | None = None,
    select: str | None = None,
    extra: list[str] | None = None,
    freshness: bool = True,
) -> int:
    """``dbt build`` (models, seeds, data tests), then ``dbt source freshness``, as the build login.

    Without ``url``, the database every command works on; the arguments and the
    environment are checked before it is looked for. Unit tests are left to CI, as
    dbt Labs recommends for production builds: their inputs are fixed, so a scheduled
    build would only pay for them again (a seventh of a build of the demo data: 7.7 s, not 9.0 s).
    """
    args = build_args(full_refresh=full_refresh, backfill=backfill, select=select, extra=extra)
    args[1:1] = ["--exclude-resource-type", "unit_test"]
    check_session_limits()
    url = build_url(url or connection.database_url())
    replication_status.build_preflight(url)  # a primary whose analytics server builds; schema drift
    preflight(url)
    # Every source is "stale" before the first row arrives; that is not a failure.
    skip_freshness = freshness and platform_is_empty(url)
    commands = [args, ["source", "freshness"]] if freshness and not skip_freshness else [args]
    # one dbt process for both: a second would start Python and dbt again (about 2.5 s)
    statuses = dbt_sequence(commands, url)
    if statuses[0] != 0:
        return statuses[0]
    vacuum_marts(url)
    if skip_freshness:
        print("source freshness: skipped, the platform has no data yet (ops.organization is empty)")
    return statuses[-1]
