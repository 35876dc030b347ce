"""``--format table`` output byte for byte: the tables people read, against golden files.

A change to any of them is a visible change for users, so it shows up here as a diff.  After an
intended change, rewrite the files with ``RAM_UPDATE_GOLDEN=1 pytest tests/test_golden_tables.py``
and review the diff.  Each file holds the exit code, stdout and stderr of one command, run with
stdout piped (tables 160 columns wide).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliRunner

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "top-sample": ("sample", ["top"]),
    "top-sample-latest-5-10B": ("sample", ["top", "--latest", "--size-class", "5-10B"]),
    "top-sample-day-90-all": ("sample", ["top", "--day", "90", "--all", "--limit", "3"]),
    "score-sample": ("sample", ["score", "Qwen/Qwen2.5-7B-Instruct"]),
    "models-sample-qwen-5-10B": ("sample", ["models", "--org", "Qwen", "--size-class", "5-10B"]),
    "models-sample-suspect": ("sample", ["models", "--suspect"]),
    "baseline-sample-1-5B": ("sample", ["baseline", "--size-class", "1-5B"]),
    "top-example-thin": ("example", ["top", "--include-thin"]),
    "scores-example-day-30": ("example", ["scores", "--day", "30"]),
    "score-example-median": ("example", ["score", "org0/model-0-7B", "--method", "median"]),
}


def _render(code: int, out: str, err: str) -> str:
    # The database is a temporary file: its path (and the centring of its caption) varies.
    out = re.sub(r"(?m)^ *db: /\S+ *$", "db: <DB>", out)
    return f"exit {code}\n--- stdout\n{out}--- stderr\n{err}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_output_matches_its_golden_file(
    name: str, cli: CliRunner, sample_db: Path, example_db: Path
) -> None:
    store, args = CASES[name]
    db = sample_db if store == "sample" else example_db
    r = cli("--db", db, *args, "--format", "table")
    got = _render(r.code, r.out, r.err)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("RAM_UPDATE_GOLDEN"):
        path.write_text(got)
    assert path.exists(), f"no golden file {path.name}; write it with RAM_UPDATE_GOLDEN=1"
    assert got == path.read_text()
