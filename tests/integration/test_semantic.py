"""The semantic layer: MetricFlow's answers equal the same questions asked in SQL.

Every metric of the project is asked through ``opsmart mf query`` (MetricFlow's
own CLI, connected as an analyst login) and compared with SQL written by hand on
the marts; unique users also against the ops events themselves, since they are
the metric that does not add up.
"""

from __future__ import annotations

import csv
import fcntl
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.platform import REPO, login_role

from opsmart import build, connection

ANALYST = "test_mf_analyst"


@pytest.fixture
def analyst_url(loaded_url: str) -> Iterator[str]:
    with login_role(loaded_url, ANALYST, "opsmart_analyst") as url:
        yield url


def mf(owner_url: str, analyst_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{connection.URL_ENV: owner_url, connection.ANALYST_URL_ENV: analyst_url})
    return subprocess.run(
        [sys.executable, "-m", "opsmart.cli", "mf", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def mf_rows(owner_url: str, analyst_url: str, out: Path, *args: str) -> dict[tuple, dict[str, float | None]]:
    """``mf query ARGS`` as {group-by values: {metric: value}} (the group-by columns come first)."""
    result = mf(owner_url, analyst_url, "query", *args, "--csv", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = args[args.index("--metrics") + 1].split(",")
    rows = {}
    with out.open() as f:
        for row in csv.DictReader(f):
            key = tuple(_normal(v) for k, v in row.items() if k not in metrics)
            rows[key] = {m: (float(row[m]) if row[m] != "" else None) for m in metrics}
    return rows


def _normal(value: object) -> str:
    """A group-by value as text both sides agree on (timestamps without a zone, dates at midnight)."""
    text = "" if value is None else str(value)
    return text + " 00:00:00" if len(text) == 10 and text[4] == "-" else text


def sql_rows(url: str, query: str, metrics: list[str]) -> dict[tuple, dict[str, float | None]]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(query)
        names = [c.name for c in cur.description]
        rows = {}
        for record in cur.fetchall():
            row = dict(zip(names, record, strict=True))
            key = tuple(_normal(row[n]) for n in names if n not in metrics)
            rows[key] = {m: (float(row[m]) if row[m] is not None else None) for m in metrics}
        return rows


def assert_same(mf_answer: dict, sql_answer: dict) -> None:
    assert mf_answer.keys() == sql_answer.keys()
    for key, values in sql_answer.items():
        for metric, expected in values.items():
            got = mf_answer[key][metric]
            if expected is None:
                assert got is None, (key, metric, got)
            else:
                assert got is not None and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9), (
                    key,
                    metric,
                    got,
                    expected,
                )


# One question per group of metrics: the metrics, mf's group-by, and the SQL on
# the marts that answers it (group-by columns first, in mf's order).
QUESTIONS = {
    "analyses by week and organization": (
        [
            "analyses",
            "analyses_succeeded",
            "analyses_failed",
            "success_rate",
            "overall_score_sum",
            "overall_score_count",
            "avg_overall_score",
            "judge_score_sum",
            "judge_score_count",
            "avg_judge_score",
        ],
        "metric_time__week,organization",
        """select date_trunc('week', day)::timestamp as metric_time__week, organization_id as organization,
                  sum(analyses) as analyses, sum(succeeded) as analyses_succeeded,
                  sum(failed) as analyses_failed,
                  sum(succeeded)::float8 / nullif(sum(analyses), 0) as success_rate,
                  sum(overall_score_sum) as overall_score_sum,
                  sum(overall_score_count) as overall_score_count,
                  sum(overall_score_sum)::float8 / nullif(sum(overall_score_count), 0) as avg_overall_score,
                  sum(judge_score_sum) as judge_score_sum, sum(judge_score_count) as judge_score_count,
                  sum(judge_score_sum)::float8 / nullif(sum(judge_score_count), 0) as avg_judge_score
           from mart.analysis_daily group by 1, 2""",
    ),
    "events by month and product area": (
        ["events"],
        "metric_time__month,feature__product_area",
        """select date_trunc('month', day)::timestamp as metric_time__month, catalog.product_area,
                  sum(events) as events
           from mart.feature_daily left join mart.feature_catalog as catalog using (feature_key)
           group by 1, 2""",
    ),
    "unique users by week and organization": (
        ["unique_users"],
        "metric_time__week,organization",
        """select date_trunc('week', day)::timestamp as metric_time__week, organization_id as organization,
                  count(distinct user_id) as unique_users
           from mart.feature_daily_users group by 1, 2""",
    ),
    # metric_daily is another mart answering from the same samples
    "metric samples by day and key": (
        ["metric_samples", "metric_value_sum", "metric_mean", "metric_min", "metric_max"],
        "metric_time__day,metric_sample__metric_key",
        """select day::timestamp as metric_time__day, metric_key,
                  sum(sample_count) as metric_samples, sum(value_sum) as metric_value_sum,
                  sum(value_sum)::float8 / sum(sample_count) as metric_mean,
                  min(value_min) as metric_min, max(value_max) as metric_max
           from mart.metric_daily group by 1, 2""",
    ),
    "query latency by hour and query name": (
        ["queries", "query_errors", "query_error_rate", "worst_hour_p95_ms"],
        "metric_time__hour,query",
        """select (ts_bucket at time zone 'UTC') as metric_time__hour, subject as query,
                  query_count as queries, error_count as query_errors,
                  error_count::float8 / query_count as query_error_rate, p95_duration_ms as worst_hour_p95_ms
           from mart.performance_dashboard""",
    ),
}


def test_mf_validate_configs_passes_against_the_marts(loaded_url: str, analyst_url: str) -> None:
    result = mf(loaded_url, analyst_url, "validate-configs")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Successfully validated metrics against data warehouse" in result.stdout


def test_every_metric_answers_as_sql_on_the_marts(loaded_url: str, analyst_url: str, tmp_path: Path) -> None:
    for name, (metrics, group_by, query) in QUESTIONS.items():
        answer = mf_rows(
            loaded_url,
            analyst_url,
            tmp_path / "answer.csv",
            "--metrics",
            ",".join(metrics),
            "--group-by",
            group_by,
        )
        expected = sql_rows(loaded_url, query, metrics)
        assert expected, f"{name}: the SQL found nothing to compare"
        assert_same(answer, expected)
    # every metric of the project is asked above (the manifest written by `opsmart mf`)
    manifest = json.loads((REPO / "target" / "semantic_manifest.json").read_text())
    asked = {m for metrics, _, _ in QUESTIONS.values() for m in metrics}
    assert {m["name"] for m in manifest["metrics"]} == asked


def test_unique_users_are_distinct_over_the_period_not_summed_days(
    loaded_url: str, analyst_url: str, tmp_path: Path
) -> None:
    answer = mf_rows(
        loaded_url,
        analyst_url,
        tmp_path / "answer.csv",
        "--metrics",
        "unique_users",
        "--group-by",
        "metric_time__week",
    )
    # the truth: the events themselves (read as the owner)
    truth = sql_rows(
        loaded_url,
        """select date_trunc('week', occurred_at at time zone 'UTC') as metric_time__week,
                  count(distinct user_id) as unique_users
           from ops.event where user_id is not null group by 1""",
        ["unique_users"],
    )
    assert_same(answer, truth)
    # and what summing the daily figures would have said: more, for some week
    summed = sql_rows(
        loaded_url,
        """select date_trunc('week', day)::timestamp as metric_time__week, sum(unique_users) as unique_users
           from mart.feature_daily group by 1""",
        ["unique_users"],
    )
    assert any(summed[week]["unique_users"] > truth[week]["unique_users"] for week in truth)


def test_saved_queries_run(loaded_url: str, analyst_url: str, tmp_path: Path) -> None:
    manifest = json.loads((REPO / "target" / "semantic_manifest.json").read_text())
    names = [q["name"] for q in manifest["saved_queries"]]
    assert names
    for name in names:
        out = tmp_path / f"{name}.csv"
        result = mf(loaded_url, analyst_url, "query", "--saved-query", name, "--csv", str(out))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        with out.open() as f:
            assert len(list(csv.DictReader(f))) > 0, name


def readme_mf_commands() -> list[list[str]]:
    """The README's `opsmart mf` examples, each as its arguments."""
    text = (REPO / "README.md").read_text().replace("\\\n", " ")
    return [shlex.split(line)[2:] for line in text.splitlines() if line.startswith(".venv/bin/opsmart mf ")]


def test_the_readme_mf_examples_answer(loaded_url: str, analyst_url: str) -> None:
    commands = readme_mf_commands()
    assert len(commands) >= 3
    for args in commands:
        result = mf(loaded_url, analyst_url, *args)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        # mf's table: a header, a rule of dashes, then at least one row
        rule = next(i for i, line in enumerate(lines) if set(line.strip()) <= set("- "))
        assert len(lines) > rule + 1, result.stdout[-2000:]


def _target_lock_held() -> bool:
    """Whether some process holds the lock on the project's target/ (taken and let go at once)."""
    with (REPO / "target" / ".opsmart.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def test_a_build_started_while_mf_runs_writes_elsewhere(
    loaded_url: str, analyst_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MetricFlow reads target/semantic_manifest.json, relation names and all, while it runs: a
    build started meanwhile must not rewrite it with another database's names."""
    # builds in the project's target/, as they do unless DBT_TARGET_PATH says otherwise
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    # the manifest parsed for this database first, so the run below has nothing to parse
    assert mf(loaded_url, analyst_url, "validate-configs").returncode == 0
    env = dict(os.environ, **{connection.URL_ENV: loaded_url, connection.ANALYST_URL_ENV: analyst_url})
    query = ["mf", "query", "--metrics", "analyses", "--group-by", "metric_time"]
    command = [sys.executable, "-m", "opsmart.cli", *query]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    with subprocess.Popen(command, env=env, cwd=REPO, **pipes) as running:
        held = False
        while running.poll() is None and not held:
            held = _target_lock_held()
            time.sleep(0.05)
        if held:
            # what a build started now would use: a private folder, not target/
            with build._target_folder() as folder:
                assert folder is not None
        output = running.communicate(timeout=600)[0]
    assert running.returncode == 0, output[-3000:]
    assert held, "opsmart mf let go of target/ while MetricFlow was reading it"
