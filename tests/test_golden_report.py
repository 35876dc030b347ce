"""``ram report --no-png`` on the bundled sample, file by file, against a golden list of digests.

Speed work on the report (issue 19) must leave every file it writes unchanged.  The golden file
lists each file's SHA-256 and size (``plotly.min.js`` is Plotly's own bundle and left out): a
change to any number, row or chart shows up as a changed line.  After an intended change,
rewrite it with ``RAM_UPDATE_GOLDEN=1 pytest tests/test_golden_report.py`` and say why in the
commit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.conftest import ROOT, CliRunner

GOLDEN = ROOT / "tests" / "golden" / "report-sample.txt"


def _listing(folder: Path) -> str:
    lines = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "plotly.min.js":
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            lines.append(f"{path.relative_to(folder).as_posix()} {len(data)} {digest}")
    return "\n".join(lines) + "\n"


def test_the_report_of_the_sample_is_the_golden_one(
    cli: CliRunner, sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    r = cli("--db", sample_db, "report", "--no-png", "--out", out)
    assert r.code == 0, r.err
    got = _listing(out)
    assert got.count("\n") >= 12  # index.html, the tables, every chart's CSVs
    if os.environ.get("RAM_UPDATE_GOLDEN"):
        GOLDEN.write_text(got)
    assert GOLDEN.exists(), f"no golden file {GOLDEN.name}; write it with RAM_UPDATE_GOLDEN=1"
    assert got == GOLDEN.read_text()
