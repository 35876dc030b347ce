"""Backfill the store from public Hub snapshot archives, one transaction per archive file.

Files are read (``collectors.archive``) with the store closed; it is opened only to write one
file's rows, so the scheduler and readers never wait long.  Each file lands whole or not at all;
a bad file is refused and reported while the other files still land.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from collectors.archive import (
    ArchiveFile,
    ArchiveFilter,
    count_rows,
    discover,
    is_remote,
    qualifying,
    read_archive,
    read_derivative_counts,
    read_unsettled,
    require_httpfs,
    settle,
)
from ram import catalog
from ram.config import Config
from ram.dates import now_utc
from ram.errors import BadPanel, EmptyStore, HubError, RamError
from ram.pipeline.refresh import refresh_top_cache, settle_quality
from ram.store.database import RunRecord, Store

DRY_RUN_COLUMNS = ["file", "date", "rows_in_file", "rows_kept", "models", "discovered", "error"]
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


@dataclass(frozen=True)
class Step:
    """Progress of a backfill: ``read`` (every file first), then ``saved``, ``counted`` (dry
    run) or ``refused`` for file ``index`` of ``total``."""

    kind: str
    file: ArchiveFile
    index: int
    total: int
    run: RunRecord | None = None


Progress = Callable[[Step], None]


@dataclass
class _Plan:
    files: list[ArchiveFile]
    flt: ArchiveFilter
    prior_via: dict[str, str]


@dataclass
class _Kept:
    """One file's rows for the store, resolved, and what they amount to."""

    rows_in_file: int
    models: pd.DataFrame
    observations: pd.DataFrame
    discovered: int
    derivatives: pd.DataFrame | None = None  # archive.derivatives: counts from base_model tags

    def details(self, file: ArchiveFile) -> dict[str, Any]:
        out = {
            "file": file.path,
            "snapshot_date": file.snapshot_date.isoformat(),
            "rows_in_file": self.rows_in_file,
            "rows_kept": len(self.observations),
            "models": len(self.models),
            "discovered": self.discovered,
        }
        if self.derivatives is not None:
            out["derivative_counts"] = len(self.derivatives)
        return out


def _plan(
    cfg: Config,
    archives: Sequence[str],
    date: dt.date | None,
    name: str | None,
    db: Path | None,
) -> _Plan:
    files = discover(archives, date, name)
    remote = [f.path for f in files if is_remote(f.path)]
    if remote:
        require_httpfs(remote[0])
    return _Plan(files, *policy(cfg, db))


def policy(cfg: Config, db: Path | None) -> tuple[ArchiveFilter, dict[str, str]]:
    """The archive filter the config and the store imply, and how each stored model came in."""
    stored, prior_via = _stored(cfg, db)
    t = cfg.tracking
    flt = ArchiveFilter(
        tracked_ids=frozenset(catalog.tracked_ids(cfg)) | stored,
        tracked_orgs=frozenset(catalog.tracked_orgs(cfg)),
        reject_patterns=tuple(t.reject_patterns),
        allowed_pipeline_tags=tuple(t.pipeline_tags),
        min_downloads=t.min_downloads,
        exclude_ids=frozenset(t.exclude),
        covered_orgs=catalog.load_catalog().orgs if t.use_catalog else frozenset(),
        covered_until=catalog.CATALOG_DATE if t.use_catalog else None,
    )
    return flt, prior_via


def land(
    cfg: Config,
    db: Path,
    file: ArchiveFile,
    flt: ArchiveFilter,
    best: Mapping[str, int],
    details: Mapping[str, Any],
    prior_via: Mapping[str, str],
) -> RunRecord:
    """Read one archive file with ``flt`` and save it in one transaction; ``details`` join the
    run's (a Hub backfill records the repo, commit and etag of the day there)."""
    started = now_utc()
    kept = _read(file, _Plan([file], flt, dict(prior_via)), cfg, best)
    return _save(db, file, kept, started, cfg.storage.lock_wait_seconds, details)


def _stored(cfg: Config, db: Path | None) -> tuple[frozenset[str], dict[str, str]]:
    """Models the store tracks under the current config, and how each stored model came in."""
    if db is None or not Path(db).exists():
        return frozenset(), {}
    try:
        with Store.open(db, read_only=True) as store:
            models = catalog.load_models(store, cfg)
    except EmptyStore:
        return frozenset(), {}
    tracked = frozenset(models.loc[models["tracked"], "model_id"])
    via = models.dropna(subset=["via"])
    return tracked, dict(zip(via["model_id"], via["via"], strict=True))


