"""Backfill from a long-format Hub archive (``ram backfill --hub modelpulse/model-pulse-data``):
monthly files of one row per model per day, landed one transaction per day.

The dataset is pinned at one commit (the one its metadata file resolves to on ``main``), its
monthly files listed and each resolved once.  A month whose file (same etag) has landed every
day asked for is skipped before any Parquet byte is fetched; the others are read (footer, ids,
then only the row groups holding a kept model), newest first for the qualify pass, and their
days landed oldest first, each as one ``runs`` row recording the repo, commit, etag, file and
the days that file held.  Days landed before from the same file are not landed again (a
rewritten month only adds its new days).  Policy, sources (``archive:<dataset name>``), "live
beats archive", refusals of truncated days and the stop on a spent budget are those of the
hub-stats path (``ram.pipeline.hub_backfill``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from collectors import hub_archive as ha
from collectors import hub_series as hs
from collectors.archive import qualify
from ram.config import Config
from ram.errors import BadInput, BadPanel, HubError
from ram.pipeline import backfill as bf
from ram.pipeline.hub_backfill import HubBackfill, HubStep, refused_day, write_day
from ram.pipeline.refresh import refresh_top_cache, settle_quality
from ram.store.database import Store

DRY_RUN_COLUMNS = ["file", "commit", "days_landed", "landed", "file_bytes"]


@dataclass
class _Month:
    """A monthly file as resolved, and what the store already holds of it."""

    file: hs.MonthFile
    at: ha.Located
    landed: set[date]  # days landed from this file (any etag)
    known_days: set[date] | None  # the days it holds, when a run recorded them for this etag

    def wanted(self, since: date | None, until: date | None) -> set[date] | None:
        if self.known_days is None:
            return None
        return {d for d in self.known_days if _within(d, since, until)}

    def done(self, since: date | None, until: date | None) -> bool:
        wanted = self.wanted(since, until)
        return wanted is not None and wanted <= self.landed

    def estimate(self, since: date | None, until: date | None) -> int:
        """Days still to land: known for a recorded etag, else the month's calendar days."""
        wanted = self.wanted(since, until)
        if wanted is None:
            m = self.file.month
            last = calendar.monthrange(m.year, m.month)[1]
            wanted = {
                d for i in range(last) if _within(d := m + dt.timedelta(days=i), since, until)
            }
        return len(wanted - self.landed)


def _within(d: date, since: date | None, until: date | None) -> bool:
    return (since is None or d >= since) and (until is None or d <= until)


def _plan(
    cfg: Config, db: Path, repo: str, layout: hs.SeriesLayout, since: date | None,
    until: date | None, endpoint: str | None, token: str | bool | None,
) -> tuple[Any, ha.Traffic, ha.Located, list[_Month]]:  # fmt: skip
    """The client, the run's traffic, the metadata file (its commit pins the run) and every
    month in range, resolved, with what the store holds of each."""
    if since and until and since > until:
        raise BadInput(f"--since {since} is after --until {until}")
    traffic = ha.Traffic(budget=cfg.collector.request_budget)
    api = ha.hub_api(endpoint, token)
    meta = ha.locate(api, repo, layout.metadata, "main", traffic)
    files = hs.list_months(api, repo, layout, meta.commit, since, until, traffic)
    landed: dict[str, set[date]] = {}
    held: dict[tuple[str, str], set[date]] = {}
    if Path(db).exists():
        with Store.open(db, read_only=True) as store:
            rows = store.landed_file_days(f"archive:{repo.split('/', 1)[1]}")
        for path, etag, day, days in rows:
            landed.setdefault(path, set()).add(date.fromisoformat(day))
            if days:
                held[(path, etag)] = {date.fromisoformat(d) for d in days}
    months = []
    for f in files:
        at = ha.locate(api, repo, f.path, meta.commit, traffic)
        months.append(_Month(f, at, landed.get(f.path, set()), held.get((f.path, at.etag))))
    return api, traffic, meta, months


