"""The tracked set: ATOM's bundled catalog plus the policy in ``config.yaml``.

Resolves each model's size (and where it came from), release date, region, size class and
whether it is tracked, and why.  Resolution runs on read as well as on write, so a change to
``config.yaml`` takes effect without re-collecting anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from ram.config import PATTERN_LABELS, Config

if TYPE_CHECKING:
    import pandas as pd

    from ram.store.database import Store

CATALOG_DATE = dt.date(2026, 8, 17)  # commit 3cd80206 of Interconnects-AI/tracked-models

# A size token in a repo name (RAM_SPEC §1): "-7B", "_0.5b", "-135M", "-8x7B" (8 x 7), each
# delimited by the start, the end or one of - _ / . on both sides; "A3B" / "a22b" (an A right
# before the number: active parameters) is no size token.
_SIZE_TOKEN = re.compile(r"(?:^|[-_/.])(?:(\d+)[xX])?(\d+(?:\.\d+)?)([bBmM])(?=$|[-_/.])")


@dataclass(frozen=True)
class Catalog:
    """ATOM's tracked-model catalog as lookup tables."""

    main: frozenset[str]
    extra: frozenset[str]
    params: dict[str, tuple[float, float | None]]
    release: dict[str, dt.date]
    regions: dict[str, str]

    @functools.cached_property
    def model_ids(self) -> frozenset[str]:
        """Every catalog repo (main and extra), built once: ``resolve`` asks once per row."""
        return self.main | self.extra

    @functools.cached_property
    def orgs(self) -> frozenset[str]:
        """Orgs with repos in the catalog: their other old repos were left out on purpose."""
        return frozenset(m.split("/", 1)[0] for m in self.model_ids)


def _rows(name: str, folder: str = "tracked-models") -> list[dict[str, str]]:
    text = resources.files("ram").joinpath("data", folder, name).read_text("utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


@functools.cache
def load_catalog() -> Catalog:
    """The bundled catalog (read once per process)."""
    params: dict[str, tuple[float, float | None]] = {}
    for r in _rows("model_parameters.csv"):
        total = _float(r["total_params_b"])
        if total is not None:
            params[r["model_id"]] = (total, _float(r.get("active_params_b")))
    # ATOM's corrections win over the ones this project curates (ram/data/curated).
    release = {
        r["model_id"]: dt.date.fromisoformat(r["actual_release_date"])
        for folder in ("curated", "tracked-models")
        for r in _rows("release_date_corrections.csv", folder)
        if r.get("actual_release_date")
    }
    return Catalog(
        main=frozenset(r["modelId"] for r in _rows("models.csv")),
        extra=frozenset(r["modelId"] for r in _rows("extra_models.csv")),
        params=params,
        release=release,
        regions={r["hf_org"]: r["region"] for r in _rows("organization_regions.csv")},
    )


def tracked_orgs(cfg: Config) -> list[str]:
    """Orgs whose new releases are discovered at each snapshot: those with catalog repos, plus
    ``tracking.orgs``.  The catalog's region table names more orgs; it only gives regions, so
    listing those orgs (one request each) is opt-in through ``tracking.orgs``."""
    orgs: set[str] = set(cfg.tracking.orgs)
    if cfg.tracking.use_catalog:
        orgs |= set(load_catalog().orgs)
    return sorted(orgs, key=str.lower)


def tracked_ids(cfg: Config) -> list[str]:
    """Repos tracked whatever the Hub says of them: the catalog and the include list."""
    ids = set(cfg.tracking.include)
    if cfg.tracking.use_catalog:
        ids |= load_catalog().model_ids
    return sorted(ids - set(cfg.tracking.exclude))


def params_from_name(model_id: str) -> float | None:
    """Total parameters (billions) from the repo name: the largest of its size tokens (RAM_SPEC
    §1: ``OLMoE-1B-7B`` -> 7, ``Qwen3-30B-A3B`` -> 30, ``Mixtral-8x7B`` -> 56, ``SmolLM-135M``
    -> 0.135), or None when it has none."""
    name = model_id.split("/", 1)[-1]
    sizes = [
        (int(experts) if experts else 1) * float(number) / (1 if unit in "bB" else 1000)
        for experts, number, unit in _SIZE_TOKEN.findall(name)
    ]
    positive = [v for v in sizes if v > 0]
    return max(positive) if positive else None


def _pandas() -> Any:
    """pandas when it is loaded: only then can a cell hold its NA or NaT (a decision for one
    model, as ``ram status`` makes, reads plain values without loading it)."""
    return sys.modules.get("pandas")


def _is_na(value: Any) -> bool:
    pd = _pandas()
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _text(value: Any) -> str | None:
    """A string cell, or None for the many spellings of missing (None, NaN, NA)."""
    if value is None or _is_na(value) or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _num(value: Any) -> float | None:
    if value is None or _is_na(value):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or f <= 0 else f


def resolve_params(
    row: dict[str, Any], cfg: Config, cat: Catalog
) -> tuple[float | None, float | None, str | None]:
    """(total, active, source): config → catalog → imported → safetensors → GGUF → name."""
    mid = row["model_id"]
    if mid in cfg.tracking.params_b:
        return cfg.tracking.params_b[mid], None, "config"
    if cfg.tracking.use_catalog and mid in cat.params:
        total, active = cat.params[mid]
        return total, active, "catalog"
    reported = _num(row.get("params_b_reported"))
    if reported is not None:
        return reported, None, "import"
    for key, source in (("safetensors_total", "safetensors"), ("gguf_total", "gguf")):
        raw = _num(row.get(key))
        if raw is not None:
            return raw / 1e9, None, source
    named = params_from_name(mid)
    return (named, None, "name") if named is not None else (None, None, None)


def _day(value: Any) -> dt.date | None:
    """A date cell: a date, a moment (its date), an ISO string; None when missing."""
    if value is None or _is_na(value) or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):  # pandas' Timestamp too
        return value.date()
    if isinstance(value, dt.date):
        return value
    import pandas as pd  # strings and numpy dates: pandas' parser, as a frame's cells get

    return None if pd.isna(value) else pd.Timestamp(value).date()


