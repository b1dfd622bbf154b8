"""The generator's pure parts, without a server: salts, scale bounds, vocabulary, its SQL files."""

from __future__ import annotations

import argparse
import re
from importlib import resources
from pathlib import Path

import pytest

from opsmart.errors import UserError
from opsmart.synth import generate, mutate, salts, vocabulary
from opsmart.synth.scale import PRESETS, SEED_LIMIT, Scale, check_seed

SQL = Path(str(resources.files("opsmart.synth").joinpath("sql")))
TOKENS = re.compile(r"pg_temp\.(\w+)\(|(\()|(\))|'((?:[^']|'')*)'")


def _salt_uses() -> list[tuple[str, str, str]]:
    """(file, helper, salt name) for each draw in the SQL files: a quoted name directly
    inside a call of one of the helpers that take a salt name."""
    uses = []
    for path in sorted(SQL.rglob("*.sql")):
        calls: list[str | None] = []
        text = re.sub(r"--[^\n]*", "", path.read_text())
        for match in TOKENS.finditer(text):
            helper, opened, closed, literal = match.groups()
            if helper or opened:
                calls.append(helper)
            elif closed:
                calls.pop()
            elif literal is not None and calls and calls[-1] in salts.OFFSETS:
                uses.append((path.name, calls[-1], literal))
    return uses


def test_every_salt_number_is_used_by_one_draw_only() -> None:
    names = salts.salts()
    helpers: dict[str, set[str]] = {}
    for _, helper, name in _salt_uses():
        helpers.setdefault(name, set()).add(helper)
    taken: dict[int, str] = {}
    for name, salt in names.items():
        offsets = {offset for helper in helpers.get(name, ()) for offset in salts.OFFSETS[helper]}
        for number in sorted(offsets) or [salt]:
            assert salt + number not in taken, f"{name} and {taken[salt + number]} share salt {salt + number}"
            taken[salt + number] = name


def test_every_named_salt_is_used_and_every_used_name_is_defined() -> None:
    defined = set(salts.salts())
    used = {name for _, _, name in _salt_uses()}
    assert used - defined == set(), "draws without a salt"
    assert defined - used == set(), "salts no draw uses"
    assert len(used) > 150


def test_salt_names_read_group_dot_draw() -> None:
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", name) for name in salts.salts())


@pytest.mark.parametrize("knob", Scale.KNOBS)
def test_scale_bounds_are_one_line_errors(knob: str) -> None:
    most, why = Scale.LIMITS[knob]
    Scale(**{knob: most})
    for bad, words in ((0, "greater than zero"), (-1, "greater than zero"), (most + 1, re.escape(why))):
        with pytest.raises(UserError, match=words) as exc:
            Scale(**{knob: bad})
        assert "\n" not in str(exc.value)


def test_presets_and_arguments_make_scales() -> None:
    assert Scale.preset("demo") == Scale()
    assert [PRESETS[name].events_per_day * PRESETS[name].days for name in ("S", "M")] == [
        1_000_080,
        10_000_080,
    ]
    with pytest.raises(UserError, match="unknown scale 'XL'"):
        Scale.preset("XL")
    namespace = argparse.Namespace(**PRESETS["S"].knobs())
    assert Scale.from_args(namespace) == PRESETS["S"]


def test_seed_bounds() -> None:
    check_seed(SEED_LIMIT)
    check_seed(-SEED_LIMIT)
    with pytest.raises(UserError, match="seed must be between"):
        check_seed(SEED_LIMIT + 1)


def test_query_durations_are_matched_to_query_names_by_name() -> None:
    words = vocabulary.vocabulary()
    params = vocabulary.parameters()
    pairs = dict(zip(params["query_names"], params["query_base_ms"], strict=True))
    assert pairs == words["queries"]
    assert pairs["health_probe"] < 1 < pairs["usage_export"] / 100
    assert params["query_count"] == len(words["queries"]) == len(set(words["queries"]))
    assert all(ms > 0 for ms in pairs.values())


def test_vocabulary_fits_the_generator() -> None:
    words = vocabulary.vocabulary()
    params = vocabulary.parameters()
    for name in ("run_metrics", "analysis_nodes", "judge_criteria", "workflow_nodes", "evaluation_metrics"):
        assert 0 < len(words[name]) <= vocabulary.CHILD_KEYS, name
    assert params["criteria"] == len(params["judge_criteria"]) == len(params["judge_weights"])
    assert (
        dict(zip(params["evaluation_metrics"], params["evaluation_nodes"], strict=True))
        == words["evaluation_metrics"]
    )
    assert set(words["evaluation_metrics"].values()) <= set(words["workflow_nodes"])
    assert all(0 < share <= 1 for share in words["providers"].values())
    for name, items in words.items():
        assert items and len(items) == len(set(items)), name
    # the metrics pg_temp.metric_value knows
    helpers = (SQL / "helpers.sql").read_text()
    assert all(f"when '{metric}' then" in helpers for metric in words["run_metrics"])


def test_every_sql_file_is_used() -> None:
    generated = {step.query or step.table for p in generate.passes(PRESETS["S"]) for step in p.steps}
    generated |= {p.shared for p in generate.passes(PRESETS["S"]) if p.shared} | {"ops.event"}
    assert {path.stem for path in (SQL / "generate").glob("*.sql")} == generated
    source = Path(mutate.__file__).read_text()
    for path in (SQL / "mutate").glob("*.sql"):
        assert f'"{path.stem}"' in source, path.name
    # psycopg reads every % as a placeholder
    for path in SQL.rglob("*.sql"):
        assert "%" not in re.sub(r"%%|%\(\w+\)s", "", path.read_text()), path.name
