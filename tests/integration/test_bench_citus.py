"""The bench's scenarios on a real Citus cluster (a coordinator and two workers), at tiny scale.

What ``opsmart bench --cluster`` and ``--side-by-side`` run there: every change of the
bench applied through the coordinator (new rows, updates, a purge, the fixed-size
changes), an incremental build after each, and every mart equal to its
hand-written baseline after the full refresh and after all the changes. Each dbt
run records the CPU seconds of every node and the claim's time on the coordinator,
which the scaling model reads. The single-server side of the bench is
test_bench.py; rendering and the model are tested in tests/unit/test_bench_units.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from opsmart.bench import cluster_report, runner, scenarios


@pytest.fixture(scope="module")
def cluster_run(citus_cluster: Any) -> dict[str, Any]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    return runner.measure(
        "tiny", database=name, progress=False, extras=False, keep=False, cluster=citus_cluster.cluster
    )


def test_every_scenario_runs_on_the_cluster_and_the_marts_stay_exact(cluster_run: dict[str, Any]) -> None:
    full = cluster_run["full_refresh"]["marts"]
    assert {m: v["baseline_note"] for m, v in full.items() if not v["baseline_counted"]} == {}
    assert all(v["rows"] > 0 for v in full.values())
    assert cluster_run["exact_after_incrementals"] == dict.fromkeys(runner.MARTS, True)

    incremental = cluster_run["incremental"]
    assert list(incremental) == list(scenarios.TITLES)
    for key in ("new_rows_1pct", "fixed_new_rows"):
        assert incremental[key]["change"]["rows"]["ops.event"] > 0, key
        assert incremental[key]["change"]["rows"]["ops.analysis_metric"] > 0, key
    assert incremental["new_rows_1pct"]["change"]["late_events"] > 0
    for key in ("update_runs_1pct", "update_runs_scattered_1pct", "fixed_updates"):
        assert incremental[key]["change"]["rows"]["ops.analysis_run"] > 0, key
    assert incremental["fixed_updates"]["change"]["rows"]["ops.judge_score"] > 0
    purged = incremental["purge_user"]["change"]
    assert purged["removed"]["events"] == purged["events"] > 0
    assert "build_with_tests" not in cluster_run and "queries" not in cluster_run

    described = cluster_run["cluster"]
    assert described["workers"] == 2 and set(described["placements"]) == {"worker-1", "worker-2"}
    assert described["marts"]["mart.feature_daily"] == "h"


def test_every_build_says_what_ran_on_the_coordinator_and_on_each_worker(cluster_run: dict[str, Any]) -> None:
    full = cluster_run["full_refresh"]["spent_s"]
    assert set(full) == {"coordinator", "worker-1", "worker-2", "dbt", "claim"}
    # the full refresh aggregates on the workers: both do work
    assert full["worker-1"] > 0 and full["worker-2"] > 0 and full["dbt"] > 0
    for key, inc in cluster_run["incremental"].items():
        # every incremental build asks every worker for its changes first
        assert inc["spent_s"]["claim"] > 0, key
    doc = {"single": cluster_run, "cluster": cluster_run}
    part = cluster_report.parts(doc)["full refresh"]
    # the workers' CPU is the no-change run's floor on each plus what grows with the change
    assert part["workers"] + 2 * part["worker_floor"] == pytest.approx(full["worker-1"] + full["worker-2"])
    assert part["imbalance"] >= 1.0
