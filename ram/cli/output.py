"""Render library results at the edge: a rich table, CSV or JSON, with their as-of line.

Importing this module loads neither pandas nor rich, so a cached answer renders without them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_HEADERS = {
    "cumulative_downloads": "downloads",
    "cumulative_derivatives": "derivatives",
    "size_class": "class",
    "release_date": "released",
    "params_source": "params from",
    "release_source": "date from",
    "tracked_reason": "why",
    "downloads_p10": "dl p10",
    "downloads_p50": "dl p50",
    "downloads_p90": "dl p90",
    "ram_p10": "ram p10",
    "ram_p50": "ram p50",
    "ram_p90": "ram p90",
    "p_top10": "P(top10)",
    "n_reference": "refs",
    "at_day": "t0",
    "horizon": "H",
    "error_factor": "error ×",
    "coverage_80": "80% cover",
    "fallback_share": "fallback",
    "median_reference": "refs (median)",
    "no_reference": "no refs",
}
# Forecast downloads are estimates: three significant figures (2.96M), so that the table fits.
_COMPACT = frozenset({"downloads_p10", "downloads_p50", "downloads_p90"})
# Shares, probabilities and ratios: two decimals (counts have none).
_TWO_DECIMALS = frozenset({
    "ram", "ratio", "ram_p10", "ram_p50", "ram_p90", "p_top10", "error_factor", "coverage_80",
    "spearman", "brier", "fallback_share",
})  # fmt: skip


PIPED_WIDTH = 160


def _header(column: str) -> str:
    """A column's table header; ``ram_p50_365`` (top --forecast): ``ram p50`` over ``d365``."""
    if column.startswith(("ram_p50_", "p_top10_")):
        base, day = column.rsplit("_", 1)
        return f"{_HEADERS.get(base, base)}\nd{day}"
    return _HEADERS.get(column, column)


def default_format() -> str:
    """``table`` on a terminal, ``csv`` when piped."""
    return "table" if sys.stdout.isatty() else "csv"


def _plain(value: Any) -> Any:
    if value is None:
        return None
    # Only a pandas object holds NA or NaT, so pandas is loaded whenever one can be here.
    pd = sys.modules.get("pandas")
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime):  # a moment: UTC with its Z (the store keeps UTC)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


# Download counts print as whole numbers in CSV and JSON when they are whole (5952, not 5952.0);
# a curve interpolated across a gap, and a baseline taken from one, keep their fraction, which
# the spec's worked example checks to 1e-6.
WHOLE = frozenset({
    "cumulative_downloads", "baseline", "downloads_all_time", "downloads_30d", "downloads",
    "downloads_p10", "downloads_p50", "downloads_p90", "cumulative_derivatives", "n",
})  # fmt: skip


