"""A cache of the live analysis's scores, so ``ram top`` and ``ram scores`` answer without pandas.

It holds what those commands ask: every scored model at the milestones and its latest RAM (not
every day: ``ram top --day 45`` computes).  The live analysis (baseline and method from the
config) is written to ``<db>.top-cache.parquet``
after every pipeline write (``ram.pipeline.refresh``) and when ``ram top`` computes it.  Its key
covers the database files, the config sections that shape scores, the bundled catalog and the
code of the package, so a change to any of them sends ``ram top`` back to the full computation.
A cache that is missing, stale or unreadable is ignored.  The file and its SQL are
``ram.store.top_cache``'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ram.errors import unknown_size_class
from ram.metric.leaderboard import Scope, Support
from ram.metric.leaderboard import notes as leaderboard_notes
from ram.store import top_cache
from ram.store.cache_key import stamp
from ram.store.top_cache import COLUMNS, SCORE_COLUMNS, cache_path

if TYPE_CHECKING:
    from ram.api import Analysis
    from ram.config import Config

__all__ = [
    "COLUMNS", "NUMERIC", "SCORE_COLUMNS", "TopRows", "applies", "cache_key", "cache_path", "save",
    "scores", "top",
]  # fmt: skip

FORMAT_VERSION = 4  # 4: milestone days and latest only, in ram scores order
NUMERIC = frozenset({"rank", "day", "cumulative_downloads", "baseline", "ram", "n_models"})
_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class TopRows:
    """A leaderboard read from the cache: rows in ``COLUMNS`` order and the header values."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    meta: dict[str, str]
    notes: list[str]


def applies(cfg: Config, method: str | None, baseline: str | None, as_of: object) -> bool:
    """Whether a computation with these options is the one the cache holds."""
    return method in (None, cfg.ram.method) and not baseline and as_of is None


def cache_key(cfg: Config, db: Path) -> str | None:
    """Fingerprint of everything the cached numbers depend on (``ram.store.cache_key``); None
    when ``db`` is missing.  Take it before reading the database."""
    return stamp(cfg, db, FORMAT_VERSION)


def stored_key(db: Path) -> str | None:
    """The key of the cache beside ``db``, or None when there is no readable cache."""
    meta = top_cache.read_meta(cache_path(db))
    return str(meta["key"]) if meta is not None and "key" in meta else None


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
        found = top_cache.query(
            path,
            key,
            day,
            size_class,
            limit,
            include_thin=scope.include_thin,
            include_all=scope.include_all,
        )
        if found is None:
            return None
        meta, rows, tallies = found
        labels = [str(label) for label in meta["size_classes"]]
        header = {name: str(meta[name]) for name in ("as_of", "baseline", "source")}
        support = Support.from_json(meta["support"])
    except top_cache.READ_ERRORS:
        return None
    if size_class is not None and size_class not in labels:
        raise unknown_size_class(size_class, labels)
    notes = leaderboard_notes(
        day=day,
        classes=[size_class] if size_class else labels,
        kept={str(c): int(k) for c, k, _, _ in tallies},
        thin_left_out=sum(int(t) for _, _, t, _ in tallies),
        untracked_left_out=sum(int(u) for _, _, _, u in tallies),
        support=support,
        scope=scope,
    )
    stale = [str(line) for line in meta.get("stale", [])]
    return TopRows(COLUMNS, rows, header, notes + stale)


def scores(cfg: Config, db: Path) -> TopRows | None:
    """``ram scores`` at the milestones for the live analysis, from the cache; None when the
    cache cannot answer (missing, stale, unreadable)."""
    key = cache_key(cfg, db)
    path = cache_path(db)
    if key is None or not path.exists():
        return None
    try:
        found = top_cache.milestone_rows(path, key)
        if found is None:
            return None
        meta, rows = found
        header = {name: str(meta[name]) for name in ("as_of", "baseline", "source")}
    except top_cache.READ_ERRORS:
        return None
    return TopRows(SCORE_COLUMNS, rows, header, [])


def _write(an: Analysis, db: Path, key: str) -> None:
    # Only a computation writes the cache, and it has loaded pandas and the metric already.
    import pandas as pd

    from ram.api import stale_notes
    from ram.metric.leaderboard import support_of
    from ram.metric.quality import flag_scores

    result = an.result
    # What is asked: the milestones (ram top --day, ram scores) and the latest RAM; another day
    # is computed.  ``seq`` keeps the order ``ram scores`` prints.
    milestones = result.scores(None)
    parts = [
        frame.assign(is_latest=is_latest, flags=flag_scores(frame, an.flags), seq=range(len(frame)))
        for is_latest, frame in ((False, milestones), (True, result.latest()))
    ]
    meta = {
        "key": key,
        "as_of": an.as_of.isoformat(),
        "baseline": an.baseline_label,
        "source": an.source,
        "size_classes": an.size_classes,
        "support": support_of(result, an.size_classes).to_json(),
        "days": [int(d) for d in result.params.milestones],
        "stale": stale_notes(an),
    }
    rows = pd.concat(parts, ignore_index=True)
    top_cache.write(rows, meta, cache_path(db), os.stat(db).st_mode)


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
