"""Plotly figures of adoption built from library data (no I/O): the charts of the ATOM essays.

One look for all: transparent background and mid-grey text (readable on light and dark pages),
the as-of date and data source under every title, and one colour per org in every chart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ram.charts import KIND_NAMES
from ram.charts import data as cd
from ram.charts import style as cs
from ram.errors import BadInput

if TYPE_CHECKING:
    from ram.metric.formula import RamResult


_Held = TypeVar("_Held", pd.DataFrame, np.ndarray)


@dataclass
class ChartData:
    """Everything a chart needs: the RAM result, model metadata, as-of date and source label."""

    result: RamResult
    models: pd.DataFrame
    as_of: date
    source: str
    median_baselines: pd.DataFrame | None = None
    # Forecast fans of the models a chart draws (``api.fan``): model ids -> forecast rows at
    # many horizons (FORECAST_SPEC); None draws none.
    forecaster: Callable[[Sequence[str]], pd.DataFrame] | None = None
    # Monthly shares of new derivatives (``api.derivative_shares``), by "org" and "region":
    # month, group, new, share.  None: the store holds no derivative counts.
    derivative_shares: dict[str, pd.DataFrame] | None = None
    derivative_source: str = "Hugging Face derivative counts"

    # what the charts of one report share, computed once: key -> (inputs, frame)
    _held: dict[tuple[object, ...], tuple[tuple[object, ...], Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _once(self, key: tuple[object, ...], make: Callable[[], _Held]) -> _Held:
        """``make()``'s frame, computed once while ``models`` and ``result`` are the same
        objects, handed out as a copy (a caller's edit stays its own)."""
        inputs = (self.models, self.result, self.result.curves, self.as_of)
        held = self._held.get(key)
        if held is None or any(a is not b for a, b in zip(held[0], inputs, strict=True)):
            held = self._held[key] = (inputs, make())
        return held[1].copy()

    def table(self) -> pd.DataFrame:
        """Models indexed by model_id, org/region/size class filled (``chartdata.model_table``)."""
        return self._once(("table",), lambda: cd.model_table(self.models))

    def calendar(self, by: str, keep: int) -> pd.DataFrame:
        """``chartdata.calendar_by`` of the result's curves by ``by`` ("region" or "org")."""
        curves = self.result.curves

        def make() -> pd.DataFrame:
            return cd.calendar_by(
                curves.model_ids, curves.values, self.table(), self.as_of, by, keep
            )

        return self._once(("calendar", by, keep), make)

    def last_values(self) -> np.ndarray:
        """``chartdata.last_values`` of the result's curves: each curve's last defined value."""
        return self._once(("last",), lambda: cd.last_values(self.result.curves.values))

    @classmethod
    def from_result(cls, result: RamResult, models: pd.DataFrame, source: str) -> ChartData:
        """ChartData for ``result``, adding live median baselines of the tracked pool."""
        from ram.metric.formula import compute_baselines

        pool = models[models["release_date"].notna()]
        frame = pd.DataFrame(
            {
                "model_id": pool["model_id"],
                "release_date": pd.to_datetime(pool["release_date"]),
                "size_class": pool["size_class"],
                "in_pool": pool["tracked"].astype(bool),
            }
        )
        median = compute_baselines(result.curves, frame, "median", result.params.top_n)
        return cls(result, models, result.as_of, source, median)


def _look(fig: go.Figure, data: ChartData, title: str, note: str, height: int = cs.HEIGHT) -> None:
    cs.style(fig, title, note, data.as_of, data.source, height)


def _pick(
    data: ChartData, models: Sequence[str] | None, size_class: str | None, n: int
) -> tuple[list[str], pd.DataFrame]:
    """Chosen model ids (checked) or the n most recent tracked ones, and the model table."""
    table = data.table()
    latest = None if models else data.result.latest()
    return cd.choose_models(table, latest, models, size_class, n), table


def _cell(table: pd.DataFrame, model_id: str, column: str) -> str:
    return str(table.at[model_id, column])


def _calendar(data: ChartData, by: str, keep: int) -> pd.DataFrame:
    return data.calendar(by, keep)


def _every_day(result: RamResult) -> list[int]:
    return list(range(1, result.params.max_day + 1))


def ram_curves(
    data: ChartData,
    models: Sequence[str] | None = None,
    *,
    size_class: str | None = None,
    log_y: bool = False,
    n: int = 8,
) -> go.Figure:
    """RAM vs days since release with a line at 1.  CLI options: --model, --size-class, --log-y.

    Default models: the n most recent tracked releases with at least 30 scored days.
    """
    chosen, table = _pick(data, models, size_class, n)
    scores = data.result.scores(_every_day(data.result), model_ids=chosen)
    latest = scores.sort_values("day").groupby("model_id")["ram"].last()
    order = sorted(chosen, key=lambda m: (-latest.get(m, -np.inf), m))
    dash = dict(
        zip(chosen, cs.dash_by_group([_cell(table, m, "org") for m in chosen]), strict=True)
    )
    fig = go.Figure()
    for m in order:
        rows = scores[scores["model_id"] == m].sort_values("day")
        if rows.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=rows["day"].to_numpy(),
                y=rows["ram"].to_numpy(),
                customdata=rows[["cumulative_downloads", "baseline"]].to_numpy(),
                mode="lines" if len(rows) > 1 else "markers",
                name=cs.label(m),
                line={
                    "color": cs.org_color(_cell(table, m, "org")),
                    "width": 2.4,
                    "dash": dash[m],
                },
                hovertemplate="%{fullData.name}<br>day %{x}: RAM %{y:.2f}<br>"
                "%{customdata[0]:,.0f} downloads vs baseline %{customdata[1]:,.0f}<extra></extra>",
            )
        )
    fanned = _fans(fig, data, order, table, scores)
    p = data.result.params
    fig.add_hline(y=1, line={"color": cs.NEUTRAL, "width": 1.5, "dash": "dash"})
    fig.add_annotation(  # log axes place annotations in log10 units, hence 0 for RAM 1
        text=f"1 = top-{p.top_n} pace", x=1, xref="x domain", xanchor="right",
        y=0 if log_y else 1, yref="y", yanchor="bottom", showarrow=False,
    )  # fmt: skip
    missing = [m for m in chosen if m not in latest.index]
    if missing or not chosen:
        fig.add_annotation(
            text=cs.label("No RAM yet: " + (", ".join(missing) or "no tracked model is scored")),
            xref="paper", yref="paper", x=0, y=-0.16, showarrow=False, xanchor="left",
        )  # fmt: skip
    note = _ram_note(data) + ("; shaded: forecast p10-p90, dotted: p50" if fanned else "")
    _look(fig, data, "Relative Adoption Metric since release", note)
    last_day = float(scores["day"].max()) if len(scores) else 30.0
    cs.day_axis(fig, data.result.params.milestones, max(last_day, fanned))
    fig.update_yaxes(
        title={"text": f"RAM (× top-{p.top_n} of size class)"},
        type="log" if log_y else "linear",
        rangemode="normal" if log_y else "tozero",
    )
    if log_y:
        cs.decade_ticks(fig)
    return fig


