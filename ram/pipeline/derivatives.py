"""Derivative counts into the store: an imported file, a rebuild from the Hub's children
listings, and the snapshot's live counts (``collect_live``, called by ``run_snapshot``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from collectors.hub_children import HubOptions, fetch_children, fetch_children_counts
from collectors.panel import read_derivative_panel
from ram import catalog, derivatives
from ram.config import Config
from ram.dates import now_utc
from ram.errors import BadInput, HubError, unknown_model
from ram.store.database import RunRecord, Store


def import_derivatives(
    cfg: Config, db: Path, path: str | Path, source: str | None = None
) -> RunRecord:
    """Validate a derivative file whole, then store all of it in one transaction (or nothing)."""
    started = now_utc()
    rows, default = read_derivative_panel(path)
    src = f"panel:{source}" if source else default
    rows = rows.assign(source=src)
    run = RunRecord(kind="import-derivatives", source=src, started_at=started)
    run.models = int(rows["model_id"].nunique())
    run.details = {"file": str(path), "rows": len(rows)}
    with Store.open(db, wait=cfg.storage.lock_wait_seconds) as store:
        run.finished_at = now_utc()
        store.save(run, derivatives=rows)
    return run


@dataclass
class Rebuild:
    rows: pd.DataFrame
    requests: int
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    run: RunRecord | None = None


def rebuild(
    cfg: Config,
    db: Path,
    model_ids: Sequence[str],
    *,
    endpoint: str | None = None,
    token: str | bool | None = None,
    today: dt.date | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Rebuild:
    """List each model's children per relation (``base_model:<relation>:ID``) and store the
    curve their creation days give, replacing the model's earlier rebuilt curve.  No ids: every
    tracked model.  A relation whose listing failed keeps its earlier curve."""
    today = today or now_utc().date()
    with Store.open(db, read_only=True) as store:
        models = catalog.load_models(store, cfg)
    known = dict(zip(models["model_id"].str.lower(), models["model_id"], strict=True))
    if model_ids:
        chosen = []
        for m in model_ids:
            if m.lower() not in known:
                raise unknown_model(m, list(models["model_id"]))
            chosen.append(known[m.lower()])
    else:
        chosen = sorted(models.loc[models["tracked"].astype(bool), "model_id"])
    if not chosen:
        raise BadInput("no tracked model to rebuild; name models, or track some first")
    released = {
        str(m): (None if pd.isna(r) else pd.Timestamp(r).date())
        for m, r in zip(models["model_id"], models["release_date"], strict=True)
    }
    started = now_utc()
    opts = HubOptions(endpoint, token, cfg.collector.max_workers, cfg.collector.request_budget)
    found = fetch_children(chosen, opts, progress=progress)
    if found.refused is not None:
        raise HubError(f"the Hub refused the children listing: {found.refused}")
    rows = derivatives.rebuilt_rows(found.children, released, today)
    run = RunRecord(kind="rebuild-derivatives", source="rebuilt", started_at=started)
    run.models = len(chosen)
    run.failed = len(found.failed)
    run.status = "ok" if not found.failed else ("partial" if found.children else "failed")
    run.details = {"requests": found.requests, "rows": len(rows)}
    if found.failed:
        run.details["failed"] = {f"{b} ({r})": why for (b, r), why in found.failed.items()}
    with Store.open(db, wait=cfg.storage.lock_wait_seconds) as store:
        run.finished_at = now_utc()
        store.save(run, derivatives=rows)
    return Rebuild(rows, found.requests, found.failed, run)


@dataclass
class LiveCounts:
    rows: pd.DataFrame
    requests: int
    due: int
    failed: dict[str, str]


def collect_live(
    cfg: Config,
    models: pd.DataFrame,
    last_live: dict[str, dt.date],
    today: dt.date,
    *,
    endpoint: str | None,
    token: str | bool | None,
    budget: int,
) -> LiveCounts:
    """Today's ``childrenModelCount`` of the tracked models that are due (``derivatives.due``),
    at most ``derivatives.max_requests`` (and ``budget``) of them, longest waiting first."""
    tracked = models[models["tracked"].astype(bool)]
    due = derivatives.due(tracked, last_live, today, cfg.derivatives.daily_until_days)
    cap = min(cfg.derivatives.max_requests, budget)
    chosen = due[:cap]
    if not chosen:
        return LiveCounts(derivatives.empty(), 0, len(due), {})
    got = fetch_children_counts(
        chosen, HubOptions(endpoint, token, cfg.collector.max_workers, max(budget, 1))
    )
    rows = pd.DataFrame(
        {
            "model_id": list(got.counts),
            "obs_date": pd.Timestamp(today),
            "relation": derivatives.ALL,
            "n": list(got.counts.values()),
            "source": "hub",
        }
    )
    return LiveCounts(rows, got.requests, len(due), got.failed)
