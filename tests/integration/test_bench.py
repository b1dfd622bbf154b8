"""The benchmark end to end at tiny scale: every figure present and sane, baselines checked, queries agree.

The parts that need no server (log parsing, targets, rendering) are tested in
test_bench_units.py.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opsmart import build, connection
from opsmart.bench import baselines, queries, report, runner, scenarios

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_run(
    server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Any], str]]:
    """One tiny bench (its database kept for the tests below): the JSON it wrote and the database URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    out = tmp_path_factory.mktemp("bench") / "tiny.json"
    try:
        assert runner.run("tiny", out, server_url=server_url, database=name, progress=False) == 0
        yield json.loads(out.read_text()), connection.with_database(server_url, name)
    finally:
        runner.drop_database(server_url, name)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_json_has_every_figure(bench_run: tuple[dict[str, Any], str]) -> None:
    result, _ = bench_run
    assert result["scale"] == "tiny"
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["memory_gb"] > 0 and machine["postgres_version"]
    assert "sha" in result["commit"]

    load = result["load"]
    assert _positive(load["seconds"]) and _positive(load["rows_per_s"]) and load["events"] > 0

    full = result["full_refresh"]
    assert set(full["marts"]) == set(build.MARTS)
    for mart, m in full["marts"].items():
        assert _positive(m["sql_s"]) and _positive(m["baseline_s"]) and m["rows"] > 0, mart
        assert m["baseline_counted"] is True, (mart, m["baseline_note"])
        assert _positive(m["ratio_to_baseline"]), mart
        # the baseline is the table and the mart's indexes, both timed
        assert _positive(m["baseline_table_s"]) and _positive(m["baseline_index_s"]), mart
        assert m["baseline_s"] == pytest.approx(m["baseline_table_s"] + m["baseline_index_s"]), mart
        assert "INSERT" in m["statements"], mart
    assert _positive(full["wall_s"]) and full["dbt_overhead_s"] >= 0
    peak = result["peak_memory"]
    assert _positive(peak["dbt_mb"]) and _positive(peak["postgres_private_mb"])
    # each byte once: dbt, the backends' private memory, the server's shared memory
    parts = peak["dbt_mb"] + peak["postgres_private_mb"] + peak["shared_mb"]
    assert peak["shared_mb"] < peak["total_mb"] <= parts
    assert _positive(result["build_with_tests"]["wall_s"])

    incremental = result["incremental"]
    assert list(incremental) == list(scenarios.TITLES)
    for key, scenario in incremental.items():
        assert _positive(scenario["wall_s"]) and _positive(scenario["sql_s"]), key
        assert scenario["dbt_overhead_s"] >= 0 and scenario["ratio_to_full_refresh"] is not None, key
        for mart, m in scenario["marts"].items():
            assert m["rows_inserted"] >= 0 and m["rows_deleted"] >= 0, (key, mart)
            assert m["buckets_rebuilt"] is not None and m["groups_rebuilt"] is not None, (key, mart)
    new_rows = incremental["new_rows_1pct"]
    assert new_rows["change"]["rows"]["ops.event"] > 0 and new_rows["change"]["late_events"] > 0
    assert new_rows["marts"]["feature_daily"]["rows_inserted"] > 0
    assert incremental["update_runs_1pct"]["marts"]["analysis_daily"]["rows_inserted"] > 0
    purged = incremental["purge_user"]
    assert purged["marts"]["feature_daily"]["rows_deleted"] > 0
    assert purged["change"]["removed"]["events"] == purged["change"]["events"] > 0
    assert incremental["no_change"]["rows_rewritten"] == 0

    # the fixed-size changes: the same rows at every scale (tiny holds fewer events than the limit)
    fixed_rows = incremental["fixed_new_rows"]
    assert fixed_rows["fixed_size"] and incremental["fixed_updates"]["fixed_size"]
    copied = fixed_rows["change"]["rows"]
    assert 0 < copied["ops.event"] <= scenarios.FIXED_NEW_ROWS["events"]
    assert copied["ops.analysis_run"] == scenarios.FIXED_NEW_ROWS["runs"]
    assert 0 < copied["ops.query_performance_log"] <= scenarios.FIXED_NEW_ROWS["query_logs"]
    assert fixed_rows["marts"]["feature_daily"]["rows_inserted"] > 0
    assert fixed_rows["marts"]["feature_daily"]["groups_rebuilt"] > 0
    updated = incremental["fixed_updates"]["change"]["rows"]
    assert updated["ops.analysis_run"] == scenarios.FIXED_UPDATED_RUNS
    assert updated["ops.judge_score"] > 0 and updated["ops.analysis_metric"] > 0
    assert incremental["fixed_updates"]["marts"]["metric_timeseries"]["rows_inserted"] > 0
    assert result["load"]["database_bytes"] > 0
    assert all(result["exact_after_incrementals"].values()), result["exact_after_incrementals"]

    for kind in ("batch", "single_row"):
        t = result["change_tracking"][kind]
        assert _positive(t["with_rows_per_s"]) and _positive(t["without_rows_per_s"]), kind
        assert _positive(t["throughput_ratio"]), kind

    names = " ".join(t["target"] for t in result["targets"])
    for word in ("baseline", "incremental", "p95", "faster", "change tracking", "generated"):
        assert word in names


NEW_QUESTIONS = ("feature_week_over_week", "worst_orgs_by_judge_this_month", "query_p95_trend_7_days")


