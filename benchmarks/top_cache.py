"""What writing the score cache costs, and its size: milestones and latest (format 4) against
every day of every model (format 3), in one run on the same synthetic analysis.

    python -m benchmarks.top_cache [--models N] [--days D]

The analysis is ``formula.compute`` over ``benchmarks.synth`` (the cache's input once a command
has computed); each side then takes its rows, flags them and writes the Parquet file the way
``ram.score_cache`` does.  Issue 20's target: a refresh under 0.5 s at 2,000 models.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from benchmarks import synth
from ram import score_cache
from ram.metric import formula
from ram.metric.quality import flag_scores
from ram.store import top_cache


def analysis(n_models: int, n_days: int) -> Any:
    """A stand-in ``api.Analysis`` with what the cache writer reads."""
    panel = synth.generate(n_models, n_days=n_days)
    result = formula.compute(panel.obs, panel.models)
    classes = [c[0] for c in synth.CLASSES]
    return SimpleNamespace(
        result=result,
        models=panel.models.assign(tracked=panel.models["in_pool"]),
        obs=panel.obs,
        flags=pd.DataFrame(columns=["model_id", "obs_date", "flag"]),
        as_of=result.as_of,
        baseline_label="live cutoff, top 10",
        source="synthetic",
        size_classes=classes,
        stale=[],  # the analysis's stale line: computed once for the leaderboard, not by a write
    )


def every_day_write(an: Any, path: Path) -> None:
    """Format 3's write: every day 1..max_day of every model, and the latest."""
    result = an.result
    parts = [
        frame.assign(is_latest=latest, flags=flag_scores(frame, an.flags), seq=range(len(frame)))
        for latest, frame in (
            (False, result.scores(range(1, result.params.max_day + 1))),
            (True, result.latest()),
        )
    ]
    top_cache.write(pd.concat(parts, ignore_index=True), {"key": "x"}, path, 0o644)


def measure(n_models: int, n_days: int) -> dict[str, Any]:
    an = analysis(n_models, n_days)
    db_dir = Path(tempfile.mkdtemp())
    db = db_dir / "s.duckdb"
    db.write_bytes(b"")
    started = time.perf_counter()
    score_cache._write(an, db, "key")
    milestones = time.perf_counter() - started
    small = score_cache.cache_path(db).stat().st_size
    old = db_dir / "every-day.parquet"
    started = time.perf_counter()
    every_day_write(an, old)
    every = time.perf_counter() - started
    return {
        "models": n_models,
        "days": n_days,
        "milestones_seconds": milestones,
        "milestones_bytes": small,
        "every_day_seconds": every,
        "every_day_bytes": old.stat().st_size,
        "when": dt.date.today().isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    r = measure(args.models, args.days)
    print(
        f"{r['models']:,} models x {r['days']} days: cache of milestones and latest "
        f"{r['milestones_seconds']:.2f} s, {r['milestones_bytes'] / 1e6:.2f} MB; every day "
        f"{r['every_day_seconds']:.2f} s, {r['every_day_bytes'] / 1e6:.1f} MB "
        f"({r['every_day_seconds'] / r['milestones_seconds']:.0f}x the time)"
    )


if __name__ == "__main__":
    main()
