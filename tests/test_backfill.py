"""``ram backfill`` end to end: dated hub-stats archives into a store, one transaction per file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ram.store.database import RunRecord, Store
from tests.archive_fixtures import hub_stats_layout, model, snapshot_rows, write_archive
from tests.conftest import CliRunner

DAYS = [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)]
KEPT = ["Qwen/Qwen3-14B", "Qwen/Qwen3-8B", "Qwen/Qwen3-8B-GGUF", "meta-llama/Llama-3.1-8B-Instruct"]
# Tracked by id: three of them appear in snapshot_rows(); DeepSeek-V3 is absent from the files.
CONFIG = """\
tracking:
  use_catalog: false
  orgs: {Qwen: china, meta-llama: us}
  include: [Qwen/Qwen3-8B, meta-llama/Llama-3.1-8B-Instruct, deepseek-ai/DeepSeek-V3,
            Qwen/Qwen3-8B-GGUF]
ram:
  top_n: 1
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _observations(db: Path) -> list[tuple[object, ...]]:
    return _query(
        db,
        "SELECT model_id, obs_date, source, observed_at, downloads_all_time, downloads_30d, likes "
        "FROM observations ORDER BY ALL",
    )


def test_backfill_keeps_tracked_models_exactly(cli: CliRunner, cfg: Path, tmp_path: Path) -> None:
    root = hub_stats_layout(tmp_path, DAYS)
    db = tmp_path / "s.duckdb"

    r = cli("--config", cfg, "--db", db, "backfill", root)

    assert r.code == 0, r.err
    assert r.out.startswith(
        f"backfilled 3 files (2025-03-01 .. 2025-03-03) as archive:hub-stats into {db}: "
        "12 observations of 4 models (4 new) in "
    )
    assert _query(db, "SELECT DISTINCT model_id FROM observations ORDER BY 1") == [
        (m,) for m in KEPT
    ]
    obs = _observations(db)
    assert len(obs) == 12
    qwen = [o for o in obs if o[0] == "Qwen/Qwen3-8B"]
    assert qwen == [
        ("Qwen/Qwen3-8B", d, "archive:hub-stats", None, 5000 * i, 1000 * i, 3)
        for i, d in enumerate(DAYS, start=1)
    ]
    models = _query(
        db,
        "SELECT model_id, via, tracked, tracked_reason, first_seen, last_seen, safetensors_total, "
        "license, hub_id FROM models ORDER BY 1",
    )
    assert models == [
        ("Qwen/Qwen3-14B", "archive", True, "new release of tracked org Qwen", DAYS[0], DAYS[2],
         14_800_000_000, "apache-2.0", "id-qwen-qwen3-14b"),
        ("Qwen/Qwen3-8B", "archive", True, "included in config", DAYS[0], DAYS[2],
         8_000_000_000, "apache-2.0", "id-qwen-qwen3-8b"),
        ("Qwen/Qwen3-8B-GGUF", "archive", True, "included in config", DAYS[0], DAYS[2],
         None, "apache-2.0", "id-qwen-qwen3-8b-gguf"),
        ("meta-llama/Llama-3.1-8B-Instruct", "archive", True, "included in config", DAYS[0],
         DAYS[2], 8_000_000_000, None, "id-meta-llama-llama-3.1-8b-instruct"),
    ]  # fmt: skip
    runs = _query(
        db,
        "SELECT kind, source, status, models, observations, new_models, details "
        "FROM runs ORDER BY started_at",
    )
    assert [r[:6] for r in runs] == [
        ("backfill", "archive:hub-stats", "ok", 4, 4, 4),
        ("backfill", "archive:hub-stats", "ok", 4, 4, 0),
        ("backfill", "archive:hub-stats", "ok", 4, 4, 0),
    ]
    assert json.loads(str(runs[0][6])) == {
        "file": str(root / "2025-03-01" / "models.parquet"),
        "snapshot_date": "2025-03-01",
        "rows_in_file": 13,
        "rows_kept": 4,
        "models": 4,
        "discovered": 1,
    }
    assert r.err.splitlines() == [
        *(
            f"[{i}/3] reading {d} {root / d.isoformat() / 'models.parquet'}"
            for i, d in enumerate(DAYS, start=1)
        ),
        *(f"[{i}/3] saved 4 observations ({4 if i == 1 else 0} new models)" for i in range(1, 4)),
    ]


