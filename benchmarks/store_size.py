"""How big the store is per million observations, and how it grows with daily snapshots.

A store of ``--models`` models (default 2,000) with ``--days`` days of history (default 730) is
written the way the tracker writes it, one ``Store.save`` per day, with Hub-like repo ids (the
real ids of ATOM's catalog), then ``--grow`` (default 30) more daily snapshots of the same size.
Reported, in one run:

* MiB per million observations of the store as written, and of the same rows in a table that
  keeps the old primary key on ``(model_id, obs_date, source)`` (schema 1), as a ratio;
* the file's growth over the extra snapshots, against the growth of the data itself.

    python -m benchmarks.store_size [--models N] [--days D] [--grow G]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from benchmarks import synth
from ram.catalog import load_catalog
from ram.store.database import OBS_COLUMNS, RunRecord, Store

MiB = 2**20


def hub_like_ids(n: int) -> list[str]:
    """``n`` distinct real-looking repo ids: the catalog's, then the catalog's with a suffix."""
    real = sorted(load_catalog().model_ids)
    ids = [
        real[k % len(real)] + ("" if k < len(real) else f"-v{k // len(real) + 1}") for k in range(n)
    ]
    return sorted(ids)


def panel(n_models: int, n_days: int) -> pd.DataFrame:
    """Synthetic observations (``benchmarks.synth``) under Hub-like ids, source ``hub``."""
    generated = synth.generate(n_models, n_days=n_days)
    rename = dict(zip(sorted(generated.models["model_id"]), hub_like_ids(n_models), strict=True))
    obs = generated.obs.copy()
    obs["model_id"] = obs["model_id"].map(rename)
    obs["source"] = "hub"
    return obs


def _day_runs(obs: pd.DataFrame) -> list[tuple[dt.date, pd.DataFrame]]:
    return [(pd.Timestamp(d).date(), part) for d, part in obs.groupby("obs_date", sort=True)]


def write_daily(db: Path, obs: pd.DataFrame) -> float:
    """Write ``obs`` one day per run through ``Store.save``; seconds taken."""
    start = time.perf_counter()
    with Store.open(db) as store:
        for day, part in _day_runs(obs):
            at = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
            store.save(RunRecord(kind="snapshot", source="hub", started_at=at), None, part)
    return time.perf_counter() - start


def keyed_copy(db: Path, obs: pd.DataFrame) -> None:
    """The same rows in schema 1's layout: the primary key on (model_id, obs_date, source)."""
    columns = ", ".join(f"{k} {v}" for k, v in OBS_COLUMNS.items())
    con = duckdb.connect(str(db))
    try:
        con.execute(
            f"CREATE TABLE observations ({columns}, PRIMARY KEY (model_id, obs_date, source))"
        )
        frame = obs.reindex(columns=list(OBS_COLUMNS))
        for _, part in _day_runs(frame):
            con.register("part", part)
            con.execute("INSERT INTO observations SELECT * FROM part")
            con.unregister("part")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def next_snapshots(history: pd.DataFrame, days: int) -> pd.DataFrame:
    """``days`` daily snapshots after the history, each of every model (the size of a live day)."""
    last = history.sort_values("obs_date").groupby("model_id").tail(1).reset_index(drop=True)
    parts = []
    for k in range(1, days + 1):
        part = last.copy()
        shift = pd.Timedelta(days=k)
        part["obs_date"] = history["obs_date"].max() + shift
        part["observed_at"] = part["obs_date"] + pd.Timedelta(hours=6)
        part["downloads_all_time"] = part["downloads_all_time"] + 1_000 * k
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def measure(n_models: int, n_days: int, grow: int) -> dict[str, Any]:
    history = panel(n_models, n_days)
    extra = next_snapshots(history, grow)
    with tempfile.TemporaryDirectory() as tmp:
        store, keyed = Path(tmp) / "store.duckdb", Path(tmp) / "keyed.duckdb"
        seconds = write_daily(store, history)
        size = store.stat().st_size
        keyed_copy(keyed, history)
        keyed_size = keyed.stat().st_size
        grow_seconds = write_daily(store, extra)
        grown = store.stat().st_size
    millions = len(history) / 1e6
    return {
        "models": n_models,
        "days": n_days,
        "observations": len(history),
        "mib_per_million": size / MiB / millions,
        "keyed_mib_per_million": keyed_size / MiB / millions,
        "key_ratio": keyed_size / size,
        "write_seconds_per_day": seconds / n_days,
        "grow_snapshots": grow,
        "grow_rows": len(extra),
        "file_growth": grown / size - 1,
        "data_growth": len(extra) / len(history),
        "grow_seconds_per_day": grow_seconds / max(grow, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--grow", type=int, default=30)
    args = parser.parse_args()
    r = measure(args.models, args.days, args.grow)
    print(
        f"{r['models']:,} models x {r['days']} days = {r['observations']:,} observations: "
        f"{r['mib_per_million']:.1f} MiB per million (schema-1 primary key: "
        f"{r['keyed_mib_per_million']:.1f}, {r['key_ratio']:.1f}x); "
        f"{r['write_seconds_per_day'] * 1000:.0f} ms per daily save"
    )
    print(
        f"{r['grow_snapshots']} more daily snapshots ({r['grow_rows']:,} rows, data "
        f"+{r['data_growth']:.1%}): file +{r['file_growth']:.1%}, "
        f"{r['grow_seconds_per_day'] * 1000:.0f} ms per save"
    )


if __name__ == "__main__":
    main()
