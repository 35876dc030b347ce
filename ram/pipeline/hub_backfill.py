"""Backfill straight from a Hub dataset's history (``ram backfill --hub REPO``): one transaction
per day, resumable, polite.

The days are the dataset's upload commits (``collectors.hub_archive``).  A day already landed
from the same commit is skipped before any Parquet byte is fetched; the others are read, newest
first for the qualify pass (a discovered release that reaches ``min_downloads`` by the newest
day is kept from its first day), then landed oldest first, each as one ``runs`` row recording
the repo, commit and etag.  A kill between days loses nothing; a kill during a day lands none of
it.  The same tracked-set policy, sources (``archive:<dataset name>``) and "live beats archive"
rule as the local-file backfill apply, because each day goes through ``backfill.land``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from collectors import hub_archive as ha
from collectors.archive import ArchiveFile, qualify
from collectors.hub_series import SERIES_LAYOUTS
from ram.config import Config
from ram.errors import BadInput, BadPanel, HubError, RamError
from ram.pipeline import backfill as bf
from ram.pipeline.refresh import refresh_top_cache, settle_quality
from ram.store.database import RunRecord, Store

DRY_RUN_COLUMNS = ["date", "commit", "landed", "file_bytes"]


@dataclass(frozen=True)
class HubStep:
    """Progress: ``days`` (listed), ``read`` (a day's columns fetched), ``saved``, ``skipped``
    (landed already), ``refused``; ``index`` of ``total`` days, bytes so far."""

    kind: str
    day: date | None
    index: int
    total: int
    bytes_read: int
    run: RunRecord | None = None


@dataclass
class HubBackfill:
    """What a Hub backfill did: the runs it landed or refused, the days it skipped, its cost."""

    repo: str
    runs: list[RunRecord] = field(default_factory=list)
    skipped: list[date] = field(default_factory=list)
    traffic: ha.Traffic = field(default_factory=ha.Traffic)
    stopped: str | None = None  # why it stopped before the end (budget, rate limit)
    left: int = 0
    left_is_estimate: bool = False  # ``left`` counts calendar days of files not read yet
    gaps: list[date] = field(default_factory=list)  # days in range the archive has no upload of


def _name(repo: str) -> str:
    return repo.split("/", 1)[1]


def _listing(
    cfg: Config, db: Path, repo: str, since: date | None, until: date | None,
    endpoint: str | None, token: str | bool | None,
) -> tuple[Any, ha.Traffic, str, list[ha.Day], dict[str, str]]:  # fmt: skip
    """What a backfill and its dry run both start from: the client, the run's traffic (its
    budget), the archive file, the days in range and the commits landed already."""
    if since and until and since > until:
        raise BadInput(f"--since {since} is after --until {until}")
    traffic = ha.Traffic(budget=cfg.collector.request_budget)
    api = ha.hub_api(endpoint, token)
    filename, days = ha.days_and_files(api, repo, since, until, traffic)
    return api, traffic, filename, days, _landed(db, f"archive:{_name(repo)}")


def _landed(db: Path, source: str) -> dict[str, str]:
    """Commits already landed for ``source`` -> their day."""
    if not Path(db).exists():
        return {}
    with Store.open(db, read_only=True) as store:
        return store.landed_commits(source)


def backfill_hub(
    cfg: Config,
    db: Path,
    repo: str,
    *,
    since: date | None = None,
    until: date | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    progress: Callable[[HubStep], None] | None = None,
) -> HubBackfill:
    """Land every day of ``repo``'s history in ``since``..``until`` not landed already (a
    long-format archive of monthly files goes to ``hub_series_backfill``)."""
    if repo in SERIES_LAYOUTS:
        from ram.pipeline.hub_series_backfill import backfill_series

        return backfill_series(cfg, db, repo, SERIES_LAYOUTS[repo], since=since, until=until,
                               endpoint=endpoint, token=token, progress=progress)  # fmt: skip
    api, traffic, filename, days, landed = _listing(cfg, db, repo, since, until, endpoint, token)
    out = HubBackfill(repo, traffic=traffic)
    if days:
        listed = {d.day for d in days}
        first, last = days[0].day, days[-1].day
        out.gaps = [first + dt.timedelta(days=i) for i in range((last - first).days)
                    if first + dt.timedelta(days=i) not in listed]  # fmt: skip
    todo = [d for d in days if d.commit not in landed]
    out.skipped = [d.day for d in days if d.commit in landed]
    if progress:
        progress(HubStep("days", None, len(out.skipped), len(days), 0))
    if not todo:
        return out
    flt, prior_via = bf.policy(cfg, db)
    with tempfile.TemporaryDirectory(prefix="ram-hub-") as tmp:
        try:
            _land_days(cfg, db, repo, filename, todo, flt, prior_via, Path(tmp), out, api,
                       progress, len(days))  # fmt: skip
        except HubError as exc:  # the budget or the rate limit: what landed stays
            out.stopped = str(exc)
            out.left = len(todo) - len(out.runs)
    if any(r.status == "ok" for r in out.runs):
        settle_quality(db, cfg.storage.lock_wait_seconds)
        refresh_top_cache(cfg, db)
    return out


@dataclass(frozen=True)
class _Day:
    """A day to land: where its file is and its footer (read first, for the row counts)."""

    day: ha.Day
    resolved: ha.Resolved
    footer: Any


def _locate(
    api: Any, repo: str, filename: str, todo: list[ha.Day], out: HubBackfill, ratio: float
) -> list[_Day]:
    """Resolve every day and read its footer; refuse unreadable and truncated days."""
    located = []
    for day in todo:
        try:
            resolved = ha.resolve(api, repo, filename, day, out.traffic)
            located.append(_Day(day, resolved, ha.read_footer(resolved, out.traffic)))
        except BadPanel as exc:
            out.runs.append(_refused(repo, day, exc))
    rows = [d.footer.num_rows for d in located]
    short = ha.truncated(rows, ratio)
    for d, n, bad in zip(located, rows, short, strict=True):
        if bad:
            short_day = BadPanel(
                f"{d.day.day} ({d.day.commit[:10]}): {n:,} rows, under {ratio:.0%} of its "
                "neighbours' median: a truncated upload, left out (archive.min_rows_ratio)"
            )
            out.runs.append(_refused(repo, d.day, short_day))
    return [d for d, bad in zip(located, short, strict=True) if not bad]


def write_day(repo: str, day: date, table: pa.Table, tmp: Path) -> ArchiveFile:
    """The day's columns as a local Parquet file named by the day: the policy then runs on it
    as on any archive file."""
    path = tmp / _name(repo) / day.isoformat() / "models.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return ArchiveFile(str(path), day, _name(repo))


def _land_days(
    cfg: Config, db: Path, repo: str, filename: str, todo: list[ha.Day], flt: Any,
    prior_via: dict[str, str], tmp: Path, out: HubBackfill, api: Any,
    progress: Callable[[HubStep], None] | None, total: int,
) -> None:  # fmt: skip
    columns = dict(cfg.archive.columns)
    days = _locate(api, repo, filename, todo, out, cfg.archive.min_rows_ratio)
    if not days:
        return
    newest = days[-1]
    # The newest day first: every column the policy reads, for the qualify pass and the static
    # fields of the older days.
    try:
        table = ha.read_columns(newest.resolved, newest.footer, True, out.traffic, columns)
    except BadPanel as exc:
        out.runs.append(_refused(repo, newest.day, exc))
        return
    last = write_day(repo, newest.day.day, table, tmp)
    q = qualify([last], flt, columns, min_files=1)
    flt, best = q.flt, q.best
    static = ha.static_part(table, flt.tracked_ids, flt.tracked_orgs, columns)
    del table
    done = total - len(days)
    for d in days:
        done += 1
        try:
            if d is newest:
                file = last
            else:
                counts = ha.read_columns(d.resolved, d.footer, False, out.traffic, columns)
                file = write_day(repo, d.day.day, ha.with_static(counts, static, columns), tmp)
            if progress:
                progress(HubStep("read", d.day.day, done, total, out.traffic.bytes_read))
            details = {"hub_repo": repo, "commit": d.resolved.commit, "etag": d.resolved.etag,
                       "hub_file": filename,
                       "file": f"hf://datasets/{repo}@{d.resolved.commit}/{filename}",
                       "rows_in_file": d.footer.num_rows}  # fmt: skip
            run = bf.land(cfg, db, file, flt, best, details, prior_via)
            Path(file.path).unlink(missing_ok=True)
            step = "saved"
        except BadPanel as exc:
            run, step = _refused(repo, d.day, exc), "refused"
        out.runs.append(run)
        if progress:
            progress(HubStep(step, d.day.day, done, total, out.traffic.bytes_read, run))


def _refused(repo: str, day: ha.Day, exc: RamError) -> RunRecord:
    return refused_day(repo, day.day, day.commit, exc)


def refused_day(repo: str, day: date, commit: str, exc: RamError) -> RunRecord:
    """A day of ``repo`` that could not land, as a failed run (never stored)."""
    from ram.dates import now_utc

    return RunRecord(
        kind="backfill", source=f"archive:{_name(repo)}", started_at=now_utc(),
        finished_at=now_utc(), status="failed", error_summary=str(exc),
        details={"hub_repo": repo, "commit": commit, "snapshot_date": day.isoformat(),
                 "exit_code": exc.exit_code},
    )  # fmt: skip


def dry_run_hub(
    cfg: Config,
    db: Path,
    repo: str,
    *,
    since: date | None = None,
    until: date | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> tuple[pd.DataFrame, ha.Traffic]:
    """The days a backfill would land (``DRY_RUN_COLUMNS``): each commit, whether it landed
    already, and the size of its file (one resolve per day to land; no Parquet byte read).
    A long-format archive lists its monthly files instead (``hub_series_backfill``)."""
    if repo in SERIES_LAYOUTS:
        from ram.pipeline.hub_series_backfill import dry_run_series

        return dry_run_series(cfg, db, repo, SERIES_LAYOUTS[repo], since=since, until=until,
                              endpoint=endpoint, token=token)  # fmt: skip
    api, traffic, filename, days, landed = _listing(cfg, db, repo, since, until, endpoint, token)
    rows = []
    for d in days:
        size = None if d.commit in landed else ha.resolve(api, repo, filename, d, traffic).size
        rows.append({"date": d.day, "commit": d.commit, "landed": d.commit in landed,
                     "file_bytes": size})  # fmt: skip
    frame = pd.DataFrame(rows, columns=DRY_RUN_COLUMNS)
    frame["file_bytes"] = frame["file_bytes"].astype("Int64")
    return frame, traffic


__all__ = [
    "DRY_RUN_COLUMNS",
    "HubBackfill",
    "HubStep",
    "backfill_hub",
    "dry_run_hub",
    "refused_day",
    "write_day",
]
