"""The data-quality flags the store keeps as it is written (schema 4, ``ram.store.quality``) equal
their definition (``ram.metric.quality`` over ``Store.observations``) after any sequence of
writes; ``ram status`` answers from them without pandas; a schema-3 store upgrades (issue 19)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ram.config import Config
from ram.metric.quality import observation_flags
from ram.status import collect_status, observation_detail
from ram.store.database import SCHEMA_VERSION, RunRecord, Store
from tests.conftest import ROOT

SCHEMA3 = ROOT / "tests" / "data" / "store-schema3.duckdb.gz"
DAY0 = dt.date(2026, 9, 1)
COLUMNS = ["model_id", "obs_date", "source", "downloads_all_time", "downloads_30d"]


def _run(day: dt.date, source: str) -> RunRecord:
    at = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
    return RunRecord(kind="snapshot" if source == "hub" else "import", source=source, started_at=at)


def _expected(store: Store) -> list[tuple[str, str, dt.date, str]]:
    """The definition: the pandas flags over one row per model and day."""
    ref = observation_flags(store.observations())
    return [
        (m, f, pd.Timestamp(d).date(), detail)
        for m, f, d, detail in ref[["model_id", "flag", "obs_date", "detail"]].itertuples(
            index=False
        )
    ]


def _kept(store: Store) -> list[tuple[str, str, dt.date, str]]:
    return [(m, f, d, observation_detail(f, v, p)) for m, f, d, v, p in store.quality_flags()]


def _extents(store: Store) -> list[tuple[str, int, dt.date]]:
    rows = store.con.execute(
        """SELECT split_part(model_id, '/', 1), count(DISTINCT model_id), max(obs_date)
        FROM observations GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    return [tuple(r) for r in rows]


def _dirty(store: Store) -> int:
    row = store.con.execute(
        "SELECT count(*) FROM quality_state WHERE dirty_since IS NOT NULL"
    ).fetchone()
    return int(row[0]) if row else 0