def _flag(value: Any) -> bool:
    if value is None or _is_na(value) or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def detected_launch(row: dict[str, Any], private_gap_days: int) -> dt.date | None:
    """The detected public launch of RAM_SPEC §1, or None.

    The first date with a count above 0 (``first_downloads``) is the launch when it comes more
    than ``private_gap_days`` after ``createdAt`` and the data shows the repo was not public
    before: the model was observed earlier (``seen_before``), or the same source observed
    another repo of its org in between (``org_watched``).
    """
    first, created = _day(row.get("first_downloads")), _day(row.get("created_at"))
    if first is None or created is None or (first - created).days <= private_gap_days:
        return None
    if _flag(row.get("seen_before")) or _flag(row.get("org_watched")):
        return first
    return None


def resolve_release(
    row: dict[str, Any], cfg: Config, cat: Catalog
) -> tuple[dt.date | None, str | None]:
    """(date, source): config override -> catalog correction -> detected public launch
    (``first_downloads``) -> the Hub's ``createdAt`` date (RAM_SPEC §1)."""
    mid = row["model_id"]
    if mid in cfg.tracking.release_dates:
        return cfg.tracking.release_dates[mid], "config"
    if cfg.tracking.use_catalog and mid in cat.release:
        return cat.release[mid], "correction"
    launch = detected_launch(row, cfg.ram.private_gap_days)
    if launch is not None:
        return launch, "first_downloads"
    created = _day(row.get("created_at"))
    return (created, "created_at") if created is not None else (None, None)


# An imported repo nothing vouches for as an LLM: no catalog entry, no tracked org, no tag.
UNVETTED_IMPORT = (
    "imported without a pipeline tag from an org outside the catalog and tracking.orgs: "
    "list the org under tracking.orgs or the repo under tracking.include to track it"
)
SUSPECT_SHARE = 0.2
SUSPECT_COLUMNS = [
    "model_id", "size_class", "params_b", "params_source", "name_params_b", "weights_params_b",
    "weights_source", "difference",
]  # fmt: skip