def test_second_backfill_of_the_same_files_adds_nothing(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    root = hub_stats_layout(tmp_path, DAYS)
    db = tmp_path / "s.duckdb"
    assert cli("--config", cfg, "--db", db, "backfill", root).code == 0
    obs_before = _observations(db)
    models_before = _query(db, "SELECT * FROM models ORDER BY model_id")

    r = cli("--config", cfg, "--db", db, "backfill", root, "--name", "hub-stats")

    assert r.code == 0, r.err
    assert "12 observations of 4 models (0 new)" in r.out
    assert _observations(db) == obs_before
    assert _query(db, "SELECT * FROM models ORDER BY model_id") == models_before
    assert _query(db, "SELECT count(*) FROM runs") == [(6,)]
    # every row now belongs to the second backfill's runs
    assert _query(
        db,
        "SELECT count(*) FROM observations o JOIN (SELECT run_id FROM runs ORDER BY started_at "
        "DESC LIMIT 3) r USING (run_id)",
    ) == [(12,)]


def _not_parquet(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,downloads\nQwen/Qwen3-8B,5\n")


def _no_id_column(path: Path) -> None:
    write_archive(path, snapshot_rows(), drop=["id"])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_not_parquet, "not a readable Parquet archive ("),
        (_no_id_column, "no model id column 'id'"),
    ],
)
def test_a_bad_file_is_refused_and_the_store_is_unchanged(
    cli: CliRunner, cfg: Path, tmp_path: Path, make: Callable[[Path], None], reason: str
) -> None:
    db = tmp_path / "s.duckdb"
    good = hub_stats_layout(tmp_path, DAYS[:1])
    assert cli("--config", cfg, "--db", db, "backfill", good).code == 0
    bad = tmp_path / "other" / "2025-03-05" / "models.parquet"
    make(bad)
    before = _digest(db)

    r = cli("--config", cfg, "--db", db, "backfill", bad)

    assert (r.code, r.out) == (2, "")
    lines = r.err.splitlines()
    why = lines[1].removeprefix("refused ")
    assert why.startswith(f"{bad}: {reason}")
    assert lines == [
        f"[1/1] reading 2025-03-05 {bad}",
        f"refused {why}",
        f"Error: 1 of 1 file refused, nothing imported from them; first: {why}",
    ]
    assert _digest(db) == before


