"""generate.py: deterministic, realistic synthetic data, and mutations that behave like production."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from opsmart import connection, generate
from opsmart.digest import OVERALL, digest
from opsmart.errors import UserError

ANCHOR = datetime(2025, 3, 1, 12, tzinfo=UTC)
TINY = generate.Scale.preset("tiny")
# Written by the change-tracking triggers: transaction ids and times differ per database.
VOLATILE = ("ops.mart_change_log",)


def _load(url: str, seed: int = 42) -> dict[str, int]:
    return generate.generate(url, TINY, seed=seed, anchor=ANCHOR, progress=False)


def _one(url: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def _rows(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_same_seed_and_anchor_give_identical_data(make_database: Callable[..., str]) -> None:
    first, second, other = make_database(), make_database(), make_database()
    counts = _load(first)
    assert _load(second) == counts
    _load(other, seed=7)

    a, b, c = (digest(url, exclude=VOLATILE) for url in (first, second, other))
    assert a == b
    assert a[OVERALL] != c[OVERALL]
    assert a["ops.event"] != c["ops.event"]
    assert counts["ops.event"] == _one(first, "select count(*) from ops.event") > 2000


def test_generated_data_is_valid_and_realistically_shaped(db_url: str) -> None:
    counts = _load(db_url)
    assert all(n > 0 for n in counts.values()), counts

    # Every constraint (foreign keys are re-added after the load) is in place and validated.
    template_keys = _one(db_url, "select count(*) from pg_constraint where contype = 'f'")
    assert template_keys > 20
    assert _one(db_url, "select count(*) from pg_constraint where not convalidated") == 0

    statuses = {s for (s,) in _rows(db_url, "select distinct status from ops.analysis_run")}
    assert statuses == {"queued", "running", "succeeded", "failed", "cancelled"}
    assert _one(db_url, "select bool_and(started_at is null) from ops.analysis_run where status = 'queued'")
    assert _one(db_url, "select bool_and(finished_at is null) from ops.analysis_run where status = 'running'")
    assert _one(
        db_url,
        "select bool_and(finished_at >= started_at) from ops.analysis_run"
        " where status in ('succeeded', 'failed')",
    )
    assert _one(db_url, "select count(*) from ops.analysis_run where organization_id is null") > 0

    for query in (
        "select array_agg(distinct score) from ops.judge_score",
        "select array_agg(distinct value_num) from ops.analysis_metric where key = 'overall_score'",
    ):
        scores = set(_one(db_url, query))
        assert {0, 10} <= scores and all(0 <= s <= 10 and s * 2 == int(s * 2) for s in scores)
    assert _one(db_url, "select min(value_num) from ops.analysis_metric where key = 'semantic_entropy'") >= 0
    assert _one(db_url, "select count(distinct key) from ops.analysis_metric") == 4

    start = ANCHOR - timedelta(days=TINY.days)
    first, last, received = _one(
        db_url, "select min(occurred_at), max(occurred_at), max(received_at) from ops.event"
    )
    assert start <= first and last < ANCHOR and received <= ANCHOR
    late = _one(db_url, "select avg((received_at - occurred_at > interval '1 hour')::int) from ops.event")
    assert 0.05 < late < 0.15
    assert _one(db_url, "select count(distinct source) from ops.event") >= 6
    assert _one(db_url, "select count(distinct feature_key) from ops.event") >= 12

    idle = (
        "select count(*) from core.users as u"
        " where not exists (select from ops.event as e where e.user_id = u.id)"
    )
    assert _one(db_url, idle) >= TINY.users // 20

    per_org = sorted(n for (n,) in _rows(db_url, "select count(*) from ops.event group by organization_id"))
    assert per_org[-1] > 3 * per_org[len(per_org) // 2]

    assert (
        _one(
            db_url,
            "select count(*) from ops.chat_session as s"
            " where exists (select from ops.message as m where m.session_id = s.id)",
        )
        > 0
    )
    roles = {r for (r,) in _rows(db_url, "select distinct role from ops.message")}
    assert roles == {"user", "assistant", "system", "tool"}
    assert _one(db_url, "select count(*) from ops.chain_analysis_result") > 0

    p50, p99, failed = _one(
        db_url,
        "select percentile_cont(0.5) within group (order by duration_ms),"
        " percentile_cont(0.99) within group (order by duration_ms), avg((not ok)::int)"
        " from ops.query_performance_log",
    )
    assert p99 > 5 * p50 and 0.005 < failed < 0.05


def test_refuses_a_database_with_data_or_without_schema(db_url: str, empty_db_url: str) -> None:
    _load(db_url)
    with pytest.raises(UserError, match="already has data") as exc:
        _load(db_url)
    assert "\n" not in str(exc.value)
    with pytest.raises(UserError, match="not bootstrapped"):
        _load(empty_db_url)
    assert _one(empty_db_url, "select to_regclass('ops.organization')") is None


def _snapshot(url: str, query: str) -> dict[Any, Any]:
    return dict(_rows(url, query))


def test_mutate_changes_what_it_says(db_url: str) -> None:
    _load(db_url)
    events = _one(db_url, "select count(*) from ops.event")
    scores = _snapshot(db_url, "select id, score from ops.judge_score")
    overall = _snapshot(db_url, "select id, value_num from ops.analysis_metric where key = 'overall_score'")
    status = _snapshot(db_url, "select id, status from ops.analysis_run")

    done = generate.mutate(db_url, seed=1, fraction=0.01, progress=False)
    assert all(n > 0 for n in done.values()), done
    assert set(done) == set(generate.MUTATE_KEYS)

    after = _one(db_url, "select count(*) from ops.event")
    assert after == events + done["events_inserted"] - done["events_deleted"] - done["events_cascaded"]

    user = _one(db_url, "select entity_id::uuid from ops.audit_log where action = 'user.purged'")
    for table, column in [
        ("core.users", "id"),
        ("core.sessions", "user_id"),
        ("core.auth_accounts", "user_id"),
        ("ops.organization_user", "user_id"),
        ("ops.event", "user_id"),
        ("ops.chat_session", "user_id"),
        ("ops.analysis_run", "user_id"),
        ("ops.workflow_run", "user_id"),
        ("ops.api_key", "user_id"),
    ]:
        assert _one(db_url, f"select count(*) from {table} where {column} = %s", [user]) == 0, table

    org = _one(db_url, "select entity_id::uuid from ops.audit_log where action = 'organization.removed'")
    for table in ["ops.organization", "ops.analysis_run", "ops.event", "core.prompts", "ops.workflow_run"]:
        column = "id" if table == "ops.organization" else "organization_id"
        assert _one(db_url, f"select count(*) from {table} where {column} = %s", [org]) == 0, table

    now_scores = _snapshot(db_url, "select id, score from ops.judge_score")
    changed = [i for i, s in now_scores.items() if i in scores and scores[i] != s]
    assert 0 < len(changed) <= done["scores_corrected"]
    now_overall = _snapshot(
        db_url, "select id, value_num from ops.analysis_metric where key = 'overall_score'"
    )
    assert any(i in overall and overall[i] != v for i, v in now_overall.items())
    assert set(now_scores.values()) <= {x / 2 for x in range(21)}

    now_status = _snapshot(db_url, "select id, status from ops.analysis_run")
    started = sum(1 for i, s in now_status.items() if status.get(i) == "queued" and s == "running")
    was_running = [i for i, s in status.items() if s == "running"]
    finished = sum(1 for i in was_running if now_status.get(i) in ("succeeded", "failed"))
    gone = sum(1 for i in was_running if i not in now_status)  # its organization was removed
    assert 0 < started <= done["runs_started"]
    assert finished <= done["runs_finished"] <= finished + gone
    assert len(now_status.keys() - status.keys()) == done["runs_inserted"]


def test_mutate_keeps_making_progress(db_url: str) -> None:
    _load(db_url)
    rounds = [generate.mutate(db_url, seed=3, fraction=0.01, progress=False) for _ in range(20)]
    assert all(r["events_inserted"] > 0 and r["runs_inserted"] > 0 and r["users_purged"] == 1 for r in rounds)
    assert sum(r["organizations_removed"] for r in rounds) == TINY.organizations - 1
    assert _one(db_url, "select count(*) from ops.organization") == 1
    assert _one(db_url, "select count(*) from ops.audit_log where action = 'synthetic.mutate'") == 20


def test_cli_generate_and_mutate(db_url: str) -> None:
    env = {**os.environ, connection.URL_ENV: db_url}
    base = [sys.executable, "-m", "opsmart.cli", "generate"]
    scale = [
        "--days",
        "3",
        "--events-per-day",
        "100",
        "--runs-per-day",
        "10",
        "--organizations",
        "3",
        "--users",
        "20",
    ]
    done = subprocess.run([*base, *scale], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _one(db_url, "select count(*) from ops.organization") == 3
    assert _one(db_url, "select count(*) from ops.event") > 200

    again = subprocess.run([*base, *scale], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "opsmart: database already has data; generate into a fresh database or use --mutate"
    ]

    mutated = subprocess.run(
        [*base, "--mutate", "--seed", "5"], env=env, capture_output=True, text=True, timeout=120
    )
    assert mutated.returncode == 0, mutated.stderr
    assert len(mutated.stdout.strip().splitlines()) == 1 and "mutate round 1" in mutated.stdout
