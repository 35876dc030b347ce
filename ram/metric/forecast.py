"""Reference-class ratio forecasts and their backtest (docs/FORECAST_SPEC.md): pure, vectorised.

A forecast of model ``m`` at day ``t0`` is made on the calendar date ``F = r_m + t0`` from what
was known then: every curve cut to the points dated on or before ``F`` (``Known.as_of``), and
the baselines of those cut curves, computed by ``ram.metric.formula`` itself.  Loops run over
calendar dates, days and classes, never over models: the models of one date are arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ram.config import (
    DEFAULT_BACKTEST_DAYS,
    DEFAULT_HORIZONS,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_MIN_REFERENCE,
    UNKNOWN,
)
from ram.errors import BadInput
from ram.metric.curves import Curves, day_of
from ram.metric.formula import RamParams, align, baseline_arrays

FORECAST_COLUMNS = [
    "model_id", "size_class", "at_day", "horizon", "downloads_p10", "downloads_p50",
    "downloads_p90", "ram_p10", "ram_p50", "ram_p90", "p_top10", "n_reference", "fallback",
]  # fmt: skip
BACKTEST_COLUMNS = [
    "at_day", "horizon", "n", "error_factor", "coverage_80", "n_interval", "spearman", "brier",
    "n_brier",
    "fallback_share", "median_reference", "no_reference",
]  # fmt: skip
QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Known:
    """Curves with their point days, so that any calendar date's knowledge can be recovered.

    RAM_SPEC §2 builds a curve from points in increasing day order (running maximum, the window
    rule reading only earlier days, bridges between neighbours) and never extrapolates: the
    curve built from the observations dated on or before ``F`` equals the full curve up to the
    last point dated on or before ``F``, and is undefined after it.  ``last_point`` finds that
    day for every model at once.
    """

    curves: Curves
    cls: np.ndarray  # size class of each curve row
    pool: np.ndarray  # in the pool (tracked)
    release: np.ndarray  # release day since the epoch (NaN: unknown)
    point_key: np.ndarray  # row * width + day of every point, sorted

    @classmethod
    def of(cls, curves: Curves, models: pd.DataFrame) -> Known:
        if curves.points is None:
            raise BadInput("forecasts need curves built with points=True")
        rows, days = curves.points
        width = curves.values.shape[1]
        key = np.sort(rows.astype(np.int64) * width + days.astype(np.int64))
        klass, pool, release = align(curves, models)
        return cls(curves, klass, pool, release, key)

    @property
    def width(self) -> int:
        return int(self.curves.values.shape[1])

    def last_point(self, rows: np.ndarray, f_day: np.ndarray | int) -> np.ndarray:
        """Per row, the last day with a point dated on or before ``f_day`` (the anchor, day 0,
        counts); -1 when the model was not released by then (or its release is unknown)."""
        return self._last(rows, f_day)[0]

    def _last(self, rows: np.ndarray, f_day: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """``last_point`` and whether it is a real point (not only the anchor)."""
        rel = self.release[rows]
        with np.errstate(invalid="ignore"):
            age = np.where(np.isnan(rel), -1, np.floor(np.asarray(f_day) - rel)).astype(np.int64)
        limit = np.minimum(age, self.width - 1)
        probe = rows.astype(np.int64) * self.width + np.maximum(limit, 0)
        at = np.searchsorted(self.point_key, probe, side="right") - 1
        key = self.point_key[np.maximum(at, 0)] if len(self.point_key) else np.zeros_like(probe)
        real = (at >= 0) & (key // self.width == rows) & (age >= 0)
        last = np.where(real, key % self.width, 0)
        return np.where(age < 0, -1, last), real

    def as_of(self, rows: np.ndarray, f_day: int, width: int) -> Curves:
        """The curves of ``rows`` on days 0..width-1 as built from data dated on or before
        ``f_day`` (RAM_SPEC §2 with ``as_of`` = that date)."""
        last, real = self._last(rows, f_day)
        values = self.curves.values[rows, :width].copy()
        values[np.arange(width)[None, :] > last[:, None]] = np.nan
        last_value = np.full(len(rows), np.nan)
        last_value[real] = self.curves.values[rows[real], last[real]]
        as_of = np.datetime64(int(f_day), "D").item()
        return Curves(self.curves.model_ids[rows], values, last_value, as_of)


def _quantiles(ratios: np.ndarray) -> np.ndarray:
    """p10, p50, p90 with linear interpolation between order statistics (FORECAST_SPEC §3).

    ``np.quantile(ratios, QUANTILES)`` to the bit, without its per-call machinery (a report
    makes some 13,000 of these on small arrays): numpy 2's "linear" method step by step, its
    virtual index ``(n - 1) q``, its clamp of an index at the top to the last value, its
    two-sided interpolation and a NaN answer when a ratio is NaN."""
    n = len(ratios)
    if not n:
        return np.full(len(QUANTILES), np.nan)
    ordered = np.sort(ratios).tolist()
    if math.isnan(ordered[-1]):  # NaN sorts last
        return np.full(len(QUANTILES), np.nan)
    out = []
    for q in QUANTILES:
        virtual = (n - 1) * q
        if virtual >= n - 1:  # numpy takes index -1 and gamma = virtual + 1
            below = above = n - 1
            gamma = virtual + 1
        else:
            below = math.floor(virtual)
            above, gamma = below + 1, virtual - below
        a, b = ordered[below], ordered[above]
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return np.array(out)


def _baselines_at(
    known: Known, f_day: int, horizons: Sequence[int], params: RamParams, models: pd.DataFrame
) -> dict[tuple[str, int], float]:
    """``baseline^F_c(H)`` of every class and horizon: the formula on the pool's cut curves."""
    pool = np.flatnonzero(known.pool & (known.cls != UNKNOWN))
    cut = known.as_of(pool, f_day, max(horizons) + 1)
    out = {}
    # the cut curves are rows ``pool`` of the known ones: their classes are known already
    aligned = (known.cls[pool], known.pool[pool])
    for label, base, _ in baseline_arrays(cut, models, params.method, params.top_n, aligned):
        for h in horizons:  # base[i] is day i + 1
            if not np.isnan(base[h - 1]):
                out[(str(label), int(h))] = float(base[h - 1])
    return out


