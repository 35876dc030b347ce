"""Fixtures of the reliability suite: the fake Hub with instant retries, and the figures that
RELIABILITY.md reports.

Set ``RAM_RELIABILITY_FIGURES=FILE.json`` to collect every scenario's figures into one file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FIGURES_ENV = "RAM_RELIABILITY_FIGURES"

Figure = Callable[..., None]


@pytest.fixture(scope="session")
def _figures() -> Iterator[dict[str, dict[str, Any]]]:
    sink: dict[str, dict[str, Any]] = {}
    yield sink
    target = os.environ.get(FIGURES_ENV)
    if target and sink:
        Path(target).write_text(json.dumps(sink, indent=1, sort_keys=True, default=str) + "\n")


@pytest.fixture
def figure(request: pytest.FixtureRequest, _figures: dict[str, dict[str, Any]]) -> Figure:
    """``figure(requests=.., rows_kept=..)`` records this scenario's measured numbers."""
    started = time.monotonic()

    def record(**values: Any) -> None:
        entry = _figures.setdefault(request.node.nodeid, {})
        entry.update(values)
        entry.setdefault("seconds", round(time.monotonic() - started, 2))

    return record
