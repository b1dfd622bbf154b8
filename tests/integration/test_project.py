"""The dbt project as a whole: it documents everything, builds docs, and lints clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import dbt_ok, target_dir

from opsmart import build, connection


def test_docs_generate_and_every_model_and_column_is_described(db_url: str) -> None:
    dbt_ok(db_url, "docs", "generate", artifacts=True)
    manifest = json.loads((target_dir(db_url) / "manifest.json").read_text())
    undocumented = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["package_name"] != "opsmart":
            continue
        if not node["description"].strip():
            undocumented.append(node["name"])
        undocumented += [
            f"{node['name']}.{c}" for c, col in node["columns"].items() if not col["description"].strip()
        ]
    # Every column the built relations really have is documented (not just those in YAML).
    catalog = json.loads((target_dir(db_url) / "catalog.json").read_text())
    for unique_id, entry in catalog["nodes"].items():
        node = manifest["nodes"].get(unique_id)
        if not node or node["resource_type"] != "model":
            continue
        documented = {c for c, col in node["columns"].items() if col["description"].strip()}
        undocumented += [f"{node['name']}.{c}" for c in entry["columns"] if c not in documented]
    assert not undocumented


def test_the_mart_registry_matches_the_dbt_project(db_url: str) -> None:
    """src/opsmart/marts.py, which every command reads, says what models/marts/ says."""
    from opsmart import marts

    dbt_ok(db_url, "parse", artifacts=True)
    manifest = json.loads((target_dir(db_url) / "manifest.json").read_text())
    declared = {
        (
            n["name"],
            n["config"]["bucket_column"],
            n["config"]["bucket_grain"],
            "organization_id" in n["columns"],
        )
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"].get("bucket_grain")
    }
    assert declared == {(m.name, m.bucket_column, m.grain, m.has_organization) for m in marts.MARTS}
    in_marts = {n["name"] for n in manifest["nodes"].values() if n["path"].startswith("marts/")}
    assert in_marts - set(marts.NAMES) == set(marts.OTHER_RELATIONS)


# Every SQL file of the repository, with the templater that reads it: the dbt
# project's (Jinja), the migrations (plain SQL), the benchmark's and the
# generator's (psycopg parameters, given values in each folder's .sqlfluff).
SQL_FOLDERS = {
    "dbt": ["models", "macros", "data-tests", "analyses"],
    "raw": ["ops_schema"],
    "placeholder": ["bench", "src/opsmart/synth/sql"],
}


@pytest.mark.parametrize("templater", list(SQL_FOLDERS))
def test_sqlfluff_is_clean_over_every_sql_file(db_url: str, templater: str) -> None:
    folders = [f for f in SQL_FOLDERS[templater] if (connection.project_dir() / f).is_dir()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlfluff",
            "lint",
            *folders,
            "--templater",
            templater,
            "--nofail",
            "--format",
            "json",
        ],
        cwd=connection.project_dir(),
        env=build.dbt_env(db_url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    files = json.loads(result.stdout)
    violations = [
        f"{f['filepath']}:{v['start_line_no']} {v['code']} {v['description']}"
        for f in files
        for v in f["violations"]
    ]
    assert files, "sqlfluff linted nothing"
    linted = {folder for f in files for folder in folders if Path(f["filepath"]).is_relative_to(folder)}
    assert linted == set(folders)
    assert not violations, "\n".join(violations)
