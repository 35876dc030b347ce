"""The Relative Adoption Metric of RAM_SPEC.md: cumulative curves, size-class baselines, scores.

Pure and vectorised (numpy across models; Python loops only over observation rank, size class
or blocks): frames in, arrays and frames out, no I/O.  Dates in output frames are
``datetime64[ns]`` at midnight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ram.errors import BadInput, EmptyStore

DEFAULT_MILESTONES = (7, 14, 30, 60, 90, 180, 365)
METHODS = ("cutoff", "median")
UNKNOWN = "unknown"
SizeScheme = Sequence[tuple[str, float, float | None]]
DEFAULT_SCHEME: tuple[tuple[str, float, float | None], ...] = (
    ("<1B", 0.0, 1.0),
    ("1-5B", 1.0, 5.0),
    ("5-10B", 5.0, 10.0),
    ("10-50B", 10.0, 50.0),
    ("50-100B", 50.0, 100.0),
    ("100-250B", 100.0, 250.0),
    ("250B+", 250.0, None),
)
COARSE_SCHEME: tuple[tuple[str, float, float | None], ...] = (
    ("<1B", 0.0, 1.0),
    ("1-9B", 1.0, 10.0),
    ("10-99B", 10.0, 100.0),
    ("100B+", 100.0, None),
)
SCORE_COLUMNS = [
    "model_id", "size_class", "release_date", "day", "cumulative_downloads", "baseline", "ram",
]  # fmt: skip
BASELINE_COLUMNS = ["size_class", "day", "baseline", "n_models"]
_WINDOW_DAYS = 30
_BLOCK = 1 << 22  # cells per vectorised block: bounds temporaries at ~100 MB whatever the input
_CHUNK = 1 << 22  # observation rows parsed at once, for the same reason


@dataclass(frozen=True)
class RamParams:
    """The tunable parameters of RAM_SPEC §6 (the size scheme lives with the model table)."""

    method: str = "cutoff"
    top_n: int = 10
    max_gap_days: int = 14
    max_day: int = 730
    milestones: tuple[int, ...] = DEFAULT_MILESTONES

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise BadInput(f"unknown RAM method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.top_n < 1 or self.max_gap_days < 1 or self.max_day < 1:
            raise BadInput("top_n, max_gap_days and max_day must be positive integers")
        if any(d < 1 for d in self.milestones):
            raise BadInput("milestone days must be >= 1")


@dataclass
class Curves:
    """Every model's C(d) on days 0..max_day (NaN where undefined), in ``model_ids`` order."""

    model_ids: np.ndarray
    values: np.ndarray
    last_value: np.ndarray
    as_of: date

    def frame(self) -> pd.DataFrame:
        """Long form of the defined cells: model_id, day, cumulative_downloads."""
        rows, days = np.nonzero(~np.isnan(self.values))
        return pd.DataFrame(
            {
                "model_id": self.model_ids[rows],
                "day": days.astype(np.int64),
                "cumulative_downloads": self.values[rows, days],
            }
        )


def size_class_of(params_b: float | None, scheme: SizeScheme = DEFAULT_SCHEME) -> str:
    """Label of the half-open range ``[min, max)`` holding ``params_b``; ``unknown`` if none."""
    if params_b is None or (isinstance(params_b, float) and math.isnan(params_b)):
        return UNKNOWN
    for label, low, high in scheme:
        if params_b >= low and (high is None or params_b < high):
            return label
    return UNKNOWN


def _days(col: pd.Series) -> np.ndarray:
    """Date-likes (any datetime64 unit, tz-aware -> UTC, python dates) as float days since epoch."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind == "M":
        raw = col.to_numpy()
    else:
        raw = pd.to_datetime(col, utc=True).dt.tz_localize(None).to_numpy()
    days = raw.astype("datetime64[D]").view(np.int64)
    out = days.astype(np.float64)
    out[days == np.iinfo(np.int64).min] = np.nan  # NaT
    return out


def _day_of(d: date) -> int:
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def _counts(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A count column as float64 with NaN for unknown (accepts float NaN and nullable Int64)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    num = pd.to_numeric(frame[column], errors="coerce")
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


def _models(models: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Validated model table as (ids index, release day, size class, in_pool)."""
    missing = {"model_id", "release_date", "size_class"} - set(models.columns)
    if missing:
        raise BadInput(f"models frame lacks column(s): {', '.join(sorted(missing))}")
    ids = pd.Index(models["model_id"].astype(str).to_numpy(dtype=object), dtype=object)
    if ids.has_duplicates:
        raise BadInput(f"duplicate model_id in models: {ids[ids.duplicated()][0]}")
    cls = models["size_class"].astype(object).where(models["size_class"].notna(), UNKNOWN)
    pool = models["in_pool"] if "in_pool" in models.columns else pd.Series(True, index=models.index)
    in_pool = pool.astype(object).where(pool.notna(), False).to_numpy(dtype=bool)
    release = _days(models["release_date"].reset_index(drop=True))
    return ids, release, cls.astype(str).to_numpy(dtype=object), in_pool


