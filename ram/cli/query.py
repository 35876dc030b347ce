"""The query commands (and ``import panel``): each parses options, calls one library
function and renders through ``ram.cli.output``.  Errors are raised as ``ram.errors`` states;
``ram.cli.main`` turns them into one line and an exit code.
"""

from __future__ import annotations

import contextlib
import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ram.cli.common import (
    STATE,
    AsOfOption,
    BaselineOption,
    ByOption,
    DaysOption,
    FormatOption,
    MethodOption,
    OrgOption,
    RegionOption,
    ReleasedSinceOption,
    Signal,
    SignalOption,
    SizeClassOption,
    Unit,
    analysis,
    check_days,
    fmt_or_default,
    meta_of,
    parse_date,
)

if TYPE_CHECKING:
    import pandas as pd

    from ram.api import Analysis


def import_panel(
    file: Annotated[Path, typer.Argument(help="CSV, CSV.gz or Parquet panel file.")],
    source: Annotated[
        str | None, typer.Option("--source", help="Source name stored with the rows.")
    ] = None,
) -> None:
    """Import a panel: model_id,date[,downloads_all_time][,downloads_30d][,created_at][,params_b].

    Every row is validated first; a bad file is refused whole, naming its first bad line.

    Example: ram import panel snapshots/sample/hf_downloads_30d_2024H2.csv.gz
    """
    from ram.pipeline.panel_import import import_panel as run_import

    run = run_import(
        STATE.cfg, STATE.db_path, file, source, progress=lambda m: print(m, file=sys.stderr)
    )
    print(
        f"imported {run.observations:,} observations of {run.models:,} models "
        f"({run.new_models:,} new, {run.details.get('tracked', 0):,} tracked) "
        f"from {file} as {run.source} into {STATE.db_path}"
    )
    unvetted = run.details.get("untracked_without_tag", 0)
    if unvetted:
        orgs = list(run.details.get("untracked_orgs", []))
        shown = ", ".join(orgs[:5]) + (f" and {len(orgs) - 5} more" if len(orgs) > 5 else "")
        print(
            f"{unvetted:,} imported models are not tracked: the panel gives no pipeline tag and "
            f"their orgs ({shown}) are outside the catalog and tracking.orgs; list the orgs "
            "under tracking.orgs (or the repos under tracking.include) to track them",
            file=sys.stderr,
        )


