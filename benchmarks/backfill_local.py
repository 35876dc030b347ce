"""Backfill of local hub-stats-shaped files against a plain DuckDB query, time and peak memory.

``python -m benchmarks.backfill_local [--rows N] [--files F]`` writes F daily files of N rows in
the layout of cfahlgren1/hub-stats' ``models.parquet`` (long card data and tags; the catalog's
real ids among N - 1,958 others, a share of them new releases in tracked orgs), then, each in its
own process so that peak RSS is its own:

* ``sql``: the plain peer, ``INSERT INTO observations SELECT ... FROM read_parquet(f) WHERE id IN
  (tracked ids)`` file by file into a DuckDB file: no policy, no discovery, no validation;
* ``ram``: ``ram.pipeline.backfill.backfill`` over the folder, as ``ram backfill`` runs it.

It prints seconds per file and peak RSS of each and their ratio (issue 20's target: ram at most 2x
the peer per file, peak RSS under 600 MB for a 2 M-row file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = dt.date(2025, 3, 1)


def _ids(n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Repo ids: the catalog's, 2% new releases of catalog orgs, the rest of other orgs."""
    from ram.catalog import load_catalog

    cat = load_catalog()
    real = sorted(cat.model_ids)
    orgs = sorted(cat.orgs)
    ids = list(real)
    new = max(0, min(n - len(ids), n // 50))
    ids += [f"{orgs[k % len(orgs)]}/Release-{k}-8B-Instruct" for k in range(new)]
    ids += [f"user{k % 50_000}/some-finetune-{k}" for k in range(n - len(ids))]
    order = rng.permutation(len(ids))
    return [ids[k] for k in order], order


def hub_stats_file(path: Path, n: int, day: int, seed: int = 0) -> None:
    """One day of a hub-stats-shaped ``models.parquet`` of ``n`` rows (counts grow by day)."""
    rng = np.random.default_rng(seed)
    ids, _ = _ids(n, rng)
    base = rng.lognormal(5.0, 2.5, n).astype(np.int64)
    created = np.datetime64("2024-01-01T00:00:00", "ms") + rng.integers(0, 400 * 86_400_000, n)
    tags_per_row = 6
    # Six common tags on every row, and on 30% of rows a seventh naming one of 200 catalog
    # models as its base (what ``archive.derivatives`` counts; hub-stats rows carry such tags).
    bases = sorted(i for i in ids if not i.startswith("user"))[:200]
    vocabulary = pa.array(
        ["transformers", "safetensors", "text-generation", "license:apache-2.0", "region:us", "en"]
        + [f"base_model:finetune:{b}" for b in bases]
    )
    child = rng.random(n) < 0.3
    per_row = tags_per_row + child.astype(np.int64)
    offsets = pa.array(np.r_[0, np.cumsum(per_row)].astype(np.int32))
    index = np.tile(np.arange(tags_per_row + 1), n).reshape(n, tags_per_row + 1)
    index[:, tags_per_row] = tags_per_row + rng.integers(0, len(bases), n)
    keep = np.ones((n, tags_per_row + 1), dtype=bool)
    keep[:, tags_per_row] = child
    tag_values = vocabulary.take(pa.array(index[keep]))
    params = rng.integers(100_000_000, 80_000_000_000, n)
    pipeline = np.where(rng.random(n) < 0.6, "text-generation", "image-classification")
    card = [f'{{"license": "apache-2.0", "widget": [{{"text": "Hello {k}"}}]}}' for k in range(n)]
    table = pa.table(
        {
            "_id": pa.array([f"{k:024x}" for k in range(n)]),
            "id": pa.array(ids),
            "author": pa.array([i.split("/", 1)[0] for i in ids]),
            "gated": pa.array(np.full(n, "False")),
            "createdAt": pa.array(created, pa.timestamp("ms", tz="UTC")),
            "likes": pa.array(base // 100),
            "downloads": pa.array(base * (1 + day // 10)),
            "downloadsAllTime": pa.array(base * (10 + day)),
            "pipeline_tag": pa.array(pipeline),
            "library_name": pa.array(np.full(n, "transformers")),
            "tags": pa.ListArray.from_arrays(offsets, tag_values),
            "safetensors": pa.StructArray.from_arrays([pa.array(params)], names=["total"]),
            "cardData": pa.array(card),
        }
    )
    pq.write_table(table, path, row_group_size=500_000)


def _peak_mib() -> float:
    """This process's peak RSS (``VmHWM``: unlike ``ru_maxrss`` it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_sql(folder: Path, db: Path) -> dict[str, float]:
    import duckdb

    from ram import catalog
    from ram.config import Config
    from ram.store.database import OBS_COLUMNS

    tracked = pa.table({"model_id": sorted(catalog.tracked_ids(Config()))})
    con = duckdb.connect(str(db))
    columns = ", ".join(f"{k} {v}" for k, v in OBS_COLUMNS.items())
    con.execute(f"CREATE TABLE observations ({columns})")
    con.register("tracked", tracked)
    files = sorted(folder.rglob("*.parquet"))
    started = time.perf_counter()
    for f in files:
        day = f.parent.name
        con.execute(
            f"""INSERT INTO observations
            SELECT id, DATE '{day}', 'archive:hub-stats', NULL, downloadsAllTime, downloads,
                   likes, NULL
            FROM read_parquet('{f}') WHERE id IN (SELECT model_id FROM tracked)"""
        )
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": seconds, "files": len(files), "peak_mib": _peak_mib()}


def run_ram(folder: Path, db: Path, derivatives: bool = False) -> dict[str, float]:
    from ram.config import Archive, Config
    from ram.pipeline.backfill import backfill

    files = sorted(folder.rglob("*.parquet"))
    cfg = Config(archive=Archive(derivatives=derivatives))
    started = time.perf_counter()
    runs = backfill(cfg, db, [str(folder)], name="hub-stats")
    seconds = time.perf_counter() - started
    assert all(r.status == "ok" for r in runs), [r.error_summary for r in runs]
    return {
        "seconds": seconds,
        "files": len(files),
        "peak_mib": _peak_mib(),
        "observations": sum(r.observations for r in runs),
    }


def _child(kind: str, folder: Path, db: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.backfill_local", "--child", kind, str(folder), str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "FOLDER", "DB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        kind, folder, db = args.child
        if kind == "sql":
            print(json.dumps(run_sql(Path(folder), Path(db))))
        else:
            print(json.dumps(run_ram(Path(folder), Path(db), derivatives=kind == "derivatives")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "hub-stats"
        for d in range(args.files):
            day = START + dt.timedelta(days=d)
            (root / day.isoformat()).mkdir(parents=True)
            hub_stats_file(root / day.isoformat() / "models.parquet", args.rows, d)
        size = sum(f.stat().st_size for f in root.rglob("*.parquet")) / args.files
        sql = _child("sql", root, Path(tmp) / "sql.duckdb")
        ram = _child("ram", root, Path(tmp) / "ram.duckdb")
        deriv = _child("derivatives", root, Path(tmp) / "deriv.duckdb")
    per_sql, per_ram = sql["seconds"] / args.files, ram["seconds"] / args.files
    per_deriv = deriv["seconds"] / args.files
    print(
        f"{args.files} files of {args.rows:,} rows ({size / 1e6:.0f} MB each): plain SQL "
        f"{per_sql:.2f} s per file, peak {sql['peak_mib']:.0f} MiB; ram backfill "
        f"{per_ram:.2f} s per file ({per_ram / per_sql:.2f}x), peak {ram['peak_mib']:.0f} MiB, "
        f"{ram['observations']:,.0f} observations; with archive.derivatives {per_deriv:.2f} s "
        f"per file ({per_deriv / per_ram:.2f}x), peak {deriv['peak_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
