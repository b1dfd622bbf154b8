"""Writers committing all along while builds repeat: every build passes, no row lost, marts exact afterwards.

A platform that never stops writing commits rows while a build and its data
tests run; the reconciliation tests must skip exactly what the build has not
seen. The builds here are what a scheduler runs: `opsmart build` and plain
`dbt build`, models and data tests both.

Each writer starts RATE transactions a second (a commit every 2 ms of the two together, some
9,000 while each build runs), not as many as it can: at full speed the writers and their
backends took more of the machine's CPU than the builds they ran beside (141 CPU-s for one
run of this test alone, 50,000 transactions), with no more to check. `opsmart load` itself,
which measures the writers' throughput, runs them at full speed (test_deployments).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from support.platform import dbt_process, run_cli

from opsmart import load

pytestmark = pytest.mark.every_server

SECONDS = float(os.environ.get("OPSMART_LOAD_SECONDS", "3"))
RATE = float(os.environ.get("OPSMART_LOAD_RATE", "250"))


def test_builds_with_their_tests_pass_while_writers_commit_and_marts_end_exact(
    loaded_url: str, tmp_path: Path
) -> None:
    url = loaded_url
    outputs: list[str] = []
    kinds = itertools.cycle(["opsmart build", "dbt build"])

    def build_once() -> bool:
        # alternately the CLI (build + source freshness) and plain dbt build
        if next(kinds) == "opsmart build":
            result = run_cli(url, "build")
            outputs.append(result.stdout[-3000:] + result.stderr[-1000:])
        else:  # the dbt executable itself
            plain = dbt_process(url, "build", target=tmp_path / "plain-dbt")
            out, _ = plain.communicate(timeout=600)
            outputs.append(out[-3000:])
            return plain.returncode == 0
        return result.returncode == 0

    # both kinds of build run from start to end while the writers commit
    report = load.measure(url, seconds=SECONDS, writers=2, build_once=build_once, min_builds=2, rate=RATE)
    print("\n" + report.summary())
    quiet, busy = report.phases
    assert quiet.transactions > 100 and busy.transactions > 100
    assert quiet.errors == 0 and busy.errors == 0
    assert busy.builds >= 2 and busy.build_failures == 0, outputs
    assert report.final_build_ok
    assert report.events_found == report.events_expected
    assert not report.differing_marts, report.differing_marts
