"""Synthetic download panels shaped like a long-running tracker's store, for the benchmarks.

Each model has up to ``n_days`` daily snapshots from its release on: fast early growth that
slows, heavy-tailed sizes of adoption, weekly rhythm and noise, collector outages, sparse and
late-starting histories, downward restatements, window-only models, untracked and unknown-size
models.  Frames have the dtypes ``Store.observations()`` and ``api.analyse`` hand the metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# label, min and max params (billions), share of models, log-median of 2-year downloads.
CLASSES: tuple[tuple[str, float, float, float, float], ...] = (
    ("<1B", 0.05, 1.0, 0.14, 8.5),
    ("1-5B", 1.0, 5.0, 0.24, 9.0),
    ("5-10B", 5.0, 10.0, 0.24, 9.0),
    ("10-50B", 10.0, 50.0, 0.20, 8.5),
    ("50-100B", 50.0, 100.0, 0.08, 8.0),
    ("100-250B", 100.0, 250.0, 0.04, 7.5),
    ("250B+", 250.0, 1100.0, 0.04, 7.5),
)
UNKNOWN_SHARE = 0.02
SIGMA = 2.2  # spread of log downloads: the top model of 2,000 has ~1,000x the median's
START = np.datetime64("2024-01-01", "D")
# Collector outages as (fraction of the calendar span, days): short ones are bridged, long not.
OUTAGES = ((0.14, 3), (0.33, 21), (0.62, 6), (0.82, 40))
SHARES = {"window_only": 0.01, "sparse": 0.05, "late_start": 0.04, "restated": 0.01}
UNTRACKED_SHARE = 0.05
MISSED_DAY_SHARE = 0.01
_BLOCK = 2048  # models generated at once; fixed so that a seed always gives the same panel


@dataclass(frozen=True)
class Panel:
    """Observations (store layout) and the model table ``metric.compute`` takes."""

    obs: pd.DataFrame
    models: pd.DataFrame
    n_days: int

    @property
    def rows(self) -> int:
        return len(self.obs)


@dataclass(frozen=True)
class _Models:
    ids: np.ndarray
    klass: np.ndarray  # index into CLASSES, len(CLASSES) for unknown size
    params_b: np.ndarray
    offset: np.ndarray  # release day, counted from START
    scale: np.ndarray
    tau: np.ndarray
    early: np.ndarray
    kind: np.ndarray  # 0 plain, 1 window-only, 2 sparse, 3 late start, 4 restated
    cadence: np.ndarray
    first_day: np.ndarray
    restate_day: np.ndarray
    restate_factor: np.ndarray
    jitter_s: np.ndarray
    tracked: np.ndarray


def _draw_models(n: int, n_days: int, rng: np.random.Generator) -> _Models:
    shares = np.array([c[3] for c in CLASSES] + [UNKNOWN_SHARE])
    klass = rng.choice(len(shares), size=n, p=shares / shares.sum())
    low = np.array([c[1] for c in CLASSES] + [1.0])[klass]
    high = np.array([c[2] for c in CLASSES] + [2.0])[klass]
    params = np.exp(rng.uniform(np.log(low), np.log(high)))
    params = np.where(klass == len(CLASSES), np.nan, np.round(params, 2))
    mu = np.array([c[4] for c in CLASSES] + [8.0])[klass]
    kind = np.zeros(n, dtype=np.int64)
    perm, at = rng.permutation(n), 0
    for code, share in enumerate(SHARES.values(), start=1):
        k = max(1, round(share * n)) if n >= 50 else 0
        kind[perm[at : at + k]] = code
        at += k
    names = [
        f"org{k % max(1, n // 15):04d}/model-{k:06d}" + ("" if np.isnan(p) else f"-{p:g}B")
        for k, p in enumerate(params)
    ]
    ids = np.array(names, dtype=object)
    order = np.argsort(ids, kind="stable")  # the store lists models in id order
    drawn = _Models(
        ids=ids,
        klass=klass,
        params_b=params,
        offset=rng.integers(0, n_days, size=n),
        scale=np.exp(rng.normal(mu, SIGMA)),
        tau=np.clip(np.exp(rng.normal(np.log(25.0), 0.6, size=n)), 3.0, 200.0),
        early=rng.uniform(0.4, 0.95, size=n),
        kind=kind,
        cadence=rng.choice([2, 3, 5, 7], size=n),
        first_day=rng.integers(15, 91, size=n),
        restate_day=rng.integers(min(60, n_days - 1), max(61, n_days - 60), size=n),
        restate_factor=rng.uniform(0.8, 0.95, size=n),
        jitter_s=rng.integers(0, 3600, size=n),
        tracked=rng.random(n) >= UNTRACKED_SHARE,
    )
    return _Models(*(getattr(drawn, f)[order] for f in _Models.__dataclass_fields__))


def _block(
    ms: _Models, lo: int, hi: int, n_days: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observed rows of models ``lo:hi``: model row, calendar day, all-time and 30-day counts."""
    rng = np.random.default_rng([seed, 1, lo // _BLOCK])
    sl = slice(lo, hi)
    d = np.arange(n_days, dtype=np.float64)[None, :]
    tau, early = ms.tau[sl, None], ms.early[sl, None]
    share = early * (1 - np.exp(-(d + 1) / tau)) + (1 - early) * (d + 1) / n_days
    cal = ms.offset[sl, None] + np.arange(n_days)[None, :]
    weekday = (cal + int((START.astype(np.int64) + 3) % 7)) % 7  # 0 = Monday
    rhythm = np.where(weekday >= 5, 0.75, 1.0) * rng.lognormal(0.0, 0.35, size=share.shape)
    daily = np.diff(share, axis=1, prepend=0.0) * rhythm * ms.scale[sl, None]
    cum = np.floor(np.cumsum(daily, axis=1))
    window = cum.copy()
    window[:, 30:] -= cum[:, :-30]
    kind = ms.kind[sl, None]
    late = d >= ms.restate_day[sl, None]
    total = np.where((kind == 4) & late, np.floor(cum * ms.restate_factor[sl, None]), cum)
    total[ms.kind[sl] == 1] = np.nan
    seen = rng.random(share.shape) >= MISSED_DAY_SHARE
    span = 2 * n_days
    for where, length in OUTAGES:
        start = int(where * span)
        seen &= (cal < start) | (cal >= start + length)
    seen &= (kind != 2) | (cal % ms.cadence[sl, None] == 0)
    seen &= (kind != 3) | (d >= ms.first_day[sl, None])
    i, j = np.nonzero(seen)
    return (i + lo).astype(np.int32), cal[i, j].astype(np.int32), total[i, j], window[i, j]


def _counts(values: np.ndarray) -> pd.arrays.IntegerArray:
    unknown = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(unknown, 0, values).astype(np.int64), unknown)


def generate(n_models: int, n_days: int = 730, seed: int = 0) -> Panel:
    """A deterministic panel of ``n_models`` models with up to ``n_days`` daily snapshots each."""
    if n_models < 1 or n_days < 31:
        raise ValueError("need at least one model and 31 days")
    ms = _draw_models(n_models, n_days, np.random.default_rng(seed))
    names = pa.array(ms.ids.tolist(), type=pa.large_string())
    chunks, parts = [], []
    for lo in range(0, n_models, _BLOCK):
        m, cal, total, window = _block(ms, lo, min(lo + _BLOCK, n_models), n_days, seed)
        chunks.append(pc.take(names, pa.array(m)))
        parts.append((m, cal, total, window))
    m = np.concatenate([p[0] for p in parts])
    day = START + np.concatenate([p[1] for p in parts]).astype("timedelta64[D]")
    obs_date = day.astype("datetime64[us]")
    stamp = np.timedelta64(6, "h") + ms.jitter_s[m].astype("timedelta64[s]")
    obs = pd.DataFrame(
        {
            "model_id": pd.array(pa.chunked_array(chunks), dtype="str"),
            "obs_date": obs_date,
            "observed_at": obs_date + stamp.astype("timedelta64[us]"),
            "downloads_all_time": _counts(np.concatenate([p[2] for p in parts])),
            "downloads_30d": _counts(np.concatenate([p[3] for p in parts])),
        }
    )
    labels = np.array([c[0] for c in CLASSES] + ["unknown"], dtype=object)
    models = pd.DataFrame(
        {
            "model_id": pd.array(ms.ids, dtype="str"),
            "release_date": (START + ms.offset.astype("timedelta64[D]")).astype("datetime64[us]"),
            "size_class": labels[ms.klass],
            "in_pool": ms.tracked,
            "params_b": ms.params_b,
        }
    )
    return Panel(obs, models, n_days)
