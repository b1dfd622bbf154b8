"""What the report shows, read from the mart schema as any analyst may.

Every figure comes from the marts (and the seeds and the organizations
dimension beside them when the build made them). Means over several rows are
weighted by their counts, never averages of averages; a p95 is never combined
across hours (it does not decompose), only compared hour by hour with its
target. The ops build history is read only when the login may (an owner), else
its analyst view mart.build_history.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from opsmart import connection, marts
from opsmart.report import builds
from opsmart.report.snapshot import Marts, Row, Snapshot, rows

TOP_ORGANIZATIONS = 8
TOP_FEATURES = 10
TRENDING_FEATURES = 5
LATENCY_DAYS = 7
HOURLY_METRIC_HOURS = 72


def _window(conn: psycopg.Connection, m: Marts, days: int) -> tuple[dt.date, dt.date] | None:
    """The ``days`` days up to the newest day the marts hold (not today: the data may be older)."""
    newest = conn.execute(
        sql.SQL("select greatest((select max(day) from {}), (select max(day) from {})) as day").format(
            m.analysis_daily, m.feature_daily
        )
    ).fetchone()["day"]
    if newest is None:
        return None
    return newest - dt.timedelta(days=days - 1), newest


def _labels(conn: psycopg.Connection, m: Marts) -> dict[str | None, str]:
    """organization_id -> a display name: the dimension's name (its slug too where names repeat)."""
    labels: dict[str | None, str] = {None: "no organization"}
    if not m.has("organizations"):
        return labels
    found = conn.execute(
        sql.SQL("select organization_id, organization_name, organization_slug from {}").format(
            m.organizations
        )
    ).fetchall()
    names = Counter(r["organization_name"] for r in found)
    for r in found:
        name = r["organization_name"]
        labels[str(r["organization_id"])] = f"{name} ({r['organization_slug']})" if names[name] > 1 else name
    return labels


def _label(labels: dict[str | None, str], organization_id: Any) -> str:
    key = None if organization_id is None else str(organization_id)
    return labels.get(key) or f"org {key[:8]}"


def _ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def _organizations(conn: psycopg.Connection, m: Marts, snap: Snapshot, window: dict[str, Any]) -> None:
    """Per day, the biggest organizations by analyses and the rest as one group; and per organization,
    the window. Counts add up; means are their sums over their counts (analysis_daily keeps both)."""
    labels = _labels(conn, m)
    totals = rows(
        conn,
        sql.SQL(
            """select a.organization_id, sum(a.analyses) as analyses, sum(a.succeeded) as succeeded,
                      sum(a.failed) as failed, sum(a.judge_score_sum) as judge_sum,
                      sum(a.judge_score_count) as judge_scores
               from {a} as a where a.day between %(start)s and %(end)s
               group by 1 order by 2 desc, 1"""
        ).format(a=m.analysis_daily),
        window,
    )
    events = {
        r["organization_id"]: r["events"]
        for r in rows(
            conn,
            sql.SQL(
                "select organization_id, sum(events) as events from {f}"
                " where day between %(start)s and %(end)s group by 1"
            ).format(f=m.feature_daily),
            window,
        )
    }
    top = {r["organization_id"] for r in totals[:TOP_ORGANIZATIONS]}
    others = len(totals) - len(top)
    # every organization with anything in the window, the busiest first
    ids = [r["organization_id"] for r in totals]
    ids += sorted(set(events) - set(ids), key=lambda i: -events[i])
    analysed = {r["organization_id"]: r for r in totals}
    nothing = {"analyses": 0, "succeeded": 0, "failed": 0, "judge_sum": None, "judge_scores": 0}
    for org in ids:
        runs = analysed.get(org, nothing)
        snap.organization_totals.append(
            {
                "organization": _label(labels, org),
                "analyses": runs["analyses"],
                "succeeded": runs["succeeded"],
                "success_rate": _ratio(runs["succeeded"], runs["analyses"]),
                "failed": runs["failed"],
                "judge_sum": runs["judge_sum"],
                "judge_scores": runs["judge_scores"],
                "judge_score": _ratio(runs["judge_sum"], runs["judge_scores"]),
                "events": events.get(org, 0),
            }
        )
    daily = rows(
        conn,
        sql.SQL(
            """select organization_id, day, analyses, succeeded, judge_score_sum, judge_score_count
               from {a} where day between %(start)s and %(end)s order by day"""
        ).format(a=m.analysis_daily),
        window,
    )
    groups: dict[tuple[str, str], Row] = {}
    for r in daily:
        org = r["organization_id"]
        name = _label(labels, org) if org in top else f"{others} other organizations"
        g = groups.setdefault(
            (r["day"], name),
            {
                "day": r["day"],
                "organization": name,
                "analyses": 0,
                "succeeded": 0,
                "judge_sum": 0,
                "scores": 0,
            },
        )
        g["analyses"] += r["analyses"]
        g["succeeded"] += r["succeeded"]
        g["judge_sum"] += r["judge_score_sum"] or 0
        g["scores"] += r["judge_score_count"]
    for g in groups.values():
        g["success_rate"] = g.pop("succeeded") / g["analyses"]
        g["judge_score"] = _ratio(g.pop("judge_sum"), g.pop("scores"))
    snap.organizations = list(groups.values())


