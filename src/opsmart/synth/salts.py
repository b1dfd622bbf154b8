"""The named salts of the generator's random draws (``salts.yaml``)."""

from __future__ import annotations

import functools
from importlib import resources

import yaml

# The salt numbers each helper of sql/helpers.sql hashes with, relative to a draw's salt:
# pg_temp.z takes two uniforms, pg_temp.slots three (for the time of day).
OFFSETS = {"u": (0,), "uh": (0,), "z": (0, 500), "slots": (0, 1, 2)}


@functools.cache
def salts() -> dict[str, int]:
    """``{"event.source": 403, ...}``: every draw's name (group.draw) and its salt."""
    text = resources.files(__package__).joinpath("salts.yaml").read_text(encoding="utf-8")
    groups: dict[str, dict[str, int]] = yaml.safe_load(text)
    return {f"{group}.{draw}": salt for group, draws in groups.items() for draw, salt in draws.items()}
