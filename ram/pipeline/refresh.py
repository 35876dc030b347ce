"""The one place the top cache is refreshed: after a pipeline write lands in the store."""

from __future__ import annotations

from pathlib import Path

from ram import api, score_cache
from ram.config import Config


def refresh_top_cache(cfg: Config, db: Path) -> bool:
    """Recompute the live analysis of ``db`` and rewrite its top cache; True when written.

    Best effort: the write before this succeeded, so a failure here only means the next
    ``ram top`` computes (and reports) instead of reading the cache.
    """
    key = score_cache.cache_key(cfg, db)
    if key is None or score_cache.stored_key(db) == key:
        return False
    try:
        an = api.analyse(cfg, db)
    except Exception:
        return False
    return score_cache.save(an, db, key)
