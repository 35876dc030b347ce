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
from types import SimpleNamespace
from typing import Any

import huggingface_hub.constants
import pytest
from huggingface_hub.utils import _http as hf_http

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


@pytest.fixture
def hub_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let huggingface_hub talk (to the loopback fake Hub only): no telemetry, no token."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch, hub_client: None) -> list[float]:
    """Backoff and Retry-After waits (the client's and the collector's), recorded, not slept."""
    from collectors import hub as collector

    waits: list[float] = []
    fake_time = SimpleNamespace(sleep=waits.append, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(hf_http, "time", fake_time)
    monkeypatch.setattr(collector, "_sleep", waits.append)
    return waits
