"""``ram publish``: the static site, its Atom feed of events, badges, digest and webhook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def tuples(frame: pd.DataFrame) -> Iterator[Any]:
    """``frame.itertuples(index=False)``: one named tuple per row, columns as attributes."""
    return iter(frame.itertuples(index=False))
