"""Applies the versioned DDL in ``ops_schema/NNN_name.sql``, each file once, in order.

The ledger ``ops.schema_migrations`` records every applied file with the sha256
of its bytes. A run holds a session advisory lock for its whole duration, so two
bootstrappers never interleave: the second waits, then re-reads the ledger and
finds nothing left to do. Each file applies in its own transaction together with
its ledger row, so a failing file leaves nothing of itself behind.

Where the database runs Citus (the citus extension exists), the files of
``ops_schema/citus/`` apply next, on every run, each in one transaction: they
distribute the tables once and keep the cluster's change tracking in step with
the sources (docs/scale-out.md). A single server never runs them.

Then, on every run, the repeatable files (``ops_schema/repeatable/``: the group
roles and every privilege they hold) apply again in one transaction, and the
deployment's mart schemas are made: roles a DBA creates after the first
bootstrap get their privileges at the next one.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from opsmart import connection
from opsmart.errors import UserError

REPEATABLE = ("roles.sql", "grants.sql")  # in this order, on every run
FILE_PATTERN = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
LEDGER = sql.Identifier("ops", "schema_migrations")
# Fixed key for pg_advisory_lock: the bytes of "opsmart" read as an integer.
LOCK_KEY = int.from_bytes(b"opsmart", "big")

_CREATE_LEDGER = sql.SQL("""
create table if not exists {ledger} (
    version integer not null,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now(),
    applied_by text not null default current_user,
    duration_ms integer not null,
    constraint pk_schema_migrations primary key (version),
    constraint chk_schema_migrations_version check (version > 0),
    constraint chk_schema_migrations_checksum check (checksum ~ '^[0-9a-f]{{64}}$'),
    constraint chk_schema_migrations_duration_ms check (duration_ms >= 0)
)
""").format(ledger=LEDGER)

_CREATE_TABLE = re.compile(
    r"\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)", re.IGNORECASE
)


@dataclass(frozen=True)
class Migration:
    """One ``NNN_name.sql`` file."""

    version: int
    filename: str
    path: Path
    checksum: str

    @property
    def label(self) -> str:
        """How messages name the file: ``ops_schema/007_events.sql``."""
        return f"{self.path.parent.name}/{self.filename}"

    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"{self.label} is not valid UTF-8: {exc.reason} at byte {exc.start}") from None


@dataclass(frozen=True)
class Entry:
    """A version as the files and the ledger see it together."""

    version: int
    name: str
    state: str  # applied | pending | changed | renamed | missing file
    applied_at: datetime | None


def schema_dir() -> Path:
    return connection.project_dir() / "ops_schema"


def roles_sql(directory: Path | None = None) -> str:
    """The script that creates the group roles, for a DBA to run where bootstrap may not."""
    return _repeatable(directory)[0][1]


def _repeatable(directory: Path | None = None) -> list[tuple[str, str]]:
    folder = (Path(directory) if directory is not None else schema_dir()) / "repeatable"
    files = []
    for name in REPEATABLE:
        path = folder / name
        try:
            files.append((f"{folder.parent.name}/repeatable/{name}", path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from None
    return files


def discover(directory: Path | None = None) -> list[Migration]:
    """The migration files in version order; refuses bad names, gaps and duplicates."""
    directory = Path(directory) if directory is not None else schema_dir()
    if not directory.is_dir():
        raise UserError(f"{directory} does not exist: cannot find the ops schema files")
    found: dict[int, list[Migration]] = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or not path.name.lower().endswith(".sql"):
            continue
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise UserError(
                f"{directory.name}/{path.name}: file name must look like NNN_name.sql "
                "(three digits, an underscore, lowercase letters, digits and underscores)"
            )
        data = path.read_bytes()
        migration = Migration(int(match.group(1)), path.name, path, hashlib.sha256(data).hexdigest())
        found.setdefault(migration.version, []).append(migration)
    if not found:
        raise UserError(f"{directory} holds no NNN_name.sql files")
    for version in sorted(found):
        if len(found[version]) > 1:
            names = " and ".join(m.label for m in found[version])
            raise UserError(f"{names} share version {version}: every version must be unique")
    expected = 1
    for version in sorted(found):
        if version != expected:
            raise UserError(
                f"{found[version][0].label}: version {expected:03d} is missing before it "
                "(versions must run 001, 002, ... with no gap)"
            )
        expected += 1
    return [found[v][0] for v in sorted(found)]


def declared_tables(directory: Path | None = None) -> list[tuple[str, str]]:
    """(schema, table) for every ``create table schema.name`` in the ops schema files."""
    tables: list[tuple[str, str]] = []
    for migration in discover(directory):
        text = re.sub(r"--[^\n]*", "", migration.text())
        for schema, name in _CREATE_TABLE.findall(text):
            if (schema.lower(), name.lower()) not in tables:
                tables.append((schema.lower(), name.lower()))
    return tables


def _read_ledger(conn: psycopg.Connection) -> dict[int, tuple[str, str, datetime]]:
    exists = conn.execute("select to_regclass('ops.schema_migrations') is not null").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute(
        sql.SQL("select version, name, checksum, applied_at from {} order by version").format(LEDGER)
    ).fetchall()
    return {version: (name, checksum, applied_at) for version, name, checksum, applied_at in rows}


def _compare(migrations: list[Migration], ledger: dict[int, tuple[str, str, datetime]]) -> list[Entry]:
    by_version = {m.version: m for m in migrations}
    entries: list[Entry] = []
    for version in sorted(set(by_version) | set(ledger)):
        m = by_version.get(version)
        row = ledger.get(version)
        if m is None:
            assert row is not None
            entries.append(Entry(version, row[0], "missing file", row[2]))
        elif row is None:
            entries.append(Entry(version, m.filename, "pending", None))
        elif row[0] != m.filename:
            entries.append(Entry(version, m.filename, "renamed", row[2]))
        elif row[1] != m.checksum:
            entries.append(Entry(version, m.filename, "changed", row[2]))
        else:
            entries.append(Entry(version, m.filename, "applied", row[2]))
    return entries


def _verify(migrations: list[Migration], ledger: dict[int, tuple[str, str, datetime]]) -> list[Migration]:
    """Refuses a ledger that disagrees with the files; returns the pending migrations."""
    by_version = {m.version: m for m in migrations}
    folder = migrations[0].path.parent.name
    for version, (name, checksum, _) in sorted(ledger.items()):
        m = by_version.get(version)
        if m is None:
            raise UserError(
                f"version {version} ({name}) was applied but {folder}/ has no file for it any more"
            )
        if name != m.filename:
            raise UserError(f"{m.label}: version {version} was applied as {name}; restore that name")
        if checksum != m.checksum:
            raise UserError(
                f"{m.label} was changed after it was applied "
                f"(checksum {checksum[:12]} in the ledger, {m.checksum[:12]} now); "
                "restore the file and put the change in a new file"
            )
    return [m for m in migrations if m.version not in ledger]


def plan(url: str, directory: Path | None = None) -> list[Migration]:
    """The migrations ``apply`` would run now (refuses drifted or missing files)."""
    migrations = discover(directory)
    with connection.connect(url, autocommit=True) as conn:
        return _verify(migrations, _read_ledger(conn))


def status(url: str, directory: Path | None = None) -> list[Entry]:
    """Every version with its state: applied, pending, changed, renamed or missing file."""
    migrations = discover(directory)
    with connection.connect(url, autocommit=True) as conn:
        return _compare(migrations, _read_ledger(conn))


def print_status(url: str, directory: Path | None = None) -> int:
    """Prints the version, name and applied_at (or state) of every file; exit status 0."""
    entries = status(url, directory)
    width = max(len(e.name) for e in entries)
    print(f"{'version':>7}  {'name':<{width}}  applied_at")
    for e in entries:
        when = e.applied_at.isoformat(sep=" ", timespec="seconds") if e.applied_at else ""
        shown = when if e.state == "applied" else f"{e.state} {when}".strip()
        print(f"{e.version:>7}  {e.name:<{width}}  {shown}")
    pending = sum(e.state == "pending" for e in entries)
    print(f"{len(entries) - pending} applied, {pending} pending")
    return 0


def _failure(m: Migration, text: str, exc: psycopg.Error) -> UserError:
    diag = exc.diag
    message = diag.message_primary or str(exc).splitlines()[0]
    where = ""
    if diag.statement_position:
        # statement_position counts characters from 1 across the whole file.
        line = text.count("\n", 0, int(diag.statement_position) - 1) + 1
        where = f" (line {line})"
    elif diag.context:
        where = f" ({diag.context.splitlines()[-1].strip()})"
    return UserError(f"{m.label} failed{where}: {message}; nothing of it was applied")


def _lock(conn: psycopg.Connection, quiet: bool) -> None:
    got = conn.execute("select pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
    if got and got[0]:
        return
    if not quiet:
        print("waiting for another bootstrap of this database to finish ...", flush=True)
    conn.execute("select pg_advisory_lock(%s)", [LOCK_KEY])


def is_citus(conn: psycopg.Connection) -> bool:
    """Whether the database runs Citus (its extension exists): a cluster's coordinator."""
    return bool(
        conn.execute("select exists (select from pg_extension where extname = 'citus')").fetchone()[0]
    )


