"""The ``ram top`` cache: same bytes as the full computation, invalidated by any write or config
change, ignored for other baselines, silent when broken, and no pandas on the fast path."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ram import api, score_cache
from ram.config import Config, load_config
from ram.pipeline import panel_import
from ram.store import top_cache
from tests.conftest import EXAMPLE_TRACKING, ROOT, CliRunner, Result

CASES = [
    [],
    ["--format", "table"],
    ["--format", "json"],
    ["--day", "7"],
    ["--day", "365", "--format", "json"],
    ["--day", "90", "--limit", "25", "--format", "table"],
    ["--latest"],
    ["--latest", "--format", "table"],
    ["--latest", "--format", "json", "--limit", "3"],
    ["--size-class", "1-5B", "--limit", "3"],
    ["--size-class", "5-10B", "--format", "json"],
    ["--size-class", "250B+", "--format", "table"],  # a class without models
    ["--day", "5000"],  # beyond max_day: refused, the same both ways
    ["--day", "5000", "--format", "table"],
    ["--day", "5000", "--format", "json"],
    ["--method", "cutoff", "--day", "60"],  # the configured method: still the cache
    ["--size-class", "7B"],  # an error, the same one both ways
    ["--include-thin"],
    ["--include-thin", "--format", "json", "--day", "60"],
    ["--all", "--format", "table"],
    ["--all", "--latest", "--format", "json"],
    ["--include-thin", "--size-class", "1-5B", "--day", "90"],
]


@pytest.fixture
def analyse_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``api.analyse`` call (its options); an empty list means the cache answered."""
    calls: list[dict[str, Any]] = []
    real = api.analyse

    def spy(cfg: Config, db: Path, **options: Any) -> api.Analysis:
        calls.append(options)
        return real(cfg, db, **options)

    monkeypatch.setattr(api, "analyse", spy)
    return calls


def _key(db: Path) -> str | None:
    return score_cache.cache_key(load_config(None), db)


