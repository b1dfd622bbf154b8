"""``opsmart demo``: the main job end to end, and the mart summary it ends with."""

from __future__ import annotations

import time

from psycopg import sql

from opsmart import bootstrap, build, connection, marts
from opsmart.errors import UserError

# The question the demo ends with: the last four weeks' analyses and success rate.
DEMO_QUESTION = (
    "query",
    "--metrics",
    "analyses,success_rate",
    "--group-by",
    "metric_time__week",
    "--order",
    "-metric_time__week",
    "--limit",
    "4",
)


def mart_summary(url: str, schema: str = "mart") -> list[dict[str, object]]:
    """Rows, date span and newest bucket of each mart in ``schema``."""
    rows: list[dict[str, object]] = []
    with connection.connect(url) as conn:
        for mart in marts.MARTS:
            column = sql.Identifier(mart.bucket_column)
            query = sql.SQL("select count(*), min({c}), max({c}) from {t}").format(
                c=column, t=sql.Identifier(schema, mart.name)
            )
            count, first, last = conn.execute(query).fetchone()
            rows.append({"mart": mart.name, "rows": count, "first": first, "newest": last})
    return rows


def print_summary(rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="marts")
    for name in ("mart", "rows", "from", "newest bucket"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for row in rows:
        first = row["first"]
        last = row["newest"]
        table.add_row(
            str(row["mart"]),
            f"{row['rows']:,}",
            str(first.date() if hasattr(first, "date") else first),
            str(last),
        )
    Console().print(table)


def run(scale: str = "demo", seed: int = 42) -> int:
    """Up, bootstrap, generate (into an empty database), build, summary, report."""
    from opsmart import report, semantic
    from opsmart.synth.generate import generate
    from opsmart.synth.scale import Scale

    started = time.monotonic()
    url = connection.database_url()
    print(f"database: {connection.describe(url)}")
    bootstrap.apply(url)
    with connection.connect(url) as conn:
        has_data = conn.execute(
            "select exists (select from ops.organization"
            " where id is distinct from ops.anonymous_organization())"
        ).fetchone()[0]
    if has_data:
        print("ops data present: skipping generate (run `opsmart generate --mutate` to change it)")
    else:
        generate(url, Scale.preset(scale), seed=seed)
    code = build.run(url)
    if code != 0:
        raise UserError(f"dbt build failed (exit {code}); see the output above", exit_code=code)
    print_summary(mart_summary(url))
    # as an analyst, like `opsmart report` and `opsmart mf`
    print(f"report: {report.write(semantic.analyst_url(), report.default_path()).resolve()}")
    # and one answer from the semantic layer, as `opsmart mf` gives it
    print(f"$ opsmart mf {' '.join(DEMO_QUESTION)}")
    if semantic.run(list(DEMO_QUESTION)) != 0:
        raise UserError("the semantic layer's demo question failed; see the output above")
    print(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0
