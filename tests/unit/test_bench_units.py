"""The bench's parts that need no server: dbt log parsing, percentiles, targets, scaling, rendering, CLI.

The bench end to end (against a real server, at tiny scale) is test_bench.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opsmart import build, cli, stats
from opsmart.bench import cluster_report, cpu, folder, queries, report, scaling, scenarios, tables, targets
from opsmart.bench.dbt_timing import parse_dbt_log
from opsmart.errors import UserError

QUERY_NAMES = ("metric_hourly_90_days", "org_last_30_days")


def fake_result(scale: str, *, events: int, grow: float = 1.0, fixed_grow: float = 1.0) -> dict[str, Any]:
    """A complete result document with made-up figures: data-bound costs times ``grow``.

    Times are per mart (a full refresh 2 s each at S), so totals follow the mart count.
    """
    marts = build.MARTS
    n = len(marts)

    def incremental(mart_s: float) -> dict[str, Any]:
        per_mart = {
            m: {
                "sql_s": mart_s,
                "ratio_to_full_refresh": mart_s / (2.0 * grow),
                "rows_inserted": 100,
                "rows_deleted": 90,
                "rewritten_share": 0.01,
                "buckets_rebuilt": 3,
                "groups_rebuilt": 12,
            }
            for m in marts
        }
        return {
            "marts": per_mart,
            "marts_sql_s": mart_s * n,
            "ratio_to_full_refresh": mart_s / (2.0 * grow),
            "rows_rewritten": 100 * n,
            "wall_s": mart_s * n + 5,
            "sql_s": mart_s * n,
            "dbt_overhead_s": 5.0,
        }

    result: dict[str, Any] = {
        "scale": scale,
        "started_at": "2026-11-22T10:00:00+00:00",
        "duration_s": 240.0 * grow,
        "commit": {"sha": "0123456789abcdef", "dirty": False},
        "machine": {
            "cores": 2,
            "memory_gb": 23.5,
            "postgres_version": "18.1",
            "server": "embedded",
            "settings": {"shared_buffers": "1GB", "work_mem": "64MB"},
            "platform": "Linux",
            "load_average_at_start": [0.5, 0.4, 0.3],
            "load_average_at_end": [0.7, 0.5, 0.4],
        },
        "load": {
            "seconds": 20.0 * grow,
            "rows": 3 * events,
            "rows_per_s": 3 * events / (20.0 * grow),
            "events": events,
            "database_bytes": 2**30 * grow,
            "scale": {"events_per_day": events // 100, "days": 100},
        },
        "full_refresh": {
            "marts": {
                m: {
                    "sql_s": 2.0 * grow,
                    "statements": {"INSERT": 1.5 * grow, "CREATE INDEX": 0.4 * grow},
                    "rows": 1000,
                    "baseline_s": 1.6 * grow,
                    "baseline_counted": True,
                    "baseline_note": "rows equal the mart's",
                    "ratio_to_baseline": 1.25,
                }
                for m in marts
            },
            "mart_total_s": 2.0 * grow * n,
            "baseline_total_s": 1.6 * grow * n,
            "wall_s": 2.0 * grow * n + 5,
            "sql_s": 2.0 * grow * n + 0.1,
            "dbt_overhead_s": 4.9,
        },
        "build_with_tests": {"sql_s": 3.0 * grow, "wall_s": 9.0 * grow},
        "incremental": {
            "new_rows_1pct": incremental(1.0 * grow),
            "update_runs_1pct": incremental(0.075 * grow),
            "update_runs_scattered_1pct": incremental(0.5 * grow),
            "purge_user": incremental(0.05),
            "fixed_new_rows": incremental(0.1 * fixed_grow),
            "fixed_updates": incremental(0.025 * fixed_grow),
            "no_change": incremental(0.05),
        },
        "change_tracking": {
            "table": "ops.event",
            "batch": {
                "with_s": 30.0,
                "throughput_ratio": 0.96,
                "with_rows_per_s": 24_000.0,
                "without_rows_per_s": 25_000.0,
                "cost": 0.04,
            },
            "single_row": {
                "with_s": 3.0,
                "throughput_ratio": 0.85,
                "with_rows_per_s": 3_400.0,
                "without_rows_per_s": 4_000.0,
                "cost": 0.15,
            },
        },
        "peak_memory": {
            "total_mb": 600.0 * grow,
            "dbt_mb": 130.0,
            "postgres_rss_mb": 470.0,
            "postgres_private_mb": 200.0,
        },
        "queries": {
            "queries": {
                name: {
                    "mart": {"p50_ms": 0.5 * grow, "p95_ms": 0.8 * grow},
                    "ops": {"p50_ms": 80.0 * grow, "p95_ms": 95.0 * grow},
                    "speedup_p50": 160.0,
                    "rows": 30,
                    "answers_match": True,
                }
                for name in QUERY_NAMES
            }
        },
        "exact_after_incrementals": dict.fromkeys(marts, True),
    }
    result["targets"] = targets.evaluate(result)
    return result


# --- dbt's log -----------------------------------------------------------------------------------


def test_dbt_sql_time_comes_from_its_json_log(tmp_path: Path) -> None:
    def status(node: str | None, text: str, elapsed: float) -> str:
        data: dict[str, Any] = {"status": text, "elapsed": elapsed}
        if node:
            data["node_info"] = {"unique_id": node}
        return json.dumps({"info": {"name": "SQLQueryStatus"}, "data": data})

    log = tmp_path / "dbt.log"
    lines = [
        status(None, "SELECT 3", 0.5),
        status("model.opsmart.feature_daily", "INSERT 0 10", 2.0),
        status("model.opsmart.feature_daily", "CREATE INDEX", 0.25),
        status("model.opsmart.stg_ops__events", "CREATE VIEW", 0.1),
        "not json at all",
        json.dumps({"info": {"name": "NodeStart"}, "data": {}}),
    ]
    log.write_text("\n".join(lines) + "\n")
    total, marts = parse_dbt_log(log)
    assert total == pytest.approx(2.85)
    assert marts == {"feature_daily": {"sql_s": 2.25, "statements": {"INSERT": 2.0, "CREATE INDEX": 0.25}}}


# --- percentiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "p", "expected"),
    [
        ([7.0], 0.95, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0.95, 3.85),  # percentile_cont(0.95) of 1..4
        ([4.0, 1.0, 3.0, 2.0], 0.0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 1.0, 4.0),
    ],
)
def test_percentile_is_postgres_percentile_cont(samples: list[float], p: float, expected: float) -> None:
    assert stats.percentile(samples, p) == pytest.approx(expected)


def test_percentile_agrees_with_inclusive_quantiles() -> None:
    samples = [float((i * 7919) % 1000) for i in range(1, 500)]
    quantiles = statistics.quantiles(samples, n=100, method="inclusive")
    for p in (0.5, 0.95, 0.99):
        assert stats.percentile(samples, p) == pytest.approx(quantiles[round(p * 100) - 1])
    with pytest.raises(ValueError):
        stats.percentile([], 0.5)


# --- targets -----------------------------------------------------------------------------------


def test_targets_say_met_missed_by_how_much_or_not_measured() -> None:
    result = fake_result("S", events=1_000_000)
    found = {t["target"]: t for t in result["targets"]}
    full = found["full refresh ≤ 1.2× the baseline (every mart)"]
    assert full["met"] is False and full["missed_by_factor"] == pytest.approx(1.25 / 1.2)
    single = found["change tracking costs ≤ 10% of ops insert throughput (single row)"]
    assert single["met"] is False and single["missed_by_factor"] == pytest.approx(1.5)
    assert found["M generated in under 2 minutes"]["met"] is None  # measured at S
    assert found["peak memory of a full refresh under 2 GB (MB, at M)"]["met"] is True
    purge = found["incremental after purging one user ≤ 5% of the full refresh (at M)"]
    assert purge["met"] is True and purge["value"] == pytest.approx(0.05 / 2.0)
    slower = targets.target("speed-up ≥ 100×", 100.0, 25.0, higher_is_better=True)
    assert slower["met"] is False and slower["missed_by_factor"] == pytest.approx(4.0)


def test_the_speedup_goal_counts_only_questions_that_are_slow_on_ops() -> None:
    result = fake_result("S", events=1_000_000)
    name = "≥ 100× faster than asking ops (p50), every question taking ops ≥ 50 ms"
    queries = result["queries"]["queries"]
    queries["org_last_30_days"].update(speedup_p50=3.0, ops={"p50_ms": 2.0, "p95_ms": 3.0})
    found = {t["target"]: t for t in targets.evaluate(result)}[name]
    assert found["met"] is True and "least metric_hourly_90_days; 1 of 2" in found["detail"]
    queries["metric_hourly_90_days"]["ops"] = {"p50_ms": 20.0, "p95_ms": 30.0}
    found = {t["target"]: t for t in targets.evaluate(result)}[name]
    assert found["met"] is None and "no question takes ops 50 ms" in found["detail"]


# --- scaling -------------------------------------------------------------------------------------


def test_growth_is_a_power_of_the_events_and_l_extrapolates_it() -> None:
    size = {"S": 1e6, "M": 1e7, "L": 1e8}
    ratio, k, estimate = scaling.growth(2.0, 20.0, size)  # grows with the data
    assert ratio == pytest.approx(10.0) and k == pytest.approx(1.0) and estimate == pytest.approx(200.0)
    ratio, k, estimate = scaling.growth(1.0, 2.0, size)
    assert k == pytest.approx(0.30103, rel=1e-4) and estimate == pytest.approx(4.0)
    # a cost that shrank is held flat at L; a rate keeps its trend
    assert scaling.growth(2.0, 1.0, size)[2] == pytest.approx(1.0)
    assert scaling.growth(2.0, 1.0, size, cost=False)[2] == pytest.approx(0.5)
    assert scaling.growth(None, 1.0, size) == (None, None, None)


def test_the_same_change_at_s_and_m_is_judged_against_the_goal() -> None:
    s = fake_result("S", events=1_000_000)
    m = fake_result("M", events=10_000_000, grow=10.0, fixed_grow=1.2)
    verdicts = {t["target"]: t for t in scaling.evaluate(s, m)}
    assert set(verdicts) == {f"the same change ({key}) at M ≤ 1.5× at S" for key in scenarios.FIXED_SIZE}
    assert all(t["met"] and t["value"] == pytest.approx(1.2) for t in verdicts.values())

    slow = fake_result("M", events=10_000_000, grow=10.0, fixed_grow=3.0)
    assert not any(t["met"] for t in scaling.evaluate(s, slow))
    headers, rows = scaling.fixed_rows(s, slow)
    totals = [r for r in rows if r[1] == "all marts"]
    assert len(totals) == len(scenarios.FIXED_SIZE)
    assert all(r[4] == "3.00×" and r[-1] == "missed (2.0× off)" for r in totals)
    assert headers[-1] == "M ≤ 1.5× S"


def test_side_by_side_reads_older_results_without_the_fixed_changes() -> None:
    s = fake_result("S", events=1_000_000)
    m = fake_result("M", events=10_000_000, grow=10.0)
    for result in (s, m):
        for key in scenarios.FIXED_SIZE:
            del result["incremental"][key]
        del result["load"]["database_bytes"]
    text = report.render_scaling(s, m)
    assert "not measured in both runs" in text
    assert "| database size after load | – | – |" in text
    n = len(build.MARTS)
    s_time, m_time = tables.seconds(2.0 * n), tables.seconds(20.0 * n)
    assert f"| full refresh: all marts | {s_time} | {m_time} | 10.00× | 1.00 |" in text


# --- rendering -----------------------------------------------------------------------------------


def test_a_section_shows_every_table_with_groups_per_mart() -> None:
    text = report.render_section(fake_result("S", events=1_000_000))
    assert text.startswith("Run 2026-11-22, commit `0123456789ab`, 2 cores")
    for title, _ in tables.TABLES:
        assert f"**{title.capitalize()}**" in text
    assert (
        "| change | mart | SQL time | of full refresh | rows in / out | of mart | buckets | groups |" in text
    )
    assert "| fixed_new_rows | feature_daily | 100 ms | 5.0% | 100 / 90 | 1.0% | 3 | 12 |" in text
    assert "every mart still equals its hand-written baseline" in text
    assert "3 buckets and 12 groups rebuilt" in text


def test_the_statement_that_builds_a_mart_counts_whatever_its_last_statement_is() -> None:
    """dbt reports the create-insert-constrain-analyze call by its last statement: ANALYZE since the
    marts are analyzed after their rows go in, ALTER TABLE before; both are the build itself."""
    for last in ("INSERT", "ALTER TABLE", "ANALYZE"):
        result = fake_result("M", events=10_000_000)
        for mart in result["full_refresh"]["marts"].values():
            mart["statements"] = {last: 1.5, "CREATE INDEX": 0.4, "COMMIT": 0.1}
        text = report.where_the_time_goes(result)
        assert "adds the grain's unique constraint is 75% of the total and the other index builds 20%" in text


def test_side_by_side_shows_s_m_their_ratio_and_l() -> None:
    s = fake_result("S", events=1_000_000)
    m = fake_result("M", events=10_000_000, grow=10.0)
    text = report.render_scaling(s, m)
    assert "M 10,000,000 events" in text and "L as planned" in text
    assert "different commits" not in text
    # grows with the data (k = 1): L is ten times M
    assert "| load (generate) | 20.00 s | 200.00 s | 10.00× | 1.00 | 2000.00 s |" in text
    # the fixed change does not grow (k = 0): L as M
    fixed = tables.seconds(0.025 * len(build.MARTS))
    assert f"| incremental: fixed_updates | {fixed} | {fixed} | 1.00× | 0.00 | {fixed} |" in text
    m["commit"]["sha"] = "fedcba9876543210"
    assert "different commits" in report.render_scaling(s, m)


def test_rewrite_replaces_only_the_marked_sections(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "S.json").write_text(json.dumps(fake_result("S", events=1_000_000)))
    markdown = tmp_path / "BENCHMARKS.md"
    prose = "# Benchmarks\n\nprose stays\n\n"
    markdown.write_text(
        prose + "<!-- bench:scaling:begin -->\nwaits for M\n<!-- bench:scaling:end -->\n\n"
        "<!-- bench:S:begin -->\nold S\n<!-- bench:S:end -->\n\n"
        "<!-- bench:M:begin -->\nold M\n<!-- bench:M:end -->\n"
    )
    assert report.rewrite(results, markdown) == 0
    text = markdown.read_text()
    assert text.startswith(prose) and "old S" not in text and "old M" in text and "waits for M" in text

    (results / "M.json").write_text(json.dumps(fake_result("M", events=10_000_000, grow=10.0)))
    assert report.rewrite(results, markdown) == 0
    text = markdown.read_text()
    assert text.startswith(prose) and "old M" not in text and "waits for M" not in text
    assert text.count("<!-- bench:scaling:begin -->") == 1 and "**The same change at S and at M**" in text


# --- the catalog, the scenarios and their SQL -----------------------------------------------------


def test_windows_end_now_weeks_are_complete_days_and_the_month_starts_on_the_first() -> None:
    w = queries.windows(dt.datetime(2026, 3, 18, 14, 35, tzinfo=dt.UTC))
    assert w["today"] == dt.date(2026, 3, 18) and w["since_7d"] == dt.date(2026, 3, 12)
    assert (w["prior_week_start"], w["week_start"]) == (dt.date(2026, 3, 4), dt.date(2026, 3, 11))
    assert w["month_start"] == dt.date(2026, 3, 1)
    assert w["since_24h"] == dt.datetime(2026, 3, 17, 15, tzinfo=dt.UTC)


def test_every_scenario_step_has_its_sql_and_every_parameter_a_lint_value() -> None:
    steps = {
        name
        for s in (scenarios.NEW_ROWS, scenarios.RECENT_RUN_CORRECTIONS, scenarios.SCATTERED_RUN_STATUS)
        for name, _ in s
    }
    for name in steps:
        assert (folder() / f"{name}.sql").is_file(), name
    lint_values = (folder() / ".sqlfluff").read_text()
    for path in folder().rglob("*.sql"):
        for parameter in set(re.findall(r"%\((\w+)\)s", path.read_text())):
            assert re.search(rf"^{parameter} = ", lint_values, re.MULTILINE), (path.name, parameter)


def test_scenario_titles_keep_their_order_and_the_fixed_ones_are_marked() -> None:
    keys = list(scenarios.TITLES)
    assert keys[0] == "new_rows_1pct" and keys[-1] == "no_change"
    assert scenarios.FIXED_SIZE == ("fixed_new_rows", "fixed_updates")


# --- the command line ----------------------------------------------------------------------------


def test_bench_report_is_a_subcommand_and_every_plan_a_scale() -> None:
    args = cli.parser().parse_args(["bench", "report", "some/dir"])
    assert args.func is cli._bench_report and args.results == "some/dir"
    args = cli.parser().parse_args(["bench", "--scale", "demo", "--markdown"])
    assert args.func is cli._bench and args.scale == "demo" and args.markdown


def test_the_console_shows_the_same_change_at_s_and_m(capsys: pytest.CaptureFixture[str]) -> None:
    report.print_scaling(fake_result("S", events=1_000_000), fake_result("M", events=10_000_000, grow=10.0))
    out = capsys.readouterr().out
    assert "the same change at S and at M" in out and "fixed_updates" in out and "scale targets" in out


# --- one server vs a Citus cluster ----------------------------------------------------------------


def fake_side_by_side(slower: float = 1.2) -> dict[str, Any]:
    """A side-by-side document: the cluster ``slower`` times one server, CPU split per node."""
    single = fake_result("S", events=1_000_000)
    cluster = fake_result("S", events=1_000_000, grow=slower, fixed_grow=slower)
    for key in ("purge_user", "no_change"):  # fake_result does not grow these: make them
        cluster["incremental"][key] = {
            **cluster["incremental"][key],
            "marts_sql_s": single["incremental"][key]["marts_sql_s"] * slower,
        }
    busy = {"coordinator": 2.0, "worker-1": 5.0, "worker-2": 3.0, "dbt": 4.0, "claim": 0.5}
    idle = {"coordinator": 0.5, "worker-1": 0.2, "worker-2": 0.2, "dbt": 4.0, "claim": 0.3}
    cluster["full_refresh"]["spent_s"] = busy
    single["full_refresh"]["spent_s"] = {"server": 7.0, "dbt": 4.0}
    for key in cluster["incremental"]:
        cluster["incremental"][key]["spent_s"] = idle if key == "no_change" else busy
        single["incremental"][key]["spent_s"] = {"server": 1.0, "dbt": 4.0}
    cluster["cluster"] = {"citus": "14.0.1", "workers": 2, "placements": {"worker-1": 400, "worker-2": 400}}
    return {
        "command": "opsmart bench --scale S --side-by-side",
        "started_at": "2026-12-01T03:00:00+00:00",
        "seed": 42,
        "load_average_at_start": [2.5, 2.0, 1.5],
        "load_average_at_end": [3.0, 2.5, 2.0],
        "single": single,
        "cluster": cluster,
    }


def test_the_side_by_side_table_judges_every_build_against_the_goal() -> None:
    headers, rows = cluster_report.comparison_rows(fake_side_by_side(1.2))
    assert headers[:5] == ["build", "one server SQL", "cluster SQL", "cluster / one", "≤ 1.3×"]
    by_build = {r[0]: r for r in rows}
    assert len(rows) == len(build.MARTS) + 1 + len(scenarios.TITLES)
    assert by_build["full refresh: feature_daily"][1:5] == ["2.00 s", "2.40 s", "1.20×", "yes"]
    assert by_build["incremental: no_change"][3:5] == ["1.20×", "yes"]
    _, rows = cluster_report.comparison_rows(fake_side_by_side(1.5))
    assert {r[4] for r in rows} == {"no"}


def test_the_model_splits_fixed_coordinator_and_worker_time_and_spreads_the_workers() -> None:
    doc = fake_side_by_side()
    parts = cluster_report.parts(doc)
    full = parts["full refresh"]
    # dbt outside SQL (4.9) + claim (0.5) + the no-change run's coordinator CPU (0.5)
    assert full["fixed"] == pytest.approx(4.9 + 0.5 + 0.5)
    assert full["coordinator"] == pytest.approx(2.0 - 0.5)
    # each worker's floor is the no-change run's (0.2); the rest grows: 4.8 and 2.8
    assert full["worker_floor"] == pytest.approx(0.2)
    assert full["workers"] == pytest.approx(7.6) and full["imbalance"] == pytest.approx(4.8 / 3.8)
    assert full["grows"] and not parts["fixed_new_rows"]["grows"] and not parts["no_change"]["grows"]
    # ten times the data on 4 workers of 2 cores: 5.9 + 1.5 * 10 + 0.2 / 2 + (4.8 / 3.8) * 7.6 * 10 / 8
    assert cluster_report.estimate(full, 10.0, 4, 2) == pytest.approx(5.9 + 15.0 + 0.1 + 12.0)
    # a fixed-size change does not grow with the data, only spreads over more workers
    fixed = parts["fixed_new_rows"]
    assert cluster_report.estimate(fixed, 100.0, 4, 2) == cluster_report.estimate(fixed, 1.0, 4, 2)
    # one server the same way: dbt outside SQL + the no-change SQL + the rest times g
    # (the fake result gives every mart 2.0 s of full refresh and 0.05 s of no-change SQL)
    n = len(build.MARTS)
    assert cluster_report.one_server(doc, "full refresh", 10.0) == pytest.approx(
        4.9 + 0.05 * n + (2.0 - 0.05) * n * 10
    )
    assert cluster_report.one_server(doc, "fixed_new_rows", 10.0) == pytest.approx(5.0 + 0.1 * n)
    assert cluster_report.growth("S", "M") == pytest.approx(10.0, rel=1e-3)
    assert cluster_report.growth("S", "L") == pytest.approx(100.0, rel=1e-3)


def test_the_citus_section_shows_exactness_load_and_every_table() -> None:
    doc = fake_side_by_side()
    text = cluster_report.render(doc)
    assert "Citus 14.0.1, a coordinator and 2 workers" in text and "worker-1 400, worker-2 400" in text
    assert "Load average (1 / 5 / 15 min) 2.50 / 2.00 / 1.50 at the start" in text
    assert "one server yes, cluster yes" in text
    assert (
        "| build | wall | SQL | dbt outside SQL | claim round trip | coordinator CPU | worker-1 CPU |" in text
    )
    assert "| M, 16 workers |" in text and "| L, one server |" in text and "| measured wall |" in text
    assert cluster_report.duration(90.0) == "90.00 s" and cluster_report.duration(7200.0) == "2.0 h"
    doc["cluster"]["exact_after_incrementals"]["metric_daily"] = False
    assert "cluster **NO**" in cluster_report.render(doc)
    assert cluster_report.exact(doc) == {"single": True, "cluster": False}


def test_rewrite_renders_the_largest_side_by_side_between_its_markers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    small = fake_side_by_side()
    small["command"] = "opsmart bench --scale tiny --side-by-side"
    (results / "tiny-single-vs-citus.json").write_text(json.dumps(small))
    (results / "S-single-vs-citus.json").write_text(json.dumps(fake_side_by_side()))
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\n<!-- bench:citus:begin -->\nnot yet\n<!-- bench:citus:end -->\n")
    assert report.rewrite(results, markdown) == 0
    text = markdown.read_text()
    assert "not yet" not in text and "`opsmart bench --scale S --side-by-side`" in text
    (results / "S-single-vs-citus.json").write_text("{")
    with pytest.raises(UserError, match="is not a side-by-side result"):
        report.rewrite(results, markdown)


def test_bench_side_by_side_and_cluster_are_options() -> None:
    args = cli.parser().parse_args(["bench", "--scale", "tiny", "--side-by-side", "--markdown"])
    assert args.func is cli._bench and args.side_by_side and args.markdown and not args.cluster
    assert cli.parser().parse_args(["bench", "--cluster"]).cluster


# --- CPU seconds of a process tree -----------------------------------------------------------------

_BURN = """
import subprocess, sys, time
burn = "import time\\nwhile time.process_time() < 0.3: pass"
subprocess.run([sys.executable, "-c", burn], check=True)
print("reaped", flush=True)
time.sleep(60)
"""


def test_a_tree_counts_its_exited_children_once_reaped() -> None:
    """A parent whose child burned 0.3 s of CPU and exited: the tree's seconds include the child's."""
    parent = subprocess.Popen([sys.executable, "-c", _BURN], stdout=subprocess.PIPE, text=True)
    try:
        before = cpu.tree_seconds(parent.pid)
        assert parent.stdout is not None and parent.stdout.readline().strip() == "reaped"
        after = cpu.tree_seconds(parent.pid)
        assert after - before >= 0.3
    finally:
        parent.kill()
        parent.wait()
    assert cpu.spent({"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 1.0, "c": 9.0}) == {"a": 2.0, "b": 0.0}
