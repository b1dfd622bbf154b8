"""The report's charts as Vega-Lite specifications (vega-altair), one function per chart.

Each returns a spec to embed, or None when its data is empty (the page says so
instead). Times are UTC throughout (``utc`` time units), as the marts' buckets are.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from opsmart.report.snapshot import Snapshot

WIDTH = 820
Spec = dict[str, Any]
DAY = "utcyearmonthdate"
HOUR = "utcyearmonthdatehours"
MINUTE = "utcyearmonthdatehoursminutes"


def _spec(chart: alt.TopLevelMixin) -> Spec:
    return chart.configure_view(stroke=None).configure_axis(grid=True, gridOpacity=0.4).to_dict()


def _legend_highlight(name: str) -> alt.Parameter:
    """Click a legend entry to pick out its series (shift-click for several)."""
    return alt.selection_point(name=name, fields=["organization"], bind="legend")


def _organization_order(snap: Snapshot) -> list[str]:
    names = [r["organization"] for r in snap.organization_totals]
    seen = {r["organization"] for r in snap.organizations}
    return [n for n in names if n in seen] + sorted(seen - set(names))


def organization_analyses(snap: Snapshot) -> Spec | None:
    if not snap.organizations:
        return None
    pick = _legend_highlight("org_analyses")
    chart = (
        alt.Chart(alt.Data(values=snap.organizations))
        .mark_bar()
        .encode(
            x=alt.X(f"{DAY}(day):T", title=None),
            y=alt.Y("sum(analyses):Q", title="analyses per day"),
            color=alt.Color("organization:N", sort=_organization_order(snap), title=None),
            order=alt.Order("analyses:Q", sort="descending"),
            opacity=alt.condition(pick, alt.value(1), alt.value(0.2)),
            tooltip=[
                alt.Tooltip(f"{DAY}(day):T", title="day (UTC)"),
                "organization:N",
                alt.Tooltip("analyses:Q", format=","),
            ],
        )
        .add_params(pick)
        .properties(width=WIDTH, height=240)
    )
    return _spec(chart)


def _organization_lines(snap: Snapshot, field: str, title: str, fmt: str, name: str) -> Spec | None:
    rows = [r for r in snap.organizations if r[field] is not None]
    if not rows:
        return None
    pick = _legend_highlight(name)
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(f"{DAY}(day):T", title=None),
            y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=False), axis=alt.Axis(format=fmt)),
            color=alt.Color("organization:N", sort=_organization_order(snap), title=None),
            opacity=alt.condition(pick, alt.value(1), alt.value(0.12)),
            tooltip=[
                alt.Tooltip(f"{DAY}(day):T", title="day (UTC)"),
                "organization:N",
                alt.Tooltip(f"{field}:Q", title=title, format=fmt),
                alt.Tooltip("analyses:Q", format=","),
            ],
        )
        .add_params(pick)
        .properties(width=WIDTH, height=220)
    )
    return _spec(chart)


def organization_success(snap: Snapshot) -> Spec | None:
    return _organization_lines(snap, "success_rate", "success rate", ".0%", "org_success")


def organization_judge(snap: Snapshot) -> Spec | None:
    return _organization_lines(snap, "judge_score", "average judge score", ".2f", "org_judge")


def features_week(snap: Snapshot) -> Spec | None:
    if not snap.features:
        return None
    order = [r["feature_key"] for r in snap.features]
    base = alt.Chart(alt.Data(values=snap.features)).encode(
        y=alt.Y("feature_key:N", sort=order, title=None),
        tooltip=[
            "feature_key:N",
            "product_area:N",
            alt.Tooltip("this_week:Q", title="last 7 days", format=","),
            alt.Tooltip("last_week:Q", title="7 days before", format=","),
            alt.Tooltip("change:Q", title="change", format="+.1%"),
        ],
    )
    has_area = any(r["product_area"] for r in snap.features)
    bars = base.mark_bar().encode(
        x=alt.X("this_week:Q", title="events in the last 7 days (tick: the 7 days before)"),
        color=alt.Color("product_area:N", title="product area") if has_area else alt.value("#4c78a8"),
    )
    before = base.mark_tick(color="#222", thickness=2, size=18).encode(x="last_week:Q")
    change = (
        base.transform_calculate(
            label="datum.change == null ? 'new' : format(datum.change, '+.1%')",
            rising="datum.change == null || datum.change >= 0",
        )
        .mark_text(align="left", dx=6, fontWeight="bold")
        .encode(
            x=alt.X("max_events:Q"),
            text="label:N",
            color=alt.condition("datum.rising", alt.value("#2e7d32"), alt.value("#c62828")),
        )
        .transform_calculate(max_events="max(datum.this_week, datum.last_week)")
    )
    return _spec((bars + before + change).properties(width=WIDTH - 180, height=22 * len(order)))


def features_daily(snap: Snapshot) -> Spec | None:
    if not snap.feature_days:
        return None
    chart = (
        alt.Chart(alt.Data(values=snap.feature_days))
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(f"{DAY}(day):T", title=None),
            y=alt.Y("events:Q", title="events per day"),
            color=alt.Color("feature_key:N", title=None),
            tooltip=[alt.Tooltip(f"{DAY}(day):T", title="day (UTC)"), "feature_key:N", "events:Q"],
        )
        .properties(width=WIDTH - 120, height=220)
    )
    return _spec(chart)


def metrics_daily(snap: Snapshot) -> Spec | None:
    if not snap.metric_days:
        return None
    chart = (
        alt.Chart(alt.Data(values=snap.metric_days))
        .mark_line(point=alt.OverlayMarkDef(size=10))
        .encode(
            x=alt.X(f"{DAY}(day):T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=4)),
            y=alt.Y("mean:Q", title=None, scale=alt.Scale(zero=False)),
            tooltip=[
                "metric_key:N",
                "description:N",
                alt.Tooltip(f"{DAY}(day):T", title="day (UTC)"),
                alt.Tooltip("mean:Q", format=",.4~f"),
                alt.Tooltip("low:Q", title="min", format=",.4~f"),
                alt.Tooltip("high:Q", title="max", format=",.4~f"),
                alt.Tooltip("samples:Q", format=","),
            ],
        )
        .properties(width=235, height=110)
        .facet(facet=alt.Facet("metric_key:N", title=None), columns=3)
        .resolve_scale(y="independent")
    )
    return _spec(chart)


def metrics_hourly(snap: Snapshot) -> Spec | None:
    if not snap.metric_hours:
        return None
    keys = sorted({r["metric_key"] for r in snap.metric_hours})
    pick = alt.param(name="metric", value=keys[0], bind=alt.binding_select(options=keys, name="metric "))
    base = (
        alt.Chart(alt.Data(values=snap.metric_hours))
        .transform_filter("datum.metric_key == metric")
        .encode(x=alt.X(f"{HOUR}(hour):T", title=None))
    )
    band = base.mark_area(opacity=0.2, color="#4c78a8").encode(
        y=alt.Y("low:Q", title="hourly mean (band: min to max)", scale=alt.Scale(zero=False)), y2="high:Q"
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        y="mean:Q",
        tooltip=[
            alt.Tooltip(f"{HOUR}(hour):T", title="hour (UTC)"),
            alt.Tooltip("mean:Q", format=",.4~f"),
            alt.Tooltip("low:Q", title="min", format=",.4~f"),
            alt.Tooltip("high:Q", title="max", format=",.4~f"),
            alt.Tooltip("samples:Q", format=","),
        ],
    )
    return _spec((band + line).add_params(pick).properties(width=WIDTH, height=220))


def latency_heatmap(snap: Snapshot) -> Spec | None:
    rows = [r for r in snap.latency_hours if not snap.has_slo or r["target_ms"] is not None]
    if not rows:
        return None
    order = [r["query_name"] for r in snap.latency_totals]
    if snap.has_slo:
        color = alt.Color(
            "ratio:Q",
            title="p95 / target",
            scale=alt.Scale(type="log", domain=[0.1, 10], domainMid=1, scheme="redyellowgreen", reverse=True),
            legend=alt.Legend(format="~g"),
        )
    else:
        color = alt.Color("p95_ms:Q", title="p95 (ms)", scale=alt.Scale(type="log", scheme="viridis"))
    chart = (
        alt.Chart(alt.Data(values=rows))
        .transform_calculate(ratio="datum.target_ms ? clamp(datum.p95_ms / datum.target_ms, 0.1, 10) : null")
        .mark_rect()
        .encode(
            x=alt.X(f"{HOUR}(hour):T", title=None),
            y=alt.Y("query_name:N", sort=order, title=None),
            color=color,
            tooltip=[
                "query_name:N",
                alt.Tooltip(f"{HOUR}(hour):T", title="hour (UTC)"),
                alt.Tooltip("p95_ms:Q", title="p95 (ms)", format=",.1f"),
                alt.Tooltip("target_ms:Q", title="target (ms)", format=",~g"),
                alt.Tooltip("queries:Q", format=","),
                alt.Tooltip("errors:Q", format=","),
            ],
        )
        .properties(width=WIDTH - 160, height=16 * len({r["query_name"] for r in rows}))
    )
    return _spec(chart)


def latency_within(snap: Snapshot) -> Spec | None:
    rows = [r for r in snap.latency_totals if r["within"] is not None]
    if not rows:
        return None
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("within:Q", title="hours whose p95 met the target", axis=alt.Axis(format="%")),
            y=alt.Y("query_name:N", sort="x", title=None),
            color=alt.condition("datum.within >= 0.95", alt.value("#2e7d32"), alt.value("#c62828")),
            tooltip=[
                "query_name:N",
                alt.Tooltip("within:Q", title="hours within target", format=".1%"),
                alt.Tooltip("hours:Q", title="hours measured"),
                alt.Tooltip("target_ms:Q", title="target p95 (ms)", format=",~g"),
                alt.Tooltip("worst_p95_ms:Q", title="worst hourly p95 (ms)", format=",.1f"),
            ],
        )
        .properties(width=WIDTH - 200, height=16 * len(rows))
    )
    rule = alt.Chart(alt.Data(values=[{"goal": 0.95}])).mark_rule(strokeDash=[4, 3]).encode(x="goal:Q")
    return _spec(chart + rule)


def build_durations(snap: Snapshot) -> Spec | None:
    if not snap.builds:
        return None
    chart = (
        alt.Chart(alt.Data(values=snap.builds))
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X(f"{MINUTE}(started_at):T", title=None, axis=alt.Axis(format="%d %b %H:%M")),
            y=alt.Y("seconds:Q", title="duration (s)"),
            color=alt.Color(
                "status:N", scale=alt.Scale(domain=["success", "error"], range=["#2e7d32", "#c62828"])
            ),
            shape=alt.Shape("command:N"),
            tooltip=[
                alt.Tooltip(f"{MINUTE}(started_at):T", title="started (UTC)"),
                "command:N",
                "status:N",
                "login:N",
                alt.Tooltip("seconds:Q", format=",.1f"),
                "nodes:Q",
                "errors:Q",
            ],
        )
        .properties(width=WIDTH - 120, height=200)
    )
    return _spec(chart)


def build_marts(snap: Snapshot) -> Spec | None:
    if not snap.mart_builds:
        return None
    chart = (
        alt.Chart(alt.Data(values=snap.mart_builds))
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{MINUTE}(started_at):T", title=None, axis=alt.Axis(format="%d %b %H:%M")),
            y=alt.Y("seconds:Q", title="seconds per mart"),
            color=alt.Color("mart:N", title=None),
            tooltip=[
                alt.Tooltip(f"{MINUTE}(started_at):T", title="build started (UTC)"),
                "mart:N",
                "status:N",
                alt.Tooltip("seconds:Q", format=",.2f"),
                alt.Tooltip("groups_rebuilt:Q", title="groups rebuilt"),
                alt.Tooltip("buckets_rebuilt:Q", title="buckets rebuilt"),
                alt.Tooltip("is_full_refresh:N", title="full refresh"),
            ],
        )
        .properties(width=WIDTH - 180, height=200)
    )
    return _spec(chart)
