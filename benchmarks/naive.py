"""A straightforward pandas reference for RAM (cutoff method): the yardstick of the speedup.

One ``groupby`` pass over models with ``np.interp`` for each curve, then long frames for the
top-N cutoff and the milestone scores.  Written to be obviously correct, not slow: it follows
RAM_SPEC §2-§4 rule by rule, and ``check_agreement`` proves it equals ``ram.metric.formula`` before
timing is trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ram.metric.formula import DEFAULT_MILESTONES, RamResult

WINDOW_DAYS = 30


class Mismatch(Exception):
    """The naive reference and the project disagree, so no speed comparison is honest."""


@dataclass
class NaiveResult:
    """Curves (rows in ``models`` order, days 0..max_day), cutoff baselines, milestone scores."""

    model_ids: np.ndarray
    curves: np.ndarray
    baselines: pd.DataFrame
    scores: pd.DataFrame


def evaluate(xs: np.ndarray, ys: np.ndarray, days: np.ndarray, max_gap: int) -> np.ndarray:
    """C on ``days`` from sorted points: linear across gaps <= ``max_gap``, NaN elsewhere."""
    values = np.interp(days, xs, ys)
    i = np.searchsorted(xs, days)
    inside = i < len(xs)
    right = xs[np.minimum(i, len(xs) - 1)]
    left = xs[np.maximum(i - 1, 0)]
    on_point = inside & (right == days)
    bridged = inside & (i > 0) & (right - left <= max_gap)
    values[~(on_point | bridged)] = np.nan
    return values


def window_points(d: np.ndarray, w: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Rule 3: C(d) = w(d) (+ C(d-30) read off the curve built so far), running max applied."""
    xs, ys = np.zeros(len(d) + 1, dtype=np.int64), np.zeros(len(d) + 1)
    n = 1  # points built so far, the anchor (0, 0) first
    for day, value in zip(d.tolist(), w.tolist(), strict=True):
        if day >= WINDOW_DAYS:
            earlier = evaluate(xs[:n], ys[:n], np.array([day - WINDOW_DAYS]), max_gap)[0]
            if np.isnan(earlier):
                continue
            value += float(earlier)
        value = max(value, ys[n - 1])
        if day == xs[n - 1]:
            ys[n - 1] = value
        else:
            xs[n], ys[n] = day, value
            n += 1
    return xs[:n], ys[:n]


def curve(
    d: np.ndarray, total: np.ndarray, window: np.ndarray, days: np.ndarray, max_gap: int
) -> np.ndarray:
    """One model's C(d) on ``days`` from its deduplicated observations in day order."""
    direct = ~np.isnan(total)
    if direct.any():
        xs = np.r_[0, d[direct]]
        ys = np.maximum.accumulate(np.r_[0.0, total[direct]])
        if xs[1] == 0:  # an observation on release day replaces the anchor
            xs, ys = xs[1:], ys[1:]
    else:
        known = ~np.isnan(window)
        xs, ys = window_points(d[known], window[known], max_gap)
    return evaluate(xs, ys, days, max_gap)


