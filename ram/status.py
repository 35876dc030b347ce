"""What ``ram status`` reports: runs, freshness, counts and data-quality flags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ram import metric
from ram.config import Config
from ram.store import Store

SPIKE_RATIO = 10.0  # a 30-day count that jumps tenfold from one observation to the next
SPIKE_MIN_DOWNLOADS = 10_000


@dataclass
class Status:
    """A snapshot of the store's health."""

    db: Path
    counts: dict[str, int]
    latest_obs: dt.date | None
    runs: pd.DataFrame
    freshness: pd.DataFrame  # per org: models, last observation, days behind the newest
    flags: pd.DataFrame  # model_id, flag, obs_date, detail


def spikes(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations whose 30-day count jumps by ``SPIKE_RATIO`` or more since the previous one."""
    w = obs.dropna(subset=["downloads_30d"]).sort_values(["model_id", "obs_date"])
    prev = w.groupby("model_id")["downloads_30d"].shift()
    ratio = w["downloads_30d"].astype("float64") / prev.astype("float64")
    hit = w[(ratio >= SPIKE_RATIO) & (w["downloads_30d"] >= SPIKE_MIN_DOWNLOADS)]
    return pd.DataFrame(
        {
            "model_id": hit["model_id"],
            "flag": "spike",
            "obs_date": hit["obs_date"],
            "detail": [f"30-day count x{r:.0f}" for r in ratio[hit.index]],
        }
    )


def vanished(obs: pd.DataFrame, tracked: set[str]) -> pd.DataFrame:
    """Tracked models missing from the latest live snapshot although earlier ones had them."""
    live = obs[obs["source"] == "hub"]
    if live.empty:
        return pd.DataFrame(columns=["model_id", "flag", "obs_date", "detail"])
    newest = live["obs_date"].max()
    last = live.groupby("model_id")["obs_date"].max()
    gone = last[(last < newest) & last.index.isin(list(tracked))]
    return pd.DataFrame(
        {
            "model_id": gone.index,
            "flag": "vanished",
            "obs_date": gone.to_numpy(),
            "detail": [f"last seen live {pd.Timestamp(d).date()}" for d in gone.to_numpy()],
        }
    )


def collect_status(cfg: Config, db: Path) -> Status:
    """Gather counts, the recent runs, per-org freshness and data-quality flags."""
    from ram.api import load_models

    with Store.open(db, read_only=True) as store:
        counts = store.counts()
        latest = store.latest_obs_date()
        runs = store.runs(10)
        obs = store.observations()
        models = load_models(store, cfg)
    tracked = set(models.loc[models["tracked"], "model_id"])
    if obs.empty:
        fresh = pd.DataFrame(columns=["org", "models", "last_obs", "days_behind"])
    else:
        last = obs.groupby("model_id")["obs_date"].max().rename("last_obs").reset_index()
        last["org"] = last["model_id"].str.split("/").str[0]
        fresh = last.groupby("org").agg(models=("model_id", "count"), last_obs=("last_obs", "max"))
        fresh["days_behind"] = (obs["obs_date"].max() - fresh["last_obs"]).dt.days
        fresh = fresh.reset_index().sort_values(["days_behind", "org"], ascending=[False, True])
        fresh["last_obs"] = fresh["last_obs"].dt.date
    restated = metric.find_restatements(obs)
    flags = pd.concat(
        [
            pd.DataFrame(
                {
                    "model_id": restated["model_id"],
                    "flag": "restated down",
                    "obs_date": restated["obs_date"],
                    "detail": [
                        f"{int(v):,} after {int(p):,}"
                        for v, p in zip(restated["value"], restated["previous_max"], strict=True)
                    ],
                }
            ),
            spikes(obs),
            vanished(obs, tracked),
        ],
        ignore_index=True,
    )
    if len(flags):
        flags["obs_date"] = pd.to_datetime(flags["obs_date"]).dt.date
    return Status(db, counts, latest, runs, fresh.reset_index(drop=True), flags)
