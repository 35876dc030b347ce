"""``ram plot`` and ``ram report``: charts and the one-command report, from the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ram.charts import KIND_NAMES
from ram.cli.common import STATE, AsOfOption, BaselineOption, MethodOption, SizeClassOption

if TYPE_CHECKING:
    from ram.api import Analysis
    from ram.charts.figures import ChartData


def _chart_data(
    method: object, as_of: str | None, baseline: str | None, by: str = "model"
) -> tuple[Analysis, ChartData]:
    from ram import api
    from ram.charts import data as cd
    from ram.charts.figures import ChartData
    from ram.cli.common import parse_date

    an = api.analyse(
        STATE.cfg,
        STATE.db_path,
        method=getattr(method, "value", None),
        as_of=parse_date(as_of),
        baseline=baseline,
        by=by,
    )
    data = ChartData.from_result(an.result, an.models, an.source)
    data.forecaster = lambda ids: api.fan(an, STATE.cfg, ids)
    counts = api.derivative_counts(STATE.db_path)
    if len(counts):
        data.derivative_shares = cd.derivative_shares(counts, data.table(), an.as_of)
        names = sorted(set(counts["source"]))
        data.derivative_source = f"Hugging Face derivative counts ({', '.join(names)})"
    return an, data


def plot(
    kind: Annotated[
        str,
        typer.Argument(
            help=f"Chart: {', '.join(KIND_NAMES)}.",
            autocompletion=lambda incomplete: [k for k in KIND_NAMES if k.startswith(incomplete)],
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .html, .png or .svg.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model to draw (repeatable).")
    ] = None,
    size_class: SizeClassOption = None,
    log_y: Annotated[bool, typer.Option("--log-y", help="Logarithmic y axis.")] = False,
    embed: Annotated[
        bool, typer.Option("--embed", help="HTML fragment to paste into a page (no <html>).")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="derivative-share: org (default) or region; other charts: model (default) "
            "or family (a base and its first-party variants, downloads summed).",
        ),
    ] = None,
    method: MethodOption = None,
    baseline: BaselineOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Draw one chart to an offline HTML file, an HTML fragment, or a PNG/SVG image.

    Example: ram plot ram-curves --model Qwen/Qwen2.5-7B-Instruct --log-y --out ram.png
    """
    from ram.charts.export import write_figure
    from ram.charts.figures import build_figure
    from ram.errors import BadInput

    if kind not in KIND_NAMES:
        raise BadInput(f"unknown chart kind {kind!r}; choose one of: {', '.join(KIND_NAMES)}")
    share_by = unit = None
    if kind == "derivative-share":
        share_by = (by or "org").lower()
        if share_by not in ("org", "region"):
            raise BadInput(f"--by {by!r} for derivative-share: use org or region")
    else:
        unit = (by or "model").lower()
        if unit not in ("model", "family"):
            raise BadInput(f"--by {by!r} for {kind}: use model or family")
    _, data = _chart_data(method, as_of, baseline, unit or "model")
    fig = build_figure(kind, data, models=model, size_class=size_class, log_y=log_y, by=share_by)
    path = write_figure(fig, out, embed=embed, scale=STATE.cfg.charts.png_scale)
    print(f"wrote {path} ({kind}, as of {data.as_of})")


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the report into.")],
    png: Annotated[
        bool,
        typer.Option("--png/--no-png", help="Also render every chart as PNG (needs Chromium)."),
    ] = True,
    method: MethodOption = None,
    baseline: BaselineOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Write a self-contained report: index.html with every chart, the top tables, the as-of
    date, provenance and the method, with PNGs and CSVs beside it.  Opens offline.

    Example: ram report --out report/
    """
    from ram import api
    from ram.charts.report import write_report

    an, data = _chart_data(method, as_of, baseline)
    tables = {
        "Top models by RAM at day 30": api.top_leaderboard(an, 30, None, 10),
        "Top models by latest RAM": api.top_leaderboard(an, None, None, 10),
    }
    summary, _ = api.backtest_table(an, STATE.cfg)
    index = write_report(
        data,
        out,
        top_tables=tables,
        backtest=summary,
        png=png,
        scale=STATE.cfg.charts.png_scale,
        progress=lambda m: print(m, file=sys.stderr),
    )
    print(f"wrote {index} (as of {an.as_of}; baseline: {an.baseline_label})")


def publish(
    out: Annotated[Path, typer.Argument(help="Folder to write the site into (e.g. site/).")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Feed: events on or after YYYY-MM-DD only; digest: from that day "
            "(default: the whole feed, and the week to the as-of date).",
        ),
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """Write a static site: leaderboards, interactive charts, a page per tracked model, an Atom
    feed of events, shields.io badges and a weekly digest.  Opens offline from file://; send
    events to publish.webhook_url once each.

    Example: ram publish site/ && open site/index.html
    """
    from ram.cli.common import parse_date
    from ram.publish.site import publish as build

    summary = build(
        STATE.cfg,
        STATE.db_path,
        out,
        since=parse_date(since, "--since"),
        as_of=parse_date(as_of),
        progress=lambda m: print(m, file=sys.stderr),
    )
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    removed = f", {summary.removed} stale removed" if summary.removed else ""
    print(
        f"wrote {summary.out / 'index.html'}: {summary.pages:,} model pages, "
        f"{summary.feed_events:,} events in feed.xml ({summary.new_events:,} new), digest.md "
        f"from {summary.digest_start}; {summary.files:,} files{removed} "
        f"(as of {summary.as_of}; source: {summary.source})"
    )
    if summary.webhook is not None:
        print(summary.webhook.line())


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``, in the order ``ram --help`` lists them."""
    app.command("plot")(plot)
    app.command("report")(report)
    app.command("publish")(publish)
