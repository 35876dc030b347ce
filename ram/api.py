"""The library API behind the CLI, charts, report and notebooks: store + catalog + metric.

Every function returns data (DataFrames, dataclasses); rendering happens at the edge.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ram import catalog, derivatives, families
from ram.config import REGIONS, UNKNOWN, Config
from ram.errors import BadInput, EmptyStore, unknown_model, unknown_size_class
from ram.metric import forecast, formula, leaderboard, quality
from ram.store.database import Store
from ram.store.quality import detail as kept_detail

SIGNALS = ("downloads", "derivatives")
UNITS = ("model", "family")
SCORE_CSV_COLUMNS = [*formula.SCORE_COLUMNS, "flags"]
MODEL_CSV_COLUMNS = [
    "model_id", "org", "size_class", "params_b", "params_source", "release_date",
    "release_source", "region", "tracked",
]  # fmt: skip


# -- reading -------------------------------------------------------------------------------


@dataclass
class Analysis:
    """One RAM computation with everything needed to label its output."""

    result: formula.RamResult
    models: pd.DataFrame  # resolved models (all stored ones), with size_class for this baseline
    as_of: dt.date
    method: str
    baseline_label: str
    source: str
    top_n: int
    scheme: tuple[tuple[str, float, float | None], ...]
    obs: pd.DataFrame = field(repr=False)
    kept_flags: pd.DataFrame | None = field(default=None, repr=False)  # the store's, if they apply

    @property
    def size_classes(self) -> list[str]:
        return [label for label, _, _ in self.scheme]

    @functools.cached_property
    def known(self) -> forecast.Known:
        """The curves with their point days: what was known on any earlier date (forecasts)."""
        return forecast.Known.of(self.result.curves, self.result.models)

    @functools.cached_property
    def flags(self) -> pd.DataFrame:
        """Data-quality flags of the observations (restated counts, spikes): those the store
        keeps as it writes (``ram.store.quality``) when the units are stored models, else
        computed from the observations analysed (family sums, derivative counts)."""
        if self.kept_flags is not None:
            return self.kept_flags
        return quality.observation_flags(self.obs)

    @functools.cached_property
    def stale(self) -> list[str]:
        """The line saying which tracked models' observations stop well before the as-of date
        (``stale_notes``); computed once, for the leaderboard and the cache alike."""
        return _stale(self)

    def header(self) -> str:
        """One line saying as-of date, baseline and source, printed above every listing."""
        return f"as of {self.as_of} · baseline: {self.baseline_label} · source: {self.source}"


def last_observation(an: Analysis, model_id: str) -> dt.date | None:
    """The newest day ``model_id`` was observed on, or None."""
    days = an.obs.loc[an.obs["model_id"] == model_id, "obs_date"]
    return None if days.empty else pd.Timestamp(days.max()).date()


def stale_notes(an: Analysis) -> list[str]:
    """``Analysis.stale``: one line when tracked models' observations stop well before the
    as-of date (a backfill of a later day, or a snapshot of only some orgs, moves the as-of for
    everyone): how many, since when, and what to run.  Empty when every tracked model is
    current."""
    return list(an.stale)


def _stale(an: Analysis) -> list[str]:
    tracked = set(an.models.loc[an.models["tracked"], "model_id"])
    if not tracked or an.obs.empty:
        return []
    # per model first, then the tracked ones: filtering every row first costs 4x more
    every = an.obs.groupby("model_id")["obs_date"].max()
    last = pd.to_datetime(every[every.index.isin(list(tracked))])
    if last.empty:
        return []
    gap = an.result.params.max_gap_days
    behind = last[last < pd.Timestamp(an.as_of) - pd.Timedelta(days=gap)]
    if behind.empty:
        return []
    oldest = behind.min().date()
    return [
        f"{len(behind):,} of {len(last):,} tracked models were last observed more than {gap} days "
        f"before the as-of date {an.as_of} (the oldest on {oldest}): their curves and latest RAM "
        "stop there; ram snapshot (or a backfill of the missing days) brings them up to date"
    ]


def _source_label(store: Store) -> str:
    names = [source for source, _ in store.source_counts()]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    return f"Hugging Face download counts ({shown})"


def analyse(
    cfg: Config,
    db: Path,
    *,
    method: str | None = None,
    as_of: dt.date | None = None,
    baseline: str | None = None,
    signal: str = "downloads",
    by: str = "model",
    only_model: str | None = None,
) -> Analysis:
    """Curves, baselines (live or a frozen version) and scores from the store.

    ``signal="derivatives"``: the same machinery over derivative counts (fine-tunes, adapters,
    quantizations, merges) instead of downloads.  ``by="family"``: each family (a base and its
    first-party variants, ``ram.families``) is one unit whose downloads are its members' sum,
    scored against family baselines.

    ``only_model``: the analysis of that model's size class alone (its pool is all a score
    needs): only that class's observations are read.  Scores, baselines and flags of the class
    are those of the full analysis; a forecast that falls back to every class's references
    needs the full one (``ram score`` checks)."""
    if signal not in SIGNALS:
        raise BadInput(f"--signal {signal!r}: use one of {', '.join(SIGNALS)}")
    if by not in UNITS:
        raise BadInput(f"--by {by!r}: use one of {', '.join(UNITS)}")
    if signal != "downloads" and by != "model":
        raise BadInput("--by family sums downloads; use it without --signal derivatives")
    restricted: set[str] | None = None  # only_model: the class read
    kept_flags = None
    with Store.open(db, read_only=True) as store:
        if signal == "derivatives":
            rows = store.derivative_counts()
            obs = derivatives.signal_obs(rows)
            if obs.empty:
                raise EmptyStore(
                    f"no derivative counts in {db}; run: ram snapshot (live counts), "
                    "ram derivatives --rebuild, or ram import derivatives FILE"
                )
            names = sorted(set(rows["source"]))
            source = f"Hugging Face derivative counts ({', '.join(names[:3])}" + (
                f" +{len(names) - 3} more)" if len(names) > 3 else ")"
            )
            models = catalog.load_models(store, cfg)
        else:
            models = catalog.load_models(store, cfg)
            wanted = None
            if only_model is not None and baseline is None and by == "model":
                wanted = _class_members(models, only_model)
            obs = store.observations(wanted, counts_only=True)
            if obs.empty and wanted is not None:
                wanted, obs = None, store.observations(counts_only=True)
            if obs.empty:
                raise EmptyStore(
                    f"no observations in {db}; run: ram import panel FILE (or ram snapshot)"
                )
            if wanted is not None:
                restricted = set(wanted)
                if as_of is None:  # the store's newest day, as a full read gives
                    as_of = store.latest_obs_date()
            if by == "model":
                kept_flags = _kept_flags(store, restricted, obs["model_id"].dtype)
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
        models["size_class"] = [formula.size_class_of(p, scheme) for p in models["params_b"]]
    gap = cfg.derivatives.max_gap_days if signal == "derivatives" else cfg.ram.max_gap_days
    params = formula.RamParams(
        method=chosen_method,
        top_n=top_n,
        max_gap_days=gap,
        max_day=cfg.ram.max_day,
        milestones=tuple(cfg.ram.milestones),
        min_pool=cfg.ram.min_pool,
    )
    if as_of is None:
        as_of = pd.Timestamp(obs["obs_date"].max()).date()
    if by == "family":
        obs, models, source = _family_units(cfg, obs, models, params, as_of, source)
    metric_models = _metric_models(models)
    if restricted is not None:
        metric_models = metric_models[metric_models["model_id"].isin(restricted)]
    result = formula.compute(obs, metric_models, params, as_of=as_of, baselines=frozen)
    label = (
        f"frozen {baseline} ({chosen_method}, top {top_n}, as of {info['as_of']})"
        if info is not None
        else f"live {chosen_method}, top {top_n}"
    )
    if signal == "derivatives":
        label += ", over derivative counts"
    if by == "family":
        label += ", by family"
    return Analysis(
        result, models, result.as_of, chosen_method, label, source, top_n, scheme, obs, kept_flags
    )


def _kept_flags(store: Store, among: set[str] | None, text: Any) -> pd.DataFrame:
    """The observations' flags as the store keeps them, framed as
    ``quality.observation_flags`` frames them (restatements, then spikes, by model and day;
    ids and flag names of dtype ``text``, the observations' ids'), for the models ``among``
    (None: all)."""
    rows = [r for r in store.quality_flags() if among is None or r[0] in among]
    if not rows:
        return pd.DataFrame(columns=quality.FLAG_COLUMNS)
    return pd.DataFrame(
        {
            "model_id": pd.Series([r[0] for r in rows], dtype=text),
            "flag": pd.Series([r[1] for r in rows], dtype=text),
            "obs_date": pd.Series(pd.to_datetime([r[2] for r in rows])).astype("datetime64[ns]"),
            "detail": pd.Series([kept_detail(r[1], r[3], r[4]) for r in rows], dtype=object),
        }
    )


def _class_members(models: pd.DataFrame, model_id: str) -> list[str] | None:
    """Every stored model of ``model_id``'s size class (just the model when its size is
    unknown: it is never scored); None when the model is not stored."""
    hit = models[models["model_id"] == model_id]
    if hit.empty:
        return None
    size_class = hit["size_class"].iloc[0]
    if size_class == UNKNOWN:
        return [model_id]
    return list(models.loc[models["size_class"] == size_class, "model_id"])


def _metric_models(models: pd.DataFrame) -> pd.DataFrame:
    scored = models[models["release_date"].notna()]
    return pd.DataFrame(
        {
            "model_id": scored["model_id"],
            "release_date": pd.to_datetime(scored["release_date"]),
            "size_class": scored["size_class"],
            "in_pool": scored["tracked"],
        }
    )


def family_table(cfg: Config, models: pd.DataFrame) -> pd.DataFrame:
    """Every family with a variant among ``models`` (``families.FAMILY_COLUMNS``)."""
    return families.families(models, cfg.families.suffixes, cfg.families.include_gguf)


def families_of(cfg: Config, db: Path) -> pd.DataFrame:
    """``ram families``: every family with a variant among the stored models."""
    with Store.open(db, read_only=True) as store:
        models = catalog.load_models(store, cfg)
    return family_table(cfg, models)


def derivative_counts(db: Path) -> pd.DataFrame:
    """Every stored derivative count (``derivatives.COLUMNS``); empty when there are none."""
    with Store.open(db, read_only=True) as store:
        return store.derivative_counts()


def derivative_table(cfg: Config, db: Path, model_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ram derivatives MODEL``: its stored counts (``derivatives.COLUMNS``, by day and
    relation) and the falls among them."""
    with Store.open(db, read_only=True) as store:
        models = catalog.load_models(store, cfg)
        row = _known_model(models, model_id)
        rows = store.derivative_counts([str(row["model_id"])])
    out = rows.copy()
    out["obs_date"] = pd.to_datetime(out["obs_date"]).dt.date
    return out.reset_index(drop=True), derivatives.falls(rows)


