"""bootstrap: applies ops_schema/ once, in order, checksummed, atomically per file, under a lock."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import psycopg
import pytest

from opsmart import bootstrap
from opsmart.errors import UserError

pytestmark = pytest.mark.every_server

REPO = Path(__file__).resolve().parents[2]
# How many files ops_schema/ ships, and the name a test's next file gets.
SHIPPED = len(sorted((REPO / "ops_schema").glob("[0-9][0-9][0-9]_*.sql")))
LAST_FILE = sorted((REPO / "ops_schema").glob("[0-9][0-9][0-9]_*.sql"))[-1].name
NEXT = SHIPPED + 1


def nth(version: int, name: str) -> str:
    return f"{version:03d}_{name}.sql"


IDENT = r"([a-z_][a-z0-9_]*)"

# What the design promises, read straight from the SQL files (not from bootstrap).
PATTERNS = {
    "table": re.compile(rf"\bcreate\s+table\s+{IDENT}\.{IDENT}", re.I),
    "constraint": re.compile(rf"\bconstraint\s+{IDENT}", re.I),
    "index": re.compile(rf"\bcreate\s+(?:unique\s+)?index\s+{IDENT}", re.I),
    "function": re.compile(rf"\bcreate\s+or\s+replace\s+function\s+{IDENT}\.{IDENT}", re.I),
    "trigger": re.compile(rf"\bcreate\s+trigger\s+{IDENT}", re.I),
}

CATALOG = {
    "table": """select n.nspname || '.' || c.relname from pg_class c
                join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p')""",
    "constraint": """select c.conname from pg_constraint c
                     join pg_namespace n on n.oid = c.connamespace where n.nspname in ('core', 'ops')""",
    "index": """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where c.relkind in ('i', 'I') and n.nspname in ('core', 'ops')""",
    "function": """select n.nspname || '.' || p.proname from pg_proc p
                   join pg_namespace n on n.oid = p.pronamespace""",
    "trigger": "select tgname from pg_trigger where not tgisinternal",
}


def declared(directory: Path = REPO / "ops_schema") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {kind: set() for kind in PATTERNS}
    for path in sorted(directory.glob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text())
        for kind, pattern in PATTERNS.items():
            found[kind] |= {".".join(m.groups()).lower() for m in pattern.finditer(text)}
    return found


