"""What a subscriber wants to hear about, derived from one analysis: a model crosses RAM 1 at a
milestone, joins the ten most-downloaded tracked models of its size class, a new tracked release
appears, a data-quality flag is raised.

Every event has a stable id (a name-based UUID of its kind, model and key), so the feed, the
webhook and the store's ledger recognise it on every later run and a reader never sees it twice.
Pure: frames in, a frame out.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pandas as pd

from ram.api import Analysis
from ram.charts import data as cd
from ram.metric import leaderboard
from ram.publish import tuples

EVENT_COLUMNS = ["event_id", "kind", "model_id", "event_date", "title", "detail"]
KINDS = {
    "ram-crossing": "crosses RAM 1",
    "top10-entry": "enters its class's top 10",
    "new-release": "new tracked release",
    "data-flag": "data-quality flag",
}
# Fixed forever: changing it would give every past event a new id (and readers repeats).
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/ram-tracker/ram-tracker#events")


def event_id(kind: str, model_id: str, key: str) -> str:
    """``urn:uuid:…`` (RFC 4122 name-based, SHA-1) of an event: the same inputs, the same id."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}|{model_id}|{key}')}"


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["event_date"] = pd.to_datetime(frame["event_date"]).dt.date
    return frame


def _num(x: float) -> str:
    return f"{x:,.0f}"


def crossings(an: Analysis) -> pd.DataFrame:
    """A leaderboard row (a tracked model on a baseline that is not thin) whose RAM is at least 1
    at a milestone while it was below 1 at the model's previous listed milestone, or had none:
    the day the model is first seen on top-10 pace, and each return to it.  Dated release day +
    milestone."""
    scores = an.result.scores()
    scope = leaderboard.Scope()
    keep = [scope.keeps(p, t) for p, t in zip(scores["in_pool"], scores["thin"], strict=True)]
    scores = scores[np.asarray(keep, dtype=bool)].sort_values(["model_id", "day"])
    previous = scores.groupby("model_id")["ram"].shift()
    hit = scores[(scores["ram"] >= 1) & ~(previous >= 1)]
    top_n = an.result.params.top_n
    rows = []
    for r in tuples(hit):
        day = int(r.day)
        when = pd.Timestamp(r.release_date).date() + dt.timedelta(days=day)
        rows.append(
            {
                "event_id": event_id("ram-crossing", str(r.model_id), f"day {day}"),
                "kind": "ram-crossing",
                "model_id": r.model_id,
                "event_date": when,
                "title": f"{r.model_id} is on top-{top_n} pace at day {day}: RAM {r.ram:.2f}",
                "detail": f"{_num(r.cumulative_downloads)} downloads {day} days after release "
                f"against the {r.size_class} baseline of {_num(r.baseline)}",
            }
        )
    return _frame(rows)


def calendar_values(an: Analysis, model_ids: np.ndarray, start: dt.date) -> np.ndarray:
    """Cumulative downloads of ``model_ids`` on each calendar day from ``start`` to the as-of
    date (rows: models), each model's last known count carried over days without data."""
    curves = an.result.curves
    index = {m: i for i, m in enumerate(curves.model_ids)}
    release = pd.to_datetime(an.models.set_index("model_id")["release_date"])
    n_days = (an.as_of - start).days + 1
    out = np.full((len(model_ids), n_days), np.nan)
    for row, m in enumerate(model_ids):
        offset = (pd.Timestamp(start) - release[m]).days  # curve day of the first calendar day
        values = curves.values[index[m]]
        days = np.arange(n_days) + offset
        ok = (days >= 0) & (days < values.shape[0])
        out[row, ok] = values[days[ok]]
    return cd.forward_filled(out)


