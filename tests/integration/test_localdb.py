"""opsmart db up / url / down on a throw-away OPSMART_HOME."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from opsmart import connection
from opsmart.errors import UserError


def test_db_up_twice_url_and_down(tmp_path: Path, cli) -> None:
    env = {connection.HOME_ENV: str(tmp_path / "home")}
    try:
        first = cli("db", "up", env=env)
        assert first.returncode == 0, first.stderr
        assert first.stderr == ""
        url = first.stdout.strip()
        assert url.startswith("postgresql://")

        second = cli("db", "up", env=env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == url

        shown = cli("db", "url", env=env)
        assert shown.returncode == 0
        assert shown.stdout.strip() == url

        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone() == ("opsmart",)

        down = cli("db", "down", env=env)
        assert down.returncode == 0, down.stderr
        assert down.stdout.strip() == "stopped"
        with pytest.raises(UserError, match="cannot connect to PostgreSQL"):
            connection.connect(url)

        again = cli("db", "down", env=env)
        assert again.returncode == 0
        assert again.stdout.strip() == "not running"

        gone = cli("db", "url", env=env)
        assert gone.returncode == 2
        assert (
            gone.stderr.strip()
            == "opsmart: the embedded PostgreSQL is not running: start it with `opsmart db up`"
        )
    finally:
        cli("db", "down", env=env)


def test_db_commands_refuse_when_an_external_url_is_set(cli) -> None:
    result = cli("db", "up", env={connection.URL_ENV: "postgresql://postgres@127.0.0.1:1/x"})
    assert result.returncode == 2
    assert result.stderr.strip() == f"opsmart: {connection.URL_ENV} is set: the embedded server is not in use"
