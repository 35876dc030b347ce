"""The shared look of the charts: colours per org, region and size class, labels, layout.

Transparent backgrounds and mid-grey text keep figures readable on light and dark pages; an
org's colour is fixed (big labs) or a hash of its name, so it is the same in every chart.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from datetime import date

import numpy as np
import plotly.graph_objects as go

from ram.charts.data import OTHER_ORGS
from ram.config import UNKNOWN

FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', Arial, sans-serif"
TEXT = "#7b7b7b"  # about 4.3:1 against both white and near-black pages
GRID = "rgba(128,128,128,0.22)"
NEUTRAL = "#8c8c8c"
OTHER_COLOR = "#a3a3a3"
# Fixed colours for the labs that dominate the charts, well apart in hue; every other org hashes
# into PALETTE, whose darker and lighter tones keep it apart from these.
ORG_COLORS = {
    "qwen": "#8b5cf6",
    "deepseek-ai": "#3b82f6",
    "meta-llama": "#06b6d4",
    "facebook": "#0e7490",
    "google": "#22c55e",
    "mistralai": "#f97316",
    "nvidia": "#84cc16",
    "microsoft": "#0d9488",
    "allenai": "#ec4899",
    "zai-org": "#ef4444",
    "thudm": "#ef4444",
    "huggingfacetb": "#eab308",
}
PALETTE = (
    "#b45309", "#be185d", "#4338ca", "#15803d", "#a21caf", "#c2410c", "#1d4ed8", "#b91c1c",
    "#0f766e", "#7e22ce", "#4d7c0f", "#0369a1", "#fb7185", "#fbbf24", "#a78bfa", "#2dd4bf",
    "#f472b6", "#818cf8", "#fdba74", "#86efac",
)  # fmt: skip
REGION_COLORS = {
    "china": "#ef4444",
    "us": "#3b82f6",
    "eu": "#eab308",
    "other": "#22c55e",
    "unknown": OTHER_COLOR,
}
REGION_NAMES = {"china": "China", "us": "US", "eu": "EU", "other": "Other", "unknown": "Unknown"}
SIZE_RAMP = ("#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
HEIGHT = 560


def org_color(org: str) -> str:
    """Stable colour of an org: a fixed one for the big labs, else a hash into the palette."""
    key = org.lower()
    if key in ORG_COLORS:
        return ORG_COLORS[key]
    if org == OTHER_ORGS:
        return OTHER_COLOR
    digest = hashlib.sha256(key.encode()).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def translucent(color: str, alpha: float) -> str:
    """A ``#rrggbb`` colour as ``rgba(...)`` with opacity ``alpha`` (forecast bands)."""
    value = color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def size_colors(classes: Sequence[str]) -> dict[str, str]:
    """A light-to-dark ramp over size classes (small to large), grey for 'unknown'."""
    known = [c for c in classes if c != UNKNOWN]
    picks = np.linspace(0, len(SIZE_RAMP) - 1, max(len(known), 1)).round().astype(int)
    out = {c: SIZE_RAMP[i] for c, i in zip(known, picks, strict=False)}
    return out | {UNKNOWN: OTHER_COLOR}


def dash_by_group(groups: Sequence[str]) -> list[str]:
    """Line dash per item: items of one org share its colour, so they differ by dash."""
    seen: dict[str, int] = {}
    out = []
    for g in groups:
        out.append(DASHES[seen.get(g, 0) % len(DASHES)])
        seen[g] = seen.get(g, 0) + 1
    return out


def label(text: str) -> str:
    """Text for Plotly's HTML-like labels, so a name with '<' or '&' shows literally."""
    return html.escape(str(text), quote=False)


def fmt_count(x: float) -> str:
    """Downloads in short form: 950, 12.3k, 4.5M, 1.2B."""
    if not np.isfinite(x):
        return "n/a"
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.0f}"