def _fans(
    fig: go.Figure, data: ChartData, order: Sequence[str], table: pd.DataFrame, scores: pd.DataFrame
) -> float:
    """Each drawn model's forecast after its last scored day: a band from p10 to p90 and a
    dotted p50, starting at its last RAM.  Returns the last day drawn (0: no fan)."""
    if data.forecaster is None or not order:
        return 0.0
    fc = data.forecaster(list(order))
    fc = fc[fc["ram_p50"].notna()]
    last = 0.0
    for m in order:
        rows = fc[fc["model_id"] == m].sort_values("horizon")
        seen = scores[scores["model_id"] == m].sort_values("day")
        if rows.empty or seen.empty:
            continue
        day0, ram0 = float(seen["day"].iloc[-1]), float(seen["ram"].iloc[-1])
        x = np.r_[day0, rows["horizon"].to_numpy(dtype=float)]
        lo, mid, hi = (np.r_[ram0, rows[c].to_numpy()] for c in ("ram_p10", "ram_p50", "ram_p90"))
        color = cs.org_color(_cell(table, m, "org"))
        group = f"fan-{m}"
        fig.add_trace(
            go.Scatter(
                x=np.r_[x, x[::-1]], y=np.r_[hi, lo[::-1]], fill="toself", mode="lines",
                line={"width": 0, "color": color}, fillcolor=cs.translucent(color, 0.16),
                legendgroup=group, showlegend=False, hoverinfo="skip",
                name=f"{cs.label(m)} forecast p10-p90",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x, y=mid, mode="lines", legendgroup=group, showlegend=False,
                name=f"{cs.label(m)} forecast p50", customdata=np.c_[lo, hi],
                line={"color": color, "width": 1.6, "dash": "dot"},
                hovertemplate="%{fullData.name}<br>day %{x}: RAM %{y:.2f} "
                "(p10 %{customdata[0]:.2f}, p90 %{customdata[1]:.2f})<extra></extra>",
            )
        )  # fmt: skip
        last = max(last, float(x[-1]))
    return last


