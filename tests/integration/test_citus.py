"""opsmart on a real Citus cluster (a coordinator and two workers): bootstrap, marts, exactness, tenants.

Everything runs as in production: bootstrap as the database owner, builds as
a login of opsmart_transformer (support.BUILDER), reads as analyst and tenant
logins. The cluster is the session's ``citus_cluster`` (tests/conftest.py: it
skips, saying why, where Citus cannot be built, and fails in CI), or the one
OPSMART_CITUS_URL names (a coordinator with its workers registered in its
``postgres`` database, trusting localhost: for trying a change against a cluster
already running).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from support import (
    build_marts,
    builder_url,
    dbt_ok,
    differing_marts,
    ensure_builder,
    rows,
    run_dbt,
)
from support.citus import mutate_cluster

from opsmart import bootstrap, connection
from opsmart.synth import generate
from opsmart.synth.scale import Scale

REPO = Path(__file__).resolve().parents[2]
ANCHOR = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
ROUNDS = int(os.environ.get("OPSMART_CITUS_EXACTNESS_ROUNDS", "4"))
ORG_TABLES = [
    "ops.analysis_run",
    "ops.analysis_metric",
    "ops.analysis_node_result",
    "ops.judge_score",
    "ops.workflow_run",
    "ops.workflow_node",
    "ops.evaluation_metric",
    "ops.chat_session",
    "ops.message",
    "ops.chain_analysis_result",
    "ops.organization_user",
    "ops.event",
]
REFERENCE_TABLES = [
    "ops.organization",
    "core.users",
    "core.prompts",
    "ops.api_key",
    "ops.provider_credential",
    "ops.experiment",
    "ops.experiment_run",
    "ops.judge_rubric",
    "ops.judge_criterion",
    "ops.tenant_reader",
]


class _ManualCluster:
    """A cluster someone started (OPSMART_CITUS_URL): fresh databases on every node."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _nodes(self) -> list[str]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            found = conn.execute(
                "select nodename, nodeport from pg_dist_node where noderole = 'primary' and groupid <> 0"
            ).fetchall()
        return [f"postgresql://postgres@{host}:{port}/postgres" for host, port in found]

    def create_database(self, name: str) -> str:
        workers = self._nodes()
        for node in [self.url, *workers]:
            with psycopg.connect(node, autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            with psycopg.connect(connection.with_database(node, name), autocommit=True) as conn:
                conn.execute("create extension citus")
        url = connection.with_database(self.url, name)
        coordinator = connection.conninfo_to_dict(self.url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "select citus_set_coordinator_host(%s, %s)",
                [coordinator.get("host", "localhost"), int(coordinator.get("port", 5432))],
            )
            for worker in workers:
                info = connection.conninfo_to_dict(worker)
                conn.execute("select citus_add_node(%s, %s)", [info["host"], int(info["port"])])
        return url


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> object:
    if os.environ.get("OPSMART_CITUS_URL"):
        return _ManualCluster(os.environ["OPSMART_CITUS_URL"])
    return request.getfixturevalue("citus_cluster")


@pytest.fixture(scope="module")
def cluster_template(cluster: _ManualCluster) -> str:
    """A bootstrapped cluster database with tiny data and its marts built (once per module)."""
    url = cluster.create_database(f"citus_{uuid.uuid4().hex[:8]}")
    bootstrap.apply(url, quiet=True)
    ensure_builder(url)
    generate.generate(url, Scale.preset("tiny"), seed=7, anchor=ANCHOR, progress=False)
    dbt_ok(url, "run")
    return url


@pytest.fixture
def cluster_url(cluster_template: str) -> Iterator[str]:
    yield cluster_template


def _one(url: str, query: str, params: object = None) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_bootstrap_distributes_by_organization_co_located_and_reference_tables(cluster_url: str) -> None:
    with psycopg.connect(cluster_url) as conn:
        kinds = dict(conn.execute("select table_name::text, citus_table_type from citus_tables").fetchall())
        colocation = conn.execute(
            "select count(distinct colocationid), min(column_to_column_name(logicalrelid, partkey)),"
            " max(column_to_column_name(logicalrelid, partkey))"
            " from pg_dist_partition where logicalrelid::regclass::text = any(%s)",
            [ORG_TABLES],
        ).fetchone()
    for table in ORG_TABLES:
        assert kinds.get(table) == "distributed", table
    for table in REFERENCE_TABLES:
        assert kinds.get(table) == "reference", table
    assert kinds.get("ops.query_performance_log") == "distributed"
    assert "ops.audit_log" not in kinds  # a plain table of the coordinator
    assert colocation == (1, "organization_id", "organization_id")
    # a second bootstrap changes nothing
    assert bootstrap.apply(cluster_url, quiet=True) == []


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        # a metric of a run that does not exist (composite key to its run)
        (
            "insert into ops.analysis_metric (analysis_run_id, organization_id, key, value_num)"
            " select gen_random_uuid(), id, 'overall_score', 1 from ops.organization limit 1",
            "foreign key",
        ),
        # a metric of an existing run under another organization
        (
            "insert into ops.analysis_metric (analysis_run_id, organization_id, key, value_num)"
            " select r.id, o.id, 'overall_score', 1 from ops.analysis_run as r, ops.organization as o"
            " where o.id <> r.organization_id limit 1",
            "foreign key",
        ),
        # a judge score out of range
        (
            "update ops.judge_score set score = 11 where id = (select min(id) from ops.judge_score)",
            "chk_judge_score_score",
        ),
        # an event of an organization that does not exist
        (
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (gen_random_uuid(), 'web', 'x', now())",
            "foreign key",
        ),
        # a row without an organization
        (
            "insert into ops.event (organization_id, source,"
            " feature_key, occurred_at) values (null, 'web', 'x', now())",
            "null",
        ),
        # a member twice in the same organization
        (
            "insert into ops.organization_user (organization_id, user_id, role)"
            " select organization_id, user_id, 'member' from ops.organization_user limit 1",
            "unq_organization_user_organization_user",
        ),
        # a run moved to another organization
        (
            "update ops.analysis_run set organization_id = (select min(id::text)::uuid from ops.organization)"
            " where id = (select id from ops.analysis_run order by id limit 1)",
            "partition",
        ),
    ],
)
def test_constraints_still_reject_bad_rows_on_the_cluster(
    cluster_url: str, statement: str, message: str
) -> None:
    with psycopg.connect(cluster_url) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    assert message in str(caught.value).lower() or message in (caught.value.diag.constraint_name or "")


