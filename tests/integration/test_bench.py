"""The benchmark end to end at tiny scale: every figure present and sane, baselines checked, queries agree."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsmart import bench, connection

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_run(
    server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Any], str]]:
    """One tiny bench (its database kept for the tests below): the JSON it wrote and the database URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    out = tmp_path_factory.mktemp("bench") / "tiny.json"
    try:
        assert bench.run("tiny", out, server_url=server_url, database=name, progress=False) == 0
        yield json.loads(out.read_text()), connection.with_database(server_url, name)
    finally:
        bench.drop_database(server_url, name)


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
    assert set(full["marts"]) == set(bench.MARTS)
    for mart, m in full["marts"].items():
        assert _positive(m["sql_s"]) and _positive(m["baseline_s"]) and m["rows"] > 0, mart
        assert m["baseline_counted"] is True, (mart, m["baseline_note"])
        assert _positive(m["ratio_to_baseline"]), mart
        assert "INSERT" in m["statements"], mart
    assert _positive(full["wall_s"]) and full["dbt_overhead_s"] >= 0
    assert _positive(result["peak_memory"]["dbt_mb"]) and _positive(result["peak_memory"]["total_mb"])
    assert _positive(result["build_with_tests"]["wall_s"])

    incremental = result["incremental"]
    assert set(incremental) == set(bench.SCENARIO_TITLES)
    for key, scenario in incremental.items():
        assert _positive(scenario["wall_s"]) and _positive(scenario["sql_s"]), key
        assert scenario["dbt_overhead_s"] >= 0 and scenario["ratio_to_full_refresh"] is not None, key
        for mart, m in scenario["marts"].items():
            assert m["rows_inserted"] >= 0 and m["rows_deleted"] >= 0 and m["buckets_rebuilt"] is not None, (
                mart
            )
    new_rows = incremental["new_rows_1pct"]
    assert new_rows["change"]["rows"]["ops.event"] > 0 and new_rows["change"]["late_events"] > 0
    assert new_rows["marts"]["feature_daily"]["rows_inserted"] > 0
    assert incremental["update_runs_1pct"]["marts"]["analysis_daily"]["rows_inserted"] > 0
    assert incremental["purge_user"]["marts"]["feature_daily"]["rows_deleted"] > 0
    assert incremental["no_change"]["rows_rewritten"] == 0
    assert all(result["exact_after_incrementals"].values()), result["exact_after_incrementals"]

    for kind in ("batch", "single_row"):
        t = result["change_tracking"][kind]
        assert _positive(t["with_rows_per_s"]) and _positive(t["without_rows_per_s"]), kind
        assert _positive(t["throughput_ratio"]), kind

    names = " ".join(t["target"] for t in result["targets"])
    for word in ("baseline", "incremental", "p95", "faster", "change tracking", "generated"):
        assert word in names


def test_every_catalog_query_returns_rows_and_agrees_with_ops(bench_run: tuple[dict[str, Any], str]) -> None:
    result, _ = bench_run
    queries = result["queries"]["queries"]
    assert set(queries) == {q.name for q in bench.load_catalog()}
    for name, q in queries.items():
        assert q["rows"] > 0, name
        assert q["answers_match"], name
        assert _positive(q["mart"]["p95_ms"]) and _positive(q["ops"]["p50_ms"]), name


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

    verdicts = bench.baselines(url, folder)
    assert verdicts["feature_daily"]["counted"] is False
    assert "missing" in verdicts["feature_daily"]["note"]
    assert verdicts["analysis_daily"]["counted"] is False
    assert "columns differ" in verdicts["analysis_daily"]["note"]
    assert verdicts["performance_dashboard"]["counted"] is False
    assert verdicts["metric_timeseries"]["counted"] is True


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
        "<!-- bench:M:begin -->\nM not run yet\n<!-- bench:M:end -->\n"
    )
    assert bench.report(results, markdown) == 0
    text = markdown.read_text()
    assert "kept" in text and "old" not in text and "M not run yet" in text
    assert "| query |" in text and "full refresh: feature_daily" in text


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
        json.dumps({"info": {"name": "NodeStart"}, "data": {}}),
    ]
    log.write_text("\n".join(lines) + "\n")
    total, marts = bench.parse_dbt_log(log)
    assert total == pytest.approx(2.85)
    assert marts == {"feature_daily": {"sql_s": 2.25, "statements": {"INSERT": 2.0, "CREATE INDEX": 0.25}}}
