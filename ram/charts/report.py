"""The adoption report: one offline ``index.html`` with every chart, the top tables, the as-of
date, data provenance and a method note; PNGs and CSVs beside it.  Writes only inside its
directory, with fixed file names (model ids never become paths).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ram import __version__, files
from ram.api import Leaderboard, rank
from ram.charts import data as cd
from ram.charts import export, figures
from ram.charts.figures import ChartData
from ram.errors import BadInput

TABLE_LIMIT = 10
TABLE_DAY = 30


@dataclass
class _Chart:
    slug: str
    heading: str
    fig: go.Figure
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def slug(text: str) -> str:
    text = text.lower().replace("<", "lt-").replace("+", "-plus")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "x"


def default_top_tables(
    data: ChartData, day: int = TABLE_DAY, limit: int = TABLE_LIMIT
) -> dict[str, Leaderboard]:
    """The default leaderboards (``api.rank``) at ``day`` and by latest RAM, ``limit`` per size
    class, with the org beside each model and the notes on what was left out."""
    table = data.table()
    classes = cd.size_class_order(table)
    out = {}
    for title, wanted in ((f"Top RAM at day {day}", day), ("Top RAM, latest day", None)):
        board = rank(data.result, classes, wanted, None, limit)
        frame = board.rows
        frame.insert(2, "org", frame["model_id"].map(table["org"]))
        out[title] = Leaderboard(frame, board.notes)
    return out


def _charts(data: ChartData) -> list[_Chart]:
    """Every chart of the report with the frames behind it (saved as CSV)."""
    curves = data.result.curves
    table = data.table()
    region, org = data.calendar("region", 0), data.calendar("org", 10)
    last = data.last_values()
    days = list(data.result.params.milestones)
    charts = [
        _Chart("ram-curves", "RAM since release", figures.ram_curves(data, log_y=True)),
        _Chart(
            "milestones",
            "RAM at milestones",
            figures.milestones(data),
            {"scores-milestones": _dated(data.result.scores(days))},
        ),
    ]
    classes = set(data.result.baselines["size_class"])
    for c in [c for c in cd.size_class_order(table) if c in classes]:
        baselines = data.result.baselines[data.result.baselines["size_class"] == c]
        charts.append(
            _Chart(
                f"cumulative-{slug(c)}",
                f"Cumulative downloads, {c}",
                figures.cumulative(data, size_class=c, log_y=True),
                {f"baselines-{slug(c)}": baselines},
            )
        )
    charts += [
        _Chart(
            "calendar-region",
            "By region",
            figures.calendar_region(data),
            {"calendar-region": region},
        ),
        _Chart(
            "calendar-org", "By organisation", figures.calendar_org(data), {"calendar-org": org}
        ),
        _Chart(
            "monthly-region",
            "Monthly, by region",
            figures.monthly_region(data),
            {"monthly-region": cd.monthly_downloads(region, data.as_of)},
        ),
        _Chart(
            "monthly-org",
            "Monthly, by organisation",
            figures.monthly_org(data),
            {"monthly-org": cd.monthly_downloads(org, data.as_of)},
        ),
        _Chart(
            "size-mix",
            "Size-class mix",
            figures.size_mix(data),
            {"size-mix": cd.size_mix(list(curves.model_ids), last, table)},
        ),
    ]
    shares = data.derivative_shares
    if shares is not None and not shares["org"].empty:
        for by, heading in (("org", "organisation"), ("region", "region")):
            frame = shares[by].assign(month=shares[by]["month"].astype(str))
            charts.append(
                _Chart(
                    f"derivative-share-{by}",
                    f"New derivatives by base {heading}",
                    figures.derivative_share(data, by=by),
                    {f"derivative-share-{by}": frame},
                )
            )
    return charts


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["release_date"] = pd.to_datetime(out["release_date"]).dt.date
    return out


# Counts are whole downloads, even where a curve is interpolated or a median baseline halves.
_WHOLE = frozenset({"cumulative_downloads", "baseline", "downloads_p10", "downloads_p50",
                    "downloads_p90", "median_reference"})  # fmt: skip


def _cell(column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if column == "ram" and isinstance(value, float):
        return (
            f"{value:.3f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
        )
    if isinstance(value, float) and (column in _WHOLE or value.is_integer()):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _html_table(frame: pd.DataFrame) -> str:
    cols = [c for c in frame.columns if c != "size_class"]
    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in cols)
    rows = []
    for rec in frame[cols].to_dict("records"):
        cells = "".join(
            f'<td class="{"num" if isinstance(rec[c], int | float) else ""}">'
            f"{html.escape(_cell(str(c), rec[c]))}</td>"
            for c in cols
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _tables_html(
    title: str, frame: pd.DataFrame, csv: str, order: list[str], notes: Sequence[str] = ()
) -> str:
    parts = [f'<h3>{html.escape(title)} <a class="file" href="{csv}">CSV</a></h3>']
    parts.extend(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    if frame.empty and not notes:
        parts.append("<p>No model is scored yet.</p>")
    elif "size_class" in frame.columns:
        present = list(dict.fromkeys(frame["size_class"].astype(str)))
        for c in sorted(present, key=lambda c: (order.index(c) if c in order else len(order), c)):
            parts.append(f"<h4>{html.escape(c)}</h4>")
            parts.append(_html_table(frame[frame["size_class"].astype(str) == c]))
    else:
        parts.append(_html_table(frame))
    return "\n".join(parts)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def method_html(data: ChartData) -> str:
    p = data.result.params
    if p.method == "cutoff":
        base = (
            f"the {_ordinal(p.top_n)}-largest cumulative downloads among tracked models of the "
            "class on that day, made monotone (a running maximum): method <em>cutoff</em>, ATOM's "
            "2026-Q2 revision"
        )
    else:
        base = (
            f"the median curve of the class's {p.top_n} most-downloaded tracked models "
            "(method <em>median</em>, ATOM's January 2026 definition)"
        )
    return (
        "<p>The Relative Adoption Metric (RAM, The ATOM Project) divides a model's cumulative "
        "Hugging Face downloads <em>d</em> days after its release by the baseline of its size "
        f"class on day <em>d</em>: {base}.  RAM &ge; 1 means the model is on pace to be a "
        f"top-{p.top_n} model of its size class.</p>"
        f"<p>Curves join observations linearly across gaps of at most {p.max_gap_days} days "
        "and are never extrapolated; models known only from 30-day counts are rebuilt from "
        "those windows.  Models of unknown size are listed but never scored.  Charts over "
        "calendar time sum the curves of tracked models and carry each model's last known "
        "count over days without data, so their totals are lower bounds.</p>"
    )


def provenance_html(data: ChartData) -> str:
    table = data.table()
    curves = data.result.curves
    known = int(pd.notna(curves.last_value).sum())
    latest = data.result.latest()
    scored = latest[latest["model_id"].isin(table.index[table["tracked"]])]
    p = data.result.params
    items = [
        ("As of", data.as_of.isoformat()),
        ("Data source", data.source),
        ("Models", f"{len(table):,} stored, {int(table['tracked'].sum()):,} tracked"),
        ("With download data", f"{known:,}"),
        ("Scored (tracked)", f"{len(scored):,}"),
        ("Baseline", f"{p.method}, top {p.top_n}, days 1..{p.max_day}"),
        ("Generated by", f"ram-tracker {__version__}"),
    ]
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items)
    return f"<dl>{rows}</dl>"


CSS = """
:root { color-scheme: light dark; --muted: #7b7b7b; --line: rgba(128,128,128,.3); }
body { font-family: Inter, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  max-width: 1100px; margin: 0 auto; padding: 1.5rem; line-height: 1.5;
  background: Canvas; color: CanvasText; }
header p, .file, dt { color: var(--muted); }
nav a { margin-right: .8rem; white-space: nowrap; }
section { margin: 2.5rem 0; }
.chart { width: 100%; }
table { border-collapse: collapse; font-size: .9rem; margin: .4rem 0 1.2rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dd { margin: 0; }
.file { font-size: .85rem; font-weight: normal; margin-left: .6rem; }
.note { color: var(--muted); font-size: .9rem; margin: .2rem 0; }
"""


def _backtest_html(summary: pd.DataFrame) -> str:
    """The backtest table with what its columns mean (FORECAST_SPEC §4)."""
    shown = summary[summary["n"] > 0]
    if shown.empty:
        body = '<p class="note">No model has both a forecast and a known outcome yet.</p>'
    else:
        body = _html_table(shown)
    return (
        "<p>Every pool model forecast from day <em>t0</em> of its life, with only the data "
        "dated up to that day, against what it reached at day <em>H</em> (rolling origin; "
        "docs/FORECAST_SPEC.md).  <code>error_factor</code> is exp(median |log(actual / p50)|), "
        "1 being perfect; <code>coverage_80</code> is the share of outcomes inside the p10-p90 "
        "interval (0.8 when the uncertainty is honest); <code>brier</code> scores P(top 10) "
        "against the outcome; <code>median_reference</code> is the typical number of reference "
        "models.  "
        '<a href="forecast-backtest.csv">CSV</a></p>' + body
    )


def _page(
    data: ChartData, charts: list[_Chart], tables: str, png: bool, forecasts: str = ""
) -> str:
    title = f"Open-model adoption on the Hugging Face Hub, as of {data.as_of.isoformat()}"
    nav = " ".join(f'<a href="#{c.slug}">{html.escape(c.heading)}</a>' for c in charts)
    sections = []
    for c in charts:
        links = [f'<a class="file" href="{c.slug}.png">PNG</a>'] if png else []
        links += [f'<a class="file" href="{name}.csv">CSV</a>' for name in c.frames]
        div = pio.to_html(
            c.fig, full_html=False, include_plotlyjs=False, div_id=f"chart-{c.slug}",
            config=export.CONFIG, default_width="100%",
        )  # fmt: skip
        sections.append(
            f'<section id="{c.slug}"><h2>{html.escape(c.heading)}{"".join(links)}</h2>'
            f'<div class="chart">{div}</div></section>'
        )
    forecast_section = (
        f'<section id="forecasts"><h2>How good are the forecasts</h2>\n{forecasts}</section>\n'
        if forecasts
        else ""
    )
    jump = ' <a href="#forecasts">Forecasts</a>' if forecasts else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script src="{export.PLOTLYJS_FILE}"></script>
</head>
<body>
<header><h1>{html.escape(title)}</h1>
<p>Source: {html.escape(data.source)} · as of {data.as_of.isoformat()}</p>
<nav>{nav} <a href="#top">Top models</a>{jump} <a href="#method">Method</a>
<a href="#provenance">Data</a></nav></header>
{"".join(sections)}
<section id="top"><h2>Top models by RAM</h2>
{tables}</section>
{forecast_section}<section id="method"><h2>Method</h2>
{method_html(data)}</section>
<section id="provenance"><h2>Data provenance</h2>
{provenance_html(data)}</section>
</body>
</html>
"""


def write_report(
    data: ChartData,
    out_dir: Path,
    *,
    top_tables: Mapping[str, pd.DataFrame | Leaderboard] | None = None,
    backtest: pd.DataFrame | None = None,
    png: bool = True,
    scale: float = 2.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write ``index.html`` (+ plotly.min.js, PNGs, CSVs) into ``out_dir``; returns the index.

    ``top_tables`` maps a title to a frame or a ``Leaderboard`` (split per ``size_class`` when
    it has that column; a leaderboard's notes are shown above it); default:
    ``default_top_tables``.  ``backtest`` (``api.backtest_table``'s summary) adds the section
    "How good are the forecasts".  With ``png`` a missing browser fails before any write.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"report output {out_dir} exists and is not a directory")
    if png:
        export.find_browser()
    charts = _charts(data)
    tables = default_top_tables(data) if top_tables is None else top_tables
    out_dir.mkdir(parents=True, exist_ok=True)
    export.write_plotlyjs(out_dir)
    for c in charts:
        for name, frame in c.frames.items():
            files.write_csv(out_dir / f"{name}.csv", frame)
    order = cd.size_class_order(data.table())
    blocks, used = [], set()
    for i, (title, table) in enumerate(tables.items()):
        frame, notes = (table.rows, table.notes) if isinstance(table, Leaderboard) else (table, [])
        csv = f"{slug(title)}.csv"
        csv = f"{slug(title)}-{i + 1}.csv" if csv in used else csv
        used.add(csv)
        files.write_csv(out_dir / csv, frame)
        blocks.append(_tables_html(title, frame, csv, order, notes))
    if png:
        if progress:
            progress(f"rendering {len(charts)} PNGs")
        export.write_images([(c.fig, out_dir / f"{c.slug}.png") for c in charts], scale=scale)
    forecasts = ""
    if backtest is not None:
        files.write_csv(out_dir / "forecast-backtest.csv", backtest)
        forecasts = _backtest_html(backtest)
    index = out_dir / "index.html"
    return files.write_text(index, _page(data, charts, "\n".join(blocks), png, forecasts))