def backfill_series(
    cfg: Config,
    db: Path,
    repo: str,
    layout: hs.SeriesLayout,
    *,
    since: date | None = None,
    until: date | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    progress: Callable[[HubStep], None] | None = None,
) -> HubBackfill:
    """Land every day of ``repo``'s monthly series in ``since``..``until`` not landed already."""
    _, traffic, meta, months = _plan(cfg, db, repo, layout, since, until, endpoint, token)
    out = HubBackfill(repo, traffic=traffic)
    todo = [m for m in months if not m.done(since, until)]
    out.skipped = sorted(d for m in months for d in m.landed if _within(d, since, until))
    run = _Run(cfg, db, repo, layout, since, until, out, progress)
    run.total = len(out.skipped) + sum(m.estimate(since, until) for m in todo)
    run.step(HubStep("days", None, len(out.skipped), run.total, 0))
    held: set[date] = set().union(*(m.known_days or set() for m in months if m not in todo))
    if todo:
        with tempfile.TemporaryDirectory(prefix="ram-hub-") as tmp:
            run.tmp = Path(tmp)
            try:
                held |= run.land(meta, todo)
            except HubError as exc:  # the budget or the rate limit: what landed stays
                out.stopped = str(exc)
                out.left = max(run.total - run.done, 0)
                # a month not read yet counts its calendar days in range
                out.left_is_estimate = any(m.file.path not in run.counted for m in todo)
    inside = sorted(d for d in held if _within(d, since, until))
    if inside:
        out.gaps = [inside[0] + dt.timedelta(days=i)
                    for i in range((inside[-1] - inside[0]).days)
                    if inside[0] + dt.timedelta(days=i) not in held]  # fmt: skip
    if any(r.status == "ok" for r in out.runs):
        settle_quality(db, cfg.storage.lock_wait_seconds)
        refresh_top_cache(cfg, db)
    return out