def _batch(
    rng: np.random.Generator, models: list[str], days: list[dt.date], source: str
) -> pd.DataFrame:
    """Counts that mostly grow, with restatements (a count below an earlier one), 30-day
    spikes, zeros, unknowns and repeated keys."""
    rows = []
    for m in models:
        for day in days:
            k = (day - DAY0).days
            total = 1_000 * (k + 1) + int(rng.integers(0, 500))
            if rng.random() < 0.15:
                total = int(total * rng.uniform(0.2, 0.9))  # restated down
            window = (
                int(rng.choice([0, 900, 1_500, 20_000, 400_000])) if rng.random() < 0.3 else 1_000
            )
            rows.append((
                m, day, source,
                None if rng.random() < 0.1 else total,
                None if rng.random() < 0.1 else window,
            ))  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def test_kept_flags_equal_the_definition_after_every_kind_of_write(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    db = tmp_path / "q.duckdb"
    models = [f"org{i % 3}/model-{i}" for i in range(8)]
    with Store.open(db) as store:
        for step in range(40):
            kind = rng.choice(["append", "append", "past", "same-day", "clash", "settle"])
            last = store.latest_obs_date() or DAY0 - dt.timedelta(days=1)
            chosen = list(
                rng.choice(models, size=int(rng.integers(1, len(models) + 1)), replace=False)
            )
            if kind == "append":
                days = [last + dt.timedelta(days=int(d)) for d in (1, 2)]
                batch = _batch(rng, chosen, days, "hub")
            elif kind == "past":  # a backfill of days before the models' last ones
                start = DAY0 - dt.timedelta(days=int(rng.integers(0, 5)))
                days = [start + dt.timedelta(days=int(d)) for d in range(3)]
                batch = _batch(rng, chosen, days, "archive:hub-stats")
            elif kind == "same-day":  # a re-run replaces the day's rows of its source
                batch = _batch(rng, chosen, [last], "hub")
            elif kind == "clash":  # another source on stored days: live beats panel beats archive
                days = [last - dt.timedelta(days=int(d)) for d in (0, 1, 3)]
                batch = _batch(rng, chosen, days, str(rng.choice(["panel:x", "archive:y"])))
            else:
                store.settle_quality()
                assert _dirty(store) == 0
                assert _kept(store) == _expected(store)
                continue
            store.save(_run(batch["obs_date"].max(), str(batch["source"].iloc[0])), None, batch)
            assert _kept(store) == _expected(store), (step, kind)
            assert store.org_extents() and sorted(store.org_extents()) == _extents(store)
        # A rename moves a history onto another id; its flags move with it.
        store.save(_run(last, "hub"), None, _batch(rng, ["org9/new"], [last], "hub"),
                   renames={"org0/model-0": "org9/new"})  # fmt: skip
        assert _kept(store) == _expected(store)
        assert sorted(store.org_extents()) == _extents(store)
        store.settle_quality()
        assert _dirty(store) == 0 and _kept(store) == _expected(store)
        flags = {f for _, f, _, _ in _kept(store)}
    assert flags == {"restated down", "spike"}  # the sequence did raise both


def test_daily_snapshots_in_order_are_kept_without_recomputing(tmp_path: Path) -> None:
    """The incremental path: a day after every model's last one marks nothing dirty, and the
    flags it adds are the ones the whole history gives."""
    db = tmp_path / "q.duckdb"
    rng = np.random.default_rng(3)
    models = [f"org{i}/m-{i}" for i in range(5)]
    with Store.open(db) as store:
        for k in range(30):
            day = DAY0 + dt.timedelta(days=k)
            store.save(_run(day, "hub"), None, _batch(rng, models, [day], "hub"))
            assert _dirty(store) == 0
        assert _kept(store) and _kept(store) == _expected(store)
        # A backfill before the first day leaves its models dirty until settled; readers
        # meanwhile compute them (the list is right either way).
        early = _batch(rng, models[:2], [DAY0 - dt.timedelta(days=1)], "archive:a")
        store.save(_run(DAY0, "archive:a"), None, early)
        assert _dirty(store) == 2 and _kept(store) == _expected(store)
        assert store.settle_quality() == 2 and _dirty(store) == 0
        assert _kept(store) == _expected(store)


def _schema3(tmp_path: Path) -> Path:
    db = tmp_path / "old3.duckdb"
    with gzip.open(SCHEMA3, "rb") as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    return db


def test_a_schema3_store_reads_as_it_is_and_upgrades_on_the_first_write(tmp_path: Path) -> None:
    db = _schema3(tmp_path)
    today = dt.date(2026, 10, 13)
    before = collect_status(Config(), db, today=today)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT value FROM meta").fetchall() == [("3",)]
    con.close()
    assert before.flags[["model_id", "flag", "detail"]].values.tolist() == [
        ["acme/Acme-7B", "restated down", "6,000 after 8,000"],
        ["acme/Acme-70B", "spike", "30-day count x56"],
    ]
    with Store.open(db) as store:  # the first write upgrades, in one transaction
        assert _dirty(store) == 0 and _kept(store) == _expected(store)
        stored = store.con.execute("SELECT count(*) FROM quality_flags").fetchone()
        assert stored == (2,)
        version = store.con.execute("SELECT value FROM meta").fetchall()
    assert version == [(str(SCHEMA_VERSION),)] and SCHEMA_VERSION == 4
    after = collect_status(Config(), db, today=today)
    assert after.flags.values.tolist() == before.flags.values.tolist()
    assert after.freshness.values.tolist() == before.freshness.values.tolist()


def test_an_upgrade_that_fails_leaves_the_schema3_store_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ram.errors import StoreError
    from ram.store import quality

    db = _schema3(tmp_path)
    size = db.read_bytes()

    def fail(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO quality_state VALUES ('x', NULL, NULL, NULL, NULL)")
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(quality, "rebuild", fail)
    with pytest.raises(StoreError, match="nothing of this write was saved"), Store.open(db):
        pass
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta").fetchall() == [("3",)]
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert "quality_state" not in tables and len(size) > 0


def test_status_answers_without_loading_pandas(tmp_path: Path) -> None:
    """The cost ``ram status`` had at 2,000 models was reading every observation into pandas;
    now it reads aggregates and the kept flags only, in every format."""
    db = _schema3(tmp_path)
    with Store.open(db):
        pass
    probe = (
        "import io, sys, contextlib\n"
        "from ram.cli.main import main\n"
        "out = io.StringIO()\n"
        "for fmt in ('table', 'csv', 'json'):\n"
        "    sys.argv = ['ram', '--db', sys.argv[1], 'status', '--format', fmt]\n"
        "    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "        main()\n"
        "print('pandas' in sys.modules, 'restated down' in out.getvalue())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(db)], capture_output=True, text=True, check=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.stdout.split() == ["False", "True"], done.stderr
    payload = subprocess.run(
        [sys.executable, "-m", "ram.cli", "--db", str(db), "status", "--format", "json"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    flags = json.loads(payload.stdout)["flags"]
    assert [f["flag"] for f in flags] == ["restated down", "spike"]


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_plain_rows_render_as_their_frame_does(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ram status`` renders rows where it rendered frames: the same bytes, moments included
    (pandas writes one format per column: the date alone at midnight, microseconds when any
    value has them, else seconds)."""
    from ram.cli.output import emit, emit_rows

    moments = {
        "midnight": [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2), None],
        "seconds": [dt.datetime(2026, 1, 1, 6, 1, 2), dt.datetime(2026, 1, 1), None],
        "micro": [dt.datetime(2026, 1, 1, 6), dt.datetime(2026, 1, 1, 6, 0, 0, 5), None],
    }
    for values in moments.values():
        frame = pd.DataFrame(
            {
                "started_at": pd.array(values, dtype="datetime64[us]"),
                "models": pd.array([3, None, 1_000], dtype="Int32"),
                "source": ["hub", None, "panel:x"],
                "day": [dt.date(2026, 1, 1), None, dt.date(2026, 1, 3)],
            }
        )
        emit(frame, fmt, title="t", meta={"db": "x"})
        want = capsys.readouterr()
        rows = [
            (v, m, s, d)
            for v, m, s, d in zip(
                values, [3, None, 1_000], ["hub", None, "panel:x"], frame["day"], strict=True
            )
        ]
        emit_rows(list(frame.columns), rows, fmt, numeric={"models"}, title="t", meta={"db": "x"})
        got = capsys.readouterr()
        assert (got.out, got.err) == (want.out, want.err)


def test_an_analysis_reads_its_flags_from_the_store_as_the_definition_gives_them(
    sample_db: Path,
) -> None:
    """Leaderboards, scores and the cache mark rows with the observations' flags: an analysis
    takes the store's kept flags (no pass over the observations), equal to the definition's
    over what it analysed, for the whole store and for one class."""
    from ram import api
    from ram.config import load_config

    cfg = load_config(None)
    whole = api.analyse(cfg, sample_db)
    assert whole.kept_flags is not None and len(whole.flags) > 0
    pd.testing.assert_frame_equal(
        whole.flags.reset_index(drop=True),
        observation_flags(whole.obs).reset_index(drop=True),
        check_dtype=False,
    )
    flagged = str(whole.flags["model_id"].iloc[0])
    one = api.analyse(cfg, sample_db, only_model=flagged)
    assert set(one.flags["model_id"]) <= set(one.obs["model_id"])
    pd.testing.assert_frame_equal(
        one.flags.reset_index(drop=True),
        observation_flags(one.obs).reset_index(drop=True),
        check_dtype=False,
    )
    # Family units sum members' downloads: their flags are computed from those sums.
    families = api.analyse(cfg, sample_db, by="family")
    assert families.kept_flags is None
