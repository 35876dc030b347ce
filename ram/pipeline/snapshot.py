"""One live snapshot: fetch every tracked org from the Hub, then save it in one transaction.

The store is read briefly before fetching (known ids, Hub ids, how each model came in) and opened
for writing only after everything is fetched, so readers wait at most the save and a crash
mid-fetch leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import difflib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from collectors.hub import FetchResult, fetch_snapshot
from ram import catalog
from ram.config import Config
from ram.dates import now_utc
from ram.errors import BadInput, EmptyStore
from ram.pipeline.derivatives import collect_live
from ram.pipeline.refresh import refresh_top_cache
from ram.store.database import RunRecord, Store

SOURCE = "hub"
KIND = "snapshot"
MAX_WARNINGS_KEPT = 20  # runs.details keeps the first ones; the count is always exact
CHANGE_COLUMNS = [
    "model_id", "org", "new", "tracked", "tracked_reason", "via", "downloads_30d",
    "downloads_all_time",
]  # fmt: skip
ORG_COLUMNS = ["org", "listed", "models", "tracked", "new", "rejected", "error"]


@dataclass(frozen=True)
class Step:
    """Progress: an org listed (``org``), a tracked repo looked up (``lookup``), ``save`` begun
    or ``saved``; ``done`` of ``total`` orgs (lookups: ``total`` is 0, not known ahead)."""

    kind: Literal["org", "lookup", "save", "saved"]
    name: str
    models: int
    done: int
    total: int


Progress = Callable[[Step], None]


@dataclass(frozen=True)
class Known:
    """What the store knew before this run: every model id, Hub ids and how each came in."""

    model_ids: frozenset[str] = frozenset()
    hub_ids: Mapping[str, str] = field(default_factory=dict)
    via: Mapping[str, str] = field(default_factory=dict)
    renamed_from: Mapping[str, str] = field(default_factory=dict)  # new id -> its reason
    tracked: frozenset[str] = frozenset()
    renamed_away: frozenset[str] = frozenset()
    downloads_30d_max: Mapping[str, int] = field(default_factory=dict)
    last_live_derivatives: Mapping[str, dt.date] = field(default_factory=dict)


@dataclass
class SnapshotSummary:
    """What a snapshot fetched and wrote (or, for a dry run, would write), and what it cost."""

    status: Literal["ok", "partial", "failed"]
    run_date: dt.date
    orgs: list[str]
    models: int
    observations: int
    new_models: int
    tracked: int
    rejected: int
    failed_orgs: dict[str, str]
    failed_ids: dict[str, str]
    missing_ids: list[str]
    renamed: dict[str, str]
    requests: int
    fetch_seconds: float
    seconds: float
    warnings: list[str]
    per_org: pd.DataFrame  # ORG_COLUMNS
    changes: pd.DataFrame  # CHANGE_COLUMNS, one row per model written
    dry_run: bool = False
    run: RunRecord | None = None
    error: str | None = None  # one line naming what failed (``error_summary``)
    # live derivative counts (derivatives.collect): stored, requests spent, due, failed
    derivative_counts: int = 0
    derivative_requests: int = 0
    derivatives_due: int = 0
    derivatives_failed: int = 0

    @property
    def failed(self) -> int:
        return len(self.failed_orgs) + len(self.failed_ids)

    def line(self) -> str:
        """One line for logs and the CLI: status, models, new, failed, requests, seconds."""
        verb = "dry run" if self.dry_run else "snapshot"
        run = f" (run {self.run.run_id})" if self.run is not None and not self.dry_run else ""
        return (
            f"{verb} {self.status}: {self.models:,} models ({self.new_models:,} new, "
            f"{self.tracked:,} tracked), {self.observations:,} observations, "
            f"{self.failed:,} failed, {self.requests:,} requests, {self.seconds:.1f}s{run}"
            + self._derivatives()
        )

    def _derivatives(self) -> str:
        if not self.derivative_requests and not self.derivatives_due:
            return ""
        left = self.derivatives_due - self.derivative_counts - self.derivatives_failed
        waiting = f", {left:,} wait for the next run" if left > 0 else ""
        failed = f", {self.derivatives_failed:,} failed" if self.derivatives_failed else ""
        return (
            f"; derivatives: {self.derivative_counts:,} counts, "
            f"{self.derivative_requests:,} requests{failed}{waiting}"
        )


# -- planning ------------------------------------------------------------------------------


def select_orgs(cfg: Config, orgs: Sequence[str] | None = None) -> list[str]:
    """The orgs to list: all tracked ones, or the asked ones spelled as configured."""
    tracked = catalog.tracked_orgs(cfg)
    if orgs is None:
        if not tracked and not catalog.tracked_ids(cfg):
            raise BadInput(
                "nothing to collect: tracking.use_catalog is false and tracking.orgs and "
                "tracking.include are empty in config.yaml"
            )
        return tracked
    by_lower = {o.lower(): o for o in tracked}
    chosen: list[str] = []
    for org in orgs:
        if org.lower() not in by_lower:
            close = difflib.get_close_matches(org, tracked, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else _org_list(tracked)
            raise BadInput(
                f"unknown org {org!r} ({hint}); --orgs takes tracked orgs: the catalog's and "
                "tracking.orgs in config.yaml (add an org there to track it)"
            )
        if by_lower[org.lower()] not in chosen:
            chosen.append(by_lower[org.lower()])
    if not chosen:
        raise BadInput("--orgs needs at least one org")
    return chosen


def _org_list(orgs: list[str]) -> str:
    if not orgs:
        return "no org is tracked"
    shown = ", ".join(orgs[:8])
    return f"tracked: {shown}" + (f" +{len(orgs) - 8} more" if len(orgs) > 8 else "")


def read_known(cfg: Config, db: Path) -> Known:
    """Read what the store knows (read-only, briefly); a missing or empty store knows nothing."""
    if not Path(db).exists():
        return Known()
    try:
        with Store.open(db, read_only=True) as store:
            models = catalog.load_models(store, cfg)
            last_live = store.last_live_derivatives()
    except EmptyStore:
        return Known()
    ids = models["model_id"]
    hub = models.dropna(subset=["hub_id"])
    via = models.dropna(subset=["via"])
    renamed = models[(models["via"] == "renamed") & models["tracked"]]
    reasons = models["tracked_reason"].fillna("")
    gone = models[reasons.str.startswith("renamed to ")]
    peaks = models.dropna(subset=["downloads_30d_max"])
    return Known(
        model_ids=frozenset(ids),
        hub_ids=dict(zip(hub["model_id"], hub["hub_id"], strict=True)),
        via=dict(zip(via["model_id"], via["via"], strict=True)),
        renamed_from=dict(zip(renamed["model_id"], renamed["tracked_reason"], strict=True)),
        tracked=frozenset(models.loc[models["tracked"], "model_id"]),
        renamed_away=frozenset(gone["model_id"]),
        downloads_30d_max={
            m: int(v) for m, v in zip(peaks["model_id"], peaks["downloads_30d_max"], strict=True)
        },
        last_live_derivatives=last_live,
    )


def ids_to_track(cfg: Config, known: Known, orgs: Sequence[str], restricted: bool) -> list[str]:
    """Tracked repo ids to find: the catalog, the include list and what the store tracks."""
    ids = (set(catalog.tracked_ids(cfg)) | known.tracked) - known.renamed_away
    if restricted:
        wanted = {o.lower() for o in orgs}
        ids = {i for i in ids if i.split("/", 1)[0].lower() in wanted}
    return sorted(ids)


# -- records to frames (pure) --------------------------------------------------------------


def records_to_frames(
    result: FetchResult, cfg: Config, run_date: dt.date, known: Known | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Resolved model rows for every fetched repo, and observations of the tracked ones only.

    Catalog and include ids come in ``via='catalog'``, other repos of tracked orgs
    ``'discovered'`` (the policy decides), a stored model keeps how it came in, and the new id
    of a renamed tracked repo is ``'renamed'`` so it stays tracked.
    """
    known = known or Known()
    pinned = set(cfg.tracking.include)
    if cfg.tracking.use_catalog:
        pinned |= catalog.load_catalog().model_ids
    renamed_to = {new: old for old, new in result.renamed.items()}
    rows: list[dict[str, Any]] = []
    for m in result.models:
        mid = m.model_id
        reason: str | None = None
        if mid in renamed_to:
            via, reason = "renamed", f"renamed from {renamed_to[mid]}"
        else:
            via = known.via.get(mid) or ("catalog" if mid in pinned else "discovered")
            reason = known.renamed_from.get(mid)
        peaks = [v for v in (m.downloads_30d, known.downloads_30d_max.get(mid)) if v is not None]
        base_relation, base_model = m.base_models[0] if m.base_models else (None, None)
        rows.append(
            {
                "model_id": mid,
                "hub_id": m.hub_id,
                "created_at": m.created_at,
                "safetensors_total": m.safetensors_total,
                "gguf_total": m.gguf_total,
                "pipeline_tag": m.pipeline_tag,
                "library_name": m.library_name,
                "license": m.license,
                "gated": None if m.gated is None else str(m.gated).lower(),
                "base_model": base_model,
                "base_relation": base_relation,
                "via": via,
                "tracked_reason": reason,
                "first_seen": _utc_day(m.observed_at),
                "last_seen": _utc_day(m.observed_at),
                "downloads_30d_max": max(peaks) if peaks else None,
                "downloads_30d": m.downloads_30d,
                "downloads_all_time": m.downloads_all_time,
                "likes": m.likes,
                "observed_at": m.observed_at,
            }
        )
    frame = pd.DataFrame(rows, columns=_FRAME_COLUMNS)
    for col in ("safetensors_total", "gguf_total", "downloads_30d_max", *_COUNTS):
        frame[col] = pd.array(frame[col].tolist(), dtype="Int64")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    resolved = catalog.resolve(frame, cfg)
    tracked = resolved[resolved["tracked"]]
    observed = pd.to_datetime(tracked["observed_at"], utc=True)
    obs = pd.DataFrame(
        {
            "model_id": tracked["model_id"],
            # The UTC day each count was fetched: a run started at 23:59:57 stores what it
            # fetched after midnight under the next day, where those counts belong.
            "obs_date": observed.dt.tz_localize(None).dt.normalize().fillna(pd.Timestamp(run_date)),
            "source": SOURCE,
            "observed_at": observed,
            "downloads_all_time": tracked["downloads_all_time"],
            "downloads_30d": tracked["downloads_30d"],
            "likes": tracked["likes"],
        }
    ).reset_index(drop=True)
    models = resolved.drop(columns=["downloads_30d_max", "observed_at", *_COUNTS])
    return models.reset_index(drop=True), obs


