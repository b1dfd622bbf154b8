"""The rows one report shows, and how they are read: one snapshot of the mart schema."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from opsmart.health import _readable as readable

Row = dict[str, Any]


@dataclass
class Snapshot:
    """The rows behind every chart and table of one report."""

    database: str
    schema: str
    login: str
    generated_at: dt.datetime
    start: dt.date | None = None  # the window, both ends included
    end: dt.date | None = None
    week_end: dt.date | None = None  # the last whole day: today is not over
    organizations: list[Row] = field(default_factory=list)  # per day and organization group
    organization_totals: list[Row] = field(default_factory=list)
    features: list[Row] = field(default_factory=list)  # this week against the week before
    feature_days: list[Row] = field(default_factory=list)
    metric_days: list[Row] = field(default_factory=list)
    metric_hours: list[Row] = field(default_factory=list)
    latency_hours: list[Row] = field(default_factory=list)
    latency_totals: list[Row] = field(default_factory=list)
    has_slo: bool = False
    marts: list[Row] = field(default_factory=list)
    builds: list[Row] = field(default_factory=list)  # per invocation
    mart_builds: list[Row] = field(default_factory=list)  # per invocation and mart
    sources: list[Row] = field(default_factory=list)
    builds_from: str = "mart.build_history"

    def summary(self) -> dict[str, float | None]:
        """The window's headline figures: sums of counts, and means weighted by theirs."""
        totals = self.organization_totals
        analyses = sum(r["analyses"] for r in totals)
        scores = sum(r["judge_scores"] for r in totals)
        targeted = [r for r in self.latency_totals if r["target_ms"] is not None]
        hours = sum(r["hours"] for r in targeted)
        return {
            "analyses": analyses,
            "success_rate": sum(r["succeeded"] for r in totals) / analyses if analyses else None,
            "judge_score": sum(r["judge_sum"] for r in totals if r["judge_scores"]) / scores
            if scores
            else None,
            "events": sum(r["events"] for r in totals),
            "hours_within": 1 - sum(r["hours_over"] for r in targeted) / hours if hours else None,
        }


def plain(value: Any) -> Any:
    """JSON-ready: numerics as floats, dates and times as ISO strings (times in UTC)."""
    if isinstance(value, Decimal):
        # sums of counts come back as numeric: whole numbers stay whole
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def rows(conn: psycopg.Connection, query: sql.Composable, params: dict[str, Any]) -> list[Row]:
    return [{k: plain(v) for k, v in row.items()} for row in conn.execute(query, params).fetchall()]


class Marts:
    """The relations of one mart schema, as SQL identifiers (``m.feature_daily``)."""

    def __init__(self, conn: psycopg.Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema

    def __getattr__(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    def has(self, name: str) -> bool:
        return readable(self.conn, f"{self.schema}.{name}")