def _apply_cluster(conn: psycopg.Connection, directory: Path | None, quiet: bool) -> None:
    """The Citus files, in name order, each in one transaction (idempotent; only where Citus runs)."""
    if not is_citus(conn):
        return
    folder = (Path(directory) if directory is not None else schema_dir()) / "citus"
    for path in sorted(folder.glob("*.sql")):
        label = f"{folder.parent.name}/citus/{path.name}"
        started = time.perf_counter()
        try:
            with conn.transaction():
                conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
        except psycopg.Error as exc:
            message = exc.diag.message_primary or str(exc).splitlines()[0]
            raise UserError(f"{label} failed: {message}; nothing of it was applied") from None
        if not quiet:
            print(f"applied {label} ({round((time.perf_counter() - started) * 1000)} ms)", flush=True)


def _apply_repeatable(conn: psycopg.Connection, directory: Path | None, mart_schema: str) -> None:
    """Roles, privileges and the deployment's mart schemas, in one transaction."""
    files = _repeatable(directory)
    with conn.transaction():
        for label, text in files:
            try:
                with conn.transaction():
                    conn.execute(text)  # type: ignore[arg-type]
            except psycopg.Error as exc:
                message = exc.diag.message_primary or str(exc).splitlines()[0]
                raise UserError(f"{label} failed: {message}; nothing of it was applied") from None
        if conn.execute("select to_regprocedure('ops.create_mart_schema(text, text)') is null").fetchone()[0]:
            return  # a partial bootstrap (tests, or a migration that failed): no mart schemas yet
        for name, kind in ((mart_schema, "mart"), (f"{mart_schema}_staging", "staging")):
            try:
                with conn.transaction():
                    conn.execute("select ops.create_mart_schema(%s, %s)", [name, kind])
            except psycopg.Error as exc:
                raise UserError(f"cannot make mart schema {name}: {exc.diag.message_primary}") from None
            conn.execute("update ops.mart_schema set is_protected = true where schema_name = %s", [name])


