"""Time and peak memory of the project's full RAM computation at one scale, in a fresh process.

``python -m benchmarks.scale N_MODELS [--days D] [--repeat R]`` prints one JSON line.  Peak
memory is the process high-water mark during the computation only (reset after the synthetic
panel is built, via /proc/self/clear_refs), minus the resident size before it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.synth import generate
from ram.metric import formula


def _status_mb(field: str) -> float | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in MiB (None off Linux)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def _reset_peak() -> bool:
    """Restart the high-water mark at the current resident size (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_once(obs: pd.DataFrame, models: pd.DataFrame) -> tuple[float, float]:
    """Wall and CPU seconds of curves + baselines of every class + scores at every milestone."""
    wall, cpu = time.perf_counter(), time.process_time()
    formula.compute(obs, models).scores()
    return time.perf_counter() - wall, time.process_time() - cpu


def phases(obs: pd.DataFrame, models: pd.DataFrame) -> dict[str, float]:
    """The same computation through the public steps ``compute`` chains, timed one by one."""
    params = formula.RamParams()
    t0 = time.perf_counter()
    curves = formula.build_curves(obs, models, None, params.max_gap_days, params.max_day)
    t1 = time.perf_counter()
    baselines = formula.compute_baselines(curves, models, params.method, params.top_n)
    t2 = time.perf_counter()
    formula.score(curves, models, baselines, params.milestones)
    t3 = time.perf_counter()
    steps = {"curves": t1 - t0, "baselines": t2 - t1, "scores": t3 - t2}
    return {name: round(seconds, 3) for name, seconds in steps.items()}


def measure(n_models: int, n_days: int = 730, repeat: int = 3) -> dict[str, Any]:
    """Generate a panel, then time ``repeat`` full computations and record peak memory."""
    started = time.perf_counter()
    panel = generate(n_models, n_days)
    generated = time.perf_counter() - started
    input_mb = float(panel.obs.memory_usage(deep=True).sum()) / 2**20
    gc.collect()
    before = _status_mb("VmRSS")
    exact = _reset_peak()
    runs = [run_once(panel.obs, panel.models) for _ in range(repeat)]
    peak = _status_mb("VmHWM") if exact else None
    seconds = statistics.median(r[0] for r in runs)
    return {
        "n_models": n_models,
        "n_days": n_days,
        "obs_rows": panel.rows,
        "generate_seconds": round(generated, 3),
        "seconds": round(seconds, 4),
        "cpu_seconds": round(statistics.median(r[1] for r in runs), 4),
        "runs": [round(r[0], 4) for r in runs],
        "phases": phases(panel.obs, panel.models),
        "us_per_model": round(seconds / n_models * 1e6, 2),
        "cpu_us_per_model": round(statistics.median(r[1] for r in runs) / n_models * 1e6, 2),
        "ns_per_obs_row": round(seconds / panel.rows * 1e9, 2),
        "input_mb": round(input_mb, 1),
        "rss_before_mb": None if before is None else round(before, 1),
        "peak_rss_mb": None if peak is None else round(peak, 1),
        "peak_extra_mb": None if peak is None or before is None else round(peak - before, 1),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_models", type=int)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.n_models, args.days, args.repeat)))


if __name__ == "__main__":
    main()
