"""Least-privilege deployments end to end, each on a server of its own, as a first-time user types them.

(a) a managed database's admin: database owner with CREATEROLE, never superuser;
(b) a database owner without CREATEROLE, whose roles a DBA creates from the script
    opsmart prints;
(c) in both, a login of opsmart_transformer runs every build, the first included,
    through `opsmart build` and through plain dbt with profiles.example.yml.

Every command runs as the real CLI (or dbt) in a subprocess with only the
environment a user would set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support import SERVERS, cheap_scram

from opsmart import connection, postgres

pytestmark = pytest.mark.every_server

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "--organizations",
    "4",
    "--users",
    "30",
    "--days",
    "5",
    "--events-per-day",
    "150",
    "--runs-per-day",
    "15",
]


@pytest.fixture
def fresh_server(request: pytest.FixtureRequest, pg_server: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty server of the version under test: no opsmart roles exist on it yet."""
    server_id = request.node.callspec.params["pg_server"]
    if server_id == "external":
        pytest.skip("needs a server of its own (not OPSMART_DATABASE_URL's)")
    bindir = SERVERS[server_id] or postgres.embedded_bindir()
    server = postgres.LocalServer(tmp_path / "pgdata", bindir=bindir, settings={"shared_buffers": "128MB"})
    server.init()
    server.start()
    cheap_scram(server.url("postgres"))
    try:
        yield server.url("postgres")
    finally:
        server.remove()


def run_sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def login(url: str, user: str, password: str, dbname: str | None = None) -> str:
    return make_conninfo(url, user=user, password=password, dbname=dbname or conninfo_to_dict(url)["dbname"])


