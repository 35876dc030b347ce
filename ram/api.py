"""The library API behind the CLI, charts, report and notebooks: store + catalog + metric.

Every function returns data (DataFrames, dataclasses); rendering happens at the edge.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ram import catalog, leaderboard, metric, quality
from ram.config import Config
from ram.errors import BadInput, EmptyStore, UnknownModel, UnknownSizeClass
from ram.store import RunRecord, Store

SCORE_CSV_COLUMNS = [*metric.SCORE_COLUMNS, "flags"]
MODEL_CSV_COLUMNS = [
    "model_id", "org", "size_class", "params_b", "params_source", "release_date",
    "release_source", "region", "tracked",
]  # fmt: skip


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- writing -------------------------------------------------------------------------------


def import_panel(
    cfg: Config,
    db: Path,
    path: str | Path,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunRecord:
    """Validate a panel file completely, then write all of it in one transaction (or nothing)."""
    from collectors.panel import read_panel

    started = now_utc()
    if progress:
        progress(f"reading {path}")
    panel = read_panel(path)
    src = f"panel:{source}" if source else panel.source
    obs = panel.observations.assign(source=src)
    obs["observed_at"] = pd.NaT
    span = obs.groupby("model_id")["obs_date"].agg(["min", "max"])
    max30 = obs.groupby("model_id")["downloads_30d"].max()
    models = panel.models.assign(via="import")
    models["first_seen"] = models["model_id"].map(span["min"])
    models["last_seen"] = models["model_id"].map(span["max"])
    models["downloads_30d_max"] = models["model_id"].map(max30)
    resolved = catalog.resolve(models, cfg)
    run = RunRecord(kind="import", source=src, started_at=started, models=len(models))
    run.details = {
        "file": str(panel.path),
        "rows": len(obs),
        "tracked": int(resolved.tracked.sum()),
    }
    unvetted = resolved[resolved["tracked_reason"] == catalog.UNVETTED_IMPORT]
    if len(unvetted):
        run.details["untracked_without_tag"] = len(unvetted)
        run.details["untracked_orgs"] = sorted(set(unvetted["org"]), key=str.lower)
    if progress:
        progress(f"writing {len(obs):,} observations of {len(models):,} models")
    with Store.open(db, wait=cfg.storage.lock_wait_seconds) as store:
        keep_existing = store.models().set_index("model_id")
        # An import never downgrades how a model came in (catalog, discovered, ...).
        prior_via = resolved["model_id"].map(keep_existing["via"]) if len(keep_existing) else None
        if prior_via is not None:
            resolved["via"] = prior_via.fillna(resolved["via"])
        run.finished_at = now_utc()
        store.save(run, resolved.drop(columns=["downloads_30d_max"]), obs)
    return run


# -- reading -------------------------------------------------------------------------------


def load_models(store: Store, cfg: Config) -> pd.DataFrame:
    """Stored models resolved with the current config, plus observation statistics."""
    raw = store.models()
    if raw.empty:
        return catalog.resolve(raw.assign(downloads_30d_max=pd.Series(dtype="float64")), cfg)
    stats = store.observation_stats()
    merged = raw.merge(stats, on="model_id", how="left")
    return catalog.resolve(merged, cfg)


@dataclass
class Analysis:
    """One RAM computation with everything needed to label its output."""

    result: metric.RamResult
    models: pd.DataFrame  # resolved models (all stored ones), with size_class for this baseline
    as_of: dt.date
    method: str
    baseline_label: str
    source: str
    top_n: int
    scheme: tuple[tuple[str, float, float | None], ...]
    obs: pd.DataFrame = field(repr=False)

    @property
    def size_classes(self) -> list[str]:
        return [label for label, _, _ in self.scheme]

    @functools.cached_property
    def flags(self) -> pd.DataFrame:
        """Data-quality flags of the observations (restated counts, spikes)."""
        return quality.observation_flags(self.obs)

    def header(self) -> str:
        """One line saying as-of date, baseline and source, printed above every listing."""
        return f"as of {self.as_of} · baseline: {self.baseline_label} · source: {self.source}"


def _source_label(store: Store) -> str:
    rows = store.con.execute(
        "SELECT source, count(*) FROM observations GROUP BY source ORDER BY 2 DESC"
    ).fetchall()
    names = [str(r[0]) for r in rows]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    return f"Hugging Face download counts ({shown})"


def analyse(
    cfg: Config,
    db: Path,
    *,
    method: str | None = None,
    as_of: dt.date | None = None,
    baseline: str | None = None,
) -> Analysis:
    """Curves, baselines (live or a frozen version) and scores from the store."""
    with Store.open(db, read_only=True) as store:
        obs = store.observations()
        if obs.empty:
            raise EmptyStore(
                f"no observations in {db}; run: ram import panel FILE (or ram snapshot)"
            )
        models = load_models(store, cfg)
        source = _source_label(store)
        frozen = info = None
        if baseline:
            frozen, info = store.frozen_baseline(baseline)
    scheme = cfg.size_scheme()
    top_n = cfg.ram.top_n
    chosen_method = method or cfg.ram.method
    if info is not None and method is not None and method != info["method"]:
        raise BadInput(
            f"--method {method} with --baseline {baseline}: that baseline was frozen with method "
            f"{info['method']}; drop --method, or freeze a {method} baseline "
            f"(ram baseline --method {method} --freeze NAME)"
        )
    if info is not None:
        scheme = tuple(
            (str(r[0]), float(r[1]), None if r[2] is None else float(r[2])) for r in info["scheme"]
        )
        top_n = info["top_n"]
        chosen_method = info["method"]
        models["size_class"] = [metric.size_class_of(p, scheme) for p in models["params_b"]]
    params = metric.RamParams(
        method=chosen_method,
        top_n=top_n,
        max_gap_days=cfg.ram.max_gap_days,
        max_day=cfg.ram.max_day,
        milestones=tuple(cfg.ram.milestones),
        min_pool=cfg.ram.min_pool,
    )
    scored = models[models["release_date"].notna()]
    metric_models = pd.DataFrame(
        {
            "model_id": scored["model_id"],
            "release_date": pd.to_datetime(scored["release_date"]),
            "size_class": scored["size_class"],
            "in_pool": scored["tracked"],
        }
    )
    if as_of is None:
        as_of = pd.Timestamp(obs["obs_date"].max()).date()
    result = metric.compute(obs, metric_models, params, as_of=as_of, baselines=frozen)
    label = (
        f"frozen {baseline} ({chosen_method}, top {top_n}, as of {info['as_of']})"
        if info is not None
        else f"live {chosen_method}, top {top_n}"
    )
    return Analysis(result, models, result.as_of, chosen_method, label, source, top_n, scheme, obs)


def check_size_class(an: Analysis, size_class: str | None) -> None:
    if size_class is not None and size_class not in an.size_classes:
        raise UnknownSizeClass(
            f"unknown size class {size_class!r}; use one of: {', '.join(an.size_classes)}"
        )


def _known_model(models: pd.DataFrame, model_id: str) -> pd.Series:
    hit = models[models["model_id"] == model_id]
    if hit.empty:
        lower = {m.lower(): m for m in models["model_id"]}
        if model_id.lower() in lower:
            hint = f"; did you mean {lower[model_id.lower()]}?"
        else:
            close = difflib.get_close_matches(model_id, list(models["model_id"]), n=1)
            hint = f"; did you mean {close[0]}?" if close else "; list models with: ram models"
        raise UnknownModel(f"unknown model {model_id!r}{hint}")
    return hit.iloc[0]


def _with_dates(frame: pd.DataFrame, flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score rows as output: release dates as dates, and the data-quality ``flags`` dated
    inside each row's stretch of curve (``ram.quality``)."""
    out = frame.copy()
    out["flags"] = quality.flag_scores(out, flags)
    out["release_date"] = pd.to_datetime(out["release_date"]).dt.date
    return out[SCORE_CSV_COLUMNS].reset_index(drop=True)