def models(
    size_class: SizeClassOption = None,
    org: OrgOption = None,
    suspect: Annotated[
        bool,
        typer.Option(
            "--suspect", help="Only repos whose name size and weights size differ by over 20%."
        ),
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-s", help="Only repo ids holding this text (any case).", metavar="<text>"
        ),
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """The stored models with size class, release date, params and where each came from.

    Example: ram models --org Qwen --size-class 5-10B;  ram models --search qwen3
    """
    from ram import api
    from ram.cli.output import emit

    frame = api.models_table(STATE.cfg, STATE.db_path, size_class, org, suspect, search)
    title = "Models whose name size and weights size disagree" if suspect else "Models"
    notes = [] if len(frame) else [api.why_no_models(STATE.cfg, STATE.db_path, size_class, org,
                                                     suspect, search)]  # fmt: skip
    emit(frame, fmt_or_default(fmt), title=title, meta={"db": STATE.db_path}, notes=notes)


def score(
    model_id: Annotated[str, typer.Argument(help="Repo id, e.g. Qwen/Qwen2.5-7B-Instruct.")],
    day: DaysOption = None,
    signal: SignalOption = Signal.downloads,
    by: ByOption = Unit.model,
    fmt: FormatOption = None,
    method: MethodOption = None,
    baseline: BaselineOption = None,
    as_of: AsOfOption = None,
) -> None:
    """One model's cumulative downloads, baseline and RAM at the milestones, and its latest RAM.

    Example: ram score Qwen/Qwen2.5-7B-Instruct --day 30 --day 90
    """
    from ram import api
    from ram.cli.output import emit, emit_notes, records

    # A score needs only the model's size class (its pool); a forecast that falls back to
    # every class's references needs them all, and then the whole analysis is made.
    an = analysis(method, as_of, baseline, signal, by, only_model=model_id)
    model_id = _unit_of(an, model_id, by)
    days = check_days(day)
    ms = api.score_model(an, model_id, days)  # a bad day or id is refused here, as ever
    board = api.forecast_table(an, STATE.cfg, [model_id])
    if board.rows["fallback"].fillna(False).astype(bool).any():
        an = analysis(method, as_of, baseline, signal, by)
        ms = api.score_model(an, model_id, days)
        board = api.forecast_table(an, STATE.cfg, [model_id])
    f = fmt_or_default(fmt)
    m = ms.model
    latest = ms.latest
    meta = {
        **meta_of(an),
        "model": m["model_id"],
        "size_class": m["size_class"],
        "params_b": m["params_b"],
        "params_source": m["params_source"],
        "release_date": m["release_date"],
        "release_source": m["release_source"],
        "tracked": bool(m["tracked"]),  # a boolean, as in ram models
        "tracked_reason": m["tracked_reason"],
        # The model's own newest observation: the as-of date is the store's, which a later
        # snapshot of other repos may have moved past it.
        "last_observation": api.last_observation(an, m["model_id"]),
        "latest_day": None if latest.empty else int(latest["day"].iloc[0]),
        "latest_ram": None if latest.empty else float(latest["ram"].iloc[0]),
    }
    if f == "table" and ms.scores.empty:
        reason = (
            "its size is unknown"
            if m["size_class"] == "unknown"
            else "no day has both a curve value and a baseline yet"
        )
        print(f"{m['model_id']}: no RAM at these days ({reason})", file=sys.stderr)
    meta.update(_signal_meta(signal, by))
    if f == "json":
        meta["forecast"] = records(board.rows)
    emit(_counted(ms.scores, signal), f, title=f"RAM of {model_id}", meta=meta)
    if f == "table" and len(board.rows):
        note = {"method": "reference-class ratio (docs/FORECAST_SPEC.md)"}
        emit(board.rows.drop(columns=["model_id"]), f, title="Forecast from today", meta=note,
             notes=board.notes)  # fmt: skip
    elif f == "table":
        emit_notes(board.notes)


def top(
    day: Annotated[
        int | None, typer.Option("--day", "-d", help="Day since release (default 30).")
    ] = 30,
    latest: Annotated[bool, typer.Option("--latest", help="Rank by latest RAM instead.")] = False,
    size_class: SizeClassOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows per size class.")] = 10,
    include_thin: Annotated[
        bool,
        typer.Option(
            "--include-thin", help="Also rows whose baseline rests on fewer than min_pool curves."
        ),
    ] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Also untracked models and thin rows (flagged).")
    ] = False,
    with_forecast: Annotated[
        bool,
        typer.Option(
            "--forecast", help="Add today's forecast at the last horizon: ram_p50, p_top10."
        ),
    ] = False,
    org: OrgOption = None,
    region: RegionOption = None,
    released_since: ReleasedSinceOption = None,
    signal: SignalOption = Signal.downloads,
    by: ByOption = Unit.model,
    fmt: FormatOption = None,
    method: MethodOption = None,
    baseline: BaselineOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Leaderboard of RAM at a day since release, per size class.

    Shows tracked pool members on baselines that rest on at least min_pool curves; says on
    stderr how many rows it left out and why, and which classes have no leaderboard.

    Example: ram top --day 30 --size-class 5-10B --limit 5
    """
    from ram import score_cache
    from ram.metric.leaderboard import Scope

    check_days([day] if day is not None else None)
    since = parse_date(released_since, "--released-since")
    f = fmt_or_default(fmt)
    title = f"Top models by {'latest RAM' if latest else f'RAM at day {day}'}"
    wanted = None if latest else day
    scope = Scope(include_thin=include_thin, include_all=everything)
    live = score_cache.applies(STATE.cfg, getattr(method, "value", None), baseline, as_of)
    live = live and signal is Signal.downloads and by is Unit.model
    if live and not with_forecast and org is None and region is None and since is None:
        hit = score_cache.top(STATE.cfg, STATE.db_path, wanted, size_class, limit, scope)
        if hit is not None:
            from ram.cli.output import emit_rows

            numeric = score_cache.NUMERIC
            emit_rows(
                hit.columns, hit.rows, f, numeric=numeric, title=title, meta=hit.meta,
                notes=hit.notes,
            )  # fmt: skip
            return
    from ram import api
    from ram.cli.output import emit

    an = analysis(method, as_of, baseline, signal, by)
    board = api.top_leaderboard(an, wanted, size_class, limit, scope, org, region, since)
    meta = {**meta_of(an), **_signal_meta(signal, by)}
    if with_forecast:
        board = api.with_forecast(an, STATE.cfg, board)
        meta["forecast"] = f"reference-class ratio at day {max(STATE.cfg.forecast.horizons)}"
    emit(_counted(board.rows, signal), f, title=title, meta=meta, notes=board.notes)


class ScoreSort(enum.StrEnum):
    """Row orders of ``ram scores``."""

    model = "model"
    ram = "ram"
    downloads = "downloads"
    release = "release"


def scores(
    day: DaysOption = None,
    org: OrgOption = None,
    region: RegionOption = None,
    released_since: ReleasedSinceOption = None,
    sort: Annotated[
        ScoreSort,
        typer.Option(
            "--sort",
            help="Row order: model (id, then day), ram or downloads (highest "
            "first), release (newest first).",
            case_sensitive=False,
        ),
    ] = ScoreSort.model,
    signal: SignalOption = Signal.downloads,
    by: ByOption = Unit.model,
    fmt: FormatOption = None,
    method: MethodOption = None,
    baseline: BaselineOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Every scored model's RAM at the milestones (bulk export; undefined rows are absent).

    Example: ram scores --format csv > scores.csv
    """
    from ram import score_cache

    days = check_days(day)
    since = parse_date(released_since, "--released-since")
    f = fmt_or_default(fmt)
    live = score_cache.applies(STATE.cfg, getattr(method, "value", None), baseline, as_of)
    default_order = sort is ScoreSort.model
    live = live and signal is Signal.downloads and by is Unit.model
    if live and not days and org is None and region is None and since is None and default_order:
        hit = score_cache.scores(STATE.cfg, STATE.db_path)
        if hit is not None:
            from ram.cli.output import emit_rows

            emit_rows(hit.columns, hit.rows, f, numeric=score_cache.NUMERIC,
                      title="RAM at milestones", meta=hit.meta)  # fmt: skip
            return
    from ram import api
    from ram.cli.output import emit

    an = analysis(method, as_of, baseline, signal, by)
    frame = api.scores_table(an, days, org, region, since)
    if not default_order:
        column = {"ram": "ram", "downloads": "cumulative_downloads", "release": "release_date"}
        frame = frame.sort_values([column[sort.value], "model_id", "day"],
                                  ascending=[False, True, True], kind="stable",
                                  na_position="last", ignore_index=True)  # fmt: skip
    meta = {**meta_of(an), **_signal_meta(signal, by)}
    emit(_counted(frame, signal), f, title="RAM at milestones", meta=meta)


def _signal_meta(signal: Signal, by: Unit) -> dict[str, object]:
    """What a listing adds when it is not per-repo downloads (the default adds nothing)."""
    out: dict[str, object] = {}
    if signal is not Signal.downloads:
        out["signal"] = signal.value
    if by is not Unit.model:
        out["by"] = by.value
    return out


def _counted(frame: pd.DataFrame, signal: Signal) -> pd.DataFrame:
    """Score rows as printed: over derivative counts, the count column says so."""
    if signal is Signal.derivatives:
        return frame.rename(columns={"cumulative_downloads": "cumulative_derivatives"})
    return frame


def _unit_of(an: Analysis, model_id: str, by: Unit) -> str:
    """``--by family``: a variant's score is its family's, under the base's id."""
    if by is not Unit.family:
        return model_id
    from ram import api

    fams = api.families_of(STATE.cfg, STATE.db_path)
    lower = {m.lower(): f for m, f in zip(fams["model_id"], fams["family"], strict=True)}
    return lower.get(model_id.lower(), model_id)


def baseline(
    size_class: SizeClassOption = None,
    day: DaysOption = None,
    freeze: Annotated[
        str | None, typer.Option("--freeze", help="Store the live baseline under this name.")
    ] = None,
    fmt: FormatOption = None,
    method: MethodOption = None,
    baseline_version: BaselineOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Baseline curves per size class; --freeze NAME stores a version for reproducible scores.

    Example: ram baseline --freeze 2026-Q2  then  ram top --baseline 2026-Q2
    """
    from ram import api
    from ram.cli.output import emit
    from ram.errors import BadInput

    an = analysis(method, as_of, baseline_version)
    if freeze is not None:
        if not freeze.strip() or len(freeze) > 64:
            raise BadInput("--freeze needs a short version name, e.g. 2026-Q2")
        if baseline_version:
            raise BadInput("--freeze stores the live baseline; drop --baseline")
        n = api.freeze_baseline(STATE.cfg, STATE.db_path, freeze, an)
        print(
            f"froze baseline {freeze!r}: {n:,} rows ({an.method}, top {an.top_n}, as of {an.as_of})"
        )
        return
    frame = api.baseline_table(an, size_class, check_days(day))
    emit(frame, fmt_or_default(fmt), title="Baselines", meta=meta_of(an))


def status(fmt: FormatOption = None) -> None:
    """Recent runs, freshness per org, row counts and data-quality flags.

    Example: ram status
    """
    from ram.cli.output import emit_rows
    from ram.status import Table, collect_status

    st = collect_status(STATE.cfg, STATE.db_path)
    f = fmt_or_default(fmt)
    meta = {"db": st.db, "latest_observation": st.latest_obs, "today_utc": st.today,
            "days_behind": st.days_behind, **st.counts}  # fmt: skip

    def show(table: Table, title: str | None = None, meta: dict | None = None) -> None:
        emit_rows(table.columns, table.rows, f, numeric=table.numeric, title=title, meta=meta)

    if f == "json":
        import json

        from ram.cli.output import rows_records

        def records(table: Table) -> list[dict]:
            return rows_records(table.columns, table.rows)

        run_rows = records(st.runs_table)
        for run in run_rows:  # stored as JSON text; a JSON reader wants the object
            text = run.get("details")
            if isinstance(text, str):
                with contextlib.suppress(ValueError):
                    run["details"] = json.loads(text)
        latest = st.latest_obs.isoformat() if st.latest_obs is not None else None
        payload = {
            "db": str(st.db),
            "latest_observation": latest,
            "today_utc": st.today.isoformat() if st.today is not None else None,
            "days_behind": st.days_behind,  # from the newest observation to today (UTC)
            **{k: int(v) for k, v in st.counts.items() if k != "runs"},  # numbers, not text
            "counts": {k: int(v) for k, v in st.counts.items()},  # every table's row count
            "runs": run_rows,  # the recent runs themselves (their count is in counts.runs)
            "freshness": records(st.freshness_table),
            "flags": records(st.flags_table),
            "failures": records(st.failures_table),
        }
        print(json.dumps(payload, indent=1, default=str))
        return
    shown = ["started_at", "kind", "source", "status", "models", "observations", "new_models",
             "failed", "requests", "error_summary"]  # fmt: skip
    show(st.runs_table.select(shown), "Recent runs", meta)
    if st.days_behind is not None and st.days_behind > 1:
        print(
            f"the newest observation is {st.days_behind} days old ({st.latest_obs}; today is "
            f"{st.today} UTC): run ram snapshot, or ram schedule to keep it current",
            file=sys.stderr,
        )
    if f == "table":
        fresh = st.freshness_table
        shown_orgs = len(fresh.head(FRESHNESS_ROWS))
        more = (
            f": {shown_orgs} of {len(fresh)}, the stalest (--format json lists all)"
            if len(fresh) > shown_orgs
            else ""
        )
        show(fresh.head(FRESHNESS_ROWS), f"Freshness per org (stalest first){more}")
        if len(st.failures_table):
            failed = st.failures_table
            show(failed.head(30), f"Recent snapshot failures ({len(failed)})")
        show(st.flags_table.head(50), f"Data-quality flags ({len(st.flags_table)})")


FRESHNESS_ROWS = 20  # orgs a status table shows (the stalest); CSV and JSON carry every org


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``, in the order ``ram --help`` lists them."""
    from ram.cli import derivatives

    imports = typer.Typer(
        help="Import download counts (panel) or derivative counts from files.",
        no_args_is_help=True,
    )
    imports.command("panel")(import_panel)
    derivatives.register(app, imports)
    app.command("models")(models)
    app.command("score")(score)
    app.command("top")(top)
    app.command("scores")(scores)
    app.command("baseline")(baseline)
    app.command("status")(status)
    app.add_typer(imports, name="import")
