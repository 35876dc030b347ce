"""Rules 1-5 of RAM_SPEC §2: every model's cumulative curve C(d) from its observations.

Pure and vectorised (numpy across models; Python loops only over blocks of rows or of days).
Input as ``Store.observations()`` returns it (rows grouped by model in day order, Arrow
strings, ``datetime64`` dates, nullable integer counts) takes fast paths without sorts or
copies; any other order or dtype gives the same curves, a little slower.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ram.config import UNKNOWN
from ram.errors import BadInput, EmptyStore

WINDOW_DAYS = 30
CHUNK = 1 << 22  # observation rows parsed at once: bounds temporaries whatever the input
_NAT = np.iinfo(np.int64).min
_TICKS_PER_DAY = {"D": 1, "h": 24, "m": 1440, "s": 86_400, "ms": 86_400_000,
                  "us": 86_400_000_000, "ns": 86_400_000_000_000}  # fmt: skip


@dataclass
class Curves:
    """Every model's C(d) on days 0..max_day (NaN where undefined), in ``model_ids`` order."""

    model_ids: np.ndarray
    values: np.ndarray
    last_value: np.ndarray
    as_of: date
    # (row, day) of every point the curves were built from (anchors aside), rule 2 and 3 alike:
    # what ``ram.metric.forecast`` needs to recover the curves as known on an earlier date.
    points: tuple[np.ndarray, np.ndarray] | None = None

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


# --- frames to arrays -------------------------------------------------------------------------


def days_since_epoch(col: pd.Series) -> np.ndarray:
    """Date-likes (any datetime64 unit, tz-aware -> UTC, python dates) as float days; NaT: NaN."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind == "M":
        raw = col.to_numpy()
    else:
        raw = pd.to_datetime(col, utc=True).dt.tz_localize(None).to_numpy()
    unit, step = np.datetime_data(raw.dtype)
    ticks = raw.view(np.int64)
    if unit in _TICKS_PER_DAY and _TICKS_PER_DAY[unit] % step == 0:
        days = ticks // (_TICKS_PER_DAY[unit] // step)  # floors, as numpy's unit casts do
    else:
        days = raw.astype("datetime64[D]").view(np.int64)
    out = days.astype(np.float64)
    out[ticks == _NAT] = np.nan
    return out


def day_of(d: date) -> int:
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def counts(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A count column as float64 with NaN for unknown (accepts float NaN and nullable Int64)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return _floats(frame[column])


def _floats(col: pd.Series) -> np.ndarray:
    """A new float64 array (never a view of the frame: the caller may write to it)."""
    num = col if pd.api.types.is_numeric_dtype(col.dtype) else pd.to_numeric(col, errors="coerce")
    return num.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)


def models_table(models: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
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
    release = days_since_epoch(models["release_date"].reset_index(drop=True))
    return ids, release, cls.astype(str).to_numpy(dtype=object), in_pool


def observed_at(frame: pd.DataFrame) -> np.ndarray:
    """``observed_at`` as int64 nanoseconds, NaT first: the tie-break between rows of one day."""
    col = frame["observed_at"]
    if not (isinstance(col.dtype, np.dtype) and col.dtype.kind == "M"):
        col = pd.to_datetime(col, utc=True).dt.tz_localize(None)
    return col.to_numpy().astype("datetime64[ns]").view(np.int64)


def _lookup(ids: pd.Index, values: np.ndarray) -> np.ndarray:
    """Row of ``ids`` holding each value as a string; -1 when absent or missing."""
    at = ids.get_indexer(pd.Index(values, dtype=object).astype(str))
    at[pd.isna(values)] = -1
    return at


def model_runs(col: pd.Series, ids: pd.Index) -> tuple[np.ndarray, np.ndarray | None]:
    """Row of ``ids`` (-1 for unknown or missing ids, int32) of each run of equal values of
    ``col``, and the runs' lengths (None: one value per run).

    The store lists each model's rows together, so Arrow strings are looked up once per run;
    other layouts and dtypes are factorised."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories.to_numpy(dtype=object)
        return np.r_[_lookup(ids, cats), -1].astype(np.int32)[col.cat.codes.to_numpy()], None
    n = len(col)
    if isinstance(col.array, pd.arrays.ArrowExtensionArray) and n > 1:
        arrow = col.array.__arrow_array__()
        change = pc.fill_null(pc.not_equal(arrow[1:], arrow[:-1]), True)
        starts = np.r_[0, pc.indices_nonzero(change).to_numpy().astype(np.int64) + 1]
        if 4 * len(starts) <= n:
            firsts = arrow.take(pa.array(starts)).to_numpy(zero_copy_only=False)
            return _lookup(ids, firsts).astype(np.int32), np.diff(np.r_[starts, n])
    codes, uniques = pd.factorize(col)
    return np.r_[_lookup(ids, np.asarray(uniques, dtype=object)), -1].astype(np.int32)[codes], None


