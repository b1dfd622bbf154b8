"""The figures for people: tables on the console, and the sections of BENCHMARKS.md.

``rewrite`` renders ``bench/results/<scale>.json`` into the part of BENCHMARKS.md
between ``<!-- bench:<scale>:begin -->`` and ``<!-- bench:<scale>:end -->`` for S, M
and L, and the S and M runs side by side between the ``bench:scaling`` markers;
and the latest ``opsmart bench --side-by-side`` (``<scale>-single-vs-citus.json``, the
largest scale there is) between the ``bench:citus`` markers; the rest of the file
is prose and stays as written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from opsmart import connection
from opsmart.bench import folder, scaling, tables
from opsmart.errors import UserError

SCALES = ("S", "M", "L")
SCALING = "scaling"
CITUS = "citus"
CITUS_SUFFIX = "-single-vs-citus.json"


def _print(tables_to_print: list[tuple[str, tables.Rows]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    for title, (headers, rows) in tables_to_print:
        table = Table(title=title)
        for h in headers:
            table.add_column(h)
        for row in rows:
            table.add_row(*row)
        console.print(table)


def print_result(result: dict[str, Any]) -> None:
    """One run's tables on the console."""
    _print([(f"{title} ({result['scale']})", rows_of(result)) for title, rows_of in tables.TABLES])


def print_scaling(s: dict[str, Any], m: dict[str, Any]) -> None:
    """The fixed-size changes at S and M, and the scale goal, on the console."""
    _print(
        [
            ("the same change at S and at M", scaling.fixed_rows(s, m)),
            ("scale targets", tables.target_rows(scaling.evaluate(s, m))),
        ]
    )


def markdown_table(rows: tables.Rows) -> str:
    headers, body = rows

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def where_the_time_goes(result: dict[str, Any]) -> str:
    """A paragraph computed from the figures: the biggest costs of each kind of run."""
    full = result["full_refresh"]
    marts = full["marts"]
    biggest = max(marts, key=lambda m: marts[m]["sql_s"])
    kinds: dict[str, float] = {}
    for m in marts.values():
        for kind, s in m["statements"].items():
            kinds[kind] = kinds.get(kind, 0.0) + s
    # dbt runs create + insert + the grain's unique constraint (added after the
    # rows) + analyze (macros/overrides/create_table_as.sql) as one call: its
    # status is the last statement's, ANALYZE (ALTER TABLE where not analyzed).
    main = sum(kinds.get(kind, 0.0) for kind in ("INSERT", "ALTER TABLE", "ANALYZE"))
    index = kinds.get("CREATE INDEX", 0.0)
    total = full["mart_total_s"] or 1.0
    new_rows = result["incremental"]["new_rows_1pct"]
    inc_biggest = max(new_rows["marts"], key=lambda m: new_rows["marts"][m]["sql_s"])
    inc = new_rows["marts"][inc_biggest]
    groups = inc.get("groups_rebuilt")
    nochange = result["incremental"]["no_change"]
    return (
        f"Of the full refresh's {tables.seconds(total)} of mart SQL, {biggest} takes"
        f" {marts[biggest]['sql_s'] / total:.0%};"
        f" the statement that computes and inserts the rows and adds the grain's unique constraint is"
        f" {main / total:.0%} of the total and the other index builds {index / total:.0%}, the rest is"
        f" hooks, metadata and commits. dbt itself adds {tables.seconds(full['dbt_overhead_s'])} to a full"
        f" refresh and {tables.seconds(nochange['dbt_overhead_s'])} to a run that finds nothing to do"
        f" (start-up, parsing, introspection), against {tables.seconds(nochange['sql_s'])} of SQL."
        f" After +1% new rows the incremental run spends most in {inc_biggest}"
        f" ({tables.seconds(inc['sql_s'])}, {tables.count(inc['buckets_rebuilt'])} buckets"
        + ("" if groups is None else f" and {groups:,} groups")
        + " rebuilt): a tenth of the new rows are late, 1–20 days in the past."
    )


def _exactness(result: dict[str, Any]) -> str:
    exact = result["exact_after_incrementals"]
    if all(exact.values()):
        return "After all incremental runs every mart still equals its hand-written baseline."
    differing = ", ".join(m for m, ok in exact.items() if not ok)
    return f"After the incremental runs these marts differ from their baselines: {differing}."


def _commit(result: dict[str, Any]) -> str:
    commit = result["commit"]
    sha = (commit.get("sha") or "unknown")[:12]
    return sha + (" (with uncommitted changes)" if commit.get("dirty") else "")


