"""The marts: the one list every command and test reads (names, buckets, tenancy).

Each entry mirrors its model's config in models/marts/ (tests/integration/test_project.py
compares them with dbt's manifest, so the two cannot drift apart).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mart:
    """One incremental mart table."""

    name: str
    bucket_column: str
    grain: str  # the UTC bucket: "hour" or "day"
    has_organization: bool  # tenants read only their organizations' rows; else none


MARTS: tuple[Mart, ...] = (
    Mart("metric_timeseries", "ts_bucket", "hour", has_organization=True),
    Mart("metric_daily", "day", "day", has_organization=True),
    Mart("metric_hourly", "ts_bucket", "hour", has_organization=False),
    Mart("feature_daily", "day", "day", has_organization=True),
    Mart("feature_daily_users", "day", "day", has_organization=True),
    Mart("feature_daily_platform", "day", "day", has_organization=False),
    Mart("analysis_daily", "day", "day", has_organization=True),
    Mart("performance_dashboard", "ts_bucket", "hour", has_organization=False),
)
NAMES: tuple[str, ...] = tuple(m.name for m in MARTS)
# Relations in the mart schema that are not incremental marts: rebuilt whole each build.
OTHER_RELATIONS: tuple[str, ...] = ("performance_last_hour", "build_history", "organizations")


def get(name: str) -> Mart:
    return next(m for m in MARTS if m.name == name)