def suspect_sizes(models: pd.DataFrame) -> pd.DataFrame:
    """Repos whose name size and weights size (safetensors, else GGUF) disagree by more than
    20% of the weights size: a mislabelled repo, a quantized re-upload (packed weights count
    fewer parameters), or a name token that is no size.  ``difference`` is (name - weights) /
    weights."""
    import pandas as pd

    rows = []
    records: list[dict[str, Any]] = models.to_dict("records")  # type: ignore[assignment]
    for row in records:
        named = params_from_name(row["model_id"])
        weights, source = None, None
        for key, src in (("safetensors_total", "safetensors"), ("gguf_total", "gguf")):
            raw = _num(row.get(key))
            if raw is not None:
                weights, source = raw / 1e9, src
                break
        if named is None or weights is None:
            continue
        difference = (named - weights) / weights
        if abs(difference) > SUSPECT_SHARE:
            rows.append(
                {
                    "model_id": row["model_id"],
                    "size_class": row.get("size_class"),
                    "params_b": row.get("params_b"),
                    "params_source": row.get("params_source"),
                    "name_params_b": named,
                    "weights_params_b": weights,
                    "weights_source": source,
                    "difference": difference,
                }
            )
    frame = pd.DataFrame(rows, columns=SUSPECT_COLUMNS)
    return frame.sort_values("model_id", kind="stable", ignore_index=True)


def _lower(items: list[str]) -> frozenset[str]:
    return frozenset(i.lower() for i in items)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """A tracking pattern compiled once (``re``'s own cache costs a lookup per row and call)."""
    return re.compile(pattern, re.IGNORECASE)


def name_rule(pattern: str, model_id: str) -> str | None:
    """Why a name rule rejects a repo, in words (``rejected: a reward model: 'RM' in the name``),
    or None.  A rule of the user's own, which has no label, is quoted."""
    found = _compiled(pattern).search(model_id)
    if found is None:
        return None
    hit = found.group(0).strip("-_/.") or found.group(0)
    label = PATTERN_LABELS.get(pattern)
    if label is None:
        return f"rejected: {hit!r} in the name matches {pattern!r}"
    return f"rejected: {label}: {hit!r} in the name"


def _not_a_language_model(model_id: str, tag: str | None, cfg: Config) -> str | None:
    """Why a repo is no LLM or VLM (a pipeline tag outside the policy, or a modality pattern
    such as embedding, speech or a vision classifier in its name), or None."""
    for pattern in cfg.tracking.modality_patterns:
        if (why := name_rule(pattern, model_id)) is not None:
            return why
    if tag and tag not in cfg.tracking.pipeline_tags:
        return f"rejected: pipeline tag {tag}"
    return None


def track_decision(
    row: dict[str, Any],
    params_b: float | None,
    cfg: Config,
    cat: Catalog,
    orgs: frozenset[str] | None = None,
) -> tuple[bool, str]:
    """Whether a model is tracked and why: explicit lists, then the catalog, then the policy."""
    t = cfg.tracking
    mid: str = row["model_id"]
    org = mid.split("/", 1)[0]
    via = _text(row.get("via")) or "unknown"
    stored_reason = _text(row.get("tracked_reason")) or ""
    if mid in t.exclude:
        return False, "excluded in config"
    if mid in t.include:
        return True, "included in config"
    if str(stored_reason).startswith("renamed to "):
        return False, str(stored_reason)
    if via == "renamed" and stored_reason.startswith("renamed from "):
        return (
            True,
            stored_reason,
        )  # a tracked repo's new id (ram.pipeline.snapshot): its history moved here
    tag = _text(row.get("pipeline_tag"))
    in_catalog = t.use_catalog and mid in cat.model_ids
    if in_catalog:
        screened = _not_a_language_model(mid, tag, cfg) if t.screen_catalog else None
        if screened is not None:
            return False, f"{screened} (screened out of ATOM's catalog: tracking.screen_catalog)"
        return True, "ATOM catalog" if mid in cat.main else "ATOM catalog (extra)"
    for pattern in t.reject_patterns:
        if (why := name_rule(pattern, mid)) is not None:
            return False, why
    screened = _not_a_language_model(mid, tag, cfg)
    if screened is not None:
        return False, screened
    created_date = _day(row.get("created_at"))
    old = created_date is None or created_date <= CATALOG_DATE
    if via in ("import", "archive", "discovered") and t.use_catalog and org in cat.orgs and old:
        return False, f"{org} is tracked through ATOM's catalog, which leaves this repo out"
    if via == "import":
        known_org = org.lower() in (orgs if orgs is not None else _lower(tracked_orgs(cfg)))
        if not known_org and not tag:
            return False, UNVETTED_IMPORT
        if params_b is None:
            return False, "size unknown: give params_b in the panel or tracking.params_b in config"
        return True, "imported"
    if via in ("discovered", "archive"):
        if org.lower() not in (orgs if orgs is not None else _lower(tracked_orgs(cfg))):
            return False, "not in a tracked org"
        if not tag:
            return False, "rejected: no pipeline tag"
        downloads = _num(row.get("downloads_30d_max"))
        if t.min_downloads is not None and (downloads or 0) < t.min_downloads:
            return False, f"rejected: under {t.min_downloads} downloads"
        return True, f"new release of tracked org {org}"
    return False, "not in the tracked set"