def scores_table(an: Analysis, days: Sequence[int] | None = None) -> pd.DataFrame:
    """Every scored model's RAM at ``days`` (default: the configured milestones)."""
    return _with_dates(an.result.scores(list(days) if days else None), an.flags)


@dataclass
class Leaderboard:
    """A leaderboard's rows and the lines saying what it left out and why."""

    rows: pd.DataFrame
    notes: list[str]


def support_of(result: metric.RamResult, classes: Sequence[str]) -> leaderboard.Support:
    """Day-by-day pool support and baseline definedness of each of ``classes``."""
    params = result.params
    max_day = params.max_day
    curves: dict[str, list[int]] = {}
    defined: dict[str, list[bool]] = {}
    sup, base = result.support, result.baselines
    for label in classes:
        counts = [0] * max_day
        rows = sup[sup["size_class"] == label]
        for day, n in zip(rows["day"].tolist(), rows["n_models"].tolist(), strict=True):
            if 1 <= day <= max_day:
                counts[day - 1] = int(n)
        flags = [False] * max_day
        for day in base.loc[base["size_class"] == label, "day"].tolist():
            if 1 <= day <= max_day:
                flags[day - 1] = True
        curves[label], defined[label] = counts, flags
    return leaderboard.Support(curves, defined, params.method, params.top_n, params.pool_floor)


