"""Derivative counts: what the community builds on a model (fine-tunes, adapters, quantizations,
merges), stored as ``(model_id, obs_date, relation, n, source)`` and turned into the input of the
RAM machinery (``signal_obs``), its falls (``falls``), rebuilt curves (``rebuilt_rows``), the
snapshot's cadence (``due``) and the monthly shares of new derivatives by org or region.

Sources: ``hub`` (``childrenModelCount`` of a live snapshot: every relation together, relation
``all``), ``rebuilt`` (children listed by tag and dated by their ``createdAt``: one row per
relation and day the count changes, and one on the day of the rebuild), ``panel:NAME`` (an
imported file).  Pure: frames in, frames out.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

RELATIONS = ("finetune", "adapter", "quantized", "merge")
ALL = "all"  # childrenModelCount: every relation together
COLUMNS = ["model_id", "obs_date", "relation", "n", "source"]
# A live count beats a rebuilt curve, which beats an imported file, on the same day.
_SOURCE_RANK = {"hub": 0, "rebuilt": 1}


def _rank(source: str) -> int:
    return _SOURCE_RANK.get(source, 2)


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        COLUMNS, ["object", "datetime64[us]", "object", "int64", "object"], strict=True
    )})  # fmt: skip


def totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model, source and day the count of every relation together: a source's relations
    carried forward from their last change and summed (``all`` rows taken as they are);
    a rebuilt series filled in daily (its count is known on every day between its rows)."""
    if rows.empty:
        return pd.DataFrame(columns=["model_id", "source", "obs_date", "n"])
    out = []
    rows = rows.assign(obs_date=pd.to_datetime(rows["obs_date"]))
    for (model, source), part in rows.groupby(["model_id", "source"], sort=True):
        if (part["relation"] == ALL).any():
            series = part[part["relation"] == ALL].groupby("obs_date")["n"].max()
        else:
            wide = part.pivot_table(index="obs_date", columns="relation", values="n", aggfunc="max")
            if source == "rebuilt":
                days = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
                wide = wide.reindex(days)
            series = wide.ffill().fillna(0).sum(axis=1)
        out.append(
            pd.DataFrame(
                {
                    "model_id": model,
                    "source": source,
                    "obs_date": series.index,
                    "n": series.to_numpy(dtype=np.int64),
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def signal_obs(rows: pd.DataFrame) -> pd.DataFrame:
    """Derivative counts as the observations the metric reads (``downloads_all_time`` holds
    the count; one source per model and day, the best ranked)."""
    total = totals(rows)
    columns = ["model_id", "obs_date", "source", "observed_at", "downloads_all_time",
               "downloads_30d", "likes", "run_id"]  # fmt: skip
    if total.empty:
        return pd.DataFrame(columns=columns)
    total = total.assign(_r=total["source"].map(_rank))
    total = total.sort_values(["model_id", "obs_date", "_r"], kind="stable")
    total = total.drop_duplicates(["model_id", "obs_date"])
    return pd.DataFrame(
        {
            "model_id": total["model_id"].to_numpy(),
            "obs_date": pd.to_datetime(total["obs_date"]).to_numpy(),
            "source": total["source"].to_numpy(),
            "observed_at": pd.NaT,
            "downloads_all_time": pd.array(total["n"].to_numpy(), dtype="Int64"),
            "downloads_30d": pd.array([pd.NA] * len(total), dtype="Int64"),
            "likes": pd.array([pd.NA] * len(total), dtype="Int64"),
            "run_id": None,
        }
    ).reset_index(drop=True)


def falls(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts below the previous one of the same model, relation and source (deleted or
    reclassified children): stored as they came, listed here, never clamped."""
    if rows.empty:
        return pd.DataFrame(columns=[*COLUMNS, "previous"])
    ordered = rows.sort_values(["model_id", "relation", "source", "obs_date"], kind="stable")
    previous = ordered.groupby(["model_id", "relation", "source"])["n"].shift()
    fell = ordered[previous.notna() & (ordered["n"] < previous)]
    return fell.assign(previous=previous[fell.index].astype("int64")).reset_index(drop=True)


def rebuilt_rows(
    children: Mapping[tuple[str, str], Iterable[tuple[str, dt.datetime | None]]],
    released: Mapping[str, dt.date | None],
    today: dt.date,
) -> pd.DataFrame:
    """The cumulative count of each (base, relation) by the children's creation days: one row
    on each day it changes and one on ``today`` (the day the count is known up to).  A child
    created before its base's release day counts from the release day; one without a creation
    time counts from ``today`` (it exists, its day is unknown)."""
    out: list[tuple[str, dt.date, str, int]] = []
    for (base, relation), found in sorted(children.items()):
        start = released.get(base)
        days = []
        for _, created in found:
            day = created.date() if created is not None else today
            days.append(max(day, start) if start is not None else day)
        n = 0
        steps: dict[dt.date, int] = {}
        for day in sorted(d for d in days if d <= today):
            n += 1
            steps[day] = n
        if start is not None and start <= today and (not steps or min(steps) > start):
            out.append((base, start, relation, 0))
        out.extend((base, day, relation, count) for day, count in steps.items())
        out.append((base, today, relation, n))
    frame = pd.DataFrame(out, columns=["model_id", "obs_date", "relation", "n"])
    frame["obs_date"] = pd.to_datetime(frame["obs_date"])
    frame["n"] = frame["n"].astype("int64")
    frame["source"] = "rebuilt"
    return frame.drop_duplicates(["model_id", "obs_date", "relation"], keep="last").reset_index(
        drop=True
    )[COLUMNS]


def due(
    tracked: pd.DataFrame, last_live: Mapping[str, dt.date], today: dt.date, daily_until: int
) -> list[str]:
    """Tracked models whose live count is due today: daily while younger than ``daily_until``
    days (or of unknown age); weekly after, each on its own weekday (a stable hash of its id), so
    the weekly load is spread over the week instead of arriving in one burst (a model that
    missed its day is due once 8 days have passed).  Never counted: due.  The longest waiting
    first, so a capped run serves them in turn."""
    wait: list[tuple[int, str]] = []
    for model_id, released in zip(tracked["model_id"], tracked["release_date"], strict=True):
        last = last_live.get(str(model_id))
        age = None if pd.isna(released) else (today - pd.Timestamp(released).date()).days
        since = None if last is None else (today - last).days
        if since is None:
            due_now = True
        elif age is None or age < daily_until:
            due_now = since >= 1
        else:
            slot = zlib.crc32(str(model_id).encode("utf-8")) % 7
            due_now = (since >= 1 and today.toordinal() % 7 == slot) or since >= 8
        if due_now:
            wait.append((-(since if since is not None else 10**6), str(model_id)))
    return [m for _, m in sorted(wait)]


def monthly_new(signal: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """New derivatives per model and calendar month: the growth of each model's count from the
    last day of one month to the last of the next (its first month counts from zero)."""
    if signal.empty:
        return pd.DataFrame(columns=["model_id", "month", "new"])
    s = signal.assign(month=pd.to_datetime(signal["obs_date"]).dt.to_period("M"))
    s = s[pd.to_datetime(s["obs_date"]) <= pd.Timestamp(as_of)]
    last = s.sort_values("obs_date").groupby(["model_id", "month"])["downloads_all_time"].last()
    frame = last.astype("float64").rename("n").reset_index()
    frame["new"] = frame.groupby("model_id")["n"].diff().fillna(frame["n"]).clip(lower=0)
    return frame[["model_id", "month", "new"]]


def shares(new: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Each group's share of a month's new derivatives (``month, group, new, share``)."""
    if new.empty:
        return pd.DataFrame(columns=["month", "group", "new", "share"])
    grouped = new.assign(group=new["model_id"].map(groups).fillna("unknown"))
    frame = pd.DataFrame(grouped.groupby(["month", "group"], as_index=False)["new"].sum())
    total = frame.groupby("month")["new"].transform("sum")
    frame = frame[total > 0]  # a month without a new derivative has no shares
    total = total[total > 0]
    frame["share"] = np.where(total > 0, frame["new"] / total.where(total > 0, 1), np.nan)
    return frame.sort_values(["month", "new"], ascending=[True, False], ignore_index=True)
