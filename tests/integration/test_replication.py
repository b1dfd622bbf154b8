"""Analytics off the primary: two real servers, the README's recipe, writers, restarts and drift.

The primary is Debian's PostgreSQL 15 (the oldest version opsmart supports; the
embedded 18 where it is missing, locally) with ``wal_level = logical``; the
analytics server is the embedded PostgreSQL 18, whose owner subscribes without
being a superuser. Every command is the real CLI (or psql) as the README's recipe
types it, each database's owner and the build login doing their own part.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support import IN_CI, SERVERS, cheap_scram, mart_digest

from opsmart import build, digest, load, postgres, replication_status
from opsmart.synth import generate, mutate
from opsmart.synth.scale import Scale

REPO = Path(__file__).resolve().parents[2]
MARTS = build.MARTS
RECIPE_MARK = "<!-- recipe: analytics-off-the-primary"
PRIMARY_OWNER = ("platform_owner", "secret")
SETTINGS = {"shared_buffers": "128MB", "wal_level": "logical", "max_wal_size": "1GB"}
SECONDS = float(os.environ.get("OPSMART_REPLICATION_SECONDS", "16"))


@dataclass
class Deployment:
    primary: postgres.LocalServer
    analytics: postgres.LocalServer
    primary_url: str  # the platform's owner
    analytics_url: str  # the analytics database's owner
    build_url: str  # the analytics server's build login
    recipe: subprocess.CompletedProcess[str]

    @property
    def slot(self) -> str:
        return "opsmart_analytics"

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The real CLI as the analytics server's operator runs it (the recipe's environment)."""
        return _run(
            [sys.executable, "-m", "opsmart.cli", *args],
            {
                "OPSMART_PRIMARY_URL": self.primary_url,
                "OPSMART_DATABASE_URL": self.analytics_url,
                "OPSMART_BUILD_URL": self.build_url,
                **env,
            },
        )


