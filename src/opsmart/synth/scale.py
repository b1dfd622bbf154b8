"""How much data to generate: the scale knobs, their presets and the bounds the CLI enforces."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import ClassVar

from opsmart.errors import UserError

# The seed is mixed into 64-bit hashes as seed * 1_000_003 + a 48-bit salt (session.mix).
SEED_LIMIT = 9_000_000_000_000


def check_seed(seed: int) -> None:
    """A seed the 64-bit hashes can mix in; a one-line error otherwise."""
    if not -SEED_LIMIT <= seed <= SEED_LIMIT:
        raise UserError(f"the seed must be between {-SEED_LIMIT:,} and {SEED_LIMIT:,}, got {seed:,}")


@dataclass(frozen=True)
class Scale:
    """How much data to generate. The defaults are the demo scale."""

    organizations: int = 20
    users: int = 400
    days: int = 60
    events_per_day: int = 2000
    runs_per_day: int = 200

    KNOBS: ClassVar[tuple[str, ...]] = ("organizations", "users", "days", "events_per_day", "runs_per_day")
    RUNS_PER_EXPERIMENT: ClassVar[int] = 4

    # The most of each knob the generator and PostgreSQL can hold, and why.
    LIMITS: ClassVar[dict[str, tuple[int, str]]] = {
        # every user's and organization's uuid travels with each statement as one
        # array value, which PostgreSQL caps at 1 GB
        "organizations": (10_000_000, "their uuids are one array value"),
        "users": (10_000_000, "their uuids are one array value"),
        # ops.ensure_event_partitions makes at most ten years of monthly partitions
        "days": (3_660, "ten years of monthly event partitions"),
        # a day's rows of one kind are keyed day * 2^24 + k, and the busiest day
        # holds 1.3225 times the mean (pg_temp.day_count)
        "events_per_day": (12_000_000, "a day's rows are keyed below 2^24"),
        "runs_per_day": (12_000_000, "a day's rows are keyed below 2^24"),
    }

    def __post_init__(self) -> None:
        for name, (most, why) in self.LIMITS.items():
            value = getattr(self, name)
            if value <= 0:
                raise UserError(f"scale: {name} must be greater than zero")
            if value > most:
                raise UserError(f"scale: {name} must be at most {most:,} ({why}), got {value:,}")

    @property
    def active_users(self) -> int:
        """Users 0..active_users-1 act; the rest (about 10%) signed up and never did anything."""
        return max(1, self.users - self.users // 10)

    @property
    def workflow_runs_per_day(self) -> int:
        return max(1, self.runs_per_day // 4)

    @property
    def chat_sessions_per_day(self) -> int:
        return max(1, self.runs_per_day // 5)

    @property
    def queries_per_day(self) -> int:
        return max(1, self.events_per_day // 4)

    @property
    def audit_entries_per_day(self) -> int:
        return max(1, self.runs_per_day // 10)

    @property
    def max_prompts_per_organization(self) -> int:
        """Prompts of the biggest organization; organization o has about this / sqrt(o + 1)."""
        return max(3, min(500, 2 * self.users // self.organizations))

    @property
    def experiments(self) -> int:
        return 1 + self.organizations // 10

    def knobs(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.KNOBS}

    @classmethod
    def from_args(cls, ns: argparse.Namespace) -> Scale:
        return cls(**{name: getattr(ns, name) for name in cls.KNOBS})

    @classmethod
    def preset(cls, name: str) -> Scale:
        """tiny (tests), demo (default), S (~1M events), M (~10M), L (~100M: for larger machines)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise UserError(f"unknown scale {name!r}: choose one of {', '.join(PRESETS)}") from None


PRESETS: dict[str, Scale] = {
    "tiny": Scale(organizations=6, users=60, days=7, events_per_day=400, runs_per_day=40),
    "demo": Scale(),
    "S": Scale(organizations=50, users=5_000, days=90, events_per_day=11_112, runs_per_day=1_500),
    "M": Scale(organizations=200, users=20_000, days=180, events_per_day=55_556, runs_per_day=7_500),
    # ~100M events and ~13M runs: needs tens of GB of disk and a bigger machine than 2 cores.
    "L": Scale(organizations=1_000, users=100_000, days=365, events_per_day=273_973, runs_per_day=37_000),
}
