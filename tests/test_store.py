"""The DuckDB store: idempotent migration, transactional upserts, renames, frozen baselines."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ram.errors import EmptyStore, UnknownBaseline
from ram.store.database import SCHEMA_VERSION, RunRecord, Store


def _run() -> RunRecord:
    return RunRecord(
        kind="snapshot", source="hub", started_at=dt.datetime(2025, 1, 2, 6, tzinfo=dt.UTC)
    )


def _obs(
    day: str, all_time: list[int | None], ids: tuple[str, ...] = ("a/x", "b/y")
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_id": list(ids),
            "obs_date": day,
            "source": "hub",
            "downloads_all_time": all_time,
            "downloads_30d": [None] * len(ids),
        }
    )


def test_migrate_is_idempotent_and_versioned(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.migrate()
        s.migrate()
        version = s.con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        tables = {r[0] for r in s.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    assert version == (str(SCHEMA_VERSION),)
    assert tables == {
        "meta",
        "models",
        "observations",
        "runs",
        "baselines",
        "events",
        "derivatives",
        "quality_flags",
        "quality_state",
    }


def test_same_day_rerun_replaces_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(_run(), observations=_obs("2025-01-02", [10, None]))
        s.save(_run(), observations=_obs("2025-01-02", [12, 7]))
        s.save(_run(), observations=_obs("2025-01-03", [15, 9]))

    with Store.open(db, read_only=True) as s:
        obs = s.observations()
        runs = s.runs()
    assert len(obs) == 4
    assert list(obs["downloads_all_time"]) == [12, 15, 7, 9]
    assert len(runs) == 3


def test_unknown_counts_stay_null(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(_run(), observations=_obs("2025-01-02", [10, None]))
        nulls = s.con.execute(
            "SELECT count(*) FROM observations WHERE downloads_all_time IS NULL"
        ).fetchone()
        zeros = s.con.execute(
            "SELECT count(*) FROM observations WHERE downloads_30d = 0"
        ).fetchone()

    assert nulls == (1,)
    assert zeros == (0,)


def test_failed_save_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(_run(), observations=_obs("2025-01-02", [10, 11]))
    bad = _obs("2025-01-03", [20, 21])
    bad.loc[1, "obs_date"] = None  # violates NOT NULL halfway through the write

    with Store.open(db) as s, pytest.raises(Exception):  # noqa: B017
        s.save(_run(), observations=bad)

    with Store.open(db, read_only=True) as s:
        assert len(s.observations()) == 2
        assert len(s.runs()) == 1


def test_models_upsert_keeps_known_values(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first = pd.DataFrame(
        {
            "model_id": ["a/x"],
            "org": ["a"],
            "pipeline_tag": ["text-generation"],
            "first_seen": ["2025-01-02"],
            "last_seen": ["2025-01-02"],
        }
    )
    later = pd.DataFrame(
        {
            "model_id": ["a/x"],
            "pipeline_tag": [None],
            "likes": [3],
            "first_seen": ["2025-02-01"],
            "last_seen": ["2025-02-01"],
        }
    )
    with Store.open(db) as s:
        assert s.save(_run(), models=first).new_models == 1
        assert s.save(_run(), models=later).new_models == 0
        row = s.models().iloc[0]

    assert row["pipeline_tag"] == "text-generation"
    assert row["org"] == "a"
    assert str(row["first_seen"].date()) == "2025-01-02"
    assert str(row["last_seen"].date()) == "2025-02-01"


def test_live_rows_win_over_archive_rows_of_the_same_day(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    archive = _obs("2025-01-02", [99, 98]).assign(source="archive:hub-stats")
    with Store.open(db) as s:
        s.save(_run(), observations=archive)
        s.save(_run(), observations=_obs("2025-01-02", [10, 11]))
        obs = s.observations()

    assert list(obs["downloads_all_time"]) == [10, 11]
    assert set(obs["source"]) == {"hub"}


def test_one_row_per_model_and_day_by_source_rank_in_id_then_day_order(tmp_path: Path) -> None:
    """Live beats panel beats archive on a shared day; a day one source alone holds keeps its
    row; the rows come sorted by id (text order, not insertion order) then day."""
    db = tmp_path / "s.duckdb"
    ids = ("b/y", "a/x", "B/z")
    with Store.open(db) as s:
        s.save(_run(), observations=_obs("2025-01-03", [1, 2, 3], ids).assign(source="archive:x"))
        s.save(_run(), observations=_obs("2025-01-02", [4, 5, 6], ids).assign(source="archive:x"))
        s.save(_run(), observations=_obs("2025-01-03", [7, 8, 9], ids).assign(source="panel:p"))
        s.save(_run(), observations=_obs("2025-01-03", [10, None], ids[:2]))  # hub, a NULL
        s.save(_run(), observations=_obs("2025-01-04", [20], ids[2:]).assign(source="panel:p"))
        got = s.observations()
        counts = s.observations(["a/x", "B/z"], counts_only=True)
    rows = list(got[["model_id", "obs_date", "source"]].itertuples(index=False, name=None))
    assert [(m, str(d.date()), src) for m, d, src in rows] == [
        ("B/z", "2025-01-02", "archive:x"), ("B/z", "2025-01-03", "panel:p"),
        ("B/z", "2025-01-04", "panel:p"), ("a/x", "2025-01-02", "archive:x"),
        ("a/x", "2025-01-03", "hub"), ("b/y", "2025-01-02", "archive:x"),
        ("b/y", "2025-01-03", "hub"),
    ]  # fmt: skip
    assert got["downloads_all_time"].tolist()[:5] == [6, 9, 20, 5, pd.NA]
    assert got["downloads_all_time"].tolist()[5:] == [4, 10]
    assert list(counts.columns) == ["model_id", "obs_date", "downloads_all_time", "downloads_30d"]
    assert counts["model_id"].tolist() == ["B/z"] * 3 + ["a/x"] * 2


def test_rename_moves_history(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(
            _run(),
            models=pd.DataFrame({"model_id": ["a/old"]}),
            observations=_obs("2025-01-02", [10], ids=("a/old",)),
        )
        s.save(
            _run(),
            observations=_obs("2025-01-03", [12], ids=("a/new",)),
            renames={"a/old": "a/new"},
        )
        obs = s.observations()
        old = s.models().set_index("model_id").loc["a/old"]

    assert list(obs["model_id"]) == ["a/new", "a/new"]
    assert list(obs["downloads_all_time"]) == [10, 12]
    assert old["tracked_reason"] == "renamed to a/new"


def test_frozen_baseline_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    frame = pd.DataFrame(
        {
            "size_class": ["5-10B", "5-10B"],
            "day": [1, 2],
            "baseline": [10.0, 20.0],
            "n_models": [10, 11],
        }
    )
    scheme = [("5-10B", 5.0, 10.0)]
    with Store.open(db) as s:
        s.save_baseline(
            "v1", frame, method="cutoff", top_n=10, scheme=scheme, as_of=dt.date(2025, 3, 1)
        )
        s.save_baseline(
            "v1",
            frame.assign(baseline=[1.0, 2.0]),
            method="cutoff",
            top_n=10,
            scheme=scheme,
            as_of=dt.date(2025, 3, 1),
        )
        rows, info = s.frozen_baseline("v1")
        with pytest.raises(UnknownBaseline, match="known: v1"):
            s.frozen_baseline("v2")

    assert list(rows["baseline"]) == [1.0, 2.0]
    assert info == {
        "version": "v1",
        "method": "cutoff",
        "top_n": 10,
        "scheme": [["5-10B", 5.0, 10.0]],
        "as_of": dt.date(2025, 3, 1),
    }


def test_reader_of_missing_file_is_empty_store(tmp_path: Path) -> None:
    with pytest.raises(EmptyStore), Store.open(tmp_path / "none.duckdb", read_only=True):
        pass


@pytest.mark.slow  # processes and signals: with the reliability suite
def test_reader_waits_for_a_writer_process(tmp_path: Path) -> None:
    """A CLI read while another process writes succeeds once the short write is over."""
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(_run(), observations=_obs("2025-01-02", [10, 11]))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True);"
            " time.sleep(1.5); c.close()",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"

    with Store.open(db, read_only=True) as s:
        n = len(s.observations())
    writer.wait(timeout=10)

    assert n == 2