def _run(cmd: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OPSMART_", "PG"))}
    full.update(env)
    full.setdefault("OPSMART_HOME", str(REPO / ".opsmart" / "test-replication"))
    return subprocess.run(
        cmd, env=full, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _one(url: str, query: str) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]  # type: ignore[index,arg-type]


def recipe() -> str:
    """The README's recipe: the shell block after its marker."""
    text = (REPO / "README.md").read_text()
    after = text[text.index(RECIPE_MARK) :]
    return re.search(r"```sh\n(.*?)```", after, re.DOTALL).group(1)  # type: ignore[union-attr]


def _server(home: Path, bindir: Path | None) -> postgres.LocalServer:
    server = postgres.LocalServer(
        home / "pgdata", bindir=bindir or postgres.embedded_bindir(), settings=SETTINGS
    )
    server.init()
    server.start()
    cheap_scram(server.url("postgres"))
    return server


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A platform on the primary, then the README's recipe, run as written."""
    pg15 = SERVERS["pg15"]
    if pg15 is not None and not (pg15 / "postgres").exists():
        if IN_CI:
            pytest.fail(f"no PostgreSQL 15 in {pg15}: CI runs the primary on it")
        pg15 = None  # locally: two embedded servers
    primary = _server(tmp_path_factory.mktemp("primary"), pg15)
    analytics = _server(tmp_path_factory.mktemp("analytics"), None)
    try:
        admin = primary.url("postgres")
        _sql(
            admin,
            f"create role {PRIMARY_OWNER[0]} login createrole password '{PRIMARY_OWNER[1]}'",
            f"create database platform owner {PRIMARY_OWNER[0]}",
        )
        primary_url = make_conninfo(
            admin, user=PRIMARY_OWNER[0], password=PRIMARY_OWNER[1], dbname="platform"
        )
        platform = _run(
            [sys.executable, "-m", "opsmart.cli", "bootstrap"], {"OPSMART_DATABASE_URL": primary_url}
        )
        assert platform.returncode == 0, platform.stderr
        generate.generate(primary_url, Scale.preset("tiny"), seed=11, progress=False)

        script = recipe()
        for name, server in (("primary", primary), ("analytics", analytics)):
            script = script.replace(f"{name}.internal:5432", f"127.0.0.1:{server.port()}")
        done = _run(
            ["bash", "-euo", "pipefail", "-c", script],
            {
                "PATH": f"{Path(sys.executable).parent}:{postgres.embedded_bindir()}:{os.environ['PATH']}",
                "PRIMARY_ADMIN_URL": admin,
                "ANALYTICS_ADMIN_URL": analytics.url("postgres"),
            },
        )
        analytics_url = make_conninfo(
            analytics.url("postgres"), user="analytics_owner", password="owner-secret", dbname="analytics"
        )
        yield Deployment(
            primary,
            analytics,
            primary_url,
            analytics_url,
            make_conninfo(analytics_url, user="analytics_build", password="build-secret"),
            done,
        )
    finally:
        analytics.remove()
        primary.remove()


def assert_replicas_equal(d: Deployment) -> None:
    """Every replicated table holds the same rows on both servers (change_xid aside)."""
    skip = set()
    with psycopg.connect(d.primary_url) as conn:
        skip = {
            f"ops.{r[0]}"
            for r in conn.execute(
                "select relname from pg_class where relnamespace = 'ops'::regnamespace"
                " and relkind in ('r', 'p') and not relispartition"
            )
        } - set(replication_status.TABLES)
    primary = digest.digest(d.primary_url, schemas=("ops",), exclude=skip)
    analytics = digest.digest(d.analytics_url, schemas=("ops",), exclude=skip)
    differ = sorted(t for t in replication_status.TABLES if primary[t] != analytics[t])
    assert not differ, f"replicas differ from the primary: {differ}"


def assert_marts_exact(d: Deployment) -> None:
    """The analytics server's marts equal a full refresh there."""
    full = build.dbt(
        ["run", "--select", "+marts", "--full-refresh"], d.build_url, schema="mart_full", capture=True
    )
    assert full.returncode == 0, full.stdout[-3000:]
    differ = {
        mart: (mart_digest(d.analytics_url, "mart", mart), mart_digest(d.analytics_url, "mart_full", mart))
        for mart in MARTS
        if mart_digest(d.analytics_url, "mart", mart) != mart_digest(d.analytics_url, "mart_full", mart)
    }
    assert not differ, differ


def test_the_readme_recipe_builds_exact_marts_on_the_analytics_server(deployment: Deployment) -> None:
    d = deployment
    assert d.recipe.returncode == 0, d.recipe.stdout[-4000:] + d.recipe.stderr[-3000:]
    # replicate status and check both report a healthy replication, with its lag
    assert d.recipe.stdout.count("status          healthy") == 2, d.recipe.stdout[-4000:]
    assert "subscription    opsmart_analytics: enabled, applying" in d.recipe.stdout
    assert "bytes not confirmed" in d.recipe.stdout
    assert_replicas_equal(d)
    # (the first build there is a build from nothing: its exactness after changes is the next tests')
    assert _one(d.analytics_url, "select count(*) from mart.feature_daily") > 0
    # every build there ran as the build login, a plain member of opsmart_transformer (never the owner)
    assert _one(
        d.analytics_url,
        "select array_agg(distinct login order by login)::text[] from ops.build_run",
    ) == ["analytics_build"]
    assert _one(
        d.analytics_url,
        "select not (rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls)"
        " and array(select b.rolname from pg_auth_members as m join pg_roles as b on b.oid = m.roleid"
        " where m.member = r.oid) = array['opsmart_transformer']::name[]"
        " from pg_roles as r where rolname = 'analytics_build'",
    )
    # the primary logs nothing for the marts any more, and refuses to build them
    assert _one(d.primary_url, "select ops.mart_tracking_is_off()") is True
    _sql(d.primary_url, "create role platform_build login password 'pb' in role opsmart_transformer")
    refused = _run(
        [sys.executable, "-m", "opsmart.cli", "build"],
        {
            "OPSMART_DATABASE_URL": d.primary_url,
            "OPSMART_BUILD_URL": make_conninfo(d.primary_url, user="platform_build", password="pb"),
        },
    )
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "opsmart: the change tracking of this database is switched off: an analytics server builds its marts"
        " (opsmart replicate setup); build there"
    ]


class _Writer(load._Writer):
    """opsmart load's writer (inserts, late rows, updates, deletes), reconnecting after a restart."""

    def run(self) -> None:
        self.done = self.failed = 0
        while not self.stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    while not self.stop.is_set():
                        self._one(conn)
                        self.done += 1
            except psycopg.Error:
                self.failed += 1
                time.sleep(0.2)


def _retrying(action, attempts: int = 4) -> object:
    for attempt in range(attempts):
        try:
            return action()
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            if attempt == attempts - 1:
                raise
    return None


