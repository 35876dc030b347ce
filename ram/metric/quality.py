"""Data-quality flags of observations: counts restated downward and 30-day spikes.

``ram status`` lists them; every score row names the ones inside the stretch of the curve it
rests on (``flags``), so a leaderboard never shows a score built on a suspect count unmarked.
"""

from __future__ import annotations

import pandas as pd

from ram.metric import formula
from ram.store.quality import SPIKE_MIN_DOWNLOADS, SPIKE_RATIO

# A spike: a 30-day count that jumps SPIKE_RATIO-fold from one observation to the next, of at
# least SPIKE_MIN_DOWNLOADS.  The store keeps these flags as it is written, in SQL
# (``ram.store.quality``); tests/test_store_quality.py checks the two against each other.
FLAG_COLUMNS = ["model_id", "flag", "obs_date", "detail"]


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


def restated(obs: pd.DataFrame) -> pd.DataFrame:
    """All-time counts below an earlier one of the same model (RAM_SPEC §2 rule 4's flag)."""
    found = formula.find_restatements(obs)
    return pd.DataFrame(
        {
            "model_id": found["model_id"],
            "flag": "restated down",
            "obs_date": found["obs_date"],
            "detail": [
                f"{int(v):,} after {int(p):,}"
                for v, p in zip(found["value"], found["previous_max"], strict=True)
            ],
        }
    )


def observation_flags(obs: pd.DataFrame) -> pd.DataFrame:
    """Every flag the observations themselves raise (restatements, then spikes)."""
    frame = pd.concat([restated(obs), spikes(obs)], ignore_index=True)
    return frame[FLAG_COLUMNS] if len(frame) else pd.DataFrame(columns=FLAG_COLUMNS)


def flag_scores(scores: pd.DataFrame, flags: pd.DataFrame | None) -> pd.Series:
    """Per score row, the flags dated inside the curve it rests on (release day to its day),
    as ``"spike 2024-10-03; restated down 2024-10-05"``; None when there are none."""
    empty = pd.Series([None] * len(scores), index=scores.index, dtype=object)
    if flags is None or not len(flags) or not len(scores):
        return empty
    rows = scores[["model_id", "release_date", "day"]].reset_index()
    rows["end"] = pd.to_datetime(rows["release_date"]) + pd.to_timedelta(rows["day"], unit="D")
    f = flags.assign(obs_date=pd.to_datetime(flags["obs_date"]))
    hits = rows.merge(f[["model_id", "flag", "obs_date"]], on="model_id")
    inside = (hits["obs_date"] >= pd.to_datetime(hits["release_date"])) & (
        hits["obs_date"] <= hits["end"]
    )
    hits = hits[inside].sort_values(["index", "obs_date", "flag"], kind="stable")
    if not len(hits):
        return empty
    text = hits["flag"] + " " + hits["obs_date"].dt.strftime("%Y-%m-%d")
    joined = text.groupby(hits["index"]).agg("; ".join)
    out = empty.copy()
    out.loc[joined.index] = joined.to_numpy()
    return out
