"""opsmart backup / restore: a round trip preserves every table; a non-empty target needs --force."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from interruptkit import assert_one_line
from reliakit import load_tiny, login_role, run_cli

from opsmart import backup, digest
from opsmart.errors import UserError

SCHEMAS = ("core", "ops", "mart")


def test_backup_and_restore_round_trip_preserves_every_table(db_url: str, make_database, tmp_path) -> None:
    source = load_tiny(db_url)
    dump = tmp_path / "opsmart.dump"
    result = run_cli(source, "backup", str(dump))
    assert result.returncode == 0, result.stderr
    expected = digest.digest(source, SCHEMAS)
    assert len(expected) > 30

    empty = make_database(bootstrapped=False)
    result = run_cli(empty, "restore", str(dump))
    assert result.returncode == 0, result.stderr
    assert digest.digest(empty, SCHEMAS) == expected

    # Refused without --force, and nothing changed; replaced with it.
    with psycopg.connect(empty, autocommit=True) as conn:
        conn.execute(
            "insert into ops.audit_log (action, entity_type, entity_id) values ('after', 'backup', '1')"
        )
    changed = digest.digest(empty, SCHEMAS)
    refused = run_cli(empty, "restore", str(dump))
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1 and "--force" in refused.stderr
    assert digest.digest(empty, SCHEMAS) == changed
    forced = run_cli(empty, "restore", "--force", str(dump))
    assert forced.returncode == 0, forced.stderr
    assert digest.digest(empty, SCHEMAS) == expected


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(db_url: str, tmp_path) -> None:
    bogus = tmp_path / "not-a-dump"
    bogus.write_text("select 1;\n")
    before = digest.digest(db_url, SCHEMAS)
    with pytest.raises(UserError, match="not an opsmart backup"):
        backup.restore(db_url, bogus, force=True, quiet=True)
    with pytest.raises(UserError, match="does not exist"):
        backup.restore(db_url, tmp_path / "missing.dump", quiet=True)
    assert digest.digest(db_url, SCHEMAS) == before


def test_backup_refuses_a_login_that_would_miss_rows_to_row_level_security(
    db_url: str, tmp_path: Path
) -> None:
    url = load_tiny(db_url)
    target = tmp_path / "partial.dump"
    # reads every table, but the marts' row-level security gives it none of their rows
    with login_role(url, "opsmart_test_reads_all", "pg_read_all_data") as reader:
        result = run_cli(reader, "backup", str(target))
    assert_one_line(result, "opsmart_test_reads_all may not read every row of mart.")
    assert not list(tmp_path.iterdir())
