"""The forecast backtest on the bundled sample: its table, and its time against ``analyse``.

``python -m benchmarks.forecast [--runs N]`` builds a store from the sample, then times, in one
process and interleaved, ``api.analyse`` (the computation every command starts with) and
``api.backtest_table`` (every pool model forecast from days 7, 14, 30 and 60 at 90, 180 and 365
days, with only the data known on each forecast's date).  Prints the medians, their ratio and
the backtest table as Markdown (the table ``benchmarks/RESULTS.md`` shows).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ram import api
from ram.config import load_config
from ram.pipeline.panel_import import import_panel

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "snapshots" / "sample" / "hf_downloads_30d_2024H2.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cfg = load_config(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sample.duckdb"
        import_panel(cfg, db, SAMPLE)
        analyse_s, backtest_s = [], []
        summary = None
        for _ in range(args.runs):
            t = time.perf_counter()
            an = api.analyse(cfg, db)
            analyse_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            summary, _ = api.backtest_table(an, cfg)
            backtest_s.append(time.perf_counter() - t)
    a, b = statistics.median(analyse_s), statistics.median(backtest_s)
    print(f"analyse {a:.3f} s, backtest {b:.3f} s (median of {args.runs}): {b / a:.1f}x analyse")
    assert summary is not None
    shown = summary[summary["n"] > 0]
    cols = ["at_day", "horizon", "n", "error_factor", "coverage_80", "n_interval", "spearman",
            "brier", "n_brier", "median_reference", "no_reference"]  # fmt: skip
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in shown[cols].itertuples(index=False):
        cells = ["—" if v != v else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
