"""What is refreshed after a pipeline's writes land: the data-quality flags of models a write
did not simply append to, and the top cache."""

from __future__ import annotations

from pathlib import Path

from ram import api, score_cache
from ram.config import Config
from ram.errors import RamError
from ram.store.database import Store


def settle_quality(db: Path, wait: float | None = None) -> int:
    """Recompute the flags of the models the run's writes left dirty (``ram.store.quality``),
    once for a run of many days; how many.  Best effort, as the top cache: until it runs,
    readers compute those flags themselves, and the next write settles them."""
    try:
        with Store.open(db, wait=wait) as store:
            return store.settle_quality()
    except RamError:
        return 0


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