def _ram_note(data: ChartData) -> str:
    p = data.result.params
    what = "cutoff" if p.method == "cutoff" else "median"
    return f"cumulative downloads ÷ top-{p.top_n} {what} of the model's size class"


def cumulative(
    data: ChartData,
    models: Sequence[str] | None = None,
    *,
    size_class: str | None = None,
    log_y: bool = False,
    n: int = 3,
) -> go.Figure:
    """Cumulative downloads vs days since release for one size class, with its baselines.

    The class's top-N models (by downloads) are faint, chosen ones bold.  CLI options: --model,
    --size-class (default: the first chosen or newest model's class), --log-y.
    """
    table = data.table()
    if size_class is None:
        first = list(models or []) or cd.recent_models(data.result.latest(), table, 1)
        if not first:
            raise BadInput("no scored models yet, so there is no size class to draw")
        size_class = _cell(table, cd.check_models(table, first)[0], "size_class")
    chosen, table = _pick(data, models, size_class, n)
    curves = data.result.curves
    row = {m: i for i, m in enumerate(curves.model_ids)}
    last = pd.Series(data.last_values(), index=pd.Index(curves.model_ids))
    pool = table.index[table["tracked"] & (table["size_class"] == size_class)]
    top_n = data.result.params.top_n
    ranked = last.reindex(pool).dropna().sort_values(ascending=False, kind="stable")
    top = [m for m in ranked.index[:top_n] if m not in chosen]
    fig = go.Figure()
    max_x = 0
    for m, bold in [*((m, False) for m in top), *((m, True) for m in chosen)]:
        if m not in row:
            continue
        y = curves.values[row[m]]
        defined = np.nonzero(~np.isnan(y))[0]
        if not len(defined):
            continue
        end = int(defined[-1]) + 1
        max_x = max(max_x, end - 1)
        fig.add_trace(
            go.Scatter(
                x=np.arange(end),
                y=y[:end],
                mode="lines",
                name=cs.label(m),
                opacity=1.0 if bold else 0.35,
                line={"color": cs.org_color(_cell(table, m, "org")), "width": 3 if bold else 1.2},
                legendgroup="chosen" if bold else "top",
                legendrank=2 if bold else 1000,  # after the baselines, before the top 10
                legendgrouptitle={"text": "Chosen" if bold else f"Top {top_n} by downloads"},
                hovertemplate="%{fullData.name}<br>day %{x}: %{y:,.0f}<extra></extra>",
            )
        )
    method = data.result.params.method
    floor = data.result.params.pool_floor
    baselines = [(method, data.result.baselines, "dash")]
    if data.median_baselines is not None and method != "median":
        baselines.append(("median", data.median_baselines, "longdash"))
    for what, frame, dash in baselines:
        b = frame[frame["size_class"] == size_class].sort_values("day")
        if b.empty:
            continue
        max_x = max(max_x, int(b["day"].max()))
        for trace in _baseline_traces(b, what, dash, top_n, floor):
            fig.add_trace(trace)
    title = f"Cumulative downloads since release: {size_class} models"
    # Tall enough for the legend (baselines, chosen, the top 10, three group titles): a static
    # image clips what does not fit.
    shown = sum(1 for t in fig.data if t.showlegend is not False)
    height = max(cs.HEIGHT, 250 + 21 * shown + 3 * 32)
    _look(fig, data, title, f"baselines over tracked {size_class} models", height)
    cs.day_axis(fig, data.result.params.milestones, max_x)
    cs.count_axis(fig, "Cumulative downloads", log_y)
    return fig