def test_writers_restarts_and_repeated_builds_lose_nothing(deployment: Deployment) -> None:
    d = deployment
    assert d.recipe.returncode == 0
    _sql(d.primary_url, "create role platform_app login password 'app' in role opsmart_app")
    app_url = make_conninfo(d.primary_url, user="platform_app", password="app")
    context = load._context(app_url)
    stop, builds_stop = threading.Event(), threading.Event()
    writers = [_Writer(app_url, 100 + i, stop, context) for i in range(3)]
    builds: list[int] = []

    def build_loop() -> None:  # two successful builds while the writers write and the servers restart
        while not builds_stop.is_set() and builds.count(0) < 2:
            builds.append(build.dbt(["run", "--select", "marts"], d.build_url, capture=True).returncode)

    builder = threading.Thread(target=build_loop, daemon=True)
    for t in [*writers, builder]:
        t.start()
    try:
        time.sleep(SECONDS / 4)
        victim = _one(d.primary_url, "select user_id from ops.event where user_id is not null limit 1")
        purged = _run(
            [sys.executable, "-m", "opsmart.cli", "purge", "--user", str(victim)],
            {"OPSMART_DATABASE_URL": d.primary_url},
        )
        assert purged.returncode == 0, purged.stderr
        _retrying(lambda: mutate.mutate(d.primary_url, seed=5, fraction=0.05, progress=False))
        d.analytics.stop("fast")  # the subscriber goes away mid-stream ...
        time.sleep(1)
        d.analytics.start()
        time.sleep(SECONDS / 4)
        d.primary.stop("immediate")  # ... and the primary crashes mid-stream
        d.primary.start()
        time.sleep(SECONDS / 2)
        deadline = time.monotonic() + 120
        while builds.count(0) < 2 and time.monotonic() < deadline:  # builds repeat while writers write
            time.sleep(0.5)
    finally:
        stop.set()
        for t in writers:
            t.join()
        builds_stop.set()
        builder.join()
    assert sum(w.done for w in writers) > 100
    assert builds.count(0) >= 2, builds
    replication_status.wait_caught_up(d.primary_url, d.slot, 120)
    final = d.cli("build")
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-2000:]
    assert_replicas_equal(d)
    assert_marts_exact(d)
    status = d.cli("replicate", "status")
    assert status.returncode == 0, status.stdout


def test_schema_drift_is_a_clear_error_and_resync_repairs_it(deployment: Deployment) -> None:
    d = deployment
    assert d.recipe.returncode == 0
    _sql(
        d.primary_url,
        "alter table ops.event add column extra text",
        "update ops.event set extra = 'x' where id % 5 = 0",
    )
    status = d.cli("replicate", "status")
    assert status.returncode == 1
    assert (
        "  - schema drift: ops.event.extra on the primary is not replicated to the analytics server;"
        " add it there, then run `opsmart replicate setup --resync`"
    ) in status.stdout.splitlines()
    check = d.cli("check")
    assert check.returncode == 1 and "schema drift: ops.event.extra on the primary" in check.stdout

    # the same migration on the analytics server: its builds stop rather than read an empty column
    _sql(d.analytics_url, "alter table ops.event add column extra text")
    refused = d.cli("build")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "opsmart: schema drift: ops.event.extra on the analytics server is not replicated from the primary,"
        " so it stays empty; run `opsmart replicate setup --resync`"
    ]
    again = d.cli("replicate", "setup", "--subscribe-as", _subscribe_as(d))
    assert (
        again.returncode != 0 and "--resync" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    )

    _sql(d.analytics_url, "create role acme_reader login password 'r' in role opsmart_tenant")
    org = _one(d.analytics_url, "select id from ops.organization order by id limit 1")
    _sql(
        d.analytics_url,
        f"insert into ops.tenant_reader (reader, organization_id) values ('acme_reader', '{org}')",
    )
    resync = d.cli("replicate", "setup", "--subscribe-as", _subscribe_as(d), "--resync")
    assert resync.returncode == 0, resync.stdout[-3000:] + resync.stderr[-2000:]
    assert _one(d.analytics_url, "select count(*) from ops.tenant_reader") == 1
    assert _one(d.analytics_url, "select count(extra) from ops.event") == _one(
        d.primary_url, "select count(extra) from ops.event"
    )
    assert d.cli("replicate", "status").returncode == 0
    assert_replicas_equal(d)
    assert_marts_exact(d)


def _subscribe_as(d: Deployment) -> str:
    return make_conninfo(d.primary_url, user="opsmart_repl", password="repl-secret")


def test_setup_names_what_is_missing_in_one_line(deployment: Deployment, tmp_path: Path) -> None:
    d = deployment
    plain = make_conninfo(d.primary_url, user="platform_app", password="app")
    _sql(
        d.primary_url,
        "do $$ begin if not exists (select from pg_roles where rolname = 'platform_app')"
        " then create role platform_app login password 'app'; end if; end $$",
    )
    cases = {
        "--subscribe-as": (
            plain,
            "platform_app may not stream changes from the primary: it needs the REPLICATION",
        ),
    }
    for flag, (value, expected) in cases.items():
        done = d.cli("replicate", "setup", flag, value)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], done.stderr
    assert conninfo_to_dict(plain)["user"] == "platform_app"
