"""How each cost grows from S to M, and what L would take on the same machine.

Two runs, one at S and one at M, side by side. Each figure's growth is read as a
power of the data size (events): value ∝ events^k, with k from the two runs, and
L's figure extrapolated with that k (a cost that shrank from S to M is held flat:
noise, not a trend). The fixed-size changes (``scenarios.FIXED_SIZE``) are the
scale figure proper: the same change at both scales, whose cost should not grow
with the tables (goal: M at most 1.5 times S).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsmart import build
from opsmart.bench import plans, tables
from opsmart.bench.scenarios import FIXED_SIZE
from opsmart.bench.targets import target

GOAL = 1.5  # a fixed-size change at M costs at most this many times its cost at S
Result = dict[str, Any]


@dataclass(frozen=True)
class Measure:
    label: str
    value: Callable[[Result], float | None]
    unit: str  # "s", "ms", "GB", "MB", "rows/s", "min"
    cost: bool = True  # lower is better (a rate, such as rows/s, is not)


def _dig(result: Result, *path: str) -> Any:
    for key in path:
        if not isinstance(result, dict) or key not in result:
            return None
        result = result[key]
    return result


def sizes(s: Result, m: Result) -> dict[str, float]:
    """Events at S and M as loaded, and at L as planned (in proportion to M's plan)."""
    events_s, events_m = s["load"]["events"], m["load"]["events"]
    planned_m = m["load"]["scale"]["events_per_day"] * m["load"]["scale"]["days"]
    return {"S": events_s, "M": events_m, "L": events_m * plans.nominal_events("L") / planned_m}


def growth(s_value: float | None, m_value: float | None, size: dict[str, float], *, cost: bool = True) -> Any:
    """``(M / S, k, L estimate)`` where value ∝ events^k; Nones where a figure is missing or zero."""
    if not s_value or not m_value or s_value <= 0 or m_value <= 0:
        return None, None, None
    if size["M"] <= size["S"]:
        return m_value / s_value, None, None
    k = math.log(m_value / s_value) / math.log(size["M"] / size["S"])
    held = max(k, 0.0) if cost else k
    return m_value / s_value, k, m_value * (size["L"] / size["M"]) ** held


def measures(s: Result, m: Result) -> list[Measure]:
    """Every figure both runs have, in the order of a run's own tables."""
    out = [
        Measure("load (generate)", lambda r: _dig(r, "load", "seconds"), "s"),
        Measure(
            "database size after load",
            lambda r: (_dig(r, "load", "database_bytes") or 0) / 2**30 or None,
            "GB",
        ),
    ]
    for mart in build.MARTS:
        out.append(
            Measure(
                f"full refresh: {mart}",
                lambda r, mart=mart: _dig(r, "full_refresh", "marts", mart, "sql_s"),
                "s",
            )
        )
    out += [
        Measure("full refresh: all marts", lambda r: _dig(r, "full_refresh", "mart_total_s"), "s"),
        Measure("baselines: all marts", lambda r: _dig(r, "full_refresh", "baseline_total_s"), "s"),
        Measure("dbt build with tests (no change)", lambda r: _dig(r, "build_with_tests", "sql_s"), "s"),
    ]
    for key in (k for k in s["incremental"] if k in m["incremental"]):
        out.append(
            Measure(f"incremental: {key}", lambda r, key=key: _dig(r, "incremental", key, "marts_sql_s"), "s")
        )
    for name in (q for q in s["queries"]["queries"] if q in m["queries"]["queries"]):
        out.append(
            Measure(
                f"query p95: {name}",
                lambda r, name=name: _dig(r, "queries", "queries", name, "mart", "p95_ms"),
                "ms",
            )
        )
    for kind in ("batch", "single_row"):
        out.append(
            Measure(
                f"ops insert, {kind.replace('_', ' ')} (tracked)",
                lambda r, kind=kind: _dig(r, "change_tracking", kind, "with_rows_per_s"),
                "rows/s",
                cost=False,
            )
        )
    out += [
        Measure("peak memory of the full refresh", lambda r: _dig(r, "peak_memory", "total_mb"), "MB"),
        Measure("the whole bench", lambda r: (_dig(r, "duration_s") or 0) / 60 or None, "min"),
    ]
    return out


def shown(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return tables.seconds(value)
    if unit == "ms":
        return f"{value:,.2f} ms"
    if unit in ("GB", "min"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f} {unit}"


def growth_rows(s: Result, m: Result) -> tables.Rows:
    size = sizes(s, m)
    rows = []
    for measure in measures(s, m):
        a, b = measure.value(s), measure.value(m)
        ratio, k, estimate = growth(a, b, size, cost=measure.cost)
        rows.append(
            [
                measure.label,
                shown(a, measure.unit),
                shown(b, measure.unit),
                tables.times(ratio),
                "–" if k is None else f"{k:.2f}",
                shown(estimate, measure.unit),
            ]
        )
    return ["measure", "S", "M", "M / S", "k (∝ events^k)", "L (estimated)"], rows


def _pair(s_value: Any, m_value: Any) -> str:
    return f"{tables.count(s_value)} / {tables.count(m_value)}"


def fixed_rows(s: Result, m: Result) -> tables.Rows:
    rows = []
    for key in FIXED_SIZE:
        a, b = _dig(s, "incremental", key), _dig(m, "incremental", key)
        if a is None or b is None:
            rows.append([key, "all marts", "–", "–", "–", "–", "–", "not measured in both runs"])
            continue
        for mart in build.MARTS:
            x, y = a["marts"][mart], b["marts"][mart]
            rows.append(
                [
                    key,
                    mart,
                    tables.seconds(x["sql_s"]),
                    tables.seconds(y["sql_s"]),
                    tables.times(tables.ratio(y["sql_s"], x["sql_s"])),
                    _pair(x["rows_inserted"], y["rows_inserted"]),
                    _pair(x.get("groups_rebuilt"), y.get("groups_rebuilt")),
                    "",
                ]
            )
        total = tables.ratio(b["marts_sql_s"], a["marts_sql_s"])
        verdict = "–" if total is None else ("met" if total <= GOAL else f"missed ({total / GOAL:.1f}× off)")
        rows.append(
            [
                key,
                "all marts",
                tables.seconds(a["marts_sql_s"]),
                tables.seconds(b["marts_sql_s"]),
                tables.times(total),
                _pair(a["rows_rewritten"], b["rows_rewritten"]),
                "",
                verdict,
            ]
        )
    headers = ["change", "mart", "S", "M", "M / S", "rows rewritten S / M", "groups S / M", f"M ≤ {GOAL}× S"]
    return headers, rows


def evaluate(s: Result, m: Result) -> list[dict[str, Any]]:
    """The scale goal for each fixed-size change: its SQL time at M at most 1.5 times S's."""
    out = []
    for key in FIXED_SIZE:
        a, b = _dig(s, "incremental", key, "marts_sql_s"), _dig(m, "incremental", key, "marts_sql_s")
        out.append(
            target(
                f"the same change ({key}) at M ≤ {GOAL}× at S",
                GOAL,
                tables.ratio(b, a),
                detail=f"S {tables.seconds(a)}, M {tables.seconds(b)} of mart SQL",
            )
        )
    return out