def _baseline_traces(
    b: pd.DataFrame, what: str, dash: str, top_n: int, floor: int
) -> list[go.Scatter]:
    """A baseline as a line, its thin stretches (fewer than ``floor`` pool curves, RAM_SPEC
    §3) dotted and fainter, each named so in the legend."""
    day, value = b["day"].to_numpy(), b["baseline"].to_numpy(dtype=float)
    n = b["n_models"].to_numpy() if "n_models" in b.columns else np.full(len(b), floor)
    thin = n < floor
    # Days beside a change of support belong to both traces, so the line stays unbroken; a day
    # missing in between (an undefined baseline) breaks both.
    gap = np.r_[False, np.diff(day) > 1]
    edge = np.zeros(len(b), dtype=bool)
    change = np.nonzero((thin[1:] != thin[:-1]) & ~gap[1:])[0]
    edge[change] = edge[change + 1] = True
    out = []
    for is_thin in (False, True):
        keep = (thin == is_thin) | edge
        if not keep.any() or (is_thin and not thin.any()):
            continue
        y = np.where(keep, value, np.nan)
        x, y = _break_gaps(day, y)
        lone = _isolated(y)  # a line needs two points: a lone defined day is drawn as a dot
        suffix = f" (thin: under {floor} curves)" if is_thin else ""
        hover = f"top-{top_n} {what}{suffix}<br>day %{{x}}: %{{y:,.0f}}<extra></extra>"
        out.append(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers" if lone.any() else "lines",
                marker={"size": np.where(lone, 7, 0).tolist(), "color": cs.NEUTRAL},
                name=f"Top-{top_n} {what}{suffix}",
                line={
                    "color": cs.NEUTRAL,
                    "width": 1.6 if is_thin else 2.5,
                    # thin: dotted (the median, when drawn beside the cutoff, dash-dotted)
                    "dash": ("dot" if dash == "dash" else "dashdot") if is_thin else dash,
                },
                opacity=0.6 if is_thin else 1.0,
                legendgroup="baseline",
                legendgrouptitle={"text": "Baselines"},
                legendrank=1,  # first: a tall legend clips at the bottom in a static image
                hovertemplate=hover,
            )
        )
    return out


def log_cap(z: np.ndarray) -> float:
    """Half-width, in decades, of a colour scale centred on RAM 1 (log10 0) that holds every
    value of ``z`` (log10 RAM): 1 to 3 decades."""
    finite = np.abs(z[np.isfinite(z)]) if np.size(z) else np.zeros(0)
    return float(min(3, max(1, np.ceil(finite.max())))) if finite.size else 1.0


def _isolated(y: np.ndarray) -> np.ndarray:
    """Finite values with no finite neighbour: points a line alone would not draw."""
    ok = np.isfinite(y)
    before = np.r_[False, ok[:-1]]
    after = np.r_[ok[1:], False]
    return ok & ~before & ~after


