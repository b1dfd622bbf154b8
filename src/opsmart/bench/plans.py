"""How hard each scale pushes the bench: repeats and sample sizes, and the data each scale loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsmart.errors import UserError

if TYPE_CHECKING:
    from opsmart.synth.scale import Scale


@dataclass(frozen=True)
class Plan:
    """Repeats and sample sizes of one bench run."""

    full_refresh_rounds: int  # full refresh and baselines, best of N
    mart_query_runs: int
    ops_query_runs: int
    query_budget_s: float  # per query and side, after at least 3 runs
    tracking_batch_rows: int  # rows inserted 1000 per statement, per variant and round
    tracking_single_rows: int  # rows inserted one statement each, per variant and round
    tracking_rounds: int  # each round times with, without, without, with


# Every plan is a choice of `opsmart bench --scale`: tiny for the tests, demo for a
# quick look (about a minute), S and M for BENCHMARKS.md, L for a bigger machine.
PLANS = {
    "tiny": Plan(1, 20, 5, 2.0, 5_000, 200, 1),
    "demo": Plan(1, 100, 10, 10.0, 50_000, 1_000, 1),
    "S": Plan(2, 200, 20, 20.0, 200_000, 3_000, 2),
    "M": Plan(2, 200, 10, 30.0, 200_000, 3_000, 2),
    "L": Plan(1, 100, 5, 60.0, 200_000, 3_000, 1),
}


def plan(scale: str) -> Plan:
    try:
        return PLANS[scale]
    except KeyError:
        raise UserError(f"unknown bench scale {scale!r}: choose one of {', '.join(PLANS)}") from None


def data_scale(name: str) -> Scale:
    """The generator's preset for a scale."""
    from opsmart.synth.scale import Scale

    return Scale.preset(name)


def nominal_events(name: str) -> int:
    """Events a scale is meant to load (events per day times days)."""
    s = data_scale(name)
    return s.events_per_day * s.days
