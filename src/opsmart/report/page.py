"""The report page: one HTML file holding its charts' code and data (no network; opens from disk)."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opsmart.report import charts
from opsmart.report.data import HOURLY_METRIC_HOURS
from opsmart.report.snapshot import Row, Snapshot

# chart id -> the function that draws it (the page's order)
CHARTS: dict[str, Callable[[Snapshot], charts.Spec | None]] = {
    "organization-analyses": charts.organization_analyses,
    "organization-success": charts.organization_success,
    "organization-judge": charts.organization_judge,
    "features-week": charts.features_week,
    "features-daily": charts.features_daily,
    "metrics-daily": charts.metrics_daily,
    "metrics-hourly": charts.metrics_hourly,
    "latency-within": charts.latency_within,
    "latency-heatmap": charts.latency_heatmap,
    "build-durations": charts.build_durations,
    "build-marts": charts.build_marts,
}
TABLE_ROWS = 12  # rows shown before "more"

STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --good: #2e7d32; --bad: #c62828; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0; background: #f5f7fa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 36px 0 6px;
     padding-top: 12px; border-top: 1px solid var(--line); } h3 { font-size: 15px; margin: 20px 0 4px; }
.meta, .note, .empty { color: var(--muted); } .empty { font-style: italic; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px;
         margin: 18px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.tile .value { font-size: 22px; font-weight: 600; } .tile .label { color: var(--muted); font-size: 12px; }
.good { color: var(--good); } .bad { color: var(--bad); }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } th { color: var(--muted); font-weight: 600; }
details summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
.chart { margin: 6px 0 14px; min-height: 40px; }
nav a { margin-right: 14px; color: var(--muted); }
"""

RENDER = """
(function () {
  const specs = JSON.parse(document.getElementById("opsmart-specs").textContent);
  const ids = Object.keys(specs);
  Promise.all(ids.map((id) =>
    vegaEmbed("#" + id, specs[id], {renderer: "svg", actions: false}).then(() => {
      document.getElementById(id).dataset.rendered = "true";
    })
  )).then(() => {
    document.body.dataset.rendered = String(ids.length);
  }).catch((error) => {
    document.body.dataset.rendered = "error";
    console.error(error);
  });
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _count(value: Any) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _when(iso: str | None) -> str:
    """An ISO time as the tables show it: to the second, UTC."""
    return "–" if not iso else iso.replace("T", " ")[:19]


def _age(snap: Snapshot, iso: str | None) -> float | None:
    if not iso:
        return None
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:  # a date: its end
        when = when.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    return max(0.0, (snap.generated_at - when).total_seconds())


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, more: str = "more") -> str:
    """An HTML table; cells are already escaped. Rows past TABLE_ROWS fold under a <details>."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    if not body:
        return ""
    first = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body[:TABLE_ROWS])}</tbody></table>"
    if len(body) <= TABLE_ROWS:
        return first
    rest = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body[TABLE_ROWS:])}</tbody></table>"
    return f"{first}<details><summary>{len(body) - TABLE_ROWS} {more}</summary>{rest}</details>"


def _chart(chart_id: str, specs: dict[str, charts.Spec], missing: str) -> str:
    if chart_id in specs:
        return f'<div class="chart" id="{chart_id}"></div>'
    return f'<p class="empty">{_e(missing)}</p>'


