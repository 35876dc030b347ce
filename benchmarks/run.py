"""Run every benchmark; print a table, then (the last line) one JSON object of the measurements.

``python -m benchmarks.run [--quick]`` (or ``python benchmarks/run.py``).  ``--quick`` skips the
20k and 100k-model scales and finishes in a few minutes; see benchmarks/RESULTS.md for a full run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.naive import Mismatch, check_agreement, naive_ram
from benchmarks.synth import generate
from ram.metric import formula

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"speedup": 20.0, "requests_per_1000": 50.0, "cli_vs_floor": 3.0}
SPEEDUP_MODELS = 2000
SCALE_KEYS = ("seconds", "cpu_seconds", "phases", "obs_rows", "us_per_model",
              "per_model_vs_smallest", "cpu_per_model_vs_smallest", "peak_rss_mb",
              "peak_extra_mb", "input_mb")  # fmt: skip


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def metric_speedup(n_models: int, naive_runs: int, project_runs: int) -> dict[str, Any]:
    """Project vs naive on one panel in this process: agreement first, then interleaved timings.

    When the two disagree nothing is timed: a speedup over different numbers means nothing."""
    panel = generate(n_models)
    out: dict[str, Any] = {"n_models": n_models, "obs_rows": panel.rows}
    try:
        reference = naive_ram(panel.obs, panel.models)
        out["agreement"] = check_agreement(formula.compute(panel.obs, panel.models), reference)
    except Mismatch as exc:
        return {**out, "speedup": None, "speedup_cpu": None, "mismatch": str(exc)}
    wall: dict[str, list[float]] = {"naive": [], "project": []}
    cpu: dict[str, list[float]] = {"naive": [], "project": []}
    for i in range(max(naive_runs, project_runs)):
        for name in ("naive", "project"):
            if name == "naive" and i >= naive_runs:
                continue
            gc.collect()
            w0, c0 = _clock()
            if name == "naive":
                naive_ram(panel.obs, panel.models)
            else:
                formula.compute(panel.obs, panel.models).scores()
            w1, c1 = _clock()
            wall[name].append(w1 - w0)
            cpu[name].append(c1 - c0)
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    return {
        **out,
        "naive_seconds": round(med["naive"], 4),
        "project_seconds": round(med["project"], 4),
        "speedup": round(med["naive"] / med["project"], 2),
        "speedup_best": round(min(wall["naive"]) / min(wall["project"]), 2),
        "speedup_cpu": round(med_cpu["naive"] / med_cpu["project"], 2),
        "naive_cpu_seconds": round(med_cpu["naive"], 4),
        "project_cpu_seconds": round(med_cpu["project"], 4),
        "naive_runs": [round(t, 3) for t in wall["naive"]],
        "project_runs": [round(t, 4) for t in wall["project"]],
    }


def _child(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh process and parse its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{module} {' '.join(args)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def metric_scales(scales: list[int]) -> dict[str, Any]:
    """Each scale in its own process; cost per model relative to the smallest scale."""
    out: dict[str, Any] = {}
    for n in scales:
        repeat = 5 if n <= 2000 else 3 if n <= 20000 else 1
        out[str(n)] = _child("benchmarks.scale", str(n), "--repeat", str(repeat))
    first = out[str(scales[0])]
    for row in out.values():
        row["per_model_vs_smallest"] = round(row["us_per_model"] / first["us_per_model"], 2)
        row["cpu_per_model_vs_smallest"] = round(
            row["cpu_us_per_model"] / first["cpu_us_per_model"], 2
        )
    return out


def machine() -> dict[str, Any]:
    """What the numbers were measured on, including how busy it was."""
    import duckdb
    import numpy as np
    import pandas as pd

    cpu = "unknown"
    mem_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def _met(value: float, target: float, below: bool) -> str:
    return "yes" if (value <= target if below else value >= target) else "NO"


def _row(label: str, measured: str = "", target: str = "", met: str = "") -> str:
    return f"{label:<46} {measured:>30}  {target:>16}  {met}".rstrip()


def _speedup_rows(sp: dict[str, Any]) -> list[str]:
    label = f"metric speedup vs naive ({sp['n_models']:,} models x 730 d)"
    if sp["speedup"] is None:
        return [_row(label, "not timed", ">= 20x", "NO"), f"  MISMATCH: {sp['mismatch']}"]
    agree = sp["agreement"]
    return [
        _row(
            label,
            f"{sp['speedup']:.1f}x (best {sp['speedup_best']:.1f}x, cpu {sp['speedup_cpu']:.1f}x)",
            ">= 20x",
            _met(sp["speedup"], TARGETS["speedup"], below=False),
        ),
        _row(
            "  naive / project seconds", f"{sp['naive_seconds']:.2f} / {sp['project_seconds']:.3f}"
        ),
        _row(
            "  agreement: max relative difference",
            f"{agree['max_rel_diff']:.1e}",
            f"{agree['score_rows']:,} scores",
        ),
    ]


def table(r: dict[str, Any]) -> str:
    """The human-readable summary printed before the JSON line."""
    col, cli = r["collector"], r["cli"]
    imports = list(cli["top_imports"]["by_package_ms"].items())[:7]
    lines = [_row("benchmark", "measured", "target", "met"), "-" * 100, *_speedup_rows(r["metric"])]
    for n, row in r["metric_seconds_by_scale"].items():
        peak = row["peak_extra_mb"]
        memory = "" if peak is None else f", +{peak:,.0f} MB"
        lines.append(
            _row(
                f"metric {int(n):,} models ({row['obs_rows'] / 1e6:.1f}M obs rows)",
                f"{row['seconds']:.2f} s (cpu {row['cpu_seconds']:.2f}){memory}",
                f"{row['us_per_model']:.0f} us/model",
                f"x{row['per_model_vs_smallest']:.2f}, cpu x{row['cpu_per_model_vs_smallest']:.2f}",
            )
        )
    lines += [
        _row(
            "collector requests per 1,000 models",
            f"{col['requests_per_1000_models']:.1f}",
            "<= 50",
            _met(col["requests_per_1000_models"], TARGETS["requests_per_1000"], below=True),
        ),
        _row(
            f"  {col['requests']} requests for {col['tracked_models']:,} models",
            "per-model lookups: 1000",
        ),
        _row(
            f"collector s per 1,000 models, {col['latency_s'] * 1000:.0f} ms/request",
            f"{col['seconds_with_latency_per_1000_models']:.2f}",
            f"per-model {col['per_model_seconds_per_1000_models']:.1f}",
        ),
        _row(
            "cli: ram top --day 30 / import duckdb (s)",
            f"{cli['cli_top_seconds']:.3f} / {cli['cli_floor_seconds']:.3f}",
            "<= 3x",
            _met(cli["cli_top_vs_floor"], TARGETS["cli_vs_floor"], below=True),
        ),
        _row(
            "  ratio to floor; with --format table (rich)",
            f"{cli['cli_top_vs_floor']:.2f}x (cpu {cli['cli_top_vs_floor_cpu']:.2f}x); "
            f"{cli['cli_top_table_seconds']:.3f} s",
        ),
        _row(
            "  import duckdb, pandas (the data stack)",
            f"{cli['cli_data_stack_seconds']:.3f} s",
        ),
        "  import self time (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in imports),
        "-" * 100,
        "machine: " + ", ".join(f"{k}={v}" for k, v in r["machine"].items()),
    ]
    return "\n".join(lines)


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON line: headline numbers first, then whether each target holds."""
    sp, col, cli = report["metric"], report["collector"], report["cli"]
    speedup = sp["speedup"]
    return {
        "metric_speedup_vs_naive": speedup,
        "metric_speedup_vs_naive_best": sp.get("speedup_best"),
        "metric_speedup_vs_naive_cpu": sp["speedup_cpu"],
        "metric_naive_seconds": sp.get("naive_seconds"),
        "metric_project_seconds": sp.get("project_seconds"),
        "metric_naive_cpu_seconds": sp.get("naive_cpu_seconds"),
        "metric_project_cpu_seconds": sp.get("project_cpu_seconds"),
        "metric_agreement": sp.get("agreement", sp.get("mismatch")),
        "metric_seconds_by_scale": {
            n: {k: row[k] for k in SCALE_KEYS}
            for n, row in report["metric_seconds_by_scale"].items()
        },
        "collector_requests_per_1000_models": col["requests_per_1000_models"],
        "collector_requests": col["requests"],
        "collector_tracked_models": col["tracked_models"],
        "collector_seconds_per_1000_models_at_latency": col["seconds_with_latency_per_1000_models"],
        "collector_per_model_seconds_per_1000_models": col["per_model_seconds_per_1000_models"],
        "collector_per_model_estimate_seconds_per_1000_models": col[
            "per_model_estimate_seconds_per_1000_models"
        ],
        "collector_latency_s": col["latency_s"],
        "cli_top_seconds": cli["cli_top_seconds"],
        "cli_floor_seconds": cli["cli_floor_seconds"],
        "cli_top_vs_floor": cli["cli_top_vs_floor"],
        "cli_top_vs_floor_cpu": cli["cli_top_vs_floor_cpu"],
        "cli_cpu_seconds": cli["cpu_seconds"],
        "cli_top_table_seconds": cli["cli_top_table_seconds"],
        "cli_data_stack_seconds": cli["cli_data_stack_seconds"],
        "cli_import_ms_by_package": cli["top_imports"]["by_package_ms"],
        "targets_met": {
            "metric_speedup_vs_naive>=20": speedup is not None and speedup >= TARGETS["speedup"],
            "collector_requests_per_1000_models<=50": col["requests_per_1000_models"]
            <= TARGETS["requests_per_1000"],
            "cli_top<=3x_floor": cli["cli_top_vs_floor"] <= TARGETS["cli_vs_floor"],
        },
        "quick": report["quick"],
        "machine": report["machine"],
        "total_seconds": report["total_seconds"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 20k and 100k scales")
    quick = parser.parse_args().quick
    started = time.perf_counter()
    report: dict[str, Any] = {"quick": quick, "machine": machine()}
    runs = (3, 5) if quick else (5, 7)
    report["metric"] = metric_speedup(SPEEDUP_MODELS, *runs)
    report["metric_seconds_by_scale"] = metric_scales([2000] if quick else [2000, 20000, 100000])
    report["collector"] = _child("benchmarks.collector")
    report["cli"] = _child("benchmarks.cli_startup", "--runs", "5")
    report["machine"]["loadavg_1min_end"] = round(os.getloadavg()[0], 2)
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    print(table(report))
    print(json.dumps(summary(report)))
    return 0 if report["metric"]["speedup"] is not None else 1  # disagreement fails the run


if __name__ == "__main__":
    sys.exit(main())
