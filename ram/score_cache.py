"""A Parquet cache of the live leaderboard's inputs, so ``ram top`` answers without pandas.

Any ``api.analyse`` of the live baseline with the configured method writes
``<db>.top-cache.parquet``.  Its key covers the database files, the config sections that shape
scores, the bundled catalog and the scoring code, so a change to any of them sends ``ram top``
back to the full computation.  A cache that is missing, stale or unreadable is ignored.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ram import __version__, duck
from ram.errors import UnknownSizeClass
from ram.leaderboard import Scope, Support
from ram.leaderboard import notes as leaderboard_notes

if TYPE_CHECKING:
    from ram.api import Analysis
    from ram.config import Config

SUFFIX = ".top-cache.parquet"
FORMAT_VERSION = 3
COLUMNS = (
    "rank", "model_id", "size_class", "release_date", "day", "cumulative_downloads", "baseline",
    "ram", "n_models", "in_pool", "thin", "flags",
)  # fmt: skip
NUMERIC = frozenset({"rank", "day", "cumulative_downloads", "baseline", "ram", "n_models"})
_META_KEY = "ram_top_cache"
LEFTOVER_SECONDS = 600  # a temporary file this old belongs to a write that died
_PACKAGE = Path(__file__).resolve().parent
# A failed read of any kind means "no cache": the full computation answers instead.
_READ_ERRORS = (OSError, duckdb.Error, ValueError, KeyError, TypeError)


@dataclass(frozen=True)
class TopRows:
    """A leaderboard read from the cache: rows in ``COLUMNS`` order and the header values."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    meta: dict[str, str]
    notes: list[str]


def cache_path(db: Path) -> Path:
    """Where the cache of ``db`` lives: beside it, so it moves and disappears with it."""
    return db.with_name(db.name + SUFFIX)


def applies(cfg: Config, method: str | None, baseline: str | None, as_of: object) -> bool:
    """Whether a computation with these options is the one the cache holds."""
    return method in (None, cfg.ram.method) and not baseline and as_of is None


def _stat(path: Path) -> str:
    st = os.stat(path)
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


@functools.cache
def _catalog_digest() -> str:
    digest = hashlib.sha256()
    for folder in (_PACKAGE / "data" / "tracked-models", _PACKAGE / "data" / "curated"):
        for file in sorted(folder.iterdir()):
            digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _code_stamp() -> str:
    # Any module of the package may shape the numbers (metric, catalog, store, ...): an edit
    # to one must not serve results of the old code.
    with os.scandir(_PACKAGE) as entries:
        stamps = sorted(
            f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}"
            for e in entries
            if e.name.endswith(".py")
        )
    return ";".join(stamps)


def cache_key(cfg: Config, db: Path) -> str | None:
    """Fingerprint of everything the cached numbers depend on; None when ``db`` is missing.

    Take it before reading the database: a write that lands during the read then leaves the
    cache keyed to the older state, where it is never used.
    """
    try:
        files = _stat(db)
        wal = Path(str(db) + ".wal")
        files += " wal " + (_stat(wal) if wal.exists() else "absent")
        catalog = _catalog_digest()
        code = _code_stamp()
    except OSError:
        return None
    settings = cfg.model_dump(mode="json", include={"tracking", "sizes", "ram"})
    text = json.dumps(
        [FORMAT_VERSION, __version__, files, settings, catalog, code],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _read_meta(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any] | None:
    rows = con.execute(
        "SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = ?",
        [str(path), _META_KEY],
    ).fetchall()
    if len(rows) != 1:
        return None
    meta = json.loads(rows[0][0])
    return meta if isinstance(meta, dict) else None


def stored_key(db: Path) -> str | None:
    """The key of the cache beside ``db``, or None when there is no readable cache."""
    path = cache_path(db)
    if not path.exists():
        return None
    try:
        with duck.memory() as con:
            meta = _read_meta(con, path)
        return str(meta["key"]) if meta is not None else None
    except _READ_ERRORS:
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


def _keep_sql(scope: Scope) -> str:
    """``Scope.keeps`` as SQL over the cached ``in_pool`` and ``thin`` columns."""
    if scope.include_all:
        return "TRUE"
    return "in_pool" if scope.include_thin else "in_pool AND NOT thin"


def _query(
    path: Path, key: str, day: int | None, size_class: str | None, limit: int, scope: Scope
) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[tuple[Any, ...]]] | None:
    before = _stat(path)
    with duck.memory() as con:
        meta = _read_meta(con, path)
        if meta is None or meta["key"] != key:
            return None
        labels = [str(label) for label in meta["size_classes"]]
        where, params = "", list[object]()
        if day is not None:
            where += " AND day = ?"
            params.append(day)
        if size_class is not None:
            where += " AND size_class = ?"
            params.append(size_class)
        keep = _keep_sql(scope)
        rows = con.execute(
            _TOP_SQL.format(where=where, keep=keep),
            [str(path), day is None, *params, limit, labels],
        ).fetchall()
        tallies = con.execute(
            _COUNT_SQL.format(where=where, keep=keep), [str(path), day is None, *params]
        ).fetchall()
    # A cache replaced while it was read may mix two states: ignore it this time.
    if _stat(path) != before:
        return None
    return meta, rows, tallies