@dataclass
class _Rows:
    """Observations that can count, as compact arrays (see ``_observations``)."""

    m: np.ndarray  # model row (int32)
    d: np.ndarray  # days since release (int32)
    total: np.ndarray  # all-time count, NaN when unknown
    src: np.ndarray | None  # frame position of each row; None when every row counts, in order
    wpos: np.ndarray  # rows without an all-time count but with a 30-day count ...
    wval: np.ndarray  # ... and that count
    as_of: float  # the as-of day: given, else the latest obs_date (NaN when there is none)


def _observations(
    obs: pd.DataFrame, ids: pd.Index, release: np.ndarray, as_of_day: int | None
) -> _Rows:
    """Rows of known models dated from release to the as-of day, in frame order, by chunks."""
    n = len(obs)
    full = n if n > CHUNK else 0  # one chunk keeps its own arrays instead of copying them
    m, d, total = np.empty(full, np.int32), np.empty(full, np.int32), np.empty(full)
    wpos, wval = [np.zeros(0, np.int64)], [np.zeros(0)]
    src: list[tuple[int, int, np.ndarray | None]] = []
    release_of = np.r_[release, np.nan]  # row -1, an unknown model, has no release
    size, latest = 0, np.nan
    for lo in range(0, n, CHUNK):
        part = obs.iloc[lo : lo + CHUNK]
        run_row, length = model_runs(part["model_id"], ids)
        if length is None:
            idx, born = run_row, release_of[run_row]
        else:
            idx, born = np.repeat(run_row, length), np.repeat(release_of[run_row], length)
        day = days_since_epoch(part["obs_date"])
        latest = np.fmax(latest, np.fmax.reduce(day)) if len(day) else latest
        since = day - born
        with np.errstate(invalid="ignore"):
            keep = since >= 0
            if as_of_day is not None:
                keep &= day <= as_of_day
        rows = None if keep.all() else np.flatnonzero(keep)
        sel = slice(None) if rows is None else rows  # the usual case: no copies
        k = len(part) if rows is None else len(rows)
        t = counts(part, "downloads_all_time")[sel]
        if full:
            m[size : size + k], d[size : size + k], total[size : size + k] = idx[sel], since[sel], t
        else:
            m, d, total = idx[sel], since[sel].astype(np.int32), t
        src.append((lo, len(part), rows))
        sparse = np.flatnonzero(np.isnan(t))
        if len(sparse) and "downloads_30d" in part.columns:
            at = sparse if rows is None else rows[sparse]
            w = _floats(part["downloads_30d"].take(at))
            known = ~np.isnan(w)
            wpos.append(sparse[known] + size)
            wval.append(w[known])
        size += k
    positions = None
    if any(rows is not None for _, _, rows in src):
        positions = np.concatenate([lo + (np.arange(k) if r is None else r) for lo, k, r in src])
    as_of = float(latest) if as_of_day is None else float(as_of_day)
    w_at, w_val = np.concatenate(wpos), np.concatenate(wval)
    return _Rows(m[:size], d[:size], total[:size], positions, w_at, w_val, as_of)


