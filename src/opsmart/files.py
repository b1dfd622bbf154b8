"""Files and folders opsmart writes: checked before the work starts, files written whole or not at all."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from opsmart.errors import UserError


def can_write(folder: Path) -> bool:
    """Whether a file can be created in ``folder``: tried, not read off mode bits (root, read-only mounts)."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".opsmart-probe-"):
            return True
    except OSError:
        return False


def check_output(path: str | Path, what: str, *, make_folders: bool = False) -> Path:
    """``path`` when the ``what`` can be written there; a one-line error otherwise.

    With ``make_folders`` missing folders on the way are fine (the writer makes
    them); without, the folder must exist.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder: give a file name for the {what}")
    folder = path.parent
    if not make_folders and not folder.exists():
        raise UserError(f"{folder} does not exist: cannot write the {what} there")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder: cannot write the {what} {path}")
    if not can_write(folder):
        raise UserError(f"{folder} is not writable: cannot write the {what} {path}")
    return path


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """Yields ``FILE.partial`` to write; it becomes ``path`` when the block ends, and goes on any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