def _family_units(
    cfg: Config,
    obs: pd.DataFrame,
    models: pd.DataFrame,
    params: formula.RamParams,
    as_of: dt.date,
    source: str,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Observations and models with each family as one unit: its base's id, release day and
    size class, and on each day the sum of its members' cumulative downloads (members' curves
    as the per-repo metric builds them); variants leave the table."""
    fams = family_table(cfg, models)
    if fams.empty:
        return obs, models, source + " · no family has a variant"
    members = set(fams["model_id"])
    curves = formula.compute(obs, _metric_models(models), params, as_of=as_of).curves
    release = pd.to_datetime(models.set_index("model_id")["release_date"])
    summed = families.family_obs(
        curves.model_ids, curves.values, release, fams, pd.Timestamp(as_of)
    )
    rest = obs[~obs["model_id"].isin(list(members))]
    units = pd.concat([rest, summed], ignore_index=True) if len(summed) else rest
    variants = set(fams.loc[fams["role"] == "variant", "model_id"])
    kept = models[~models["model_id"].isin(list(variants))].copy()
    n = fams.groupby("family").size()
    kept["tracked_reason"] = [
        f"{r} · family of {int(n[m])} repos" if m in n.index else r
        for m, r in zip(kept["model_id"], kept["tracked_reason"], strict=True)
    ]
    return units, kept.reset_index(drop=True), f"{source} · {len(n):,} families summed"


def check_size_class(an: Analysis, size_class: str | None) -> None:
    if size_class is not None and size_class not in an.size_classes:
        raise unknown_size_class(size_class, an.size_classes)


def _known_model(models: pd.DataFrame, model_id: str) -> pd.Series:
    hit = models[models["model_id"] == model_id]
    if hit.empty:
        raise unknown_model(model_id, list(models["model_id"]))
    return hit.iloc[0]


def _with_dates(frame: pd.DataFrame, flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score rows as output: release dates as dates, and the data-quality ``flags`` dated
    inside each row's stretch of curve (``ram.metric.quality``)."""
    out = frame.copy()
    out["flags"] = quality.flag_scores(out, flags)
    out["release_date"] = pd.to_datetime(out["release_date"]).dt.date
    return out[SCORE_CSV_COLUMNS].reset_index(drop=True)