def _whole(value: Any, column: str) -> Any:
    if column in WHOLE and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as ISO strings, unknown as null (never 0)."""
    return _records(list(frame.columns), frame.itertuples(index=False))


def rows_records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """``records`` for plain rows: the same dicts as ``records`` of the same frame."""
    return _records(columns, rows)


def _records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{c: _whole(_plain(v), c) for c, v in zip(columns, row, strict=True)} for row in rows]


def _cell(value: Any, column: str) -> str:
    value = _plain(value)
    if column.startswith(("ram_p50_", "p_top10_")):  # ram top --forecast: at a horizon
        column = column.rsplit("_", 1)[0]
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if column in _TWO_DECIMALS:
            return f"{value:.2f}"
        if column in _COMPACT:
            return _compact(value)
        if column in ("params_b", "active_params_b", "name_params_b", "weights_params_b"):
            return f"{value:.4g}"
        if column == "difference":
            return f"{value:+.0%}"
        return f"{value:,.0f}"
    if isinstance(value, int) and column not in ("day", "rank", "top_n"):
        return f"{value:,}"
    return str(value)


def _compact(value: float) -> str:
    """A large estimate with three significant figures: 8,412 · 12.3k · 2.96M · 1.20B."""
    if abs(value) < 10_000:
        return f"{value:,.0f}"
    rounded = float(f"{value:.3g}")
    size, unit = next(u for u in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if abs(rounded) >= u[0])
    scaled = rounded / size
    digits = max(0, 2 - math.floor(math.log10(abs(scaled))))
    return f"{scaled:,.{digits}f}{unit}"


def _caption(meta: dict[str, Any]) -> str:
    shown = {k: ("yes" if v else "no") if isinstance(v, bool) else v for k, v in meta.items()}
    return " · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in shown.items() if v is not None)


def _json(
    meta: dict[str, Any], rows: list[dict[str, Any]], notes: Sequence[str] | None = None
) -> None:
    payload: dict[str, Any] = {**{k: _plain(v) for k, v in meta.items()}, "rows": rows}
    if notes is not None:
        payload["notes"] = list(notes)
    json.dump(payload, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


def _table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Collection[str],
    title: str | None,
    caption: str,
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=caption or None, show_lines=False)
    cells = [[_cell(v, c) for c, v in zip(columns, row, strict=True)] for row in rows]
    need = 1  # the width nothing may be cut below: the left border, then each column's
    for i, col in enumerate(columns):
        # Text wraps between words, never inside one shorter than 12 characters; an id, a
        # number or a date is never split.
        whole = col in ("model_id", "release_date") or col in numeric
        header = _header(col)
        if whole:
            least = max([len(row[i]) for row in cells] + [len(x) for x in header.split("\n")])
        else:
            least = min(max([len(w) for row in cells for w in row[i].split()] or [1]), 12)
        need += least + 3
        table.add_column(
            header,
            justify="right" if col in numeric else "left",
            no_wrap=whole,
            overflow="fold",
            min_width=least,
        )
    for cell_row in cells:
        table.add_row(*cell_row)
    # A terminal uses its own width (text wraps between words); piped tables are 160 columns
    # wide, or as wide as their unsplittable cells need: nothing is ever cut off.
    if sys.stdout.isatty():
        console = Console()
        if len(cells) + 8 > console.size.height and os.environ.get("RAM_NO_PAGER") is None:
            # Longer than the screen: through the pager ($PAGER, else less), colours kept.
            with console.pager(styles=True):
                console.print(table)
            return
        console.print(table)
        return
    Console(width=max(PIPED_WIDTH, need)).print(table)


def emit(
    frame: pd.DataFrame,
    fmt: str,
    *,
    title: str | None = None,
    meta: dict[str, Any] | None = None,
    notes: Sequence[str] | None = None,
) -> None:
    """Write ``frame`` to stdout; ``meta`` (as-of, baseline, source) where the format allows.

    ``notes`` (what was left out, and why) go to stderr, or into the JSON as ``notes``."""
    meta = meta or {}
    caption = _caption(meta)
    if fmt == "csv":
        if caption:
            print(caption, file=sys.stderr)
        whole = [c for c in frame.columns if c in WHOLE and frame[c].dtype.kind == "f"]
        if whole:
            frame = frame.copy()
            for c in whole:
                frame[c] = [None if v is None else _csv_cell(_whole(v, c))
                            for v in frame[c].map(_plain)]  # fmt: skip
        frame.to_csv(sys.stdout, index=False, lineterminator="\n", float_format=_csv_float)
    elif fmt == "json":
        _json(meta, records(frame), notes)
    else:
        from pandas.api.types import is_numeric_dtype

        columns = list(frame.columns)
        numeric = {c for c in columns if is_numeric_dtype(frame[c]) and frame[c].dtype != bool}
        _table(columns, frame.itertuples(index=False), numeric, title, caption)
    if fmt != "json":
        emit_notes(notes)


def emit_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str,
    *,
    numeric: Collection[str],
    title: str | None = None,
    meta: dict[str, Any] | None = None,
    notes: Sequence[str] | None = None,
) -> None:
    """``emit`` for plain rows (no pandas): the same bytes as ``emit`` of the same frame.

    ``numeric`` names the columns a frame would hold as numbers (right-aligned in a table).
    """
    meta = meta or {}
    caption = _caption(meta)
    if fmt == "csv":
        if caption:
            print(caption, file=sys.stderr)
        # pandas' to_csv writes through the csv module with these same settings.
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        moments = _moment_formats(columns, rows)
        writer.writerows(
            [
                v.strftime(moments[c])
                if c in moments and v is not None
                else _csv_cell(_whole(_plain(v), c))
                for c, v in zip(columns, row, strict=True)
            ]
            for row in rows
        )
    elif fmt == "json":
        _json(meta, _records(columns, rows), notes)
    else:
        _table(columns, rows, numeric, title, caption)
    if fmt != "json":
        emit_notes(notes)


def _moment_formats(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """How pandas' ``to_csv`` writes each column of moments (``datetime``): one format for the
    whole column, the date alone when every value is a midnight, microseconds when any has
    them, else to the second."""
    found: dict[str, list[dt.datetime]] = {}
    for row in rows:
        for c, v in zip(columns, row, strict=True):
            if isinstance(v, dt.datetime):
                found.setdefault(c, []).append(v)
    out = {}
    for c, values in found.items():
        if all(v.time() == dt.time() for v in values):
            out[c] = "%Y-%m-%d"
        elif any(v.microsecond for v in values):
            out[c] = "%Y-%m-%d %H:%M:%S.%f"
        else:
            out[c] = "%Y-%m-%d %H:%M:%S"
    return out


def emit_notes(notes: Sequence[str] | None) -> None:
    """Below the output: stdout is flushed first, so a terminal shows them after the table."""
    if notes:
        sys.stdout.flush()
        for line in notes:
            print(line, file=sys.stderr)


def _csv_cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return _csv_float(value)
    return str(value)


def _csv_float(value: object) -> str:
    return repr(float(value))  # type: ignore[arg-type]