def ledger(url: str) -> list[tuple[int, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("select version, name, checksum from ops.schema_migrations order by 1").fetchall()


def relation_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


def add_file(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_bootstrap_creates_every_declared_object(
    empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = bootstrap.apply(empty_db_url)

    files = sorted((REPO / "ops_schema").glob("*.sql"))
    assert [m.filename for m in applied] == [f.name for f in files]
    # (notices such as "pgvector not available" come between)
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("  opsmart:")]
    assert len(lines) == len(files)
    for line, f in zip(lines, files, strict=True):
        assert re.fullmatch(rf"applied ops_schema/{f.name} \(\d+ ms\)", line)

    expected = declared()
    with psycopg.connect(empty_db_url) as conn:
        if not conn.execute("select exists (select from pg_extension where extname = 'vector')").fetchone()[
            0
        ]:
            expected["index"].discard("idx_message_embedding")  # created only with pgvector
        for kind, query in CATALOG.items():
            assert expected[kind], f"parsed no {kind} from ops_schema/"
            present = {row[0] for row in conn.execute(query)}
            assert expected[kind] - present == set(), f"{kind}s missing after bootstrap"

    assert {f"{s}.{t}" for s, t in bootstrap.declared_tables()} == expected["table"]
    assert ledger(empty_db_url) == [
        (i, f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for i, f in enumerate(files, start=1)
    ]


def test_second_run_applies_nothing_and_says_so(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = ledger(db_url)
    assert bootstrap.plan(db_url) == []
    assert bootstrap.apply(db_url) == []
    assert "nothing to apply" in capsys.readouterr().out
    assert ledger(db_url) == before


def test_new_file_is_applied_alone(db_url: str, schema_copy: Path) -> None:
    add_file(schema_copy, nth(NEXT, "extra"), "create table ops.extra_t (id int);")
    assert [m.version for m in bootstrap.plan(db_url, directory=schema_copy)] == [NEXT]
    assert [m.filename for m in bootstrap.apply(db_url, quiet=True, directory=schema_copy)] == [
        nth(NEXT, "extra")
    ]
    assert relation_exists(db_url, "ops.extra_t")
    assert len(ledger(db_url)) == NEXT


def test_edited_applied_file_is_refused_and_nothing_applied(db_url: str, schema_copy: Path) -> None:
    events = schema_copy / "008_events.sql"
    events.write_text(events.read_text() + "\n-- an innocent-looking edit\n")
    add_file(schema_copy, nth(NEXT, "extra"), "create table ops.extra_t (id int);")

    for attempt in (bootstrap.plan, bootstrap.apply):
        with pytest.raises(UserError, match=r"ops_schema/008_events\.sql was changed after it was applied"):
            attempt(db_url, directory=schema_copy)
    assert not relation_exists(db_url, "ops.extra_t")
    assert len(ledger(db_url)) == SHIPPED


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {nth(NEXT + 1, "after_gap"): "create table ops.extra_t (id int);"},
            rf"{NEXT + 1:03d}_after_gap\.sql: version {NEXT:03d} is missing",
        ),
        (
            {nth(NEXT, "a"): "create table ops.extra_t (id int);", nth(NEXT, "b"): "select 1;"},
            rf"ops_schema/{NEXT:03d}_a\.sql and ops_schema/{NEXT:03d}_b\.sql share version {NEXT}",
        ),
        (
            {"13_short.sql": "create table ops.extra_t (id int);"},
            r"ops_schema/13_short\.sql: file name must look",
        ),
        (
            {f"{NEXT:03d}_Upper.sql": "create table ops.extra_t (id int);"},
            rf"ops_schema/{NEXT:03d}_Upper\.sql: file name must",
        ),
    ],
    ids=["gap", "duplicate", "short-version", "uppercase-name"],
)
def test_bad_file_set_is_refused_before_anything_runs(
    empty_db_url: str, schema_copy: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        add_file(schema_copy, name, text)
    with pytest.raises(UserError, match=message):
        bootstrap.apply(empty_db_url, quiet=True, directory=schema_copy)
    # Refused before the first file: not even 001 ran.
    assert not relation_exists(empty_db_url, "core.users")
    assert not relation_exists(empty_db_url, "ops.extra_t")


def test_ledger_row_without_its_file_is_refused(db_url: str, schema_copy: Path) -> None:
    (schema_copy / LAST_FILE).unlink()
    with pytest.raises(
        UserError,
        match=rf"version {SHIPPED} \({re.escape(LAST_FILE)}\) was applied but ops_schema/ has no file",
    ):
        bootstrap.apply(db_url, quiet=True, directory=schema_copy)


def test_failing_file_leaves_no_trace(db_url: str, schema_copy: Path) -> None:
    add_file(schema_copy, nth(NEXT, "ok"), "create table ops.ok_t (id int);\n")
    bad = add_file(
        schema_copy,
        nth(NEXT + 1, "bad"),
        "create table ops.bad_a (id int);\n"
        "create table ops.bad_b (id int);\n"
        "select * from ops.no_such_table;\n",
    )

    with pytest.raises(UserError) as caught:
        bootstrap.apply(db_url, quiet=True, directory=schema_copy)
    message = str(caught.value)
    assert "\n" not in message
    assert f"ops_schema/{nth(NEXT + 1, 'bad')}" in message
    assert "(line 3)" in message
    assert 'relation "ops.no_such_table" does not exist' in message

    assert relation_exists(db_url, "ops.ok_t")  # the earlier file stays applied
    assert not relation_exists(db_url, "ops.bad_a")
    assert not relation_exists(db_url, "ops.bad_b")
    assert [row[0] for row in ledger(db_url)] == list(range(1, NEXT + 1))

    bad.write_text("create table ops.bad_a (id int);\n")
    assert [m.version for m in bootstrap.apply(db_url, quiet=True, directory=schema_copy)] == [NEXT + 1]


def test_error_inside_plpgsql_names_the_file(db_url: str, schema_copy: Path) -> None:
    add_file(schema_copy, nth(NEXT, "do"), "do $$\nbegin\n    perform ops.no_such_function();\nend\n$$;\n")
    with pytest.raises(
        UserError, match=rf"ops_schema/{NEXT:03d}_do\.sql failed .*no_such_function\(\) does not exist"
    ):
        bootstrap.apply(db_url, quiet=True, directory=schema_copy)
    assert len(ledger(db_url)) == SHIPPED


def test_concurrent_bootstraps_apply_each_file_once(empty_db_url: str) -> None:
    start = threading.Barrier(2)
    results: list[list[bootstrap.Migration]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(bootstrap.apply(empty_db_url, quiet=True))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    # One applied everything; the other waited for the lock, then found nothing.
    assert sorted(len(r) for r in results) == [0, SHIPPED]
    assert [row[0] for row in ledger(empty_db_url)] == list(range(1, SHIPPED + 1))


def test_status_lists_applied_and_pending(
    empty_db_url: str, schema_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in schema_copy.glob("*.sql"):
        if int(path.name[:3]) > 3:
            path.unlink()
    bootstrap.apply(empty_db_url, quiet=True, directory=schema_copy)

    states = [(e.version, e.state) for e in bootstrap.status(empty_db_url)]
    assert states == [(v, "applied" if v <= 3 else "pending") for v in range(1, SHIPPED + 1)]

    assert bootstrap.print_status(empty_db_url) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {int(line.split()[0]): line for line in lines[1:-1]}
    assert sorted(rows) == list(range(1, SHIPPED + 1))
    assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[v]) for v in (1, 2, 3))
    assert all(rows[v].endswith("pending") for v in range(4, SHIPPED + 1))
    assert lines[-1] == f"3 applied, {SHIPPED - 3} pending"


def test_cli_status_and_apply(empty_db_url: str, cli) -> None:
    env = {"OPSMART_DATABASE_URL": empty_db_url}
    status = cli("bootstrap", "--status", env=env)
    assert status.returncode == 0, status.stderr
    assert status.stdout.count("pending") == SHIPPED + 1  # a row per file and the summary line

    applied = cli("bootstrap", env=env)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("applied ops_schema/") == SHIPPED

    again = cli("bootstrap", env=env)
    assert again.returncode == 0
    assert "nothing to apply" in again.stdout