def scores_table(
    an: Analysis,
    days: Sequence[int] | None = None,
    org: str | None = None,
    region: str | None = None,
    released_since: dt.date | None = None,
) -> pd.DataFrame:
    """Every scored model's RAM at ``days`` (default: the configured milestones), or only
    those of ``org`` and ``region`` released on or after ``released_since``."""
    frame = an.result.scores(list(days) if days else None)
    among = models_of(an, org, region, released_since)
    if among is not None:
        frame = frame[frame["model_id"].isin(list(among))]
    return _with_dates(frame, an.flags)


@dataclass
class Leaderboard:
    """A leaderboard's rows and the lines saying what it left out and why."""

    rows: pd.DataFrame
    notes: list[str]


def rank(
    result: formula.RamResult,
    classes: Sequence[str],
    day: int | None = 30,
    size_class: str | None = None,
    limit: int = 10,
    scope: leaderboard.Scope = leaderboard.Scope(),
    flags: pd.DataFrame | None = None,
    among: Collection[str] | None = None,
) -> Leaderboard:
    """The one leaderboard (CLI, report, top cache): RAM at ``day`` (None = latest RAM), best
    first, ``limit`` per class in ``classes`` order, within ``scope`` (and among the model ids
    ``among``, when given: ``--org``, ``--region``); its notes count what was left out and name
    each class without a leaderboard (RAM_SPEC §3)."""
    frame = result.latest() if day is None else result.scores([day])
    if size_class:
        frame = frame[frame["size_class"] == size_class]
    if among is not None:
        frame = frame[frame["model_id"].isin(list(among))]
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
        support=leaderboard.support_of(result, classes),
        scope=scope,
    )
    return Leaderboard(out, notes)


