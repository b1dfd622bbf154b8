"""The embedded Citus cluster: up from nothing, idempotent, workers added, rebalanced, stopped, started.

The session's cluster (``citus_cluster``: a coordinator and two workers) serves the
API tests; the CLI test makes a cluster of its own under a throw-away OPSMART_HOME,
through the real ``opsmart cluster`` commands.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support import rows, value
from support.cluster import CitusCluster

from opsmart import connection, postgres

REPO = Path(__file__).resolve().parents[2]
ROWS = 2000


def _opsmart(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != connection.URL_ENV}
    env[connection.HOME_ENV] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "opsmart.cli", "cluster", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsmart: "), done.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def _distributed_table(url: str, name: str = "item") -> None:
    """``name`` (org, id) distributed by org, with ROWS rows over 100 organizations."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "create table {} (org int not null, id int not null, v text, primary key (org, id))"
            ).format(sql.Identifier(name))
        )
        conn.execute("select create_distributed_table(%s, 'org')", [name])
        conn.execute(
            sql.SQL(
                "insert into {} select i %% 100, i, md5(i::text) from generate_series(1, %s) as i"
            ).format(sql.Identifier(name)),
            [ROWS],
        )


def _shards_per_node(url: str, table: str = "item") -> dict[str, int]:
    return dict(
        rows(
            url,
            "select nodename, count(*) from citus_shards where table_name = %s::regclass group by 1",
            [table],
        )
    )


def test_a_new_cluster_spreads_a_distributed_table_over_both_workers(
    citus_cluster: CitusCluster, citus_db_url: str
) -> None:
    registered = rows(
        citus_db_url, "select nodename, nodeport, noderole, isactive from pg_dist_node order by groupid"
    )
    nodes = [citus_cluster.coordinator, *citus_cluster.workers]
    assert [(n.nodename, n.port, "primary", True) for n in nodes] == registered
    _distributed_table(citus_db_url)
    per_node = _shards_per_node(citus_db_url)
    assert set(per_node) == {w.nodename for w in citus_cluster.workers}
    assert sum(per_node.values()) == int(value(citus_db_url, "show citus.shard_count"))
    assert all(count > 0 for count in per_node.values())
    assert value(citus_db_url, "select count(*) from item") == ROWS
    # each worker really holds its shards (Citus hides them from pg_class unless told not to)
    database = connection.conninfo_to_dict(citus_db_url)["dbname"]
    for worker in citus_cluster.workers:
        shown = make_conninfo(worker.url(database), options="-c citus.override_table_visibility=off")
        shards = value(
            shown, "select count(*) from pg_class where relname ~ '^item_[0-9]+$' and relkind = 'r'"
        )
        assert shards == per_node[worker.nodename]


def test_a_database_cloned_from_a_template_is_a_whole_independent_distributed_database(
    citus_cluster: CitusCluster,
) -> None:
    template_url = citus_cluster.create_database()
    template = connection.conninfo_to_dict(template_url)["dbname"]
    _distributed_table(template_url)
    placed = _shards_per_node(template_url)
    made: list[str] = [template]
    try:
        first = citus_cluster.create_database(template=template)
        second = citus_cluster.create_database(template=template)
        made += [connection.conninfo_to_dict(u)["dbname"] for u in (first, second)]
        assert _shards_per_node(first) == _shards_per_node(second) == placed
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("insert into item select 1000, i, 'new' from generate_series(1, 10) as i")
            conn.execute("create table local_only (x int)")
        assert value(first, "select count(*) from item") == ROWS + 10
        assert value(second, "select count(*) from item") == ROWS
        assert value(second, "select to_regclass('local_only')") is None
    finally:
        for name in made:
            citus_cluster.drop_database(name)


def test_a_login_that_is_not_superuser_runs_multi_shard_queries_through_the_coordinator(
    citus_cluster: CitusCluster, citus_db_url: str
) -> None:
    _distributed_table(citus_db_url)
    with psycopg.connect(citus_db_url, autocommit=True) as conn:
        conn.execute("drop role if exists cluster_test_login")
        conn.execute("drop role if exists cluster_test_group")
        conn.execute("create role cluster_test_group nologin")
        conn.execute("create role cluster_test_login login password 'pw-Login-81' in role cluster_test_group")
        conn.execute("grant select, insert, update on item to cluster_test_group")
    login = citus_cluster.database_url(
        connection.conninfo_to_dict(citus_db_url)["dbname"], "cluster_test_login", "pw-Login-81"
    )
    try:
        with psycopg.connect(login) as conn:  # scram over TCP to the coordinator
            assert conn.execute("select session_user, count(*) from item group by 1").fetchone() == (
                "cluster_test_login",
                ROWS,
            )
            # a write to every shard commits on both workers at once (two-phase commit)
            conn.execute("update item set v = 'changed'")
        assert value(citus_db_url, "select count(*) from item where v = 'changed'") == ROWS
        # the workers' trust is their private sockets only: over TCP they ask for the password
        worker = citus_cluster.workers[0]
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(make_conninfo(worker.url(), user="cluster_test_login", password="wrong"))
    finally:
        with psycopg.connect(citus_db_url, autocommit=True) as conn:
            conn.execute("drop table item")
            conn.execute("drop role cluster_test_login")
            conn.execute("drop role cluster_test_group")