def test_marts_are_distributed_co_located_with_their_sources(cluster_url: str) -> None:
    with psycopg.connect(cluster_url) as conn:
        found = dict(
            conn.execute(
                "select p.logicalrelid::regclass::text, p.colocationid = e.colocationid"
                " from pg_dist_partition as p, pg_dist_partition as e"
                " where e.logicalrelid = 'ops.event'::regclass and"
                " p.logicalrelid::regclass::text like 'mart.%%'"
            ).fetchall()
        )
    for mart in (
        "feature_daily",
        "feature_daily_users",
        "analysis_daily",
        "metric_timeseries",
        "metric_daily",
    ):
        assert found.get(f"mart.{mart}") is True, (mart, found)
    assert "mart.organizations" in found and "mart.performance_dashboard" in found


@pytest.mark.parametrize(
    "mart",
    [
        "feature_daily",
        "metric_timeseries",
        # a union of the runs' metric and judge scores under the join with the runs was a subplan:
        # every run's sums sent to every shard
        "analysis_daily",
    ],
)
def test_a_full_build_aggregates_on_the_workers(cluster_url: str, mart: str) -> None:
    """EXPLAIN of a mart's full build (the insert dbt runs): one distributed query, one task per
    shard, nothing pulled up to the coordinator or sent from it."""
    compiled = dbt_ok(cluster_url, "compile", "--select", mart, "--full-refresh")
    select_sql = compiled.result.results[0].node.compiled_code
    with psycopg.connect(cluster_url) as conn:
        conn.execute(f"create table public.explain_target (like mart.{mart})")
        conn.execute(
            "select create_distributed_table('public.explain_target',"
            " 'organization_id', colocate_with => 'ops.event')"
        )
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                f"explain insert into public.explain_target select * from ({select_sql}) as q"
            ).fetchall()
        )
        conn.rollback()
    shards = _shard_count(cluster_url)
    assert "Custom Scan (Citus Adaptive)" in plan, plan
    assert plan.count("Task Count:") == 1 and f"Task Count: {shards}\n" in plan + "\n", plan
    assert "Distributed Subplan" not in plan, plan
    assert "pull to coordinator" not in plan and "repartition" not in plan, plan


