"""One run's figures as table rows: the same rows for the console and for BENCHMARKS.md.

Each ``*_rows`` function returns ``(headers, rows)`` of strings.
"""

from __future__ import annotations

from typing import Any

Rows = tuple[list[str], list[list[str]]]


def seconds(value: float | None) -> str:
    """A duration for people: ms below a second, seconds above."""
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def times(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×"


def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summary_rows(result: dict[str, Any]) -> Rows:
    load, full = result["load"], result["full_refresh"]
    rows = [
        [
            "load (generate)",
            seconds(load["seconds"]),
            f"{load['rows_per_s']:,.0f} rows/s",
            f"{load['rows']:,} rows, {load['events']:,} events",
        ]
    ]
    for mart, m in full["marts"].items():
        verdict = "counted" if m["baseline_counted"] else f"NOT counted: {m['baseline_note']}"
        parts = ""
        if m.get("baseline_table_s") is not None:
            bare = ratio(m["sql_s"], m["baseline_table_s"]) if m["baseline_counted"] else None
            parts = (
                f": table {seconds(m['baseline_table_s'])} + indexes {seconds(m['baseline_index_s'])};"
                f" {times(bare)} the table alone"
            )
        rows.append(
            [
                f"full refresh: {mart}",
                seconds(m["sql_s"]),
                f"{times(m['ratio_to_baseline'])} baseline",
                f"baseline {seconds(m['baseline_s'])} ({verdict}){parts}; {m['rows']:,} rows",
            ]
        )
    rows.append(
        [
            "full refresh: all marts",
            seconds(full["mart_total_s"]),
            f"{times(ratio(full['mart_total_s'], full['baseline_total_s']))} baseline",
            f"wall {seconds(full['wall_s'])}, all SQL {seconds(full['sql_s'])},"
            f" dbt overhead {seconds(full['dbt_overhead_s'])}",
        ]
    )
    build_run = result["build_with_tests"]
    rows.append(
        [
            "dbt build with tests (no change)",
            seconds(build_run["sql_s"]),
            "",
            f"wall {seconds(build_run['wall_s'])}",
        ]
    )
    for key, scenario in result["incremental"].items():
        rows.append(
            [
                f"incremental: {key}",
                seconds(scenario["marts_sql_s"]),
                f"{share(scenario['ratio_to_full_refresh'])} of full refresh",
                f"{scenario['rows_rewritten']:,} mart rows rewritten; wall {seconds(scenario['wall_s'])},"
                f" dbt overhead {seconds(scenario['dbt_overhead_s'])}",
            ]
        )
    for kind, t in result["change_tracking"].items():
        if isinstance(t, dict):
            rows.append(
                [
                    f"ops insert, {kind.replace('_', ' ')}",
                    seconds(t["with_s"]),
                    f"{t['throughput_ratio']:.2f}× throughput",
                    f"{t['with_rows_per_s']:,.0f} rows/s tracked vs {t['without_rows_per_s']:,.0f} untracked",
                ]
            )
    peak = result["peak_memory"]
    rows.append(
        [
            "peak memory of the full refresh",
            "",
            f"{peak.get('total_mb', 0):,.0f} MB",
            (
                f"dbt {peak.get('dbt_mb', 0):,.0f} MB + postgres backends' private"
                f" {peak.get('postgres_private_mb', 0):,.0f} MB + shared memory"
                f" {peak['shared_mb']:,.0f} MB (backends' RSS summed:"
                f" {peak.get('postgres_rss_mb', 0):,.0f} MB, shared pages counted per process)"
            )
            if "shared_mb" in peak
            else f"dbt {peak.get('dbt_mb', 0):,.0f} MB + postgres backends"
            f" {peak.get('postgres_rss_mb', 0):,.0f} MB RSS"
            f" ({peak.get('postgres_private_mb', 0):,.0f} MB not shared)",
        ]
    )
    return ["measure", "SQL time", "ratio", "notes"], rows


def incremental_rows(result: dict[str, Any]) -> Rows:
    rows = []
    for key, scenario in result["incremental"].items():
        for mart, m in scenario["marts"].items():
            rows.append(
                [
                    key,
                    mart,
                    seconds(m["sql_s"]),
                    share(m["ratio_to_full_refresh"]),
                    f"{m['rows_inserted']:,} / {m['rows_deleted']:,}",
                    share(m["rewritten_share"]),
                    count(m.get("buckets_rebuilt")),
                    count(m.get("groups_rebuilt")),
                ]
            )
    headers = [
        "change",
        "mart",
        "SQL time",
        "of full refresh",
        "rows in / out",
        "of mart",
        "buckets",
        "groups",
    ]
    return headers, rows


def query_rows(result: dict[str, Any]) -> Rows:
    rows = []
    for name, q in result["queries"]["queries"].items():
        rows.append(
            [
                name,
                f"{q['mart']['p50_ms']:.2f} / {q['mart']['p95_ms']:.2f}",
                f"{q['ops']['p50_ms']:.1f} / {q['ops']['p95_ms']:.1f}",
                times(q["speedup_p50"]),
                str(q["rows"]),
                "yes" if q["answers_match"] else "NO",
            ]
        )
    return ["query", "mart p50 / p95 ms", "ops p50 / p95 ms", "speedup", "rows", "same answer"], rows


def target_rows(targets: list[dict[str, Any]]) -> Rows:
    rows = []
    for t in targets:
        value = t["value"]
        shown = "–" if value is None else (f"{value:.1%}" if t["goal"] < 1 else f"{value:,.2f}")
        if t["met"] is None:
            verdict = "not measured here"
        else:
            verdict = "met" if t["met"] else f"missed ({t['missed_by_factor']:.1f}× off)"
        rows.append([t["target"], shown, verdict, t["detail"]])
    return ["target", "value", "verdict", "detail"], rows


# (title, rows of one run's result)
TABLES = (
    ("summary", summary_rows),
    ("incremental runs, per mart", incremental_rows),
    ("analyst queries", query_rows),
    ("targets", lambda result: target_rows(result["targets"])),
)
