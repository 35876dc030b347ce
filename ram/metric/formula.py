"""The Relative Adoption Metric of RAM_SPEC.md: cumulative curves, size-class baselines, scores.

Pure and vectorised (numpy across models; Python loops only over size class or blocks): frames
in, arrays and frames out, no I/O.  The curves (§2) are built in ``ram.metric.curves``, re-exported
here with everything else of the formula.  Dates in output frames are ``datetime64[ns]`` at
midnight.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ram.config import (
    COARSE_SCHEME,
    DEFAULT_MAX_DAY,
    DEFAULT_MAX_GAP_DAYS,
    DEFAULT_METHOD,
    DEFAULT_MILESTONES,
    DEFAULT_SCHEME,
    DEFAULT_TOP_N,
    METHODS,
    UNKNOWN,
)
from ram.errors import BadInput
from ram.metric.curves import (
    Curves,
    build_curves,
    counts,
    day_of,
    days_since_epoch,
    group_heads,
    last_of_day,
    models_table,
    observed_at,
    running_max,
)

__all__ = [
    "BASELINE_COLUMNS", "COARSE_SCHEME", "DEFAULT_MILESTONES", "DEFAULT_SCHEME", "METHODS",
    "SCORE_COLUMNS", "SUPPORT_COLUMNS", "UNKNOWN", "Curves", "RamParams", "RamResult", "SizeScheme",
    "build_curves", "compute", "compute_baselines", "compute_baselines_and_support",
    "find_restatements", "latest", "score", "size_class_of",
]  # fmt: skip

SizeScheme = Sequence[tuple[str, float, float | None]]
SCORE_COLUMNS = [
    "model_id", "size_class", "release_date", "day", "cumulative_downloads", "baseline", "ram",
    "n_models", "in_pool", "thin",
]  # fmt: skip
BASELINE_COLUMNS = ["size_class", "day", "baseline", "n_models"]
SUPPORT_COLUMNS = ["size_class", "day", "n_models"]
_BLOCK = 1 << 22  # cells per vectorised block: bounds temporaries at ~100 MB whatever the input


@dataclass(frozen=True)
class RamParams:
    """The tunable parameters of RAM_SPEC §6 (the size scheme lives with the model table)."""

    method: str = DEFAULT_METHOD
    top_n: int = DEFAULT_TOP_N
    max_gap_days: int = DEFAULT_MAX_GAP_DAYS
    max_day: int = DEFAULT_MAX_DAY
    milestones: tuple[int, ...] = DEFAULT_MILESTONES
    min_pool: int | None = None  # None: 2 x top_n (§3, support and thin baselines)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise BadInput(f"unknown RAM method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.top_n < 1 or self.max_gap_days < 1 or self.max_day < 1:
            raise BadInput("top_n, max_gap_days and max_day must be positive integers")
        if any(d < 1 for d in self.milestones):
            raise BadInput("milestone days must be >= 1")
        if self.min_pool is not None and self.min_pool < 1:
            raise BadInput("min_pool must be a positive integer")

    @property
    def pool_floor(self) -> int:
        """``min_pool``: fewer defined pool curves than this make a baseline cell thin."""
        return 2 * self.top_n if self.min_pool is None else self.min_pool


def size_class_of(params_b: float | None, scheme: SizeScheme = DEFAULT_SCHEME) -> str:
    """Label of the half-open range ``[min, max)`` holding ``params_b``; ``unknown`` if none."""
    if params_b is None or (isinstance(params_b, float) and math.isnan(params_b)):
        return UNKNOWN
    for label, low, high in scheme:
        if params_b >= low and (high is None or params_b < high):
            return label
    return UNKNOWN


def align(curves: Curves, models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Size class, pool flag and release day of each curve row (unknown when not in models)."""
    ids, release, cls, pool = models_table(models)
    at = ids.get_indexer(pd.Index(curves.model_ids, dtype=object))
    found = at >= 0
    out_cls = np.where(found, cls[at], UNKNOWN).astype(object)
    return out_cls, found & pool[at], np.where(found, release[at], np.nan)