def _features(conn: psycopg.Connection, m: Marts, snap: Snapshot, window: dict[str, Any]) -> None:
    """Top features of the last 7 whole days against the 7 before, from the platform rollup."""
    snap.week_end = min(window["end"], snap.generated_at.date() - dt.timedelta(days=1))
    week = {"end": snap.week_end, "top": TOP_FEATURES}
    area = (
        sql.SQL("(select c.product_area from {} as c where c.feature_key = f.feature_key)").format(
            m.feature_catalog
        )
        if m.has("feature_catalog")
        else sql.SQL("null::text")
    )
    snap.features = rows(
        conn,
        sql.SQL(
            """select f.feature_key, {area} as product_area,
                      coalesce(sum(f.events) filter (where f.day > %(end)s - 7), 0) as this_week,
                      coalesce(sum(f.events) filter (where f.day <= %(end)s - 7), 0) as last_week
               from {f} as f where f.day > %(end)s - 14 and f.day <= %(end)s
               group by 1 order by 3 desc, 1 limit %(top)s"""
        ).format(area=area, f=m.feature_daily_platform),
        week,
    )
    for r in snap.features:
        r["change"] = r["this_week"] / r["last_week"] - 1 if r["last_week"] else None
    trending = [r["feature_key"] for r in snap.features[:TRENDING_FEATURES]]
    snap.feature_days = rows(
        conn,
        sql.SQL(
            """select day, feature_key, events from {f}
               where day between %(start)s and %(end)s and feature_key = any(%(keys)s)
               order by 1, 2"""
        ).format(f=m.feature_daily_platform),
        {**window, "keys": trending},
    )


def _metrics(conn: psycopg.Connection, m: Marts, snap: Snapshot, window: dict[str, Any]) -> None:
    """Each metric's platform-wide daily mean (sums over counts), and its last hours."""
    label = (
        sql.SQL(
            "coalesce((select c.description || ' (' || c.unit || ')' from {} as c"
            " where c.metric_key = d.metric_key), d.metric_key)"
        ).format(m.metric_catalog)
        if m.has("metric_catalog")
        else sql.SQL("d.metric_key")
    )
    snap.metric_days = rows(
        conn,
        sql.SQL(
            """select d.metric_key, {label} as description, d.day, sum(d.sample_count) as samples,
                      sum(d.value_sum) / sum(d.sample_count) as mean,
                      min(d.value_min) as low, max(d.value_max) as high
               from {d} as d where d.day between %(start)s and %(end)s
               group by 1, 2, 3 order by 1, 3"""
        ).format(label=label, d=m.metric_daily),
        window,
    )
    snap.metric_hours = rows(
        conn,
        sql.SQL(
            """select metric_key, ts_bucket as hour, sample_count as samples, value_num as mean,
                      value_min as low, value_max as high
               from {h} where ts_bucket > (select max(ts_bucket) from {h}) - %(span)s
               order by 1, 2"""
        ).format(h=m.metric_hourly),
        {"span": dt.timedelta(hours=HOURLY_METRIC_HOURS)},
    )