def _clock_from(started: dt.datetime) -> Callable[[], dt.datetime]:
    """UTC now, counted on from the run's start (steady: a clock step mid-run moves nothing)."""
    origin = time.monotonic()
    return lambda: started + dt.timedelta(seconds=time.monotonic() - origin)


def _utc_day(ts: dt.datetime) -> dt.date:
    """The UTC calendar day of ``ts`` (a naive time is UTC already)."""
    return (ts if ts.tzinfo is None else ts.astimezone(dt.UTC)).date()


_COUNTS = ("downloads_30d", "downloads_all_time", "likes")
_FRAME_COLUMNS = [
    "model_id", "hub_id", "created_at", "safetensors_total", "gguf_total", "pipeline_tag",
    "library_name", "license", "gated", "base_model", "base_relation", "via", "tracked_reason",
    "first_seen", "last_seen", "downloads_30d_max", *_COUNTS, "observed_at",
]  # fmt: skip


def changes_table(result: FetchResult, models: pd.DataFrame, known: Known) -> pd.DataFrame:
    """One row per model to write: new or known, tracked or not and why, today's counts."""
    counts = {m.model_id: (m.downloads_30d, m.downloads_all_time) for m in result.models}
    frame = pd.DataFrame(
        {
            "model_id": models["model_id"],
            "org": models["org"],
            "new": ~models["model_id"].isin(known.model_ids),
            "tracked": models["tracked"].astype(bool),
            "tracked_reason": models["tracked_reason"],
            "via": models["via"],
            "downloads_30d": pd.array([counts[m][0] for m in models["model_id"]], dtype="Int64"),
            "downloads_all_time": pd.array(
                [counts[m][1] for m in models["model_id"]], dtype="Int64"
            ),
        },
        columns=CHANGE_COLUMNS,
    )
    return frame.sort_values("model_id").reset_index(drop=True)


