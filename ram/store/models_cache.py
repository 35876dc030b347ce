"""The resolved models of a database, kept beside it so that a read resolves them once.

Resolving every stored model (``catalog.load_models``: size, release date, tracking, with the
observation statistics the release detection needs) costs 0.3 s at 2,000 models, and every
computing command starts with it.  A read-only command keeps the result in
``<db>.models-cache.parquet`` under its key (``ram.store.cache_key``: the database files, the
config sections that shape the resolution, the bundled catalog, the code),
so any write, config change or upgrade sends the next read back to the resolution.  Parquet with
pandas' own metadata gives the frame back with its dtypes; a frame it cannot hold, or a file
that is missing, stale or unreadable, only costs the resolution.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ram.store.cache_key import stamp

if TYPE_CHECKING:
    import pandas as pd

    from ram.config import Config


SUFFIX = ".models-cache.parquet"
META_KEY = b"ram_models_cache"
FORMAT_VERSION = 1


def key(cfg: Config, db: Path) -> str | None:
    """The key the models of ``db`` resolved with ``cfg`` are kept under (None: no cache)."""
    return stamp(cfg, db, FORMAT_VERSION)


def cache_path(db: Path) -> Path:
    """Where the models cache of ``db`` lives: beside it, as the top cache does."""
    return db.with_name(db.name + SUFFIX)


def read(db: Path, key: str | None) -> pd.DataFrame | None:
    """The cached resolved models of ``db`` when they were cached under ``key``, else None."""
    path = cache_path(db)
    if key is None or not path.exists():
        return None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        if (table.schema.metadata or {}).get(META_KEY) != key.encode():
            return None
        return table.to_pandas()
    except Exception:  # a damaged or foreign file: resolve instead
        return None


def save(db: Path, key: str | None, models: pd.DataFrame) -> bool:
    """Keep ``models`` beside ``db`` under ``key``, atomically; False when it could not be."""
    if key is None:
        return False
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ram.store.top_cache import drop_leftovers

    path = cache_path(db)
    tmp = None
    try:
        drop_leftovers(path)
        table = pa.Table.from_pandas(models, preserve_index=True)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: key})
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, os.stat(db).st_mode & 0o666)  # readable by whoever reads the database
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except Exception:  # a frame Parquet cannot hold, a read-only folder: no cache
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
    return True
