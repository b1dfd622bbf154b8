"""opsmart check: exit 0 when healthy, 1 when unhealthy, 2 with one clear line when unreachable."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from opsmart import bootstrap, connection, health

SHIPPED = len(list(bootstrap.schema_dir().glob("[0-9][0-9][0-9]_*.sql")))

URL = connection.URL_ENV


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("opsmart: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_healthy_database_exits_zero(db_url: str, cli) -> None:
    result = cli("check", env={URL: db_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^status\s+healthy$", result.stdout, re.M)
    assert re.search(rf"^migrations\s+{SHIPPED} applied, 0 pending", result.stdout, re.M)
    assert result.stderr == ""


def test_json_report_counts_rows_newest_event_and_marts(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    occurred = datetime(2025, 5, 4, 3, 2, 1, tzinfo=UTC)
    built = datetime(2025, 5, 5, tzinfo=UTC)
    with psycopg.connect(db_url) as conn:
        org = conn.execute(
            "insert into ops.organization (name, slug) values ('Acme', 'acme') returning id"
        ).fetchone()
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at) "
            "values (%s, 'web', 'x', %s)",
            [org[0], occurred],
        )
        conn.execute("create table mart.feature_daily as select 1 as n union all select 2")
        conn.execute(
            "insert into ops.mart_build_state (target_schema, model, snapshot, built_at, is_full_refresh) "
            "values ('mart', 'feature_daily', pg_current_snapshot(), %s, true)",
            [built],
        )

    assert health.run(db_url, as_json=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is True
    assert report["migrations"] == {"applied": SHIPPED, "pending": [], "changed": [], "missing_files": []}
    assert report["tables"]["missing"] == []
    assert set(report["tables"]["rows"]) == {f"{s}.{t}" for s, t in bootstrap.declared_tables()}
    assert report["tables"]["rows"]["ops.event"] == 1
    assert report["tables"]["rows"]["ops.organization"] == 1
    assert datetime.fromisoformat(report["events"]["newest_occurred_at"]) == occurred
    assert report["events"]["newest_received_at"] is not None
    assert report["health_check"]["status"] == "healthy"
    assert report["health_check"]["modules_status"]["events"] is True
    [mart] = report["marts"]
    assert mart["table"] == "mart.feature_daily"
    assert mart["rows"] == 2
    assert datetime.fromisoformat(mart["last_built_at"]) == built


def test_pending_migrations_exit_one(empty_db_url: str, schema_copy: Path, cli) -> None:
    for path in schema_copy.glob("*.sql"):
        if int(path.name[:3]) > 3:
            path.unlink()
    bootstrap.apply(empty_db_url, quiet=True, directory=schema_copy)

    result = cli("check", env={URL: empty_db_url})
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{SHIPPED - 3} pending migrations" in result.stdout
    assert "missing tables: " in result.stdout and "ops.event" in result.stdout
    assert re.search(r"^status\s+UNHEALTHY$", result.stdout, re.M)


def test_changed_migration_exits_one(empty_db_url: str, schema_copy: Path, cli) -> None:
    grants = schema_copy / "011_health.sql"
    grants.write_text(grants.read_text() + "\n-- applied from an edited copy\n")
    bootstrap.apply(empty_db_url, quiet=True, directory=schema_copy)

    result = cli("check", "--json", env={URL: empty_db_url})
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert report["migrations"]["changed"] == ["011_health.sql"]


@pytest.fixture
def password_role(server_url: str) -> Iterator[str]:
    """A login role whose password is 'right-password'; dropped afterwards."""
    role = f"opsmart_pw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login password 'right-password'").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def test_wrong_password_is_one_line(db_url: str, password_role: str, cli) -> None:
    url = make_conninfo(db_url, user=password_role, password="wrong-password")
    try:
        psycopg.connect(url).close()
    except psycopg.OperationalError:
        pass
    else:
        pytest.skip("this server does not check passwords (trust authentication)")
    result = cli("check", env={URL: url})
    assert_one_line_error(result, f"password authentication failed for user {password_role}")
    assert "wrong-password" not in result.stderr


@pytest.mark.parametrize("case", ["stopped server", "missing database"])
def test_unreachable_database_is_one_line(server_url: str, cli, case: str) -> None:
    if case == "stopped server":
        url, expected = "postgresql://postgres@127.0.0.1:1/x", "cannot connect to PostgreSQL at 127.0.0.1:1/x"
    else:
        url = connection.with_database(server_url, "no_such_database_here")
        expected = 'database "no_such_database_here" does not exist'
    result = cli("check", env={URL: url})
    assert_one_line_error(result, expected)
    assert result.stdout == ""


def test_check_does_not_start_the_embedded_server(tmp_path: Path, cli) -> None:
    home = tmp_path / "home"
    result = cli("check", env={connection.HOME_ENV: str(home)})
    assert_one_line_error(result, "the embedded PostgreSQL is not running")
    assert not (home / "pgdata").exists()
