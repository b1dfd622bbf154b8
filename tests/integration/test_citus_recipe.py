"""README, "Outgrowing one machine": the recipe run as written, on a Citus cluster of its own.

Apart from test_citus.py: it needs Citus built, not the session's cluster, so it runs on
another xdist worker than the cluster's tests (tests/conftest.py, CLUSTER_MODULES).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from opsmart import postgres

REPO = Path(__file__).resolve().parents[2]
RECIPE_MARK = "<!-- recipe: outgrowing-one-machine"


def _one(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]  # type: ignore[index]


def test_the_readme_recipe_makes_a_cluster_and_builds_distributed_marts_as_the_build_login(
    citus_bindir: Path, tmp_path: Path
) -> None:
    """README, "Outgrowing one machine": the shell block, run as written, on a cluster of its own."""
    if os.environ.get("OPSMART_CITUS_URL"):
        pytest.skip("the recipe makes its own cluster with opsmart cluster up")
    text = (REPO / "README.md").read_text()
    script = re.search(r"```sh\n(.*?)```", text[text.index(RECIPE_MARK) :], re.DOTALL).group(1)  # type: ignore[union-attr]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSMART_") or k == "OPSMART_CACHE_DIR"}
    env.update(
        OPSMART_HOME=str(tmp_path / "home"),
        PATH=f"{Path(sys.executable).parent}:{postgres.embedded_bindir()}:{os.environ['PATH']}",
    )
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
        assert "health: all 9 node-to-node connections work" in done.stdout, done.stdout[-2000:]
        assert "status          healthy" in done.stdout, done.stdout[-3000:]
        url = subprocess.run(
            [sys.executable, "-m", "opsmart.cli", "cluster", "url"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # the marts live beside their sources, distributed, and hold the generated data
        assert _one(
            url,
            "select count(*) from pg_dist_partition where logicalrelid::text like 'mart.%%'"
            " and partmethod = 'h'",
        )
        assert _one(url, "select count(*) from mart.feature_daily") > 0
        # built by the build login of the recipe, not the superuser. (Not compared with a full
        # refresh: the recipe's one build is a full build; test_citus.py compares incremental
        # builds on a cluster with full refreshes.)
        assert _one(url, "select array_agg(distinct login)::text[] from ops.build_run") == ["cluster_build"]
    finally:
        subprocess.run(
            [sys.executable, "-m", "opsmart.cli", "cluster", "down", "--remove"],
            cwd=REPO,
            env=env,
            capture_output=True,
            check=False,
        )
