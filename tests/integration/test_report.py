"""opsmart report: one HTML file that draws every chart offline, as the analyst role, from exact figures."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import psycopg
import pytest
from support import IN_CI, build_marts, dbt_ok
from support.browser import CHROMIUM, browser, pixel_spread, remote_requests
from support.platform import login_role

from opsmart import connection, report
from opsmart.report import data, page

SPECS = re.compile(r'<script type="application/json" id="opsmart-specs">(.*?)</script>', re.S)
# marks vega drew for data (axes, legends and titles have roles of their own)
MARKS = """Array.from(document.querySelectorAll(".chart")).map((el) => [
  el.id, el.dataset.rendered, el.querySelectorAll("svg .role-mark > *").length,
  el.querySelectorAll("svg, canvas").length])"""


def _specs(html: str) -> dict[str, dict]:
    return json.loads(SPECS.search(html).group(1))


def _with_history_and_seeds(url: str) -> str:
    """The loaded database after a build: its seeds, and a build history analysts can read."""
    dbt_ok(url, "seed")
    dbt_ok(url, "run", "--select", "build_history")
    return url


def _need_chromium() -> None:
    if CHROMIUM is None:
        reason = "no chromium on PATH (Debian package chromium; .ci/run installs it in CI)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def test_as_an_analyst_every_chart_draws_in_a_real_browser_offline(
    loaded_url: str, cli, tmp_path: Path
) -> None:
    _need_chromium()
    url = _with_history_and_seeds(loaded_url)
    out = tmp_path / "report.html"
    with login_role(url, "report_analyst", "opsmart_analyst") as analyst:
        # as `opsmart mf`: the owner's URL for the database, the analyst's for reading
        env = {connection.URL_ENV: url, connection.ANALYST_URL_ENV: analyst}
        result = cli("report", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    html = out.read_text()
    assert "read as <code>report_analyst</code>" in html
    assert "from <code>mart.build_history</code>" in html  # ops.build_run is not the analyst's to read
    # nothing to fetch: no script, style or image from anywhere (the browser below checks it too)
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1", html, flags=re.S)
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", markup)
    assert set(_specs(html)) == set(page.CHARTS)

    with browser(tmp_path) as tab:
        tab.open(out.as_uri(), "document.body.dataset.rendered")
        assert tab.evaluate("document.body.dataset.rendered") == str(len(page.CHARTS))
        drawn = tab.evaluate(MARKS)
        png = tab.screenshot()
        assert tab.errors == []
        assert remote_requests(tab) == []
    assert [chart_id for chart_id, *_ in drawn] == list(page.CHARTS)
    for chart_id, rendered, marks, surfaces in drawn:
        assert rendered == "true" and surfaces >= 1 and marks > 0, (chart_id, rendered, marks, surfaces)
    variance, colours = pixel_spread(png)
    assert variance > 100 and colours > 100, (variance, colours)


def test_figures_are_sums_of_counts_and_means_weighted_by_them(loaded_url: str) -> None:
    snap = data.load(loaded_url, days=30)
    start = dt.datetime.combine(snap.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(snap.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    figures = snap.summary()
    with psycopg.connect(loaded_url) as conn:
        analyses, succeeded = conn.execute(
            "select count(*), count(*) filter (where status = 'succeeded') from ops.analysis_run"
            " where started_at >= %s and started_at < %s",
            [start, end],
        ).fetchone()
        judge, events = conn.execute(
            """select
                   (select avg(j.score) from ops.judge_score as j join ops.analysis_run as r
                      on r.id = j.analysis_run_id where r.started_at >= %(s)s and r.started_at < %(e)s),
                   (select count(*) from ops.event where occurred_at >= %(s)s and occurred_at < %(e)s)""",
            {"s": start, "e": end},
        ).fetchone()
        week = conn.execute(
            "select count(*) from ops.event"
            " where feature_key = %s and occurred_at >= %s and occurred_at < %s",
            [
                snap.features[0]["feature_key"],
                dt.datetime.combine(snap.week_end - dt.timedelta(days=6), dt.time(), dt.UTC),
                dt.datetime.combine(snap.week_end + dt.timedelta(days=1), dt.time(), dt.UTC),
            ],
        ).fetchone()[0]
    assert figures["analyses"] == analyses
    assert figures["success_rate"] == pytest.approx(succeeded / analyses)
    assert figures["judge_score"] == pytest.approx(float(judge))  # every score once: not a mean of means
    assert figures["events"] == events
    assert snap.features[0]["this_week"] == week
    assert sum(r["analyses"] for r in snap.organizations) == analyses  # the daily groups add up


def test_without_the_seeds_and_the_dimension_the_report_still_draws(loaded_url: str, tmp_path: Path) -> None:
    import vl_convert

    with psycopg.connect(loaded_url, autocommit=True) as conn:
        conn.execute("drop table if exists mart.query_slo, mart.feature_catalog, mart.metric_catalog")
        conn.execute("drop table if exists mart.organizations cascade")
    html = report.write(loaded_url, tmp_path / "r.html").read_text()
    specs = _specs(html)
    assert "No seed <code>query_slo</code>" in html
    assert "latency-within" not in specs  # nothing to compare with
    assert specs["latency-heatmap"]["encoding"]["color"]["field"] == "p95_ms"
    assert re.search(r"<td>org [0-9a-f]{8}</td>", html)  # ids where the names are missing
    for chart_id, spec in specs.items():  # drawn without a browser too, by vl-convert's own Vega
        assert "role-mark" in vl_convert.vegalite_to_svg(spec), chart_id


def test_names_cannot_break_out_of_the_page(loaded_url: str, tmp_path: Path) -> None:
    name = "</script><script>alert(1)</script>"
    with psycopg.connect(loaded_url, autocommit=True) as conn:
        conn.execute(
            "update mart.organizations set organization_name = %s where organization_id = (select"
            " organization_id from mart.analysis_daily group by 1 order by sum(analyses) desc limit 1)",
            [name],
        )
    html = report.write(loaded_url, tmp_path / "r.html").read_text()
    assert name not in html
    assert "<td>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>" in html  # the table
    assert name in json.dumps(_specs(html)["organization-analyses"])  # the chart, as data


def test_empty_marts_give_a_page_that_says_so(db_url: str, tmp_path: Path) -> None:
    build_marts(db_url, full_refresh=True)
    html = report.write(db_url, tmp_path / "r.html").read_text()
    assert "no data" in html
    assert "No analyses in the window." in html
    assert not {"organization-analyses", "features-week", "latency-heatmap"} & set(_specs(html))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--days", "0"], "must be greater than zero"),
        (["--days", "100000"], "must be between"),
        (["--out", "/no/such/folder/r.html"], "does not exist"),
    ],
)
def test_bad_arguments_are_one_line_before_any_connection(cli, args: list[str], fragment: str) -> None:
    result = cli("report", *args, env={connection.URL_ENV: "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 2
    assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_before_the_first_build_it_says_what_to_do(cli, db_url: str, tmp_path: Path) -> None:
    result = cli("report", "--out", str(tmp_path / "r.html"), env={connection.URL_ENV: db_url})
    assert result.returncode == 2
    assert "build the marts first" in result.stderr
    assert not (tmp_path / "r.html").exists()