def _shard_count(url: str) -> int:
    """The shards of ops.event, and of every table co-located with it."""
    return int(_one(url, "select shard_count from citus_tables where table_name = 'ops.event'::regclass"))


@pytest.mark.parametrize(
    ("mart", "group_columns", "grain"),
    [
        ("feature_daily", "organization_id, feature_key", "day"),
        # a union of sources: a union under the changed-key join was gathered on the coordinator
        ("metric_timeseries", "organization_id", "hour"),
        # each changed run's scores: a fenced LATERAL probe per run gathered every score
        ("analysis_daily", "organization_id", "day"),
    ],
)
def test_an_incremental_build_recomputes_the_changed_groups_on_the_workers(
    cluster_url: str, mart: str, group_columns: str, grain: str
) -> None:
    """EXPLAIN of a mart's incremental select: the changed keys go to every shard, which reads its
    own rows and aggregates them; the coordinator only reads its own temp tables of keys."""
    compiled = dbt_ok(cluster_url, "compile", "--select", mart)
    select_sql = compiled.result.results[0].node.compiled_code
    assert "opsmart_changed" in select_sql  # the incremental form
    types = {"organization_id": "uuid", "feature_key": "text"}
    columns = [c.strip() for c in group_columns.split(",")]
    with psycopg.connect(cluster_url) as conn:
        conn.execute(
            "create temporary table opsmart_changed ("
            + ", ".join(f"{c} {types[c]}" for c in columns)
            + ", bucket_start timestamptz, bucket_end timestamptz)"
        )
        conn.execute(
            "create temporary table opsmart_changed_buckets"
            " (bucket_start timestamptz, bucket_end timestamptz)"
        )
        conn.execute(
            f"insert into opsmart_changed select {group_columns}, date_trunc('{grain}', occurred_at),"
            f" date_trunc('{grain}', occurred_at) + interval '1 {grain}' from ops.event limit 3"
        )
        plan = "\n".join(row[0] for row in conn.execute(f"explain {select_sql}").fetchall())
    assert "Custom Scan (Citus Adaptive)" in plan, plan
    # every distributed step runs on every shard and reads only the rows of the changed keys
    # (the keys reach each task as an intermediate result); none gathers a table's rows
    steps = plan.split("Task Count:")[1:]
    assert steps and all(step.startswith(f" {_shard_count(cluster_url)}\n") for step in steps), plan
    assert all("read_intermediate_result" in step for step in steps), plan
    assert "pull to coordinator" not in plan and "repartition" not in plan, plan


def test_incremental_builds_equal_full_refresh_on_the_cluster(cluster_url: str) -> None:
    rng = random.Random(20261130)
    for round_no in range(ROUNDS):
        seed = rng.randrange(1_000_000)
        fraction = rng.choice([0.005, 0.01, 0.05, 0.2])
        done = mutate_cluster(cluster_url, seed, fraction)
        build_marts(cluster_url)
        build_marts(cluster_url, full_refresh=True, schema="mart_full")
        diff = differing_marts(cluster_url, "mart", "mart_full")
        assert not diff, f"round {round_no} (seed {seed}, fraction {fraction}, {done}): {diff}"
    assert (
        _one(
            cluster_url,
            "select sum(buckets_rebuilt + groups_rebuilt) from"
            " ops.mart_build_state where target_schema = 'mart'",
        )
        > 0
    )


