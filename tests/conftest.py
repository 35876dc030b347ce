"""Shared fixtures: an in-process CLI runner and databases built from the bundled real data."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLE = ROOT / "tests" / "data" / "ram-example"  # a copy of shared/ram-example
SAMPLE = ROOT / "snapshots" / "sample" / "hf_downloads_30d_2024H2.csv.gz"


@dataclass
class Result:
    code: int
    out: str
    err: str


CliRunner = Callable[..., Result]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's config, database or Hub token, or reaches the network."""
    for var in ("RAM_DB", "RAM_CONFIG", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    # Anything that forgets to point at the fake Hub fails fast on a closed local port.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import huggingface_hub.constants as hf_constants

    # huggingface_hub reads its settings once at import; patch the live values too.
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hf_constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    # And a name lookup of any host but this one fails: no test can reach out, even through a
    # URL template huggingface_hub built at import (hf_hub_url's is huggingface.co).
    import socket

    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"):
            raise socket.gaierror(socket.EAI_NONAME, f"tests stay offline: no lookup of {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture(autouse=True)
def _hub_contract_held() -> Iterator[None]:
    """Fail a test whose code sent the fake Hub a request the real Hub refuses.

    Every ``FakeHub`` records requests outside ``tests/hub_contract.py`` in ``violations``; a test
    that sends such requests on purpose sets ``allow_violations``.
    """
    from tests.fakehub import FakeHub

    yield
    broken: list[str] = []
    for hub in FakeHub.instances:  # also hubs of wider-scoped fixtures: what is new since
        new, hub.checked = hub.violations[hub.checked :], len(hub.violations)
        _CONTRACT["requests"] += hub.requests - hub.counted
        hub.counted = hub.requests
        broken += [] if hub.allow_violations else new
    _CONTRACT["violations"] += len(broken)
    if broken:
        shown = "\n  ".join(broken[:5])
        pytest.fail(f"requests the real Hub refuses ({len(broken)}):\n  {shown}", pytrace=False)


_CONTRACT = {"requests": 0, "violations": 0}


# What ``make unit`` leaves out (``-m "not slow"``): the reliability suite (subprocesses, kills,
# Hypothesis), and the modules that start a browser or a Jupyter kernel.  ``make test`` and CI
# run everything.
SLOW_MODULES = frozenset({"test_notebooks.py", "test_golden_copy.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "reliability" in path.parts or path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line: how many fake-Hub requests the suite made, all checked against the contract."""
    if _CONTRACT["requests"]:
        terminalreporter.write_line(
            f"hub contract: {_CONTRACT['requests']:,} requests to contract fakes checked, "
            f"{_CONTRACT['violations']} refused"
        )


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``ram ARGS`` in-process; returns exit code, stdout and stderr."""
    from ram.cli import main

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def _build(tmp: Path, panel: Path) -> Path:
    from ram.cli import main

    db = tmp / "store.duckdb"
    assert main(["--db", str(db), "import", "panel", str(panel)]) == 0
    return db


@pytest.fixture(scope="session")
def example_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("example"), EXAMPLE / "panel.csv")


# The worked example's panel carries no pipeline tags and its orgs are in no catalog: nothing in
# it is tracked unless config lists its orgs (the spec's pool is every sized model of a class).
EXAMPLE_ORGS = dict.fromkeys(("org0", "org1", "org2", "org3", "orgr", "orgw", "orgx"), "other")
EXAMPLE_TRACKING = (
    "tracking:\n  orgs: {" + ", ".join(f"{o}: {r}" for o, r in EXAMPLE_ORGS.items()) + "}\n"
)


@pytest.fixture
def example_db(example_db_master: Path, tmp_path: Path) -> Path:
    """A private copy of the store built from RAM_SPEC's worked example, and a config.yaml in
    the working directory that tracks its orgs (``EXAMPLE_TRACKING``) unless another fixture
    wrote one (it then lists ``EXAMPLE_ORGS`` itself)."""
    db = tmp_path / "example.duckdb"
    shutil.copy(example_db_master, db)
    config = tmp_path / "config.yaml"
    if not config.exists():
        config.write_text(EXAMPLE_TRACKING)
    return db


@pytest.fixture(scope="session")
def sample_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("sample"), SAMPLE)


@pytest.fixture
def sample_db(sample_db_master: Path, tmp_path: Path) -> Path:
    """A private copy of the store built from the bundled real 2024H2 panel."""
    db = tmp_path / "sample.duckdb"
    shutil.copy(sample_db_master, db)
    return db


@pytest.fixture
def hub_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let huggingface_hub talk (to the loopback fake Hub only): no telemetry, no token."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch, hub_client: None) -> list[float]:
    """Backoff and Retry-After waits (the client's and the collector's), recorded, not slept."""
    import time
    from types import SimpleNamespace

    from huggingface_hub.utils import _http as hf_http

    from collectors import hub as collector

    waits: list[float] = []
    fake_time = SimpleNamespace(sleep=waits.append, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(hf_http, "time", fake_time)
    monkeypatch.setattr(collector, "_sleep", waits.append)
    return waits


# The published site (tests/site_fixtures.py), shared by test_publish and test_site_browser.
from tests.site_fixtures import site, site_master  # noqa: E402, F401