def opsmart(
    tmp_path: Path, url: str, *args: str, build_url: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: only OPSMART_* set, its own home (no embedded server in play)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPSMART_", "PG", "DBT_TARGET_PATH"))}
    full.update({connection.URL_ENV: url, connection.HOME_ENV: str(tmp_path / "home"), **env})
    # dbt's target folder of this test's own (the suite's, one per server of the pool, would be
    # parsed for this new server and parsed again by the next test there)
    full["DBT_TARGET_PATH"] = str(tmp_path / "dbt-target-cli")
    if build_url:
        full[connection.BUILD_URL_ENV] = build_url
    return subprocess.run(
        [sys.executable, "-m", "opsmart.cli", *args],
        env=full,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def plain_dbt(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """dbt itself, configured as the README says: profiles.example.yml and the libpq variables."""
    profiles = tmp_path / "dbt-profiles"
    profiles.mkdir(exist_ok=True)
    shutil.copy(REPO / "profiles.example.yml", profiles / "profiles.yml")
    params = conninfo_to_dict(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSMART_", "PG"))}
    env.update(
        PGHOST=params["host"],
        PGPORT=str(params["port"]),
        PGUSER=params["user"],
        PGPASSWORD=params["password"],
        PGDATABASE=params["dbname"],
        DBT_PROFILES_DIR=str(profiles),
    )
    # the CLI's target folder, as `dbt` and `opsmart` in one checkout share target/: the same
    # profile and project, so each reuses what the other parsed
    target = tmp_path / "dbt-target-cli"
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """A non-zero exit with one `opsmart:` line on stderr naming what is missing."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout[-2000:]
    assert len(lines) == 1 and lines[0].startswith("opsmart: "), result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def marts_equal_a_full_refresh(tmp_path: Path, owner: str, builder: str) -> None:
    # the marts and what they are built from, without the data tests the builds before ran
    full_refresh = ["build", "--full-refresh", "--select", "+marts"]
    ok(opsmart(tmp_path, builder, *full_refresh, OPSMART_MART_SCHEMA="mart_full"))
    with psycopg.connect(owner) as conn:
        for mart in ("feature_daily", "analysis_daily", "metric_timeseries", "performance_dashboard"):
            query = (
                "select count(*), md5(coalesce(string_agg(md5(t::text), '' order by md5(t::text)), ''))"
                " from {}.{} as t"
            )
            mine = conn.execute(query.format("mart", mart)).fetchone()
            full = conn.execute(query.format("mart_full", mart)).fetchone()
            assert mine == full and mine[0] > 0, mart


def a_user_with_events(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(
            conn.execute("select user_id from ops.event where user_id is not null limit 1").fetchone()[0]
        )


def test_a_managed_admin_with_createrole_bootstraps_and_a_transformer_login_builds(
    fresh_server: str, tmp_path: Path
) -> None:
    run_sql(fresh_server, "create role platform_admin login createrole createdb password 'pw-Admin-1'")
    admin_maintenance = login(fresh_server, "platform_admin", "pw-Admin-1")
    run_sql(admin_maintenance, "create database platform")
    admin = login(admin_maintenance, "platform_admin", "pw-Admin-1", "platform")

    out = ok(opsmart(tmp_path, admin, "bootstrap"))
    assert f"bootstrapping {connection.describe(admin)} (from OPSMART_DATABASE_URL)" in out
    # the README's recipe for the build login
    run_sql(admin, "create role nightly_build login password 'pw-Build-1' in role opsmart_transformer")
    builder = login(admin, "nightly_build", "pw-Build-1")
    ok(opsmart(tmp_path, admin, "generate", *TINY))

    refused(opsmart(tmp_path, admin, "build"), "platform_admin may create roles (CREATEROLE)")
    ok(opsmart(tmp_path, admin, "build", build_url=builder))  # the very first build
    ok(plain_dbt(tmp_path, builder, "build"))
    for who in (admin, builder):
        assert "status          healthy" in ok(opsmart(tmp_path, who, "check"))

    ok(opsmart(tmp_path, admin, "purge", "--user", a_user_with_events(admin)))
    # a writer commits as the admin while the build login builds; the load's last incremental build,
    # which also sees the purge, must equal a full refresh (else it exits non-zero)
    out = ok(opsmart(tmp_path, admin, "load", "--seconds", "1", "--writers", "1", build_url=builder))
    assert "marts equal a full refresh" in out, out

    dump = tmp_path / "platform.dump"
    ok(opsmart(tmp_path, admin, "backup", str(dump)))
    run_sql(admin_maintenance, "create database restored")
    restored = login(admin_maintenance, "platform_admin", "pw-Admin-1", "restored")
    ok(opsmart(tmp_path, restored, "restore", str(dump)))
    # the build login itself as OPSMART_DATABASE_URL, no owner's URL beside it
    ok(opsmart(tmp_path, login(restored, "nightly_build", "pw-Build-1"), "build"))


def test_an_owner_without_createrole_gets_its_roles_from_a_dba_and_then_builds(
    fresh_server: str, tmp_path: Path
) -> None:
    run_sql(
        fresh_server,
        "create role app_owner login password 'pw-Owner-1'",
        "create database platform owner app_owner",
    )
    owner = login(fresh_server, "app_owner", "pw-Owner-1", "platform")
    dba = make_conninfo(fresh_server, dbname="platform")

    out = ok(opsmart(tmp_path, owner, "bootstrap"))
    assert "app_owner may not create roles" in out
    refused(opsmart(tmp_path, owner, "build"), "role opsmart_transformer does not exist")

    # The DBA runs the script opsmart prints (no connection needed to print it) ...
    script = ok(opsmart(tmp_path, "postgresql://nobody@127.0.0.1:1/none", "bootstrap", "--roles-sql"))
    run_sql(dba, script, "create role nightly_build login password 'pw-Build-1' in role opsmart_transformer")
    builder = login(owner, "nightly_build", "pw-Build-1")
    refused(opsmart(tmp_path, owner, "build", build_url=builder), "run opsmart bootstrap again")
    # ... and the owner's next bootstrap grants them their privileges.
    ok(opsmart(tmp_path, owner, "bootstrap"))
    ok(opsmart(tmp_path, owner, "generate", *TINY))
    ok(plain_dbt(tmp_path, builder, "build"))  # the very first build, by plain dbt
    ok(opsmart(tmp_path, owner, "build", build_url=builder))
    assert "status          healthy" in ok(opsmart(tmp_path, owner, "check"))
    marts_equal_a_full_refresh(tmp_path, owner, builder)

    ok(opsmart(tmp_path, owner, "purge", "--user", a_user_with_events(owner)))
    dump = tmp_path / "platform.dump"
    ok(opsmart(tmp_path, owner, "backup", str(dump)))
    run_sql(fresh_server, "create database restored owner app_owner")
    ok(opsmart(tmp_path, login(owner, "app_owner", "pw-Owner-1", "restored"), "restore", str(dump)))
