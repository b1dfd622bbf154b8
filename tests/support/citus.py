"""Production-like changes to the ops tables of a Citus cluster, for the exactness rounds there.

``opsmart generate --mutate`` (opsmart.synth.mutate) picks its victims with the
generator's session functions (``pg_temp.uh``), which Citus cannot run on the
workers, and moves a run between organizations, which Citus refuses (a row's
organization is its shard). These are the same kinds of change, in SQL a
cluster runs, each on the path the platform would take: pushed-down
INSERT ... SELECT (the workers evaluate defaults), INSERT ... VALUES and COPY
(the coordinator does), multi-shard and router UPDATE and DELETE, deletes
cascading from a reference table, a user purged, a judge criterion re-keyed.
Victims are picked by a hash of their id and the seed: deterministic, and
evaluated where the rows are.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

import psycopg

from opsmart import purge


def _pick(seed: int, per_mille: int, column: str = "id") -> str:
    return f"abs(hashtext({column}::text || '{seed}')) % 1000 < {per_mille}"


def mutate_cluster(url: str, seed: int, fraction: float) -> dict[str, int]:
    """One round of changes in one transaction; rows touched per kind."""
    rng = random.Random(seed)
    share = max(1, round(fraction * 1000))
    counts: dict[str, int] = {}
    with psycopg.connect(url) as conn:

        def run(kind: str, statement: str, params: object = None) -> None:
            counts[kind] = conn.execute(statement, params).rowcount  # type: ignore[arg-type]

        # one transaction that also writes reference tables (a purge, an organization
        # removed) after multi-shard writes: Citus wants its shards written one by one
        conn.execute("set local citus.multi_shard_modify_mode = 'sequential'")
        now = conn.execute("select date_trunc('hour', now())").fetchone()[0]
        # late events, pushed down to the workers (their defaults, their transaction ids)
        run(
            "events_late",
            "insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, payload)"
            " select organization_id, user_id, source, feature_key, occurred_at - interval '3 days', payload"
            f" from ops.event where {_pick(seed, share)}",
        )
        # new events through the coordinator: VALUES and COPY
        orgs = [
            row[0]
            for row in conn.execute("select id from ops.organization where slug <> 'anonymous' order by id")
        ]
        for _ in range(5):
            conn.execute(
                "insert into ops.event (organization_id, source,"
                " feature_key, occurred_at) values (%s, 'web', %s, %s)",
                [
                    rng.choice(orgs),
                    f"feature_{rng.randrange(4)}",
                    now - dt.timedelta(hours=rng.randrange(200)),
                ],
            )
        with conn.cursor().copy(
            "copy ops.event (organization_id, source, feature_key, occurred_at) from stdin"
        ) as copy:
            for _ in range(5):
                copy.write_row(
                    (
                        rng.choice(orgs),
                        "api",
                        f"feature_{rng.randrange(4)}",
                        now - dt.timedelta(hours=rng.randrange(200)),
                    )
                )
        counts["events_new"] = 10
        # runs move on; a run's start is corrected (it moves to another day)
        # (Citus refuses STABLE functions over columns in an UPDATE's SET, such as
        # timestamptz + interval: the new values come from a subquery, fenced so
        # that it is not pulled up into the SET list.)
        for kind, new_values, where in (
            (
                "runs_finished",
                "'succeeded' as status, started_at, started_at + interval '7 minutes' as finished_at",
                f"status = 'running' and {_pick(seed, 500)}",
            ),
            (
                "runs_started",
                "'running' as status, created_at + interval '1 minute' as started_at, finished_at",
                f"status = 'queued' and {_pick(seed, 500)}",
            ),
            (
                "runs_restarted",
                "status, started_at - interval '1 day' as started_at, finished_at",
                f"started_at is not null and finished_at is null and {_pick(seed + 1, share)}",
            ),
        ):
            run(
                kind,
                "update ops.analysis_run as r set status = v.status, started_at = v.started_at,"
                " finished_at = v.finished_at"
                f" from (select id, organization_id, {new_values}"
                f" from ops.analysis_run where {where} offset 0) as v"
                " where r.id = v.id and r.organization_id = v.organization_id",
            )
        # corrections
        run(
            "scores_corrected",
            "update ops.judge_score set score = mod(score * 2 + 1 + abs(hashtext(id::text)) % 20, 21) / 2"
            f" where {_pick(seed, share)}",
        )
        run(
            "metrics_corrected",
            "update ops.analysis_metric set value_num = mod(value_num"
            " * 2 + 1 + abs(hashtext(id::text)) % 20, 21) / 2"
            f" where key = 'overall_score' and value_num is not null and {_pick(seed, share)}",
        )
        # deletes: events, one user (purge), one organization (cascading from the reference table)
        run("events_deleted", f"delete from ops.event where {_pick(seed + 2, max(1, share // 10))}")
        user = conn.execute(
            "select user_id from ops.event where user_id is not null"
            f" order by hashtext(user_id::text || '{seed}') limit 1"
        ).fetchone()
        if user:
            removed = purge.remove_user(conn, user[0])
            counts["users_purged"] = 1 if removed is not None else 0
        if rng.random() < 0.5:
            victim = conn.execute(
                "select o.id from ops.organization as o where o.slug <> 'anonymous'"
                f" order by hashtext(o.id::text || '{seed}') limit 1"
            ).fetchone()
            if victim:
                run("organizations_removed", "delete from ops.organization where id = %s", [victim[0]])
        # a judge criterion re-keyed: its scores move to another metric key
        if rng.random() < 0.3:
            run(
                "criteria_renamed",
                "update ops.judge_criterion set key = key || '_v2'"
                " where id = (select id from ops.judge_criterion"
                f" order by hashtext(id::text || '{seed}') limit 1)",
            )
        # new runs with metrics and scores, messages, query timings
        orgs = [row[0] for row in conn.execute("select id from ops.organization order by id")]
        criterion = conn.execute("select id from ops.judge_criterion order by id limit 1").fetchone()
        for _ in range(4):
            run_id, org = uuid.uuid4(), rng.choice(orgs)
            started = now - dt.timedelta(hours=rng.randrange(300))
            conn.execute(
                "insert into ops.analysis_run (id, organization_id,"
                " status, started_at, finished_at, created_at)"
                " values (%s, %s, 'succeeded', %s, %s, %s)",
                [run_id, org, started, started + dt.timedelta(minutes=rng.randrange(1, 30)), started],
            )
            conn.execute(
                "insert into ops.analysis_metric (analysis_run_id,"
                " organization_id, key, value_num, created_at)"
                " values (%s, %s, 'overall_score', %s, %s), (%s, %s, 'semantic_entropy', %s, %s)",
                [run_id, org, rng.randrange(11), started, run_id, org, rng.random(), started],
            )
            if criterion:
                conn.execute(
                    "insert into ops.judge_score (analysis_run_id,"
                    " organization_id, criterion_id, score, created_at)"
                    " values (%s, %s, %s, %s, %s)",
                    [run_id, org, criterion[0], rng.randrange(11), started],
                )
        run(
            "messages_new",
            "insert into ops.message (session_id, organization_id, role, content, ts)"
            " select id, organization_id, 'user', 'late', started_at + interval '1 minute'"
            f" from ops.chat_session where {_pick(seed, 300)}",
        )
        run(
            "query_log_new",
            "insert into ops.query_performance_log (query_name, duration_ms, ok, measured_at)"
            " select query_name, duration_ms * 2, not ok, measured_at - interval '2 hours'"
            f" from ops.query_performance_log where {_pick(seed, share)}",
        )
        run(
            "query_log_deleted",
            f"delete from ops.query_performance_log where {_pick(seed + 3, max(1, share // 5))}",
        )
    return counts
