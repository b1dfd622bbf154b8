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
"""

from __future__ import annotations

import sys

THEN = "--then"


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
