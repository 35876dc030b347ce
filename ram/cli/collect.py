"""``ram snapshot``, ``ram schedule`` and ``ram doctor``: live collection and its smoke check.

Kept free of heavy imports at module level: ``ram --help`` imports this file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ram.cli.common import STATE, FormatOption, fmt_or_default
from ram.errors import BadInput
from ram.progress import StderrProgress

if TYPE_CHECKING:
    from collectors.hub_probe import RouteCheck
    from ram.config import Config
    from ram.pipeline.snapshot import SnapshotSummary, Step

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


def _failure(summary: SnapshotSummary) -> str:
    return summary.error or "no org or lookup answered"


def _dry_run_output(summary: SnapshotSummary, fmt: str) -> None:
    import json

    from ram.cli.output import emit, records

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
    from ram.pipeline.snapshot import run_snapshot

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
        if summary.status == "failed":
            raise HubError(f"dry run failed, nothing could be fetched: {_failure(summary)}")
        return
    if summary.status == "failed":
        run = summary.run
        raise HubError(
            f"snapshot failed, nothing could be fetched: {_failure(summary)}; "
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
    from ram.pipeline import scheduler

    scheduler.configure_logging()
    cfg, db = STATE.cfg, STATE.db_path
    after = _publisher(cfg, db)
    if once:
        if cron is not None:
            scheduler.crontab_trigger(cron, cfg.schedule.timezone)  # a bad --cron is still bad
        summary = scheduler.run_once(cfg, db, after=after)
        if summary is None or summary.status == "failed":
            raise typer.Exit(1)
        return
    scheduler.serve(cfg, db, cron=cron, after=after)


def _publisher(cfg: Config, db: Path) -> Callable[[SnapshotSummary], None] | None:
    """With ``schedule.publish_to``, the step after each snapshot: ``ram publish`` there,
    logged in one line (the webhook's result in a second)."""
    target = cfg.schedule.publish_to
    if not target:
        return None
    out = Path(target)
    if cfg.path is not None and not out.is_absolute():
        out = cfg.path.parent / out  # relative to the config file, like storage.db

    def publish_site(summary: SnapshotSummary) -> None:
        import logging

        from ram.publish.site import publish

        log = logging.getLogger("ram.publish")
        done = publish(cfg, db, out)
        log.info(
            "published %s: %d model pages, %d events (%d new), as of %s",
            done.out, done.pages, done.feed_events, done.new_events, done.as_of,
        )  # fmt: skip
        if done.webhook is not None:
            log.info("%s", done.webhook.line())

    return publish_site


def _probe_targets(org: str | None, model: str | None) -> tuple[str, str]:
    """The org and repo to probe: as given, else a tracked org (Qwen first) and its first repo."""
    from ram import catalog

    cfg = STATE.cfg
    if model is not None and "/" not in model:
        raise BadInput(f"--model takes ORG/NAME, got {model!r}")
    orgs = catalog.tracked_orgs(cfg)
    chosen = org or (model.split("/", 1)[0] if model else None)
    if chosen is None:
        chosen = next((o for o in orgs if o.lower() == "qwen"), orgs[0] if orgs else None)
    if chosen is None:
        raise BadInput("no tracked org to probe: pass --org ORG (and --model ORG/NAME)")
    if model is None:
        ids = [i for i in catalog.tracked_ids(cfg) if i.split("/", 1)[0].lower() == chosen.lower()]
        if not ids:
            raise BadInput(f"no tracked repo of {chosen} to look up: pass --model ORG/NAME")
        model = ids[0]
    return chosen, model


def _route_lines(name: str, check: RouteCheck) -> list[str]:
    status = "no answer" if check.status is None else f"HTTP {check.status}"
    took = f" in {check.seconds:.2f}s" if check.seconds is not None else ""
    head = f"{name:<11} {check.route}: {status}{took}"
    if check.repos:
        pages = {True: ", more pages", False: ", one page", None: ""}[check.more_pages]
        head += f", {_n(check.repos, 'repo')}{pages if name == 'listing' else ''}"
    lines = [head]
    if check.fields:
        shown = ", ".join(f"{k} {v}/{check.repos}" for k, v in check.fields.items())
        lines.append(f"{'':<11} fields: {shown}")
    if check.problem:
        lines.append(f"{'':<11} problem: {check.problem}")
    return lines


def _rate_line(limit: dict[str, Any] | None) -> str:
    if limit is None:
        return "rate limit  no RateLimit header in the last answer"
    quota = ""
    if limit.get("limit") is not None:
        quota = f" of {limit['limit']:,} per {limit['window_seconds']}s window"
    return (
        f"rate limit  {limit['resource_type']!r}: {limit['remaining']:,} requests left{quota}, "
        f"resets in {limit['reset_in_seconds']}s"
    )


def doctor(
    org: Annotated[str | None, typer.Option("--org", help="Org to list (default: Qwen).")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Repo to look up (default: the org's first).")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Check the live Hub API a snapshot relies on: one listing page and one model lookup.

    Uses the snapshot's own client and fields; prints the endpoint, whether a token was sent
    (never the token), the fields each route returned, the rate limit and a verdict.  Exit 1
    when a snapshot would fail.  Run it once when you first have network.

    Example: ram doctor --org meta-llama
    """
    import json
    from dataclasses import asdict

    from collectors.hub_probe import probe

    # A report, not rows: a table also when piped (the default elsewhere is CSV there).
    shape = fmt.value if fmt is not None else "table"
    if shape == "csv":
        raise BadInput("ram doctor prints a table or JSON; use --format table or --format json")
    chosen, repo = _probe_targets(org, model)
    found = probe(chosen, repo)
    if shape == "json":
        payload = {**asdict(found), "ok": found.ok, "verdict": found.verdict}
        payload["checked_at"] = found.checked_at.isoformat().replace("+00:00", "Z")
        print(json.dumps(payload, indent=1))
    else:
        token = f"sent ({found.token_source})" if found.token_used else "none (anonymous)"
        lines = [
            f"endpoint    {found.endpoint}",
            f"token       {token}",
            *_route_lines("listing", found.listing),
            *_route_lines("model_info", found.lookup),
            _rate_line(found.rate_limit),
            f"requests    {found.requests}",
            f"verdict     {found.verdict}",
        ]
        print("\n".join(lines))
    if not found.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``, in the order ``ram --help`` lists them."""
    app.command("snapshot")(snapshot)
    app.command("schedule")(schedule)
    app.command("doctor")(doctor)
