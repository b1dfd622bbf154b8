"""The goals a run is judged by: each figure against its goal, met or missed by how much.

``met`` is None where this run cannot measure a goal (a goal set at M, measured at S).
"""

from __future__ import annotations

import math
from typing import Any

from opsmart import build
from opsmart.bench.scenarios import TITLES


def target(
    name: str,
    goal: float,
    value: float | None,
    *,
    higher_is_better: bool = False,
    detail: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One goal: ``value`` against ``goal``; ``missed_by_factor`` how far off when missed."""
    met = None if value is None else (value >= goal if higher_is_better else value <= goal)
    miss = None
    if met is False and value is not None:
        miss = goal / value if higher_is_better else value / goal
    return {
        "target": name,
        "goal": goal,
        "value": value,
        "met": met,
        "missed_by_factor": miss,
        "detail": detail,
        **extra,
    }


def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    """This run's figures against the goals."""
    scale = result["scale"]
    targets = []
    marts = result["full_refresh"]["marts"]
    ratios = {m: v["ratio_to_baseline"] for m, v in marts.items() if v["ratio_to_baseline"] is not None}
    worst = max(ratios, key=lambda m: ratios[m]) if ratios else None
    targets.append(
        target(
            "full refresh ≤ 1.5× the baseline (every mart)",
            1.5,
            ratios[worst] if worst else None,
            detail=", ".join(f"{m} {r:.2f}×" for m, r in ratios.items())
            + "".join(f"; {m}: baseline not counted" for m, v in marts.items() if not v["baseline_counted"]),
        )
    )
    for key in ("new_rows_1pct", "update_runs_1pct"):
        scenario = result["incremental"][key]
        worst_mart = max(build.MARTS, key=lambda m: scenario["marts"][m]["ratio_to_full_refresh"] or 0)
        targets.append(
            target(
                f"incremental after {TITLES[key]} ≤ 5% of the full refresh (at M)",
                0.05,
                scenario["ratio_to_full_refresh"],
                detail=f"worst mart {worst_mart} "
                f"{(scenario['marts'][worst_mart]['ratio_to_full_refresh'] or 0):.1%}; measured at {scale}",
            )
        )
    queries = result["queries"]["queries"]
    if queries:
        slowest = max(queries, key=lambda q: queries[q]["mart"]["p95_ms"])
        targets.append(
            target(
                "analyst queries p95 ≤ 10 ms (at M)",
                10.0,
                queries[slowest]["mart"]["p95_ms"],
                detail=f"slowest {slowest}; measured at {scale}",
            )
        )
        least = min(queries, key=lambda q: queries[q]["speedup_p50"] or math.inf)
        targets.append(
            target(
                "analyst queries ≥ 100× faster than asking ops (p50)",
                100.0,
                queries[least]["speedup_p50"],
                higher_is_better=True,
                detail=f"least {least}",
            )
        )
    tracking = result["change_tracking"]
    for kind in ("batch", "single_row"):
        targets.append(
            target(
                f"change tracking costs ≤ 10% of ops insert throughput ({kind.replace('_', ' ')})",
                0.10,
                tracking[kind]["cost"],
                detail=f"{tracking[kind]['with_rows_per_s']:,.0f} rows/s tracked"
                f" vs {tracking[kind]['without_rows_per_s']:,.0f} untracked",
            )
        )
    load = result["load"]
    targets.append(
        target(
            "M generated in under 2 minutes",
            120.0,
            load["seconds"] if scale == "M" else None,
            detail=f"{scale}: {load['seconds']:.0f} s for {load['rows']:,} rows"
            f" ({load['rows_per_s']:,.0f} rows/s)",
        )
    )
    return targets
