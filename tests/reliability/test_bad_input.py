"""Bad input, fuzzed with Hypothesis: config files, panel files and CLI arguments each give a
correct result or a one-line error with exit 2; never a traceback, never a partly written store."""

from __future__ import annotations

import csv
import io
import itertools
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CliRunner
from tests.reliability.conftest import Figure
from tests.reliability.fuzzing import (
    FUZZ,
    TOP_COLUMNS,
    assert_one_line_error_or_ok,
    cli_argvs,
    config_file_text,
    mutated_configs,
    panel_texts,
    raw_config_text,
    semantic_configs,
)
from tests.reliability.support import fingerprint, query

TOP = ("top", "--day", "30", "--format", "csv")


def check_top_csv(out: str) -> int:
    """A leaderboard that holds together: day 30, RAM = curve / baseline, ranks 1.. per class."""
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns[: len(TOP_COLUMNS)]) == TOP_COLUMNS
    if frame.empty:
        return 0
    assert (frame["day"] == 30).all()
    ratio = frame["cumulative_downloads"] / frame["baseline"]
    assert np.allclose(frame["ram"], ratio, rtol=1e-12)
    for _, group in frame.groupby("size_class", sort=False):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
    return len(frame)


# -- config files ------------------------------------------------------------------------------

CONFIG_CASES = {
    "mutated": (mutated_configs().map(config_file_text), 45),
    "semantic": (semantic_configs().map(config_file_text), 45),
    "raw text": (raw_config_text, 15),
}