def _slow(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> Result:
    with monkeypatch.context() as m:
        m.setattr(score_cache, "top", lambda *a, **k: None)
        return cli(*args)


@pytest.mark.parametrize(
    "store",
    ["example_db", pytest.param("sample_db", marks=pytest.mark.slow)],  # the real sample: full run
)
def test_the_cache_prints_exactly_what_the_full_computation_prints(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, store: str
) -> None:
    db: Path = request.getfixturevalue(store)
    real = api.analyse
    computed: dict[str, api.Analysis] = {}
    calls: list[str] = []

    def once(cfg: Config, path: Path, **options: Any) -> api.Analysis:
        # One real computation serves every slow run: the live analysis does not change here.
        calls.append(str(path))
        if "live" not in computed:
            computed["live"] = real(cfg, path, **options)
        return computed["live"]

    monkeypatch.setattr(api, "analyse", once)
    assert _slow(cli, monkeypatch, "--db", db, "top").code == 0
    assert score_cache.stored_key(db) == _key(db)

    for args in CASES:
        slow = _slow(cli, monkeypatch, "--db", db, "top", *args)
        before = len(calls)
        fast = cli("--db", db, "top", *args)
        assert len(calls) == before, f"{args}: the cache did not answer"
        assert fast == slow, args


def test_cached_rows_are_the_leaderboard_of_the_worked_example(
    cli: CliRunner, example_db: Path, analyse_calls: list[dict[str, Any]]
) -> None:
    """The example's 5-10B pool is 14 curves, under min_pool (20): every row is thin, so the
    default leaderboard is empty and says why; --include-thin shows the rows, flagged."""
    cli("--db", example_db, "top")
    analyse_calls.clear()

    default = cli("--db", example_db, "top", "--day", "30", "--format", "json")
    r = cli("--db", example_db, "top", "--day", "30", "--limit", "3", "--format", "json",
            "--include-thin")  # fmt: skip

    assert analyse_calls == []
    empty = json.loads(default.out)
    assert empty["rows"] == []
    assert empty["notes"][0] == (
        "left out 14 rows on thin baselines (fewer than 20 pool curves that day; "
        "--include-thin shows them)"
    )
    assert (
        "no leaderboard for 5-10B: its baseline rests on 14 curves at day 30, fewer than "
        "min_pool 20 (thin; --include-thin shows it)"
    ) in empty["notes"]
    payload = json.loads(r.out)
    assert {k: payload[k] for k in ("as_of", "baseline")} == {
        "as_of": "2026-03-01",
        "baseline": "live cutoff, top 10",
    }
    assert payload["source"] == "Hugging Face download counts (panel:panel)"
    assert [
        (row["rank"], row["model_id"], row["n_models"], row["in_pool"], row["thin"])
        for row in payload["rows"]
    ] == [
        (1, "org0/model-0-7B", 14, True, True),
        (2, "org1/model-1-7B", 14, True, True),
        (3, "org2/model-2-7B", 14, True, True),
    ]
    first = payload["rows"][0]
    assert first["release_date"] == "2025-01-01"
    assert first["cumulative_downloads"] == 1813877.0
    assert first["baseline"] == 604625.0
    assert first["ram"] == pytest.approx(3.0, rel=1e-5)


def test_import_writes_the_cache(cli: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"

    r = cli("--db", db, "import", "panel", ROOT / "tests" / "data" / "ram-example" / "panel.csv")

    assert r.code == 0, r.err
    assert score_cache.cache_path(db).is_file()
    assert score_cache.stored_key(db) == _key(db)


def _write_panel(path: Path) -> Path:
    """Two new 7B models, alike and far ahead of all others: their RAM ties at every day."""
    released = dt.date(2025, 8, 1)
    lines = ["model_id,date,downloads_all_time,created_at,params_b,pipeline_tag"]
    for model in ("org9/rocket-7B", "org8/rocket-7B"):
        for k in range(1, 41):
            day = released + dt.timedelta(days=k)
            lines.append(f"{model},{day},{k * 10_000_000},2025-08-01T00:00:00Z,7,text-generation")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_write_to_the_store_invalidates_the_cache(
    cli: CliRunner,
    example_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    analyse_calls: list[dict[str, Any]],
) -> None:
    cli("--db", example_db, "top")
    old_key = score_cache.stored_key(example_db)
    panel = _write_panel(tmp_path / "rockets.csv")
    # A write that does not refresh the cache, as any other writer might.
    monkeypatch.setattr(panel_import, "refresh_top_cache", lambda cfg, db: False)
    panel_import.import_panel(load_config(None), example_db, panel)
    analyse_calls.clear()

    r = cli("--db", example_db, "top", "--limit", "3", "--include-thin")

    assert len(analyse_calls) == 1
    # Equal RAM ranks by model id, in the cache as in the full computation.
    assert [line.split(",")[:2] for line in r.out.splitlines()[1:]] == [
        ["1", "org8/rocket-7B"],
        ["2", "org9/rocket-7B"],
        ["3", "org0/model-0-7B"],
    ]
    assert score_cache.stored_key(example_db) not in (None, old_key)
    analyse_calls.clear()
    for fmt in ("csv", "json", "table"):
        args = ("--db", example_db, "top", "--limit", "3", "--format", fmt, "--include-thin")
        assert cli(*args) == _slow(cli, monkeypatch, *args), fmt
    assert len(analyse_calls) == 3  # the slow runs only


def test_a_config_change_invalidates_the_cache(
    cli: CliRunner, example_db: Path, tmp_path: Path, analyse_calls: list[dict[str, Any]]
) -> None:
    cli("--db", example_db, "top")
    (tmp_path / "config.yaml").write_text(EXAMPLE_TRACKING + "  exclude: [org0/model-0-7B]\n")
    analyse_calls.clear()

    r = cli("--db", example_db, "top", "--limit", "2", "--include-thin")

    assert len(analyse_calls) == 1
    assert [line.split(",")[1] for line in r.out.splitlines()[1:]] == [
        "org1/model-1-7B",
        "org2/model-2-7B",
    ]


def test_a_setting_outside_scoring_keeps_the_cache(example_db: Path, tmp_path: Path) -> None:
    before = _key(example_db)
    (tmp_path / "config.yaml").write_text(EXAMPLE_TRACKING + "charts:\n  default_models: 3\n")
    assert _key(example_db) == before
    (tmp_path / "config.yaml").write_text(EXAMPLE_TRACKING + "ram:\n  top_n: 5\n")
    assert _key(example_db) != before


def test_the_key_follows_the_database_files(example_db: Path) -> None:
    before = _key(example_db)
    wal = Path(str(example_db) + ".wal")
    wal.write_bytes(b"")
    with_wal = _key(example_db)
    os.utime(example_db, ns=(0, 0))

    assert len({before, with_wal, _key(example_db)}) == 3
    assert _key(example_db.with_name("missing.duckdb")) is None


@pytest.mark.parametrize(
    "args",
    [["--method", "median"], ["--as-of", "2025-12-01"], ["--baseline", "2026-Q1"]],
)
def test_other_baselines_are_computed_and_never_cached(
    cli: CliRunner, example_db: Path, analyse_calls: list[dict[str, Any]], args: list[str]
) -> None:
    cli("--db", example_db, "baseline", "--freeze", "2026-Q1")
    cli("--db", example_db, "top")
    cache = score_cache.cache_path(example_db)
    stamp = cache.stat().st_mtime_ns
    live = cli("--db", example_db, "top", "--format", "json")
    analyse_calls.clear()

    r = cli("--db", example_db, "top", "--format", "json", *args)

    assert r.code == 0, r.err
    assert len(analyse_calls) == 1
    assert cache.stat().st_mtime_ns == stamp
    header = {k: v for k, v in json.loads(r.out).items() if k != "rows"}
    assert header != {k: v for k, v in json.loads(live.out).items() if k != "rows"}


def test_scores_and_score_warm_the_cache_too(
    cli: CliRunner, example_db: Path, analyse_calls: list[dict[str, Any]]
) -> None:
    cli("--db", example_db, "scores", "--as-of", "2025-12-01")
    assert not score_cache.cache_path(example_db).exists()

    cli("--db", example_db, "score", "org0/model-8-7B")
    assert score_cache.stored_key(example_db) == _key(example_db)
    analyse_calls.clear()
    cli("--db", example_db, "top")
    assert analyse_calls == []


@pytest.mark.parametrize("content", [b"", b"not parquet at all", b"PAR1\x00\x00PAR1"])
def test_a_corrupt_cache_falls_back_silently_and_is_rewritten(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, example_db: Path, content: bytes
) -> None:
    want = _slow(cli, monkeypatch, "--db", example_db, "top", "--format", "json")
    score_cache.cache_path(example_db).write_bytes(content)

    r = cli("--db", example_db, "top", "--format", "json")

    assert r == want
    assert score_cache.stored_key(example_db) == _key(example_db)


def test_a_cache_of_another_state_is_ignored(
    cli: CliRunner, example_db: Path, analyse_calls: list[dict[str, Any]]
) -> None:
    an = api.analyse(load_config(None), example_db, method="median")
    assert score_cache.save(an, example_db, "some other state")
    analyse_calls.clear()

    r = cli("--db", example_db, "top", "--format", "json")

    assert len(analyse_calls) == 1
    assert json.loads(r.out)["baseline"] == "live cutoff, top 10"


def test_a_cache_replaced_while_read_is_not_used(
    cli: CliRunner, example_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("--db", example_db, "top")
    cache = score_cache.cache_path(example_db)
    copy = cache.with_name("copy.parquet")
    copy.write_bytes(cache.read_bytes())
    real: Callable[..., Any] = top_cache._read_meta

    def then_replace(con: Any, path: Path) -> Any:
        meta = real(con, path)
        os.replace(copy, cache)
        return meta

    monkeypatch.setattr(top_cache, "_read_meta", then_replace)

    assert score_cache.top(load_config(None), example_db, 30, None, 10) is None


def test_a_cache_that_cannot_be_written_costs_nothing_but_time(
    cli: CliRunner, example_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(top_cache.tempfile, "mkstemp", read_only)

    r = cli("--db", example_db, "top", "--limit", "1", "--include-thin")

    assert r.code == 0
    assert r.out.splitlines()[1].startswith("1,org0/model-0-7B,5-10B,2025-01-01,30,")
    assert sorted(p.name for p in tmp_path.iterdir() if "example" in p.name) == ["example.duckdb"]


def test_the_fast_path_imports_no_pandas(cli: CliRunner, sample_db: Path, tmp_path: Path) -> None:
    cli("--db", sample_db, "top")
    probe = (
        "import contextlib, io, json, sys\n"
        "from ram.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main(['--db', {str(sample_db)!r}, 'top', '--format', 'json'])\n"
        "heavy = ('pandas', 'numpy', 'pyarrow', 'plotly', 'huggingface_hub', 'rich',\n"
        "         'ram.api', 'ram.catalog', 'ram.metric.formula', 'ram.store.database')\n"
        "print(json.dumps({'code': code, 'rows': len(json.loads(out.getvalue())['rows']),\n"
        "                  'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RAM_DB", "RAM_CONFIG")}

    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert run.returncode == 0, run.stderr
    # 10 rows each for the two classes whose day-30 baseline is not thin (1-5B, 5-10B)
    assert json.loads(run.stdout) == {"code": 0, "rows": 20, "loaded": []}


def test_leftovers_of_killed_writes_are_removed_once_old(cli: CliRunner, example_db: Path) -> None:
    cache = score_cache.cache_path(example_db)
    old, recent = (cache.with_name(f"{cache.name}.{tag}.tmp") for tag in ("old", "recent"))
    old.write_bytes(b"half")
    recent.write_bytes(b"half")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    assert cli("--db", example_db, "top").code == 0

    assert cache.is_file() and recent.is_file()  # maybe a write in progress: left alone
    assert not old.exists()


def test_import_refreshes_the_cache_as_a_library_call(example_db: Path, tmp_path: Path) -> None:
    """The pipeline's write path refreshes the cache, whoever calls it (CLI, scheduler, code)."""
    cfg = load_config(None)
    before = score_cache.stored_key(example_db)

    panel_import.import_panel(cfg, example_db, _write_panel(tmp_path / "rockets.csv"))

    assert score_cache.stored_key(example_db) == score_cache.cache_key(cfg, example_db) != before


def test_backfill_refreshes_the_cache(cli: CliRunner, tmp_path: Path) -> None:
    from tests.archive_fixtures import hub_stats_layout

    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "tracking:\n  use_catalog: false\n  orgs: {Qwen: china, meta-llama: us}\nram:\n  top_n: 1\n"
    )
    days = [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)]
    db = tmp_path / "s.duckdb"

    assert cli("--db", db, "backfill", hub_stats_layout(tmp_path, days)).code == 0

    assert score_cache.stored_key(db) == score_cache.cache_key(load_config(cfg), db)


SCHEMES = {
    "coarse": "sizes:\n  scheme: coarse\n",
    "custom": 'sizes:\n  scheme:\n    - {label: "small, \\"tiny\\"", min: 0, max: 5}\n'
    "    - {label: big, min: 5}\n",
}


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_other_size_schemes_rank_and_quote_alike(
    cli: CliRunner,
    sample_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    analyse_calls: list[dict[str, Any]],
    scheme: str,
) -> None:
    (tmp_path / "config.yaml").write_text(SCHEMES[scheme])
    outputs = []
    for args in (["--limit", "3"], ["--latest", "--format", "json"], ["--format", "table"]):
        slow = _slow(cli, monkeypatch, "--db", sample_db, "top", *args)
        analyse_calls.clear()
        assert cli("--db", sample_db, "top", *args) == slow, args
        assert analyse_calls == []
        outputs.append(slow.out)
    if scheme == "custom":
        assert outputs[0].splitlines()[1] == (
            '1,Qwen/Qwen2.5-1.5B-Instruct,"small, ""tiny""",2024-09-17,30,50510099,155401,'
            "325.03072052303395,34,True,False,spike 2024-10-02"  # the 30-day count jumped x10+
        )


def test_a_store_without_scores_caches_an_empty_leaderboard(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = tmp_path / "tiny.csv"
    panel.write_text(
        "model_id,date,downloads_all_time,created_at\n"
        "foo/bar,2025-01-02,10,2025-01-01T00:00:00Z\n"
        "foo/bar,2025-01-03,20,2025-01-01T00:00:00Z\n"
    )
    db = tmp_path / "tiny.duckdb"
    assert cli("--db", db, "import", "panel", panel).code == 0

    for fmt in ("csv", "json", "table"):
        fast = cli("--db", db, "top", "--format", fmt)
        assert fast == _slow(cli, monkeypatch, "--db", db, "top", "--format", fmt)
    assert fast.code == 0 and "Top models by RAM at day 30" in fast.out
    assert cli("--db", db, "top").out == (
        "rank,model_id,size_class,release_date,day,cumulative_downloads,baseline,ram,n_models,"
        "in_pool,thin,flags\n"
    )


def test_an_edit_to_any_module_of_any_sub_package_changes_the_key(
    example_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key covers the code of every layer (ram/metric/formula.py as much as ram/api.py): a
    copy of the package with one module edited gets another key."""
    import shutil

    from ram.store import cache_key

    package = tmp_path / "ram"
    shutil.copytree(
        Path(score_cache.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(cache_key, "_PACKAGE", package)
    cfg = load_config(None)
    before = score_cache.cache_key(cfg, example_db)
    formula = package / "metric" / "formula.py"
    formula.write_text(formula.read_text() + "\n# an edit\n")

    assert score_cache.cache_key(cfg, example_db) not in (None, before)


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_ram_scores_from_the_cache_prints_what_the_computation_prints(
    cli: CliRunner, example_db: Path, analyse_calls: list[dict[str, Any]], fmt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cli("--db", example_db, "top")  # computes and writes the cache
    with monkeypatch.context() as m:
        m.setattr(score_cache, "scores", lambda *a, **k: None)
        slow = cli("--db", example_db, "scores", "--format", fmt)
    analyse_calls.clear()
    fast = cli("--db", example_db, "scores", "--format", fmt)
    assert analyse_calls == [], "the cache did not answer"
    assert fast == slow and slow.code == 0 and slow.out.count("\n") > 20
    # Other days, an org or an older baseline are computed.
    assert cli("--db", example_db, "scores", "--day", "45", "--format", fmt).code == 0
    assert len(analyse_calls) == 1


def test_the_cache_holds_the_milestones_and_a_day_between_is_computed(
    cli: CliRunner, example_db: Path, analyse_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cli("--db", example_db, "top", "--include-thin")
    analyse_calls.clear()
    import duckdb

    cached = duckdb.sql(
        "SELECT DISTINCT day FROM read_parquet(?) WHERE NOT is_latest ORDER BY day",
        params=[str(score_cache.cache_path(example_db))],
    ).fetchall()
    # Milestone rows only (day 365 has no baseline in the example: no row), not every day.
    assert [d for (d,) in cached] == [7, 14, 30, 60, 90, 180]
    assert set(Config().ram.milestones) == {7, 14, 30, 60, 90, 180, 365}
    between = cli("--db", example_db, "top", "--day", "45", "--include-thin", "--format", "csv")
    assert len(analyse_calls) == 1 and between.code == 0
    assert between.out.count("\n") > 3 and ",45," in between.out


def test_a_later_day_of_a_few_models_says_the_others_stop_earlier(
    cli: CliRunner, example_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    analyse_calls: list[dict[str, Any]],
) -> None:  # fmt: skip
    """Issue 14: one small backfill moved every output's as-of to its date although most models
    stop earlier.  The leaderboard now says how many, from the cache as from the computation;
    ``ram score`` gives the model's own last observation."""
    later = tmp_path / "later.csv"
    later.write_text("model_id,date,downloads_all_time\norg0/model-0-7B,2026-04-15,3000000\n")
    assert cli("--db", example_db, "import", "panel", later).code == 0
    slow = _slow(cli, monkeypatch, "--db", example_db, "top", "--include-thin", "--format", "json")
    analyse_calls.clear()
    fast = cli("--db", example_db, "top", "--include-thin", "--format", "json")
    assert analyse_calls == [] and fast == slow
    notes = json.loads(fast.out)["notes"]
    (stale,) = [n for n in notes if "last observed" in n]
    assert stale.startswith("13 of 14 tracked models were last observed more than 14 days before "
                            "the as-of date 2026-04-15")  # fmt: skip
    score = json.loads(cli("--db", example_db, "score", "org1/model-1-7B", "--format", "json").out)
    assert (score["as_of"], score["last_observation"]) == ("2026-04-15", "2026-03-01")
