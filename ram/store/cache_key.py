"""The key of the caches kept beside a database (``ram.score_cache``, ``models_cache``).

It covers the database files (identity, size and times of the file and its WAL: any write
changes them), the config sections that shape resolution and scores (``tracking``, ``sizes``,
``ram``), the bundled catalog, the code of the package and the cache's format, so a change to any
of them sends a command back to the full computation.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ram import __version__
from ram.store.top_cache import file_stamp

if TYPE_CHECKING:
    from ram.config import Config

_PACKAGE = Path(__file__).resolve().parent.parent


@functools.cache
def _catalog_digest() -> str:
    digest = hashlib.sha256()
    for folder in (_PACKAGE / "data" / "tracked-models", _PACKAGE / "data" / "curated"):
        for file in sorted(folder.iterdir()):
            digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _code_stamp() -> str:
    # Any module of the package may shape the numbers (metric, catalog, store, ...): an edit
    # to one, in any sub-package, must not serve results of the old code.
    stamps = []
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d != "data")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                rel = os.path.relpath(os.path.join(folder, name), _PACKAGE)
                stamps.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(stamps)


def stamp(cfg: Config, db: Path, version: int) -> str | None:
    """Fingerprint of everything a cache of ``db`` depends on, for a cache format ``version``;
    None when ``db`` is missing.

    Take it before reading the database: a write that lands during the read then leaves the
    cache keyed to the older state, where it is never used.
    """
    try:
        files = file_stamp(db)
        wal = Path(str(db) + ".wal")
        files += " wal " + (file_stamp(wal) if wal.exists() else "absent")
        catalog = _catalog_digest()
        code = _code_stamp()
    except OSError:
        return None
    settings = cfg.model_dump(mode="json", include={"tracking", "sizes", "ram"})
    text = json.dumps(
        [version, __version__, files, settings, catalog, code],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()
