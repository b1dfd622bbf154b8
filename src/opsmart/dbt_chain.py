"""dbt commands one after another in one process.

``python -m opsmart.dbt_chain STATUS_FILE CMD --then CMD ...``

``opsmart build`` runs ``dbt build`` and then ``dbt source freshness``. As two ``dbt``
processes, the second paid Python's and dbt's start-up again (about 2.5 s, a sixth of a
build of tiny data). Here each command runs through dbt's own click command in turn,
as the ``dbt`` executable runs it, and the chain stops at the first that fails, with
the exit status ``dbt`` would have given it: 0 success, 1 a node failed, 2 dbt failed.
Each command's status is written to STATUS_FILE as it ends, one line each, so that the
caller knows which command the chain stopped at.

Signals are the parent's business (``opsmart.interrupts``): it stops this process as it
stops a ``dbt`` one.

Every dbt process opsmart starts is this one (``build.dbt`` runs a chain of one command),
so that it also runs with Python's cycle collector tuned for dbt (``tune_collector``) and
without dbt-common's walk of the whole stack per behaviour flag (``spare_the_stack_walk``).
"""

from __future__ import annotations

import gc
import os
import sys

THEN = "--then"
# Collect the youngest generation every 50,000 new container objects, not CPython's 700.
YOUNGEST_THRESHOLD = 50_000


def command(status_file: str | os.PathLike[str] = os.devnull) -> list[str]:
    """The chain's executable and status file; the dbt commands follow."""
    return [sys.executable, "-m", "opsmart.dbt_chain", str(status_file)]


def tune_collector() -> None:
    """Run Python's cycle collector far less often than by default, as dbt's work wants.

    dbt allocates container objects by the million (a Jinja context per node, events,
    agate tables) and keeps a few hundred thousand alive (the manifest). With CPython's
    threshold of 700 the collector ran about 1,260 times in one ``dbt build`` of the demo
    data, for 0.74-0.94 s of the process's 9-11 s of CPU, mostly walking the same live
    objects again; at 50,000 it runs 17 times, for 0.45-0.63 s. mypy raises the threshold
    for the same reason (``gc.set_threshold`` in mypy/build.py).
    """
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_THRESHOLD, older, oldest)


def _flag_source() -> str:
    """The module that declared a behaviour flag: the first caller outside dbt_common's module."""
    from dbt_common import behavior_flags

    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name and name != behavior_flags.__name__ and not frame.f_code.co_filename.startswith("<"):
            return name
        frame = frame.f_back
    return "Unknown"


def spare_the_stack_walk() -> None:
    """Name behaviour flags' sources from the calling frames' module names, not ``inspect.stack()``.

    Every dbt command registers its adapter, and dbt-adapters declares its behaviour flags
    without a ``source``; dbt-common then names one by ``inspect.stack()``, which reads the
    source lines of every frame on the stack and, for each, scans all of ``sys.modules``
    (``inspect.getmodule``), for each flag. The more a process has imported, the more it costs:
    in a pytest worker with Dagster loaded, a data-test case (two dbt commands) took 1.6-2.1 s
    with it and 0.6-0.8 s without; about 0.1 s in a dbt process. The name is the same
    (``dbt.adapters.base.impl``, the flags' first caller outside dbt-common); it only appears
    in dbt's message about a flag left off. dbt-common offers no setting for this, hence the
    replaced static method.
    """
    try:
        from dbt_common import behavior_flags
    except ImportError:  # a dbt-common without behaviour flags: nothing to spare
        return
    behavior_flags.BehaviorFlagRendered._default_source = staticmethod(_flag_source)  # type: ignore[method-assign]


def commands(argv: list[str]) -> list[list[str]]:
    """``argv`` split at each ``--then``; an empty command is refused."""
    chain: list[list[str]] = [[]]
    for arg in argv:
        if arg == THEN:
            chain.append([])
        else:
            chain[-1].append(arg)
    if any(not command for command in chain):
        raise ValueError(f"an empty dbt command in {argv!r}")
    return chain


def run_one(args: list[str]) -> int:
    """One dbt command, as the ``dbt`` executable runs it; its exit status."""
    import click
    from dbt.cli.main import cli

    try:
        cli.main(args=args, prog_name="dbt", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:  # dbt's ResultExit (1) and ExceptionExit (2), usage errors
        exc.show()
        return exc.exit_code
    return 0


def main(argv: list[str]) -> int:
    tune_collector()
    spare_the_stack_walk()
    status_file, *rest = argv
    with open(status_file, "w") as statuses:
        for args in commands(rest):
            status = run_one(args)
            statuses.write(f"{status}\n")
            statuses.flush()
            if status != 0:
                return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
