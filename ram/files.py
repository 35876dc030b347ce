"""Output files written whole or not at all, and never through a link.

Each file goes to a temporary name in its own folder and is renamed over the target, so a
reader never sees half a chart, a crash leaves the old file, and a symlink (or hard link) at the
target is replaced instead of written through to wherever it points.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ram.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd


def _check_target(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        raise BadInput(f"cannot write {path}: a folder of that name is in the way; remove it")


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix); renamed over ``path`` if the body ends."""
    path = Path(path)
    _check_target(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text, "utf-8")
    return Path(path)


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """``frame`` as CSV without its index, atomically."""
    with replacing(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)