def _float(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def naive_ram(
    obs: pd.DataFrame,
    models: pd.DataFrame,
    *,
    top_n: int = 10,
    max_gap_days: int = 14,
    max_day: int = 730,
    milestones: Sequence[int] = DEFAULT_MILESTONES,
) -> NaiveResult:
    """Curves, cutoff baselines of every size class, and RAM at the milestones."""
    as_of = obs["obs_date"].max()
    release = models.set_index("model_id")["release_date"]
    frame = obs.assign(d=(obs["obs_date"] - obs["model_id"].map(release)).dt.days)
    frame = frame[(frame["d"] >= 0) & (frame["obs_date"] <= as_of)]
    order = ["d", "observed_at"] if "observed_at" in frame else ["d"]
    frame = frame.sort_values(order, kind="stable", na_position="first")

    days = np.arange(max_day + 1)
    ids = models["model_id"].astype(str).to_numpy(dtype=object)
    curves = np.full((len(ids), max_day + 1), np.nan)
    curves[(models["release_date"] <= as_of).to_numpy(), 0] = 0.0
    row_of = {model_id: i for i, model_id in enumerate(ids)}
    for model_id, g in frame.groupby("model_id", sort=False):
        d = g["d"].to_numpy()
        last = np.r_[d[1:] != d[:-1], True]  # the latest observation of a day counts
        curves[row_of[model_id]] = curve(
            d[last],
            _float(g["downloads_all_time"])[last],
            _float(g["downloads_30d"])[last],
            days,
            max_gap_days,
        )

    size_class = models["size_class"].fillna("unknown").astype(str).to_numpy()
    in_pool = models["in_pool"].fillna(False).to_numpy(dtype=bool)
    rows, cols = np.nonzero(~np.isnan(curves[:, 1:]))
    long = pd.DataFrame(
        {
            "row": rows,
            "day": cols + 1,
            "value": curves[rows, cols + 1],
            "size_class": size_class[rows],
        }
    )
    known = long["size_class"] != "unknown"
    pool = long[known & in_pool[long["row"].to_numpy()]]

    keys = ["size_class", "day"]
    ranked = pool.sort_values("value", ascending=False, kind="stable")
    raw = ranked.groupby(keys).nth(top_n - 1).set_index(keys)["value"].sort_index()
    baselines = raw.groupby(level="size_class").cummax().rename("baseline").to_frame()
    baselines["n_models"] = pool.groupby(keys).size()
    baselines = baselines.reset_index()

    at = long[long["day"].isin(list(milestones)) & known]
    scores = at.merge(baselines[[*keys, "baseline"]], on=keys)
    rows = scores["row"].to_numpy()
    age = (as_of - models["release_date"]).dt.days.to_numpy()[rows]
    scores = scores.assign(model_id=ids[rows], cumulative_downloads=scores["value"])
    scores = scores[(scores["baseline"] > 0) & (scores["day"] <= age)]
    scores = scores.assign(ram=scores["cumulative_downloads"] / scores["baseline"])
    columns = ["model_id", "size_class", "day", "cumulative_downloads", "baseline", "ram"]
    return NaiveResult(ids, curves, baselines, scores[columns].reset_index(drop=True))


def _close(ours: np.ndarray, theirs: np.ndarray, what: Callable[[int], str], rtol: float) -> float:
    """Largest relative difference; raises, naming the worst cell, when above ``rtol``."""
    scale = np.maximum(np.abs(ours), np.abs(theirs))
    diff = np.abs(ours - theirs)
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    if not len(rel):
        return 0.0
    at = int(rel.argmax())
    if rel[at] > rtol:
        raise Mismatch(
            f"{what(at)}: project {float(ours[at])!r} vs naive {float(theirs[at])!r} "
            f"(relative difference {rel[at]:.3g} above {rtol:g})"
        )
    return float(rel[at])


def check_agreement(result: RamResult, naive: NaiveResult, rtol: float = 1e-9) -> dict[str, float]:
    """Every curve cell, baseline row and milestone score equal; counts and worst difference."""
    at = pd.Index(result.curves.model_ids).get_indexer(naive.model_ids)
    if (at < 0).any():
        raise Mismatch("the project has no curve for some models")
    ours, theirs = result.curves.values[at], naive.curves
    if ours.shape != theirs.shape or not np.array_equal(np.isnan(ours), np.isnan(theirs)):
        rows, days = np.nonzero(np.isnan(ours) != np.isnan(theirs))
        raise Mismatch(
            f"curve of {naive.model_ids[rows[0]]} day {days[0]} defined on one side only"
        )
    rows, days = np.nonzero(~np.isnan(ours))
    worst = _close(
        ours[rows, days],
        theirs[rows, days],
        lambda i: f"curve of {naive.model_ids[rows[i]]} day {days[i]}",
        rtol,
    )

    keys = ["size_class", "day"]
    b = result.baselines.merge(naive.baselines, on=keys, how="outer", indicator=True)
    if (b["_merge"] != "both").any():
        raise Mismatch(f"{int((b['_merge'] != 'both').sum())} baseline rows exist on one side only")
    if not np.array_equal(b["n_models_x"].to_numpy(), b["n_models_y"].to_numpy()):
        raise Mismatch("baseline pool counts differ")
    worst = max(
        worst,
        _close(
            _float(b["baseline_x"]),
            _float(b["baseline_y"]),
            lambda i: f"baseline of {b['size_class'].iloc[i]} day {b['day'].iloc[i]}",
            rtol,
        ),
    )

    s = result.scores().merge(naive.scores, on=["model_id", "day"], how="outer", indicator=True)
    if (s["_merge"] != "both").any():
        raise Mismatch(f"{int((s['_merge'] != 'both').sum())} score rows exist on one side only")
    worst = max(
        worst,
        _close(
            _float(s["ram_x"]),
            _float(s["ram_y"]),
            lambda i: f"RAM of {s['model_id'].iloc[i]} day {s['day'].iloc[i]}",
            rtol,
        ),
    )
    return {
        "curve_cells": len(rows),
        "baseline_rows": len(b),
        "score_rows": len(s),
        "max_rel_diff": worst,
    }