def top_leaderboard(
    an: Analysis,
    day: int | None = 30,
    size_class: str | None = None,
    limit: int = 10,
    scope: leaderboard.Scope = leaderboard.Scope(),
    org: str | None = None,
    region: str | None = None,
    released_since: dt.date | None = None,
) -> Leaderboard:
    """``rank`` of an analysis, after checking the size class; ``org``, ``region`` (any case)
    and ``released_since`` rank only their models (each class's baseline is still the whole
    pool's)."""
    check_size_class(an, size_class)
    among = models_of(an, org, region, released_since)
    board = rank(an.result, an.size_classes, day, size_class, limit, scope, an.flags, among)
    return Leaderboard(board.rows, board.notes + stale_notes(an))


def models_of(
    an: Analysis, org: str | None, region: str | None, released_since: dt.date | None = None
) -> set[str] | None:
    """The model ids of ``org`` and ``region`` (any case) released on or after
    ``released_since``; None when none is given."""
    if org is None and region is None and released_since is None:
        return None
    models = an.models
    keep = pd.Series(True, index=models.index)
    if released_since is not None:
        released = pd.to_datetime(models["release_date"])
        keep &= (released >= pd.Timestamp(released_since)).fillna(False).astype(bool)
    if region is not None:
        if region.lower() not in REGIONS:
            raise BadInput(f"--region {region!r}: use one of {', '.join(REGIONS)}")
        keep &= models["region"].fillna(UNKNOWN).str.lower() == region.lower()
    if org is not None:
        keep &= models["org"].str.lower() == org.lower()
        if not keep.any() and not (models["org"].str.lower() == org.lower()).any():
            orgs = sorted(set(models["org"]), key=str.lower)
            close = difflib.get_close_matches(org, orgs, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; see ram models"
            raise BadInput(f"--org {org!r}: no stored model of that org{hint}")
    return set(models.loc[keep, "model_id"])


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
    search: str | None = None,
) -> pd.DataFrame:
    """The stored models with size, release date and where each came from; with ``suspect``,
    only those whose name size and weights size disagree (``catalog.suspect_sizes``); with
    ``search``, only repo ids holding that text (any case)."""
    with Store.open(db, read_only=True) as store:
        models = catalog.load_models(store, cfg)
    labels = [label for label, _, _ in cfg.size_scheme()] + ["unknown"]
    if size_class is not None and size_class not in labels:
        raise unknown_size_class(size_class, labels)
    if size_class:
        models = models[models["size_class"] == size_class]
    if org:
        models = models[models["org"].str.lower() == org.lower()]
    if search:
        models = models[models["model_id"].str.contains(search, case=False, regex=False)]
    if suspect:
        return catalog.suspect_sizes(models)
    out = models.copy()
    out["release_date"] = pd.to_datetime(out["release_date"]).dt.date
    return out[[*MODEL_CSV_COLUMNS, "tracked_reason"]].reset_index(drop=True)