def _tiles(snap: Snapshot) -> str:
    figures = snap.summary()
    within = figures["hours_within"]
    last = snap.builds[0] if snap.builds else None
    tiles = [
        (_count(figures["analyses"]), "analyses", ""),
        (_pct(figures["success_rate"]), "succeeded", ""),
        (_num(figures["judge_score"]), "average judge score (every score weighs the same)", ""),
        (_count(figures["events"]), "product events", ""),
        (
            _pct(within),
            "query-hours whose p95 met its target",
            "" if within is None else ("good" if within >= 0.95 else "bad"),
        ),
        (
            _e(last["status"]) if last else "–",
            f"last build, {_ago(_age(snap, last['ended_at']))}" if last else "no build recorded",
            "" if not last else ("good" if last["status"] == "success" else "bad"),
        ),
    ]
    cells = "".join(
        f'<div class="tile"><div class="value {cls}">{value}</div><div class="label">{_e(label)}</div></div>'
        for value, label, cls in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _organizations(snap: Snapshot, specs: dict[str, charts.Spec]) -> str:
    rows = [
        (
            _e(r["organization"]),
            _count(r["analyses"]),
            _pct(r["success_rate"]),
            _count(r["failed"]),
            _num(r["judge_score"]),
            _count(r["judge_scores"]),
            _count(r["events"]),
        )
        for r in snap.organization_totals
    ]
    return f"""
<h2 id="organizations">Organizations</h2>
<p class="note">The biggest organizations by analyses, the rest as one group, by the UTC day the runs
started (<code>analysis_daily</code>). Success rate is succeeded over all runs; judge score is the sum of
the runs' judge scores over their number, for a group and for the window too (never a mean of means).
Click a legend entry to pick out an organization.</p>
<h3>Analyses per day</h3>{_chart("organization-analyses", specs, "No analyses in the window.")}
<h3>Success rate</h3>{_chart("organization-success", specs, "No analyses in the window.")}
<h3>Average judge score</h3>{_chart("organization-judge", specs, "No judge scores in the window.")}
<h3>The window per organization</h3>
{
        _table(
            ["organization", "analyses", "succeeded", "failed", "judge score", "scores", "events"],
            rows,
            more="more organizations",
        )
    }
"""


def _features(snap: Snapshot, specs: dict[str, charts.Spec]) -> str:
    end = snap.week_end.isoformat() if snap.week_end else "–"
    return f"""
<h2 id="features">Features</h2>
<p class="note">Events in the 7 days to {end} (the last whole day) against the 7 days before (the tick),
with the change.
Events add up across days; unique users do not (the same user on two days is one user), so they are not
summed here.</p>
{_chart("features-week", specs, "No events in the last two weeks.")}
<h3>The top features per day</h3>{_chart("features-daily", specs, "No events in the window.")}
"""


def _metrics(snap: Snapshot, specs: dict[str, charts.Spec]) -> str:
    return f"""
<h2 id="metrics">Metrics</h2>
<p class="note">Each metric's platform-wide daily mean: the sum of its samples over their count
(<code>metric_daily</code>), never a mean of means.</p>
{_chart("metrics-daily", specs, "No metric samples in the window.")}
<h3>The last {HOURLY_METRIC_HOURS} hours</h3>
<p class="note">Hourly mean with the range of the samples (<code>metric_hourly</code>); pick a metric
below the chart.</p>
{_chart("metrics-hourly", specs, "No metric samples in the last hours.")}
"""


def _latency(snap: Snapshot, specs: dict[str, charts.Spec]) -> str:
    targets = (
        "Targets come from the seed <code>query_slo</code>."
        if snap.has_slo
        else "No seed <code>query_slo</code> in this schema: p95 is shown without targets."
    )
    rows = [
        (
            _e(r["query_name"]),
            _num(r["target_ms"], 0),
            _count(r["hours"]),
            _pct(r["within"]),
            _num(r["latest_p95_ms"], 1),
            _num(r["worst_p95_ms"], 1),
            _count(r["queries"]),
            _count(r["errors"]),
        )
        for r in snap.latency_totals
    ]
    return f"""
<h2 id="latency">Query latency</h2>
<p class="note">A p95 does not add up across hours, so each hour's p95 (<code>performance_dashboard</code>) is
compared with its query's target on its own. {targets}</p>
{_chart("latency-within", specs, "No query has a target, or no queries were measured.")}
<h3>Hourly p95, the last days</h3>{_chart("latency-heatmap", specs, "No queries measured in the last days.")}
{
        _table(
            [
                "query",
                "target p95 (ms)",
                "hours",
                "within target",
                "latest p95 (ms)",
                "worst p95 (ms)",
                "queries",
                "errors",
            ],
            rows,
            more="more queries",
        )
    }
"""


def _builds(snap: Snapshot, specs: dict[str, charts.Spec]) -> str:
    last_build: dict[str, Row] = {}
    for r in snap.mart_builds:
        if r["status"] == "success":
            last_build[r["mart"]] = r
    marts = [
        (
            _e(r["mart"]),
            _e(r["grain"]),
            _when(r["newest"]),
            _count(r["rows"]) if r["rows"] is not None and r["rows"] >= 0 else "–",
            _ago(_age(snap, last_build[r["mart"]]["started_at"])) if r["mart"] in last_build else "–",
        )
        for r in snap.marts
    ]
    sources = [
        (
            _e(f"{r['source_name']}.{r['table_name']}"),
            _e(r["status"]),
            _when(r["max_loaded_at"]),
            _ago(r["age_seconds"]),
        )
        for r in snap.sources
    ]
    builds = [
        (
            _when(r["started_at"]),
            _e(r["command"]),
            _e(r["login"]),
            f'<span class="{"good" if r["status"] == "success" else "bad"}">{_e(r["status"])}</span>',
            _num(r["seconds"], 1),
            _count(r["nodes"]),
            _count(r["errors"]),
        )
        for r in snap.builds
    ]
    source_part = (
        "<h3>Source freshness (the last check)</h3>"
        + _table(["source", "status", "newest row", "age then"], sources)
        if sources
        else ""
    )
    via = (
        "<code>ops.build_run</code>"
        if snap.builds_from == "ops.build_run"
        else "<code>mart.build_history</code> (as of the last build's start: a build shows from the next one)"
    )
    return f"""
<h2 id="builds">Freshness and builds</h2>
<h3>Marts</h3>
{_table(["mart", "grain", "newest bucket (UTC)", "rows (estimate)", "last built"], marts)}
{source_part}
<h3>Builds</h3>
<p class="note">Every dbt invocation into <code>{_e(snap.schema)}</code> in the window, from {via}.</p>
{_chart("build-durations", specs, "No builds recorded in the window.")}
<h3>Seconds per mart</h3>{_chart("build-marts", specs, "No mart builds recorded in the window.")}
{
        _table(
            ["started (UTC)", "command", "login", "status", "seconds", "nodes", "errors"],
            builds,
            more="earlier builds",
        )
    }
"""


def _script_json(value: Any) -> str:
    """JSON that cannot end its <script> element early, whatever text the data holds."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


def render(snap: Snapshot, bundle: str) -> str:
    """The whole page: ``bundle`` is the JavaScript that defines ``vegaEmbed``."""
    specs = {chart_id: spec for chart_id, draw in CHARTS.items() if (spec := draw(snap)) is not None}
    window = (
        f"{snap.start} to {snap.end} (UTC), {(snap.end - snap.start).days + 1} days"
        if snap.end
        else "no data"
    )
    made = snap.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(part(snap, specs) for part in (_organizations, _features, _metrics, _latency, _builds))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opsmart report: {_e(snap.database)}</title>
<style>{STYLE}</style>
<script>{bundle}</script>
</head>
<body>
<main>
<h1>opsmart report</h1>
<p class="meta">{_e(snap.database)}, schema <code>{_e(snap.schema)}</code>,
read as <code>{_e(snap.login)}</code> &middot; {_e(window)} &middot; made {_e(made)}</p>
<nav><a href="#organizations">Organizations</a><a href="#features">Features</a><a href="#metrics">Metrics</a>
<a href="#latency">Query latency</a><a href="#builds">Freshness and builds</a></nav>
{_tiles(snap)}
{body}
</main>
<script type="application/json" id="opsmart-specs">{_script_json(specs)}</script>
<script>{RENDER}</script>
</body>
</html>
"""
