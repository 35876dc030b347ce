"""Import a panel file (long CSV/Parquet of daily counts): validate all of it, save it whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from collectors.panel import read_panel
from ram import catalog
from ram.config import Config
from ram.dates import now_utc
from ram.pipeline.refresh import refresh_top_cache
from ram.store.database import RunRecord, Store


def import_panel(
    cfg: Config,
    db: Path,
    path: str | Path,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunRecord:
    """Validate a panel file completely, then write all of it in one transaction (or nothing)."""
    started = now_utc()
    if progress:
        progress(f"reading {path}")
    panel = read_panel(path)
    src = f"panel:{source}" if source else panel.source
    obs = panel.observations.assign(source=src)
    obs["observed_at"] = pd.NaT
    span = obs.groupby("model_id")["obs_date"].agg(["min", "max"])
    max30 = obs.groupby("model_id")["downloads_30d"].max()
    models = panel.models.assign(via="import")
    models["first_seen"] = models["model_id"].map(span["min"])
    models["last_seen"] = models["model_id"].map(span["max"])
    models["downloads_30d_max"] = models["model_id"].map(max30)
    resolved = catalog.resolve(models, cfg)
    run = RunRecord(kind="import", source=src, started_at=started, models=len(models))
    run.details = {
        "file": str(panel.path),
        "rows": len(obs),
        "tracked": int(resolved.tracked.sum()),
    }
    unvetted = resolved[resolved["tracked_reason"] == catalog.UNVETTED_IMPORT]
    if len(unvetted):
        run.details["untracked_without_tag"] = len(unvetted)
        run.details["untracked_orgs"] = sorted(set(unvetted["org"]), key=str.lower)
    if progress:
        progress(f"writing {len(obs):,} observations of {len(models):,} models")
    with Store.open(db, wait=cfg.storage.lock_wait_seconds) as store:
        keep_existing = store.models().set_index("model_id")
        # An import never downgrades how a model came in (catalog, discovered, ...).
        prior_via = resolved["model_id"].map(keep_existing["via"]) if len(keep_existing) else None
        if prior_via is not None:
            resolved["via"] = prior_via.fillna(resolved["via"])
        run.finished_at = now_utc()
        store.save(run, resolved.drop(columns=["downloads_30d_max"]), obs)
        store.settle_quality()  # days before the models' last ones: their flags from scratch
    refresh_top_cache(cfg, db)
    return run