def _observed_at(frame: pd.DataFrame) -> np.ndarray:
    """``observed_at`` as int64 nanoseconds, NaT first: the tie-break between rows of one day."""
    col = frame["observed_at"]
    if not (isinstance(col.dtype, np.dtype) and col.dtype.kind == "M"):
        col = pd.to_datetime(col, utc=True).dt.tz_localize(None)
    return col.to_numpy().astype("datetime64[ns]").view(np.int64)


def _observations(
    obs: pd.DataFrame, ids: pd.Index, release: np.ndarray, as_of_day: int
) -> tuple[np.ndarray, ...]:
    """Rows that can count (known model, 0 <= d, date <= as-of) as compact arrays in frame order.

    Returns model row, d, all-time count, observed_at key (or empty) and, sparse, the positions and
    30-day counts of rows without an all-time count; parsed in chunks to bound peak memory."""
    n = len(obs)
    m, d, total = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n)
    tie = np.empty(n if "observed_at" in obs.columns else 0, np.int64)
    wpos, wval, size = [np.zeros(0, np.int64)], [np.zeros(0)], 0
    for lo in range(0, n, _CHUNK):
        part = obs.iloc[lo : lo + _CHUNK]
        codes, uniques = pd.factorize(part["model_id"])
        idx = np.r_[ids.get_indexer(pd.Index(uniques, dtype=object).astype(str)), -1][codes]
        day = _days(part["obs_date"])
        with np.errstate(invalid="ignore"):
            since = day - (np.where(idx >= 0, release[idx], np.nan) if len(release) else np.nan)
            rows = np.flatnonzero((day <= as_of_day) & (since >= 0))
        k = len(rows)
        sel = slice(None) if k == len(part) else rows  # the usual case: no copies
        m[size : size + k], d[size : size + k] = idx[sel], since[sel]
        total[size : size + k] = t = _counts(part, "downloads_all_time")[sel]
        w = _counts(part, "downloads_30d")[sel]
        sparse = np.flatnonzero(np.isnan(t) & ~np.isnan(w))
        wpos.append(sparse + size)
        wval.append(w[sparse])
        if len(tie):
            tie[size : size + k] = _observed_at(part)[sel]
        size += k
    tie = tie[:size] if len(tie) else tie
    return m[:size], d[:size], total[:size], tie, np.concatenate(wpos), np.concatenate(wval)


def _dedup(m: np.ndarray, d: np.ndarray, tie: np.ndarray) -> np.ndarray | None:
    """Positions of the row counting for each (model, day), grouped by model in day order.

    None when the rows already are (one per model-day, each model contiguous): no sort needed."""
    if len(m):
        change = m[1:] != m[:-1]
        if np.count_nonzero(change) + 1 == np.count_nonzero(np.bincount(m)) and bool(
            np.all(change | (d[1:] > d[:-1]))
        ):
            return None
    # lexsort is stable: without observed_at the frame order decides between same-day rows.
    order = np.lexsort((tie, d, m) if len(tie) else (d, m))
    ms, ds = m[order], d[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (ms[1:] != ms[:-1]) | (ds[1:] != ds[:-1])
    return order[last]


def _running_max(m: np.ndarray, v: np.ndarray) -> None:
    """Rule 4 in place on points grouped by model in day order, in chunks of whole models."""
    if not len(m):
        return
    starts = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])
    cuts = np.unique(starts[np.searchsorted(starts, np.arange(0, len(m), _CHUNK))])
    for lo, hi in zip(cuts, np.r_[cuts[1:], len(m)], strict=True):
        vs, ms = v[lo:hi], m[lo:hi]
        if np.any((vs[1:] < vs[:-1]) & (ms[1:] == ms[:-1])):  # a restated count in this chunk
            vs[:] = pd.Series(vs).groupby(ms, sort=False).cummax().to_numpy()