def group_heads(m: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """Each model's first row, if rows are one per (model, day), each model's together in day
    order (as the store lists them); None otherwise."""
    head = np.r_[True, m[1:] != m[:-1]] if len(m) else np.zeros(0, dtype=bool)
    firsts = m[head]
    if len(np.unique(firsts)) != len(firsts) or not np.all(head[1:] | (d[1:] > d[:-1])):
        return None
    return head


def last_of_day(m: np.ndarray, d: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Positions of the row counting for each (model, day), grouped by model in day order."""
    # lexsort is stable: without observed_at the frame order decides between same-day rows.
    order = np.lexsort((tie, d, m) if len(tie) else (d, m))
    ms, ds = m[order], d[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (ms[1:] != ms[:-1]) | (ds[1:] != ds[:-1])
    return order[last]


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(lo[i], hi[i])``."""
    length = hi - lo
    return np.repeat(lo - np.cumsum(length) + length, length) + np.arange(length.sum())


def running_max(m: np.ndarray, v: np.ndarray, head: np.ndarray) -> None:
    """Rule 4 in place on points grouped by model in day order: only models with a drop."""
    drop = np.flatnonzero(v[1:] < v[:-1]) + 1
    drop = drop[~head[drop]]
    if not len(drop):
        return
    firsts = np.flatnonzero(head)
    hit = np.unique(np.searchsorted(firsts, drop, side="right") - 1)
    lo, hi = firsts[hit], np.r_[firsts[1:], len(m)][hit]
    rows = _ranges(lo, hi)
    key = np.repeat(np.arange(len(hit)), hi - lo)
    v[rows] = pd.Series(v[rows]).groupby(key, sort=False).cummax().to_numpy()


def window_points(
    m: np.ndarray, d: np.ndarray, w: np.ndarray, max_gap_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 3: window-only curves from rows grouped by model in day order (one per day).

    C(d) = w(d) + C(d - 30) reads a point on day d - 30 or a bridge of at most max_gap_days
    days that ends before day d - 30 + max_gap_days, so the rows of a block of
    31 - max_gap_days days depend on earlier blocks alone: the loop runs over blocks, each
    vectorised across models and days."""
    n = len(m)
    head = np.r_[True, m[1:] != m[:-1]]
    gid = np.cumsum(head) - 1
    ng = len(np.flatnonzero(head))
    # One slot per model (its anchor) and per row; keys (model * span + day) stay sorted while
    # rows are reached: an unreached slot holds a day past any bridge, and a skipped row repeats
    # the point before it, so a search finds the last point at or before a day, then the next.
    span = int(d.max()) + max_gap_days + 3
    slot = np.arange(n) + gid + 1
    anchor = np.flatnonzero(head) + np.arange(ng)
    key = np.repeat(np.arange(ng) * span + span - 1, np.diff(np.r_[anchor, n + ng]))
    key[anchor] -= span - 1
    val = np.zeros(n + ng)
    own_key = gid * span + d
    query = gid * span + np.maximum(d - WINDOW_DAYS, 0)
    late = d >= WINDOW_DAYS
    width = max(1, WINDOW_DAYS + 1 - max_gap_days)
    block = d // width
    order = np.argsort(block, kind="stable")  # blocks in day order, each grouped by model
    ob, og = block[order], gid[order]
    new_block = np.r_[True, ob[1:] != ob[:-1]]
    new_row = new_block | np.r_[True, og[1:] != og[:-1]]
    # Rule 4 runs along a small grid per block: a row per model, column 0 its value before.
    grid_row = np.cumsum(new_row) - 1
    col = d[order] - ob * width + 1
    before = slot[order][new_row] - 1
    taken = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for lo, hi in itertools.pairwise(np.flatnonzero(np.r_[new_block, True])):
            p, c = order[lo:hi], col[lo:hi]
            q = query[p]
            i = np.searchsorted(key, q, side="right") - 1
            k0, v0, dd = key[i], val[i], key[i + 1] - key[i]
            inter = np.where(dd <= max_gap_days, v0 + (val[i + 1] - v0) * (q - k0) / dd, np.nan)
            value = w[p] + np.where(late[p], np.where(q == k0, v0, inter), 0.0)
            r0, r1 = grid_row[lo], grid_row[hi - 1] + 1
            r = grid_row[lo:hi] - r0
            prior = before[r0:r1]
            vgrid = np.full((r1 - r0, width + 1), np.nan)
            vgrid[:, 0] = val[prior]
            vgrid[r, c] = value  # NaN where C(d - 30) is undefined: the row is skipped
            np.fmax.accumulate(vgrid, axis=1, out=vgrid)
            kgrid = np.full((r1 - r0, width + 1), -1, dtype=np.int64)
            kgrid[:, 0] = key[prior]
            ok = ~np.isnan(value)
            kgrid[r, c] = np.where(ok, own_key[p], -1)
            np.maximum.accumulate(kgrid, axis=1, out=kgrid)
            val[slot[p]], key[slot[p]] = vgrid[r, c], kgrid[r, c]
            taken[p] = ok
    return m[taken], d[taken], val[slot[taken]]


def fill(
    values: np.ndarray, m: np.ndarray, d: np.ndarray, v: np.ndarray, head: np.ndarray, gap: int
) -> None:
    """Rule 5: write points (grouped by model in day order, ``head`` marking each model's first)
    and the linear bridges of gaps <= ``gap`` days, the anchor's included."""
    width = values.shape[1]
    flat = values.reshape(-1)
    for lo in range(0, len(m), CHUNK):
        dd, vv = d[lo : lo + CHUNK], v[lo : lo + CHUNK]
        at = m[lo : lo + CHUNK].astype(np.int64)
        at *= width
        at += dd
        if len(dd) and dd.max() >= width:
            ok = dd < width
            at, vv = at[ok], vv[ok]
        flat[at] = vv
    step = np.diff(d)
    inner = np.flatnonzero(step > 1)
    inner = inner[(step[inner] <= gap) & ~head[inner + 1] & (d[inner] < width - 1)]
    first = np.flatnonzero(head)
    first = first[(d[first] > 1) & (d[first] <= gap)]  # bridged from the anchor (0, 0)
    sm = np.r_[m[inner], m[first]]
    s0 = np.r_[d[inner], np.zeros(len(first), d.dtype)].astype(np.int64)
    s1 = np.r_[d[inner + 1], d[first]].astype(np.int64)
    v0, v1 = np.r_[v[inner], np.zeros(len(first))], np.r_[v[inner + 1], v[first]]
    length = np.maximum(np.minimum(s1, width) - s0 - 1, 0)  # the days strictly inside
    seg = np.repeat(np.arange(len(sm)), length)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(length) - length, length) + 1
    values[sm[seg], s0[seg] + k] = v0[seg] + (v1[seg] - v0[seg]) * k / (s1[seg] - s0[seg])


def build_curves(
    obs: pd.DataFrame,
    models: pd.DataFrame,
    as_of: date | None = None,
    max_gap_days: int = 14,
    max_day: int = 730,
) -> Curves:
    """Rules 1-5 of RAM_SPEC §2 for every model of ``models`` (all-NaN rows if nothing is known)."""
    ids, release, _, _ = models_table(models)
    if {"model_id", "obs_date"} - set(obs.columns):
        raise BadInput("observations frame needs model_id and obs_date columns")
    rows = _observations(obs, ids, release, None if as_of is None else day_of(as_of))
    if np.isnan(rows.as_of):
        raise EmptyStore("no observations yet; run `ram snapshot` or `ram import panel` first")
    as_of_day = int(rows.as_of)
    m, d, total, keep = rows.m, rows.d, rows.total, None
    head = group_heads(m, d)
    if head is None:
        tie = observed_at(obs) if "observed_at" in obs.columns else np.zeros(0, np.int64)
        keep = last_of_day(m, d, tie if rows.src is None or not len(tie) else tie[rows.src])
        m, d, total = m[keep], d[keep], total[keep]
        head = np.r_[True, m[1:] != m[:-1]]
    unknown = np.flatnonzero(np.isnan(total))
    wm, wd, ww = m[:0], d[:0], total[:0]
    if len(unknown):
        # Rule 3 is for models without a single all-time count; the others skip such days.
        firsts = np.flatnonzero(head)
        n_rows = np.zeros(len(ids), dtype=np.int64)
        n_rows[m[firsts]] = np.diff(np.r_[firsts, len(m)])
        alone = (n_rows == np.bincount(m[unknown], minlength=len(ids)))[m[unknown]]
        maybe = unknown[alone]
        pos = maybe if keep is None else keep[maybe]
        j = np.minimum(np.searchsorted(rows.wpos, pos), max(len(rows.wpos) - 1, 0))
        hit = rows.wpos[j] == pos if len(rows.wpos) else np.zeros(len(pos), dtype=bool)
        wm, wd, ww = m[maybe[hit]], d[maybe[hit]], rows.wval[j[hit]]
        if not alone.all():
            direct = np.ones(len(m), dtype=bool)
            direct[unknown[~alone]] = False
            m, d, total = m[direct], d[direct], total[direct]
            head = np.r_[True, m[1:] != m[:-1]] if len(m) else head[:0]
    # Rows of window-only models stay among the direct points: all NaN, they write nothing but
    # NaN, and the anchors they cover are set again below.
    values = np.full((len(ids), max_day + 1), np.nan)
    anchored = np.flatnonzero(as_of_day - release >= 0)
    values[anchored, 0] = 0.0  # rule 1, the anchor
    last_value = np.full(len(ids), np.nan)
    np.maximum(total, 0.0, out=total)  # the anchor is the first point of the running maximum
    running_max(m, total, head)
    fill(values, m, d, total, head, max_gap_days)
    point_m, point_d = [m[~np.isnan(total)]], [d[~np.isnan(total)]]
    final = np.r_[head[1:], True] if len(m) else head
    last_value[m[final]] = total[final]
    values[anchored[np.isnan(values[anchored, 0])], 0] = 0.0
    if len(wm):
        wm, wd, ww = window_points(wm, wd, ww, max_gap_days)
        head = np.r_[True, wm[1:] != wm[:-1]] if len(wm) else np.zeros(0, dtype=bool)
        fill(values, wm, wd, ww, head, max_gap_days)
        final = np.r_[head[1:], True] if len(wm) else head
        last_value[wm[final]] = ww[final]
        point_m.append(wm)
        point_d.append(wd)
    pm, pd_ = np.concatenate(point_m).astype(np.int64), np.concatenate(point_d).astype(np.int64)
    inside = pd_ <= max_day
    as_of_date: date = np.datetime64(as_of_day, "D").item()
    return Curves(
        np.asarray(ids, dtype=object), values, last_value, as_of_date, (pm[inside], pd_[inside])
    )
