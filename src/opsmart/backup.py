"""``opsmart backup FILE`` / ``opsmart restore FILE``: pg_dump custom format, restored atomically.

The client tools are the embedded server's (PostgreSQL 18): pg_dump and
pg_restore read every older server, so they dump an external PostgreSQL 15+ too. The
connection reaches them through the libpq variables, never on a command line.

A backup is written to ``FILE.partial`` and takes its name only when complete. It
reads with row-level security on (the marts force it on their owner too), and
only when the login may read every row: a database owner can back up its
database, and no login gets a backup that silently lacks rows.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from psycopg import sql

from opsmart import connection, files, interrupts, logins
from opsmart.errors import UserError

# A target holding tables in any of these is "not empty".
SCHEMAS = ("core", "ops", "mart")

# A client that is stopped mid-statement lets go of its transaction within this time.
_SESSION_OPTIONS = "-c client_connection_check_interval=2s -c client_min_messages=warning"

_TABLES_IN = """
select n.nspname || '.' || c.relname
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'v', 'm') and (n.nspname = any(%s) or n.nspname like 'mart\\_%%')
order by 1
"""


# Tables under row-level security whose every row the current user may not read.
# pg_dump refuses them without --enable-row-security, and with it would silently
# save only the visible rows: a backup is taken only when this is empty.
_ROWS_HIDDEN = """
select c.oid::regclass::text
from pg_class as c
cross join (select rolsuper or rolbypassrls as exempt from pg_roles where rolname = current_user) as me
where c.relkind in ('r', 'p') and c.relrowsecurity and not me.exempt
    and not (pg_has_role(c.relowner, 'USAGE') and not c.relforcerowsecurity)
    and (
        not exists (
            select from pg_policy as p
            where p.polrelid = c.oid and p.polpermissive and p.polcmd in ('r', '*')
                and pg_get_expr(p.polqual, p.polrelid) = 'true'
                and (p.polroles = '{0}' or exists (
                    select from unnest(p.polroles) as r (oid) where pg_has_role(r.oid, 'USAGE')
                ))
        )
        or exists (
            select from pg_policy as p
            where p.polrelid = c.oid and not p.polpermissive and p.polcmd in ('r', '*')
                and (p.polroles = '{0}' or exists (
                    select from unnest(p.polroles) as r (oid) where pg_has_role(r.oid, 'USAGE')
                ))
        )
    )
order by 1
"""


def bin_dir() -> Path:
    """Folder of the bundled pg_dump and pg_restore."""
    from opsmart import postgres

    return postgres.embedded_bindir()


def _env(url: str, tool: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(connection.libpq_env(url))
    env["PGOPTIONS"] = _SESSION_OPTIONS
    env["PGAPPNAME"] = f"opsmart {tool}"
    return env


def _run(tool: str, args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    return interrupts.run([str(bin_dir() / tool), *args], env=_env(url, tool), capture=True)


def _first_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [f"exit status {result.returncode}"])[0]


def hidden_rows(url: str) -> list[str]:
    """Tables under row-level security of which the login of ``url`` cannot read every row."""
    with connection.connect(url, autocommit=True) as conn:
        return [row[0] for row in conn.execute(_ROWS_HIDDEN).fetchall()]


def backup(url: str, path: str | Path, *, quiet: bool = False) -> float:
    """Dump the whole database to ``path`` (custom format); returns the seconds it took."""
    path = files.check_output(path, "backup")
    hidden = hidden_rows(url)  # also a clear error when the server is down
    if hidden:
        raise UserError(
            f"{logins.connected_user(url)} may not read every row of {', '.join(hidden[:3])}"
            " (row-level security): back up as the database owner or a superuser"
        )
    began = time.perf_counter()
    with files.written_whole(path) as partial:
        # every row is readable (checked above): row-level security may stay on
        args = ["--format=custom", "--no-password", "--enable-row-security", "--file", str(partial)]
        result = _run("pg_dump", args, url)
        if result.returncode != 0:
            raise UserError(f"backup failed: {_first_error(result)}")
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