def why_no_models(
    cfg: Config,
    db: Path,
    size_class: str | None,
    org: str | None,
    suspect: bool,
    search: str | None = None,
) -> str:
    """The line ``ram models`` prints for an empty answer: which filter found nothing, with
    what exists instead."""
    with Store.open(db, read_only=True) as store:
        models = catalog.load_models(store, cfg)
    if models.empty:
        return f"no models stored in {db} yet; run: ram snapshot (or ram import panel FILE)"
    if org and not (models["org"].str.lower() == org.lower()).any():
        orgs = sorted(set(models["org"]), key=str.lower)
        close = difflib.get_close_matches(org, orgs, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"no stored model of org {org!r}; {hint}{len(orgs):,} orgs are stored (ram models)"
    if search and not models["model_id"].str.contains(search, case=False, regex=False).any():
        names = models["model_id"].str.split("/").str[-1].str.lower().tolist()
        close = difflib.get_close_matches(search.lower(), names, n=3, cutoff=0.6)
        hint = f"; close: {', '.join(close)}" if close else ""
        return f"no stored repo id contains {search!r}{hint}"
    if suspect:
        return "no stored model's name size and weights size differ by more than 20%"
    return f"no stored model in size class {size_class!r}" + (f" of org {org!r}" if org else "")


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


# -- forecasts (docs/FORECAST_SPEC.md) ---------------------------------------------------------


def _forecast(an: Analysis, cfg: Config, targets: pd.DataFrame, hs: Sequence[int]) -> pd.DataFrame:
    """``forecast.forecast`` of ``targets`` at horizons ``hs`` with the analysis's curves and
    parameters and the configured reference minimums."""
    f = cfg.forecast
    return forecast.forecast(
        an.known, an.result.models, targets, hs, an.result.params, f.min_reference, f.min_interval
    )


def _days_option(days: Sequence[int], what: str, last: int) -> list[int]:
    out = sorted({int(d) for d in days})
    if not out or out[0] < 1 or out[-1] > last:
        raise BadInput(f"{what}: give days 1..{last} (ram.max_day), e.g. 90,180,365")
    return out


def _forecast_targets(
    an: Analysis, model_ids: Sequence[str] | None, at_day: int | None
) -> pd.DataFrame:
    """Which models to forecast from which day: the named ones (checked) or every pool model;
    from ``at_day``, or else from each model's last defined day (today's forecast)."""
    curves = an.result.curves
    if model_ids:
        stored = set(an.models["model_id"])
        for m in model_ids:
            if m not in stored:  # one set lookup each, not a scan of the models per id
                _known_model(an.models, m)
        wanted = list(dict.fromkeys(model_ids))
    else:
        known = an.known
        wanted = list(curves.model_ids[known.pool & (known.cls != formula.UNKNOWN)])
    rows = pd.Index(curves.model_ids, dtype=object).get_indexer(pd.Index(wanted, dtype=object))
    present = rows >= 0
    if at_day is not None:
        days = np.full(int(present.sum()), at_day, dtype=np.int64)
    else:
        defined = ~np.isnan(curves.values[rows[present]])
        width = defined.shape[1]
        days = (width - 1 - defined[:, ::-1].argmax(axis=1)).astype(np.int64)
    ids = np.asarray(wanted, dtype=object)[present]
    return pd.DataFrame({"model_id": ids, "at_day": days})


def forecast_table(
    an: Analysis,
    cfg: Config,
    model_ids: Sequence[str] | None = None,
    at_day: int | None = None,
    horizons: Sequence[int] | None = None,
) -> Leaderboard:
    """Forecasts (``forecast.FORECAST_COLUMNS``) of ``model_ids`` or every pool model, with
    notes naming what could not be forecast and why."""
    last = an.result.params.max_day
    hs = _days_option(horizons or cfg.forecast.horizons, "--horizon", last)
    if at_day is not None and not 1 <= at_day < hs[-1]:
        raise BadInput(
            f"--at-day {at_day}: forecast from a day 1..{hs[-1] - 1}, before the horizon"
        )
    targets = _forecast_targets(an, model_ids, at_day)
    rows = _forecast(an, cfg, targets, hs)
    notes = []
    missing = sorted(set(targets["model_id"]) - set(rows["model_id"]))
    if model_ids:
        lost = [m for m in model_ids if m not in set(rows["model_id"])]
        notes += [f"no forecast for {m}: {_why_no_forecast(an, m, at_day, hs)}" for m in lost]
    elif missing:
        notes.append(
            f"{_count(len(missing), 'pool model')} no forecast (no count on their day --at-day, "
            "or past every horizon); name one to see why"
        )
    thin = int((rows["n_reference"] == 0).sum())
    if thin:
        notes.append(
            f"{_count(thin, 'forecast')} no reference model (no pool model was old enough, "
            "with known counts, on the forecast's date), so no quantiles"
        )
    if len(rows) and rows["fallback"].any():
        notes.append(
            f"{_count(int(rows['fallback'].sum()), 'forecast', 'fell')} back to every class's "
            "references "
            f"(fewer than forecast.min_reference = {cfg.forecast.min_reference} in the class)"
        )
    return Leaderboard(rows, notes)


def with_forecast(an: Analysis, cfg: Config, board: Leaderboard) -> Leaderboard:
    """``board`` with today's forecast of each row's model at the last configured horizon:
    ``ram_p50_<H>`` and ``p_top10_<H>`` (NULL where there is none)."""
    h = max(cfg.forecast.horizons)
    fc = forecast_table(an, cfg, list(dict.fromkeys(board.rows["model_id"])), None, [h]).rows
    at = fc.set_index("model_id")
    rows = board.rows.copy()
    rows[f"ram_p50_{h}"] = rows["model_id"].map(at["ram_p50"]).astype("float64")
    rows[f"p_top10_{h}"] = rows["model_id"].map(at["p_top10"]).astype("float64")
    return Leaderboard(rows, board.notes)


FAN_STEP = 7  # days between the horizons of a chart's forecast fan


def fan(an: Analysis, cfg: Config, model_ids: Sequence[str]) -> pd.DataFrame:
    """Today's forecasts of ``model_ids`` every ``FAN_STEP`` days up to the last configured
    horizon: what the RAM chart draws as a band after each model's last day."""
    last = max(cfg.forecast.horizons)
    hs = [*range(FAN_STEP, last + 1, FAN_STEP), last]
    known = set(an.models["model_id"])
    targets = _forecast_targets(an, [m for m in model_ids if m in known], None)
    return _forecast(an, cfg, targets, hs)


def _count(n: int, noun: str, verb: str | None = None) -> str:
    """``3 forecasts have`` / ``1 forecast has`` (or the given past-tense ``verb``)."""
    if verb is None:
        verb = "has" if n == 1 else "have"
    return f"{n:,} {noun}{'' if n == 1 else 's'} {verb}"


def _why_no_forecast(an: Analysis, model_id: str, at_day: int | None, hs: Sequence[int]) -> str:
    known = an.known
    i = int(pd.Index(known.curves.model_ids, dtype=object).get_loc(model_id))
    if known.cls[i] == formula.UNKNOWN:
        return "its size class is unknown"
    if np.isnan(known.release[i]):
        return "its release date is unknown"
    age = formula.day_of(an.as_of) - int(known.release[i])
    start = at_day if at_day is not None else age
    if start >= hs[-1]:
        return f"day {start} is past every horizon ({', '.join(map(str, hs))})"
    if at_day is not None and at_day > age:
        return f"it is {age} days old, younger than --at-day {at_day}"
    return f"no count of it is dated on its day {start}"


def backtest_table(
    an: Analysis,
    cfg: Config,
    at_days: Sequence[int] | None = None,
    horizons: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rolling-origin backtest (FORECAST_SPEC §4): its summary and every forecast scored."""
    last = an.result.params.max_day
    hs = _days_option(horizons or cfg.forecast.horizons, "--horizon", last)
    ts = _days_option(at_days or cfg.forecast.backtest_days, "--at-day", last)
    live, _ = formula.compute_baselines_and_support(
        an.result.curves, an.result.models, an.result.params.method, an.result.params.top_n
    )
    return forecast.backtest(
        an.known,
        an.result.models,
        live,
        ts,
        hs,
        an.result.params,
        cfg.forecast.min_reference,
        cfg.forecast.min_interval,
    )