def _read(file: ArchiveFile, p: _Plan, cfg: Config, best: Mapping[str, int]) -> _Kept:
    """Read one file and resolve its models; discovered repos the policy rejects are dropped."""
    return _resolve(file, read_archive(file, p.flt, cfg.archive.columns), p, cfg, best)


def _resolve(
    file: ArchiveFile, table: pa.Table, p: _Plan, cfg: Config, best: Mapping[str, int]
) -> _Kept:
    """A file's kept rows (``read_archive``'s) as the store's models and observations."""
    rows_in_file = count_rows(file)
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    ids = frame["model_id"]
    seen_max = pd.to_numeric(ids.map(best), errors="coerce").astype("Int64")
    models = pd.DataFrame(
        {
            "model_id": ids,
            "hub_id": frame["hub_id"],
            "created_at": frame["created_at"],
            "safetensors_total": frame["safetensors_total"],
            "pipeline_tag": frame["pipeline_tag"],
            "library_name": frame["library_name"],
            "license": frame["license"],
            "gated": frame["gated"],
            "via": [p.prior_via.get(m, "archive") for m in ids],
            "first_seen": frame["obs_date"],
            "last_seen": frame["obs_date"],
            # the qualify pass saw the whole batch: a release's early days count its later peak
            "downloads_30d_max": pd.concat([frame["downloads_30d"], seen_max], axis=1).max(axis=1),
        }
    )
    resolved = catalog.resolve(models, cfg)
    discovered = frame["discovered"].fillna(False).astype(bool)
    keep = ~discovered | resolved["tracked"]
    obs = pd.DataFrame(
        {
            "model_id": ids,
            "obs_date": frame["obs_date"],
            "source": file.source,
            "observed_at": pd.NaT,  # an archive does not say when the Hub was asked
            "downloads_all_time": frame["downloads_all_time"],
            "downloads_30d": frame["downloads_30d"],
            "likes": frame["likes"],
        }
    )
    derived = None
    if cfg.archive.derivatives and not is_remote(file.path):
        counts = read_derivative_counts(file, p.flt.tracked_ids, cfg.archive.columns)
        if counts is not None:
            n = dict(zip(counts.column("model_id").to_pylist(), counts.column("n").to_pylist(),
                         strict=True))  # fmt: skip
            present = [m for m in resolved.loc[resolved["tracked"], "model_id"]]
            derived = pd.DataFrame(
                {
                    "model_id": present,
                    "obs_date": pd.Timestamp(file.snapshot_date),
                    "relation": "all",
                    "n": [int(n.get(m, 0)) for m in present],
                    "source": file.source,
                }
            )
    return _Kept(
        rows_in_file=rows_in_file,
        models=resolved[keep].reset_index(drop=True),
        observations=obs[keep].reset_index(drop=True),
        discovered=int((discovered & keep).sum()),
        derivatives=derived,
    )


def _save(
    db: Path,
    file: ArchiveFile,
    kept: _Kept,
    started: dt.datetime,
    wait: float,
    extra: Mapping[str, Any] | None = None,
) -> RunRecord:
    run = RunRecord(
        kind="backfill",
        source=file.source,
        started_at=started,
        models=len(kept.models),
        details={**kept.details(file), **(extra or {})},
    )
    models = kept.models.copy()
    with Store.open(db, wait=wait) as store:
        # A model already stored keeps how it came in (catalog, discovered live, imported).
        stored = store.stored_ids(models["model_id"].tolist())
        models.loc[models["model_id"].isin(list(stored)), "via"] = None
        run.finished_at = now_utc()
        store.save(run, models, kept.observations, derivatives=kept.derivatives)
    return run


def _refused(file: ArchiveFile, exc: RamError, started: dt.datetime) -> RunRecord:
    return RunRecord(
        kind="backfill",
        source=file.source,
        started_at=started,
        finished_at=now_utc(),
        status="failed",
        error_summary=str(exc),
        details={
            "file": file.path,
            "snapshot_date": file.snapshot_date.isoformat(),
            "exit_code": exc.exit_code,
        },
    )