@pytest.mark.parametrize("kind", list(CONFIG_CASES))
def test_fuzzed_config_files(
    cli: CliRunner, example_db: Path, tmp_path: Path, figure: Figure, kind: str
) -> None:
    files, examples = CONFIG_CASES[kind]
    before = fingerprint(example_db)
    path = tmp_path / "fuzzed.yaml"
    outcomes: Counter[str] = Counter()

    @settings(FUZZ, max_examples=examples)
    @given(text=files)
    def run(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        r = cli("--db", example_db, "--config", path, *TOP)
        assert_one_line_error_or_ok(r)
        if r.code == 0:
            check_top_csv(r.out)
        outcomes["ok" if r.code == 0 else "error"] += 1

    run()

    assert fingerprint(example_db) == before
    figure(examples=sum(outcomes.values()), ok=outcomes["ok"], one_line_errors=outcomes["error"])


# -- panel files -------------------------------------------------------------------------------


def _count(text: str) -> int | None:
    return int(Decimal(text.strip())) if text.strip() else None


def expected_rows(text: str) -> list[tuple[object, ...]]:
    """What a valid panel must store, read with the csv module rather than the importer's pandas."""
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        row = {k.strip(): (v or "") for k, v in row.items()}
        out.append(
            (
                row["model_id"].strip(),
                row["date"].strip(),
                _count(row.get("downloads_all_time", "")),
                _count(row.get("downloads_30d", "")),
            )
        )
    return sorted(out)


def _new_run(db: Path, old_runs: set[str]) -> tuple[str, int]:
    runs = query(db, "SELECT run_id, observations FROM runs")
    new = [(str(r), int(n)) for r, n in runs if r not in old_runs]
    assert len(new) == 1
    return new[0]


def _stored(db: Path, run_id: str) -> list[tuple[object, ...]]:
    return sorted(
        query(
            db,
            "SELECT model_id, CAST(obs_date AS VARCHAR), downloads_all_time, downloads_30d "
            "FROM observations WHERE run_id = ?",
            [run_id],
        )
    )


def _earlier(db: Path, old_runs: set[str]) -> list[tuple[object, ...]]:
    """Digest of the observations earlier runs wrote: an import must leave them as they were."""
    return query(
        db,
        "SELECT count(*), md5(string_agg(CAST(o AS VARCHAR), '|' ORDER BY CAST(o AS VARCHAR))) "
        "FROM observations o WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(old_runs)],
    )


def test_fuzzed_panel_files(
    cli: CliRunner, example_db_master: Path, tmp_path: Path, figure: Figure
) -> None:
    master = fingerprint(example_db_master)
    old_runs = {str(r[0]) for r in query(example_db_master, "SELECT run_id FROM runs")}
    earlier = _earlier(example_db_master, old_runs)
    counter = itertools.count()
    outcomes: Counter[str] = Counter()

    @settings(FUZZ, max_examples=50)
    @given(panel_text=panel_texts(), source=st.none() | st.text(min_size=1, max_size=8))
    def run(panel_text: tuple[str, bool], source: str | None) -> None:
        text, valid = panel_text
        i = next(counter)
        db, panel = tmp_path / f"p{i}.duckdb", tmp_path / f"fz{i}.csv"
        shutil.copy(example_db_master, db)
        panel.write_text(text, encoding="utf-8")
        option = ["--source", source] if source is not None else []

        r = cli("--db", db, "import", "panel", panel, *option)

        assert_one_line_error_or_ok(r)
        assert r.code == 0 or not valid, r.err
        if r.code == 0:
            run_id, n_obs = _new_run(db, old_runs)
            rows = expected_rows(text)
            assert n_obs == len(rows)
            assert _stored(db, run_id) == rows
            assert _earlier(db, old_runs) == earlier
            outcomes["ok"] += 1
        else:
            assert fingerprint(db) == master
            outcomes["error"] += 1
        db.unlink()

    run()

    assert outcomes["ok"] > 0 and outcomes["error"] > 0
    figure(examples=sum(outcomes.values()), ok=outcomes["ok"], one_line_errors=outcomes["error"])


def test_fuzzed_panel_bytes(
    cli: CliRunner, example_db_master: Path, tmp_path: Path, figure: Figure
) -> None:
    master = fingerprint(example_db_master)
    old_runs = {str(r[0]) for r in query(example_db_master, "SELECT run_id FROM runs")}
    earlier = _earlier(example_db_master, old_runs)
    counter = itertools.count()
    outcomes: Counter[str] = Counter()

    @settings(FUZZ, max_examples=30)
    @given(
        body=st.binary(max_size=200),
        header=st.sampled_from([b"", b"model_id,date,downloads_30d\n"]),
        suffix=st.sampled_from([".csv", ".csv.gz", ".parquet", ".txt", ".xlsx"]),
    )
    def run(body: bytes, header: bytes, suffix: str) -> None:
        i = next(counter)
        db, panel = tmp_path / f"b{i}.duckdb", tmp_path / f"fz{i}{suffix}"
        shutil.copy(example_db_master, db)
        panel.write_bytes(header + body)

        r = cli("--db", db, "import", "panel", panel)

        assert_one_line_error_or_ok(r)
        if r.code == 0:
            run_id, n_obs = _new_run(db, old_runs)
            assert len(_stored(db, run_id)) == n_obs
            assert _earlier(db, old_runs) == earlier
            outcomes["ok"] += 1
        else:
            assert fingerprint(db) == master
            outcomes["error"] += 1
        db.unlink()

    run()

    figure(examples=sum(outcomes.values()), ok=outcomes["ok"], one_line_errors=outcomes["error"])


# -- CLI arguments -----------------------------------------------------------------------------


def test_fuzzed_cli_arguments(cli: CliRunner, example_db: Path, figure: Figure) -> None:
    before = fingerprint(example_db)
    outcomes: Counter[str] = Counter()

    @settings(FUZZ, max_examples=90)
    @given(argv=cli_argvs())
    def run(argv: list[str]) -> None:
        r = cli("--db", example_db, *argv)
        assert_one_line_error_or_ok(r, help_ok=True)
        outcomes["ok" if r.code == 0 else "error"] += 1

    run()

    assert fingerprint(example_db) == before
    figure(examples=sum(outcomes.values()), ok=outcomes["ok"], one_line_errors=outcomes["error"])


@pytest.mark.parametrize(
    ("cells", "stored"),
    [
        (["9007199254740991.0", "9007199254740990"], [9007199254740991, 9007199254740990]),
        (["9007199254740992", "1"], None),  # 2**53 and above: refused rather than rounded
        (["123456789012345678.0", "5"], None),
    ],
)
def test_big_counts_are_stored_exactly_or_refused(
    cli: CliRunner, tmp_path: Path, cells: list[str], stored: list[int] | None
) -> None:
    panel = tmp_path / "big-counts.csv"
    panel.write_text(
        "model_id,date,downloads_all_time\n"
        + "".join(f"fz/a-7B,2025-01-0{i + 1},{c}\n" for i, c in enumerate(cells))
    )
    db = tmp_path / "s.duckdb"

    r = cli("--db", db, "import", "panel", panel)

    if stored is None:
        assert r.code == 2
        assert r.err.splitlines()[-1] == (
            f"Error: {panel} line 2: downloads_all_time {cells[0]!r} is not a whole number "
            "from 0 to 2^53 - 1; nothing was imported"
        )
        assert not db.exists()
    else:
        assert r.code == 0, r.err
        rows = query(db, "SELECT downloads_all_time FROM observations ORDER BY obs_date")
        assert [v for (v,) in rows] == stored


@pytest.mark.parametrize("value", ["inf", "1e400", "-inf", "nan"])
def test_infinite_or_nan_params_are_refused(cli: CliRunner, tmp_path: Path, value: str) -> None:
    panel = tmp_path / "p.csv"
    panel.write_text(f"model_id,date,downloads_30d,params_b\nfz/a,2025-01-01,5,{value}\n")

    r = cli("--db", tmp_path / "s.duckdb", "import", "panel", panel)

    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"Error: {panel} line 2: params_b {value!r} is not a number > 0; nothing was imported"
    )