def test_every_catalog_query_returns_rows_and_agrees_with_ops(bench_run: tuple[dict[str, Any], str]) -> None:
    result, _ = bench_run
    asked = result["queries"]["queries"]
    catalog = {q.name for q in queries.load_catalog()}
    assert set(asked) == catalog and set(NEW_QUESTIONS) <= catalog
    started = dt.datetime.fromisoformat(result["started_at"])
    for name, q in asked.items():
        # a month-to-date question has nothing to rank in the first hour of a month
        if not (name == "worst_orgs_by_judge_this_month" and started.day == 1 and started.hour == 0):
            assert q["rows"] > 0, name
        assert q["answers_match"], name
        assert _positive(q["mart"]["p95_ms"]) and _positive(q["ops"]["p50_ms"]), name


def test_the_new_questions_answer_what_they_ask(bench_run: tuple[dict[str, Any], str]) -> None:
    """Spot checks of the three questions against ops, beyond mart and ops agreeing."""
    _, url = bench_run
    with connection.connect(url, autocommit=True) as conn:
        params = queries.parameters(conn)
        catalog = queries.compile_catalog(url, params)
        weeks = conn.execute(catalog["feature_week_over_week"]).fetchall()
        events = conn.execute(
            "select count(*) from ops.event"
            " where occurred_at >= %(prior_week_start)s::timestamp at time zone 'UTC'"
            " and occurred_at < %(today)s::timestamp at time zone 'UTC'",
            params,
        ).fetchone()[0]
        assert sum(this + last for _, this, last, _, _ in weeks) == events
        assert all(delta == this - last for _, this, last, delta, _ in weeks)

        worst = conn.execute(catalog["worst_orgs_by_judge_this_month"]).fetchall()
        assert len(worst) <= 10
        assert [mean for _, _, mean in worst] == sorted(mean for _, _, mean in worst)

        trend = conn.execute(catalog["query_p95_trend_7_days"]).fetchall()
        assert all(median <= worst for _, _, _, median, worst in trend)
        assert {day for _, day, _, _, _ in trend} <= {
            params["since_7d"] + dt.timedelta(days=d) for d in range(7)
        }


def test_a_baseline_that_differs_from_its_mart_is_not_counted(
    bench_run: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    _, url = bench_run
    folder = Path(shutil.copytree(REPO / "bench" / "baseline", tmp_path / "baseline"))
    # counts users with repeats: the same columns, different numbers
    wrong = folder / "feature_daily.sql"
    wrong.write_text(wrong.read_text().replace("count(distinct user_id)", "count(user_id)"))
    # the right rows, columns in another order
    swapped = folder / "analysis_daily.sql"
    swapped.write_text(
        swapped.read_text().replace(
            "r.organization_id,\n    (r.started_at at time zone 'UTC')::date as day,",
            "(r.started_at at time zone 'UTC')::date as day,\n    r.organization_id,",
        )
    )
    (folder / "performance_dashboard.sql").unlink()

    verdicts = baselines.run(url, runner.MART_SCHEMA, folder)
    assert verdicts["feature_daily"]["counted"] is False
    assert "missing" in verdicts["feature_daily"]["note"]
    assert verdicts["analysis_daily"]["counted"] is False
    assert "columns differ" in verdicts["analysis_daily"]["note"]
    assert verdicts["performance_dashboard"]["counted"] is False
    assert verdicts["metric_timeseries"]["counted"] is True


def test_a_baseline_carries_the_indexes_of_its_mart(bench_run: tuple[dict[str, Any], str]) -> None:
    _, url = bench_run
    baselines.run(url, runner.MART_SCHEMA)
    query = """
        select i.indisunique, i.indnullsnotdistinct,
               array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality as k (n, o)
                     join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.n order by k.o)
        from pg_index as i where i.indrelid = to_regclass(%s) order by 1, 2, 3
    """
    with psycopg.connect(url) as conn:
        for mart in build.MARTS:
            mine = conn.execute(query, [f"{runner.MART_SCHEMA}.{mart}"]).fetchall()
            theirs = conn.execute(query, [f"{baselines.SCHEMA}.{mart}"]).fetchall()
            assert mine and theirs == mine, mart
            assert any(unique for unique, _, _ in theirs), mart


def test_report_rewrites_only_the_marked_sections(
    bench_run: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    result, _ = bench_run
    results = tmp_path / "results"
    results.mkdir()
    (results / "S.json").write_text(json.dumps({**result, "scale": "S"}))
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(
        "# Benchmarks\n\nkept\n\n<!-- bench:S:begin -->\nold\n<!-- bench:S:end -->\n\n"
        "<!-- bench:M:begin -->\nM not run yet\n<!-- bench:M:end -->\n\n"
        "<!-- bench:scaling:begin -->\nneeds S and M\n<!-- bench:scaling:end -->\n"
    )
    assert report.rewrite(results, markdown) == 0
    text = markdown.read_text()
    assert "kept" in text and "old" not in text and "M not run yet" in text and "needs S and M" in text
    assert "| query |" in text and "full refresh: feature_daily" in text

    # the same run as M, with ten times the events: S and M side by side
    load = {**result["load"], "events": result["load"]["events"] * 10}
    (results / "M.json").write_text(json.dumps({**result, "scale": "M", "load": load}))
    assert report.rewrite(results, markdown) == 0
    text = markdown.read_text()
    assert "needs S and M" not in text and "M not run yet" not in text
    assert "| fixed_new_rows | all marts |" in text and "L (estimated)" in text
