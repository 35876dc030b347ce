"""Render library results at the edge: a rich table, CSV or JSON, with their as-of line."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pandas as pd

FORMATS = ("table", "csv", "json")
_HEADERS = {
    "cumulative_downloads": "downloads",
    "size_class": "class",
    "release_date": "released",
    "params_source": "params from",
    "release_source": "date from",
    "tracked_reason": "why",
}


def default_format() -> str:
    """``table`` on a terminal, ``csv`` when piped."""
    return "table" if sys.stdout.isatty() else "csv"


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as ISO strings, unknown as null (never 0)."""
    cols = list(frame.columns)
    return [
        {c: _plain(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _cell(value: Any, column: str) -> str:
    value = _plain(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if column in ("ram", "ratio"):
            return f"{value:.2f}"
        if column in ("params_b", "active_params_b"):
            return f"{value:g}"
        return f"{value:,.0f}"
    if isinstance(value, int) and column not in ("day", "rank", "top_n"):
        return f"{value:,}"
    return str(value)


def emit(
    frame: pd.DataFrame,
    fmt: str,
    *,
    title: str | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Write ``frame`` to stdout; ``meta`` (as-of, baseline, source) where the format allows."""
    meta = meta or {}
    caption = " · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in meta.items() if v is not None)
    if fmt == "csv":
        if caption:
            print(caption, file=sys.stderr)
        frame.to_csv(sys.stdout, index=False, lineterminator="\n", float_format=_csv_float)
    elif fmt == "json":
        payload = {**{k: _plain(v) for k, v in meta.items()}, "rows": records(frame)}
        json.dump(payload, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, caption=caption or None, show_lines=False)
        for col in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[col]) and frame[col].dtype != bool
            table.add_column(
                _HEADERS.get(col, col),
                justify="right" if numeric else "left",
                no_wrap=col == "model_id",
                overflow="fold",
            )
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v, c) for c, v in zip(frame.columns, row, strict=True)))
        # Piped tables keep full model ids; a terminal uses its own width.
        Console(width=None if sys.stdout.isatty() else 160).print(table)


def _csv_float(value: object) -> str:
    return repr(float(value))  # type: ignore[arg-type]
