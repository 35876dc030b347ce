"""Hub answers as typed records: parsed once at the boundary, unknown values None, never 0."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huggingface_hub import ModelInfo


@dataclass(frozen=True)
class HubModel:
    """One repo as the Hub described it at ``observed_at``; unknown values are None, never 0."""

    model_id: str
    hub_id: str | None
    author: str
    created_at: datetime | None
    last_modified: datetime | None
    downloads_30d: int | None
    downloads_all_time: int | None
    likes: int | None
    pipeline_tag: str | None
    library_name: str | None
    tags: tuple[str, ...]
    gated: str | bool | None
    license: str | None
    safetensors_total: int | None
    gguf_total: int | None
    base_models: tuple[tuple[str | None, str], ...]
    observed_at: datetime


def _note(warnings: list[str], model_id: str, name: str, value: Any, expected: str) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    warnings.append(f"{model_id}: {name}={shown} is not {expected}; recorded as unknown")


# The store's counts are BIGINT: a larger value could not be stored, and is no real count.
_COUNT_MAX = 2**63 - 1


def _count(value: Any, name: str, model_id: str, warnings: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _note(warnings, model_id, name, value, "a non-negative integer")
        return None
    if value > _COUNT_MAX:
        _note(warnings, model_id, name, value, "below 2^63")
        return None
    return value


def _text(value: Any, name: str, model_id: str, warnings: list[str]) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    _note(warnings, model_id, name, value, "a string")
    return None


def _moment(value: Any, name: str, model_id: str, warnings: list[str]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        _note(warnings, model_id, name, value, "a timestamp")
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _base_models(
    raw: Any, tags: tuple[str, ...], model_id: str, warnings: list[str]
) -> tuple[tuple[str | None, str], ...]:
    """Base models with their relation, from ``baseModels`` or else from the tags.

    ``baseModels`` (single-repo route only) is ``{"relation": r, "models": [{"id": i}]}``.  Every
    repo's tags carry the same facts: ``base_model:<relation>:<id>`` per base with a relation,
    and ``base_model:<id>`` per base (the relation unknown when no relation tag names it).
    """
    if raw is None:
        related = [
            tuple(t.split(":", 2)[1:])
            for t in tags
            if t.startswith("base_model:") and t.count(":") == 2
        ]
        found: list[tuple[str | None, str]] = [
            (rel, mid) for rel, mid in related if "/" not in rel and "/" in mid
        ]
        named = {mid for _, mid in found}
        bare = [
            t.split(":", 1)[1] for t in tags if t.startswith("base_model:") and t.count(":") == 1
        ]
        found += [(None, mid) for mid in dict.fromkeys(bare) if "/" in mid and mid not in named]
        return tuple(found)
    if isinstance(raw, dict) and isinstance(raw.get("models"), list):
        relation = raw.get("relation") if isinstance(raw.get("relation"), str) else None
        ids = [m.get("id") if isinstance(m, dict) else m for m in raw["models"]]
        if all(isinstance(i, str) and i for i in ids):
            return tuple((relation, str(i)) for i in ids)
    elif isinstance(raw, list) and all(isinstance(i, str) and i for i in raw):
        return tuple((None, i) for i in raw)
    _note(warnings, model_id, "baseModels", raw, "a list of base models")
    return ()


def parse_model(info: ModelInfo, observed_at: datetime, warnings: list[str]) -> HubModel | None:
    """One ``ModelInfo`` as a ``HubModel``; missing or mistyped fields become None (noted)."""
    model_id = getattr(info, "id", None)
    if not isinstance(model_id, str) or model_id.count("/") != 1:
        _note(warnings, "listing", "id", model_id, "an org/name repo id")
        return None
    w = warnings
    raw_tags = info.tags if info.tags is not None else []
    if not isinstance(raw_tags, list):
        _note(w, model_id, "tags", raw_tags, "a list")
        raw_tags = []
    tags = tuple(t for t in raw_tags if isinstance(t, str))
    if len(tags) != len(raw_tags):
        w.append(f"{model_id}: {len(raw_tags) - len(tags)} non-string tags dropped")
    gated = info.gated if info.gated is None or isinstance(info.gated, bool | str) else None
    if gated is None and info.gated is not None:
        _note(w, model_id, "gated", info.gated, "a flag or approval mode")
    license_ = next((t.split(":", 1)[1] or None for t in tags if t.startswith("license:")), None)
    card_license = getattr(info.card_data, "license", None) if info.card_data is not None else None
    if license_ is None and isinstance(card_license, str):
        license_ = card_license or None
    safetensors_total = None
    if info.safetensors is not None:
        safetensors_total = _count(
            getattr(info.safetensors, "total", None), "safetensors.total", model_id, w
        )
    gguf_total = None
    if isinstance(info.gguf, dict):
        gguf_total = _count(info.gguf.get("total"), "gguf.total", model_id, w)
    elif info.gguf is not None:
        _note(w, model_id, "gguf", info.gguf, "an object")
    return HubModel(
        model_id=model_id,
        hub_id=_text(getattr(info, "_id", None), "_id", model_id, w),
        author=_text(info.author, "author", model_id, w) or model_id.split("/", 1)[0],
        created_at=_moment(info.created_at, "createdAt", model_id, w),
        last_modified=_moment(info.last_modified, "lastModified", model_id, w),
        downloads_30d=_count(info.downloads, "downloads", model_id, w),
        downloads_all_time=_count(info.downloads_all_time, "downloadsAllTime", model_id, w),
        likes=_count(info.likes, "likes", model_id, w),
        pipeline_tag=_text(info.pipeline_tag, "pipeline_tag", model_id, w),
        library_name=_text(info.library_name, "library_name", model_id, w),
        tags=tags,
        gated=gated,
        license=license_,
        safetensors_total=safetensors_total,
        gguf_total=gguf_total,
        base_models=_base_models(info.base_models, tags, model_id, w),
        observed_at=observed_at,
    )
