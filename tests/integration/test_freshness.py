"""opsmart freshness: probes written under the build loop, timed into mart.feature_daily."""

from __future__ import annotations

import pytest
from support import builder_url, dbt_ok

from opsmart import connection, freshness


def test_a_probe_counts_as_visible_once_a_build_has_it(loaded_url: str) -> None:
    probe = freshness._Probe(loaded_url)
    try:
        probe.write()
        probe.write()
        ((day, base),) = probe.base.items()
        assert probe.shown().get(day, 0) == base  # written, not built yet
        dbt_ok(loaded_url, "run", "--select", "feature_daily")
        assert probe.shown()[day] == base + 2
    finally:
        probe.close()


def test_percentiles() -> None:
    result = freshness.Result(interval_s=60, minutes=10, latencies_s=[float(s) for s in range(1, 101)])
    figures = result.summary()
    assert (figures["p50_s"], figures["p95_s"], figures["max_s"], figures["probes"]) == (
        50.5,
        95.0,
        100.0,
        100,
    )


def test_a_short_measurement_under_the_loop(loaded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(connection.URL_ENV, loaded_url)
    monkeypatch.setenv(connection.BUILD_URL_ENV, builder_url(loaded_url))
    monkeypatch.setattr(freshness, "PROBE_GAP", 2.0)
    result = freshness.measure(loaded_url, minutes=0.2, every="1s")
    figures = result.summary()
    assert result.unseen == 0 and figures["probes"] >= 2
    # each probe waits for at most the build under way and the next one
    assert 0 < figures["max_s"] <= 2 * max(result.build_s) + 10