def test_a_folder_with_a_good_and_a_bad_file_lands_the_good_one(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    root = hub_stats_layout(tmp_path, DAYS[1:2])
    bad = root / "2025-03-01" / "models.parquet"  # the older file is the bad one
    write_archive(bad, [*snapshot_rows(), model("Qwen/Qwen3-8B", 7, 8)])
    db = tmp_path / "s.duckdb"

    r = cli("--config", cfg, "--db", db, "backfill", root)

    assert r.code == 2
    assert "backfilled 1 file (2025-03-02) as archive:hub-stats" in r.out
    assert "4 observations of 4 models (4 new)" in r.out
    assert f"refused {bad}: Qwen/Qwen3-8B appears more than once; nothing imported" in r.err
    assert r.err.splitlines()[-1] == (
        f"Error: 1 of 2 files refused, nothing imported from them; first: {bad}: "
        "Qwen/Qwen3-8B appears more than once; nothing imported"
    )
    assert _query(db, "SELECT DISTINCT obs_date FROM observations") == [(DAYS[1],)]
    assert _query(db, "SELECT count(*), min(status) FROM runs") == [(1, "ok")]


def test_live_rows_win_over_archive_rows_of_the_same_day(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    released = dt.datetime(2025, 2, 22, 9, tzinfo=dt.UTC)  # 2025-03-02 is day 8
    root = tmp_path / "hub-stats"
    for i, day in enumerate(DAYS, start=1):
        rows = [model("Qwen/Qwen3-8B", 100 * i, 1000 * i, created=released)]
        write_archive(root / day.isoformat() / "models.parquet", rows)
    db = tmp_path / "s.duckdb"
    live = pd.DataFrame(
        {
            "model_id": ["Qwen/Qwen3-8B"],
            "obs_date": [DAYS[1]],
            "source": ["hub"],
            "observed_at": [pd.Timestamp("2025-03-02 06:17")],
            "downloads_all_time": [2345],
            "downloads_30d": [234],
            "likes": [5],
        }
    )
    started = dt.datetime(2025, 3, 2, 6, 17, tzinfo=dt.UTC)
    with Store.open(db) as store:
        store.save(RunRecord(kind="snapshot", source="hub", started_at=started), observations=live)

    assert cli("--config", cfg, "--db", db, "backfill", root).code == 0
    r = cli("--config", cfg, "--db", db, "score", "Qwen/Qwen3-8B", "-d", "7", "-d", "8", "-d", "9",
            "--format", "json")  # fmt: skip

    assert r.code == 0, r.err
    rows = json.loads(r.out)["rows"]
    assert [(x["day"], x["cumulative_downloads"]) for x in rows] == [
        (7, 1000),
        (8, 2345),
        (9, 3000),
    ]
    assert _query(db, "SELECT count(*) FROM observations WHERE obs_date = '2025-03-02'") == [(2,)]


def test_dry_run_writes_nothing_and_lists_each_file(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    root = hub_stats_layout(tmp_path, DAYS[:2])
    db = tmp_path / "s.duckdb"

    r = cli("--config", cfg, "--db", db, "backfill", root, "--dry-run", "--format", "csv")

    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "file,date,rows_in_file,rows_kept,models,discovered,error",
        f"{root / '2025-03-01' / 'models.parquet'},2025-03-01,13,4,4,1,",
        f"{root / '2025-03-02' / 'models.parquet'},2025-03-02,13,4,4,1,",
    ]
    assert not db.exists()
    assert cli("--config", cfg, "--db", db, "backfill", root).code == 0
    before = _digest(db)
    again = cli("--config", cfg, "--db", db, "backfill", root, "--dry-run", "-f", "json")
    assert [(x["date"], x["rows_kept"]) for x in json.loads(again.out)["rows"]] == [
        ("2025-03-01", 4),
        ("2025-03-02", 4),
    ]
    assert _digest(db) == before


def test_dry_run_reports_a_bad_file_and_exits_2(cli: CliRunner, cfg: Path, tmp_path: Path) -> None:
    root = hub_stats_layout(tmp_path, DAYS[:1])
    _not_parquet(root / "2025-03-02" / "models.parquet")

    r = cli("--config", cfg, "--db", tmp_path / "s.duckdb", "backfill", root, "--dry-run",
            "-f", "csv")  # fmt: skip

    assert r.code == 2
    lines = r.out.splitlines()
    assert lines[1].endswith(",2025-03-01,13,4,4,1,")
    assert ",2025-03-02,,,,," in lines[2] and "not a readable Parquet archive" in lines[2]
    assert r.err.splitlines()[-1].startswith("Error: 1 of 2 files would be refused; first: ")


@pytest.mark.parametrize(
    "url",
    [
        "https://huggingface.co/datasets/cfahlgren1/hub-stats/resolve/0a1b/models.parquet",
        "hf://datasets/hfmlsoc/hub_weekly_snapshots/models/2025-03-03/models.parquet",
    ],
)
def test_remote_archive_without_httpfs_is_a_one_line_error(
    cli: CliRunner, cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # DuckDB looks for extensions under HOME
    db = tmp_path / "s.duckdb"

    r = cli("--config", cfg, "--db", db, "backfill", url, "--date", "2025-03-03")

    assert r.code == 1
    assert r.err.splitlines() == [
        f"Error: {url}: remote archives need DuckDB's httpfs extension, which is not installed "
        "or does not load (DuckDB downloads it on first use); install it with network access: "
        "python -c \"import duckdb; duckdb.connect().install_extension('httpfs')\" "
        "(or download the files and pass their local paths)"
    ]
    assert not db.exists()


def test_a_new_release_keeps_its_first_days_under_the_threshold(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    root = tmp_path / "hub-stats"
    for day, downloads in zip(DAYS, (40, 99, 600), strict=True):
        rows = [*snapshot_rows(), model("Qwen/Qwen3-32B", downloads, downloads)]
        write_archive(root / day.isoformat() / "models.parquet", rows)
    db = tmp_path / "s.duckdb"

    assert cli("--config", cfg, "--db", db, "backfill", root).code == 0

    assert _query(
        db,
        "SELECT obs_date, downloads_30d FROM observations WHERE model_id = 'Qwen/Qwen3-32B'"
        " ORDER BY 1",
    ) == list(zip(DAYS, (40, 99, 600), strict=True))
    assert _query(db, "SELECT tracked FROM models WHERE model_id = 'Qwen/Qwen3-32B'") == [(True,)]


def test_catalog_orgs_old_repos_the_catalog_left_out_are_skipped(
    cli: CliRunner, tmp_path: Path
) -> None:
    old = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    new = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)  # after the bundled catalog's date
    rows = [
        model("Qwen/Qwen3-8B", 1000, 5000),  # in ATOM's catalog
        model("Qwen/Qwen9-Left-Out-7B", 5000, 9000, created=old),
        model("Qwen/Qwen9-New-7B", 5000, 9000, created=new),
    ]
    path = write_archive(tmp_path / "hub-stats" / "2026-09-10" / "models.parquet", rows)
    db = tmp_path / "s.duckdb"

    dry = cli("--db", db, "backfill", path, "--dry-run", "-f", "csv")
    r = cli("--db", db, "backfill", path)

    assert dry.out.splitlines()[1].endswith(",2026-09-10,3,2,2,1,")
    assert r.code == 0, r.err
    assert _query(db, "SELECT model_id, tracked_reason FROM models ORDER BY 1") == [
        ("Qwen/Qwen3-8B", "ATOM catalog"),
        ("Qwen/Qwen9-New-7B", "new release of tracked org Qwen"),
    ]


def test_models_the_store_tracks_are_kept_and_keep_how_they_came_in(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_text(
        "model_id,date,downloads_30d,params_b,pipeline_tag\n"
        "someone/Qwen3-8B-finetune,2025-02-01,40,8,text-generation\n"
    )
    db = tmp_path / "s.duckdb"
    assert cli("--config", cfg, "--db", db, "import", "panel", panel).code == 0

    r = cli("--config", cfg, "--db", db, "backfill", hub_stats_layout(tmp_path, DAYS[:1]))

    assert r.code == 0, r.err
    assert "5 observations of 5 models (4 new)" in r.out
    assert _query(
        db, "SELECT via, tracked FROM models WHERE model_id = 'someone/Qwen3-8B-finetune'"
    ) == [("import", True)]
    assert _query(
        db,
        "SELECT obs_date, downloads_30d, source FROM observations "
        "WHERE model_id = 'someone/Qwen3-8B-finetune' ORDER BY 1",
    ) == [(dt.date(2025, 2, 1), 40, "panel:panel"), (DAYS[0], 50, "archive:hub-stats")]


def test_undated_file_needs_date_and_a_contradicting_date_is_refused(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    dump = write_archive(tmp_path / "dump" / "models.parquet", snapshot_rows())
    db = tmp_path / "s.duckdb"

    missing = cli("--config", cfg, "--db", db, "backfill", dump)
    bad_date = cli("--config", cfg, "--db", db, "backfill", dump, "--date", "2025-02-30")
    ok = cli("--config", cfg, "--db", db, "backfill", dump, "--date", "2025-02-26",
             "--name", "hub-stats")  # fmt: skip

    assert (missing.code, missing.err.strip()) == (
        2,
        f"Error: {dump}: no YYYY-MM-DD in the path; pass --date YYYY-MM-DD",
    )
    assert (bad_date.code, bad_date.err.strip()) == (
        2,
        "Error: --date '2025-02-30' is not a date; use YYYY-MM-DD",
    )
    assert ok.code == 0, ok.err
    assert "backfilled 1 file (2025-02-26) as archive:hub-stats" in ok.out
    contradicting = cli("--config", cfg, "--db", db, "backfill",
                        hub_stats_layout(tmp_path, DAYS[:1]), "--date", "2025-03-09")  # fmt: skip
    assert contradicting.code == 2
    assert "the path says 2025-03-01, --date says 2025-03-09; drop --date" in contradicting.err


def test_archive_derivatives_counts_base_model_tags_of_every_row(
    cli: CliRunner, cfg: Path, tmp_path: Path
) -> None:
    """``archive.derivatives``: each tracked model's children on the file's day, from every
    row's ``base_model:<relation>:ID`` tags (children of other orgs included), zeros kept."""
    day = dt.date(2025, 3, 1)
    rows = snapshot_rows()

    def child(model_id: str, *tags: str) -> dict[str, object]:
        row = model(model_id, 10, 10)
        row["tags"] = [*row["tags"], *tags]  # type: ignore[misc]
        return row

    rows += [
        child("a/ft1", "base_model:Qwen/Qwen3-8B", "base_model:finetune:Qwen/Qwen3-8B"),
        child("b/ft2", "base_model:finetune:qwen/qwen3-8b"),  # tags name ids in any case
        child("c/q", "base_model:quantized:Qwen/Qwen3-8B"),
        child(
            "d/merge",
            "base_model:merge:Qwen/Qwen3-8B",
            "base_model:merge:meta-llama/Llama-3.1-8B-Instruct",
        ),
        child(
            "e/odd", "base_model:forks:Qwen/Qwen3-8B", "base_model:Qwen/Qwen3-8B"
        ),  # not a relation
    ]
    path = write_archive(tmp_path / "hub-stats" / day.isoformat() / "models.parquet", rows)
    cfg.write_text(cfg.read_text() + "archive:\n  derivatives: true\n")
    db = tmp_path / "s.duckdb"

    r = cli("--config", cfg, "--db", db, "backfill", path)

    assert r.code == 0, r.err
    got = _query(db, "SELECT model_id, obs_date, relation, n, source FROM derivatives ORDER BY 1")
    assert got == [
        ("Qwen/Qwen3-14B", day, "all", 0, "archive:hub-stats"),
        ("Qwen/Qwen3-8B", day, "all", 4, "archive:hub-stats"),
        ("Qwen/Qwen3-8B-GGUF", day, "all", 0, "archive:hub-stats"),
        ("meta-llama/Llama-3.1-8B-Instruct", day, "all", 1, "archive:hub-stats"),
    ]
    cfg.write_text(cfg.read_text().replace("derivatives: true", "derivatives: false"))
    db2 = tmp_path / "s2.duckdb"
    assert cli("--config", cfg, "--db", db2, "backfill", path).code == 0
    assert _query(db2, "SELECT count(*) FROM derivatives") == [(0,)]  # off by default


def test_a_catalog_orgs_new_release_keeps_its_first_days_once_it_qualifies(
    tmp_path: Path,
) -> None:
    """A repo of a catalog org created after the catalog, under ``min_downloads`` on its first
    day and over it on the next: both days land, as a non-catalog org's release does; a repo of
    the same org that predates the catalog stays out whatever its count."""
    from ram.catalog import CATALOG_DATE
    from ram.config import parse_config
    from ram.pipeline.backfill import backfill

    after = dt.datetime.combine(CATALOG_DATE, dt.time(12), dt.UTC) + dt.timedelta(days=10)
    days = [CATALOG_DATE + dt.timedelta(days=20), CATALOG_DATE + dt.timedelta(days=21)]
    root = tmp_path / "hub-stats"
    for day, n in zip(days, (40, 400), strict=True):
        write_archive(root / day.isoformat() / "models.parquet", [
            model("Qwen/Qwen9-Fresh-8B", n, n, created=after),
            model("Qwen/Qwen1-Old-8B", 5000, 9000, created=after - dt.timedelta(days=600)),
        ])  # fmt: skip
    db = tmp_path / "s.duckdb"
    runs = backfill(parse_config({"tracking": {"min_downloads": 100}}), db, [str(root)])
    assert [r.status for r in runs] == ["ok", "ok"]
    assert _query(db, "SELECT model_id, obs_date, downloads_30d FROM observations ORDER BY 2") == [
        ("Qwen/Qwen9-Fresh-8B", days[0], 40), ("Qwen/Qwen9-Fresh-8B", days[1], 400)]  # fmt: skip