def rank(
    result: metric.RamResult,
    classes: Sequence[str],
    day: int | None = 30,
    size_class: str | None = None,
    limit: int = 10,
    scope: leaderboard.Scope = leaderboard.Scope(),
    flags: pd.DataFrame | None = None,
) -> Leaderboard:
    """The one leaderboard (CLI, report, top cache): RAM at ``day`` (None = latest RAM), best
    first, ``limit`` per class in ``classes`` order, within ``scope``; its notes count what was
    left out and name each class without a leaderboard (RAM_SPEC §3)."""
    frame = result.latest() if day is None else result.scores([day])
    if size_class:
        frame = frame[frame["size_class"] == size_class]
    keep = np.array(
        [scope.keeps(p, t) for p, t in zip(frame["in_pool"], frame["thin"], strict=True)],
        dtype=bool,
    )
    kept, left = frame[keep], frame[~keep]
    order = {c: i for i, c in enumerate(classes)}
    kept = kept.assign(_c=kept["size_class"].map(order)).sort_values(
        ["_c", "ram", "model_id"], ascending=[True, False, True], kind="stable"
    )
    per_class = kept.groupby("size_class", sort=False).size().to_dict()
    kept = kept.groupby("size_class", sort=False).head(limit)
    ranks = kept.groupby("size_class", sort=False).cumcount() + 1
    out = _with_dates(kept, flags)
    out.insert(0, "rank", ranks.to_numpy())
    notes = leaderboard.notes(
        day=day,
        classes=[size_class] if size_class else list(classes),
        kept={str(k): int(v) for k, v in per_class.items()},
        thin_left_out=int((left["in_pool"] & left["thin"]).sum()),
        untracked_left_out=int((~left["in_pool"].astype(bool)).sum()),
        support=support_of(result, classes),
        scope=scope,
    )
    return Leaderboard(out, notes)


def top_leaderboard(
    an: Analysis,
    day: int | None = 30,
    size_class: str | None = None,
    limit: int = 10,
    scope: leaderboard.Scope = leaderboard.Scope(),
) -> Leaderboard:
    """``rank`` of an analysis, after checking the size class."""
    check_size_class(an, size_class)
    return rank(an.result, an.size_classes, day, size_class, limit, scope, an.flags)


def top_table(
    an: Analysis, day: int | None = 30, size_class: str | None = None, limit: int = 10
) -> pd.DataFrame:
    """The default leaderboard's rows (pool members on baselines that are not thin)."""
    return top_leaderboard(an, day, size_class, limit).rows


@dataclass
class ModelScore:
    """One model's facts and its RAM at the requested days, plus its latest RAM."""

    model: dict[str, Any]
    scores: pd.DataFrame
    latest: pd.DataFrame


def score_model(an: Analysis, model_id: str, days: Sequence[int] | None = None) -> ModelScore:
    row = _known_model(an.models, model_id)
    scores = an.result.scores(list(days) if days else None)
    latest = an.result.latest()
    facts = {k: row.get(k) for k in (*MODEL_CSV_COLUMNS, "tracked_reason")}
    return ModelScore(
        facts,
        _with_dates(scores[scores["model_id"] == model_id], an.flags),
        _with_dates(latest[latest["model_id"] == model_id], an.flags),
    )


def models_table(
    cfg: Config,
    db: Path,
    size_class: str | None = None,
    org: str | None = None,
    suspect: bool = False,
) -> pd.DataFrame:
    """The stored models with size, release date and where each came from; with ``suspect``,
    only those whose name size and weights size disagree (``catalog.suspect_sizes``)."""
    with Store.open(db, read_only=True) as store:
        models = load_models(store, cfg)
    labels = [label for label, _, _ in cfg.size_scheme()] + ["unknown"]
    if size_class is not None and size_class not in labels:
        raise UnknownSizeClass(
            f"unknown size class {size_class!r}; use one of: {', '.join(labels)}"
        )
    if size_class:
        models = models[models["size_class"] == size_class]
    if org:
        models = models[models["org"].str.lower() == org.lower()]
    if suspect:
        return catalog.suspect_sizes(models)
    out = models.copy()
    out["release_date"] = pd.to_datetime(out["release_date"]).dt.date
    return out[[*MODEL_CSV_COLUMNS, "tracked_reason"]].reset_index(drop=True)


def baseline_table(
    an: Analysis, size_class: str | None = None, days: Sequence[int] | None = None
) -> pd.DataFrame:
    """Baseline values per class and day (default: the milestones)."""
    check_size_class(an, size_class)
    b = an.result.baselines
    if size_class:
        b = b[b["size_class"] == size_class]
    wanted = list(days) if days else list(an.result.params.milestones)
    b = b[b["day"].isin(wanted)]
    order = {c: i for i, c in enumerate(an.size_classes)}
    b = b.assign(_c=b["size_class"].map(order)).sort_values(["_c", "day"]).drop(columns="_c")
    return b.reset_index(drop=True)


def freeze_baseline(cfg: Config, db: Path, name: str, an: Analysis) -> int:
    """Store the live baseline of ``an`` under a version name."""
    with Store.open(db, wait=cfg.storage.lock_wait_seconds) as store:
        return store.save_baseline(
            name,
            an.result.baselines,
            method=an.method,
            top_n=an.top_n,
            scheme=an.scheme,
            as_of=an.as_of,
        )
