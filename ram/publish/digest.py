"""The week's digest as Markdown, ready to paste into a newsletter: new tracked releases, RAM
crossings, top-10 entries, the movers (most downloads gained) and data-quality flags."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urljoin

import numpy as np
import pandas as pd

from ram.api import Analysis
from ram.publish import tuples
from ram.publish.events import calendar_values

MOVERS = 10


def _md(text: object) -> str:
    """Text safe in a Markdown table cell or link text (no pipes, brackets or markup)."""
    out = str(text).replace("\\", "\\\\")
    for ch in "|[]*_`<>#":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def movers(an: Analysis, start: dt.date, limit: int = MOVERS) -> pd.DataFrame:
    """Tracked models by downloads gained from the day before ``start`` to the as-of date (a
    model released inside the window counts from zero), most first; with their latest RAM."""
    m = an.models
    have = set(an.result.curves.model_ids)
    tracked = m[m["tracked"].astype(bool) & m["release_date"].notna() & m["model_id"].isin(have)]
    if tracked.empty:
        return pd.DataFrame(columns=["model_id", "size_class", "gained", "total", "ram"])
    ids = np.array(sorted(tracked["model_id"]), dtype=object)
    before = start - dt.timedelta(days=1)
    values = calendar_values(an, ids, before)
    first, last = values[:, 0], values[:, -1]
    release = pd.to_datetime(tracked.set_index("model_id").loc[ids, "release_date"]).to_numpy()
    new = release >= np.datetime64(start)
    gained = np.where(new & np.isnan(first), last, last - first)
    latest = an.result.latest().set_index("model_id")["ram"]
    frame = pd.DataFrame(
        {
            "model_id": ids,
            "size_class": tracked.set_index("model_id").loc[ids, "size_class"].to_numpy(),
            "gained": gained,
            "total": last,
            "ram": [latest.get(i, np.nan) for i in ids],
        }
    )
    frame = frame[np.isfinite(frame["gained"]) & (frame["gained"] > 0)]
    return frame.sort_values(["gained", "model_id"], ascending=[False, True]).head(limit)


def _link(model_id: str, pages: dict[str, str], base: str) -> str:
    page = pages.get(model_id)
    return f"[{_md(model_id)}]({urljoin(base, page)})" if page else _md(model_id)


def digest(
    an: Analysis,
    events: pd.DataFrame,
    pages: dict[str, str],
    *,
    start: dt.date,
    title: str,
    site_url: str | None,
) -> str:
    """The digest of ``start`` .. the as-of date: sections with a line each, or a line saying
    there was nothing; the header says the window, the baseline and the source."""
    base = site_url.rstrip("/") + "/" if site_url else ""
    window = events[(events["event_date"] >= start) & (events["event_date"] <= an.as_of)]
    lines = [
        f"# {_md(title)}: {start.isoformat()} to {an.as_of.isoformat()}",
        "",
        f"As of {an.as_of} · baseline: {an.baseline_label} · source: {an.source} · method: "
        "Relative Adoption Metric (The ATOM Project); RAM 1 = on pace to be a top-"
        f"{an.top_n} model of its size class.",
        "",
    ]

    def section(heading: str, kind: str, empty: str) -> None:
        rows = window[window["kind"] == kind].sort_values(["event_date", "model_id"])
        lines.extend([f"## {heading}", ""])
        if rows.empty:
            lines.extend([empty, ""])
            return
        for r in tuples(rows):
            text = str(r.title).replace(str(r.model_id), _link(str(r.model_id), pages, base), 1)
            if text == r.title:
                text = _md(r.title)
            lines.append(f"- {r.event_date}: {text} ({_md(r.detail)})")
        lines.append("")

    section("New tracked releases", "new-release", "No new tracked release.")
    section("Crossed RAM 1", "ram-crossing", "No model crossed RAM 1 at a milestone.")
    top = f"top {an.top_n}"
    section(f"Entered a {top}", "top10-entry", f"No model entered a class's {top}.")
    moving = movers(an, start)
    lines.extend(["## Movers (downloads gained)", ""])
    if moving.empty:
        lines.extend(["No tracked model gained downloads in the window.", ""])
    else:
        lines.extend(["| model | size class | gained | all time | latest RAM |",
                      "|---|---|--:|--:|--:|"])  # fmt: skip
        for r in tuples(moving):
            ram = "" if pd.isna(r.ram) else f"{r.ram:,.2f}"
            lines.append(
                f"| {_link(str(r.model_id), pages, base)} | {_md(r.size_class)} | "
                f"{r.gained:,.0f} | {r.total:,.0f} | {ram} |"
            )
        lines.append("")
    section("Data-quality flags", "data-flag", "No data-quality flag was raised.")
    index, atom = urljoin(base, "index.html"), urljoin(base, "feed.xml")
    lines.append(f"Full leaderboard: {index} · feed: {atom}")
    return "\n".join(lines) + "\n"
