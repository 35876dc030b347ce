"""``ram plot`` and ``ram report`` through the CLI: offline HTML, fragments, images, errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import CliRunner

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _written(folder: Path) -> list[str]:
    """What a command left in ``folder``: its outputs, not the caches a read keeps beside the
    database (``ram.store.models_cache``, ``ram.score_cache``)."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name != "hf-home"
        and not p.name.endswith(("models-cache.parquet", "top-cache.parquet"))
    )


def test_plot_html_is_offline_and_self_contained(
    cli: CliRunner, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "curves.html"

    r = cli(
        "--db", sample_db, "plot", "ram-curves", "--model", "Qwen/Qwen2.5-7B-Instruct", "--out", out
    )

    assert r.code == 0, r.err
    assert r.out.strip() == f"wrote {out} (ram-curves, as of 2025-02-18)"
    html = out.read_text()
    assert "<html>" in html
    assert not re.search(r"<script[^>]+src=[\"']https?:", html)  # nothing loaded from a CDN
    assert "Qwen2.5-7B-Instruct" in html  # JSON writes the slash as \/
    assert len(html) > 3_000_000  # plotly.js is embedded, not fetched


def test_plot_embed_is_a_fragment(cli: CliRunner, sample_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "mix.html"

    r = cli("--db", sample_db, "plot", "size-mix", "--embed", "--out", out)

    assert r.code == 0, r.err
    text = out.read_text()
    assert "<html>" not in text and "<div" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "pie", "--out", "x.html"], "unknown chart kind 'pie'"),
        (["plot", "size-mix", "--out", "x.txt"], "unknown chart format '.txt'"),
        (
            ["plot", "size-mix", "--log-y", "--out", "x.html"],
            "--log-y does not apply to chart 'size-mix'",
        ),
        (["plot", "ram-curves", "--model", "no/such", "--out", "x.html"], "no/such"),
        (["plot", "cumulative", "--size-class", "9B", "--out", "x.html"], "9B"),
        (["plot", "size-mix", "--out", "missing-dir/x.html"], "does not exist"),
    ],
)
def test_plot_errors_are_one_line_exit_2(
    cli: CliRunner, sample_db: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    r = cli("--db", sample_db, *args)

    assert r.code == 2
    assert r.err.startswith("Error: ") and message in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert _written(tmp_path) == ["sample.duckdb"]


@pytest.mark.slow  # a whole report: with the full run (make test), not make unit
def test_report_writes_only_inside_its_directory(
    cli: CliRunner, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"

    r = cli("--db", sample_db, "report", "--out", out, "--no-png")

    assert r.code == 0, r.err
    assert (
        r.out.strip()
        == f"wrote {out / 'index.html'} (as of 2025-02-18; baseline: live cutoff, top 10)"
    )
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "plotly.min.js", "top-models-by-ram-at-day-30.csv"} <= names
    assert _written(tmp_path) == ["report", "sample.duckdb"]
    html = (out / "index.html").read_text()
    assert "as of 2025-02-18" in html and "Qwen/Qwen2.5-7B-Instruct" in html
    assert not re.search(r"<script[^>]+src=[\"']https?:", html)
    assert '<script src="plotly.min.js"' in html or "plotly.min.js" in html


@pytest.mark.skipif(CHROMIUM is None, reason="PNG export needs Chromium (apt-get install chromium)")
@pytest.mark.slow
def test_plot_png(cli: CliRunner, sample_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "monthly.png"

    r = cli("--db", sample_db, "plot", "monthly-region", "--out", out)

    assert r.code == 0, r.err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