def top(
    cfg: Config,
    db: Path,
    day: int | None,
    size_class: str | None,
    limit: int,
    scope: Scope = Scope(),
) -> TopRows | None:
    """``api.top_leaderboard`` of the live analysis from the cache; None when it cannot answer."""
    key = cache_key(cfg, db)
    path = cache_path(db)
    if key is None or not path.exists():
        return None
    try:
        found = _query(path, key, day, size_class, limit, scope)
        if found is None:
            return None
        meta, rows, tallies = found
        labels = [str(label) for label in meta["size_classes"]]
        header = {name: str(meta[name]) for name in ("as_of", "baseline", "source")}
        support = Support.from_json(meta["support"])
    except _READ_ERRORS:
        return None
    if size_class is not None and size_class not in labels:
        raise UnknownSizeClass(
            f"unknown size class {size_class!r}; use one of: {', '.join(labels)}"
        )
    notes = leaderboard_notes(
        day=day,
        classes=[size_class] if size_class else labels,
        kept={str(c): int(k) for c, k, _, _ in tallies},
        thin_left_out=sum(int(t) for _, _, t, _ in tallies),
        untracked_left_out=sum(int(u) for _, _, _, u in tallies),
        support=support,
        scope=scope,
    )
    return TopRows(COLUMNS, rows, header, notes)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _drop_leftovers(path: Path) -> None:
    """Remove temporary files of earlier writes that were killed before their rename."""
    stale = time.time() - LEFTOVER_SECONDS
    for leftover in path.parent.glob(glob.escape(path.name) + ".*.tmp"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < stale:
                leftover.unlink()


def _write(an: Analysis, db: Path, key: str) -> None:
    import pandas as pd

    from ram.api import support_of
    from ram.quality import flag_scores

    result = an.result
    every_day = result.scores(range(1, result.params.max_day + 1))
    parts = [
        frame.assign(is_latest=is_latest, flags=flag_scores(frame, an.flags))
        for is_latest, frame in ((False, every_day), (True, result.latest()))
    ]
    rows = pd.concat(parts, ignore_index=True)
    meta = {
        "key": key,
        "as_of": an.as_of.isoformat(),
        "baseline": an.baseline_label,
        "source": an.source,
        "size_classes": an.size_classes,
        "support": support_of(result, an.size_classes).to_json(),
    }
    path = cache_path(db)
    _drop_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # Readable by whoever may read the database (mkstemp makes owner-only files).
        os.chmod(tmp, os.stat(db).st_mode & 0o666)
        with duck.memory() as con:
            con.register("_rows", rows)
            # Sorted by day so that a query for one day skips most of the file.
            con.execute(
                f"""COPY (
                    SELECT is_latest, model_id, size_class,
                        CAST(release_date AS DATE) AS release_date, day,
                        cumulative_downloads, baseline, ram, n_models, in_pool, thin,
                        CAST(flags AS VARCHAR) AS flags
                    FROM _rows
                    ORDER BY is_latest, day, size_class, model_id
                ) TO {_sql_text(tmp)} (FORMAT parquet, ROW_GROUP_SIZE 16384,
                    KV_METADATA {{{_META_KEY}: {_sql_text(json.dumps(meta))}}})"""
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(an: Analysis, db: Path, key: str | None) -> bool:
    """Write the cache of the live analysis ``an`` under ``key`` unless it is there already.

    Best effort: a read-only folder or a full disk costs only the fast path.
    """
    if key is None or stored_key(db) == key:
        return False
    try:
        _write(an, db, key)
    except Exception:
        # The answer is computed already; a cache that cannot be written only costs speed.
        return False
    return True


def refresh(cfg: Config, db: Path) -> bool:
    """Recompute the live analysis and rewrite the cache; call after a write to ``db``."""
    from ram import api

    key = cache_key(cfg, db)
    if key is None or stored_key(db) == key:
        return False
    try:
        an = api.analyse(cfg, db)
    except Exception:
        # The write before this succeeded; the next ``ram top`` computes (and reports) instead.
        return False
    return save(an, db, key)
