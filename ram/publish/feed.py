"""The events as an Atom 1.0 feed (RFC 4287): one entry per event, its id the event's stable
``urn:uuid``, so feed readers show each event once however often the site is rebuilt."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

import pandas as pd

from ram import __version__
from ram.publish import tuples
from ram.publish.events import KINDS, event_id

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(day: dt.date | dt.datetime) -> str:
    """An RFC 3339 date-time in UTC (RFC 4287 §3.3)."""
    if not isinstance(day, dt.datetime):
        day = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return day.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def atom_feed(
    events: pd.DataFrame,
    pages: dict[str, str],
    *,
    title: str,
    as_of: dt.date,
    site_url: str | None,
    source: str,
) -> bytes:
    """The feed document.  ``events`` has ``events.EVENT_COLUMNS`` (newest first) plus
    ``first_published``; ``pages`` maps model ids to their page (relative to the site root).
    Entry dates are the events' own dates, so a rebuild changes no entry."""
    ET.register_namespace("", ATOM)
    base = site_url.rstrip("/") + "/" if site_url else ""
    feed = ET.Element(f"{{{ATOM}}}feed")
    if base:
        feed.set("{http://www.w3.org/XML/1998/namespace}base", base)
    _sub(feed, "id", event_id("feed", base or "ram-tracker", title))
    _sub(feed, "title", title + ": adoption events")
    _sub(feed, "subtitle", f"RAM crossings, top-10 entries, new releases and data-quality flags; "
         f"as of {as_of.isoformat()}; source: {source}")  # fmt: skip
    newest = max([as_of, *events["event_date"]]) if len(events) else as_of
    _sub(feed, "updated", _stamp(newest))
    author = _sub(feed, "author")
    _sub(author, "name", "ram-tracker")
    _sub(feed, "link", rel="self", href=urljoin(base, "feed.xml"), type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=urljoin(base, "index.html"), type="text/html")
    _sub(feed, "generator", "ram-tracker", version=__version__)
    for r in tuples(events):
        entry = _sub(feed, "entry")
        _sub(entry, "id", str(r.event_id))
        _sub(entry, "title", str(r.title))
        _sub(entry, "updated", _stamp(r.event_date))
        _sub(entry, "published", _stamp(r.event_date))
        page = pages.get(str(r.model_id))
        if page:
            _sub(entry, "link", rel="alternate", href=urljoin(base, page), type="text/html")
        _sub(entry, "category", term=str(r.kind), label=KINDS.get(str(r.kind), str(r.kind)))
        _sub(entry, "summary", str(r.detail) if r.detail else str(r.title))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