class _Run:
    """One backfill's reading and landing, with its progress count."""

    def __init__(
        self, cfg: Config, db: Path, repo: str, layout: hs.SeriesLayout, since: date | None,
        until: date | None, out: HubBackfill, progress: Callable[[HubStep], None] | None,
    ) -> None:  # fmt: skip
        # the days are written in the hub-stats layout: read with the default column mapping
        self.cfg = cfg.model_copy(
            update={"archive": cfg.archive.model_copy(update={"columns": {}})}
        )
        self.ratio = cfg.archive.min_rows_ratio
        self.db, self.repo, self.layout, self.since, self.until = db, repo, layout, since, until
        self.out, self.progress = out, progress
        self.tmp = Path(".")
        self.total = self.done = 0
        self.counted: set[str] = set()  # months whose estimate was replaced by their days

    def days_to_land(self, m: _Month, month: hs.Month) -> list[date]:
        """The days of a read month to land; the first time, the progress total's estimate
        for it becomes that exact count."""
        days = [d for d in sorted(month.rows_per_day)
                if _within(d, self.since, self.until) and d not in m.landed]  # fmt: skip
        if m.file.path not in self.counted:
            self.counted.add(m.file.path)
            self.total += len(days) - m.estimate(self.since, self.until)
        return days

    def step(self, step: HubStep) -> None:
        if self.progress:
            self.progress(step)

    def _read(self, m: _Month, flt: Any) -> tuple[hs.Month, int]:
        at, traffic = m.at, self.out.traffic
        source = ha.RangeFile(at.location, at.size, traffic, at.what)
        footer = ha.footer_at(at.location, at.size, traffic, at.what, source)
        return hs.read_month(
            at, source, footer, self.layout, flt.tracked_ids, flt.tracked_orgs
        ), footer.num_rows

    def land(self, meta: ha.Located, todo: list[_Month]) -> set[date]:
        """Read and land the months of ``todo``; the days their files hold."""
        flt, prior_via = bf.policy(self.cfg, self.db)
        traffic = self.out.traffic

        newest = todo[-1]
        try:
            first = self._read(newest, flt)
            self.days_to_land(newest, first[0])
        except BadPanel as exc:
            self.out.runs.append(refused_day(self.repo, newest.file.month, newest.at.commit, exc))
            first = None
            todo = todo[:-1]
        # The static fields: the metadata file's rows of the newest month's kept ids and of the
        # tracked ids, from the row groups whose id statistics can hold them.
        ids = set(flt.tracked_ids)
        if first is not None:
            ids |= set(first[0].rows.column(self.layout.id).to_pylist())
        source = ha.RangeFile(meta.location, meta.size, traffic, meta.what)
        meta_footer = ha.footer_at(meta.location, meta.size, traffic, meta.what, source)
        static = hs.read_static(meta, source, meta_footer, self.layout, sorted(ids))
        best: dict[str, int] = {}
        if first is not None:
            last = [d for d in first[0].rows_per_day if _within(d, self.since, self.until)]
            if last:
                table = hs.day_table(first[0], max(last), self.layout, static)
                file = write_day(self.repo, max(last), table, self.tmp)
                q = qualify([file], flt, None, min_files=1)
                flt, best = q.flt, q.best
        held: set[date] = set()
        for m in todo:
            try:
                month, rows = first if m is newest and first is not None else self._read(m, flt)
            except BadPanel as exc:
                self.out.runs.append(refused_day(self.repo, m.file.month, m.at.commit, exc))
                continue
            held |= set(month.rows_per_day)
            self._land_month(m, month, rows, static, flt, best, prior_via)
        return held

    def _land_month(
        self, m: _Month, month: hs.Month, rows: int, static: Any, flt: Any,
        best: dict[str, int], prior_via: dict[str, str],
    ) -> None:  # fmt: skip
        held = sorted(month.rows_per_day)
        short = dict(zip(held, ha.truncated([month.rows_per_day[d] for d in held], self.ratio),
                         strict=True))  # fmt: skip
        days = self.days_to_land(m, month)
        for day in days:
            self.done += 1
            index = len(self.out.skipped) + self.done
            if short[day]:
                n = month.rows_per_day[day]
                exc = BadPanel(
                    f"{day} ({m.file.path}): {n:,} rows in the row groups read, under "
                    f"{self.ratio:.0%} of its neighbours' median: a truncated snapshot, left out "
                    "(archive.min_rows_ratio)"
                )
                run = refused_day(self.repo, day, m.at.commit, exc)
                self.out.runs.append(run)
                self.step(HubStep("refused", day, index, self.total, self.out.traffic.bytes_read,
                                  run))  # fmt: skip
                continue
            table = hs.day_table(month, day, self.layout, static)
            file = write_day(self.repo, day, table, self.tmp)
            self.step(HubStep("read", day, index, self.total, self.out.traffic.bytes_read))
            details = {
                "hub_repo": self.repo, "commit": m.at.commit, "etag": m.at.etag,
                "hub_file": m.file.path, "file": f"hf://datasets/{self.repo}@{m.at.commit}/"
                f"{m.file.path}", "rows_in_file": rows,
                "row_groups_read": f"{month.row_groups_read} of {month.row_groups}",
                "file_days": [d.isoformat() for d in held],
            }  # fmt: skip
            try:
                run = bf.land(self.cfg, self.db, file, flt, best, details, prior_via)
                step = "saved"
            except BadPanel as exc:
                run, step = refused_day(self.repo, day, m.at.commit, exc), "refused"
            Path(file.path).unlink(missing_ok=True)
            self.out.runs.append(run)
            self.step(HubStep(step, day, index, self.total, self.out.traffic.bytes_read, run))


def dry_run_series(
    cfg: Config,
    db: Path,
    repo: str,
    layout: hs.SeriesLayout,
    *,
    since: date | None = None,
    until: date | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> tuple[pd.DataFrame, ha.Traffic]:
    """The monthly files a backfill would read (``DRY_RUN_COLUMNS``): each one's commit, the
    days landed from it already, whether it is done, its size (no Parquet byte read)."""
    _, traffic, _, months = _plan(cfg, db, repo, layout, since, until, endpoint, token)
    rows = [{"file": m.file.path, "commit": m.at.commit,
             "days_landed": len({d for d in m.landed if _within(d, since, until)}),
             "landed": m.done(since, until), "file_bytes": m.at.size} for m in months]  # fmt: skip
    frame = pd.DataFrame(rows, columns=DRY_RUN_COLUMNS)
    for col in ("days_landed", "file_bytes"):
        frame[col] = frame[col].astype("Int64")
    return frame, traffic


__all__ = ["DRY_RUN_COLUMNS", "backfill_series", "dry_run_series"]
