"""A realistic fake-Hub population built from the bundled catalog, for full-catalog snapshot runs.

Every catalog model gets deterministic pseudo-random counts, dates and sizes (curated parameter
counts where the catalog has them), and tracked orgs get untracked repos too: GGUF re-uploads and
embedding models, as the real Hub has.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from tests.fakehub import FakeHub

_SIZE = re.compile(r"(?:^|[-_/.])(\d+(?:\.\d+)?)([bBmM])(?=$|[-_/.])")
_VISION = re.compile(r"VL|Vision|vision|Omni|-V-|llava|Pixtral|Idefics|SmolVLM")
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CatalogHub:
    """What ``populate`` put on the fake Hub."""

    orgs: list[str]  # every tracked org: the region table plus catalog namespaces
    tracked_ids: list[str]  # the catalog's models (main + extra)
    untracked_ids: list[str]  # re-uploads and embedding models in tracked orgs


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("ram").joinpath("data", "tracked-models", name).read_text("utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _params(model_id: str, curated: dict[str, float], rng: random.Random) -> int:
    if model_id in curated:
        return round(curated[model_id] * 1e9)
    found = _SIZE.search(model_id)
    if found:
        return round(float(found.group(1)) * (1e9 if found.group(2) in "bB" else 1e6))
    return round(rng.choice([0.5, 1.5, 3, 7, 8, 14, 32, 70]) * 1e9 * rng.uniform(0.97, 1.03))


def repo_json(
    model_id: str, *, params: int, rng: random.Random, **overrides: Any
) -> dict[str, Any]:
    """One repo as ``/api/models/{id}`` describes it, with counts drawn from ``rng``."""
    created = _EPOCH + timedelta(days=rng.randint(0, 1000), seconds=rng.randint(0, 86_399))
    all_time = int(rng.lognormvariate(9, 2.5))
    pipeline = "image-text-to-text" if _VISION.search(model_id) else "text-generation"
    license_ = rng.choice(["apache-2.0", "apache-2.0", "mit", "other", "llama3.1", "gemma"])
    repo: dict[str, Any] = {
        "author": model_id.split("/")[0],
        "createdAt": _iso(created),
        "lastModified": _iso(created + timedelta(days=rng.randint(0, 120))),
        "downloads": int(all_time * rng.uniform(0.02, 0.6)),
        "downloadsAllTime": all_time,
        "likes": int(all_time**0.5 * rng.uniform(0.05, 0.5)),
        "pipeline_tag": pipeline,
        "library_name": "transformers",
        "tags": ["transformers", "safetensors", pipeline, f"license:{license_}", "region:us"],
        "gated": rng.choice([False] * 8 + ["auto", "manual"]),
        "private": False,
        "disabled": False,
        "safetensors": {"parameters": {"BF16": params}, "total": params},
    }
    repo.update(overrides)
    return repo


def populate(hub: FakeHub, *, seed: int = 0) -> CatalogHub:
    """Fill ``hub`` with the bundled catalog (~1,958 models, 118 orgs) plus untracked repos."""
    catalog = [r["modelId"] for name in ("models.csv", "extra_models.csv") for r in _rows(name)]
    curated = {r["model_id"]: float(r["total_params_b"]) for r in _rows("model_parameters.csv")}
    orgs = {r["hf_org"].lower(): r["hf_org"] for r in _rows("organization_regions.csv")}
    for model_id in catalog:
        orgs.setdefault(model_id.split("/")[0].lower(), model_id.split("/")[0])
    first: dict[str, str] = {}
    for model_id in catalog:
        rng = random.Random(f"{seed}:{model_id}")
        hub.add(model_id, **repo_json(model_id, params=_params(model_id, curated, rng), rng=rng))
        first.setdefault(model_id.split("/")[0].lower(), model_id)
    untracked: list[str] = []
    for i, org in enumerate(sorted(orgs.values(), key=str.lower)):
        rng = random.Random(f"{seed}:org:{org}")
        base = first.get(org.lower())
        if base is not None and i % 3 == 0:
            gguf_id = f"{base}-GGUF"
            total = hub.repos[base]["safetensors"]["total"]
            hub.add(gguf_id, **repo_json(
                gguf_id, params=total, rng=rng, library_name="gguf",
                gguf={"total": total, "architecture": "llama", "context_length": 32768},
                baseModels={"relation": "quantized", "models": [{"id": base}]},
                tags=["gguf", "text-generation", f"base_model:{base}", f"base_model:quantized:{base}"],
            ))  # fmt: skip
            hub.repos[gguf_id].pop("safetensors")
            untracked.append(gguf_id)
        if i % 5 == 0 or base is None:
            embed_id = f"{org}/{org.split('-')[0]}-embedding-v{rng.randint(1, 3)}"
            hub.add(embed_id, **repo_json(
                embed_id, params=round(rng.choice([0.1, 0.3, 0.6]) * 1e9), rng=rng,
                pipeline_tag="feature-extraction", library_name="sentence-transformers",
            ))  # fmt: skip
            untracked.append(embed_id)
    return CatalogHub(sorted(orgs.values(), key=str.lower), catalog, untracked)


def measure(latency: float = 0.05, page_size: int = 100, max_workers: int = 4) -> str:
    """Snapshot the full catalog from a fake Hub with per-request latency; one summary line."""
    import huggingface_hub.constants

    from collectors.hub import fetch_snapshot

    huggingface_hub.constants.HF_HUB_DISABLE_TELEMETRY = True  # no registry fetch to huggingface.co
    with FakeHub(page_size=page_size, latency=latency) as hub:
        catalog = populate(hub)
        result = fetch_snapshot(
            catalog.orgs,
            catalog.tracked_ids,
            endpoint=hub.url,
            token=False,
            max_workers=max_workers,
        )
    return (
        f"latency={latency * 1000:g}ms page_size={page_size} workers={max_workers} "
        f"orgs={len(catalog.orgs)} models={len(result.models)} requests={result.requests} "
        f"seconds={result.seconds:.2f} status={result.status}"
    )


if __name__ == "__main__":  # python -m tests.fakehub_data: the full-catalog measurement
    for size, workers in ((100, 1), (100, 4), (1000, 4), (100, 8)):
        print(measure(0.05, size, workers))