def _break_gaps(day: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN where days jump, so a line never bridges an undefined stretch."""
    jump = np.nonzero(np.diff(day) > 1)[0] + 1
    return (
        np.insert(day.astype(float), jump, np.nan),
        np.insert(y, jump, np.nan),
    )


def milestones(
    data: ChartData,
    models: Sequence[str] | None = None,
    *,
    size_class: str | None = None,
    n: int = 20,
) -> go.Figure:
    """RAM at each milestone day for recent models as a colour-coded table.

    CLI options: --model, --size-class.  Default rows: the n newest tracked models scored at
    the first milestone.
    """
    days = list(data.result.params.milestones)
    if models:
        chosen, table = _pick(data, models, size_class, n)
    else:
        table = data.table()
        if size_class is not None:
            cd.check_size_class(table, size_class)
        latest = data.result.latest()
        chosen = cd.recent_models(latest, table, n, min_day=days[0], size_class=size_class)
    matrix = cd.milestone_matrix(data.result.scores(days), chosen, days)
    ram = matrix.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.clip(ram, 1e-3, None))
    text = [[cs.fmt_ram(v) for v in r] for r in ram]
    rows = [f"{cs.label(m)} · {_cell(table, m, 'size_class')}" for m in chosen]
    # Symmetric in log10 around RAM 1, wide enough for the largest value (up to 1,000): a
    # scale capped at 10 painted RAM 40 and RAM 12 alike.
    cap = log_cap(z)
    ticks = [10.0**k for k in range(-int(cap), int(cap) + 1)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"day {d}" for d in days],
            y=rows,
            text=text,
            customdata=ram,
            texttemplate="%{text}",
            hovertemplate="%{y}<br>%{x}: RAM %{customdata:.3f}<extra></extra>",
            colorscale="RdBu",
            zmid=0,
            zmin=-cap,
            zmax=cap,
            xgap=2,
            ygap=2,
            colorbar={
                "title": {"text": "RAM"},
                "tickvals": np.log10(ticks).tolist(),
                "ticktext": [f"{t:g}" for t in ticks],
            },
        )
    )
    height = max(420, 190 + 30 * len(chosen))
    _look(fig, data, "RAM at milestones, recent releases", "blue ≥ 1 is top-10 pace", height)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(side="top", showgrid=False, title=None)
    fig.update_layout(margin={"t": 170})
    return fig


def _group_style(by: str, group: str) -> tuple[str, str]:
    if by == "region":
        return cs.REGION_NAMES.get(group, group), cs.REGION_COLORS.get(group, cs.OTHER_COLOR)
    return cs.label(group), cs.org_color(group)


_SUM_NOTE = "tracked models, last known count carried over gaps"


def _calendar_figure(data: ChartData, by: str, log_y: bool, keep: int) -> go.Figure:
    frame = _calendar(data, by, keep)
    fig = go.Figure()
    final = frame.sort_values("date", kind="stable").groupby("group")["cumulative_downloads"]
    for g in cd.legend_order(by, final.last()):
        rows = frame[frame["group"] == g].sort_values("date")
        name, color = _group_style(by, g)
        fig.add_trace(
            go.Scatter(
                x=rows["date"].to_numpy(),
                y=rows["cumulative_downloads"].to_numpy(),
                mode="lines",
                name=name,
                line={"color": color, "width": 2.4},
                hovertemplate="%{fullData.name}<br>%{x|%Y-%m-%d}: %{y:,.0f}<extra></extra>",
            )
        )
    who = "region" if by == "region" else "organisation"
    _look(fig, data, f"Cumulative downloads by {who}", _SUM_NOTE)
    cs.count_axis(fig, "Cumulative downloads", log_y)
    fig.update_xaxes(title={"text": "Date"})
    return fig


def calendar_region(data: ChartData, *, log_y: bool = False) -> go.Figure:
    """Cumulative downloads over calendar time per region.  CLI options: --log-y."""
    return _calendar_figure(data, "region", log_y, keep=0)


def calendar_org(data: ChartData, *, log_y: bool = False, orgs: int = 10) -> go.Figure:
    """Cumulative downloads over time per org (top ``orgs`` + rest).  CLI options: --log-y."""
    return _calendar_figure(data, "org", log_y, keep=orgs)


def _monthly_figure(data: ChartData, by: str, keep: int) -> go.Figure:
    flows = cd.monthly_downloads(_calendar(data, by, keep), data.as_of)
    fig = go.Figure()
    for g in cd.legend_order(by, flows.groupby("group")["downloads"].sum()):
        rows = flows[flows["group"] == g].sort_values("month")
        name, color = _group_style(by, g)
        fig.add_trace(
            go.Bar(
                x=rows["month"].to_numpy(),
                y=rows["downloads"].to_numpy(),
                name=name,
                marker={"color": color, "opacity": np.where(rows["partial"], 0.5, 1.0)},
                hovertemplate="%{fullData.name}<br>%{x|%b %Y}: %{y:,.0f}<extra></extra>",
            )
        )
    who = "region" if by == "region" else "organisation"
    note = _SUM_NOTE
    if flows["partial"].any():
        note += "; faded: month still in progress"
    _look(fig, data, f"Monthly downloads by {who}", note)
    fig.update_layout(barmode="stack", bargap=0.15)
    cs.count_axis(fig, "Downloads per month", False)
    fig.update_xaxes(title={"text": "Month"}, dtick="M1", tickformat="%b %Y")
    return fig


def monthly_region(data: ChartData) -> go.Figure:
    """Downloads per calendar month, stacked by region.  CLI options: none."""
    return _monthly_figure(data, "region", keep=0)


def monthly_org(data: ChartData, *, orgs: int = 10) -> go.Figure:
    """Downloads per calendar month, stacked by org (top ``orgs`` + rest).  CLI options: none."""
    return _monthly_figure(data, "org", keep=orgs)


def size_mix(data: ChartData, *, orgs: int = 12) -> go.Figure:
    """Share of each org's downloads by size class (100% bars).  CLI options: none."""
    table = data.table()
    curves = data.result.curves
    mix = cd.size_mix(list(curves.model_ids), data.last_values(), table, keep=orgs)
    org_order = list(dict.fromkeys(mix["org"]))
    totals = mix.groupby("org")["downloads"].sum()
    ylabels = {o: f"{cs.label(o)} · {cs.fmt_count(totals[o])}" for o in org_order}
    classes = [c for c in cd.size_class_order(table) if c in set(mix["size_class"])]
    colors = cs.size_colors(cd.size_class_order(table))
    fig = go.Figure()
    for c in classes:
        rows = mix[mix["size_class"] == c]
        fig.add_trace(
            go.Bar(
                x=(rows["share"] * 100).to_numpy(),
                y=[ylabels[o] for o in rows["org"]],
                customdata=rows["downloads"].to_numpy(),
                orientation="h",
                name=cs.label(c),
                marker={"color": colors[c]},
                hovertemplate="%{y}<br>"
                + cs.label(c)
                + ": %{x:.1f}% (%{customdata:,.0f} downloads)<extra></extra>",
            )
        )
    height = max(360, 170 + 34 * len(org_order))
    _look(fig, data, "Downloads by size class, per organisation", "tracked models", height)
    fig.update_layout(
        barmode="stack", legend={"title": {"text": "Size class"}, "traceorder": "normal"}
    )
    fig.update_xaxes(title={"text": "Share of the org's downloads (%)"}, range=[0, 100])
    fig.update_yaxes(
        categoryorder="array", categoryarray=[ylabels[o] for o in org_order], autorange="reversed"
    )
    return fig


def derivative_share(data: ChartData, *, by: str = "org") -> go.Figure:
    """Each month's new derivatives (fine-tunes, adapters, quantizations, merges) of tracked
    models, as shares by base org or region (100% bars), the ATOM Report's second adoption
    signal.  CLI options: --by org|region."""
    if by not in ("org", "region"):
        raise BadInput(f"--by {by!r} for derivative-share: use org or region")
    frame = None if data.derivative_shares is None else data.derivative_shares.get(by)
    fig = go.Figure()
    who = "region" if by == "region" else "organisation"
    if frame is None or frame.empty:
        fig.add_annotation(
            text="No derivative counts yet: ram snapshot collects them, ram derivatives "
            "--rebuild lists them, ram import derivatives reads a file",
            xref="paper", yref="paper", x=0, y=0.5, showarrow=False, xanchor="left",
        )  # fmt: skip
        _look(fig, data, f"Share of new derivatives by base {who}", "no data")
        return fig
    months = sorted(frame["month"].unique())
    totals = frame.groupby("group")["new"].sum()
    for g in cd.legend_order(by, totals):
        rows = frame[frame["group"] == g].set_index("month").reindex(months)
        name, color = _group_style(by, g)
        fig.add_trace(
            go.Bar(
                x=[str(m) for m in months],
                y=(rows["share"].fillna(0) * 100).to_numpy(),
                customdata=rows["new"].fillna(0).to_numpy(),
                name=name,
                marker={"color": color},
                hovertemplate="%{fullData.name}<br>%{x}: %{y:.1f}% "
                "(%{customdata:,.0f} new)<extra></extra>",
            )
        )
    total = frame.groupby("month")["new"].sum()
    note = f"derivatives of tracked models, {int(total.sum()):,} new in {len(months)} months"
    title = f"Share of new derivatives by base {who}"
    cs.style(fig, title, note, data.as_of, data.derivative_source)
    fig.update_layout(barmode="stack", bargap=0.15)
    fig.update_yaxes(title={"text": "Share of the month's new derivatives (%)"}, range=[0, 100])
    fig.update_xaxes(title={"text": "Month"}, type="category")
    return fig


_BUILDERS: tuple[Callable[..., go.Figure], ...] = (
    ram_curves, cumulative, milestones, calendar_region, calendar_org, monthly_region,
    monthly_org, size_mix, derivative_share,
)  # fmt: skip
KINDS: dict[str, Callable[..., go.Figure]] = dict(zip(KIND_NAMES, _BUILDERS, strict=True))
_FLAGS = {"models": "--model", "size_class": "--size-class", "log_y": "--log-y", "by": "--by"}


def build_figure(
    kind: str,
    data: ChartData,
    *,
    models: Sequence[str] | None = None,
    size_class: str | None = None,
    log_y: bool = False,
    by: str | None = None,
) -> go.Figure:
    """The figure of ``kind`` with the CLI's options; BadInput for an unknown kind or option."""
    if kind not in KINDS:
        raise BadInput(f"unknown chart kind {kind!r}; choose one of: {', '.join(KINDS)}")
    builder = KINDS[kind]
    accepted = inspect.signature(builder).parameters
    given: dict[str, Any] = {"models": list(models or []), "size_class": size_class}
    given["log_y"] = log_y
    given["by"] = by
    options = {k: v for k, v in given.items() if v}
    for name in options:
        if name not in accepted:
            raise BadInput(f"{_FLAGS[name]} does not apply to chart {kind!r}")
    return builder(data, **options)
