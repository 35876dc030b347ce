"""The HTML report: files, tables, escaping, offline scripts, and a render in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from ram.charts import export
from ram.charts.figures import ChartData
from ram.charts.report import default_top_tables, write_report
from ram.errors import BadInput, ExportError
from tests.plot_fixtures import EVIL, SOURCE, chart_data

CHROMIUM = shutil.which("chromium") or shutil.which("google-chrome")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on PATH (apt-get install chromium)"
)
CHARTS = [
    "ram-curves", "milestones", "cumulative-1-5b", "cumulative-5-10b", "calendar-region",
    "calendar-org", "monthly-region", "monthly-org", "size-mix",
]  # fmt: skip
CSVS = [
    "scores-milestones", "baselines-1-5b", "baselines-5-10b", "calendar-region", "calendar-org",
    "monthly-region", "monthly-org", "size-mix", "top-ram-at-day-30", "top-ram-latest-day",
]  # fmt: skip


@pytest.fixture(scope="module")
def evil_data() -> ChartData:
    return chart_data(evil=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, evil_data: ChartData) -> Path:
    """One report without PNGs, shared by the read-only tests below."""
    return write_report(evil_data, tmp_path_factory.mktemp("r") / "out", png=False)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_report_writes_only_its_files_inside_out_dir(tmp_path: Path) -> None:
    index = write_report(chart_data(), tmp_path / "a" / "report", png=False)
    assert index == tmp_path / "a" / "report" / "index.html"
    expected = {"index.html", "plotly.min.js"} | {f"{name}.csv" for name in CSVS}
    assert files_under(tmp_path) == {"a", "a/report"} | {f"a/report/{f}" for f in expected}


def test_default_top_tables_rank_tracked_models_per_class(evil_data: ChartData) -> None:
    tables = default_top_tables(evil_data)
    assert list(tables) == ["Top RAM at day 30", "Top RAM, latest day"]
    day30 = tables["Top RAM at day 30"].rows
    assert tables["Top RAM at day 30"].notes[0] == (
        "left out 1 untracked model (not in the pool; --all shows them)"
    )
    got = list(zip(day30["size_class"], day30["rank"], day30["model_id"], strict=True))
    assert got == [
        ("1-5B", 1, "orgA/a-3B"),
        ("1-5B", 2, "orgB/b-2B"),
        ("1-5B", 3, "orgC/c-4B"),
        ("5-10B", 1, "orgA/a-7B"),
        ("5-10B", 2, "orgD/d-8B"),
        ("5-10B", 3, EVIL),
    ]  # fan/f-3B is untracked; e-6B is unscored on day 30
    assert day30["ram"].tolist()[:3] == [2.0, 1.0, pytest.approx(0.2)]
    latest = tables["Top RAM, latest day"].rows
    assert latest.loc[latest["model_id"] == "orgE/e-6B", "day"].tolist() == [60]


def test_report_csvs_hold_the_chart_data(report: Path) -> None:
    region = pd.read_csv(report.parent / "calendar-region.csv")
    row = region[(region["date"] == "2025-02-10") & (region["group"] == "china")]
    assert row["cumulative_downloads"].tolist() == [92_000]
    top = pd.read_csv(report.parent / "top-ram-at-day-30.csv")
    assert list(top.loc[0, ["rank", "model_id", "org", "ram"]]) == [1, "orgA/a-3B", "orgA", 2.0]
    scores = pd.read_csv(report.parent / "scores-milestones.csv")
    assert list(scores.columns) == [
        "model_id", "size_class", "release_date", "day", "cumulative_downloads", "baseline", "ram",
        "n_models", "in_pool", "thin",
    ]  # fmt: skip


def test_report_page_has_charts_tables_provenance_and_method(report: Path) -> None:
    page = report.read_text("utf-8")
    assert "as of 2025-06-30" in page and SOURCE in page
    for slug in CHARTS:
        assert f'<section id="{slug}">' in page and f'id="chart-{slug}"' in page
    assert "<h4>1-5B</h4>" in page and "<h4>5-10B</h4>" in page
    assert "the 2nd-largest cumulative downloads" in page
    assert "9 stored, 8 tracked" in page  # fan/f-3B is untracked
    assert '<a class="file" href="size-mix.csv">CSV</a>' in page


def test_report_escapes_model_names_and_loads_nothing_remote(report: Path) -> None:
    page = report.read_text("utf-8")
    assert "<script>alert(1)" not in page
    assert "evil/&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in the top tables
    sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page)
    assert sources == ["plotly.min.js"]
    assert page.count("<script") == 1 + len(CHARTS)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_custom_top_tables_replace_the_default(tmp_path: Path, evil_data: ChartData) -> None:
    mine = {"Best <b>": pd.DataFrame({"model_id": [EVIL], "ram": [1.5]})}
    index = write_report(evil_data, tmp_path / "r", top_tables=mine, png=False)
    page = index.read_text("utf-8")
    assert "Best &lt;b&gt;" in page and '<td class="num">1.500</td>' in page
    assert "Top RAM at day 30" not in page
    assert (tmp_path / "r" / "best-lt-b.csv").is_file()


def test_report_refuses_a_file_as_out_dir(tmp_path: Path, evil_data: ChartData) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInput, match="not a directory"):
        write_report(evil_data, tmp_path / "f", png=False)


def test_png_report_without_browser_fails_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evil_data: ChartData
) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ExportError, match="apt-get install chromium"):
        write_report(evil_data, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--virtual-time-budget=10000",
    ]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *extra, url], capture_output=True, text=True, timeout=120, check=False
    )


def console_errors(stderr: str) -> list[str]:
    """Console lines Chromium logged for page errors (uncaught exceptions, console.error)."""
    return [
        line
        for line in stderr.splitlines()
        if ":CONSOLE" in line and re.search(r"Uncaught|Error|ERROR:CONSOLE", line)
    ]


@needs_browser
@pytest.mark.slow
def test_console_error_detection_sees_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>nope();</script></body></html>")
    run = _chromium(page.as_uri(), tmp_path / "profile", "--dump-dom")
    assert any("nope is not defined" in line for line in console_errors(run.stderr))


@needs_browser
@pytest.mark.slow
def test_report_renders_in_headless_chromium_without_script_errors(
    tmp_path: Path, evil_data: ChartData
) -> None:
    index = write_report(evil_data, tmp_path / "r", png=True, scale=1)
    for slug in CHARTS:
        assert (tmp_path / "r" / f"{slug}.png").read_bytes()[:4] == b"\x89PNG"
    run = _chromium(index.as_uri(), tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_errors(run.stderr) == []
    dom = run.stdout
    # Every chart div was drawn by plotly.js, and the hostile id is text, not an element.
    assert dom.count("js-plotly-plot") == len(CHARTS)
    assert "evil/&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert len(re.findall(r"<script\b", dom)) == 1 + len(CHARTS)


def test_plotlyjs_copy_is_the_installed_bundle(report: Path) -> None:
    from plotly.offline import get_plotlyjs

    assert (report.parent / export.PLOTLYJS_FILE).read_text("utf-8") == get_plotlyjs()
