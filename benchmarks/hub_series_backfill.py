"""Bytes and requests per day of ``ram backfill --hub modelpulse/model-pulse-data``, against the
test Hub.

``python -m benchmarks.hub_series_backfill [--ids N] [--days D]`` serves one monthly
``series/2025-03.parquet`` in model-pulse's layout (one row per model per day, sorted by id then
day, row groups of 200,000 rows, zstd; github.com/tardellirs/modelpulse ``pipeline/build.py``)
holding N models over D days, and a ``models.parquet`` of their metadata (row groups of 100,000),
then backfills it with the default tracked set (the bundled ATOM catalog: its ids and orgs).
The models are the catalog's ids, 150 more repos of each tracked org, and the rest repos of
random orgs, so the tracked orgs fall where they would in the Hub's id order.  Printed: per day
the resolver and range requests and the bytes read, against the month file's bytes per day and
the floor (the id column, which every run must read to find the kept rows).  A second run shows
what a re-run costs.  Model-pulse's real month holds about 1.1 M models.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import string
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ram.config import parse_config
from ram.pipeline import backfill as bf
from ram.pipeline.hub_backfill import backfill_hub
from tests.fakehub_datasets import DatasetHub

REPO = "modelpulse/model-pulse-data"


def model_ids(n: int, tracked_ids: frozenset[str], orgs: frozenset[str]) -> list[str]:
    """``n`` distinct ids, sorted: the tracked ids, 150 repos per tracked org, random others."""
    rng = np.random.default_rng(7)
    ids = set(tracked_ids) | {f"{o}/extra-model-{k}" for o in sorted(orgs) for k in range(150)}
    letters = np.array(list(string.ascii_lowercase + string.ascii_uppercase[:6] + "-0123456789"))
    while len(ids) < n:
        for _ in range(n - len(ids)):
            org = "".join(rng.choice(letters[:26], rng.integers(3, 12)))
            if rng.random() < 0.2:
                org = org.capitalize()
            ids.add(f"{org}/{''.join(rng.choice(letters, rng.integers(6, 24)))}")
    return sorted(ids)


def month_file(ids: list[str], days: int) -> bytes:
    rng = np.random.default_rng(11)
    n = len(ids)
    base = rng.lognormal(3, 2.5, n).astype(np.int64)
    index = np.repeat(np.arange(n), days)
    day = np.tile(np.arange(days), n)
    dl30 = (base[index] * (1 + 0.01 * day)).astype(np.int32)
    table = pa.table({
        "id": pa.array(ids, pa.large_string()).take(pa.array(index)),
        "day": pa.array(np.datetime64("2025-03-01") + day.astype("timedelta64[D]")),
        "dl30": dl30, "dl_all": base[index] * 20 + day * base[index] // 30,
        "likes": (base[index] // 500).astype(np.int32),
    })  # fmt: skip
    table = table.set_column(1, "day", table.column("day").cast(pa.date32()))
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=200_000, compression="zstd")
    return buf.getvalue()


def metadata_file(ids: list[str]) -> bytes:
    n = len(ids)
    rng = np.random.default_rng(13)
    created = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 400, n).astype(
        "timedelta64[D]"
    )
    table = pa.table({
        "id": pa.array(ids, pa.large_string()),
        "author": pa.array([i.split("/")[0] for i in ids], pa.large_string()),
        "pipeline_tag": pa.array(["text-generation"] * n, pa.large_string()),
        "library_name": pa.array(["transformers"] * n, pa.large_string()),
        "created_at": pa.array(created).cast(pa.timestamp("us", tz="UTC")),
        "params": rng.integers(10**8, 10**11, n), "license": pa.array(["apache-2.0"] * n),
        "is_gguf": pa.array(np.zeros(n, bool)),
    })  # fmt: skip
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=100_000, compression="zstd")
    return buf.getvalue()


def measure(n_ids: int, days: int) -> dict[str, Any]:
    """Build the month and metadata files for ``n_ids`` models over ``days`` days, backfill them
    from the test Hub twice, and return what the two runs cost."""
    cfg = parse_config({})
    flt, _ = bf.policy(cfg, Path(tempfile.gettempdir()) / "no-such-store.duckdb")
    started = time.perf_counter()
    ids = model_ids(n_ids, flt.tracked_ids, flt.tracked_orgs)
    month, meta = month_file(ids, days), metadata_file(ids)
    built = time.perf_counter() - started
    md = pq.ParquetFile(io.BytesIO(month)).metadata
    id_bytes = sum(
        md.row_group(g).column(0).total_compressed_size for g in range(md.num_row_groups)
    )
    with DatasetHub() as hub, tempfile.TemporaryDirectory() as tmp:
        when = dt.datetime(2025, 3, days, 6, tzinfo=dt.UTC) + dt.timedelta(days=1)
        hub.add_commit(REPO, when, f"Daily update 2025-03-{days:02d}",
                       {"series/2025-03.parquet": month, "models.parquet": meta})  # fmt: skip
        db = Path(tmp) / "s.duckdb"
        started = time.perf_counter()
        out = backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
        seconds = time.perf_counter() - started
        first = dict(hub.counts), hub.bytes_sent
        sent = {p: hub.sent_by_blob.get(hub.blob(c), 0) for p, c in
                (("month", month), ("metadata", meta))}  # fmt: skip
        hub.reset_counts()
        backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
        again = dict(hub.counts), hub.bytes_sent
        violations = list(hub.violations)
    return {
        "ids": len(ids), "rows": md.num_rows, "row_groups": md.num_row_groups,
        "month_bytes": len(month), "metadata_bytes": len(meta), "id_bytes": id_bytes,
        "built_seconds": built, "seconds": seconds,
        "days_landed": sum(r.status == "ok" for r in out.runs),
        "models_a_day": out.runs[0].observations if out.runs else 0,
        "row_groups_read": out.runs[0].details["row_groups_read"] if out.runs else "",
        "requests": first[0], "bytes": first[1], "sent": sent,
        "rerun_requests": again[0], "rerun_bytes": again[1], "violations": violations,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ids", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    r = measure(args.ids, args.days)
    n, month, meta, id_bytes = (
        r["days_landed"],
        r["month_bytes"],
        r["metadata_bytes"],
        r["id_bytes"],
    )
    sent, requests = r["sent"], r["requests"]
    print(f"{r['ids']:,} models x {args.days} days = {r['rows']:,} rows in "
          f"{r['row_groups']} row groups, month file {month / 1e6:.1f} MB "
          f"({month / args.days / 1e6:.2f} MB a day), id column {id_bytes / month:.1%} of it, "
          f"metadata file {meta / 1e6:.1f} MB (built in {r['built_seconds']:.0f} s)")  # fmt: skip
    print(f"landed {n} days ({r['models_a_day']:,} models a day) in {r['seconds']:.1f} s; row "
          f"groups read: {r['row_groups_read']}; requests {requests}")  # fmt: skip
    print(f"bytes: month {sent['month'] / 1e6:.2f} MB = {sent['month'] / month:.1%} of the "
          f"file, {sent['month'] / id_bytes:.2f}x the id column; metadata "
          f"{sent['metadata'] / 1e6:.2f} MB = {sent['metadata'] / meta:.1%} of it (once a "
          f"run); per day {r['bytes'] / n / 1e6:.3f} MB, "
          f"{requests.get('resolve', 0) / n:.2f} resolve and "
          f"{requests.get('range', 0) / n:.2f} range requests")  # fmt: skip
    print(f"re-run: {r['rerun_requests']} and {r['rerun_bytes']} bytes")


if __name__ == "__main__":
    main()
