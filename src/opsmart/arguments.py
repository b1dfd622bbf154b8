"""The command line's argument types: bounded numbers, the generator's scale, one-line usage errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn


def add_scale_args(p: argparse.ArgumentParser) -> None:
    from opsmart.synth.scale import Scale

    d = Scale()
    for name in ("organizations", "users", "days", "events_per_day", "runs_per_day"):
        most, why = Scale.LIMITS[name]
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=whole(1, most),
            default=getattr(d, name),
            help=f"default {getattr(d, name):,}; at most {most:,} ({why})",
        )


def whole(least: int, most: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [least, most]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least and least == 1:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than zero")
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"{text!r} must be between {least:,} and {most:,}")
        return value

    return parse


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be in (0, 1]")
    return value


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the full usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("opsmart").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"opsmart: {where}{message} (see `{self.prog} --help`)\n")
