"""The analyst questions, asked of the marts and of the ops tables.

Each question is a dbt analysis ``analyses/<name>.sql`` over the marts (compiled
by dbt, its parameters ``opsmart_param('...')``) and ``bench/queries/<name>.ops.sql``
over ops (psycopg's ``%(name)s``); the two must return the same rows. The first
comment line of the analysis is the question. Parameters are chosen here, the
same for both: the organization with the most events, and windows ending now (UTC).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from opsmart import build, connection, stats
from opsmart.bench import folder
from opsmart.errors import UserError


@dataclass(frozen=True)
class Query:
    name: str
    question: str
    mart_sql: str
    ops_sql: str


def analyses_folder() -> Path:
    return connection.project_dir() / "analyses"


def load_catalog(directory: Path | None = None) -> list[Query]:
    """Each analysis of ``analyses/`` with its ``<name>.ops.sql`` in ``directory``; first comment: question.

    ``mart_sql`` is the analysis as written (Jinja); :func:`compile_catalog` gives it as SQL.
    """
    directory = directory or folder() / "queries"
    out = []
    for mart_path in sorted(analyses_folder().glob("*.sql")):
        name = mart_path.stem
        ops_path = directory / f"{name}.ops.sql"
        if not ops_path.is_file():
            raise UserError(f"{mart_path} has no ops version {ops_path}")
        text = mart_path.read_text()
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        question = first.removeprefix("--").strip() if first.startswith("--") else name
        out.append(Query(name, question, text, ops_path.read_text()))
    return out


def _literal(value: Any) -> str:
    """A parameter as the SQL literal dbt renders into an analysis."""
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'::date"
    if value is None:
        return "null::uuid"
    return f"'{value}'::uuid"


def compile_catalog(url: str, params: dict[str, Any], schema: str | None = None) -> dict[str, str]:
    """Every analysis compiled by dbt (``dbt compile``) with ``params``: name -> SQL."""
    with tempfile.TemporaryDirectory(prefix="opsmart-analyses-") as target:
        done = build.dbt(
            [
                "compile",
                "--select",
                "path:analyses",
                "--vars",
                json.dumps({k: _literal(v) for k, v in params.items()}),
            ],
            build.build_url(url),
            schema=schema,
            capture=True,
            target_path=Path(target),
        )
        if done.returncode != 0:
            raise UserError(f"dbt compile of the analyses failed: {(done.stdout or '').strip()[-400:]}")
        compiled = Path(target, "compiled", "opsmart", "analyses")
        return {path.stem: path.read_text() for path in sorted(compiled.glob("*.sql"))}


def parameters(conn: psycopg.Connection, now: dt.datetime | None = None) -> dict[str, Any]:
    """The biggest organization (by events) and the time windows the questions use (UTC)."""
    row = conn.execute(
        "select organization_id from ops.event group by 1 order by count(*) desc, 1 limit 1"
    ).fetchone()
    return {"org": row[0] if row else None, **windows(now or dt.datetime.now(dt.UTC))}


def windows(now: dt.datetime) -> dict[str, Any]:
    """Days and hours ending at ``now``; a week is 7 complete days, a month starts on the 1st."""
    now = now.astimezone(dt.UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    today = now.date()
    return {
        "today": today,
        "yesterday": today - dt.timedelta(days=1),
        "since_7d": today - dt.timedelta(days=6),
        "since_30d": today - dt.timedelta(days=29),
        "since_90d": hour - dt.timedelta(days=90),
        "since_24h": hour - dt.timedelta(hours=23),
        "week_start": today - dt.timedelta(days=7),
        "prior_week_start": today - dt.timedelta(days=14),
        "month_start": today.replace(day=1),
    }


def time_query(
    conn: psycopg.Connection, text: str, params: dict[str, Any] | None, runs: int, budget: float
) -> dict[str, Any]:
    """One untimed run for the answer, then up to ``runs`` timed runs (at least 3, within ``budget`` s)."""
    answer = conn.execute(text, params).fetchall()
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < runs and (len(samples) < 3 or time.perf_counter() < deadline):
        started = time.perf_counter()
        conn.execute(text, params).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "answer": answer,
        "runs": len(samples),
        "p50_ms": stats.percentile(samples, 0.5),
        "p95_ms": stats.percentile(samples, 0.95),
        "min_ms": min(samples),
    }


def run_catalog(
    url: str,
    directory: Path | None = None,
    *,
    mart_runs: int = 20,
    ops_runs: int = 5,
    budget_s: float = 5.0,
    step: Callable[[str], None] = lambda _: None,
    schema: str | None = None,
) -> dict[str, Any]:
    """Each question timed on the marts and on the ops tables; answers compared once."""
    out: dict[str, Any] = {}
    with connection.connect(url, autocommit=True, application_name="opsmart-bench") as conn:
        params = parameters(conn)
        compiled = compile_catalog(url, params, schema)
        for q in load_catalog(directory):
            step(f"analyst query: {q.name}")
            mart = time_query(conn, compiled[q.name], None, mart_runs, budget_s)
            ops = time_query(conn, q.ops_sql, params, ops_runs, budget_s)
            mart_answer, ops_answer = mart.pop("answer"), ops.pop("answer")
            out[q.name] = {
                "question": q.question,
                "rows": len(mart_answer),
                "answers_match": mart_answer == ops_answer,
                "mart": mart,
                "ops": ops,
                "speedup_p50": ops["p50_ms"] / mart["p50_ms"] if mart["p50_ms"] else None,
                "speedup_p95": ops["p95_ms"] / mart["p95_ms"] if mart["p95_ms"] else None,
            }
    return {"parameters": {k: str(v) for k, v in params.items()}, "queries": out}
