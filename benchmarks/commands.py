"""Wall time and peak memory of the read commands at realistic size, against two references.

Issue 19: users call commands, not the metric core.  A store of ``--models`` models (default
2,000) with two years of daily history (``benchmarks.synth`` under Hub-like ids, about 1.3M
observations) is built by ``ram import panel``; then, in fresh processes, each command is timed
(median of ``--runs`` runs after one warm-up, the commands interleaved) with its peak RSS
(``wait4``'s ``ru_maxrss``):

* the floor: ``python -c "import duckdb"``;
* ``ram status``, ``ram score MODEL``, ``ram scores --format csv``, ``ram top --day 30`` with
  its cache warm and cold (the score and models caches removed before each run), ``ram plot
  ram-curves`` (HTML) and ``ram report --no-png``, output to a pipe as a script would read it;
* the SQL peer (``benchmarks.sql_peer``): the same day-30 leaderboard as one hand-written DuckDB
  query.  Its rows must equal ``ram top --day 30``'s (to 1e-9, else exit 1).

``--before DIR`` also runs each command with the code of another checkout (``git worktree add
DIR REV``) on a store that code builds itself from the same panel, in the same run, so the
table shows before and after side by side.

    python -m benchmarks.commands [--models N] [--runs R] [--before DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import sql_peer, synth
from benchmarks.store_size import hub_like_ids

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "benchmarks" / "sql_peer.py"  # run as a script: it needs nothing but duckdb
LAST_DAY = "2026-12-01"  # the synthetic history is moved to end here (no day in the future)


def write_panel(path: Path, n_models: int) -> int:
    """The synthetic panel as a CSV ``ram import panel`` reads (with creation dates and sizes)."""
    import pandas as pd

    panel = synth.generate(n_models, n_days=730)
    rename = dict(zip(sorted(panel.models["model_id"]), hub_like_ids(n_models), strict=True))
    shift = panel.obs["obs_date"].max() - pd.Timestamp(LAST_DAY)
    obs = panel.obs.assign(
        model_id=panel.obs["model_id"].map(rename), obs_date=panel.obs["obs_date"] - shift
    )
    models = panel.models.assign(model_id=panel.models["model_id"].map(rename))
    models = models.set_index("model_id")
    frame = pd.DataFrame(
        {
            "model_id": obs["model_id"],
            "date": obs["obs_date"].dt.strftime("%Y-%m-%d"),
            "downloads_all_time": obs["downloads_all_time"],
            "downloads_30d": obs["downloads_30d"],
            "created_at": (obs["model_id"].map(models["release_date"]) - shift).dt.strftime(
                "%Y-%m-%d"
            ),
            "params_b": obs["model_id"].map(models["params_b"]),
        }
    )
    frame.to_csv(path, index=False)
    return len(frame)


@dataclass(frozen=True)
class Code:
    """Which code runs a command: this checkout, or another one on ``PYTHONPATH``."""

    name: str
    checkout: Path | None = None

    def ram(self) -> list[str]:
        return [sys.executable, "-m", "ram.cli"]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("RAM_DB", "RAM_CONFIG", "HF_TOKEN")}
        env["HF_HUB_OFFLINE"] = "1"
        if self.checkout is not None:
            env["PYTHONPATH"] = str(self.checkout)
        return env


# Fork-and-wait from a small process: a child's ru_maxrss starts from its parent's high-water
# mark (Linux copies it at fork and keeps it through exec), so children of this process, which
# holds pandas and the panel, would all report at least its size.
RUNNER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nbench: %f %d %d\\n" % (
    time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""


def measure(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process (forked by a small runner)."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, *args],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    last = done.stderr.decode().rstrip().rsplit("\n", 1)[-1]
    fields = last.split()
    if len(fields) != 4 or fields[0] != "bench:" or fields[3] != "0":
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return float(fields[1]), int(fields[2]) / 1024


@dataclass
class Command:
    name: str
    args: Callable[[Code, Path], list[str]]
    prepare: Callable[[Path], None] | None = None


def _cold(db: Path) -> None:
    """No cache at all: neither the scores nor the resolved models (``ram.store.models_cache``)."""
    for suffix in (".top-cache.parquet", ".models-cache.parquet"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def commands(model: str, resolved: Path, work: Path) -> list[Command]:
    def ram(*rest: str) -> Callable[[Code, Path], list[str]]:
        return lambda code, db: [*code.ram(), "--db", str(db), *rest]

    return [
        Command("import duckdb (floor)", lambda code, db: [sys.executable, "-c", "import duckdb"]),
        Command("ram status", ram("status")),
        Command("ram score MODEL", ram("score", model)),
        Command("ram scores --format csv", ram("scores", "--format", "csv")),
        Command("ram top --day 30 (cache warm)", ram("top", "--day", "30")),
        Command("ram top --day 30 (no cache)", ram("top", "--day", "30"), _cold),
        Command(
            "ram plot ram-curves (html)",
            lambda code, db: [
                *code.ram(),
                "--db",
                str(db),
                "plot",
                "ram-curves",
                "-o",
                str(work / f"curves-{code.name}.html"),
            ],
        ),
        Command(
            "ram report --no-png",
            lambda code, db: [
                *code.ram(),
                "--db",
                str(db),
                "report",
                "--no-png",
                "-o",
                str(work / f"report-{code.name}"),
            ],
        ),
        Command(
            "SQL peer: top --day 30",
            lambda code, db: [sys.executable, str(PEER), str(db), str(resolved)],
        ),
    ]


def resolve(db: Path, out: Path) -> None:
    """The models' size class, release date and pool membership for the SQL peer (untimed)."""
    from ram import catalog
    from ram.config import load_config
    from ram.store.database import Store

    with Store.open(db, read_only=True) as store:
        models = catalog.load_models(store, load_config(None))
    frame = models[["model_id", "size_class", "release_date", "tracked"]]
    frame.rename(columns={"tracked": "in_pool"}).to_parquet(out, index=False)


