"""Chart data preparation and figures, checked as data (traces, points, axes), plus export."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ram.charts import data as cd
from ram.charts import export, figures
from ram.charts import style as cs
from ram.errors import BadInput, ExportError, UnknownModel, UnknownSizeClass
from ram.metric import formula
from tests.plot_fixtures import SOURCE, chart_data, frames

NAN = np.nan
needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("google-chrome") is None,
    reason="no Chromium on PATH (apt-get install chromium) for PNG/SVG export",
)


@pytest.fixture(scope="module")
def data() -> figures.ChartData:
    return chart_data()


def trace(fig: go.Figure, name: str) -> go.BaseTraceType:
    hits = [t for t in fig.data if t.name == name]
    assert len(hits) == 1, [t.name for t in fig.data]
    return hits[0]


def y_at(tr: go.BaseTraceType, x: object) -> float:
    xs = list(tr.x)
    return float(tr.y[xs.index(x)])


# -- pure data preparation -------------------------------------------------------------------


def test_forward_filled_carries_last_value_and_keeps_leading_nan() -> None:
    values = np.array([[NAN, 1, NAN, NAN, 5, NAN], [0, NAN, 2, NAN, NAN, NAN]])
    out = cd.forward_filled(values)
    np.testing.assert_array_equal(out[0], [NAN, 1, 1, 1, 5, 5])
    np.testing.assert_array_equal(out[1], [0, 0, 2, 2, 2, 2])
    np.testing.assert_array_equal(cd.last_values(values), [5, 2])


def test_calendar_totals_shift_by_release_and_sum_groups() -> None:
    values = np.array([[0, 10, 20, 30], [0, 5, NAN, 15], [NAN, NAN, NAN, NAN]])
    release = [dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 1, 1)]
    out = cd.calendar_totals(values, release, ["x", "x", "y"], dt.date(2025, 1, 6))
    wide = out.pivot(index="date", columns="group", values="cumulative_downloads")
    # Starts on the first day with downloads; the all-NaN model adds no group at all.
    assert list(wide.columns) == ["x"]
    assert wide.index[0] == pd.Timestamp("2025-01-02")
    # Jan 2: 10 + 0; Jan 3: 20 + 5; Jan 4: 30 + 5 (gap carried); Jan 5..6: past max_day, carried.
    assert wide["x"].tolist() == [10, 25, 35, 45, 45]


def test_calendar_totals_stop_at_as_of_and_skip_later_releases() -> None:
    values = np.array([[0, 1, 2, 3], [0, 100, 200, 300]])
    release = [dt.date(2025, 1, 1), dt.date(2025, 1, 10)]
    out = cd.calendar_totals(values, release, ["a", "b"], dt.date(2025, 1, 3))
    assert out["group"].unique().tolist() == ["a"]
    assert out["date"].max() == pd.Timestamp("2025-01-03")
    assert out["cumulative_downloads"].tolist() == [1, 2]


def test_monthly_downloads_are_month_end_differences() -> None:
    dates = pd.date_range("2025-01-30", "2025-03-02")
    totals = pd.DataFrame(
        {"date": dates, "group": "g", "cumulative_downloads": np.arange(len(dates)) * 10.0 + 10}
    )
    out = cd.monthly_downloads(totals, dt.date(2025, 3, 2))
    assert out["month"].tolist() == [pd.Timestamp(f"2025-0{m}-01") for m in (1, 2, 3)]
    # Jan 31 = 20 (first month from zero), Feb 28 = 300, Mar 2 = 320.
    assert out["downloads"].tolist() == [20, 280, 20]
    assert out["partial"].tolist() == [False, False, True]


def test_collapse_groups_keeps_largest_and_sums_the_rest() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-01"] * 3 + ["2025-01-02"] * 3),
            "group": ["a", "b", "c"] * 2,
            "cumulative_downloads": [1.0, 2, 3, 10, 20, 5],
        }
    )
    out = cd.collapse_groups(frame, 1, "cumulative_downloads")
    got = {(str(r.date)[:10], r.group): r.cumulative_downloads for r in out.itertuples()}
    assert got == {
        ("2025-01-01", "b"): 2,
        ("2025-01-01", cd.OTHER_ORGS): 4,
        ("2025-01-02", "b"): 20,
        ("2025-01-02", cd.OTHER_ORGS): 15,
    }


def test_model_table_fills_unknowns_and_orders_size_classes(data: figures.ChartData) -> None:
    table = data.table()
    assert table.at["orgE/e-6B", "region"] == "unknown"
    assert table.at["orgB/mystery", "size_class"] == "unknown"
    assert not table.at["fan/f-3B", "tracked"]
    assert cd.size_class_order(table) == ["1-5B", "5-10B", "unknown"]
    bare = cd.model_table(pd.DataFrame({"model_id": ["x/y"], "release_date": ["2025-01-01"]}))
    assert list(bare.loc["x/y", ["org", "region", "size_class"]]) == ["x", "unknown", "unknown"]


def test_recent_models_newest_tracked_first(data: figures.ChartData) -> None:
    latest, table = data.result.latest(), data.table()
    assert cd.recent_models(latest, table, 3) == ["orgE/e-6B", "orgD/d-8B", "orgC/c-4B"]
    # e-6B's last scored day is 60, so it drops out at 61; the untracked fan never appears.
    assert cd.recent_models(latest, table, 2, min_day=61) == ["orgD/d-8B", "orgC/c-4B"]
    assert cd.recent_models(latest, table, 9, size_class="1-5B") == [
        "orgC/c-4B", "orgB/b-2B", "orgA/a-3B",
    ]  # fmt: skip
    with pytest.raises(BadInput):
        cd.recent_models(latest, table, 0)


def test_size_mix_shares_per_org(data: figures.ChartData) -> None:
    curves = data.result.curves
    mix = cd.size_mix(list(curves.model_ids), cd.last_values(curves.values), data.table())
    rows = {(r.org, r.size_class): (r.downloads, r.share) for r in mix.itertuples()}
    assert rows[("orgA", "1-5B")] == (180_000, 180_000 / 512_000)
    assert rows[("orgA", "5-10B")] == (332_000, 332_000 / 512_000)
    assert rows[("orgB", "unknown")] == (1_490, 1_490 / 75_990)
    assert "fan" not in set(mix["org"])
    assert list(dict.fromkeys(mix["org"])) == ["orgA", "orgB", "orgD", "orgC", "orgE"]
    top2 = cd.size_mix(list(curves.model_ids), cd.last_values(curves.values), data.table(), 2)
    assert list(dict.fromkeys(top2["org"])) == ["orgA", "orgB", cd.OTHER_ORGS]
    assert top2.loc[top2["org"] == cd.OTHER_ORGS, "downloads"].sum() == 27_000 + 12_100 + 3_000


# -- the look --------------------------------------------------------------------------------


def test_org_colours_are_fixed_or_stable_hashes() -> None:
    assert cs.org_color("Qwen") == cs.org_color("qwen") == "#8b5cf6"
    assert cs.org_color(cd.OTHER_ORGS) == cs.OTHER_COLOR
    assert cs.org_color("orgA") == "#818cf8"  # sha256-based: same in every process
    assert cs.org_color("orgD") in cs.PALETTE


def test_labels_and_counts_format() -> None:
    assert cs.label("a/<b>&c") == "a/&lt;b&gt;&amp;c"
    assert [cs.fmt_count(x) for x in (950, 12_345, 4_500_000, 1.2e9, NAN)] == [
        "950", "12.3k", "4.5M", "1.2B", "n/a",
    ]  # fmt: skip


# -- figures ---------------------------------------------------------------------------------


def test_ram_curves_default_models_values_and_line_at_one(data: figures.ChartData) -> None:
    fig = figures.ram_curves(data)
    # Sorted by latest RAM, best first; ties by id.  Untracked fan/f-3B is not a default.
    assert [t.name for t in fig.data] == [
        "orgA/a-7B", "orgA/a-3B", "orgB/b-2B", "orgD/d-8B", "orgC/c-4B", "orgE/e-6B",
    ]  # fmt: skip
    assert y_at(trace(fig, "orgA/a-7B"), 30) == pytest.approx(20 / 3)
    assert y_at(trace(fig, "orgA/a-3B"), 149) == pytest.approx(2.0)
    assert y_at(trace(fig, "orgC/c-4B"), 7) == pytest.approx(0.2)
    assert list(trace(fig, "orgE/e-6B").x) == [*range(1, 11), 40, 60]
    assert trace(fig, "orgA/a-3B").line.color == trace(fig, "orgA/a-7B").line.color
    assert trace(fig, "orgA/a-3B").line.dash != trace(fig, "orgA/a-7B").line.dash
    (line,) = fig.layout.shapes
    assert (line.y0, line.y1, line.yref) == (1, 1, "y")
    assert fig.layout.yaxis.type == "linear"
    # The milestones, then every 30 days while the data runs on (to day 149 here; issue 14:
    # the axis stopped at 90).
    assert list(fig.layout.xaxis.tickvals) == [0, 7, 14, 30, 60, 90, 120]
    assert "as of 2025-06-30" in fig.layout.title.subtitle.text.lower()
    assert SOURCE in fig.layout.title.subtitle.text


@pytest.mark.parametrize("kind", sorted(figures.KINDS))
def test_every_chart_carries_the_credit_line(data: figures.ChartData, kind: str) -> None:
    fig = figures.KINDS[kind](data)
    sub = fig.layout.title.subtitle.text
    assert "Data: synthetic test panel" in sub
    assert "Method: Relative Adoption Metric, The ATOM Project" in sub


def test_the_data_line_names_sources_in_words() -> None:
    assert cs.readable_source(
        "Hugging Face download counts (panel:hf_downloads_30d_2024H2, archive:hub-stats, hub)"
    ) == (
        "Data: Hugging Face Hub download counts (imported panel hf_downloads_30d_2024H2, "
        "archive hub-stats, live snapshots)"
    )


def test_log_axes_tick_inside_decades_unless_they_span_many(data: figures.ChartData) -> None:
    """Issue 14: a log axis over two decades showed 1 and 10 only."""
    short = go.Figure(go.Scatter(x=[1, 2], y=[0.8, 60]))
    cs.count_axis(short, "downloads", log_y=True)
    assert short.layout.yaxis.dtick == "D2"
    wide = go.Figure(go.Scatter(x=[1, 2], y=[0.01, 5000]))
    cs.count_axis(wide, "downloads", log_y=True)
    assert wide.layout.yaxis.dtick == 1


def test_day_axis_ticks_past_the_last_milestone() -> None:
    fig = go.Figure()
    cs.day_axis(fig, (7, 14, 30, 60, 90, 180, 365), 155)
    assert list(fig.layout.xaxis.tickvals) == [0, 7, 14, 30, 60, 90, 120, 150]
    long = go.Figure()
    cs.day_axis(long, (7, 30), 700)
    assert list(long.layout.xaxis.tickvals) == [0, 7, 30, *range(90, 701, 90)]
    gap = go.Figure()
    cs.day_axis(gap, (7, 14, 30, 60, 90, 180, 365), 250)
    assert list(gap.layout.xaxis.tickvals) == [0, 7, 14, 30, 60, 90, 120, 150, 180, 210, 240]


def test_a_baseline_defined_on_one_day_is_drawn_as_a_dot() -> None:
    """Issue 14: a line needs two points; the legend named a baseline the chart did not draw."""
    b = pd.DataFrame({"day": [5, 9, 10], "baseline": [100.0, 200.0, 210.0], "n_models": 25})
    (tr,) = figures._baseline_traces(b, "cutoff", "dash", 10, 20)
    assert tr.mode == "lines+markers"
    sizes = dict(zip(tr.x, tr.marker.size, strict=True))
    assert sizes[5] > 0 and sizes[9] == 0 and sizes[10] == 0


def test_the_heatmap_scale_reaches_the_largest_ram(data: figures.ChartData) -> None:
    """Issue 14: the colour scale stopped at 10, painting RAM 12 and RAM 400 alike."""
    (hm,) = figures.milestones(data).data
    assert (hm.zmin, hm.zmax) == (-1.0, 1.0)  # this panel's RAMs lie within 0.1 .. 10
    assert list(hm.colorbar.ticktext) == ["0.1", "1", "10"]
    assert figures.log_cap(np.log10(np.array([[400.0, 2.0], [np.nan, 0.5]]))) == 3.0
    assert figures.log_cap(np.log10(np.array([[40.0, 0.2]]))) == 2.0
    assert figures.log_cap(np.log10(np.array([[1e6]]))) == 3.0  # at most 1,000
    assert figures.log_cap(np.full((1, 2), np.nan)) == 1.0


def test_ram_curves_chosen_models_and_log_axis(data: figures.ChartData) -> None:
    fig = figures.ram_curves(data, ["orgB/b-2B", "orgB/mystery"], log_y=True)
    assert [t.name for t in fig.data] == ["orgB/b-2B"]
    assert fig.layout.yaxis.type == "log"
    notes = [a.text for a in fig.layout.annotations]
    assert "No RAM yet: orgB/mystery" in notes
    assert [a.y for a in fig.layout.annotations if "pace" in a.text] == [0]  # log10(1)
    with pytest.raises(UnknownModel):
        figures.ram_curves(data, ["nobody/nothing"])
    with pytest.raises(BadInput, match="in size class 1-5B, not 5-10B"):
        figures.ram_curves(data, ["orgB/b-2B"], size_class="5-10B")
    with pytest.raises(UnknownSizeClass):
        figures.ram_curves(data, size_class="3B")
    small = figures.ram_curves(data, size_class="1-5B")
    assert {t.name for t in small.data} == {"orgA/a-3B", "orgB/b-2B", "orgC/c-4B"}


def test_charts_of_a_store_with_nothing_scored() -> None:
    obs, models = frames()
    keep = models["model_id"] == "orgA/a-3B"  # alone in its class: no top-2, no baseline
    one = models[keep].assign(in_pool=True)
    result = formula.compute(obs[obs["model_id"] == "orgA/a-3B"], one, formula.RamParams(top_n=2))
    data = figures.ChartData.from_result(result, models[keep], SOURCE)
    fig = figures.ram_curves(data)
    assert list(fig.data) == []
    assert [a.text for a in fig.layout.annotations][-1] == "No RAM yet: no tracked model is scored"
    with pytest.raises(BadInput, match="no scored models yet"):
        figures.cumulative(data)
    assert trace(figures.calendar_region(data), "China").y[-1] == 180_000


def test_cumulative_shows_class_top_faint_chosen_bold_and_baselines(
    data: figures.ChartData,
) -> None:
    fig = figures.cumulative(data, ["orgC/c-4B"])
    # The median of the top 2 rests on one curve where only one of them is defined: thin
    # (min_pool 2), drawn dash-dotted and named so; legend order: baselines, chosen, top 2.
    assert [t.name for t in fig.data] == [
        "orgA/a-3B", "orgB/b-2B", "orgC/c-4B", "Top-2 cutoff", "Top-2 median",
        "Top-2 median (thin: under 2 curves)",
    ]  # fmt: skip
    thin = trace(fig, "Top-2 median (thin: under 2 curves)")
    assert (thin.line.dash, trace(fig, "Top-2 median").line.dash) == ("dashdot", "longdash")
    assert [t.legendrank for t in fig.data] == [1000, 1000, 2, 1, 1, 1]
    faint, bold = trace(fig, "orgA/a-3B"), trace(fig, "orgC/c-4B")
    assert (faint.opacity, bold.opacity, bold.line.width) == (0.35, 1.0, 3)
    assert y_at(faint, 30) == 30_000
    assert list(bold.x)[-1] == 121 and y_at(bold, 121) == 12_100
    assert y_at(trace(fig, "Top-2 cutoff"), 30) == 15_000
    assert y_at(trace(fig, "Top-2 median"), 30) == 22_500  # median of a-3B and b-2B
    assert "1-5B" in fig.layout.title.text
    assert figures.cumulative(data, size_class="1-5B", log_y=True).layout.yaxis.type == "log"
    default = figures.cumulative(data)  # class of the newest model, e-6B: 5-10B
    assert [t.name for t in default.data][:3] == ["orgE/e-6B", "orgD/d-8B", "orgA/a-7B"]


def test_cumulative_under_the_median_method_draws_one_baseline() -> None:
    fig = figures.cumulative(chart_data(method="median"), ["orgC/c-4B"])
    names = [t.name for t in fig.data][-3:]
    assert names == ["orgC/c-4B", "Top-2 median", "Top-2 median (thin: under 2 curves)"]
    assert y_at(trace(fig, "Top-2 median"), 30) == 22_500
    assert trace(fig, "Top-2 median (thin: under 2 curves)").line.dash == "dot"


def test_milestones_heatmap_cells(data: figures.ChartData) -> None:
    fig = figures.milestones(data)
    (hm,) = fig.data
    assert list(hm.x) == [f"day {d}" for d in (7, 14, 30, 60, 90, 180, 365)]
    assert list(hm.y)[:2] == ["orgE/e-6B · 5-10B", "orgD/d-8B · 5-10B"]
    assert len(hm.y) == 6
    e_row, a_row = list(hm.text[0]), list(hm.text[5])
    assert e_row == ["0.17", "", "", "0.17", "", "", ""]
    assert a_row == ["2.00", "2.00", "2.00", "2.00", "2.00", "", ""]
    assert hm.customdata[4][2] == pytest.approx(20 / 3)  # a-7B at day 30
    assert hm.z[5][0] == pytest.approx(np.log10(2))
    picked = figures.milestones(data, ["orgC/c-4B"]).data[0]
    assert list(picked.y) == ["orgC/c-4B · 1-5B"]


def test_calendar_region_sums_tracked_models(data: figures.ChartData) -> None:
    fig = figures.calendar_region(data)
    assert [t.name for t in fig.data] == ["China", "US", "EU", "Other", "Unknown"]
    day = np.datetime64("2025-02-10", "ns")
    # a-3B day 40 + a-7B day 26; b-2B day 9 + mystery day 9 (the untracked fan is left out).
    assert y_at(trace(fig, "China"), day) == 40_000 + 52_000
    assert y_at(trace(fig, "US"), day) == 4_500 + 90
    # e-6B is unobserved on days 11..39: its day-10 count is carried (May 20 is day 19).
    assert y_at(trace(fig, "Unknown"), np.datetime64("2025-05-20", "ns")) == 500
    assert trace(fig, "China").x[0] == np.datetime64("2025-01-02", "ns")
    assert trace(fig, "China").line.color == cs.REGION_COLORS["china"]


def test_calendar_org_orders_by_final_total(data: figures.ChartData) -> None:
    fig = figures.calendar_org(data, orgs=2)
    assert [t.name for t in fig.data] == ["orgA", "orgB", cd.OTHER_ORGS]
    assert trace(fig, "orgA").y[-1] == 512_000
    assert trace(fig, cd.OTHER_ORGS).y[-1] == 27_000 + 12_100 + 3_000
    assert trace(fig, "orgA").line.color == cs.org_color("orgA")


def test_monthly_region_and_org_are_stacked_flows(data: figures.ChartData) -> None:
    fig = figures.monthly_region(data)
    assert fig.layout.barmode == "stack"
    china = trace(fig, "China")
    assert y_at(china, np.datetime64("2025-01-01", "ns")) == 30_000 + 32_000
    assert y_at(china, np.datetime64("2025-02-01", "ns")) == 58_000 - 30_000 + 88_000 - 32_000
    assert sum(china.y) == 512_000
    org = figures.monthly_org(data)
    assert [t.name for t in org.data] == ["orgA", "orgB", "orgD", "orgC", "orgE"]
    assert list(org.data[0].marker.opacity) == [1.0] * 6  # June ends on the as-of date


def test_size_mix_bars(data: figures.ChartData) -> None:
    fig = figures.size_mix(data)
    assert [t.name for t in fig.data] == ["1-5B", "5-10B", "unknown"]
    one_to_five = trace(fig, "1-5B")
    assert list(one_to_five.y)[:2] == ["orgA · 512k", "orgB · 76k"]
    assert one_to_five.x[0] == pytest.approx(100 * 180_000 / 512_000)
    assert fig.layout.barmode == "stack"


def test_kinds_registry_and_build_figure_options(data: figures.ChartData) -> None:
    assert list(figures.KINDS) == [
        "ram-curves", "cumulative", "milestones", "calendar-region", "calendar-org",
        "monthly-region", "monthly-org", "size-mix", "derivative-share",
    ]  # fmt: skip
    assert all(fn.__doc__ and "CLI options:" in fn.__doc__ for fn in figures.KINDS.values())
    fig = figures.build_figure("ram-curves", data, models=["orgC/c-4B"], log_y=True)
    assert [t.name for t in fig.data] == ["orgC/c-4B"] and fig.layout.yaxis.type == "log"
    with pytest.raises(BadInput, match="unknown chart kind"):
        figures.build_figure("pie", data)
    with pytest.raises(BadInput, match="--log-y does not apply to chart 'size-mix'"):
        figures.build_figure("size-mix", data, log_y=True)
    with pytest.raises(BadInput, match="--model does not apply"):
        figures.build_figure("monthly-org", data, models=["orgC/c-4B"])


# -- export ----------------------------------------------------------------------------------


def _script_sources(text: str) -> list[str]:
    return re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", text)


def test_html_export_is_offline_full_page_or_fragment(tmp_path: Path) -> None:
    fig = figures.calendar_region(chart_data())
    page = export.write_figure(fig, tmp_path / "c.html").read_text("utf-8")
    assert page.startswith("<!doctype html>") and "Plotly.newPlot" in page
    assert _script_sources(page) == [] and len(page) > 1_000_000  # plotly.js is inline
    frag = export.write_figure(fig, tmp_path / "f.html", embed=True, plotlyjs="none")
    text = frag.read_text("utf-8")
    assert "<html" not in text and "Plotly.newPlot" in text and len(text) < 100_000
    shared = export.write_figure(fig, tmp_path / "d.html", plotlyjs="directory")
    assert _script_sources(shared.read_text("utf-8")) == ["plotly.min.js"]
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000


def test_export_rejects_bad_formats(tmp_path: Path) -> None:
    fig = go.Figure()
    with pytest.raises(BadInput, match=r"use \.html, \.png or \.svg"):
        export.write_figure(fig, tmp_path / "c.pdf")
    with pytest.raises(BadInput, match="--embed"):
        export.write_figure(fig, tmp_path / "c.png", embed=True)
    with pytest.raises(BadInput, match="does not exist"):
        export.write_figure(fig, tmp_path / "no" / "c.html")
    with pytest.raises(BadInput, match="plotlyjs"):
        export.write_figure(fig, tmp_path / "c.html", plotlyjs="cdn")


def test_no_browser_is_a_one_line_export_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExportError, match="apt-get install chromium") as err:
        export.write_figure(go.Figure(), tmp_path / "c.png")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "c.png").exists()
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "missing-chrome"))
    with pytest.raises(ExportError, match="BROWSER_PATH="):
        export.find_browser()


@needs_browser
@pytest.mark.slow
def test_png_and_svg_render_through_chromium(tmp_path: Path, data: figures.ChartData) -> None:
    fig = figures.ram_curves(data)
    png, svg = export.write_images(
        [(fig, tmp_path / "ram.png"), (fig, tmp_path / "ram.svg")], scale=1
    )
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (export.WIDTH, cs.HEIGHT)
    # Opaque white, not transparent (issue 14: a transparent PNG vanishes on a dark page): the
    # top-left pixel of the first row, which every PNG filter stores as it is.
    assert _first_pixel(png.read_bytes())[:3] == (255, 255, 255)
    assert _first_pixel(png.read_bytes())[3:] in ((), (255,))
    text = svg.read_text("utf-8")
    assert text.startswith("<svg") and "orgA/a-7B" in text


def _first_pixel(data: bytes) -> tuple[int, ...]:
    """The top-left pixel of an 8-bit RGB or RGBA PNG (the first row's first pixel is stored
    unfiltered by every PNG filter type)."""
    import zlib

    at, idat, channels = 8, b"", 0
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            channels = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompressobj().decompress(idat, 1 + channels)
    return tuple(raw[1 : 1 + channels])


def test_chart_data_computes_its_table_calendars_and_last_values_once_and_hands_out_copies() -> (
    None
):

    data = chart_data()
    table = data.table()
    table["org"] = "edited"  # a chart's edit stays its own
    assert (data.table()["org"] != "edited").all()
    pd.testing.assert_frame_equal(data.table(), cd.model_table(data.models))
    curves = data.result.curves
    for by, keep in (("region", 0), ("org", 10), ("org", 1)):
        want = cd.calendar_by(curves.model_ids, curves.values, cd.model_table(data.models),
                              data.as_of, by, keep)  # fmt: skip
        pd.testing.assert_frame_equal(data.calendar(by, keep), want)
        assert data.calendar(by, keep) is not data.calendar(by, keep)
    last = data.last_values()
    np.testing.assert_array_equal(last, cd.last_values(curves.values))
    last[:] = -1.0
    assert not (data.last_values() == -1.0).any()
    data.models = data.models.assign(org="renamed")  # new inputs: computed again
    assert set(data.table()["org"]) == {"renamed"}
    assert "renamed" in set(data.calendar("org", 10)["group"])