def _window_points(
    m: np.ndarray, d: np.ndarray, w: np.ndarray, max_gap_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 3: build window-only curves point by point, vectorised across models by rank."""
    start = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])  # m is sorted
    groups, count = m[start], np.diff(np.r_[start, len(m)])
    nw, slots = len(groups), int(count.max()) + 1
    # Stored slot-major: models move through their slots roughly in step, so each rank's
    # reads are contiguous.  Slot 0 is the anchor (0, 0).
    days = np.zeros((slots, nw), dtype=np.int64)
    vals = np.zeros((slots, nw))
    built = np.ones(nw, dtype=np.int64)
    # d - 30 only grows from one rank to the next, so each model's pointer to the last built
    # point at or before it only moves forward: a few steps per rank instead of a search.
    ptr = np.zeros(nw, dtype=np.int64)
    for rank in range(slots - 1):
        g = np.flatnonzero(count > rank)
        day, value = d[start[g] + rank], w[start[g] + rank]
        late = np.flatnonzero(day >= _WINDOW_DAYS)
        gl, x = g[late], day[late] - _WINDOW_DAYS
        while len(gl):
            nxt = np.minimum(ptr[gl] + 1, slots - 1)
            step = (ptr[gl] + 1 < built[gl]) & (days[nxt, gl] <= x)
            if not step.any():
                break
            ptr[gl[step]] += 1
        j = ptr[gl]
        jn = np.minimum(j + 1, slots - 1)
        d0, v0, d1, v1 = days[j, gl], vals[j, gl], days[jn, gl], vals[jn, gl]
        bridged = (j + 1 < built[gl]) & (d1 - d0 <= max_gap_days)
        with np.errstate(invalid="ignore", divide="ignore"):
            inter = np.where(bridged, v0 + (v1 - v0) * (x - d0) / (d1 - d0), np.nan)
        value[late] += np.where(d0 == x, v0, inter)
        ok = ~np.isnan(value)  # skipped where C(d - 30) is undefined
        g, day, value = g[ok], day[ok], value[ok]
        days[built[g], g] = day
        vals[built[g], g] = np.maximum(value, vals[built[g] - 1, g])
        built[g] += 1
    real = (np.arange(slots)[:, None] < built[None, :]) & (np.arange(slots) > 0)[:, None]
    out_days, out_vals = np.ascontiguousarray(days.T)[real.T], np.ascontiguousarray(vals.T)[real.T]
    return np.repeat(groups, built - 1), out_days, out_vals


def _fill(values: np.ndarray, m: np.ndarray, d: np.ndarray, v: np.ndarray, gap: int) -> None:
    """Rule 5: write points (grouped by model, day order) and bridges of gaps <= ``gap``."""
    width = values.shape[1]
    flat = values.reshape(-1)
    for lo in range(0, len(m), _CHUNK):
        mm, dd = m[lo : lo + _CHUNK], d[lo : lo + _CHUNK]
        ok = dd < width
        flat[mm[ok].astype(np.int64) * width + dd[ok]] = v[lo : lo + _CHUNK][ok]
    step = np.diff(d)
    inner = np.flatnonzero((m[1:] == m[:-1]) & (step > 1) & (step <= gap) & (d[:-1] < width - 1))
    first = np.flatnonzero(np.r_[True, m[1:] != m[:-1]] & (d > 1) & (d <= gap))  # from anchor
    sm, s0, s1 = (
        np.r_[m[inner], m[first]],
        np.r_[d[inner], 0 * first],
        np.r_[d[inner + 1], d[first]],
    )
    v0, v1 = np.r_[v[inner], 0.0 * first], np.r_[v[inner + 1], v[first]]
    seg, k = np.arange(len(sm)), 1
    while len(seg):  # one pass per offset into the gap, every bridged gap at once
        values[sm[seg], s0[seg] + k] = v0[seg] + (v1[seg] - v0[seg]) * k / (s1[seg] - s0[seg])
        k += 1
        seg = seg[(s1[seg] - s0[seg] > k) & (s0[seg] + k < width)]


def build_curves(
    obs: pd.DataFrame,
    models: pd.DataFrame,
    as_of: date | None = None,
    max_gap_days: int = 14,
    max_day: int = 730,
) -> Curves:
    """Rules 1-5 of RAM_SPEC §2 for every model of ``models`` (all-NaN rows if nothing is known)."""
    ids, release, _, _ = _models(models)
    if {"model_id", "obs_date"} - set(obs.columns):
        raise BadInput("observations frame needs model_id and obs_date columns")
    if as_of is not None:
        as_of_day = _day_of(as_of)
    elif obs["obs_date"].notna().any():
        as_of_day = int(np.nanmax(_days(obs["obs_date"])))
    else:
        raise EmptyStore("no observations yet; run `ram snapshot` or `ram import panel` first")
    m, d, total, tie, wpos, wval = _observations(obs, ids, release, as_of_day)
    keep = _dedup(m, d, tie)
    if keep is not None:
        m, d, total = m[keep], d[keep], total[keep]
    direct = ~np.isnan(total)
    has_direct = np.bincount(m, weights=direct, minlength=len(ids)) > 0
    maybe = np.flatnonzero(~direct & ~has_direct[m])
    pos = maybe if keep is None else keep[maybe]
    j = np.minimum(np.searchsorted(wpos, pos), max(len(wpos) - 1, 0))
    hit = wpos[j] == pos if len(wpos) else np.zeros(len(pos), dtype=bool)
    wm, wd, ww = m[maybe[hit]], d[maybe[hit]], wval[j[hit]]
    if not direct.all():
        m, d, total = m[direct], d[direct], total[direct]
    values = np.full((len(ids), max_day + 1), np.nan)
    values[np.flatnonzero(as_of_day - release >= 0), 0] = 0.0  # rule 1, the anchor
    last_value = np.full(len(ids), np.nan)
    np.maximum(total, 0.0, out=total)  # the anchor is the first point of the running maximum
    _running_max(m, total)
    parts = [(m, d, total)]
    if len(wm):
        order = np.lexsort((wd, wm))
        parts.append(_window_points(wm[order], wd[order], ww[order], max_gap_days))
    for pm, pday, pv in parts:
        _fill(values, pm, pday, pv, max_gap_days)
        final = np.r_[pm[1:] != pm[:-1], True] if len(pm) else np.zeros(0, dtype=bool)
        last_value[pm[final]] = pv[final]
    as_of_date: date = np.datetime64(as_of_day, "D").item()
    return Curves(np.asarray(ids, dtype=object), values, last_value, as_of_date)


def _align(curves: Curves, models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Size class, pool flag and release day of each curve row (unknown when not in models)."""
    ids, release, cls, pool = _models(models)
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


def compute_baselines(
    curves: Curves, models: pd.DataFrame, method: str = "cutoff", top_n: int = 10
) -> pd.DataFrame:
    """Baseline of every size class on days 1..max_day (RAM_SPEC §3); defined rows only."""
    RamParams(method=method, top_n=top_n)
    cls, pool, _ = _align(curves, models)
    frames = []
    for label in sorted(set(cls[pool & (cls != UNKNOWN)])):
        rows = np.nonzero(pool & (cls == label))[0]
        if method == "cutoff":
            base, count = _cutoff(curves.values, rows, top_n)
        else:
            base, count = _median(curves, rows, top_n)
        ok = np.nonzero(~np.isnan(base))[0]
        frames.append(
            pd.DataFrame(
                {"size_class": label, "day": ok + 1, "baseline": base[ok], "n_models": count[ok]}
            )
        )
    if not frames:
        return pd.DataFrame({"size_class": [], "day": [], "baseline": [], "n_models": []}).astype(
            {"size_class": str, "day": np.int64, "baseline": np.float64, "n_models": np.int64}
        )
    return pd.concat(frames, ignore_index=True)


def _baseline_grid(baselines: pd.DataFrame, max_day: int) -> tuple[pd.Index, np.ndarray]:
    """Baselines (live or frozen) as a dense (class, day) grid, NaN where undefined."""
    if {"size_class", "day", "baseline"} - set(baselines.columns):
        raise BadInput("baselines frame needs size_class, day and baseline columns")
    labels = pd.Index(pd.unique(baselines["size_class"].astype(str)))
    grid = np.full((len(labels), max_day + 1), np.nan)
    day = baselines["day"].to_numpy(dtype=np.int64)
    ok = (day >= 0) & (day <= max_day)
    where = labels.get_indexer(pd.Index(baselines["size_class"].astype(str)))
    grid[where[ok], day[ok]] = _counts(baselines, "baseline")[ok]
    return labels, grid


def _scored(
    curves: Curves, models: pd.DataFrame, baselines: pd.DataFrame, days: np.ndarray, last: bool
) -> pd.DataFrame:
    """Score cells of every classified model on ``days`` (or only its last scorable one)."""
    cls, _, release = _align(curves, models)
    labels, grid = _baseline_grid(baselines, curves.values.shape[1] - 1)
    klass = labels.get_indexer(pd.Index(cls, dtype=object))
    rows = np.nonzero((klass >= 0) & (cls != UNKNOWN))[0]
    rows = rows[np.argsort(curves.model_ids[rows], kind="stable")]
    age = _day_of(curves.as_of) - release
    parts: list[tuple[np.ndarray, ...]] = [(np.zeros(0, np.int64),) * 2 + (np.zeros(0),) * 2]
    step = max(1, _BLOCK // max(len(days), 1))
    for lo in range(0, len(rows), step):
        r = rows[lo : lo + step]
        c, b = curves.values[np.ix_(r, days)], grid[np.ix_(klass[r], days)]
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(c) & (b > 0) & (days[None, :] <= age[r, None])
        if last:
            has = ok.any(axis=1)
            i, j = np.nonzero(has)[0], ok.shape[1] - 1 - ok[:, ::-1].argmax(axis=1)[has]
        else:
            i, j = np.nonzero(ok)
        parts.append((r[i], days[j], c[i, j], b[i, j]))
    r, day, c, b = (np.concatenate([p[k] for p in parts]) for k in range(4))
    return pd.DataFrame(
        {
            "model_id": curves.model_ids[r].astype(object),
            "size_class": cls[r].astype(object),
            "release_date": release[r].astype(np.int64).astype("datetime64[D]").astype("M8[ns]"),
            "day": day.astype(np.int64),
            "cumulative_downloads": c,
            "baseline": b,
            "ram": c / b,
        }
    )


def score(
    curves: Curves,
    models: pd.DataFrame,
    baselines: pd.DataFrame,
    days: Sequence[int] | None = None,
) -> pd.DataFrame:
    """RAM = C / baseline on ``days`` (all of 1..max_day when None), scorable cells only (§4)."""
    if days is None:
        wanted = np.arange(1, curves.values.shape[1], dtype=np.int64)
    else:
        wanted = np.unique(np.asarray(list(days), dtype=np.int64))
        if len(wanted) and wanted[0] < 1:
            raise BadInput(f"day must be >= 1, got {wanted[0]}")
        wanted = wanted[wanted < curves.values.shape[1]]
    return _scored(curves, models, baselines, wanted, last=False)


def latest(curves: Curves, models: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """Each scored model's RAM on the last day where its curve and its baseline are defined."""
    days = np.arange(1, curves.values.shape[1], dtype=np.int64)
    return _scored(curves, models, baselines, days, last=True)


def find_restatements(obs: pd.DataFrame) -> pd.DataFrame:
    """Counted all-time counts below an earlier one of the same model (rule 4's quality flag)."""
    obs = obs.reset_index(drop=True)
    codes, uniques = pd.factorize(obs["model_id"].astype(str))
    day, value = _days(obs["obs_date"]), _counts(obs, "downloads_all_time")
    rows = np.flatnonzero((codes >= 0) & ~np.isnan(day))
    tie = _observed_at(obs)[rows] if "observed_at" in obs.columns else np.zeros(0)
    keep = _dedup(codes[rows], day[rows].astype(np.int64), tie)
    rows = rows if keep is None else rows[keep]
    rows = rows[~np.isnan(value[rows])]
    m, v = codes[rows], value[rows]
    running = v.copy()
    _running_max(m, running)
    previous = np.r_[np.nan, running[:-1]][: len(m)]
    previous[np.flatnonzero(np.r_[True, m[1:] != m[:-1]][: len(m)])] = np.nan
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

    def scores(self, days: Sequence[int] | None = None) -> pd.DataFrame:
        """RAM of every scored model on ``days`` (default: ``params.milestones``)."""
        wanted = self.params.milestones if days is None else days
        return score(self.curves, self.models, self.baselines, wanted)

    def latest(self) -> pd.DataFrame:
        """Latest RAM of every scored model."""
        return latest(self.curves, self.models, self.baselines)


def compute(
    obs: pd.DataFrame,
    models: pd.DataFrame,
    params: RamParams = RamParams(),
    as_of: date | None = None,
    baselines: pd.DataFrame | None = None,
) -> RamResult:
    """Curves plus live baselines, or the given (frozen) ``baselines`` instead."""
    curves = build_curves(obs, models, as_of, params.max_gap_days, params.max_day)
    if baselines is None:
        baselines = compute_baselines(curves, models, params.method, params.top_n)
    return RamResult(curves, baselines, params, curves.as_of, models)