def _known_from(known: Known, rows: np.ndarray, width: int) -> np.ndarray:
    """Per row and day ``0..width-1``: the first calendar day (since the epoch) on which that
    day's curve value was known, that is the release day plus the row's first point day at or
    after it (``Known.as_of`` keeps day ``d`` exactly when such a point is dated by then); inf
    when never (no later point, or the release is unknown)."""
    w = known.width
    keys = known.point_key
    probe = rows.astype(np.int64)[:, None] * w + np.arange(width, dtype=np.int64)[None, :]
    at = np.searchsorted(keys, probe, side="left")
    key = keys[np.minimum(at, len(keys) - 1)] if len(keys) else np.zeros_like(probe)
    found = (at < len(keys)) & (key // w == rows.astype(np.int64)[:, None])
    day = np.where(found, (key % w).astype(np.float64), np.inf)
    out = known.release[rows][:, None] + day
    out[np.isnan(out)] = np.inf
    return out


def _cutoff_sweep(
    values: np.ndarray, since: np.ndarray, f_days: np.ndarray, top_n: int
) -> np.ndarray:
    """The raw top-``top_n`` cutoff (RAM_SPEC §3) of one class's pool on each date of
    ``f_days`` (ascending) and day: the ``top_n``-th largest value among the curves whose value
    on that day was known by that date (``since``, ``_known_from``); NaN when fewer are.

    Equal, float for float, to ``formula``'s cutoff of the curves cut at each date (it selects
    values, it computes none), in one pass over the pool instead of one per date: sorted by the
    date each value became known, a running top-``top_n`` per day gives the cutoff after every
    arrival, and each date reads the one after its last arrival."""
    n, m = values.shape
    defined = ~np.isnan(values) & np.isfinite(since)
    when = np.where(defined, since, np.inf)
    order = np.argsort(when, axis=0, kind="stable")
    when = np.take_along_axis(when, order, axis=0)
    vals = np.take_along_axis(np.where(defined, values, -np.inf), order, axis=0)
    kth = np.full((n, m), np.nan)
    best = np.full((top_n, m), -np.inf)  # the top_n largest so far of each day
    cols = np.arange(m)
    for j in range(n):
        low = best.argmin(axis=0)
        new = vals[j]
        up = new > best[low, cols]
        best[low[up], cols[up]] = new[up]
        if j + 1 >= top_n:
            kth[j] = best.min(axis=0)
    out = np.full((len(f_days), m), np.nan)
    for d in range(m):
        seen = np.searchsorted(when[:, d], f_days, side="right")  # values known by each date
        ok = seen >= top_n
        out[ok, d] = kth[seen[ok] - 1, d]
    return out


SWEEP_MIN_DATES = 8  # fewer forecast dates: the formula on each date's cut curves is cheaper


class _Knowledge:
    """What was known of the pool's curves on each forecast date: the curve values of any day
    (``column``) and every class's baselines at the horizons (``baselines``).

    ``Known.as_of`` answers one date by copying and masking the pool's curves, then the formula
    recomputes the baselines; a backtest asks hundreds of dates.  Here each pool value carries
    the date it became known (``_known_from``), so a column of any date is one comparison, and
    under ``cutoff`` the baselines of every date come from one sweep (``_cutoff_sweep``).  Under
    ``median``, or for a few dates, the baselines are the formula's on each date's cut curves."""

    def __init__(
        self,
        known: Known,
        pool: np.ndarray,
        f_days: np.ndarray,
        horizons: Sequence[int],
        params: RamParams,
        models: pd.DataFrame,
    ) -> None:
        width = max(horizons) + 1
        self.known, self.pool, self.horizons = known, pool, list(horizons)
        self.params, self.models = params, models
        self.values = known.curves.values[pool, :width]
        self.since = _known_from(known, pool, width)
        self.f_days = np.asarray(f_days, dtype=np.int64)
        self._swept: dict[str, np.ndarray] | None = None
        if params.method == "cutoff" and len(self.f_days) >= SWEEP_MIN_DATES:
            self._swept = self._sweep()

    def _sweep(self) -> dict[str, np.ndarray]:
        """Per class, the baselines ``[date, day - 1]`` of every date (``formula._cutoff``:
        the running maximum of the raw cutoff, defined where the raw cutoff is)."""
        klass = self.known.cls[self.pool]
        out = {}
        for label in sorted(set(klass)):
            mine = klass == label
            raw = _cutoff_sweep(
                self.values[mine, 1:], self.since[mine, 1:], self.f_days, self.params.top_n
            )
            base = np.fmax.accumulate(raw, axis=1)
            base[np.isnan(raw)] = np.nan
            out[str(label)] = base
        return out

    def column(self, f_day: int, day: int) -> np.ndarray:
        """The pool's curve values on ``day`` as known on ``f_day`` (NaN: not known then)."""
        return np.where(self.since[:, day] <= f_day, self.values[:, day], np.nan)

    def baselines(self, f_day: int) -> dict[tuple[str, int], float]:
        """``baseline^F_c(H)`` of every class and horizon (``_baselines_at``)."""
        if self._swept is None:
            return _baselines_at(self.known, f_day, self.horizons, self.params, self.models)
        i = int(np.searchsorted(self.f_days, f_day))
        out = {}
        for label, base in self._swept.items():
            for h in self.horizons:
                if not np.isnan(base[i, h - 1]):
                    out[(label, int(h))] = float(base[i, h - 1])
        return out


def forecast(
    known: Known,
    models: pd.DataFrame,
    targets: pd.DataFrame,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    params: RamParams = RamParams(),
    min_reference: int = DEFAULT_MIN_REFERENCE,
    min_interval: int = DEFAULT_MIN_INTERVAL,
) -> pd.DataFrame:
    """FORECAST_SPEC §1-3 for each ``targets`` row (``model_id``, ``at_day``) and horizon above
    its ``at_day``; rows without the model's own count on that day are left out."""
    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1 or horizons[-1] > known.width - 1:
        raise BadInput(f"horizons must be days 1..{known.width - 1} (ram.max_day)")
    ids = pd.Index(known.curves.model_ids, dtype=object)
    row = ids.get_indexer(pd.Index(targets["model_id"].astype(str), dtype=object))
    t0 = targets["at_day"].to_numpy(dtype=np.int64)
    with np.errstate(invalid="ignore"):
        f_day = known.release[np.maximum(row, 0)] + t0
    usable = (row >= 0) & (t0 >= 1) & ~np.isnan(f_day) & (t0 < horizons[-1])
    usable &= f_day <= day_of(known.curves.as_of)
    usable[usable] &= known.cls[row[usable]] != UNKNOWN
    r, t, f = row[usable], t0[usable], f_day[usable].astype(np.int64)
    own = known.last_point(r, f) == t  # the model's point on its day t0, dated F
    r, t, f = r[own], t[own], f[own]
    x = known.curves.values[r, t]
    pool = np.flatnonzero(known.pool & (known.cls != UNKNOWN))
    # classes as integer codes (sorted labels): one comparison per group, not one per string
    labels, codes = np.unique(np.concatenate([known.cls[pool], known.cls[r]]).astype(str),
                              return_inverse=True)  # fmt: skip
    pool_code, row_code = codes[: len(pool)], codes[len(pool) :]
    dates = np.unique(f)
    then = _Knowledge(known, pool, dates, horizons, params, models)
    made = _Made()
    # each class's pool members, once (a group compares the classes it holds, not every label)
    members = {int(c): pool_code == c for c in np.unique(row_code)}
    for day in dates:
        on_day = f == day
        base = then.baselines(int(day))
        columns = {d: then.column(int(day), d) for d in (*np.unique(t[on_day]), *horizons)}
        for start in np.unique(t[on_day]):
            at = np.flatnonzero(on_day & (t == start))
            later = [h for h in horizons if h > start]
            if not later:
                continue
            # the pool's ratios C(h) / C(t0) for every later horizon at once, element by
            # element what one horizon's computation gives
            first, ends = columns[start], np.stack([columns[h] for h in later])
            with np.errstate(invalid="ignore"):
                ok = (first > 0) & ~np.isnan(ends)
            ratios = np.where(ok, ends / np.where(ok, first, 1.0), np.nan)
            for k, h in enumerate(later):
                group = (r[at], row_code[at], int(start), h, x[at])
                cut = (ok[k], ratios[k])
                _one_group(made, labels, members, cut, group, base, (min_reference, min_interval))
    if not made.rows:
        return _empty()
    out = made.frame(known)
    return out.sort_values(["model_id", "at_day", "horizon"], kind="stable").reset_index(drop=True)


@dataclass
class _Made:
    """The forecasts made so far, one entry per group (a date, a ``t0``, a horizon, a class):
    its models, their counts on ``t0``, and what the group shares (quantile ratios, baseline,
    references).  ``frame`` turns them into ``FORECAST_COLUMNS`` at once."""

    rows: list[np.ndarray] = field(default_factory=list)
    x: list[np.ndarray] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    t0: list[int] = field(default_factory=list)
    h: list[int] = field(default_factory=list)
    q: list[np.ndarray] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    reach: list[np.ndarray] = field(default_factory=list)
    n_reference: list[int] = field(default_factory=list)
    fallback: list[bool] = field(default_factory=list)

    def frame(self, known: Known) -> pd.DataFrame:
        n = np.array([len(rows) for rows in self.rows], dtype=np.int64)
        x = np.concatenate(self.x)
        dl = x[:, None] * np.repeat(np.stack(self.q), n, axis=0)
        b = np.repeat(np.asarray(self.b, dtype=np.float64), n)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            ram = np.where(b > 0, dl / b, np.nan)
        return pd.DataFrame(
            {
                "model_id": known.curves.model_ids[np.concatenate(self.rows)].astype(object),
                "size_class": np.repeat(np.asarray(self.label, dtype=object), n),
                "at_day": np.repeat(np.asarray(self.t0, dtype=np.int64), n),
                "horizon": np.repeat(np.asarray(self.h, dtype=np.int64), n),
                "downloads_p10": dl[:, 0],
                "downloads_p50": dl[:, 1],
                "downloads_p90": dl[:, 2],
                "ram_p10": ram[:, 0],
                "ram_p50": ram[:, 1],
                "ram_p90": ram[:, 2],
                "p_top10": np.concatenate(self.reach),
                "n_reference": np.repeat(np.asarray(self.n_reference, dtype=np.int64), n),
                "fallback": np.repeat(np.asarray(self.fallback, dtype=bool), n),
            }
        )


def _one_group(
    made: _Made,
    labels: np.ndarray,
    members: dict[int, np.ndarray],
    cut: tuple[np.ndarray, np.ndarray],
    group: tuple[np.ndarray, np.ndarray, int, int, np.ndarray],
    base: dict[tuple[str, int], float],
    minimums: tuple[int, int],
) -> None:
    """Forecasts of ``rows`` (one calendar date, one ``t0``) at horizon ``h``, per class, added
    to ``made``, from ``cut``: which pool curves have a ratio C(h) / C(t0) as known on that
    date, and the ratios (NaN elsewhere); ``members``: each class code's pool mask (codes
    into ``labels``); ``minimums`` are ``min_reference`` (else every class's references) and
    ``min_interval`` (else no p10, p90 or P(top 10))."""
    rows, row_code, t0, h, x = group  # the models, their classes, t0, the horizon, C(t0)
    min_reference, min_interval = minimums
    ok, ratio = cut
    for code in np.unique(row_code):
        label = str(labels[code])
        mine = row_code == code
        refs = ratio[ok & members[int(code)]]
        fallback = len(refs) < min_reference
        if fallback:
            refs = ratio[ok]
        q = _quantiles(refs)
        few = len(refs) < min_interval  # a spread of a handful of ratios is no interval
        if few:
            q[[0, 2]] = np.nan
        b = base.get((label, h), np.nan)
        xs = x[mine]
        scored = len(refs) and b > 0 and not few
        if scored:
            reach = (xs[:, None] * refs[None, :] >= b).mean(axis=1)
        else:
            reach = np.full(len(xs), np.nan)
        made.rows.append(rows[mine])
        made.x.append(xs)
        made.label.append(label)
        made.t0.append(t0)
        made.h.append(h)
        made.q.append(q)
        made.b.append(b)
        made.reach.append(reach)
        made.n_reference.append(len(refs))
        made.fallback.append(fallback)


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: [] for c in FORECAST_COLUMNS})
    return frame.astype(
        {"model_id": object, "size_class": object, "at_day": np.int64, "horizon": np.int64}
        | {c: np.float64 for c in FORECAST_COLUMNS[4:11]}
        | {"n_reference": np.int64, "fallback": bool}
    )


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation with average ranks for ties; NaN below 3 pairs or without variation."""
    if len(a) < 3:
        return float("nan")
    ra = pd.Series(a).rank(method="average").to_numpy()
    rb = pd.Series(b).rank(method="average").to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def backtest(
    known: Known,
    models: pd.DataFrame,
    live_baselines: pd.DataFrame,
    at_days: Sequence[int] = DEFAULT_BACKTEST_DAYS,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    params: RamParams = RamParams(),
    min_reference: int = DEFAULT_MIN_REFERENCE,
    min_interval: int = DEFAULT_MIN_INTERVAL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """FORECAST_SPEC §4: the summary per ``(at_day, horizon)`` and every forecast with its
    actual ``C(H)`` (``actual``) and outcome (``top10``: actual at or above the live baseline)."""
    pool = np.flatnonzero(known.pool & (known.cls != UNKNOWN) & ~np.isnan(known.release))
    targets = pd.DataFrame(
        {
            "model_id": np.repeat(known.curves.model_ids[pool], len(at_days)),
            "at_day": np.tile(np.asarray(sorted(set(at_days)), dtype=np.int64), len(pool)),
        }
    )
    fc = forecast(known, models, targets, horizons, params, min_reference, min_interval)
    ids = pd.Index(known.curves.model_ids, dtype=object)
    row = ids.get_indexer(pd.Index(fc["model_id"], dtype=object))
    fc["actual"] = known.curves.values[row, fc["horizon"].to_numpy(dtype=np.int64)]
    live = live_baselines.set_index(["size_class", "day"])["baseline"]
    keys = pd.MultiIndex.from_arrays([fc["size_class"], fc["horizon"]])
    final = live.reindex(keys).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        top = np.where(np.isnan(final), np.nan, (fc["actual"].to_numpy() >= final).astype(float))
    fc["top10"] = pd.Series(top, index=fc.index).astype("boolean")
    fc = fc[fc["actual"].notna()].reset_index(drop=True)
    rows = [
        _summary(t, h, fc[(fc["at_day"] == t) & (fc["horizon"] == h)])
        for t in sorted(set(at_days))
        for h in sorted(set(horizons))
        if h > t
    ]
    summary = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    ints = ("at_day", "horizon", "n", "n_interval", "n_brier", "no_reference")
    return summary.astype(dict.fromkeys(ints, np.int64)), fc


def _summary(t0: int, h: int, g: pd.DataFrame) -> dict[str, object]:
    """One backtest row (FORECAST_SPEC §4) over the forecasts ``g`` of one ``(t0, H)``."""
    known = g["downloads_p50"].notna().to_numpy()
    actual, p50 = g["actual"].to_numpy()[known], g["downloads_p50"].to_numpy()[known]
    p10, p90 = g["downloads_p10"].to_numpy()[known], g["downloads_p90"].to_numpy()[known]
    ranged = ~np.isnan(p10)
    pos = (actual > 0) & (p50 > 0)
    err = np.abs(np.log(actual[pos] / p50[pos]))
    scored = (g["p_top10"].notna() & g["top10"].notna()).to_numpy()
    p_top = g["p_top10"].to_numpy()[scored]
    outcome = g["top10"].to_numpy(dtype=float, na_value=np.nan)[scored]
    refs = g["n_reference"].to_numpy()[known]
    return {
        "at_day": t0,
        "horizon": h,
        "n": int(known.sum()),
        "error_factor": float(np.exp(np.median(err))) if len(err) else np.nan,
        "coverage_80": (
            float(((p10 <= actual) & (actual <= p90))[ranged].mean()) if ranged.any() else np.nan
        ),
        "n_interval": int(ranged.sum()),
        "spearman": _spearman(p50, actual),
        "brier": float(((p_top - outcome) ** 2).mean()) if scored.any() else np.nan,
        "n_brier": int(scored.sum()),
        "fallback_share": float(g["fallback"].to_numpy()[known].mean()) if known.any() else np.nan,
        "median_reference": float(np.median(refs)) if len(refs) else np.nan,
        "no_reference": int((~known).sum()),
    }
