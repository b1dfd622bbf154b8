"""``opsmart backup FILE`` / ``opsmart restore FILE``: pg_dump custom format, restored all or nothing.

The client tools are the embedded server's (PostgreSQL 18): pg_dump and
pg_restore read every older server, so they dump an external PostgreSQL 15+ too. The
connection reaches them through the libpq variables, never on a command line.

A backup is written to ``FILE.partial`` and takes its name only when complete. It
reads with row-level security on (the marts force it on their owner too), and
only when the login may read every row: a database owner can back up its
database, and no login gets a backup that silently lacks rows.

A restore never loses the data it replaces. pg_restore turns the backup into SQL
(it needs no connection for that) and opsmart feeds it to one psql session inside
one transaction that first drops the core, ops, mart and mart_* schemas. opsmart
writes the COMMIT itself, and only once pg_restore has read the whole backup
without an error; psql stops at the first failing statement. A truncated or
corrupted backup, a failing statement, Ctrl-C or a lost connection therefore end
the session without a commit, and the server rolls everything back: the database
is as it was.

A superuser restores everything as it was saved. Any other login (a database
owner on a managed server) may not give objects to roles it cannot act as, and
the marts and their staging views belong to opsmart_transformer: it restores core
and ops as their owner (``--no-owner``) and the mart schemas empty, and forgets
the marts' build state, so the next build rebuilds them in full.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from psycopg import sql

from opsmart import connection, files, interrupts, logins
from opsmart.errors import UserError

# A target holding tables in any of these is "not empty"; a restore replaces them.
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

_REPLACED_SCHEMAS = """
select nspname from pg_namespace where nspname = any(%s) or nspname like 'mart\\_%%' order by 1
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

# After the restore, in its transaction: build state that cannot be trusted goes.
# A superuser's restore keeps it unless it lies ahead of this server's
# transaction ids (restored into another cluster, new rows would look built).
_FORGET_BUILD_STATE = """
do $opsmart$
begin
    if to_regclass('ops.mart_build_state') is not null
        and ({forget_all} or exists (
            select from ops.mart_build_state
            having max(pg_snapshot_xmax(snapshot)) > pg_current_xact_id()
        ))
    then
        delete from ops.mart_build_state;
    end if;
end
$opsmart$;
"""

_SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ SCHEMA - (\S+) ")
_PSQL_OPTIONS = ["--no-psqlrc", "--no-password", "--quiet", "--output=/dev/null", "-v", "ON_ERROR_STOP=1"]
_READY = "opsmart: ready to commit"


def bin_dir() -> Path:
    """Folder of the bundled pg_dump, pg_restore and psql."""
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


def _first_error(stderr: str, returncode: int) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    first = (errors or lines or [f"exit status {returncode}"])[0]
    return re.sub(r"^psql:<stdin>:\d+: ", "", first)


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
            raise UserError(f"backup failed: {_first_error(result.stderr, result.returncode)}")
    elapsed = time.perf_counter() - began
    if not quiet:
        size = path.stat().st_size
        print(f"backed up {connection.describe(url)} to {path} ({size:,} bytes) in {elapsed:.1f} s")
    return elapsed


def existing_tables(url: str) -> list[str]:
    """Tables and views in core, ops, mart and mart_* of the database at ``url``."""
    with connection.connect(url, autocommit=True) as conn:
        return [row[0] for row in conn.execute(_TABLES_IN, [list(SCHEMAS)]).fetchall()]


def _mart_schemas(listing: str) -> list[str]:
    """The mart and mart_* schemas a backup's table of contents creates."""
    names = [m.group(1) for m in map(_SCHEMA_ENTRY.match, listing.splitlines()) if m]
    return [name for name in names if name == "mart" or name.startswith("mart_")]


