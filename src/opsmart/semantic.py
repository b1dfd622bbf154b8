"""``opsmart mf ...``: MetricFlow's own command line over the marts, as an analyst.

The semantic layer lives in the dbt project (models/semantic/); MetricFlow reads
it from ``target/semantic_manifest.json``, which every dbt parse or build writes,
and queries through the dbt profile. ``opsmart mf`` only sets the stage: the
semantic manifest parsed when the project changed since, the profile, and the
connection as a login of opsmart_analyst (``OPSMART_ANALYST_URL``; on the
embedded server its own reader login; else ``OPSMART_DATABASE_URL``), then runs
``mf`` with the arguments as given. Plain ``mf`` works the same with the
README's environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from opsmart import build, connection, interrupts, logins
from opsmart.errors import UserError

MANIFEST = Path("target") / "semantic_manifest.json"


def analyst_url() -> str:
    """The URL analysts' tools connect with (see the module docstring)."""
    if os.environ.get(connection.ANALYST_URL_ENV):
        return connection.checked_url(connection.ANALYST_URL_ENV)
    url = connection.database_url()
    if connection.is_external():
        return url
    from opsmart import localdb

    password_file = localdb.server().pgdata.with_name("reader.password")
    return logins.ensure_login(url, logins.READER, logins.ANALYST, password_file)


def _project_changed_since(stamp: float) -> bool:
    project = connection.project_dir()
    paths = [project / "dbt_project.yml"]
    for folder in ("models", "seeds"):
        paths += (project / folder).rglob("*")
    return any(p.is_file() and p.stat().st_mtime > stamp for p in paths)


def _parsed_for(manifest: Path) -> tuple[str, str] | None:
    """The (database, schema) the manifest's relations name; MetricFlow queries exactly those."""
    try:
        models = json.loads(manifest.read_text())["semantic_models"]
        relation = models[0]["node_relation"]
        return relation["database"], relation["schema_name"]
    except (OSError, ValueError, KeyError, IndexError):
        return None


@contextlib.contextmanager
def _target_held() -> Iterator[None]:
    """The project's target/ to ourselves (the lock opsmart's dbt runs take): a build started
    meanwhile writes to a private folder, not over the manifest MetricFlow is reading."""
    target = connection.project_dir() / MANIFEST.parent
    target.mkdir(exist_ok=True)
    with (target / ".opsmart.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_manifest(url: str) -> Path:
    """target/semantic_manifest.json, parsed again when stale; call it holding ``_target_held``.

    Stale: the project changed since it was written, or it names another
    database or mart schema (it holds fully qualified relation names).
    """
    manifest = connection.project_dir() / MANIFEST
    wanted = (conninfo_to_dict(url).get("dbname") or "", connection.mart_schema())
    if (
        not manifest.is_file()
        or _project_changed_since(manifest.stat().st_mtime)
        or _parsed_for(manifest) != wanted
    ):
        # the project's own target/: MetricFlow reads nothing else
        result = build.dbt(["parse", "--quiet"], url, capture=True, target_path=manifest.parent)
        if result.returncode != 0 or not manifest.is_file():
            detail = (result.stdout + result.stderr).strip().splitlines()
            raise UserError(f"dbt parse failed: {detail[-1] if detail else 'no output'}")
    return manifest


def mf_executable() -> str:
    here = Path(sys.executable).with_name("mf")
    found = str(here) if here.is_file() else shutil.which("mf")
    if not found:
        raise UserError("MetricFlow is not installed: pip install 'dbt-metricflow>=0.15,<0.16'")
    return found


def run(args: list[str]) -> int:
    """Run ``mf ARGS`` against the marts as an analyst; returns mf's exit code."""
    url = analyst_url()
    executable = mf_executable()
    env = build.dbt_env(url)
    env["DBT_PROJECT_DIR"] = str(connection.project_dir())
    # held until mf is done: a build in target/ meanwhile would rewrite the manifest
    # with its own database's relation names
    with _target_held():
        ensure_manifest(url)
        result = interrupts.run([executable, *args], cwd=connection.project_dir(), env=env, capture=False)
    return result.returncode