def _files(
    cfg: Config,
    archives: Sequence[str],
    date: dt.date | None,
    name: str | None,
    db: Path | None,
    progress: Progress | None,
) -> Iterator[tuple[int, int, ArchiveFile, _Kept | None, RamError | None]]:
    """Each file, oldest first, as ``(i, total, file, what we keep, why it was refused)``: the
    one reading loop behind ``backfill`` and ``dry_run``.

    Every file is read once (``read_unsettled``: tracked models and every candidate release)
    and its rows set aside; what the rows of all files qualify (a new release that reaches
    ``min_downloads`` in any of them keeps its earlier days) then settles each file's rows.
    One file alone has no later snapshot to qualify a release: its own threshold applies."""
    p = _plan(cfg, archives, date, name, db)
    total, columns, flt = len(p.files), cfg.archive.columns, p.flt
    qualifies = flt.min_downloads is not None and bool(flt.tracked_orgs) and total >= 2
    best: dict[str, int] = {}
    refused: dict[int, RamError] = {}
    with tempfile.TemporaryDirectory(prefix="ram-backfill-") as tmp:
        held: dict[int, Path] = {}
        for i, file in enumerate(p.files, start=1):
            if progress:
                progress(Step("read", file, i, total))
            try:
                rows = read_unsettled(file, flt, columns)
                found = qualifying(file, rows, flt, columns) if qualifies else {}
            except (BadPanel, HubError) as exc:
                refused[i] = exc
                continue
            for mid, n in found.items():
                best[mid] = max(n, best.get(mid, -1))
            held[i] = Path(tmp) / f"{i}.parquet"
            pq.write_table(rows, held[i])
            del rows
        if qualifies:
            flt = replace(flt, qualified_ids=flt.qualified_ids | frozenset(best))
        p = replace(p, flt=flt)
        for i, file in enumerate(p.files, start=1):
            kept, error = None, refused.get(i)
            if error is None:
                try:
                    table = settle(file, pq.read_table(held[i]), flt, columns)
                    kept = _resolve(file, table, p, cfg, best)
                except (BadPanel, HubError) as exc:
                    error = exc
            yield i, total, file, kept, error


def backfill(
    cfg: Config,
    db: Path,
    archives: Sequence[str],
    *,
    date: dt.date | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> list[RunRecord]:
    """Import archive files, oldest first, one transaction (and one ``runs`` row) per file.

    A file that cannot be read is refused whole: it comes back as a ``failed`` run that is not
    stored, and the other files still land.  Re-running replaces the same rows.
    """
    runs: list[RunRecord] = []
    started = now_utc()
    for i, total, file, kept, error in _files(cfg, archives, date, name, db, progress):
        if kept is None:
            assert error is not None
            run = _refused(file, error, started)
            step = "refused"
        else:
            run = _save(db, file, kept, started, cfg.storage.lock_wait_seconds)
            step = "saved"
        runs.append(run)
        if progress:
            progress(Step(step, file, i, total, run))
        started = now_utc()
    if any(r.status == "ok" for r in runs):
        settle_quality(db, cfg.storage.lock_wait_seconds)
        refresh_top_cache(cfg, db)
    return runs


def dry_run(
    cfg: Config,
    archives: Sequence[str],
    *,
    date: dt.date | None = None,
    name: str | None = None,
    db: Path | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Per file what ``backfill`` would import (``DRY_RUN_COLUMNS``); nothing is written."""
    rows: list[dict[str, Any]] = []
    for i, total, file, kept, error in _files(cfg, archives, date, name, db, progress):
        row: dict[str, Any] = {"file": file.path, "date": file.snapshot_date}
        if kept is not None:
            details = kept.details(file)
            row |= {k: details[k] for k in DRY_RUN_COLUMNS[2:6]}
        row["error"] = None if error is None else str(error)
        rows.append(row)
        if progress:
            progress(Step("counted" if error is None else "refused", file, i, total))
    frame = pd.DataFrame(rows, columns=DRY_RUN_COLUMNS)
    for col in DRY_RUN_COLUMNS[2:6]:
        frame[col] = frame[col].astype("Int64")
    return frame


def models_written(db: Path, runs: Sequence[RunRecord]) -> int:
    """Distinct models whose observations these runs wrote (for a backfill's summary line)."""
    ids = [r.run_id for r in runs if r.status == "ok"]
    if not ids:
        return 0
    with Store.open(db, read_only=True) as store:
        return store.models_written_by(ids)
