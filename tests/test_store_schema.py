"""Schema 2: observations without the primary key, kept unique by the write path, and the
automatic, transactional upgrade of a store written at schema 1 (issue 20)."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ram.errors import StoreError
from ram.store.database import SCHEMA_VERSION, RunRecord, Store
from tests.conftest import EXAMPLE_TRACKING, ROOT, CliRunner

SCHEMA1 = ROOT / "tests" / "data" / "store-schema1.duckdb.gz"


def _run(source: str = "hub") -> RunRecord:
    at = dt.datetime(2025, 1, 2, 6, tzinfo=dt.UTC)
    return RunRecord(kind="snapshot", source=source, started_at=at)


def _obs(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_id", "obs_date", "source", "downloads_all_time"])


def _rows(db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT model_id, obs_date, source, downloads_all_time FROM observations ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def _schema1(tmp_path: Path) -> Path:
    db = tmp_path / "old.duckdb"
    with gzip.open(SCHEMA1, "rb") as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    return db


def _facts(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        return {
            "version": one("SELECT value FROM meta WHERE key = 'schema_version'"),
            "keys": one(
                "SELECT constraint_type FROM duckdb_constraints() "
                "WHERE table_name = 'observations' AND constraint_type = 'PRIMARY KEY'"
            ),
            "observed_at": one(
                "SELECT data_type FROM duckdb_columns() "
                "WHERE table_name = 'observations' AND column_name = 'observed_at'"
            ),
            "observations": one("SELECT * FROM observations ORDER BY model_id, obs_date, source"),
            "models": one("SELECT * FROM models ORDER BY model_id"),
            "runs": one("SELECT * FROM runs ORDER BY run_id"),
            "baselines": one("SELECT * FROM baselines ORDER BY ALL"),
        }
    finally:
        con.close()


def test_a_rerun_replaces_its_rows_and_other_sources_stay(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(_run(), observations=_obs([("a/x", "2025-01-02", "hub", 10)]))
        s.save(_run("panel:p"), observations=_obs([("a/x", "2025-01-02", "panel:p", 11)]))
        s.save(_run(), observations=_obs([("a/x", "2025-01-02", "hub", 12)]))
        s.save(_run(), observations=_obs([("a/x", "2025-01-03", "hub", 15)]))
    assert _rows(db) == [
        ("a/x", dt.date(2025, 1, 2), "hub", 12),
        ("a/x", dt.date(2025, 1, 2), "panel:p", 11),
        ("a/x", dt.date(2025, 1, 3), "hub", 15),
    ]


def test_within_one_batch_the_last_row_of_a_key_wins(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    batch = _obs([("a/x", "2025-01-02", "hub", 1), ("b/y", "2025-01-02", "hub", 5)])
    batch = pd.concat([batch, _obs([("a/x", "2025-01-02", "hub", 2)])], ignore_index=True)
    with Store.open(db) as s:
        saved = s.save(_run(), observations=batch)
    assert saved.observations == 2
    assert _rows(db) == [
        ("a/x", dt.date(2025, 1, 2), "hub", 2),
        ("b/y", dt.date(2025, 1, 2), "hub", 5),
    ]


def test_a_rename_onto_a_day_the_new_id_has_keeps_one_row(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as s:
        s.save(_run(), observations=_obs([("a/old", "2025-01-02", "hub", 7)]))
        s.save(_run(), observations=_obs([("a/new", "2025-01-02", "hub", 9)]))
        s.save(_run(), renames={"a/old": "a/new"})
    assert _rows(db) == [("a/new", dt.date(2025, 1, 2), "hub", 7)]


def test_a_new_store_has_no_key_on_observations(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db):
        pass
    facts = _facts(db)
    assert facts["version"] == [(str(SCHEMA_VERSION),)] and SCHEMA_VERSION == 4
    assert facts["keys"] == [] and facts["observed_at"] == [("TIMESTAMP_S",)]


def test_a_schema1_store_reads_as_it_is_and_upgrades_on_the_first_write(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(EXAMPLE_TRACKING)
    db = _schema1(tmp_path)
    before = _facts(db)
    assert before["version"] == [("1",)] and before["keys"] == [("PRIMARY KEY",)]
    size = db.stat().st_size

    # Readers work on the old file and leave it as it is.
    top = cli("--db", db, "top", "--day", "30", "--include-thin", "--format", "csv")
    assert top.code == 0, top.err
    assert top.out.count("\n") > 5  # a leaderboard, not just a header
    assert _facts(db) == before

    # The first write upgrades it: same rows, no key, the free space of the rebuild given back.
    with Store.open(db):
        pass
    after = _facts(db)
    assert after["version"] == [(str(SCHEMA_VERSION),)] and after["keys"] == []
    assert after["observed_at"] == [("TIMESTAMP_S",)]
    for table in ("observations", "models", "runs", "baselines"):
        assert len(after[table]) == len(before[table]) > 0, table  # type: ignore[arg-type]
    # observed_at is now to the second; every other value is the same.
    strip = lambda rows: [r[:3] + r[4:] for r in rows]  # noqa: E731
    assert strip(after["observations"]) == strip(before["observations"])  # type: ignore[arg-type]
    assert after["models"] == before["models"] and after["baselines"] == before["baselines"]
    # The rebuild's free space is given back; schema 4's quality tables take a block or two.
    assert db.stat().st_size <= size + 2 * 256 * 1024
    assert not db.with_name(db.name + ".compact").exists()
    # And it answers as before.
    again = cli("--db", db, "top", "--day", "30", "--include-thin", "--format", "csv")
    assert (again.code, again.out) == (0, top.out)


def test_an_upgrade_that_fails_leaves_the_schema1_store_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _schema1(tmp_path)
    before = _facts(db)

    def half_then_fail(self: Store) -> None:
        self.con.execute("CREATE TABLE observations_v2 AS SELECT * FROM observations")
        self.con.execute("DROP TABLE observations")
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(Store, "_drop_observation_key", half_then_fail)
    with pytest.raises(StoreError, match="nothing of this write was saved"), Store.open(db):
        pass
    assert _facts(db) == before


def test_compaction_gives_back_the_space_of_replaced_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ids = [f"org/m-{k}" for k in range(20_000)]
    day = pd.DataFrame({"model_id": ids, "obs_date": "2025-01-02", "source": "hub"})
    with Store.open(db) as s:
        for k in range(6):  # the same day written again and again: each rewrite frees blocks
            s.save(_run(), observations=day.assign(downloads_all_time=range(k, k + len(ids))))
        s.con.execute("CHECKPOINT")
        grown = db.stat().st_size
        s.compact()
    assert db.stat().st_size < grown
    with Store.open(db, read_only=True) as s:
        obs = s.observations()
    assert len(obs) == 20_000 and obs["downloads_all_time"].min() == 5


def test_compaction_refuses_a_read_only_store(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db):
        pass
    with Store.open(db, read_only=True) as s, pytest.raises(StoreError, match="read-only"):
        s.compact()
