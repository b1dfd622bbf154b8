"""opsmart.dbt_chain: dbt commands one after another in one process, with real dbt (no database)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opsmart import dbt_chain


def test_the_arguments_split_into_commands_at_each_then() -> None:
    assert dbt_chain.commands(["build", "--select", "x", "--then", "source", "freshness"]) == [
        ["build", "--select", "x"],
        ["source", "freshness"],
    ]
    with pytest.raises(ValueError, match="empty dbt command"):
        dbt_chain.commands(["build", "--then"])


def test_the_chain_stops_at_the_first_failure_with_its_status(tmp_path: Path) -> None:
    statuses = tmp_path / "statuses"
    chain = ["--version", "--then", "build", "--no-such-flag", "--then", "--version"]
    status = dbt_chain.main([str(statuses), *chain])
    assert status == 2  # what dbt exits with on a bad option
    assert statuses.read_text().split() == ["0", "2"]  # the third command never ran


def test_a_chain_that_passes_exits_zero(tmp_path: Path) -> None:
    statuses = tmp_path / "statuses"
    assert dbt_chain.main([str(statuses), "--version", "--then", "--version"]) == 0
    assert statuses.read_text().split() == ["0", "0"]


def test_the_chain_runs_dbt_with_the_collector_tuned(tmp_path: Path) -> None:
    # a fresh interpreter, as build.dbt starts it: CPython's default threshold until main() runs
    probe = (
        "import gc, sys\n"
        "from opsmart import dbt_chain\n"
        "assert gc.get_threshold()[0] == 700\n"
        "dbt_chain.run_one = lambda args: print(gc.get_threshold()[0]) or 0\n"
        "sys.exit(dbt_chain.main([sys.argv[1], '--version']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "statuses")], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [str(dbt_chain.YOUNGEST_THRESHOLD)]


def test_the_chain_names_behaviour_flag_sources_as_dbt_common_does_without_walking_the_stack(
    tmp_path: Path,
) -> None:
    # a fresh interpreter: dbt-common's own naming (inspect.stack) first, then the chain's
    probe = tmp_path / "declares_a_flag.py"
    probe.write_text(
        "import inspect, sys\n"
        "from dbt_common.behavior_flags import Behavior, BehaviorFlagRendered\n"
        "from opsmart import dbt_chain\n"
        "def source():\n"
        "    flag = Behavior([{'name': 'f', 'default': False, 'description': 'd'}], {}).f\n"
        "    return flag._behavior_change_event.flag_source\n"
        "def walks_the_stack():\n"
        "    return 'inspect' in inspect.getsource(BehaviorFlagRendered._default_source)\n"
        "before = (source(), walks_the_stack())\n"
        "dbt_chain.run_one = lambda args: print(*before, source(), walks_the_stack()) or 0\n"
        "sys.exit(dbt_chain.main([sys.argv[1], '--version']))\n"
    )
    result = subprocess.run(
        [sys.executable, str(probe), str(tmp_path / "statuses")], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["__main__", "True", "__main__", "False"]