def test_a_stopped_worker_fails_multi_shard_queries_with_a_clear_error_and_its_restart_recovers(
    citus_cluster: CitusCluster, citus_db_url: str
) -> None:
    _distributed_table(citus_db_url)
    worker = citus_cluster.workers[1]
    with citus_cluster.worker_stopped(worker.number or 0):
        with pytest.raises(psycopg.OperationalError) as failed:
            value(citus_db_url, "select count(*) from item")
        first = str(failed.value).splitlines()[0]
        assert re.search(
            rf"connection to the remote node .*{re.escape(worker.nodename)}:{worker.port} failed", first
        )
        healthy = rows(
            citus_db_url,
            "select to_nodename, bool_and(result) from citus_check_cluster_node_health() group by 1",
        )
        assert (worker.nodename, False) in healthy
    assert value(citus_db_url, "select count(*) from item") == ROWS


def test_a_worker_that_comes_back_on_another_port_is_registered_there(
    citus_cluster: CitusCluster, citus_db_url: str
) -> None:
    _distributed_table(citus_db_url)
    worker = citus_cluster.workers[0]
    number, old_port = worker.number or 0, worker.port
    citus_cluster.stop_worker(number)
    try:
        # its port was taken while it was down: it starts on another one
        worker.server.configure(port=str(postgres.free_port()))
    finally:
        moved = citus_cluster.start_worker(number)
    assert moved.port != old_port
    registered = value(
        citus_db_url, "select nodeport from pg_dist_node where nodename = %s", [moved.nodename]
    )
    assert registered == moved.port
    assert value(citus_db_url, "select count(*) from item") == ROWS
    assert value(
        citus_cluster.url, "select nodeport from pg_dist_node where nodename = %s", [moved.nodename]
    ) == (moved.port)


def test_a_worker_added_and_rebalanced_takes_shards_and_its_removal_moves_them_back(
    citus_cluster: CitusCluster, citus_db_url: str
) -> None:
    _distributed_table(citus_db_url)
    before = {w.nodename for w in citus_cluster.workers}
    with citus_cluster.extra_worker() as extra:
        assert value(citus_db_url, "select isactive from pg_dist_node where nodename = %s", [extra.nodename])
        assert extra.nodename not in _shards_per_node(citus_db_url)
        with psycopg.connect(citus_db_url, autocommit=True) as conn:
            conn.execute("select citus_rebalance_start()")
            conn.execute("select citus_rebalance_wait()")
        per_node = _shards_per_node(citus_db_url)
        assert per_node.get(extra.nodename, 0) > 0, per_node
        assert value(citus_db_url, "select count(*) from item") == ROWS
    assert {w.nodename for w in citus_cluster.workers} == before
    assert set(_shards_per_node(citus_db_url)) == before
    assert value(citus_db_url, "select count(*) from item") == ROWS
    assert value(citus_db_url, "select count(*) from pg_dist_node where nodename = %s", [extra.nodename]) == 0
    # nothing of the moves is left to clean up (a leftover record would stop later moves)
    assert value(citus_db_url, "select count(*) from pg_dist_cleanup") == 0


def test_the_cli_makes_a_cluster_from_nothing_and_up_again_changes_nothing(
    citus_cluster: CitusCluster, tmp_path: Path
) -> None:
    # citus_cluster: Citus is built (or the test skips with the reason); this cluster is another one
    home = tmp_path / "home"
    _one_line_error(_opsmart(home, "status"), "no Citus cluster", "opsmart cluster up")
    up = _opsmart(home, "up", "--workers", "2")
    try:
        assert up.returncode == 0, up.stderr
        url = up.stdout.strip()
        assert url.startswith("postgresql://postgres:") and url.endswith("/opsmart")
        registered = rows(url, "select nodeid, nodename, nodeport from pg_dist_node order by nodeid")
        assert len(registered) == 3
        again = _opsmart(home, "up")
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == url
        assert rows(url, "select nodeid, nodename, nodeport from pg_dist_node order by nodeid") == registered
        status = _opsmart(home, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert [line.split()[:2] for line in status.stdout.splitlines()[:3]] == [
            ["coordinator", "running"],
            ["worker-1", "running"],
            ["worker-2", "running"],
        ]
        assert "health: all 9 node-to-node connections work" in status.stdout
        stopped = _opsmart(home, "stop-worker", "2")
        assert stopped.stdout.strip() == "stopped worker-2"
        status = _opsmart(home, "status")
        assert status.returncode == 1
        assert re.search(r"^worker-2 +stopped", status.stdout, re.MULTILINE)
        assert "connections fail" in status.stdout
        assert _opsmart(home, "start-worker", "2").returncode == 0
        assert _opsmart(home, "status").returncode == 0
    finally:
        down = _opsmart(home, "down", "--remove")
    assert down.returncode == 0, down.stderr
    assert not (home / "cluster").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["up", "--workers", "0"], "must be greater than zero"),
        (["up", "--workers", "two"], "is not a whole number"),
        (["status"], "no Citus cluster"),
        (["url"], "no Citus cluster"),
        (["url", "--password", "secret"], "--password goes with --user"),
        (["add-worker"], "no Citus cluster"),
        (["stop-worker", "3"], "no Citus cluster"),
        (["start-worker", "1"], "no Citus cluster"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path, args: list[str], expected: str) -> None:
    _one_line_error(_opsmart(tmp_path / "home", *args), expected)
