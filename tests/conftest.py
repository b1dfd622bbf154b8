"""Shared fixtures: one real PostgreSQL server per test session, a fresh database per test.

The server is the embedded one (in a throw-away OPSMART_HOME) unless
OPSMART_DATABASE_URL names an external server, whose role must be allowed to
create databases. Each database is cloned from a bootstrapped template, so a
test starts from the full ops schema in milliseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from opsmart import bootstrap, connection, localdb

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = "opsmart_test_template"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the maintenance database of the server the tests use."""
    external = os.environ.get(connection.URL_ENV)
    if external:
        yield external
        return
    home = tmp_path_factory.mktemp("opsmart-home")
    old = os.environ.get(connection.HOME_ENV)
    os.environ[connection.HOME_ENV] = str(home)
    try:
        url = localdb.up()
        yield connection.with_database(url, "postgres")
    finally:
        localdb.down()
        if old is None:
            os.environ.pop(connection.HOME_ENV, None)
        else:
            os.environ[connection.HOME_ENV] = old


def _admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(server_url, autocommit=True)


@pytest.fixture(scope="session")
def template_url(server_url: str) -> str:
    """A database with the whole ops schema applied, used as CREATE DATABASE template."""
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(TEMPLATE)))
    url = connection.with_database(server_url, TEMPLATE)
    bootstrap.apply(url, quiet=True)
    return url


@pytest.fixture
def make_database(server_url: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory: ``make_database(bootstrapped=True)`` returns the URL of a new, empty database."""
    created: list[str] = []

    def make(bootstrapped: bool = True) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        if bootstrapped:
            template = request.getfixturevalue("template_url")
            ident = sql.Identifier(connection.conninfo_to_dict(template)["dbname"])
            stmt = sql.SQL("create database {} template {}").format(sql.Identifier(name), ident)
        else:
            stmt = sql.SQL("create database {}").format(sql.Identifier(name))
        with _admin(server_url) as conn:
            conn.execute(stmt)
        created.append(name)
        return connection.with_database(server_url, name)

    yield make
    with _admin(server_url) as conn:
        for name in created:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def db_url(make_database: Callable[..., str]) -> str:
    """A fresh database with the ops schema applied."""
    return make_database()


@pytest.fixture
def empty_db_url(make_database: Callable[..., str]) -> str:
    """A fresh database with nothing in it."""
    return make_database(bootstrapped=False)


@pytest.fixture
def schema_copy(tmp_path: Path) -> Path:
    """A throw-away copy of ops_schema/ to edit; pass it as ``directory`` to bootstrap."""
    return Path(shutil.copytree(REPO / "ops_schema", tmp_path / "ops_schema"))


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != connection.URL_ENV}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "opsmart.cli", *args],
        env=full_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("check", env={...})`` runs the real ``opsmart`` CLI in a subprocess.

    OPSMART_DATABASE_URL is removed from the inherited environment unless ``env`` sets it.
    """
    return _run_cli
