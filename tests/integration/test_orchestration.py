"""The Dagster definitions load, schedule one build at a time, and build as opsmart build does."""

from __future__ import annotations

import fcntl
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import psycopg
import pytest
from support import BUILDER, IN_CI, builder_url
from support.platform import dashboard_views, write_dashboard_view
from support.processes import STOP_SIGNALS

from opsmart import connection

if TYPE_CHECKING:
    import dagster

_missing = [name for name in ("dagster", "dagster_dbt") if importlib.util.find_spec(name) is None]
if _missing:  # the optional extra
    reason = f"the [orchestration] extra is not installed ({_missing[0]}): pip install -e '.[orchestration]'"
    if IN_CI:
        raise RuntimeError(f"CI installs every extra: {reason}")
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(autouse=True)
def _signal_dispositions_kept() -> Iterator[None]:
    """Each test leaves the worker's signal handlers as it found them.

    Dagster's in-process runs swap SIGINT's handler and, on the way out, give SIGTERM
    whatever SIGINT then has: in a worker started with SIGINT ignored (a background
    job), SIGTERM stayed ignored, every process the worker started afterwards
    inherited that, and test_faults' SIGTERM to dbt did nothing (a CI run here).
    """
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.fixture(scope="module")
def orchestration() -> ModuleType:
    """opsmart.orchestration, imported by the worker that runs these tests only: the import loads
    Dagster and parses the project (about 12 s of CPU), and at collection every worker paid it."""
    return importlib.import_module("opsmart.orchestration")


def test_the_definitions_load_with_every_model_and_the_schedule(orchestration: ModuleType) -> None:
    import dagster

    dagster.Definitions.validate_loadable(orchestration.defs)
    keys = {key.path[-1] for key in orchestration.opsmart_dbt.keys}
    assert {"feature_daily", "analysis_daily", "metric_timeseries", "performance_dashboard"} <= keys
    schedule = orchestration.defs.resolve_schedule_def("opsmart_every_minute")
    assert schedule.cron_schedule == "* * * * *"


def test_the_schedule_skips_while_a_build_still_runs(orchestration: ModuleType) -> None:
    import dagster

    schedule = orchestration.opsmart_every_minute
    with dagster.instance_for_test() as instance:
        context = dagster.build_schedule_context(instance=instance)
        assert isinstance(schedule(context), dagster.RunRequest)
        instance.create_run_for_job(
            orchestration.defs.resolve_job_def("opsmart_build"), status=dagster.DagsterRunStatus.STARTED
        )
        assert isinstance(schedule(context), dagster.SkipReason)


def _materialize(orchestration: ModuleType, **kwargs: object) -> dagster.ExecuteInProcessResult:
    import dagster

    return dagster.materialize([orchestration.opsmart_dbt], resources=orchestration.defs.resources, **kwargs)


def test_a_materialization_builds_as_the_build_login(
    orchestration: ModuleType, loaded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(connection.URL_ENV, loaded_url)
    monkeypatch.setenv(connection.BUILD_URL_ENV, builder_url(loaded_url))
    org, seen = write_dashboard_view(loaded_url)
    result = _materialize(orchestration)
    assert result.success
    assert dashboard_views(loaded_url, org) == seen + 1
    with psycopg.connect(loaded_url) as conn:
        login = conn.execute("select login from ops.build_run order by started_at desc limit 1").fetchone()[0]
    assert login == BUILDER


def test_it_refuses_to_build_as_a_superuser_like_opsmart_build(
    orchestration: ModuleType, loaded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(connection.URL_ENV, loaded_url)
    monkeypatch.setenv(connection.BUILD_URL_ENV, loaded_url)  # the test server's superuser
    result = _materialize(orchestration, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "builds run as a login of opsmart_transformer" in str(failure.step_failure_data.error)


def _waiting_on(path: Path) -> bool:
    """Whether some process waits for a lock of ``path`` (a "->" line of /proc/locks)."""
    inode = f":{path.stat().st_ino} "
    locks = Path("/proc/locks").read_text().splitlines()
    return any(line.split()[1] == "->" and inode in line for line in locks)


def test_a_process_loading_the_definitions_waits_for_another_ones_parse(tmp_path: Path) -> None:
    """dagster dev loads the module in several processes, and dbt writes manifest.json in place:
    one may read it only when no other is parsing (CI once collected half a manifest)."""
    target = tmp_path / "home" / "dagster" / "target"
    target.mkdir(parents=True)
    lock_path = target / ".opsmart.lock"
    half = b'{"metadata": {"dbt_schema_version": '
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a process in the middle of its parse
        (target / "manifest.json").write_bytes(half)
        count_nodes = "from opsmart import orchestration; print(len(orchestration.MANIFEST['nodes']))"
        loader = subprocess.Popen(
            [sys.executable, "-c", count_nodes],
            env={**os.environ, connection.HOME_ENV: str(tmp_path / "home")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not _waiting_on(lock_path) and loader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _waiting_on(lock_path), loader.communicate()[1][-2000:] if loader.poll() is not None else ""
        assert (target / "manifest.json").read_bytes() == half  # it parses nothing meanwhile
    out, err = loader.communicate(timeout=300)
    assert loader.returncode == 0, err[-2000:]
    assert int(out.split()[-1]) > 30  # the whole manifest: every model, seed and test
