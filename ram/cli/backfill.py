"""``ram backfill``: import public Hub snapshot archives (registered by ram.cli.main).

Kept free of heavy imports at module level: ``ram --help`` imports this file.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from ram.cli.common import STATE, FormatOption, fmt_or_default, parse_date
from ram.progress import StderrProgress

if TYPE_CHECKING:
    from ram.cli.common import Format
    from ram.pipeline.backfill import Step
    from ram.pipeline.hub_backfill import HubStep
    from ram.store.database import RunRecord


class _Display(StderrProgress):
    """Progress on stderr: a transient rich bar on a terminal, plain lines otherwise."""

    def __init__(self, dry_run: bool) -> None:
        super().__init__()
        self.dry_run = dry_run

    def __call__(self, step: Step) -> None:
        where = f"{step.file.snapshot_date} {step.file.path}"
        if step.kind == "refused":
            why = _why(step)
            self._line(f"refused {why if why.startswith(step.file.path) else f'{where}: {why}'}")
        if self.bar is not None:
            # the bar stays one line: date and file name; plain lines carry the full path
            self._advance(step, f"{step.file.snapshot_date} {step.file.path.rsplit('/', 1)[-1]}")
        elif step.kind == "read":
            self._line(f"[{step.index}/{step.total}] reading {where}")
        elif step.kind == "saved" and step.run is not None:
            run = step.run
            self._line(
                f"[{step.index}/{step.total}] saved {_n(run.observations, 'observation')} "
                f"({_n(run.new_models, 'new model')})"
            )

    def _advance(self, step: Step, where: str) -> None:
        # every file is read first (what they qualify together settles each), then saved
        stage = "read" if step.kind == "read" else "import"
        if stage not in self.tasks:
            label = "reading" if stage == "read" else ("counting" if self.dry_run else "saving")
            self.tasks[stage] = self.bar.add_task(label, total=step.total)
            if stage == "import" and "read" in self.tasks:
                self.bar.remove_task(self.tasks["read"])
        task = self.tasks[stage]
        done = step.index if step.kind in ("saved", "counted", "refused") else step.index - 1
        verb = "reading" if stage == "read" else ("counting" if self.dry_run else "saving")
        self.bar.update(task, completed=done, description=f"{verb} {where}")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _why(step: Step) -> str:
    return (step.run.error_summary or "") if step.run is not None else "unreadable"


def _raise_for(refused: list[RunRecord], total: int) -> None:
    """Exit 2 if a file was malformed, 1 if it could only not be fetched."""
    from ram.errors import BadPanel, HubError

    if not refused:
        return
    bad_input = any(r.details.get("exit_code") == 2 for r in refused)
    cls = BadPanel if bad_input else HubError
    first = refused[0].error_summary
    raise cls(
        f"{len(refused)} of {_n(total, 'file')} refused, nothing imported from them; first: {first}"
    )


def backfill(
    archives: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ARCHIVE...]",
            help="Parquet files, folders of them (searched recursively) or URLs (https://, hf://).",
        ),
    ] = None,
    hub: Annotated[
        str | None,
        typer.Option(
            "--hub",
            help="A Hub dataset to read the history from: cfahlgren1/hub-stats (a commit a "
            "day) or modelpulse/model-pulse-data (monthly files).",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="With --hub: the first day (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="With --hub: the last day (YYYY-MM-DD).")
    ] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Snapshot date (YYYY-MM-DD) of files whose path has none."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Archive name; rows are stored as source archive:NAME."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what each file holds for us; write nothing.")
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Import public Hub snapshot archives (hub-stats models.parquet layout), oldest first.

    Keeps tracked models and new releases of tracked orgs.  Each file lands in one transaction
    or not at all: a bad file is refused (exit 2) while the others land; re-runs replace rows.
    With --hub, the days are the dataset's upload commits (hub-stats) or the days of its monthly
    files (model-pulse-data), read by range from the Hub (only the columns and row groups
    needed); days landed already from the same commit or file are skipped.

    Example: ram backfill --hub cfahlgren1/hub-stats --since 2025-03-01
    """
    from ram.cli.output import emit
    from ram.errors import BadInput
    from ram.pipeline import backfill as bf

    if hub is not None:
        if archives:
            raise BadInput("give ARCHIVE files or --hub REPO, not both")
        if date is not None or name is not None:
            raise BadInput("--date and --name are for archive files; --hub dates each commit")
        _backfill_hub(hub, parse_date(since, "--since"), parse_date(until, "--until"), dry_run, fmt)
        return
    if not archives:
        raise BadInput("give ARCHIVE files or folders, or --hub REPO (e.g. cfahlgren1/hub-stats)")
    if since is not None or until is not None:
        raise BadInput("--since and --until are for --hub; archive files are dated by path")

    day = parse_date(date, "--date")
    started = time.monotonic()
    if dry_run:
        with _Display(dry_run=True) as display:
            frame = bf.dry_run(
                STATE.cfg, archives, date=day, name=name, db=STATE.db_path, progress=display
            )
        emit(frame, fmt_or_default(fmt), title="Backfill dry run (nothing written)")
        errors = frame[frame["error"].notna()]
        if len(errors):
            from ram.errors import BadPanel

            raise BadPanel(
                f"{len(errors)} of {_n(len(frame), 'file')} would be refused; first: "
                f"{errors['error'].iloc[0]}"
            )
        return
    with _Display(dry_run=False) as display:
        runs = bf.backfill(
            STATE.cfg, STATE.db_path, archives, date=day, name=name, progress=display
        )
    saved = [r for r in runs if r.status == "ok"]
    refused = [r for r in runs if r.status != "ok"]
    if saved:
        dates = sorted(r.details["snapshot_date"] for r in saved)
        span = dates[0] if dates[0] == dates[-1] else f"{dates[0]} .. {dates[-1]}"
        sources = ", ".join(sorted({r.source for r in saved}))
        print(
            f"backfilled {_n(len(saved), 'file')} ({span}) as {sources} into {STATE.db_path}: "
            f"{_n(sum(r.observations for r in saved), 'observation')} of "
            f"{_n(bf.models_written(STATE.db_path, saved), 'model')} "
            f"({sum(r.new_models for r in saved):,} new) in {time.monotonic() - started:.1f}s"
        )
    _raise_for(refused, len(runs))


