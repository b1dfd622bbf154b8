"""synth.generate: deterministic, realistic synthetic data, loaded in one transaction."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta

import pytest
from support import SYNTH_ANCHOR, TINY, generate_tiny, rows, value

from opsmart import connection
from opsmart.digest import OVERALL, digest
from opsmart.errors import UserError
from opsmart.synth import vocabulary

# Written by the change-tracking triggers: transaction ids and times differ per database.
VOLATILE = ("ops.mart_change_log",)


def test_same_seed_and_anchor_give_identical_data(make_database: Callable[..., str]) -> None:
    first, second, other = make_database(), make_database(), make_database()
    counts = generate_tiny(first)
    assert generate_tiny(second) == counts
    generate_tiny(other, seed=7)

    a, b, c = (digest(url, exclude=VOLATILE) for url in (first, second, other))
    assert a == b
    assert a[OVERALL] != c[OVERALL]
    assert a["ops.event"] != c["ops.event"]
    assert counts["ops.event"] == value(first, "select count(*) from ops.event") > 2000


def test_generated_data_is_valid_and_realistically_shaped(db_url: str) -> None:
    counts = generate_tiny(db_url)
    assert all(n > 0 for n in counts.values()), counts

    statuses = {s for (s,) in rows(db_url, "select distinct status from ops.analysis_run")}
    assert statuses == {"queued", "running", "succeeded", "failed", "cancelled"}
    assert value(db_url, "select bool_and(started_at is null) from ops.analysis_run where status = 'queued'")
    assert value(
        db_url, "select bool_and(finished_at is null) from ops.analysis_run where status = 'running'"
    )
    assert value(
        db_url,
        "select bool_and(finished_at >= started_at) from ops.analysis_run"
        " where status in ('succeeded', 'failed')",
    )
    assert value(db_url, "select count(*) from ops.analysis_run where organization_id is null") > 0

    for query in (
        "select array_agg(distinct score) from ops.judge_score",
        "select array_agg(distinct value_num) from ops.analysis_metric where key = 'overall_score'",
    ):
        scores = set(value(db_url, query))
        assert {0, 10} <= scores and all(0 <= s <= 10 and s * 2 == int(s * 2) for s in scores)
    assert value(db_url, "select min(value_num) from ops.analysis_metric where key = 'semantic_entropy'") >= 0
    assert value(db_url, "select count(distinct key) from ops.analysis_metric") == 4
    # every child carries its run's organization (written by the generator, not the trigger)
    for child in ("ops.analysis_metric", "ops.judge_score"):
        mismatched = value(
            db_url,
            f"select count(*) from {child} as c join ops.analysis_run as r on r.id = c.analysis_run_id"
            " where c.organization_id is distinct from r.organization_id",
        )
        assert mismatched == 0, child

    start = SYNTH_ANCHOR - timedelta(days=TINY.days)
    first, last, received = value(
        db_url, "select min(occurred_at), max(occurred_at), max(received_at) from ops.event"
    )
    assert start <= first and last < SYNTH_ANCHOR and received <= SYNTH_ANCHOR
    late = value(db_url, "select avg((received_at - occurred_at > interval '1 hour')::int) from ops.event")
    assert 0.05 < late < 0.15
    assert value(db_url, "select count(distinct source) from ops.event") >= 6
    assert value(db_url, "select count(distinct feature_key) from ops.event") >= 12

    idle = (
        "select count(*) from core.users as u"
        " where not exists (select from ops.event as e where e.user_id = u.id)"
    )
    assert value(db_url, idle) >= TINY.users // 20

    per_org = sorted(n for (n,) in rows(db_url, "select count(*) from ops.event group by organization_id"))
    assert per_org[-1] > 3 * per_org[len(per_org) // 2]

    sessions_with_messages = (
        "select count(*) from ops.chat_session as s"
        " where exists (select from ops.message as m where m.session_id = s.id)"
    )
    assert value(db_url, sessions_with_messages) > 0
    roles = {r for (r,) in rows(db_url, "select distinct role from ops.message")}
    assert roles == {"user", "assistant", "system", "tool"}
    assert value(db_url, "select count(*) from ops.chain_analysis_result") > 0

    p50, p99, failed = value(
        db_url,
        "select percentile_cont(0.5) within group (order by duration_ms),"
        " percentile_cont(0.99) within group (order by duration_ms), avg((not ok)::int)"
        " from ops.query_performance_log",
    )
    assert p99 > 5 * p50 and 0.005 < failed < 0.05


def test_each_query_is_timed_around_its_own_typical_duration(db_url: str) -> None:
    generate_tiny(db_url)
    medians = dict(
        rows(
            db_url,
            "select query_name, percentile_cont(0.5) within group (order by duration_ms)"
            " from ops.query_performance_log group by query_name having count(*) >= 30",
        )
    )
    typical = vocabulary.vocabulary()["queries"]
    assert len(medians) >= 5
    for name, median in medians.items():
        assert typical[name] / 3 < median < typical[name] * 3, name


def test_analysis_results_carry_their_semantic_entropy_in_extra_metadata(db_url: str) -> None:
    generate_tiny(db_url)
    # the platform guidelines' high-entropy query, as its ORM writes it
    high = value(
        db_url,
        "select count(*) from core.analysis_results"
        " where cast(analysis_extra_metadata -> 'semantic_entropy' ->> 'entropy' as float) > %s",
        [1.0],
    )
    total = value(db_url, "select count(*) from core.analysis_results")
    assert 0 < high < total
    # the details agree with the column, and with each other
    disagreeing = value(
        db_url,
        """select count(*) from core.analysis_results
           where (analysis_extra_metadata -> 'semantic_entropy' ->> 'entropy')::numeric
                 != semantic_entropy::numeric
              or (analysis_extra_metadata -> 'semantic_entropy' ->> 'clusters')::int
                 not between 1 and (analysis_extra_metadata -> 'semantic_entropy' ->> 'samples')::int""",
    )
    assert disagreeing == 0
    # a GIN index serves containment on it
    assert (
        value(
            db_url,
            "select count(*) from core.analysis_results where analysis_extra_metadata @> %s",
            ['{"engine": "legacy"}'],
        )
        == total
    )


def test_refuses_a_database_with_data_or_without_schema(db_url: str, empty_db_url: str) -> None:
    generate_tiny(db_url)
    with pytest.raises(UserError, match="already has data") as exc:
        generate_tiny(db_url)
    assert "\n" not in str(exc.value)
    with pytest.raises(UserError, match="not bootstrapped"):
        generate_tiny(empty_db_url)
    assert value(empty_db_url, "select to_regclass('ops.organization')") is None


def test_cli_generate(db_url: str) -> None:
    env = {**os.environ, connection.URL_ENV: db_url}
    command = [sys.executable, "-m", "opsmart.cli", "generate"]
    command += ["--days", "3", "--events-per-day", "100", "--runs-per-day", "10", "--organizations", "3"]
    command += ["--users", "20"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert value(db_url, "select count(*) from ops.organization") == 3
    assert value(db_url, "select count(*) from ops.event") > 200
    assert len(done.stdout.strip().splitlines()) == 1 and "generated" in done.stdout

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "opsmart: database already has data; generate into a fresh database or use --mutate"
    ]
