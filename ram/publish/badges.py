"""shields.io endpoint badges: one JSON per tracked model, ``RAM d30 · 2.31``.

The endpoint schema (https://shields.io/badges/endpoint-badge): ``schemaVersion`` (always 1),
``label`` and ``message`` (strings) are required; ``color`` is one of shields' named colours or
a hex colour; ``cacheSeconds`` (at least 300) tells shields how long to keep it.
"""

from __future__ import annotations

import math

SCHEMA_VERSION = 1
CACHE_SECONDS = 3600  # the site changes once a day at most


def ram_color(ram: float) -> str:
    """Green at or above top-10 pace, yellow at half of it or more, orange below."""
    if ram >= 1:
        return "brightgreen"
    return "yellow" if ram >= 0.5 else "orange"


def _short(ram: float) -> str:
    """Three significant figures, thousands grouped: 0.412, 2.31, 39.1, 1,234."""
    if ram >= 100:
        return f"{ram:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(ram))) if ram > 0 else 2
    return f"{ram:.{digits}f}"


def badge(day: int | None, ram: float | None) -> dict[str, object]:
    """The badge of a model's RAM at milestone ``day`` (None: not scored yet, grey)."""
    if day is None or ram is None or not math.isfinite(ram):
        return {
            "schemaVersion": SCHEMA_VERSION, "label": "RAM", "message": "not scored yet",
            "color": "lightgrey", "cacheSeconds": CACHE_SECONDS,
        }  # fmt: skip
    return {
        "schemaVersion": SCHEMA_VERSION,
        "label": f"RAM d{day}",
        "message": _short(ram),
        "color": ram_color(ram),
        "cacheSeconds": CACHE_SECONDS,
    }
