"""The top cache file beside a database: a Parquet file of score rows with its key in metadata.

Every SQL statement on the file is here: the leaderboard query, its tallies, the metadata read,
and the atomic write.  What the rows mean and when the file is valid is ``ram.score_cache``'s.
Imports no pandas, so ``ram top`` from the cache starts fast.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ram import duck

if TYPE_CHECKING:
    import pandas as pd

SUFFIX = ".top-cache.parquet"
COLUMNS = (
    "rank", "model_id", "size_class", "release_date", "day", "cumulative_downloads", "baseline",
    "ram", "n_models", "in_pool", "thin", "flags",
)  # fmt: skip
# ``ram scores`` rows: ram.api.SCORE_CSV_COLUMNS (this module imports no pandas, so not api).
SCORE_COLUMNS = COLUMNS[1:]
META_KEY = "ram_top_cache"
LEFTOVER_SECONDS = 600  # a temporary file this old belongs to a write that died
# A failed read of any kind means "no cache": the full computation answers instead.
READ_ERRORS = (OSError, duckdb.Error, ValueError, KeyError, TypeError)

Tallies = list[tuple[Any, ...]]  # (size_class, kept, thin left out, untracked left out)


def cache_path(db: Path) -> Path:
    """Where the cache of ``db`` lives: beside it, so it moves and disappears with it."""
    return db.with_name(db.name + SUFFIX)


def file_stamp(path: Path) -> str:
    """Identity and version of a file: inode, size and times (changes with every write)."""
    st = os.stat(path)
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _read_meta(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any] | None:
    rows = con.execute(
        "SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = ?",
        [str(path), META_KEY],
    ).fetchall()
    if len(rows) != 1:
        return None
    meta = json.loads(rows[0][0])
    return meta if isinstance(meta, dict) else None


def read_meta(path: Path) -> dict[str, Any] | None:
    """The metadata of the cache file at ``path``; None when it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        with duck.memory() as con:
            return _read_meta(con, path)
    except READ_ERRORS:
        return None


_TOP_SQL = """
SELECT rank, model_id, size_class, release_date, day, cumulative_downloads, baseline, ram,
    n_models, in_pool, thin, flags
FROM (
    SELECT *, row_number() OVER (PARTITION BY size_class ORDER BY ram DESC, model_id) AS rank
    FROM read_parquet(?)
    WHERE is_latest = ? {where} AND ({keep})
)
WHERE rank <= ?
ORDER BY list_position(?::VARCHAR[], size_class), rank
"""
_COUNT_SQL = """
SELECT size_class, count(*) FILTER (WHERE {keep}),
    count(*) FILTER (WHERE NOT ({keep}) AND in_pool AND thin),
    count(*) FILTER (WHERE NOT ({keep}) AND NOT in_pool)
FROM read_parquet(?)
WHERE is_latest = ? {where}
GROUP BY size_class
"""


def _keep_sql(include_thin: bool, include_all: bool) -> str:
    """``metric.leaderboard.Scope.keeps`` as SQL over the cached ``in_pool`` and ``thin``."""
    if include_all:
        return "TRUE"
    return "in_pool" if include_thin else "in_pool AND NOT thin"


def query(
    path: Path,
    key: str,
    day: int | None,
    size_class: str | None,
    limit: int,
    *,
    include_thin: bool = False,
    include_all: bool = False,
) -> tuple[dict[str, Any], list[tuple[Any, ...]], Tallies] | None:
    """The leaderboard rows (best first, ``limit`` per class) at ``day`` (None: latest) and the
    per-class tallies; None when the file is not the one keyed ``key`` or changed meanwhile."""
    before = file_stamp(path)
    with duck.memory() as con:
        meta = _read_meta(con, path)
        if meta is None or meta["key"] != key:
            return None
        labels = [str(label) for label in meta["size_classes"]]
        if day is not None and day not in meta.get("days", []):
            return None  # not a milestone: the cache does not hold it
        where, params = "", list[object]()
        if day is not None:
            where += " AND day = ?"
            params.append(day)
        if size_class is not None:
            where += " AND size_class = ?"
            params.append(size_class)
        keep = _keep_sql(include_thin, include_all)
        rows = con.execute(
            _TOP_SQL.format(where=where, keep=keep),
            [str(path), day is None, *params, limit, labels],
        ).fetchall()
        tallies = con.execute(
            _COUNT_SQL.format(where=where, keep=keep), [str(path), day is None, *params]
        ).fetchall()
    # A cache replaced while it was read may mix two states: ignore it this time.
    if file_stamp(path) != before:
        return None
    return meta, rows, tallies


def milestone_rows(path: Path, key: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | None:
    """Every cached milestone row in ``ram scores`` order, and the metadata; None when the
    file is not the one keyed ``key`` or changed meanwhile."""
    before = file_stamp(path)
    with duck.memory() as con:
        meta = _read_meta(con, path)
        if meta is None or meta["key"] != key:
            return None
        rows = con.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM read_parquet(?) WHERE NOT is_latest "
            "ORDER BY seq",
            [str(path)],
        ).fetchall()
    if file_stamp(path) != before:
        return None
    return meta, rows


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def drop_leftovers(path: Path) -> None:
    """Remove temporary files of earlier writes that were killed before their rename."""
    stale = time.time() - LEFTOVER_SECONDS
    for leftover in path.parent.glob(glob.escape(path.name) + ".*.tmp"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < stale:
                leftover.unlink()


def write(rows: pd.DataFrame, meta: dict[str, Any], path: Path, mode: int) -> None:
    """Replace the file at ``path`` atomically with ``rows`` (score rows plus ``is_latest``)
    and ``meta``, readable with ``mode``; a failed write leaves the old file."""
    drop_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # Readable by whoever may read the database (mkstemp makes owner-only files).
        os.chmod(tmp, mode & 0o666)
        with duck.memory() as con:
            con.register("_rows", rows)
            # Sorted by day so that a query for one day skips most of the file.
            con.execute(
                f"""COPY (
                    SELECT is_latest, model_id, size_class,
                        CAST(release_date AS DATE) AS release_date, day,
                        cumulative_downloads, baseline, ram, n_models, in_pool, thin,
                        CAST(flags AS VARCHAR) AS flags, seq
                    FROM _rows
                    ORDER BY is_latest, day, size_class, model_id
                ) TO {_sql_text(tmp)} (FORMAT parquet, ROW_GROUP_SIZE 16384,
                    KV_METADATA {{{META_KEY}: {_sql_text(json.dumps(meta))}}})"""
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