class _HubDisplay(StderrProgress):
    """One bar over days with the bytes read, the rate and the time left (plain lines when
    stderr is not a terminal)."""

    started: float | None = None
    first_index = 0

    def _pace(self, step: HubStep, mb: float) -> str:
        """``12.3 MB/s, about 4 min left``: from this run's own days, once one has landed."""
        if self.started is None:
            return ""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = step.index - self.first_index
        left = step.total - step.index
        text = f", {mb / elapsed:,.1f} MB/s"
        if done > 0 and left > 0:
            seconds = elapsed / done * left
            text += f", about {seconds / 60:,.0f} min left" if seconds >= 90 else (
                f", about {seconds:,.0f} s left")  # fmt: skip
        return text

    def __call__(self, step: HubStep) -> None:
        mb = step.bytes_read / 1e6
        if step.kind == "days":
            self.started, self.first_index = time.monotonic(), step.index
            text = f"{step.total} days in the archive, {step.index} landed already"
            if self.bar is not None:
                self.tasks["days"] = self.bar.add_task("reading", total=step.total)
                self.bar.update(self.tasks["days"], completed=step.index)
            self._line(text)
            return
        if step.kind == "refused" and step.run is not None:
            self._line(f"refused {step.day}: {step.run.error_summary}")
        if self.bar is not None and "days" in self.tasks:
            done = step.index if step.kind in ("saved", "refused") else step.index - 1
            text = f"{step.day} · {mb:,.1f} MB read{self._pace(step, mb)}"
            # a long-format archive's total is an estimate until each month is read
            self.bar.update(self.tasks["days"], completed=done, total=step.total,
                            description=text)  # fmt: skip
        elif step.kind == "saved" and step.run is not None:
            saved = _n(step.run.observations, "observation")
            self._line(f"[{step.index}/{step.total}] {step.day}: saved {saved} "
                       f"({mb:,.1f} MB read{self._pace(step, mb)})")  # fmt: skip


def _backfill_hub(
    repo: str, since: dt.date | None, until: dt.date | None, dry_run: bool, fmt: Format | None
) -> None:
    from ram.cli.output import emit
    from ram.errors import HubError
    from ram.pipeline import hub_backfill as hb

    if dry_run:
        frame, traffic = hb.dry_run_hub(STATE.cfg, STATE.db_path, repo, since=since, until=until)
        title = f"Backfill dry run of {repo} (nothing written)"
        emit(frame, fmt_or_default(fmt), title=title,
             meta={"requests": sum(traffic.requests.values())})  # fmt: skip
        return
    started = time.monotonic()
    with _HubDisplay() as display:
        out = hb.backfill_hub(STATE.cfg, STATE.db_path, repo, since=since, until=until,
                              progress=display)  # fmt: skip
    saved = [r for r in out.runs if r.status == "ok"]
    refused = [r for r in out.runs if r.status != "ok"]
    requests = sum(out.traffic.requests.values())
    print(
        f"backfilled {_n(len(saved), 'day')} of {repo} into {STATE.db_path} "
        f"({_n(sum(r.observations for r in saved), 'observation')}; "
        f"{_n(len(out.skipped), 'day')} landed already): {requests:,} requests, "
        f"{out.traffic.bytes_read / 1e6:,.1f} MB read in {time.monotonic() - started:.1f}s"
    )
    if out.gaps:
        shown = ", ".join(d.isoformat() for d in out.gaps[:5])
        more = f" and {len(out.gaps) - 5} more" if len(out.gaps) > 5 else ""
        print(f"{_n(len(out.gaps), 'day')} without an upload in the archive (left as gaps, "
              f"never filled in): {shown}{more}", file=sys.stderr)  # fmt: skip
    if out.stopped is not None:
        left = f"up to {_n(out.left, 'day')}" if out.left_is_estimate else _n(out.left, "day")
        raise HubError(f"stopped with {left} left: {out.stopped}")
    _raise_for(refused, len(out.runs))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``, in the order ``ram --help`` lists them."""
    app.command("backfill")(backfill)