def apply(url: str, quiet: bool = False, directory: Path | None = None) -> list[Migration]:
    """Applies every pending file in order, then the repeatable ones; returns the versioned files applied."""
    migrations = discover(directory)
    mart_schema = connection.mart_schema()

    def notice(diag: psycopg.errors.Diagnostic) -> None:
        if diag.message_primary and diag.message_primary.startswith("opsmart:"):
            print(f"  {diag.message_primary}", flush=True)

    applied: list[Migration] = []
    with connection.connect(url, autocommit=True) as conn:
        _lock(conn, quiet)  # released when the connection closes
        with conn.transaction():
            conn.execute("create schema if not exists ops")
            conn.execute(_CREATE_LEDGER)
        pending = _verify(migrations, _read_ledger(conn))
        if not quiet:
            conn.add_notice_handler(notice)
        for m in pending:
            text = m.text()
            started = time.perf_counter()
            try:
                with conn.transaction():
                    # No parameters: psycopg sends the simple query protocol, which
                    # runs every statement in the file.
                    conn.execute(text)  # type: ignore[arg-type]
                    duration_ms = round((time.perf_counter() - started) * 1000)
                    conn.execute(
                        sql.SQL(
                            "insert into {} (version, name, checksum, duration_ms) values (%s, %s, %s, %s)"
                        ).format(LEDGER),
                        [m.version, m.filename, m.checksum, duration_ms],
                    )
            except psycopg.Error as exc:
                raise _failure(m, text, exc) from None
            applied.append(m)
            if not quiet:
                print(f"applied {m.label} ({duration_ms} ms)", flush=True)
        _apply_cluster(conn, directory, quiet)
        _apply_repeatable(conn, directory, mart_schema)
    if not quiet and not applied:
        print(f"nothing to apply: all {len(migrations)} files of the ops schema are applied")
    return applied
