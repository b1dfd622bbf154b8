"""Shared fixtures: real PostgreSQL servers for the test session, a fresh database per test.

The servers are the embedded one (PostgreSQL 18, in a throw-away OPSMART_HOME)
and, for the modules marked ``every_server``, Debian's PostgreSQL 15 too (the
oldest version opsmart supports), started by the same code as the embedded one.
A version that cannot be found skips with its reason locally, and fails in CI.
With OPSMART_DATABASE_URL set, every test runs against that server only (its
role must be allowed to create databases and roles).

Each database is cloned from a bootstrapped template, so a test starts from the
full ops schema in milliseconds. Builds run as a login of opsmart_transformer,
as in production (support.builder_url).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from support import IN_CI, SERVERS, cheap_scram, ensure_builder
from support.cluster import CitusCluster

from opsmart import bootstrap, connection, dbt_chain, localdb, postgres
from opsmart.errors import UserError

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = "opsmart_test_template"
TEMPLATE_LOADED = "opsmart_test_loaded"
LOADED = "t_loaded"  # each test's copy of TEMPLATE_LOADED
DEFAULT_SERVER = "pg18"
SERVER_TARGET_PREFIX = "dbt-target-"


def _temproot_in_memory() -> None:
    """The session's temporary folders (PostgreSQL's data directories among them) on /dev/shm, where
    it is a tmpfs with room, unless PYTEST_DEBUG_TEMPROOT or --basetemp says where.

    This machine's root filesystem is ext4 without a journal: each new file's inode is found by a
    scan that skips every inode deleted in the last few seconds, and the servers create and delete
    files by the thousand (databases copied from templates and dropped, temporary tables). In
    memory, test_dbt_tests and test_bootstrap took 44-45 s instead of 58-59 s and 58-59 s of the
    machine's CPU instead of 75-82 (its kernel time 10 s instead of 24-33). A run's folders take
    about 2 GB at most, 0.5 GB once its servers are gone (pytest keeps the last run's)."""
    if os.environ.get("PYTEST_DEBUG_TEMPROOT") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    shm = Path("/dev/shm")  # noqa: S108 (pytest makes its own 0700 folder there and checks the owner)
    try:
        room = shutil.disk_usage(shm).free
    except OSError:
        return
    if room >= 4 * 2**30 and os.access(shm, os.W_OK | os.X_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(shm)


def pytest_configure(config: pytest.Config) -> None:
    _temproot_in_memory()
    config.addinivalue_line(
        "markers",
        "every_server: runs on every server version opsmart supports (the rest on the embedded default only)",
    )
    # the tests' in-process dbt runs (support.run_dbt) collect cycles as opsmart's dbt processes do
    dbt_chain.tune_collector()
    dbt_chain.spare_the_stack_walk()


# The modules whose tests use the session's Citus cluster: one worker runs them all, so only
# one cluster starts (a cluster costs a minute and three servers).
CLUSTER_MODULES = frozenset(
    f"tests/integration/{name}.py" for name in ("test_citus", "test_bench_citus", "test_cluster")
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Under ``--dist loadfile``, each module's tests stay on one worker (its module fixtures are
    made once), and the cluster modules count as one module.

    Not xdist's ``loadgroup`` with marks: it renames each test's node id to carry its group,
    which pytest 9.2's read-only node ids silently ignore, so every test was its own group."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByModule(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "citus" if module in CLUSTER_MODULES else module

    return ByModule(config, log)


# The slowest of the other modules, slowest first (worker-seconds in a clean-clone .ci/run of
# 35de09f: 408, 176, 175, 157, 146, 129, 126, 114, 108, 91, 88, 81, 75). A slow module handed
# out last keeps one worker busy while the other idles: in that run test_semantic (114 s), in
# collection order, was among the last, and one worker finished 86 worker-seconds before the other.
SLOW_MODULES = tuple(
    f"tests/integration/{name}.py"
    for name in (
        "test_deployments",
        "test_marts",
        "test_plain_dbt",
        "test_load",
        "test_security",
        "test_bench",
        "test_tracking",
        "test_semantic",
        "test_cli",
        "test_citus_recipe",
        "test_replication",
        "test_project",
        "test_orchestration",
    )
)


def _dispatch_rank(item: pytest.Item) -> int:
    module = item.nodeid.split("::", 1)[0]
    if module in CLUSTER_MODULES:
        return 0
    return 1 + SLOW_MODULES.index(module) if module in SLOW_MODULES else 1 + len(SLOW_MODULES)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster modules go first, then the slowest modules, slowest first, then the rest in
    collection order; a test on the cluster outside the cluster modules is refused (it would start
    a second cluster on another worker).

    xdist hands modules out in collection order. The cluster modules are the longest chain one
    worker runs; pytest's own reordering (this hook runs after it) groups the tests by server
    parameter, so the cluster modules, which have none, came after every module that runs on pg18
    or pg15, and their chain ran last while the other worker idled. Likewise a slow module handed
    out last: in a .ci/run of 51af78c, test_tracking (318 s) went last, and the other worker had
    been idle for 90 s when it finished."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if "citus_cluster" in getattr(item, "fixturenames", ()) and module not in CLUSTER_MODULES:
            raise pytest.UsageError(f"{item.nodeid} uses citus_cluster: add its module to CLUSTER_MODULES")
    items.sort(key=_dispatch_rank)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_server" not in metafunc.fixturenames:
        return
    if os.environ.get(connection.URL_ENV):
        ids = ["external"]
    elif metafunc.definition.get_closest_marker("every_server"):
        ids = list(SERVERS)
    else:
        ids = [DEFAULT_SERVER]
    metafunc.parametrize("pg_server", ids, indirect=True, scope="session")


@pytest.fixture(scope="session", autouse=True)
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under pytest-xdist, each worker its own opsmart home (dbt's target folders are named by
    database, and workers make databases of the same names on their own servers)."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get(connection.HOME_ENV):
        yield
        return
    os.environ[connection.HOME_ENV] = str(tmp_path_factory.mktemp("opsmart-home"))
    try:
        yield
    finally:
        os.environ.pop(connection.HOME_ENV, None)


def _unavailable(server_id: str) -> str | None:
    bindir = SERVERS[server_id]
    if bindir is not None and not (bindir / "postgres").exists():
        return f"PostgreSQL binaries not found in {bindir} (Debian package postgresql-15)"
    return None


@contextlib.contextmanager
def _opsmart_home(home: Path) -> Iterator[None]:
    """OPSMART_HOME set to ``home`` inside the block, restored after."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(connection.HOME_ENV, str(home))
        yield


class ServerPool:
    """The session's PostgreSQL servers, each started on first use and kept until the session ends,
    with what is made once per server (its bootstrapped template, its loaded template).

    Not in ``pg_server`` itself: pytest tears a parametrized session fixture down whenever the next
    test wants another parameter, and under xdist a worker goes from pg18 modules to pg15 modules
    and back, so a run of 21d028e started 12 servers of each version (and bootstrapped a template in
    each) where one of each per worker does."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._factory = tmp_path_factory
        self._servers: dict[str, tuple[str, Path | None]] = {}
        self._made: dict[tuple[str, str], str] = {}
        self._stops: list[Callable[[], None]] = []

    def start(self, server_id: str) -> tuple[str, Path | None]:
        """The maintenance database URL of server ``server_id``, and the OPSMART_HOME of an
        embedded server (None for a server of Debian's binaries)."""
        if server_id not in self._servers:
            home = self._factory.mktemp(f"opsmart-home-{server_id}")
            if SERVERS[server_id] is None:
                with _opsmart_home(home):
                    url = connection.with_database(localdb.up(), "postgres")
                self._stops.append(lambda: self._down_embedded(home))
                self._servers[server_id] = (url, home)
            else:
                server = postgres.LocalServer(
                    home / "pgdata", bindir=SERVERS[server_id], settings=postgres.TUNED
                )
                server.init()
                self._stops.append(server.remove)
                server.start()
                self._servers[server_id] = (server.url("postgres"), None)
            cheap_scram(self._servers[server_id][0])
        return self._servers[server_id]

    def target_dir(self, server_id: str) -> Path:
        """A dbt target folder for the CLI's runs on server ``server_id``."""
        return self._factory.getbasetemp() / f"{SERVER_TARGET_PREFIX}{server_id}"

    @staticmethod
    def _down_embedded(home: Path) -> None:
        with _opsmart_home(home):
            localdb.down()

    def once(self, server_url: str, what: str, make: Callable[[], str]) -> str:
        """``make()`` the first time ``what`` is asked of the server at ``server_url``, then its result."""
        key = (server_url, what)
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def close(self) -> None:
        for stop in reversed(self._stops):
            stop()


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest, server_pool: ServerPool) -> Iterator[str]:
    """URL of the maintenance database of one server (parametrized by server id).

    While an embedded server's tests run, OPSMART_HOME is that server's home (``opsmart``
    without a URL finds it there, as a user's would)."""
    server_id = request.param
    if server_id == "external":
        yield os.environ[connection.URL_ENV]
        return
    reason = _unavailable(server_id)
    if reason:
        if IN_CI:
            pytest.fail(f"{server_id}: {reason}; CI must run every server in the matrix")
        pytest.skip(f"{server_id}: {reason}")
    url, home = server_pool.start(server_id)
    with pytest.MonkeyPatch.context() as patch:
        if home is not None:
            patch.setenv(connection.HOME_ENV, str(home))
        # The CLI's dbt runs get a target folder per server and worker, not the project's: with
        # one shared by both workers and all servers, a run found it held by the other worker
        # (and parsed the project from scratch into a private folder) or parsed for another
        # server's connection (and parsed it all again).
        patch.setenv("DBT_TARGET_PATH", str(server_pool.target_dir(server_id)))
        yield url


@pytest.fixture(scope="session")
def server_url(pg_server: str) -> str:
    """URL of the maintenance database of the server the test runs on."""
    return pg_server


@pytest.fixture(scope="session")
def server_version(server_url: str) -> int:
    with psycopg.connect(server_url) as conn:
        return conn.info.server_version // 10000


def _admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(server_url, autocommit=True)


def _create_database(server_url: str, name: str, template_url: str | None = None) -> str:
    """A new database ``name`` (dropped first if it exists), a copy of ``template_url``'s when given."""
    stmt = sql.SQL("create database {}").format(sql.Identifier(name))
    if template_url:
        template = connection.conninfo_to_dict(template_url)["dbname"]
        stmt = sql.SQL("{} template {}").format(stmt, sql.Identifier(template))
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(stmt)
    return connection.with_database(server_url, name)


def _drop_database(server_url: str, name: str) -> None:
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def template_url(server_url: str, server_pool: ServerPool) -> str:
    """A database with the whole ops schema applied, used as CREATE DATABASE template.

    Bootstrapping creates the group roles; the transformer login every build
    in the suite runs as is made here too.
    """

    def make() -> str:
        url = _create_database(server_url, TEMPLATE)
        bootstrap.apply(url, quiet=True)
        ensure_builder(server_url)
        return url

    return server_pool.once(server_url, "template", make)


def _cli_target_for(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's dbt runs in this test get a target folder of the test's database (the first it makes).

    dbt's partial parsing holds only for the database it parsed for: with one folder per server,
    each CLI run on another database than the last one's parsed the whole project again (a dbt
    process that took 3.5 s of CPU took 6 to 8)."""
    target = os.environ.get("DBT_TARGET_PATH")
    if target and Path(target).name.startswith(SERVER_TARGET_PREFIX):  # not yet a database's own
        monkeypatch.setenv("DBT_TARGET_PATH", str(Path(target) / database))


@pytest.fixture
def make_database(
    server_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., str]]:
    """Factory: ``make_database(bootstrapped=True)`` returns the URL of a new, empty database.

    The names repeat from one test to the next (each test's are dropped after it): dbt's
    partial parsing is only valid for the database it parsed for, so a new name per test made
    each test's first dbt command parse the whole project again, about 3 s of CPU.
    """
    created: list[str] = []
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    def make(bootstrapped: bool = True) -> str:
        name = f"t_{worker}_{len(created)}"
        created.append(name)
        _cli_target_for(name, monkeypatch)
        return _create_database(
            server_url, name, request.getfixturevalue("template_url") if bootstrapped else None
        )

    yield make
    for name in created:
        _drop_database(server_url, name)


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


@pytest.fixture(scope="session")
def loaded_template_url(server_url: str, template_url: str, server_pool: ServerPool) -> str:
    """A database with tiny generated data and its marts built, made once per server.

    Loaded under the name of its copies (``loaded_url``), then renamed: dbt's partial parsing
    holds only for the database it parsed for, so the folders the load parsed into serve every
    copy's in-process dbt runs (two whole parses fewer per server and worker)."""
    from support.platform import load_tiny

    def make() -> str:
        load_tiny(_create_database(server_url, LOADED, template_url))
        with _admin(server_url) as conn:
            conn.execute(
                "select pg_terminate_backend(pid, 10000) from pg_stat_activity"
                " where datname = %s and pid <> pg_backend_pid()",
                [LOADED],
            )
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(TEMPLATE_LOADED))
            )
            conn.execute(
                sql.SQL("alter database {} rename to {}").format(
                    sql.Identifier(LOADED), sql.Identifier(TEMPLATE_LOADED)
                )
            )
        return connection.with_database(server_url, TEMPLATE_LOADED)

    return server_pool.once(server_url, "loaded template", make)