def top10_entries(an: Analysis) -> pd.DataFrame:
    """A tracked model joining the ``top_n`` most-downloaded (all time) tracked models of its
    size class, on a day after the store's first, when the class holds more than ``top_n``
    models with a count that day (with fewer, every member is in the top 10 and nothing is
    news).  Ties rank by model id."""
    models = an.models
    curves = an.result.curves
    have = set(curves.model_ids)
    pool = models[
        models["tracked"].astype(bool)
        & models["release_date"].notna()
        & models["model_id"].isin(list(have))
        & (models["size_class"] != "unknown")
    ]
    if pool.empty:
        return _frame([])
    start = pd.Timestamp(an.obs["obs_date"].min()).date()
    top_n = an.result.params.top_n
    rows = []
    for size_class, group in pool.groupby("size_class", sort=True):
        ids = np.array(sorted(group["model_id"]), dtype=object)
        values = calendar_values(an, ids, start)
        known = ~np.isnan(values)
        # rank on each day: models with a larger count, or an equal one and a smaller id
        filled = np.where(known, values, -np.inf)
        order = np.lexsort((np.arange(len(ids))[:, None].repeat(filled.shape[1], 1), -filled), 0)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(len(ids))[:, None], axis=0)
        inside = known & (ranks < top_n) & (known.sum(axis=0) > top_n)[None, :]
        entered = inside[:, 1:] & ~inside[:, :-1]
        for row, col in zip(*np.nonzero(entered), strict=True):
            when = start + dt.timedelta(days=int(col) + 1)
            m = str(ids[row])
            rank = int(ranks[row, col + 1]) + 1
            rows.append(
                {
                    "event_id": event_id("top10-entry", m, when.isoformat()),
                    "kind": "top10-entry",
                    "model_id": m,
                    "event_date": when,
                    "title": f"{m} enters the top {top_n} of {size_class} models (rank {rank})",
                    "detail": f"{_num(values[row, col + 1])} downloads in all, now among the "
                    f"{top_n} most-downloaded tracked {size_class} models",
                }
            )
    return _frame(rows)


def new_releases(an: Analysis) -> pd.DataFrame:
    """Tracked models released after the store's first observation: the releases the tracker
    saw appear, dated by their first observation."""
    start = pd.Timestamp(an.obs["obs_date"].min())
    m = an.models
    released = pd.to_datetime(m["release_date"])
    new = m[m["tracked"].astype(bool) & (released > start).fillna(False).astype(bool)]
    rows = []
    for r in tuples(new):
        seen = pd.Timestamp(r.first_obs if pd.notna(r.first_obs) else r.release_date).date()
        params = "" if pd.isna(r.params_b) else f", {r.params_b:g}B parameters"
        rows.append(
            {
                "event_id": event_id("new-release", str(r.model_id), "release"),
                "kind": "new-release",
                "model_id": r.model_id,
                "event_date": seen,
                "title": f"New tracked release: {r.model_id} ({r.size_class})",
                "detail": f"by {r.org}, released {pd.Timestamp(r.release_date).date()}{params}",
            }
        )
    return _frame(rows)


def data_flags(an: Analysis) -> pd.DataFrame:
    """Every data-quality flag the observations of tracked models raise."""
    flags = an.flags
    tracked = set(an.models.loc[an.models["tracked"].astype(bool), "model_id"])
    flags = flags[flags["model_id"].isin(list(tracked))]
    rows = []
    for r in tuples(flags):
        when = pd.Timestamp(r.obs_date).date()
        rows.append(
            {
                "event_id": event_id("data-flag", str(r.model_id), f"{r.flag}|{when}"),
                "kind": "data-flag",
                "model_id": r.model_id,
                "event_date": when,
                "title": f"Data-quality flag on {r.model_id}: {r.flag} on {when}",
                "detail": str(r.detail),
            }
        )
    return _frame(rows)


def derive(an: Analysis, since: dt.date | None = None) -> pd.DataFrame:
    """Every event the analysis implies (on or after ``since``), newest first; ties by kind,
    then model."""
    parts = [f(an) for f in (crossings, top10_entries, new_releases, data_flags)]
    frame = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else _frame([])
    )
    if since is not None:
        frame = frame[frame["event_date"] >= since]
    frame = frame.drop_duplicates("event_id")
    return frame.sort_values(
        ["event_date", "kind", "model_id"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