def tracked_among(rows: list[dict[str, Any]], cfg: Config) -> set[str]:
    """Which of these stored models (``Store.model_facts`` rows) ``resolve`` would call
    tracked: the same decision, for a few models, without a frame."""
    cat = load_catalog()
    orgs = _lower(tracked_orgs(cfg))
    return {
        row["model_id"]
        for row in rows
        if track_decision(row, resolve_params(row, cfg, cat)[0], cfg, cat, orgs)[0]
    }


def resolve(models: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Add resolved columns: params_b, active_params_b, params_source, release_date,
    release_source, region, size_class, tracked, tracked_reason, org."""
    import pandas as pd

    from ram.metric.formula import size_class_of

    cat = load_catalog()
    scheme = cfg.size_scheme()
    orgs = _lower(tracked_orgs(cfg))
    regions = {**(cat.regions if cfg.tracking.use_catalog else {}), **cfg.tracking.orgs}
    out = []
    rows: list[dict[str, Any]] = models.to_dict("records")  # type: ignore[assignment]
    for row in rows:
        total, active, psource = resolve_params(row, cfg, cat)
        release, rsource = resolve_release(row, cfg, cat)
        tracked, reason = track_decision(row, total, cfg, cat, orgs)
        org = row["model_id"].split("/", 1)[0]
        out.append(
            {
                "org": org,
                "params_b": total,
                "active_params_b": active,
                "params_source": psource,
                "release_date": release,
                "release_source": rsource,
                "region": regions.get(org, "unknown"),
                "size_class": size_class_of(total, scheme),
                "tracked": tracked,
                "tracked_reason": reason,
            }
        )
    resolved = pd.DataFrame(out, index=models.index, columns=[
        "org", "params_b", "active_params_b", "params_source", "release_date", "release_source",
        "region", "size_class", "tracked", "tracked_reason",
    ])  # fmt: skip
    base = models.drop(columns=[c for c in resolved.columns if c in models.columns])
    result = pd.concat([base, resolved], axis=1)
    result["params_b"] = result["params_b"].astype("float64")
    result["active_params_b"] = result["active_params_b"].astype("float64")
    result["tracked"] = result["tracked"].astype(bool)
    return result


def load_models(store: Store, cfg: Config) -> pd.DataFrame:
    """Stored models resolved with the current config, plus observation statistics.

    A read-only store (no write can land while it is open) keeps the result beside the
    database for the next read (``ram.store.models_cache``)."""
    import pandas as pd

    from ram.store import models_cache

    key = models_cache.key(cfg, store.path) if store.read_only else None
    cached = models_cache.read(store.path, key)
    if cached is not None:
        return cached
    raw = store.models()
    if raw.empty:
        return resolve(raw.assign(downloads_30d_max=pd.Series(dtype="float64")), cfg)
    stats = store.observation_stats()
    merged = raw.merge(stats, on="model_id", how="left")
    models = resolve(merged, cfg)
    models_cache.save(store.path, key, models)
    return models