def per_org_table(result: FetchResult, orgs: Sequence[str], changes: pd.DataFrame) -> pd.DataFrame:
    """Per org asked (then orgs of looked-up repos): listed, written, tracked, new, rejected."""
    key = changes["org"].str.lower()
    stats = pd.DataFrame(
        {
            "models": key.groupby(key).size(),
            "tracked": changes["tracked"].groupby(key).sum(),
            "new": changes["new"].groupby(key).sum(),
        }
    )
    asked = {o.lower() for o in orgs}
    extra = sorted({o for o in changes["org"] if o.lower() not in asked}, key=str.lower)
    names = [*orgs, *extra]
    frame = stats.reindex([o.lower() for o in names]).fillna(0).astype("int64")
    frame["rejected"] = frame["models"] - frame["tracked"]
    listed = pd.Series([result.org_counts.get(o) for o in names], dtype="Int64", index=frame.index)
    frame.insert(0, "listed", listed)
    frame.insert(0, "org", names)
    frame["error"] = [result.failed_orgs.get(o) for o in names]
    return frame[ORG_COLUMNS].reset_index(drop=True)


def error_summary(result: FetchResult) -> str | None:
    """One line naming what failed, or None when nothing did."""
    if result.refused is not None:
        return result.refused
    parts = []
    if result.failed_orgs:
        first, message = next(iter(result.failed_orgs.items()))
        n = len(result.failed_orgs)
        parts.append(f"{n} org{'s' * (n != 1)} failed (first {first}: {message})")
    if result.failed_ids:
        first, message = next(iter(result.failed_ids.items()))
        n = len(result.failed_ids)
        parts.append(f"{n} lookup{'s' * (n != 1)} failed (first {first}: {message})")
    if not result.models and not parts:
        missing = len(result.missing_ids)
        gone = f", {missing} tracked repo{'s' * (missing != 1)} not found" if missing else ""
        parts.append(f"the Hub returned no repos{gone}; nothing was observed")
    if not parts:
        return None
    line = "; ".join(parts)
    return line if len(line) <= 500 else line[:497] + "..."


