"""``opsmart bench``: the marts measured against hand-written SQL on a fresh database.

One run (``runner``) loads synthetic data, times dbt's full refresh of every mart
against a hand-written ``create table ... as select`` per mart (``baselines``),
times incremental runs after each kind of change (``scenarios``), times the
analyst questions on the marts and on the ops tables (``queries``) and measures
what change tracking costs the ops insert path (``tracking``). dbt's SQL time
comes from its JSON log (``dbt_timing``), peak memory from a sampler
(``memory``), the machine and commit from ``machine``. ``targets`` holds the goals,
``scaling`` compares a run at S with one at M, and ``tables`` and ``report`` render
the figures for the console and for ``BENCHMARKS.md``.

Its SQL lives in the repository's ``bench/`` folder, beside the baselines and the
analyst queries: one place for every statement the bench runs, linted by one
configuration (``bench/.sqlfluff``) that gives each parameter a value.
"""

from __future__ import annotations

from pathlib import Path

from opsmart import connection

SCHEMA_VERSION = 2  # 2: fixed-size changes, groups rebuilt, database size
DATABASE = "opsmart_bench"


def folder() -> Path:
    """The repository's ``bench/``: baselines, analyst queries, scenario SQL, results."""
    return connection.project_dir() / "bench"


def read_sql(name: str) -> str:
    """``bench/<name>.sql``."""
    return (folder() / f"{name}.sql").read_text()
