"""Bad command lines: one line on stderr, non-zero exit, never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["generate", "--days", "0"], "'0' must be greater than zero"),
        (["generate", "--days", "x"], "'x' is not a whole number"),
        (["generate", "--fraction", "2"], "'2' must be in (0, 1]"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: COMMAND"),
        (["db", "sideways"], "invalid choice: 'sideways'"),
        (["check", "--verbose"], "unrecognized arguments: --verbose"),
    ],
    ids=[
        "days-zero",
        "days-not-a-number",
        "fraction-out-of-range",
        "unknown-command",
        "no-command",
        "bad-db-action",
        "unknown-option",
    ],
)
def test_bad_arguments_give_one_line(cli, args: list[str], fragment: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("opsmart")
    assert fragment in lines[0]


def _one_line(result, fragment: str) -> None:
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("opsmart: "), result.stderr[-3000:]
    assert fragment in lines[0], lines[0]


def test_a_selector_that_matches_nothing_fails_the_build(db_url: str) -> None:
    from support.platform import run_cli

    result = run_cli(db_url, "build", "--select", "feature_dialy")
    assert result.returncode != 0
    assert "does not match any enabled nodes" in result.stdout


def test_a_first_build_on_an_empty_platform_passes_and_says_why_freshness_is_skipped(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.platform import run_cli

    # dbt's own variable for its target folder is where the build writes (and what it locks)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "elsewhere"))
    result = run_cli(db_url, "build")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "source freshness: skipped, the platform has no data yet" in result.stdout
    run_results = json.loads((tmp_path / "elsewhere" / "run_results.json").read_text())
    assert run_results["args"]["which"] == "build"
    # a scheduled build runs models, seeds and data tests; unit tests are CI's (dbt_tests)
    kinds = {r["unique_id"].split(".")[0] for r in run_results["results"]}
    assert "unit_test" not in kinds and {"model", "seed", "test"} <= kinds, kinds
    assert (tmp_path / "elsewhere" / ".opsmart.lock").is_file()


def test_a_run_into_another_mart_schema_keeps_to_a_target_folder_of_its_own(
    loaded_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `opsmart load` compares with (a full refresh into mart_full) leaves the scheduled builds'
    target folder as it was: their partial parsing stays valid, their run results stay theirs."""
    from support import builder_url

    from opsmart import build

    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    usual, builder = tmp_path / "target", builder_url(loaded_url)
    select = ["run", "--select", "organizations"]
    assert build.dbt(select, builder, capture=True).returncode == 0
    parsed, results = (usual / "partial_parse.msgpack").read_bytes(), (usual / "run_results.json").read_text()

    side = build.dbt(select, builder, schema="mart_full", capture=True)
    assert side.returncode == 0, side.stdout[-3000:]
    assert (usual / "partial_parse.msgpack").read_bytes() == parsed
    assert (usual / "run_results.json").read_text() == results
    assert (build.side_target_dir("mart_full") / "run_results.json").is_file()
    assert build.side_target_dir("mart_full").parent == usual
    # the next scheduled run parses nothing again
    again = build.dbt(select, builder, capture=True)
    assert again.returncode == 0 and "Unable to do partial parsing" not in again.stdout, again.stdout[-3000:]


@pytest.mark.parametrize("problem", ["password", "database", "server"])
def test_build_against_an_unreachable_database_is_one_line(cli, db_url: str, problem: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(db_url)
    url = {
        "password": make_conninfo(db_url, password="wrong-password"),
        "database": make_conninfo(db_url, dbname="no_such_database"),
        "server": make_conninfo(db_url, port="1"),
    }[problem]
    expected = {
        "password": f"password authentication failed for user {params['user']}",
        "database": 'database "no_such_database" does not exist',
        "server": "cannot connect to PostgreSQL at 127.0.0.1:1",
    }[problem]
    _one_line(cli("build", env={"OPSMART_DATABASE_URL": url}), expected)
    _one_line(cli("bootstrap", env={"OPSMART_DATABASE_URL": url}), expected)


def test_stale_sources_fail_the_build_after_it_built_and_vacuumed_the_marts(loaded_url: str) -> None:
    """``opsmart build`` is dbt build, then source freshness, in one dbt process: the freshness
    error is the build's exit status, and the marts the build changed are vacuumed all the same."""
    import psycopg
    from support.platform import run_cli

    with psycopg.connect(loaded_url, autocommit=True) as conn:
        # no message for 30 days, and an event for the build to count
        conn.execute("update ops.message set created_at = created_at - interval '30 days'")
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " select id, 'api', 'stale-sources', now() from ops.organization order by id limit 1"
        )
    result = run_cli(loaded_url, "build")
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # dbt's colours
    assert result.returncode == 1, out[-3000:]
    assert "PASS=" in out and "ERROR=0" in out  # the build itself passed
    assert "ERROR STALE freshness of ops.message" in out
    with psycopg.connect(loaded_url) as conn:
        vacuumed = conn.execute(
            "select last_vacuum is not null from pg_stat_user_tables"
            " where schemaname = 'mart' and relname = 'feature_daily'"
        ).fetchone()[0]
    assert vacuumed


def test_a_run_that_finds_the_target_folder_taken_parses_nothing_again(
    loaded_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build started while another holds the target folder runs in a private one, seeded with the
    usual folder's partial-parse state: it does not parse the whole project again."""
    import fcntl

    from support import builder_url

    from opsmart import build

    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    builder, select = builder_url(loaded_url), ["run", "--select", "organizations"]
    assert build.dbt(select, builder, capture=True).returncode == 0
    results = (tmp_path / "target" / "run_results.json").read_text()
    with (tmp_path / "target" / ".opsmart.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another run holds it
        meanwhile = build.dbt(select, builder, capture=True)
    assert meanwhile.returncode == 0, meanwhile.stdout[-3000:]
    assert "Unable to do partial parsing" not in meanwhile.stdout, meanwhile.stdout[-3000:]
    assert (tmp_path / "target" / "run_results.json").read_text() == results  # it ran elsewhere
