"""dbt exposures (models/exposures/): each consumer depends on exactly what it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import dbt_ok, target_dir
from support.platform import login_role

from opsmart import connection
from opsmart.report import data, snapshot


@pytest.fixture(scope="module")
def manifest(server_url: str) -> dict:
    """The parsed project (dbt parse connects to no database: this one need not exist)."""
    url = connection.with_database(server_url, "exposures_parse")
    dbt_ok(url, "parse", artifacts=True)
    return json.loads((target_dir(url) / "manifest.json").read_text())


def _names(manifest: dict, unique_ids: list[str]) -> set[str]:
    return {manifest["nodes"][u]["name"] for u in unique_ids}


def _reads(manifest: dict, exposure: str) -> set[str]:
    return _names(manifest, manifest["exposures"][f"exposure.opsmart.{exposure}"]["depends_on"]["nodes"])


def test_the_query_catalog_depends_on_the_marts_its_questions_read(manifest: dict) -> None:
    analyses = [n for n in manifest["nodes"].values() if n["resource_type"] == "analysis"]
    assert len(analyses) == len(list(Path(connection.project_dir(), "analyses").glob("*.sql")))
    read = {m for a in analyses for m in _names(manifest, a["depends_on"]["nodes"])}
    assert read and _reads(manifest, "analyst_query_catalog") == read


def test_the_semantic_layer_depends_on_what_its_semantic_models_and_time_spines_read(manifest: dict) -> None:
    read = {
        n for s in manifest["semantic_models"].values() for n in _names(manifest, s["depends_on"]["nodes"])
    }
    spines = {n["name"] for n in manifest["nodes"].values() if n.get("time_spine")}
    assert read and spines
    assert _reads(manifest, "opsmart_mf") == read | spines


def test_the_schedule_keeps_every_relation_of_the_mart_schema_fresh(manifest: dict) -> None:
    in_mart_schema = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["package_name"] == "opsmart"
        and (
            n["resource_type"] == "seed" or (n["resource_type"] == "model" and not n["config"].get("schema"))
        )
    }
    assert _reads(manifest, "dagster_minute_schedule") == in_mart_schema


def test_the_report_depends_on_every_relation_it_reads_as_an_analyst(
    manifest: dict, loaded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every relation of the mart schema the report names (read, or asked whether it may read)."""
    named: set[str] = set()

    class Recording(snapshot.Marts):
        def __getattr__(self, name: str):
            named.add(name)
            return super().__getattr__(name)

        def has(self, name: str) -> bool:
            named.add(name)
            return super().has(name)

    dbt_ok(loaded_url, "seed")
    dbt_ok(loaded_url, "run", "--select", "build_history organizations")
    monkeypatch.setattr(data, "Marts", Recording)
    with login_role(loaded_url, "exposure_analyst", "opsmart_analyst") as analyst:
        snap = data.load(analyst, 30)
    assert snap.builds_from == "mart.build_history" and snap.start is not None
    assert _reads(manifest, "opsmart_report") == named