def test_writer_committing_after_a_build_started_is_counted_by_the_next_build(cluster_url: str) -> None:
    def events() -> int:
        return int(_one(cluster_url, "select coalesce(sum(events), 0) from mart.feature_daily"))

    build_marts(cluster_url)
    before = events()
    writer = psycopg.connect(cluster_url)
    try:
        org = writer.execute(
            "select id from ops.organization where slug <> 'anonymous' order by id limit 1"
        ).fetchone()[0]
        writer.execute(
            """insert into ops.event (organization_id, source, feature_key, occurred_at)
               select %s, 'api', 'late_writer', %s - make_interval(hours => i)
               from generate_series(1, 25) as i""",
            [org, ANCHOR],
        )
        build_marts(cluster_url)
        assert events() == before
        writer.commit()
    finally:
        writer.close()
    build_marts(cluster_url)
    assert events() == before + 25
    build_marts(cluster_url, full_refresh=True, schema="mart_full")
    assert not differing_marts(cluster_url, "mart", "mart_full")


def test_the_build_reads_its_sources_in_the_catalog_without_the_shard_filter_that_crashes_citus(
    cluster_url: str,
) -> None:
    """Citus adds relation_is_a_known_shard(oid) to every read of pg_class; in 14.0.1 it dereferences
    a NULL name for an index whose table another session just dropped, and the coordinator restarts.
    CI lost its coordinator so, in ops.mart_source_identity's scan of pg_class, while the build's other
    thread dropped its temp tables: that scan now runs without the filter (ops_schema/citus/030)."""
    plans: list[str] = []
    with psycopg.connect(cluster_url, autocommit=True) as conn:
        conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        conn.execute("load 'auto_explain'")
        for setting, value in [
            ("auto_explain.log_min_duration", "0"),
            ("auto_explain.log_nested_statements", "on"),
            ("auto_explain.log_level", "notice"),
        ]:
            conn.execute("select set_config(%s, %s, false)", [setting, value])
        conn.execute("select count(*) from pg_class")
        assert "relation_is_a_known_shard" in plans[-1]  # the filter is on in this session
        plans.clear()
        conn.execute("select ops.mart_source_identity(array['query_performance_log', 'event'])")
    catalog_reads = [plan for plan in plans if "pg_class" in plan]
    assert catalog_reads, plans
    assert not any("relation_is_a_known_shard" in plan for plan in catalog_reads), catalog_reads


def test_a_shard_moved_to_another_worker_makes_the_next_build_rebuild_in_full(cluster_url: str) -> None:
    """Its rows keep the ids of the worker that wrote them: no cut of the new worker may judge them."""
    build_marts(cluster_url)
    with psycopg.connect(cluster_url, autocommit=True) as conn:
        shard, source_host, source, target_host, target = conn.execute(
            """select sh.shardid, src.nodename, src.nodeport, dst.nodename, dst.nodeport
               from pg_dist_shard as sh
               join pg_dist_placement as pl on pl.shardid = sh.shardid
               join pg_dist_node as src on src.groupid = pl.groupid
               join pg_dist_node as dst
                   on dst.groupid <> pl.groupid and dst.groupid <> 0 and dst.noderole = 'primary'
               where sh.logicalrelid = 'ops.analysis_run'::regclass
               order by sh.shardid limit 1"""
        ).fetchone()
        conn.execute(
            "select citus_move_shard_placement(%s, %s, %s, %s, %s, shard_transfer_mode => 'block_writes')",
            [shard, source_host, source, target_host, target],
        )
        # the old placement goes now, not under the writes below (Citus' deferred drop of it
        # once ran into them and was cancelled as a distributed deadlock)
        conn.execute("call citus_cleanup_orphaned_resources()")
    mutate_cluster(cluster_url, 4242, 0.05)
    build_marts(cluster_url)
    full = dict(
        rows(
            cluster_url,
            "select model, is_full_refresh from ops.mart_build_state where target_schema = 'mart'",
        )
    )
    assert full["feature_daily"] and full["analysis_daily"], full
    build_marts(cluster_url, full_refresh=True, schema="mart_full")
    assert not differing_marts(cluster_url, "mart", "mart_full")
    # and incremental again from the new cut
    mutate_cluster(cluster_url, 4343, 0.05)
    build_marts(cluster_url)
    assert not any(
        dict(
            rows(
                cluster_url,
                "select model, is_full_refresh from ops.mart_build_state where target_schema = 'mart'",
            )
        ).values()
    )
    build_marts(cluster_url, full_refresh=True, schema="mart_full")
    assert not differing_marts(cluster_url, "mart", "mart_full")