def agreement(code: Code, db: Path, resolved: Path, work: Path) -> dict[str, Any]:
    """The SQL peer's leaderboard against ``ram top --day 30 --format csv``: same rows, values
    to 1e-9.  Raises when they differ."""
    _cold(db)
    done = subprocess.run(
        [*code.ram(), "--db", str(db), "top", "--day", "30", "--format", "csv"],
        cwd=work, env=code.env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    ours = list(csv.DictReader(io.StringIO(done.stdout)))
    peer = sql_peer.leaderboard(db, resolved, 30)
    if len(ours) != len(peer) or not ours:
        raise SystemExit(f"SQL peer gives {len(peer)} rows, ram top {len(ours)}")
    worst = 0.0
    mine = {(r["size_class"], int(r["rank"])): r for r in ours}
    for row in peer:
        record = dict(zip(sql_peer.COLUMNS, row, strict=True))
        theirs = mine.get((str(record["size_class"]), int(str(record["rank"]))))
        if theirs is None or theirs["model_id"] != record["model_id"]:
            raise SystemExit(f"SQL peer and ram top disagree on {record}")
        for column in ("cumulative_downloads", "baseline", "ram", "n_models"):
            a, b = float(theirs[column]), float(str(record[column]))
            worst = max(worst, abs(a - b) / max(abs(a), 1e-300))
    if worst > 1e-9:
        raise SystemExit(f"SQL peer and ram top differ by {worst:.2e}")
    return {"rows": len(peer), "max_rel_diff": worst}


def build(code: Code, csv_path: Path, db: Path, work: Path) -> None:
    subprocess.run(
        [*code.ram(), "--db", str(db), "import", "panel", str(csv_path)],
        cwd=work, env=code.env(), check=True, capture_output=True,
    )  # fmt: skip


def bench(n_models: int, runs: int, before: Path | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="ram-commands-"))
    try:
        (work / "config.yaml").write_bytes((ROOT / "config.yaml").read_bytes())
        csv_path = work / "panel.csv"
        started = time.perf_counter()
        rows = write_panel(csv_path, n_models)
        codes = [Code("after")] + ([Code("before", before)] if before else [])
        dbs = {c.name: work / f"{c.name}.duckdb" for c in codes}
        for code in codes:
            build(code, csv_path, dbs[code.name], work)
        built = time.perf_counter() - started
        resolved = work / "resolved.parquet"
        resolve(dbs["after"], resolved)
        agreed = agreement(codes[0], dbs["after"], resolved, work)
        model = str(sql_peer.leaderboard(dbs["after"], resolved, 30)[0][1])
        cmds = commands(model, resolved, work)
        times: dict[tuple[str, str], list[float]] = {}
        peaks: dict[tuple[str, str], float] = {}
        for attempt in range(runs + 1):  # the first round warms the page cache, untimed
            for cmd in cmds:
                for code in codes:
                    if cmd.name.startswith(("import duckdb", "SQL peer")) and code.name != "after":
                        continue
                    db = dbs[code.name]
                    if cmd.prepare:
                        cmd.prepare(db)
                    wall, rss = measure(cmd.args(code, db), code.env(), work)
                    if attempt:
                        times.setdefault((cmd.name, code.name), []).append(wall)
                        key = (cmd.name, code.name)
                        peaks[key] = max(peaks.get(key, 0.0), rss)
        floor = statistics.median(times[("import duckdb (floor)", "after")])
        out_rows = []
        for cmd in cmds:
            for code in codes:
                key = (cmd.name, code.name)
                if key not in times:
                    continue
                seconds = statistics.median(times[key])
                out_rows.append({
                    "command": cmd.name, "code": code.name, "seconds": round(seconds, 3),
                    "x_floor": round(seconds / floor, 2), "peak_rss_mb": round(peaks[key]),
                })  # fmt: skip
        return {
            "models": n_models, "observations": rows, "runs": runs, "score_model": model,
            "build_seconds": round(built, 1), "floor_seconds": round(floor, 3),
            "peer_agreement": agreed, "rows": out_rows,
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['models']:,} models, {result['observations']:,} observations; median of "
        f"{result['runs']} runs; floor (import duckdb) {result['floor_seconds']:.3f} s; "
        f"SQL peer = ram top on {result['peer_agreement']['rows']} rows "
        f"(max rel. diff {result['peer_agreement']['max_rel_diff']:.1e})",
        f"{'command':34} {'code':7} {'seconds':>8} {'x floor':>8} {'peak MB':>8}",
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['command']:34} {r['code']:7} {r['seconds']:8.3f} {r['x_floor']:8.2f} "
            f"{r['peak_rss_mb']:8,}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None, help="a checkout of older code")
    args = parser.parse_args()
    result = bench(args.models, args.runs, args.before)
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
