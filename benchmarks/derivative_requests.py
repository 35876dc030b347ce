"""What the live derivative counts cost per day for the default catalog, against the fake Hub.

``python -m benchmarks.derivative_requests [--days N]`` prints one JSON line: the requests of a
first ``ram snapshot`` (the download listings plus one ``childrenModelCount`` per due model, up
to ``derivatives.max_requests``), then the derivative requests of each following day under the
cadence (daily while a model is younger than ``derivatives.daily_until_days``, weekly after).
The fake Hub's creation dates are synthetic (``tests/fakehub_data``), so the daily figures show
the cadence at work on 1,958 models, not the real catalog's ages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="ram-bench-hf-"))

import pandas as pd

from tests.fakehub import FakeHub
from tests.fakehub_data import populate


def measure(days: int) -> dict[str, Any]:
    from ram import catalog, derivatives
    from ram.config import Config
    from ram.pipeline.snapshot import run_snapshot
    from ram.store.database import Store

    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp, FakeHub() as hub:
        populate(hub)
        db = Path(tmp) / "bench.duckdb"
        summary = run_snapshot(cfg, db, endpoint=hub.url, token=False)
        first = {
            "tracked": summary.tracked,
            "download_requests": summary.requests,
            "derivative_requests": summary.derivative_requests,
            "derivatives_due": summary.derivatives_due,
            "server_requests": hub.requests,
        }
        with Store.open(db, read_only=True) as store:
            models = catalog.load_models(store, cfg)
            last = dict(store.last_live_derivatives())
    tracked = models[models["tracked"].astype(bool)]
    today = summary.run_date
    per_day = []
    for i in range(1, days + 1):  # the cadence alone: every due model answered, cap applied
        day = today + dt.timedelta(days=i)
        due = derivatives.due(tracked, last, day, cfg.derivatives.daily_until_days)
        served = due[: cfg.derivatives.max_requests]
        last.update(dict.fromkeys(served, day))
        per_day.append({"day": i, "due": len(due), "requests": len(served)})
    released = pd.to_datetime(tracked["release_date"]).dropna()
    age = (pd.Timestamp(today) - released).dt.days
    young = int((age < cfg.derivatives.daily_until_days).sum())
    return {"first_snapshot": first, "young_models": young, "following_days": per_day}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    print(json.dumps(measure(args.days)))


if __name__ == "__main__":
    main()
