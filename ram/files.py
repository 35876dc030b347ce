"""Output files written whole or not at all, and never through a link.

Each file goes to a temporary name in its own folder and is renamed over the target, so a
reader never sees half a chart, a crash leaves the old file, and a symlink (or hard link) at the
target is replaced instead of written through to wherever it points.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ram.errors import BadInput, OutputError

if TYPE_CHECKING:
    import pandas as pd


def _check_target(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        raise BadInput(f"cannot write {path}: a folder of that name is in the way; remove it")


def _problem(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        remedy = "free some space or write elsewhere (--out)"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        remedy = "the folder cannot be written: write elsewhere (--out)"
    else:
        remedy = "check the folder, its permissions and free space"
    return f"could not write {path}: {reason}; nothing there was replaced: {remedy}"


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix); renamed over ``path`` if the body ends.

    An OS error on the way (a full or read-only disk) is an ``OutputError`` naming ``path``."""
    path = Path(path)
    _check_target(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    except OSError as exc:
        raise OutputError(_problem(path, exc)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(_problem(path, exc)) from None
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
