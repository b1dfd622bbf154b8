"""CONTRIBUTING.md's recipes name files, tests and functions that exist.

The recipes are only useful while they point at the real places; these checks
fail when a file they name moves, a test they rely on is renamed, or a macro or
SQL function they tell you to call is gone.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "CONTRIBUTING.md").read_text()
CODE_SPANS = re.findall(r"`([^`\n]+)`", TEXT)


def _is_path(span: str) -> bool:
    return "/" in span and " " not in span and "(" not in span and not span.startswith("%")


def test_every_path_it_names_exists() -> None:
    paths = [span for span in CODE_SPANS if _is_path(span)]
    assert len(paths) > 15
    missing = []
    for span in paths:
        if "<" in span:  # a pattern: its folder must exist and hold a file of that shape
            folder = REPO / span.rsplit("/", 1)[0].split("<", 1)[0]
            pattern = re.sub(r"<[^>]+>", "*", span.rsplit("/", 1)[1]).replace("NNN", "[0-9]" * 3)
            if not (folder.is_dir() and any(folder.glob(pattern))):
                missing.append(span)
        elif not (REPO / span).exists():
            missing.append(span)
    assert missing == []


def test_every_test_it_relies_on_exists() -> None:
    names = {span for span in CODE_SPANS if re.fullmatch(r"test_[a-z0-9_]+", span)}
    assert names
    defined = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        defined |= set(re.findall(r"^def (test_[a-z0-9_]+)", path.read_text(), flags=re.M))
    assert names - defined == set()


def test_every_macro_and_function_it_calls_exists() -> None:
    calls = {m for span in CODE_SPANS for m in re.findall(r"([a-z_.]+)\(", span)} - {"ref"}
    assert {"opsmart_changed_rows", "ops.track_mart_source"} <= calls
    macros = "\n".join(p.read_text() for p in (REPO / "macros").rglob("*.sql"))
    schema = "\n".join(p.read_text() for p in (REPO / "ops_schema").rglob("*.sql"))
    for call in calls:
        if call.startswith("ops."):
            assert f"function {call}(" in schema, call
        else:
            assert f"macro {call}(" in macros, call