def _latency(conn: psycopg.Connection, m: Marts, snap: Snapshot, window: dict[str, Any]) -> None:
    """Hourly p95 per query name against its target (seed query_slo), when the seed is there."""
    snap.has_slo = m.has("query_slo")
    target = (
        sql.SQL("(select s.p95_ms_target from {} as s where s.query_name = p.subject)").format(m.query_slo)
        if snap.has_slo
        else sql.SQL("null::double precision")
    )
    hours = sql.SQL(
        """select p.subject as query_name, p.ts_bucket as hour, p.query_count as queries,
                  p.error_count as errors, p.p95_duration_ms as p95_ms, {target} as target_ms
           from {p} as p
           where p.ts_bucket >= %(start)s::timestamp at time zone 'UTC'
             and p.ts_bucket < (%(end)s + 1)::timestamp at time zone 'UTC'"""
    ).format(target=target, p=m.performance_dashboard)
    start = max(window["start"], window["end"] - dt.timedelta(days=LATENCY_DAYS - 1))
    snap.latency_hours = rows(conn, hours + sql.SQL(" order by 1, 2"), {**window, "start": start})
    snap.latency_totals = rows(
        conn,
        sql.SQL(
            """select query_name, min(target_ms) as target_ms, count(*) as hours,
                      count(*) filter (where p95_ms > target_ms) as hours_over,
                      max(p95_ms) as worst_p95_ms,
                      (array_agg(p95_ms order by hour desc))[1] as latest_p95_ms,
                      sum(queries) as queries, sum(errors) as errors
               from ({hours}) as h group by 1
               order by count(*) filter (where p95_ms > target_ms)::float / count(*) desc, 1"""
        ).format(hours=hours),
        window,
    )
    for r in snap.latency_totals:
        r["within"] = 1 - r["hours_over"] / r["hours"] if r["target_ms"] is not None else None


def load(url: str, days: int, schema: str | None = None) -> Snapshot:
    """Everything the report shows, for the ``days`` days up to the newest data, in one snapshot."""
    schema = schema or connection.mart_schema()
    with connection.connect(url, row_factory=dict_row) as conn:
        # one snapshot: every chart agrees with every other, whatever builds meanwhile
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snap = Snapshot(
            database=connection.describe(url),
            schema=schema,
            login=conn.info.user,
            generated_at=dt.datetime.now(dt.UTC),
        )
        m = Marts(conn, schema)
        missing = [name for name in marts.NAMES if not m.has(name)]
        if missing:
            from opsmart.errors import UserError

            raise UserError(
                f"{conn.info.user} cannot read {', '.join(f'{schema}.{n}' for n in missing)}: "
                "build the marts first (`opsmart build`), and report as an owner or an analyst"
            )
        window = _window(conn, m, days)
        if window is not None:
            snap.start, snap.end = window
            bounds = {"start": snap.start, "end": snap.end}
            _organizations(conn, m, snap, bounds)
            _features(conn, m, snap, bounds)
            _metrics(conn, m, snap, bounds)
            _latency(conn, m, snap, bounds)
            builds.history(conn, m, snap, bounds)
        else:
            builds.history(conn, m, snap, {"start": dt.date(1970, 1, 1), "end": dt.date(1970, 1, 1)})
        builds.freshness(conn, m, snap)
    return snap
