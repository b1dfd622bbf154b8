"""The embedded PostgreSQL server (pgserver) under ``.opsmart/``.

pgserver bundles PostgreSQL 16 and runs it as an unprivileged ``pgserver`` user
when we are root (PostgreSQL refuses to run as root). The server keeps running
after the command that started it exits, until ``opsmart db down``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from pathlib import Path

from opsmart.connection import home_dir
from opsmart.errors import UserError

DATABASE = "opsmart"
SUPERUSER = "postgres"

# Tuned for the 2-core, 24 GiB machines this runs on: the marts are built by
# large sorts and hash aggregates.
SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "8GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "random_page_cost": "1.1",
    "jit": "off",
    "timezone": "UTC",
    "log_timezone": "UTC",
}

# Local socket: the superuser by peer-less trust (the data directory is ours),
# every other role by password, so a wrong password is really refused.
HBA = """\
# written by opsmart
local   all   postgres                 trust
local   all   all                      scram-sha-256
host    all   all        127.0.0.1/32  scram-sha-256
host    all   all        ::1/128       scram-sha-256
"""


def pgdata() -> Path:
    return home_dir() / "pgdata"


def _quiet_pgserver() -> None:
    logging.getLogger("pgserver").setLevel(logging.ERROR)
    # Importing pgserver makes platformdirs warn when XDG_RUNTIME_DIR is unset
    # (as root, in CI): two lines of noise on every command's stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # noqa: F401


def _postmaster():
    _quiet_pgserver()
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata())
    if info is not None and info.is_running() and info.status == "ready":
        return info
    return None


def is_running() -> bool:
    return pgdata().joinpath("PG_VERSION").exists() and _postmaster() is not None


def _system_user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None


def _pg_ctl(args: list[str]) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(args, pgdata=pgdata(), user=_system_user(), timeout=60)


def _configure_new_cluster() -> None:
    """One-time settings for a fresh data directory: tuning and password auth."""
    conf = pgdata() / "postgresql.auto.conf"
    lines = [f"{key} = '{value}'" for key, value in SETTINGS.items()]
    with conf.open("a") as fh:
        fh.write("\n# opsmart\n" + "\n".join(lines) + "\n")
    (pgdata() / "pg_hba.conf").write_text(HBA)


def up() -> str:
    """Start the embedded server if needed (idempotent) and return its URL."""
    _quiet_pgserver()
    import pgserver

    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    fresh = not pgdata().joinpath("PG_VERSION").exists()
    try:
        pgserver.get_server(pgdata(), cleanup_mode=None)
        if fresh:
            _configure_new_cluster()
            _pg_ctl(["-w", "-m", "fast", "restart", "-l", str(pgdata() / "log")])
    except Exception as exc:  # pgserver raises bare subprocess and assertion errors
        log = pgdata() / "log"
        hint = f"; see {log}" if log.exists() else ""
        raise UserError(f"could not start the embedded PostgreSQL in {pgdata()}: {exc}{hint}") from None
    _ensure_database()
    return url(start=False)


def _ensure_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_url_for("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone()
        if not exists:
            # A concurrent `db up` may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))


def _url_for(database: str) -> str:
    info = _postmaster()
    if info is None:
        raise UserError("the embedded PostgreSQL is not running: start it with `opsmart db up`")
    if info.socket_dir is not None:
        return f"postgresql://{SUPERUSER}@/{database}?host={info.socket_dir}&port={info.port}"
    return f"postgresql://{SUPERUSER}@127.0.0.1:{info.port}/{database}"


def url(*, start: bool = True) -> str:
    """URL of the embedded database; starts the server first when ``start``."""
    if not is_running():
        if not start:
            raise UserError("the embedded PostgreSQL is not running: start it with `opsmart db up`")
        return up()
    return _url_for(DATABASE)


def down() -> bool:
    """Stop the embedded server. Returns False when it was not running."""
    _quiet_pgserver()
    if not is_running():
        return False
    _pg_ctl(["-w", "-m", "fast", "stop"])
    deadline = time.monotonic() + 30
    while _postmaster() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    return True
