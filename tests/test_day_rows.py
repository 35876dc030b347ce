"""``ram.store.day_rows.one_per_day`` against the rule written out row by row, and
``Store.observations`` against the SQL window it replaced, on random stores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ram.store.database import _SOURCE_RANK, RunRecord, Store
from ram.store.day_rows import NO_TIME, one_per_day


def _by_hand(model: np.ndarray, day: np.ndarray, rank: np.ndarray, at: np.ndarray) -> list[int]:
    """The rule, one group at a time: lowest rank, then the latest time (unknown last), then
    the first row in input order."""
    best: dict[tuple[int, int], int] = {}
    for i in range(len(model)):
        k = (int(model[i]), int(day[i]))
        j = best.get(k)
        if j is None or (rank[i], -int(at[i]) if at[i] != NO_TIME else 1, i) < (
            rank[j], -int(at[j]) if at[j] != NO_TIME else 1, j
        ):  # fmt: skip
            best[k] = i
    return [best[k] for k in sorted(best)]


@pytest.mark.parametrize("seed", range(30))
def test_one_row_per_model_and_day_as_the_rule_says(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    model = rng.integers(0, 1 + int(rng.integers(1, 30)), n).astype(np.int32)
    day = rng.integers(19_000, 19_000 + int(rng.integers(1, 40)), n).astype(np.int32)
    rank = rng.integers(0, 3, n).astype(np.uint8)
    # Few distinct times, some unknown: ties on rank and time are common.
    at = rng.choice(np.array([NO_TIME, 5, 7, 7_000_000_000_000], dtype=np.int64), n)
    got = one_per_day(model, day, rank, at)
    assert got.tolist() == _by_hand(model, day, rank, at)


def test_no_rows_give_no_positions() -> None:
    empty = np.zeros(0, dtype=np.int32)
    assert one_per_day(empty, empty, empty.astype(np.uint8), empty.astype(np.int64)).size == 0


def _window(db: Path, counts_only: bool) -> pd.DataFrame:
    """The read as one SQL window and sort (the store's query before ``day_rows``)."""
    columns = "model_id, obs_date, downloads_all_time, downloads_30d"
    if not counts_only:
        columns = """model_id, obs_date, observed_at::TIMESTAMP AS observed_at,
            downloads_all_time, downloads_30d, likes, source"""
    with Store.open(db, read_only=True) as s:
        return s.con.execute(
            f"""SELECT {columns} FROM observations
            QUALIFY row_number() OVER (PARTITION BY model_id, obs_date
                ORDER BY {_SOURCE_RANK}, observed_at DESC NULLS LAST) = 1
            ORDER BY model_id, obs_date"""
        ).df()


@pytest.mark.parametrize("seed", range(4))
def test_the_store_reads_what_the_sql_window_chooses(tmp_path: Path, seed: int) -> None:
    """Random days of random sources (live, panels, archives), with unknown counts and times;
    the frames equal the window's, dtypes included, for all models and for some."""
    rng = np.random.default_rng(seed)
    db = tmp_path / "s.duckdb"
    ids = [f"{org}/m-{i}" for org in ("Qwen", "a", "B", "z-ai", "ünï") for i in range(6)]
    start = dt.date(2025, 1, 1)
    with Store.open(db) as s:
        for source in ("hub", "panel:p", "panel:q", "archive:x"):
            for k in range(int(rng.integers(1, 4))):
                n = int(rng.integers(5, 25))
                rows = pd.DataFrame({
                    "model_id": rng.choice(ids, n, replace=False),
                    "obs_date": [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 9, n)],
                })  # fmt: skip
                rows = rows.drop_duplicates(["model_id", "obs_date"], ignore_index=True)
                total = rng.integers(0, 10_000, len(rows)).astype(float)
                total[rng.random(len(rows)) < 0.2] = np.nan
                rows["downloads_all_time"] = pd.array(
                    [None if np.isnan(t) else int(t) for t in total], dtype="Int64"
                )
                rows["downloads_30d"] = rng.integers(0, 500, len(rows))
                rows["likes"] = rng.integers(0, 50, len(rows))
                stamp = pd.Timestamp("2025-02-01", tz="UTC") + pd.Timedelta(hours=k)
                rows["observed_at"] = [
                    None if rng.random() < 0.2 else stamp + pd.Timedelta(minutes=i)
                    for i in range(len(rows))
                ]
                rows["source"] = source
                run = RunRecord(kind="import", source=source, started_at=dt.datetime(2025, 2, 2))
                s.save(run, observations=rows)
        some = [*sorted(rng.choice(ids, 7, replace=False).tolist()), "not/stored"]
        read = {flag: s.observations(counts_only=flag) for flag in (True, False)}
        part = s.observations(some, counts_only=True)
    for flag, frame in read.items():
        pd.testing.assert_frame_equal(frame, _window(db, flag))
    expected = _window(db, True)
    expected = expected[expected["model_id"].isin(some)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)