@pytest.fixture
def loaded_url(server_url: str, loaded_template_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A copy of the loaded template: data and built marts, in milliseconds.

    Always the same name, so dbt's partial parsing stays valid from one test to the next.
    """
    _cli_target_for(LOADED, monkeypatch)
    yield _create_database(server_url, LOADED, loaded_template_url)
    _drop_database(server_url, LOADED)


@pytest.fixture(scope="session")
def citus_bindir() -> Path:
    """The embedded server's binaries, with Citus installed in them.

    Citus comes from the build cache, or is built once (about a minute) from the
    vendored sources for the embedded server; where it cannot be, the tests that need
    it skip with the reason, and fail in CI.
    """
    from opsmart.cluster import build

    bindir = postgres.embedded_bindir()
    try:
        build.ensure(bindir, REPO)
    except UserError as exc:
        if IN_CI:
            pytest.fail(f"no Citus: {exc}; CI must run the Citus tests")
        pytest.skip(f"no Citus: {exc}")
    return bindir


SESSION_CLUSTER = pytest.StashKey[CitusCluster]()


@pytest.fixture(scope="session")
def citus_cluster(
    tmp_path_factory: pytest.TempPathFactory, citus_bindir: Path, pytestconfig: pytest.Config
) -> Iterator[CitusCluster]:
    """A Citus coordinator and two workers for the session (``support.cluster.CitusCluster``)."""
    from opsmart.cluster import nodes

    cluster = nodes.Cluster(tmp_path_factory.mktemp("citus") / "cluster", durable=False, bindir=citus_bindir)
    try:
        cluster.up(workers=2)
        pytestconfig.stash[SESSION_CLUSTER] = CitusCluster(cluster)
        cheap_scram(pytestconfig.stash[SESSION_CLUSTER].url)
        yield pytestconfig.stash[SESSION_CLUSTER]
    finally:
        del pytestconfig.stash[SESSION_CLUSTER]
        cluster.remove()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """A failed test of a cluster module reports any server process that died on the cluster.

    From the session's stash, not the test's arguments: test_citus.py reaches the cluster
    through a module fixture's getfixturevalue, so its tests never name it (and a coordinator
    that crashed in CI went unreported)."""
    report = yield
    in_cluster_module = item.nodeid.split("::")[0] in CLUSTER_MODULES
    cluster = item.config.stash.get(SESSION_CLUSTER, None) if in_cluster_module else None
    if report.failed and cluster is not None:
        crashes = cluster.crash_lines()
        if crashes:
            report.sections.append(("Citus cluster: server processes that died", "\n".join(crashes[-30:])))
    return report


@pytest.fixture
def citus_db_url(citus_cluster: CitusCluster) -> Iterator[str]:
    """A fresh database on the session's Citus cluster (superuser URL on the coordinator), dropped after."""
    url = citus_cluster.create_database()
    yield url
    citus_cluster.drop_database(connection.conninfo_to_dict(url)["dbname"])
