"""``ram snapshot`` and ``ram schedule``: live collection (registered on the shared app).

Kept free of heavy imports at module level: ``ram --help`` imports this file.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ram.cli_common import STATE, FormatOption, app, fmt_or_default
from ram.progress import StderrProgress

if TYPE_CHECKING:
    from ram.snapshot import SnapshotSummary, Step

NEW_SHOWN = 50  # rows of the dry run's new-model table on a terminal


class _Display(StderrProgress):
    """Progress on stderr: a transient rich bar on a terminal, plain lines otherwise."""

    def __call__(self, step: Step) -> None:
        if self.bar is None:
            print(_plain(step), file=sys.stderr, flush=True)
            return
        if step.kind == "org":
            task = self._task("orgs", "listing orgs", step.total)
            self.bar.update(task, completed=step.done, description=f"listed {step.name}")
        elif step.kind == "lookup":
            task = self._task("lookups", "looking up tracked repos", None)
            self.bar.update(task, completed=step.done, description=f"looked up {step.name}")
        elif step.kind == "save":
            self._task("save", f"saving {step.models:,} models", None)

    def _task(self, key: str, label: str, total: int | None) -> Any:
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(label, total=total)
        return self.tasks[key]


def _plain(step: Step) -> str:
    if step.kind == "org":
        return f"[{step.done}/{step.total}] {step.name}: {_n(step.models, 'model')} listed"
    if step.kind == "lookup":
        found = "found" if step.models else "not found or failed"
        return f"[lookup {step.done}] {step.name}: {found}"
    if step.kind == "save" and not step.models:
        return f"recording the run in {step.name}"
    if step.kind == "save":
        return f"saving {_n(step.models, 'model')} to {step.name}"
    return f"saved to {step.name}"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


def _split_orgs(orgs: list[str] | None) -> list[str] | None:
    if orgs is None:
        return None
    return [o.strip() for item in orgs for o in item.split(",") if o.strip()]


def _notes(summary: SnapshotSummary) -> None:
    """What the user should know beyond the summary line, on stderr."""
    if summary.missing_ids:
        first = ", ".join(summary.missing_ids[:3])
        more = f" +{len(summary.missing_ids) - 3} more" if len(summary.missing_ids) > 3 else ""
        gone = _n(len(summary.missing_ids), "tracked repo")
        print(f"note: {gone} gone from the Hub (404): {first}{more}", file=sys.stderr)
    for old, new in summary.renamed.items():
        print(f"note: {old} was renamed to {new}; its history moves with it", file=sys.stderr)
    if summary.warnings:
        print(
            f"note: {_n(len(summary.warnings), 'value')} the Hub sent unusable, stored as "
            f"unknown; first: {summary.warnings[0]}",
            file=sys.stderr,
        )


def _dry_run_output(summary: SnapshotSummary, fmt: str) -> None:
    import json

    from ram.render import emit, records

    changes = summary.changes
    if fmt == "csv":
        emit(changes, "csv")
    elif fmt == "json":
        payload = {
            "status": summary.status,
            "run_date": summary.run_date.isoformat(),
            "requests": summary.requests,
            "orgs": records(summary.per_org),
            "models": records(changes),
        }
        print(json.dumps(payload, indent=1, default=str))
    else:
        emit(summary.per_org, "table", title="Would write, per org (nothing written)")
        new = changes[changes["new"]][["model_id", "tracked", "tracked_reason", "downloads_30d"]]
        more = f"; first {NEW_SHOWN} shown, --format csv lists all" if len(new) > NEW_SHOWN else ""
        emit(new.head(NEW_SHOWN), "table", title=f"New models ({len(new):,}{more})")
        rejected = changes[~changes["tracked"]]
        reasons = (
            rejected.groupby("tracked_reason")["model_id"]
            .agg(repos="count", example="first")
            .reset_index()
            .sort_values(["repos", "tracked_reason"], ascending=[False, True])
        )
        emit(reasons, "table", title=f"Not tracked ({_n(len(rejected), 'repo')}), by reason")
    out = sys.stdout if fmt == "table" else sys.stderr
    print(f"{summary.line()}; nothing written", file=out)


@app.command("snapshot")
def snapshot(
    orgs: Annotated[
        list[str] | None,
        typer.Option(
            "--orgs", help="Only these tracked orgs (repeat the option or separate with commas)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Fetch and show what would be written; write nothing."),
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Collect today's download counts of the tracked set from the Hub into the database.

    One listing per tracked org plus lookups of tracked repos no listing returned.  An org that
    fails writes nothing (never zeros) and the run is recorded as partial; a re-run on the same
    day replaces that day's rows.  HF_TOKEN and HF_ENDPOINT are honoured.

    Example: ram snapshot --orgs Qwen,meta-llama --dry-run
    """
    from ram.errors import HubError
    from ram.score_cache import refresh
    from ram.snapshot import run_snapshot

    with _Display() as display:
        summary = run_snapshot(
            STATE.cfg,
            STATE.db_path,
            orgs=_split_orgs(orgs),
            dry_run=dry_run,
            progress=display,
        )
    _notes(summary)
    if dry_run:
        _dry_run_output(summary, fmt_or_default(fmt))
        return
    if summary.status == "failed":
        run = summary.run
        raise HubError(
            f"snapshot failed, nothing could be fetched: {run.error_summary if run else ''}; "
            f"recorded as run {run.run_id if run else '?'}, see: ram status"
        )
    print(f"{summary.line()} into {STATE.db_path}")
    if summary.status == "partial":
        failed = summary.run.error_summary if summary.run is not None else None
        print(
            f"Warning: partial snapshot: {failed}; nothing was written for what failed "
            "(no zeros); see: ram status",
            file=sys.stderr,
        )
    refresh(STATE.cfg, STATE.db_path)


@app.command("schedule")
def schedule(
    cron: Annotated[
        str | None,
        typer.Option("--cron", help="Crontab line, e.g. '17 6 * * *' (default: schedule.cron)."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run one snapshot now (under the lock) and exit.")
    ] = False,
) -> None:
    """Run the collector on a cron schedule until SIGINT/SIGTERM (one scheduler per database).

    A missed run is caught up at start; a stop waits for the running snapshot to be saved.
    Each run is one log line on stderr.

    Example: ram schedule --cron '17 6 * * *'
    """
    from ram import scheduler

    scheduler.configure_logging()
    cfg, db = STATE.cfg, STATE.db_path
    if once:
        if cron is not None:
            scheduler.crontab_trigger(cron, cfg.schedule.timezone)  # a bad --cron is still bad
        summary = scheduler.run_once(cfg, db)
        if summary is None or summary.status == "failed":
            raise typer.Exit(1)
        return
    scheduler.serve(cfg, db, cron=cron)
