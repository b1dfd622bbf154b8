"""Writers at full speed while incremental builds repeat: no row lost, marts exact afterwards."""

from __future__ import annotations

import os

from reliakit import load_tiny

from opsmart import load

SECONDS = float(os.environ.get("OPSMART_LOAD_SECONDS", "8"))


def test_writers_lose_nothing_and_marts_equal_a_full_refresh_after_builds_under_load(db_url: str) -> None:
    url = load_tiny(db_url)
    report = load.measure(url, seconds=SECONDS, writers=3)
    print("\n" + report.summary())
    quiet, busy = report.phases
    assert quiet.transactions > 100 and busy.transactions > 100
    assert quiet.errors == 0 and busy.errors == 0
    assert busy.builds >= 1 and busy.build_failures == 0
    assert report.final_build_ok
    assert report.events_found == report.events_expected
    assert not report.differing_marts, report.differing_marts
