"""``opsmart backup FILE`` / ``opsmart restore FILE``: pg_dump custom format, restored atomically.

The client tools are the embedded server's (PostgreSQL 18): pg_dump and
pg_restore read every older server, so they dump an external PostgreSQL 15+ too. The
connection reaches them through the libpq variables, never on a command line.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from psycopg import sql

from opsmart import connection
from opsmart.errors import UserError

# A target holding tables in any of these is "not empty".
SCHEMAS = ("core", "ops", "mart")

_TABLES_IN = """
select n.nspname || '.' || c.relname
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'v', 'm') and (n.nspname = any(%s) or n.nspname like 'mart\\_%%')
order by 1
"""


def bin_dir() -> Path:
    """Folder of the bundled pg_dump and pg_restore."""
    from opsmart import postgres

    return postgres.embedded_bindir()


def _run(tool: str, args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(connection.libpq_env(url))
    result = subprocess.run(
        [str(bin_dir() / tool), *args], env=env, capture_output=True, text=True, check=False
    )
    return result


def _first_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [f"exit status {result.returncode}"])[0]


def backup(url: str, path: str | Path, *, quiet: bool = False) -> float:
    """Dump the whole database to ``path`` (custom format); returns the seconds it took."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a directory: give a file name for the backup")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent} does not exist: cannot write the backup there")
    connection.connect(url).close()  # a clear error when the server is down
    partial = path.with_name(path.name + ".partial")
    began = time.perf_counter()
    result = _run("pg_dump", ["--format=custom", "--file", str(partial)], url)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise UserError(f"backup failed: {_first_error(result)}")
    # Only a complete dump ever carries the requested name.
    partial.replace(path)
    elapsed = time.perf_counter() - began
    if not quiet:
        size = path.stat().st_size
        print(f"backed up {connection.describe(url)} to {path} ({size:,} bytes) in {elapsed:.1f} s")
    return elapsed


def existing_tables(url: str) -> list[str]:
    """Tables and views in core, ops, mart and mart_* of the database at ``url``."""
    with connection.connect(url, autocommit=True) as conn:
        return [row[0] for row in conn.execute(_TABLES_IN, [list(SCHEMAS)]).fetchall()]


def restore(url: str, path: str | Path, *, force: bool = False, quiet: bool = False) -> float:
    """Restore a backup into the database at ``url`` in one transaction; returns the seconds it took.

    Refuses a database that already holds opsmart tables unless ``force``, which
    first drops the core, ops, mart and mart_* schemas.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file")
    listing = _run("pg_restore", ["--list", str(path)], url)
    if listing.returncode != 0:
        raise UserError(f"{path} is not an opsmart backup (pg_dump custom format): {_first_error(listing)}")
    tables = existing_tables(url)
    if tables and not force:
        shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
        raise UserError(
            f"{connection.describe(url)} is not empty ({len(tables)} tables: {shown}); "
            "restore into an empty database, or pass --force to replace its contents"
        )
    began = time.perf_counter()
    if tables:
        _drop_schemas(url)
    result = _run(
        "pg_restore",
        ["--single-transaction", "--exit-on-error", "--no-password", "--dbname", _dbname(url), str(path)],
        url,
    )
    if result.returncode != 0:
        raise UserError(f"restore failed, nothing was restored: {_first_error(result)}")
    elapsed = time.perf_counter() - began
    stale = _reset_stale_build_state(url)
    if not quiet:
        print(f"restored {path} into {connection.describe(url)} in {elapsed:.1f} s")
        if stale:
            print("this server's transaction ids are behind the backup's: run `opsmart build --full-refresh`")
    return elapsed


def _dbname(url: str) -> str:
    return (
        connection.libpq_env(url).get("PGDATABASE")
        or connection.conninfo_to_dict(url).get("user")
        or "postgres"
    )


def _drop_schemas(url: str) -> None:
    with connection.connect(url) as conn:
        names = conn.execute(
            "select nspname from pg_namespace where nspname = any(%s) or nspname like 'mart\\_%%'",
            [list(SCHEMAS)],
        ).fetchall()
        for (name,) in names:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(name)))


def _reset_stale_build_state(url: str) -> bool:
    """Forget the marts' build snapshots when they lie ahead of this server's transaction ids.

    Incremental builds find new rows by transaction id; restored into another
    cluster whose counter is behind, new rows would look already built. Without
    build state the next build asks for --full-refresh instead of missing rows.
    """
    with connection.connect(url) as conn:
        if conn.execute("select to_regclass('ops.mart_build_state')").fetchone() == (None,):
            return False
        row = conn.execute(
            "select max(pg_snapshot_xmax(snapshot)) > pg_current_xact_id() from ops.mart_build_state"
        ).fetchone()
        if row is None or not row[0]:
            return False
        conn.execute("delete from ops.mart_build_state")
        return True