def _cutoff(values: np.ndarray, rows: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Monotone top-N cutoff and count of defined pool curves on days 1..max_day."""
    max_day, k = values.shape[1] - 1, len(rows)
    raw, count = np.full(max_day, np.nan), np.zeros(max_day, dtype=np.int64)
    step = max(1, _BLOCK // max(k, 1))
    for lo in range(1, max_day + 1, step):
        block = values[rows, lo : lo + step]
        defined = ~np.isnan(block)
        count[lo - 1 : lo - 1 + block.shape[1]] = defined.sum(axis=0)
        if k >= top_n:
            block[~defined] = -np.inf
            block.partition(k - top_n, axis=0)
            raw[lo - 1 : lo - 1 + block.shape[1]] = block[k - top_n]
    raw[count < top_n] = np.nan
    base = np.fmax.accumulate(raw)
    base[np.isnan(raw)] = np.nan
    return base, count


def _median(curves: Curves, rows: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of the as-of top-N models' curves on days 1..max_day, and how many are defined."""
    known = rows[~np.isnan(curves.last_value[rows])]
    by_id = known[np.argsort(curves.model_ids[known], kind="stable")]
    top = by_id[np.argsort(-curves.last_value[by_id], kind="stable")][:top_n]
    if not len(top):
        return np.full(curves.values.shape[1] - 1, np.nan), np.zeros(
            curves.values.shape[1] - 1, np.int64
        )
    block = np.sort(curves.values[top, 1:], axis=0)  # NaN sorts last
    count = (~np.isnan(block)).sum(axis=0)
    lo = np.maximum(count - 1, 0) // 2
    hi = np.maximum(count // 2, lo)
    pick = np.take_along_axis(block, np.stack([lo, hi]), axis=0)
    median = (pick[0] + pick[1]) / 2
    return np.where(count >= math.ceil(top_n / 2), median, np.nan), count


def baseline_arrays(
    curves: Curves,
    models: pd.DataFrame,
    method: str,
    top_n: int,
    aligned: tuple[np.ndarray, np.ndarray] | None = None,
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(class, baseline, n_models) on days 1..max_day for each class with pool members: the
    baselines of RAM_SPEC §3 as arrays (``compute_baselines`` frames them).  ``aligned``: the
    class and pool flag of each curve row when the caller has them (``align``'s first two)."""
    RamParams(method=method, top_n=top_n)
    cls, pool = aligned if aligned is not None else align(curves, models)[:2]
    for label in sorted(set(cls[pool & (cls != UNKNOWN)])):
        rows = np.nonzero(pool & (cls == label))[0]
        if method == "cutoff":
            base, count = _cutoff(curves.values, rows, top_n)
        else:
            base, count = _median(curves, rows, top_n)
        yield label, base, count


def compute_baselines(
    curves: Curves, models: pd.DataFrame, method: str = "cutoff", top_n: int = 10
) -> pd.DataFrame:
    """Baseline of every size class on days 1..max_day (RAM_SPEC §3); defined rows only."""
    baselines, _ = compute_baselines_and_support(curves, models, method, top_n)
    return baselines


def compute_baselines_and_support(
    curves: Curves, models: pd.DataFrame, method: str = "cutoff", top_n: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baselines (defined rows only) and their support: ``n_models`` of every class on every
    day 1..max_day, defined or not (what a leaderboard says of a class without a baseline)."""
    frames, support = [], []
    for label, base, count in baseline_arrays(curves, models, method, top_n):
        ok = np.nonzero(~np.isnan(base))[0]
        frames.append(
            pd.DataFrame(
                {"size_class": label, "day": ok + 1, "baseline": base[ok], "n_models": count[ok]}
            )
        )
        days = np.arange(1, len(count) + 1, dtype=np.int64)
        support.append(pd.DataFrame({"size_class": label, "day": days, "n_models": count}))
    types = {"size_class": str, "day": np.int64, "n_models": np.int64}
    if not frames:
        empty = pd.DataFrame({"size_class": [], "day": [], "baseline": [], "n_models": []})
        return empty.astype({**types, "baseline": np.float64}), empty.drop(
            columns="baseline"
        ).astype(types)
    return pd.concat(frames, ignore_index=True), pd.concat(support, ignore_index=True)


def _baseline_grid(
    baselines: pd.DataFrame, max_day: int
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Baselines (live or frozen) as dense (class, day) grids of value and ``n_models``, NaN
    where undefined (``n_models`` NaN too when the frame does not carry it)."""
    if {"size_class", "day", "baseline"} - set(baselines.columns):
        raise BadInput("baselines frame needs size_class, day and baseline columns")
    labels = pd.Index(pd.unique(baselines["size_class"].astype(str)))
    grid = np.full((len(labels), max_day + 1), np.nan)
    support = np.full((len(labels), max_day + 1), np.nan)
    day = baselines["day"].to_numpy(dtype=np.int64)
    ok = (day >= 0) & (day <= max_day)
    where = labels.get_indexer(pd.Index(baselines["size_class"].astype(str)))
    grid[where[ok], day[ok]] = counts(baselines, "baseline")[ok]
    if "n_models" in baselines.columns:
        support[where[ok], day[ok]] = counts(baselines, "n_models")[ok]
    return labels, grid, support


def _scored(
    curves: Curves,
    models: pd.DataFrame,
    baselines: pd.DataFrame,
    days: np.ndarray,
    last: bool,
    min_pool: int,
    model_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Score cells of every classified model on ``days`` (or only its last scorable one), each
    with its baseline's support ``n_models``, ``in_pool`` and ``thin`` (§3, §4); only the
    rows of ``model_ids`` when given (each model's cells depend on its curve and its class's
    baseline alone, so they are the same either way)."""
    cls, pool, release = align(curves, models)
    labels, grid, support = _baseline_grid(baselines, curves.values.shape[1] - 1)
    klass = labels.get_indexer(pd.Index(cls, dtype=object))
    rows = np.nonzero((klass >= 0) & (cls != UNKNOWN))[0]
    if model_ids is not None:
        rows = rows[np.isin(curves.model_ids[rows], np.asarray(list(model_ids), dtype=object))]
    rows = rows[np.argsort(curves.model_ids[rows], kind="stable")]
    age = day_of(curves.as_of) - release
    parts: list[tuple[np.ndarray, ...]] = [(np.zeros(0, np.int64),) * 2 + (np.zeros(0),) * 3]
    step = max(1, _BLOCK // max(len(days), 1))
    for lo in range(0, len(rows), step):
        r = rows[lo : lo + step]
        c, b = curves.values[np.ix_(r, days)], grid[np.ix_(klass[r], days)]
        n = support[np.ix_(klass[r], days)]
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(c) & (b > 0) & (days[None, :] <= age[r, None])
        if last:
            has = ok.any(axis=1)
            i, j = np.nonzero(has)[0], ok.shape[1] - 1 - ok[:, ::-1].argmax(axis=1)[has]
        else:
            i, j = np.nonzero(ok)
        parts.append((r[i], days[j], c[i, j], b[i, j], n[i, j]))
    r, day, c, b, n = (np.concatenate([p[k] for p in parts]) for k in range(5))
    known = ~np.isnan(n)
    return pd.DataFrame(
        {
            "model_id": curves.model_ids[r].astype(object),
            "size_class": cls[r].astype(object),
            "release_date": release[r].astype(np.int64).astype("datetime64[D]").astype("M8[ns]"),
            "day": day.astype(np.int64),
            "cumulative_downloads": c,
            "baseline": b,
            "ram": c / b,
            "n_models": pd.arrays.IntegerArray(np.where(known, n, 0).astype(np.int64), ~known),
            "in_pool": pool[r].astype(bool),
            # Unknown support (a frozen baseline without it) is not called thin.
            "thin": known & (np.where(known, n, 0) < min_pool),
        }
    )


def score(
    curves: Curves,
    models: pd.DataFrame,
    baselines: pd.DataFrame,
    days: Sequence[int] | None = None,
    min_pool: int = 20,
    model_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """RAM = C / baseline on ``days`` (all of 1..max_day when None), scorable cells only (§4);
    a cell whose baseline rests on fewer than ``min_pool`` curves is ``thin``.  ``model_ids``:
    those models' rows only (the same rows the whole answer holds for them)."""
    if days is None:
        wanted = np.arange(1, curves.values.shape[1], dtype=np.int64)
    else:
        wanted = np.unique(np.asarray(list(days), dtype=np.int64))
        if len(wanted) and wanted[0] < 1:
            raise BadInput(f"day must be >= 1, got {wanted[0]}")
        wanted = wanted[wanted < curves.values.shape[1]]
    return _scored(curves, models, baselines, wanted, False, min_pool, model_ids)


def latest(
    curves: Curves, models: pd.DataFrame, baselines: pd.DataFrame, min_pool: int = 20
) -> pd.DataFrame:
    """Each scored model's RAM on the last day where its curve and its baseline are defined."""
    days = np.arange(1, curves.values.shape[1], dtype=np.int64)
    return _scored(curves, models, baselines, days, True, min_pool)


def find_restatements(obs: pd.DataFrame) -> pd.DataFrame:
    """Counted all-time counts below an earlier one of the same model (rule 4's quality flag)."""
    obs = obs.reset_index(drop=True)
    codes, uniques = pd.factorize(obs["model_id"].astype(str))
    day, value = days_since_epoch(obs["obs_date"]), counts(obs, "downloads_all_time")
    rows = np.flatnonzero((codes >= 0) & ~np.isnan(day))
    tie = observed_at(obs)[rows] if "observed_at" in obs.columns else np.zeros(0)
    m, d = codes[rows], day[rows].astype(np.int64)
    if group_heads(m, d) is None:
        rows = rows[last_of_day(m, d, tie)]
    rows = rows[~np.isnan(value[rows])]
    m, v = codes[rows], value[rows]
    running = v.copy()
    head = np.r_[True, m[1:] != m[:-1]][: len(m)]
    running_max(m, running, head)
    previous = np.r_[np.nan, running[:-1]][: len(m)]
    previous[head] = np.nan
    with np.errstate(invalid="ignore"):
        drop = np.flatnonzero(v < previous)
    out = pd.DataFrame(
        {
            "model_id": np.asarray(uniques, dtype=object)[m[drop]],
            "obs_date": day[rows[drop]].astype(np.int64).astype("datetime64[D]").astype("M8[ns]"),
            "value": v[drop],
            "previous_max": previous[drop],
        }
    )
    return out.sort_values(["model_id", "obs_date"], kind="stable", ignore_index=True)


@dataclass
class RamResult:
    """Curves and baselines of one computation; ``scores()`` defaults to the params' milestones."""

    curves: Curves
    baselines: pd.DataFrame
    params: RamParams
    as_of: date
    models: pd.DataFrame
    # n_models of every class on every day 1..max_day (live pool), defined baseline or not
    support: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUPPORT_COLUMNS))
    _latest: tuple[tuple[object, ...], pd.DataFrame] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def scores(
        self, days: Sequence[int] | None = None, model_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """RAM of every scored model (or of ``model_ids``) on ``days`` (default:
        ``params.milestones``)."""
        wanted = self.params.milestones if days is None else days
        return score(
            self.curves, self.models, self.baselines, wanted, self.params.pool_floor, model_ids
        )

    def latest(self) -> pd.DataFrame:
        """Latest RAM of every scored model (a copy of the one computed for these inputs: a
        report asks for it once per chart)."""
        inputs = (self.curves, self.models, self.baselines, self.params)
        held = self._latest
        if held is None or any(a is not b for a, b in zip(held[0], inputs, strict=True)):
            frame = latest(self.curves, self.models, self.baselines, self.params.pool_floor)
            held = self._latest = (inputs, frame)
        return held[1].copy()


def compute(
    obs: pd.DataFrame,
    models: pd.DataFrame,
    params: RamParams = RamParams(),
    as_of: date | None = None,
    baselines: pd.DataFrame | None = None,
) -> RamResult:
    """Curves plus live baselines, or the given (frozen) ``baselines`` instead."""
    curves = build_curves(obs, models, as_of, params.max_gap_days, params.max_day)
    live, support = compute_baselines_and_support(curves, models, params.method, params.top_n)
    chosen = live if baselines is None else baselines
    return RamResult(curves, chosen, params, curves.as_of, models, support)