def fmt_ram(x: float) -> str:
    """RAM to about three significant digits without exponents; blank when unscored."""
    if not np.isfinite(x):
        return ""
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


CREDIT_METHOD = "Method: Relative Adoption Metric, The ATOM Project"
_SOURCE_KINDS = (("panel:", "imported panel "), ("archive:", "archive "))


def readable_source(source: str) -> str:
    """The data line of a chart: ``Hugging Face download counts (panel:x, hub)`` as
    ``Data: Hugging Face Hub download counts (imported panel x, live snapshots)``."""
    head, _, inner = source.partition(" (")
    names = [n.strip() for n in inner.rstrip(")").split(",") if n.strip()]
    shown = []
    for name in names:
        if name == "hub":
            shown.append("live snapshots")
            continue
        for prefix, words in _SOURCE_KINDS:
            if name.startswith(prefix):
                name = words + name[len(prefix) :]
                break
        shown.append(name)
    head = head.replace("Hugging Face download counts", "Hugging Face Hub download counts")
    return f"Data: {head}" + (f" ({', '.join(shown)})" if shown else "")


def style(
    fig: go.Figure, title: str, note: str, as_of: date, source: str, height: int = HEIGHT
) -> go.Figure:
    """The shared look: title with subtitle (note; as-of date and data; method: the credit
    line a chart pasted into a newsletter carries), transparent, grey text."""
    sub = "<br>".join(
        [
            label(note),
            label(f"As of {as_of.isoformat()} · {readable_source(source)}"),
            label(CREDIT_METHOD),
        ]
    )
    fig.update_layout(
        template="none",
        title={"text": label(title), "subtitle": {"text": sub}, "x": 0.01, "y": 0.97},
        font={"family": FONT, "color": TEXT, "size": 13},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        height=height,
        margin={"t": 138, "l": 70, "r": 30, "b": 60},
        hovermode="closest",
        legend={"bgcolor": "rgba(0,0,0,0)", "font": {"size": 12}},
    )
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID, "automargin": True}
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    return fig


def day_axis(fig: go.Figure, milestones: Sequence[int], max_x: float) -> None:
    """Days-since-release axis with the milestones as ticks."""
    ticks = [0, *[d for d in milestones if d <= max(max_x, 1)]]
    # Between and past the milestones, a tick every 30 days (90 over a long axis) where no
    # milestone is near: data to day 155 gets 120 and 150, and the stretch from 90 to 180 is
    # not left bare.
    step = 30 if max_x <= 400 else 90
    fill = [
        d for d in range(step, int(max_x) + 1, step) if min(abs(d - t) for t in ticks) >= step / 2
    ]
    ticks = sorted({*ticks, *fill})
    fig.update_xaxes(
        title={"text": "Days since release"},
        tickvals=ticks,
        range=[0, max(max_x, 1) * 1.02],
    )


def count_axis(fig: go.Figure, title: str, log_y: bool) -> None:
    """A downloads axis: 1.2M / 3.4B tick labels, from zero unless logarithmic."""
    fig.update_yaxes(
        title={"text": title},
        type="log" if log_y else "linear",
        exponentformat="B",
        rangemode="normal" if log_y else "tozero",
    )
    if log_y:
        decade_ticks(fig)


def decade_ticks(fig: go.Figure) -> None:
    """On a log y axis spanning over three decades, tick only powers of ten; on a shorter one
    1, 2 and 5 of each decade too (1 and 10 alone say little)."""
    ys = [np.asarray(t.y, dtype=float) for t in fig.data if getattr(t, "y", None) is not None]
    values = np.concatenate(ys) if ys else np.zeros(0)
    positive = values[np.isfinite(values) & (values > 0)]
    if not len(positive):
        return
    if np.log10(positive.max() / positive.min()) > 3:
        fig.update_yaxes(dtick=1)
    else:
        fig.update_yaxes(dtick="D2")  # up to three decades: 1, 2, 5, 10, 20, 50 (not 1 and 10)
