"""Dagster definitions: the dbt project's models, seeds and tests as assets, built like ``opsmart build``.

Needs the extra: ``pip install -e '.[orchestration]'``. Then, beside the project::

    dagster dev -m opsmart.orchestration                         # the UI and the schedule
    dagster asset materialize -m opsmart.orchestration --select '*'

Every build goes through the same doors as ``opsmart build``: the build login
(``build.build_url``: ``OPSMART_BUILD_URL``, or the embedded server's own), the
checks before dbt starts (``build.preflight``), dbt's environment with the
session limits of dbt_project.yml (``build.dbt_env``), and the vacuum of the
marts it changed. The schedule builds every minute and skips a minute while the
previous run still builds, so runs never overlap.
"""

# (no `from __future__ import annotations`: dagster reads the context's annotation at run time)
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from opsmart import build, connection

CRON = "* * * * *"
UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def project() -> tuple[DbtProject, DbtCliResource, dict[str, Any]]:
    """The dbt project, the resource that runs its dbt, and the manifest the definitions read, parsed now.

    Parsed and read under a lock of the target folder: ``dagster dev`` loads this module in
    several processes at once (as pytest-xdist's workers do when they collect the tests), and
    dbt writes manifest.json in place, so a process reading it while another parses could get
    half of it (CI did: "unexpected end of data").
    """
    dbt_project = DbtProject(
        project_dir=connection.project_dir(),
        target_path=connection.ensure_home() / "dagster" / "target",
        profiles_dir=build.profiles_dir(),
    )
    # the virtualenv's dbt, on PATH or not (dagster-dbt's own preparer looks on PATH only)
    resource = DbtCliResource(project_dir=dbt_project, dbt_executable=build._dbt_executable()[0])
    dbt_project.target_path.mkdir(parents=True, exist_ok=True)
    with (dbt_project.target_path / ".opsmart.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        resource.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
        manifest = json.loads(dbt_project.manifest_path.read_bytes())
    return dbt_project, resource, manifest


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` as ``values`` inside: dagster-dbt starts dbt with a copy of it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


PROJECT, DBT, MANIFEST = project()


@dbt_assets(manifest=MANIFEST, project=PROJECT, name="opsmart_dbt")
def opsmart_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` as the build login, after the checks ``opsmart build`` makes."""
    url = build.build_url(connection.database_url())
    build.preflight(url)
    with _environment(build.dbt_env(url)):
        invocation = dbt.cli(["build"], context=context)  # dbt starts here, with that environment
    yield from invocation.stream()
    build.vacuum_marts(url)


build_job = define_asset_job("opsmart_build", selection=AssetSelection.assets(opsmart_dbt))


@schedule(job=build_job, cron_schedule=CRON, execution_timezone="UTC")
def opsmart_every_minute(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """A build every minute, none while the last one still runs."""
    running = context.instance.get_runs(
        filters=RunsFilter(job_name=build_job.name, statuses=UNFINISHED), limit=1
    )
    if running:
        return SkipReason(f"run {running[0].run_id} is still building")
    return RunRequest()


defs = Definitions(
    assets=[opsmart_dbt],
    jobs=[build_job],
    schedules=[opsmart_every_minute],
    resources={"dbt": DBT},
)