def render_section(result: dict[str, Any]) -> str:
    """One run: the machine, every table, exactness and where the time goes."""
    machine = result["machine"]
    header = (
        f"Run {result['started_at'][:10]}, commit `{_commit(result)}`, {machine['cores']} cores,"
        f" {machine['memory_gb']} GB,"
        f" PostgreSQL {machine['postgres_version']} ({machine['server']}; shared_buffers"
        f" {machine['settings']['shared_buffers']}, work_mem {machine['settings']['work_mem']}),"
        f" {machine['platform']}; load average {machine['load_average_at_start'][0]} at the start,"
        f" {machine.get('load_average_at_end', ['?'])[0]} at the end."
        f" The whole bench took {result['duration_s'] / 60:.1f} min."
    )
    parts = [header, ""]
    for title, rows_of in tables.TABLES:
        parts += [f"**{title.capitalize()}**", "", markdown_table(rows_of(result)), ""]
    parts += [_exactness(result), "", where_the_time_goes(result)]
    return "\n".join(parts)


def render_scaling(s: dict[str, Any], m: dict[str, Any]) -> str:
    """The S and M runs side by side: the fixed-size change at both, every figure's growth, L estimated."""
    size = scaling.sizes(s, m)
    runs = (
        f"S: run {s['started_at'][:10]}, commit `{_commit(s)}`, load average"
        f" {s['machine']['load_average_at_start'][0]}; M: run {m['started_at'][:10]}, commit `{_commit(m)}`,"
        f" load average {m['machine']['load_average_at_start'][0]}."
    )
    if s["commit"].get("sha") != m["commit"].get("sha"):
        runs += " **The two runs measured different commits**: compare with care."
    data = (
        f"Data: S {size['S']:,.0f} events ({s['load']['rows']:,} rows), M {size['M']:,.0f} events"
        f" ({m['load']['rows']:,} rows, {size['M'] / size['S']:.1f}× S); L as planned"
        f" {size['L']:,.0f} events ({size['L'] / size['M']:.1f}× M)."
    )
    method = (
        "k is the exponent of value ∝ events^k between the two runs (1: grows with the data, 0: does"
        " not); L (estimated) = M × (L events / M events)^k, on this machine, with a cost that shrank"
        " from S to M held flat. Every figure is one run's: a ratio of two small times carries their noise."
    )
    parts = [
        runs,
        "",
        data,
        "",
        f"**The same change at S and at M** (goal: M ≤ {scaling.GOAL}× S; SQL time of the mart builds)",
        "",
        markdown_table(scaling.fixed_rows(s, m)),
        "",
        markdown_table(tables.target_rows(scaling.evaluate(s, m))),
        "",
        "**How each figure grows from S to M, and L estimated**",
        "",
        markdown_table(scaling.growth_rows(s, m)),
        "",
        method,
    ]
    return "\n".join(parts)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def _replace(text: str, name: str, body: str) -> str | None:
    """``text`` with the section between ``name``'s markers replaced; None without the markers."""
    begin, end = _markers(name)
    if begin not in text or end not in text:
        return None
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def _side_by_side(results_dir: Path) -> dict[str, Any] | None:
    """The side-by-side run of the largest scale in ``results_dir``, if any."""
    for scale in (*reversed(SCALES), "demo", "tiny"):
        path = results_dir / f"{scale}{CITUS_SUFFIX}"
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except ValueError as exc:
                raise UserError(f"{path} is not a side-by-side result: {exc}") from None
    return None


def rewrite(results_dir: Path | None = None, markdown: Path | None = None) -> int:
    """Rewrite BENCHMARKS.md's sections from ``results_dir`` (default bench/results/<scale>.json)."""
    results_dir = results_dir or folder() / "results"
    markdown = markdown or connection.project_dir() / "BENCHMARKS.md"
    if not markdown.is_file():
        raise UserError(f"{markdown} does not exist")
    if not results_dir.is_dir():
        raise UserError(f"no results folder {results_dir}: run `opsmart bench` first")
    text = markdown.read_text()
    results: dict[str, dict[str, Any]] = {}
    done = []
    for scale in SCALES:
        path = results_dir / f"{scale}.json"
        if not path.is_file():
            continue
        try:
            results[scale] = json.loads(path.read_text())
        except ValueError as exc:
            raise UserError(f"{path} is not a bench result: {exc}") from None
        replaced = _replace(text, scale, render_section(results[scale]))
        if replaced is not None:
            text = replaced
            done.append(scale)
    if "S" in results and "M" in results:
        replaced = _replace(text, SCALING, render_scaling(results["S"], results["M"]))
        if replaced is not None:
            text = replaced
            done.append("S and M side by side")
    citus = _side_by_side(results_dir)
    if citus is not None:
        from opsmart.bench import cluster_report

        replaced = _replace(text, CITUS, cluster_report.render(citus))
        if replaced is not None:
            text = replaced
            done.append("one server vs a Citus cluster")
    markdown.write_text(text)
    print(f"{markdown.name}: rewrote {', '.join(done) or 'nothing'} from {results_dir}")
    return 0
