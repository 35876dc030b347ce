"""Wall time of ``ram top --day 30`` on the demo database against ``import duckdb`` alone.

``python -m benchmarks.cli_startup [--runs N]`` prints one JSON line: medians of N fresh
processes each (same interpreter), and where the import time goes (``-X importtime``, self
time summed per top-level package, so each module is counted once).  ``top`` runs with the score
cache warm (``ram import panel`` writes it); ``top_cold`` removes it before each run, so it times
the full computation plus writing the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "snapshots" / "sample" / "hf_downloads_30d_2024H2.csv.gz"
FLOOR = ["-c", "import duckdb"]
DATA_STACK = ["-c", "import duckdb, pandas"]  # what any command that computes RAM must import


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAM_DB", "RAM_CONFIG", "HF_TOKEN")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _ram() -> list[str]:
    """The ``ram`` console script run by this interpreter (as a user's shell would run it)."""
    script = Path(sys.executable).parent / "ram"
    return [sys.executable, str(script)] if script.exists() else [sys.executable, "-m", "ram.cli"]


def build_demo(directory: Path) -> Path:
    """``ram import panel`` of the bundled real sample into a fresh database."""
    db = directory / "demo.duckdb"
    subprocess.run(
        [*_ram(), "--db", str(db), "import", "panel", str(SAMPLE)],
        cwd=ROOT,
        env=_env(),
        check=True,
        capture_output=True,
    )
    return db


def timed(
    args: list[str], runs: int, prepare: Callable[[], None] | None = None
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` fresh processes after one untimed warm-up (page cache).

    ``prepare`` runs ahead of each process, untimed.
    """
    wall, cpu = [], []
    for i in range(runs + 1):
        if prepare is not None:
            prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(args, cwd=ROOT, env=_env(), check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            wall.append(elapsed)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall, cpu


def import_profile(args: list[str], top: int = 12) -> dict[str, object]:
    """Import self time per top-level package (ms), largest first, from ``-X importtime``."""
    run = subprocess.run(
        [args[0], "-X", "importtime", *args[1:]],
        cwd=ROOT,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    by_package: dict[str, float] = defaultdict(float)
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        by_package[name.strip().split(".")[0]] += int(self_us) / 1000
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {
        "total_import_ms": round(sum(by_package.values()), 1),
        "by_package_ms": {name: round(ms, 1) for name, ms in ranked[:top]},
    }


def measure(runs: int = 5) -> dict[str, object]:
    """Medians of the CLI commands and the floor, their ratio and the import profile."""
    with tempfile.TemporaryDirectory(prefix="ram-bench-cli-") as tmp:
        db = build_demo(Path(tmp))
        cache = db.with_name(db.name + ".top-cache.parquet")
        cache_warm = cache.is_file()
        top = [*_ram(), "--db", str(db), "top", "--day", "30"]
        commands = {
            "floor": [sys.executable, *FLOOR],
            "data_stack": [sys.executable, *DATA_STACK],
            "top": top,
            "top_table": [*top, "--format", "table"],
            "top_cold": top,
            "version": [*_ram(), "--version"],
        }
        medians, cpu = {}, {}
        for name, args in commands.items():
            drop = (lambda: cache.unlink(missing_ok=True)) if name == "top_cold" else None
            wall_runs, cpu_runs = timed(args, runs, drop)
            medians[name], cpu[name] = statistics.median(wall_runs), statistics.median(cpu_runs)
        profile = import_profile(top)
        floor_profile = import_profile(commands["floor"])
    return {
        "cli_top_seconds": round(medians["top"], 3),
        "cli_floor_seconds": round(medians["floor"], 3),
        "cli_top_vs_floor": round(medians["top"] / medians["floor"], 2),
        "cli_top_table_seconds": round(medians["top_table"], 3),
        "cli_top_cold_seconds": round(medians["top_cold"], 3),
        "cli_top_cache_warm": cache_warm,
        "cli_data_stack_seconds": round(medians["data_stack"], 3),
        "cli_version_seconds": round(medians["version"], 3),
        "cpu_seconds": {name: round(seconds, 3) for name, seconds in cpu.items()},
        "cli_top_vs_floor_cpu": round(cpu["top"] / cpu["floor"], 2),
        "runs": runs,
        "top_imports": profile,
        "floor_imports": floor_profile,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(measure(parser.parse_args().runs)))


if __name__ == "__main__":
    main()
