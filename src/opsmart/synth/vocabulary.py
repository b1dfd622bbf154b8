"""The words the generator draws from (``vocabulary.yaml``), as statement parameters."""

from __future__ import annotations

import functools
from decimal import Decimal
from importlib import resources
from typing import Any

import yaml

# A row's children (judge scores, node results, workflow nodes, evaluation metrics) are
# keyed row * CHILD_KEYS + n, so no row has more kinds of child than this.
CHILD_KEYS = 4
_PER_ROW = ("run_metrics", "analysis_nodes", "judge_criteria", "workflow_nodes", "evaluation_metrics")


@functools.cache
def vocabulary() -> dict[str, Any]:
    """``vocabulary.yaml``: lists of words, and mappings of a word to its number or node."""
    text = resources.files(__package__).joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    words: dict[str, Any] = yaml.safe_load(text)
    for name in _PER_ROW:
        if len(words[name]) > CHILD_KEYS:
            raise ValueError(
                f"vocabulary {name}: at most {CHILD_KEYS} (children are keyed row * {CHILD_KEYS} + n)"
            )
    return words


def parameters() -> dict[str, Any]:
    """Every word list as a parameter; each mapping as its keys and, matched by name, its values."""
    words = vocabulary()
    params = {name: value for name, value in words.items() if isinstance(value, list)}
    params.update(
        query_names=list(words["queries"]),
        query_base_ms=list(words["queries"].values()),
        query_count=len(words["queries"]),
        providers=list(words["providers"]),
        provider_shares=list(words["providers"].values()),
        judge_criteria=list(words["judge_criteria"]),
        judge_weights=[Decimal(str(weight)) for weight in words["judge_criteria"].values()],
        criteria=len(words["judge_criteria"]),
        evaluation_metrics=list(words["evaluation_metrics"]),
        evaluation_nodes=list(words["evaluation_metrics"].values()),
        child_keys=CHILD_KEYS,
    )
    return params
