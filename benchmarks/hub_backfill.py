"""Bytes and requests per day of ``ram backfill --hub``, against the test Hub.

``python -m benchmarks.hub_backfill [--rows N] [--days D]`` serves D days of a hub-stats-shaped
``models.parquet`` of N rows each (tests/fakehub_datasets.py: commits, resolve, a CDN with
ranges), backfills them, and prints per day the resolver and range requests and the bytes read,
against the file's size and against the floor: the id and count column chunks.  A second run
shows what a re-run costs (nothing but the commit list).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from ram.config import parse_config
from ram.pipeline.hub_backfill import backfill_hub
from tests.fakehub_datasets import DatasetHub
from tests.test_hub_backfill import CONFIG, REPO, UPLOAD, big_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    cfg = parse_config(CONFIG)
    with DatasetHub() as hub, tempfile.TemporaryDirectory() as tmp:
        sizes = []
        for d in range(args.days):
            content = big_day(args.rows, d + 1)
            sizes.append(len(content))
            when = dt.datetime(2025, 3, 1, 5, tzinfo=dt.UTC) + dt.timedelta(days=d)
            hub.add_commit(REPO, when, UPLOAD, {"models.parquet": content})
        meta = pq.ParquetFile(io.BytesIO(content)).metadata.row_group(0)
        chunk = {meta.column(i).path_in_schema: meta.column(i).total_compressed_size
                 for i in range(meta.num_columns)}  # fmt: skip
        floor = sum(chunk[c] for c in ("id", "downloads", "downloadsAllTime", "likes"))
        db = Path(tmp) / "b.duckdb"
        started = time.perf_counter()
        out = backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
        seconds = time.perf_counter() - started
        first = dict(hub.counts), hub.bytes_sent
        hub.reset_counts()
        backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
        again = dict(hub.counts), hub.bytes_sent
    n, size = args.days, sum(sizes) / args.days
    requests = first[0]
    print(f"{n} days of {args.rows:,} rows, file {size / 1e6:.2f} MB, floor (id + counts) "
          f"{floor / 1e6:.2f} MB = {floor / size:.1%} of the file")  # fmt: skip
    print(
        f"landed {sum(r.status == 'ok' for r in out.runs)} days in {seconds:.1f} s; "
        f"per day: {requests.get('resolve', 0) / n:.1f} resolve, "
        f"{requests.get('range', 0) / n:.1f} range requests, "
        f"{first[1] / n / 1e6:.2f} MB read = {first[1] / n / size:.1%} of the file, "
        f"{first[1] / n / floor:.2f}x the floor; commit-list requests {requests.get('commits')}"
    )
    print(f"re-run: {again[0]} and {again[1]} bytes")


if __name__ == "__main__":
    main()
