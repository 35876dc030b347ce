"""The whole-Hub mode of docs/WHOLE_HUB.md, measured: one day of every Hub model (3 M rows) as
one day partition of zstd Parquet with integer model keys.

``python -m benchmarks.whole_hub [--rows N] [--days D]`` writes ``D`` synthetic days of ``N``
models (ids shaped like the Hub's, counts growing day by day, 1% of ids new each day) into a
temporary folder in the documented layout, then times the reads RAM needs (one model's history,
the tracked set's history, a whole day) with DuckDB, and prints one JSON line: seconds and
bytes per partition, the dictionary's size, a year's estimate, and each read.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 1_000_000
SCHEMA = pa.schema(
    [
        ("model_key", pa.int32()),
        ("downloads_30d", pa.int64()),
        ("downloads_all_time", pa.int64()),
        ("likes", pa.int32()),
    ]
)


def _ids(n: int, start: int = 0) -> list[str]:
    """Hub-like ids: 60,000 namespaces, names with sizes and suffixes."""
    return [
        f"user{(k * 7919) % 60_000}/model-{k}-{(k % 70) + 1}B-{'Instruct' if k % 3 else 'GGUF'}"
        for k in range(start, start + n)
    ]


def write_dictionary(root: Path, ids: list[str], first_key: int) -> float:
    """Append ``ids`` to the model dictionary as one more file (keys are never reused)."""
    started = time.perf_counter()
    table = pa.table(
        {
            "model_key": pa.array(np.arange(first_key, first_key + len(ids), dtype=np.int32)),
            "model_id": pa.array(ids),
        }
    )
    (root / "models").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "models" / f"keys-{first_key:010d}.parquet", compression="zstd")
    return time.perf_counter() - started


def write_day(root: Path, day: str, n: int, rng: np.random.Generator, step: int) -> float:
    """One day's partition, written to a temporary name and renamed into place (a re-run of the
    day replaces it whole); rows sorted by key so readers skip row groups by key."""
    base = rng.lognormal(4.0, 2.6, n).astype(np.int64)
    table = pa.table(
        {
            "model_key": pa.array(np.arange(n, dtype=np.int32)),
            "downloads_30d": pa.array(base * (1 + step % 5)),
            "downloads_all_time": pa.array(base * (20 + step)),
            "likes": pa.array((base // 200).astype(np.int32)),
        },
        schema=SCHEMA,
    )
    folder = root / "observations" / f"day={day}"
    tmp = root / "observations" / f".day={day}.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pq.write_table(table, tmp / "part-0.parquet", compression="zstd", row_group_size=ROW_GROUP)
    if folder.exists():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    os.replace(tmp, folder)
    return time.perf_counter() - started


def _timed(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, int]:
    started = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - started, len(rows)


def measure(n: int, days: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        known = n - (days - 1) * (n // 100)  # 1% new ids a day, the Hub's growth rate order
        dict_seconds = write_dictionary(root, _ids(known), 0)
        per_day = []
        for d in range(days):
            grown = known + d * (n // 100)
            if d:
                dict_seconds += write_dictionary(
                    root, _ids(n // 100, grown - n // 100), grown - n // 100
                )
            per_day.append(write_day(root, f"2026-11-{d + 1:02d}", grown, rng, d))
        files = sorted((root / "observations").rglob("*.parquet"))
        part_bytes = [f.stat().st_size for f in files]
        dict_bytes = sum(f.stat().st_size for f in (root / "models").glob("*.parquet"))
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        obs = f"read_parquet('{root}/observations/*/*.parquet', hive_partitioning = true)"
        keys = f"read_parquet('{root}/models/*.parquet')"
        one_model, _ = _timed(
            con,
            f"SELECT o.day, o.downloads_all_time FROM {obs} o JOIN {keys} k USING (model_key) "
            f"WHERE k.model_id = '{_ids(1, 12345)[0]}' ORDER BY o.day",
        )
        tracked, tracked_rows = _timed(
            con,
            f"SELECT o.day, k.model_id, o.downloads_all_time FROM {obs} o JOIN "
            f"(SELECT * FROM {keys} WHERE model_key % 1500 = 0) k USING (model_key)",
        )
        whole_day, day_rows = _timed(
            con, f"SELECT model_key, downloads_30d FROM {obs} WHERE day = '2026-11-01'"
        )
        con.close()
    mean_bytes = float(np.mean(part_bytes))
    return {
        "rows_per_day": n,
        "days": days,
        "write_seconds_per_partition": round(float(np.median(per_day)), 3),
        "mib_per_partition": round(mean_bytes / 2**20, 1),
        "bytes_per_row": round(mean_bytes / n, 2),
        "gib_per_year": round(mean_bytes * 365 / 2**30, 2),
        "dictionary_mib": round(dict_bytes / 2**20, 1),
        "dictionary_write_seconds": round(dict_seconds, 3),
        "read_one_model_seconds": round(one_model, 3),
        "read_tracked_seconds": round(tracked, 3),
        "tracked_rows": tracked_rows,
        "read_whole_day_seconds": round(whole_day, 3),
        "whole_day_rows": day_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(measure(args.rows, args.days)))


if __name__ == "__main__":
    main()