def restore(url: str, path: str | Path, *, force: bool = False, quiet: bool = False) -> float:
    """Restore a backup into the database at ``url``, all or nothing; returns the seconds it took.

    Refuses a database that already holds opsmart tables unless ``force``, which
    replaces the core, ops, mart and mart_* schemas in the same transaction.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file")
    listing = _run("pg_restore", ["--list", str(path)], url)
    if listing.returncode != 0:
        raise UserError(
            f"{path} is not an opsmart backup (pg_dump custom format): "
            f"{_first_error(listing.stderr, listing.returncode)}"
        )
    tables = existing_tables(url)
    if tables and not force:
        shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
        raise UserError(
            f"{connection.describe(url)} is not empty ({len(tables)} tables: {shown}); "
            "restore into an empty database, or pass --force to replace its contents"
        )
    with connection.connect(url, autocommit=True) as conn:
        superuser = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
        server_version = conn.info.server_version
        replaced = [row[0] for row in conn.execute(_REPLACED_SCHEMAS, [list(SCHEMAS)]).fetchall()]
    as_saved = bool(superuser and superuser[0])
    to_sql = ["--file=-"]
    if not as_saved:
        to_sql += ["--no-owner", *(f"--exclude-schema={name}" for name in _mart_schemas(listing.stdout))]
    drops = "".join(
        sql.SQL("drop schema {} cascade;\n").format(sql.Identifier(name)).as_string() for name in replaced
    )
    prologue = f"begin;\n{drops}"
    epilogue = _FORGET_BUILD_STATE.format(forget_all="false" if as_saved else "true")
    began = time.perf_counter()
    unknown = [name for name, since in _NEWER_SETTINGS.items() if server_version < since]
    problem = _restore_in_one_transaction(url, [*to_sql, str(path)], prologue, epilogue, unknown)
    if problem:
        raise UserError(f"restore failed, nothing changed: {problem}")
    elapsed = time.perf_counter() - began
    if not quiet:
        print(f"restored {path} into {connection.describe(url)} in {elapsed:.1f} s")
        if not as_saved:
            print(
                f"{logins.connected_user(url)} is not a superuser: core and ops are its own now; "
                "the next `opsmart build` rebuilds the marts"
            )
        elif not _has_build_state(url):
            print("the marts have no build state here: the next build rebuilds them in full")
    return elapsed


# Settings the bundled pg_restore writes into the script's header that older
# servers do not know (PostgreSQL 15 refuses "SET transaction_timeout"), with
# the server version that introduced each.
_NEWER_SETTINGS = {"transaction_timeout": 170000}


def _copy_script(script: IO[bytes], psql: IO[bytes], unknown: list[str]) -> None:
    """pg_restore's SQL into psql, without the header's SETs of settings the server lacks."""
    if unknown:
        drop = tuple(f"SET {name} ".encode() for name in unknown)
        for line in script:
            if not line.startswith(drop):
                psql.write(line)
            if line.startswith(b"-- Name: "):  # the header ends at the first object
                break
    shutil.copyfileobj(script, psql, 1 << 20)


def _restore_in_one_transaction(
    url: str, pg_restore_args: list[str], prologue: str, epilogue: str, unknown: list[str]
) -> str | None:
    """pg_restore's SQL between ``prologue`` and ``epilogue`` through one psql, committed only if whole.

    Returns why nothing was committed, or None.
    """
    with contextlib.ExitStack() as stack:
        dump_err = stack.enter_context(tempfile.TemporaryFile())
        psql_err = stack.enter_context(tempfile.TemporaryFile())
        dump = interrupts.popen(
            [str(bin_dir() / "pg_restore"), *pg_restore_args],
            env=_env(url, "pg_restore"),
            stdout=subprocess.PIPE,
            stderr=dump_err,
        )
        stack.callback(_end, dump)
        psql = interrupts.popen(
            [str(bin_dir() / "psql"), *_PSQL_OPTIONS],
            env=_env(url, "psql"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # only the \echo below: query output goes to /dev/null
            stderr=psql_err,
        )
        stack.callback(_end, psql)
        assert dump.stdout is not None and psql.stdin is not None and psql.stdout is not None
        committed = False
        try:
            psql.stdin.write(prologue.encode())
            _copy_script(dump.stdout, psql.stdin, unknown)
            # Not one more byte unless pg_restore read the whole backup: a COMMIT must
            # follow the complete script and nothing else.
            if dump.wait() == 0:
                psql.stdin.write(f"{epilogue}\\echo {_READY}\n".encode())
                psql.stdin.flush()
                # psql echoes once every statement before has run: all but the commit is done
                if psql.stdout.readline().decode().strip() == _READY:
                    with interrupts.deferred():  # the commit is not cut in two
                        psql.stdin.write(b"commit;\n")
                        psql.stdin.close()
                        committed = psql.wait() == 0
        except BrokenPipeError:
            pass  # psql stopped at a failing statement: its error is reported below
        finally:
            # Without a COMMIT, psql ends at the end of its input and the server rolls back.
            with contextlib.suppress(OSError):
                psql.stdin.close()
            dump.stdout.close()  # a pg_restore still writing stops (SIGPIPE)
        if dump.wait() not in (0, -signal.SIGPIPE):
            # pg_restore reads nothing but the file: it is truncated, corrupted or unreadable
            return f"the backup is damaged ({_first_error(_read(dump_err), dump.returncode)})"
        if not committed:
            return _first_error(_read(psql_err), psql.wait())
        return None


def _end(proc: subprocess.Popen) -> None:
    """A child of the restore, whatever happened: stopped if still running, and forgotten."""
    if proc.poll() is None:
        interrupts.stop(proc)
    interrupts.forget(proc)


def _read(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace")


def _has_build_state(url: str) -> bool:
    with connection.connect(url, autocommit=True) as conn:
        if conn.execute("select to_regclass('ops.mart_build_state') is null").fetchone() == (True,):
            return False
        return conn.execute("select exists (select from ops.mart_build_state)").fetchone() == (True,)