def test_a_worker_down_fails_the_build_in_one_line_and_the_next_build_recovers(
    cluster: object, cluster_url: str
) -> None:
    if not hasattr(cluster, "worker_stopped"):
        pytest.skip("needs the citus_cluster fixture (it stops and restarts a worker)")
    mutate_cluster(cluster_url, 777, 0.05)
    with cluster.worker_stopped(2):
        result = run_dbt(cluster_url, "run", "--select", "feature_daily")
        assert not result.success
        messages = " ".join(str(r.message) for r in result.result.results)
        assert "of the Citus cluster did not answer" in messages, messages
    build_marts(cluster_url)
    build_marts(cluster_url, full_refresh=True, schema="mart_full")
    assert not differing_marts(cluster_url, "mart", "mart_full")


def test_tenant_reads_only_its_organizations_on_distributed_marts(cluster_url: str) -> None:
    tenant = f"tenant_{uuid.uuid4().hex[:6]}"
    analyst = f"analyst_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(cluster_url, autocommit=True) as conn:
        org = conn.execute(
            "select organization_id from mart.feature_daily group by 1 order by count(*) desc limit 1"
        ).fetchone()[0]
        conn.execute(
            sql.SQL("create role {} login password 'pw' in role opsmart_tenant").format(
                sql.Identifier(tenant)
            )
        )
        conn.execute(
            sql.SQL("create role {} login password 'pw' in role opsmart_analyst").format(
                sql.Identifier(analyst)
            )
        )
        conn.execute(
            "insert into ops.tenant_reader (reader, organization_id) values (%s::regrole, %s)", [tenant, org]
        )
        total = conn.execute("select count(*) from mart.feature_daily").fetchone()[0]
        own = conn.execute(
            "select count(*) from mart.feature_daily where organization_id = %s", [org]
        ).fetchone()[0]
    as_tenant = psycopg.conninfo.make_conninfo(cluster_url, user=tenant, password="pw")
    as_analyst = psycopg.conninfo.make_conninfo(cluster_url, user=analyst, password="pw")
    with psycopg.connect(as_tenant) as conn:
        seen = conn.execute(
            "select count(*), count(distinct organization_id) from mart.feature_daily"
        ).fetchone()
        assert seen == (own, 1)
    with psycopg.connect(as_analyst) as conn:
        assert conn.execute("select count(*) from mart.feature_daily").fetchone()[0] == total
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from ops.event")


def test_opsmart_build_runs_every_model_test_and_freshness_check_on_the_cluster(
    cluster_url: str, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    env = {"OPSMART_DATABASE_URL": cluster_url, "OPSMART_BUILD_URL": builder_url(cluster_url)}
    done = cli("build", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "ERROR=0" in done.stdout


def test_a_purged_user_is_gone_from_ops_and_marts_and_the_marts_stay_exact_on_the_cluster(
    cluster_url: str, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    build_marts(cluster_url)
    user = _one(
        cluster_url,
        "select user_id from ops.event where user_id is not null"
        " group by 1 order by count(*) desc, 1 limit 1",
    )
    assert _one(cluster_url, "select count(*) from mart.feature_daily_users where user_id = %s", [user]) > 0
    done = cli("purge", "--user", str(user), env={"OPSMART_DATABASE_URL": cluster_url})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert _one(cluster_url, "select count(*) from ops.event where user_id = %s", [user]) == 0
    assert _one(cluster_url, "select count(*) from core.users where id = %s", [user]) == 0
    build_marts(cluster_url)
    assert _one(cluster_url, "select count(*) from mart.feature_daily_users where user_id = %s", [user]) == 0
    build_marts(cluster_url, full_refresh=True, schema="mart_full")
    assert not differing_marts(cluster_url, "mart", "mart_full")
