"""Requests and seconds of one full-catalog snapshot against the fake Hub, vs per-model lookups.

``python -m benchmarks.collector [--latency S] [--sample N]`` prints one JSON line.  Runs offline:
the fake Hub listens on 127.0.0.1 and ``huggingface_hub`` is pointed at it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# Before huggingface_hub is imported: no telemetry, no token, no cache outside a temp dir.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="ram-bench-hf-"))

from huggingface_hub import HfApi

from collectors.hub import EXPAND
from tests.fakehub import FakeHub
from tests.fakehub_data import populate

WORKERS = 4  # config.yaml's collector.max_workers


def snapshot(latency: float) -> dict[str, Any]:
    """One ``ram snapshot`` (fetch and save) of the default tracked set; requests as the server
    counted them."""
    import tempfile

    from ram import catalog as cat
    from ram.config import Config
    from ram.pipeline.snapshot import run_snapshot

    cfg = Config()
    with FakeHub(latency=latency) as hub, tempfile.TemporaryDirectory() as tmp:
        populate(hub)
        hub.reset_counts()
        started = time.perf_counter()
        summary = run_snapshot(cfg, Path(tmp) / "bench.duckdb", endpoint=hub.url, token=False)
        seconds = time.perf_counter() - started
        return {
            "orgs": len(cat.tracked_orgs(cfg)),
            "tracked_models": len(cat.tracked_ids(cfg)),
            "repos_on_hub": len(hub.repos),
            "models_fetched": summary.models,
            "status": summary.status,
            "requests_server": hub.requests,
            "requests_counted": summary.requests,
            "requests_by_kind": {
                "listing": hub.requests_by_path["/api/models"],
                "other": hub.requests - hub.requests_by_path["/api/models"],
            },
            "seconds": round(seconds, 3),
        }


def per_model(latency: float, sample: int) -> dict[str, Any]:
    """The per-model approach: one ``model_info`` per tracked id, ``WORKERS`` at a time."""
    with FakeHub(latency=latency) as hub:
        catalog = populate(hub)
        ids = catalog.tracked_ids[:sample]
        api = HfApi(endpoint=hub.url, token=False)
        hub.reset_counts()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            found = list(pool.map(lambda m: api.model_info(m, expand=list(EXPAND)), ids))  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        return {
            "sample": len(ids),
            "fetched": len(found),
            "requests_server": hub.requests,
            "seconds": round(seconds, 3),
        }


def measure(latency: float = 0.05, sample: int = 200) -> dict[str, Any]:
    """Requests per 1,000 tracked models and seconds at ``latency`` per request, both approaches."""
    fast = snapshot(0.0)
    slow = snapshot(latency)
    base = per_model(latency, sample)
    n = int(fast["tracked_models"])
    requests = int(fast["requests_server"])
    per_1000 = requests / n * 1000
    base_seconds_1000 = float(base["seconds"]) / int(base["sample"]) * 1000
    return {
        "requests": requests,
        "tracked_models": n,
        "requests_per_1000_models": round(per_1000, 1),
        "per_model_requests_per_1000_models": 1000.0,
        "seconds_no_latency": fast["seconds"],
        "latency_s": latency,
        "seconds_with_latency": slow["seconds"],
        "seconds_with_latency_per_1000_models": round(float(slow["seconds"]) / n * 1000, 2),
        "per_model_seconds_per_1000_models": round(base_seconds_1000, 2),
        "per_model_estimate_seconds_per_1000_models": round(1000 * latency / WORKERS, 2),
        "snapshot": fast,
        "snapshot_with_latency": slow,
        "per_model_sample": base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--sample", type=int, default=200, help="ids fetched one by one")
    args = parser.parse_args()
    print(json.dumps(measure(args.latency, args.sample)))


if __name__ == "__main__":
    main()