# -- the run -------------------------------------------------------------------------------


def _fetch_progress(progress: Progress | None, total: int) -> Callable[[str, int], None] | None:
    if progress is None:
        return None
    done = {"org": 0, "lookup": 0}

    def report(name: str, models: int) -> None:
        kind: Literal["org", "lookup"] = "lookup" if "/" in name else "org"
        done[kind] += 1
        progress(Step(kind, name, models, done[kind], total if kind == "org" else 0))

    return report


def save_snapshot(
    db: Path,
    run: RunRecord,
    models: pd.DataFrame,
    observations: pd.DataFrame,
    renames: Mapping[str, str],
    wait: float | None = None,
    derivatives: pd.DataFrame | None = None,
) -> RunRecord:
    """Write the run in one transaction; a failed run records only its ``runs`` row.

    ``wait``: seconds to wait for the file (``storage.lock_wait_seconds``); a wait of a second
    or more is kept in the run's details as ``lock_wait_seconds``."""
    with Store.open(db, wait=wait) as store:
        if store.lock_waited >= 1:
            run.details["lock_wait_seconds"] = round(store.lock_waited, 1)
        run.finished_at = now_utc()
        if run.status == "failed":
            store.record_run(run)
        else:
            store.save(run, models, observations, renames=dict(renames), derivatives=derivatives)
            store.settle_quality()  # a same-day re-run or a rename: those models' flags
    return run


