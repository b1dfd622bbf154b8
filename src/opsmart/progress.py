"""The progress bar every long command shows on a terminal (and nowhere else)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


def bar(enabled: bool, *, label: str = "", width: int = 28) -> Progress:
    """A transient bar on stderr: ``label`` and the task's description, done / total, elapsed time.

    Shown only when ``enabled`` and stderr is a terminal, so logs and pipes stay clean.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    prefix = f"{label} " if label else ""
    return Progress(
        TextColumn(prefix + "{task.description:<" + str(width) + "}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )


@contextmanager
def steps(enabled: bool, total: int, *, label: str = "", width: int = 52) -> Iterator[Callable[[str], None]]:
    """A bar counting ``total`` named steps: each call of the yielded function starts the next one."""
    with bar(enabled, label=label, width=width) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def step(description: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=description)

        yield step
        progress.update(task, completed=total)
