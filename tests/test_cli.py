"""Bad command lines: one line on stderr, non-zero exit, never a traceback."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["generate", "--days", "0"], "'0' must be greater than zero"),
        (["generate", "--days", "x"], "'x' is not a whole number"),
        (["generate", "--fraction", "2"], "'2' must be in (0, 1]"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: COMMAND"),
        (["db", "sideways"], "invalid choice: 'sideways'"),
        (["check", "--verbose"], "unrecognized arguments: --verbose"),
    ],
    ids=[
        "days-zero",
        "days-not-a-number",
        "fraction-out-of-range",
        "unknown-command",
        "no-command",
        "bad-db-action",
        "unknown-option",
    ],
)
def test_bad_arguments_give_one_line(cli, args: list[str], fragment: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("opsmart")
    assert fragment in lines[0]