def run_snapshot(
    cfg: Config,
    db: Path,
    *,
    orgs: Sequence[str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> SnapshotSummary:
    """Fetch the tracked set from the Hub, then save it in one transaction (not for a dry run).

    ``orgs`` restricts the run to those tracked orgs (and the tracked repos in them).  Orgs or
    lookups that fail write nothing; the ``runs`` row says what failed.
    """
    clock = time.monotonic()
    chosen = select_orgs(cfg, orgs)
    started = now_utc()
    known = read_known(cfg, db)
    wanted = ids_to_track(cfg, known, chosen, restricted=orgs is not None)
    result = fetch_snapshot(
        chosen,
        wanted,
        known_hub_ids={m: known.hub_ids[m] for m in wanted if m in known.hub_ids},
        endpoint=endpoint,
        token=token,
        max_workers=cfg.collector.max_workers,
        request_budget=cfg.collector.request_budget,
        progress=_fetch_progress(progress, len(chosen)),
        clock=_clock_from(started),
    )
    run_date = started.date()
    models, obs = records_to_frames(result, cfg, run_date, known)
    changes = changes_table(result, models, known)
    tracked = int(models["tracked"].sum())
    run = RunRecord(
        kind=KIND,
        source=SOURCE,
        started_at=started,
        status=result.status,
        models=len(models),
        failed=len(result.failed_orgs) + len(result.failed_ids),
        requests=result.requests,
        error_summary=error_summary(result),
        details={
            "orgs": len(chosen),
            "restricted_to": list(chosen) if orgs is not None else None,
            "org_counts": result.org_counts,
            "failed_orgs": result.failed_orgs,
            "failed_ids": result.failed_ids,
            "missing_ids": result.missing_ids,
            "renamed": result.renamed,
            "tracked": tracked,
            "rejected": len(models) - tracked,
            "warnings": result.warnings[:MAX_WARNINGS_KEPT],
            "warnings_total": len(result.warnings),
            "fetch_seconds": round(result.seconds, 3),
        },
    )
    new_models = int(changes["new"].sum())
    live = None
    if cfg.derivatives.collect and not dry_run and result.status != "failed":
        observed = models[models["model_id"].isin(set(obs["model_id"]))]
        live = collect_live(
            cfg, observed, dict(known.last_live_derivatives), run_date, endpoint=endpoint,
            token=token, budget=max(cfg.collector.request_budget - result.requests, 0),
        )  # fmt: skip
        run.details["derivatives"] = {
            "due": live.due, "requests": live.requests, "counts": len(live.rows),
            "failed": dict(list(live.failed.items())[:MAX_WARNINGS_KEPT]),
        }  # fmt: skip
    if not dry_run:
        if progress is not None:
            progress(Step("save", str(db), len(models), 0, 0))
        save_snapshot(
            db, run, models, obs, result.renamed, cfg.storage.lock_wait_seconds,
            derivatives=None if live is None else live.rows,
        )  # fmt: skip
        new_models = run.new_models
        if progress is not None:
            progress(Step("saved", str(db), len(models), 0, 0))
        refresh_top_cache(cfg, db)
    per_org = per_org_table(result, chosen, changes)
    return SnapshotSummary(
        status=result.status,
        run_date=run_date,
        orgs=list(chosen),
        models=len(models),
        observations=len(obs),
        new_models=new_models,
        tracked=tracked,
        rejected=len(models) - tracked,
        failed_orgs=dict(result.failed_orgs),
        failed_ids=dict(result.failed_ids),
        missing_ids=list(result.missing_ids),
        renamed=dict(result.renamed),
        requests=result.requests,
        fetch_seconds=result.seconds,
        seconds=time.monotonic() - clock,
        warnings=list(result.warnings),
        per_org=per_org,
        changes=changes,
        dry_run=dry_run,
        run=None if dry_run else run,
        error=run.error_summary,
        derivative_counts=0 if live is None else len(live.rows),
        derivative_requests=0 if live is None else live.requests,
        derivatives_due=0 if live is None else live.due,
        derivatives_failed=0 if live is None else len(live.failed),
    )
