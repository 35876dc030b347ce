"""The CLI end to end: the golden example, output formats, and one-line errors with exit 2."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import EXAMPLE, EXAMPLE_TRACKING, CliRunner


def _compare(out: str, expected: Path) -> None:
    got = pd.read_csv(io.StringIO(out))
    want = pd.read_csv(expected)
    assert list(got.columns) == [
        "model_id",
        "size_class",
        "release_date",
        "day",
        "cumulative_downloads",
        "baseline",
        "ram",
        "n_models",
        "in_pool",
        "thin",
        "flags",
    ]
    # The example's pool is 14 curves (15 models, one of unknown size): under min_pool (20),
    # every cell is thin; every scored model is tracked.
    assert got["thin"].all() and got["in_pool"].all()
    # orgr/restated-9B's count restated down on 2025-09-04 (day 3) marks its scores from day 3
    restated = got[got["flags"].notna()]
    assert set(restated["model_id"]) == {"orgr/restated-9B"}
    assert set(restated["flags"]) == {"restated down 2025-09-04"}
    assert got["n_models"].between(1, 14).all()
    merged = want.merge(
        got, on=["model_id", "day"], how="outer", suffixes=("_w", "_g"), indicator=True
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert (merged["size_class_w"] == merged["size_class_g"]).all()
    for col in ("cumulative_downloads", "baseline", "ram"):
        rel = (merged[f"{col}_g"] - merged[f"{col}_w"]).abs() / merged[f"{col}_w"].abs()
        assert rel.max() < 1e-6, col


@pytest.mark.parametrize("method", ["cutoff", "median"])
def test_scores_reproduce_the_golden_example(cli: CliRunner, tmp_path: Path, method: str) -> None:
    db = tmp_path / "g.duckdb"
    bare = cli("--db", tmp_path / "bare.duckdb", "import", "panel", EXAMPLE / "panel.csv")
    # Untagged repos of orgs outside the catalog and tracking.orgs: none tracked, and it says so.
    assert "(15 new, 0 tracked)" in bare.out
    assert bare.err.splitlines()[-1].startswith(
        "15 imported models are not tracked: the panel gives no pipeline tag and their orgs "
        "(org0, org1, org2, org3, orgr and 2 more) are outside the catalog and tracking.orgs"
    )
    (tmp_path / "config.yaml").write_text(EXAMPLE_TRACKING)
    imported = cli("--db", db, "import", "panel", EXAMPLE / "panel.csv")
    assert imported.code == 0, imported.err
    assert "2,606 observations of 15 models" in imported.out
    assert "(15 new, 14 tracked)" in imported.out  # orgx/mystery has no size

    r = cli("--db", db, "scores", "--format", "csv", "--method", method)

    assert r.code == 0, r.err
    _compare(r.out, EXAMPLE / f"expected_{method}.csv")
    assert f"as of: 2026-03-01 · baseline: live {method}, top 10" in r.err


def test_json_output_carries_as_of_baseline_and_source(cli: CliRunner, example_db: Path) -> None:
    r = cli("--db", example_db, "score", "org0/model-8-7B", "--day", "60", "--format", "json")

    payload = json.loads(r.out)
    assert payload["as_of"] == "2026-03-01"
    assert payload["baseline"] == "live cutoff, top 10"
    assert payload["source"].startswith("Hugging Face download counts (panel:panel")
    assert payload["size_class"] == "5-10B"
    assert payload["params_source"] == "import"
    assert payload["release_source"] == "created_at"
    assert payload["rows"] == [
        {
            "model_id": "org0/model-8-7B",
            "size_class": "5-10B",
            "release_date": "2025-07-20",
            "day": 60,
            "cumulative_downloads": 1002827.0,
            "baseline": 751510.0,
            "ram": pytest.approx(1.33441604237, rel=1e-9),
            # Defined on day 60: 11 curves with direct points around it and the window-only
            # model (model-4's outage and the restated model's end leave them out).
            "n_models": 12,
            "in_pool": True,
            "thin": True,
            "flags": None,
        }
    ]


def test_top_ranks_within_a_size_class(cli: CliRunner, example_db: Path) -> None:
    r = cli(
        "--db",
        example_db,
        "top",
        "--day",
        "30",
        "--size-class",
        "5-10B",
        "--limit",
        "3",
        "--format",
        "csv",
        "--include-thin",
    )

    frame = pd.read_csv(io.StringIO(r.out))
    assert list(frame["rank"]) == [1, 2, 3]
    assert frame["thin"].all()
    assert list(frame["model_id"]) == ["org0/model-0-7B", "org1/model-1-7B", "org2/model-2-7B"]
    assert frame["ram"].is_monotonic_decreasing


def test_models_csv_columns_and_sources(cli: CliRunner, example_db: Path) -> None:
    r = cli("--db", example_db, "models", "--format", "csv")

    frame = pd.read_csv(io.StringIO(r.out))
    assert list(frame.columns)[:9] == [
        "model_id",
        "org",
        "size_class",
        "params_b",
        "params_source",
        "release_date",
        "release_source",
        "region",
        "tracked",
    ]
    mystery = frame.set_index("model_id").loc["orgx/mystery"]
    assert mystery["size_class"] == "unknown"
    assert pd.isna(mystery["params_b"])  # unknown is empty, never 0
    assert not mystery["tracked"]


def test_frozen_baseline_scores_reproducibly(cli: CliRunner, example_db: Path) -> None:
    frozen = cli("--db", example_db, "baseline", "--freeze", "2026-Q1")
    assert frozen.code == 0 and "froze baseline '2026-Q1'" in frozen.out

    live = cli("--db", example_db, "scores", "--format", "csv")
    pinned = cli("--db", example_db, "scores", "--format", "csv", "--baseline", "2026-Q1")

    assert pinned.code == 0
    assert pinned.out == live.out
    assert "baseline: frozen 2026-Q1 (cutoff, top 10, as of 2026-03-01)" in pinned.err


def test_as_of_moves_the_data_cutoff(cli: CliRunner, example_db: Path) -> None:
    r = cli("--db", example_db, "scores", "--as-of", "2025-03-01", "--format", "csv")

    frame = pd.read_csv(io.StringIO(r.out))
    assert set(frame["model_id"]) <= {"org0/model-0-7B", "org1/model-1-7B", "org2/model-2-7B"}
    assert "as of: 2025-03-01" in r.err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


BAD_INPUTS = [
    (["score", "nobody/nothing"], r"^Error: unknown model 'nobody/nothing'"),
    (["score", "ORG0/MODEL-0-7B"], r"did you mean org0/model-0-7B\?"),
    (["top", "--size-class", "7B"], r"unknown size class '7B'; use one of: <1B, 1-5B"),
    (["top", "--day", "0"], r"--day 0"),
    (["top", "--day", "soon"], r"Invalid value for '--day'"),
    (["scores", "--as-of", "yesterday"], r"--as-of 'yesterday' is not a date"),
    (["scores", "--baseline", "nope"], r"no frozen baseline 'nope'"),
    (["top", "--format", "xml"], r"--format"),
    (["models", "--size-class", "huge"], r"unknown size class 'huge'"),
    (["import", "panel", "missing.csv"], r"missing.csv: no such file"),
    (["top", "--no-such-flag"], r"No such option: --no-such-flag"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_store_unchanged(
    cli: CliRunner, example_db: Path, args: list[str], message: str
) -> None:
    before = _digest(example_db)

    r = cli("--db", example_db, *args)

    assert r.code == 2
    lines = [ln for ln in r.err.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and re.search(message, lines[0]), r.err
    assert "Traceback" not in r.err
    assert _digest(example_db) == before


def test_empty_store_is_a_one_line_error(cli: CliRunner, tmp_path: Path) -> None:
    r = cli("--db", tmp_path / "none.duckdb", "top")

    assert r.code == 2
    assert r.err.strip() == (
        f"Error: no database at {tmp_path / 'none.duckdb'}; import data first "
        "(ram import panel FILE) or pass --db"
    )
    assert not (tmp_path / "none.duckdb").exists()


def test_bad_config_is_one_line_error_naming_the_key(cli: CliRunner, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("ram:\n  top_n: ten\n")

    r = cli("--config", cfg, "--db", tmp_path / "x.duckdb", "top")

    assert r.code == 2
    assert r.err.startswith(f"Error: {cfg}: ram.top_n: ")
    assert len(r.err.strip().splitlines()) == 1


def test_bad_panel_leaves_the_store_unchanged(
    cli: CliRunner, example_db: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("model_id,date,downloads_all_time\na/b,2025-01-01,5\na/b,2025-01-02,-3\n")
    before = _digest(example_db)

    r = cli("--db", example_db, "import", "panel", bad)

    assert r.code == 2
    assert (
        "bad.csv line 3: downloads_all_time '-3' is not a whole number from 0 to 2^53 - 1" in r.err
    )
    assert _digest(example_db) == before


def test_debug_shows_the_traceback(cli: CliRunner, example_db: Path) -> None:
    from ram.errors import UnknownModel

    with pytest.raises(UnknownModel):
        cli("--db", example_db, "--debug", "score", "x/y")


def test_every_command_is_documented_with_an_example() -> None:
    from ram.cli.main import build_app

    app = build_app()
    groups = [g.typer_instance for g in app.registered_groups if g.typer_instance is not None]
    commands = [*app.registered_commands, *(c for g in groups for c in g.registered_commands)]
    assert len(commands) >= 7
    for command in commands:
        doc = command.callback.__doc__ or ""
        assert "Example:" in doc, command.callback.__name__


def test_top_leaves_thin_and_untracked_rows_out_and_says_why(
    cli: CliRunner, sample_db: Path
) -> None:
    """RAM_SPEC §3-4: the default leaderboard shows pool members on baselines resting on at least
    min_pool (2 x top_n = 20) curves; the rest are counted, and each class without a
    leaderboard is named with its reason."""
    default = cli("--db", sample_db, "top", "--format", "json", "--day", "30")
    thin = cli("--db", sample_db, "top", "--format", "json", "--day", "30", "--include-thin")
    every = cli("--db", sample_db, "top", "--format", "json", "--day", "30", "--all")

    rows = json.loads(default.out)["rows"]
    assert {r["size_class"] for r in rows} == {"1-5B", "5-10B"}
    assert all(r["in_pool"] and not r["thin"] and r["n_models"] >= 20 for r in rows)
    notes = json.loads(default.out)["notes"]
    assert notes[0].startswith("left out ") and "on thin baselines" in notes[0]
    assert "untracked model" in notes[0] and "--all shows them" in notes[0]
    assert "no leaderboard for 100-250B: 7 tracked curves reach day 30, fewer than 10" in notes
    assert "no leaderboard for <1B: 6 tracked curves reach day 30, fewer than 10" in notes
    assert any(n.startswith("no leaderboard for 10-50B: its baseline rests on 17") for n in notes)
    thin_rows = json.loads(thin.out)["rows"]
    assert {r["size_class"] for r in thin_rows} > {"1-5B", "5-10B"}
    assert any(r["thin"] for r in thin_rows) and all(r["in_pool"] for r in thin_rows)
    assert any(not r["in_pool"] for r in json.loads(every.out)["rows"])
    assert default.code == thin.code == every.code == 0
    # The data-quality flag ram status raises sits next to the score it touches (issue 12):
    # Qwen2.5-1.5B-Instruct's 30-day count jumped tenfold on 2024-10-02, inside its first 30 days.
    qwen = next(r for r in rows if r["model_id"] == "Qwen/Qwen2.5-1.5B-Instruct")
    assert qwen["flags"] == "spike 2024-10-02"
    status = json.loads(cli("--db", sample_db, "status", "--format", "json").out)
    assert {"model_id": "Qwen/Qwen2.5-1.5B-Instruct", "flag": "spike"}.items() <= next(
        f for f in status["flags"] if f["model_id"] == "Qwen/Qwen2.5-1.5B-Instruct"
    ).items()


def test_min_pool_sets_when_a_baseline_is_thin(
    cli: CliRunner, example_db: Path, tmp_path: Path
) -> None:
    """The example's 5-10B baseline rests on 14 curves at day 30: thin under the default
    min_pool (20), not under min_pool 14."""
    assert json.loads(cli("--db", example_db, "top", "--format", "json").out)["rows"] == []
    (tmp_path / "config.yaml").write_text(EXAMPLE_TRACKING + "ram:\n  min_pool: 14\n")

    rows = json.loads(cli("--db", example_db, "top", "--format", "json").out)["rows"]

    assert [r["model_id"] for r in rows[:2]] == ["org0/model-0-7B", "org1/model-1-7B"]
    assert {(r["n_models"], r["thin"]) for r in rows} == {(14, False)}


def test_a_method_other_than_the_frozen_baselines_is_refused(
    cli: CliRunner, example_db: Path
) -> None:
    """Was: --method median with a cutoff baseline silently scored against the cutoff one."""
    assert cli("--db", example_db, "baseline", "--freeze", "q2").code == 0

    refused = cli("--db", example_db, "top", "--method", "median", "--baseline", "q2")
    same = cli("--db", example_db, "scores", "--method", "cutoff", "--baseline", "q2")

    assert (refused.code, refused.out) == (2, "")
    assert refused.err.strip() == (
        "Error: --method median with --baseline q2: that baseline was frozen with method cutoff; "
        "drop --method, or freeze a median baseline (ram baseline --method median --freeze NAME)"
    )
    assert same.code == 0, same.err


def test_status_json_gives_counts_as_numbers_and_details_as_objects(
    cli: CliRunner, example_db: Path
) -> None:
    """Issue 14: counts came as strings and each run's details as JSON text inside JSON."""
    payload = json.loads(cli("--db", example_db, "status", "--format", "json").out)

    assert payload["observations"] == 2606 and payload["models"] == 15
    assert payload["baseline_versions"] == 0
    assert payload["latest_observation"] == "2026-03-01"
    (run,) = payload["runs"]
    assert run["details"]["rows"] == 2606


def test_status_measures_freshness_against_todays_utc_date(
    cli: CliRunner, example_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: days behind counted to the store's own newest day, so a store 652 days old
    showed 0 days behind."""
    import datetime as dt

    from ram import status

    today = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)  # the example's data ends 2026-03-01
    monkeypatch.setattr(status, "now_utc", lambda: today)
    payload = json.loads(cli("--db", example_db, "status", "--format", "json").out)
    assert (payload["today_utc"], payload["days_behind"]) == ("2026-12-03", 277)
    rows = payload["freshness"]
    assert rows and all(
        row["days_behind"] == (today.date() - dt.date.fromisoformat(row["last_obs"])).days
        for row in rows
    )
    assert min(row["days_behind"] for row in rows) == 277
    table = cli("--db", example_db, "status", "--format", "table")
    assert table.code == 0
    assert (
        "the newest observation is 277 days old (2026-03-01; today is 2026-12-03 UTC): run ram "
        "snapshot, or ram schedule to keep it current"
    ) in table.err
    # A store observed yesterday or today says nothing.
    monkeypatch.setattr(status, "now_utc", lambda: dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    fresh = cli("--db", example_db, "status", "--format", "table")
    assert "days old" not in fresh.err


def test_the_library_api_is_importable_from_ram_and_cheap_to_import() -> None:
    """``ram.__all__`` names the public API; each name resolves to what its module defines,
    and ``import ram`` alone loads none of the heavy layers."""
    probe = (
        "import json, sys, ram\n"
        "heavy = [m for m in ('pandas', 'ram.api', 'ram.store.database') if m in sys.modules]\n"
        "print(json.dumps(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    import ram

    assert sorted(ram.__all__) == sorted(["__version__", *ram._EXPORTS])
    for name, module in ram._EXPORTS.items():
        assert getattr(ram, name) is getattr(importlib.import_module(module), name), name


def test_size_classes_in_any_case(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14: ``5-10b`` was refused; any case names the scheme's label."""
    upper = cli("--db", sample_db, "top", "--size-class", "5-10B", "--format", "csv")
    lower = cli("--db", sample_db, "top", "--size-class", "5-10b", "--format", "csv")
    assert lower.code == 0 and lower.out == upper.out and len(upper.out.splitlines()) > 1
    models = cli("--db", sample_db, "models", "--size-class", "5-10b", "--format", "csv")
    assert models.code == 0 and ",5-10B," in models.out


def test_an_empty_models_answer_says_why(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14: ``models --org Nope`` printed an empty table and nothing else."""
    r = cli("--db", sample_db, "models", "--org", "Qwenn", "--format", "csv")
    assert r.code == 0 and len(r.out.splitlines()) == 1  # the header only
    assert "no stored model of org 'Qwenn'; did you mean Qwen?" in r.err
    r = cli("--db", sample_db, "models", "--org", "qwen", "--format", "csv")
    assert r.code == 0 and len(r.out.splitlines()) > 10 and "no stored model" not in r.err


def test_status_says_when_it_shows_only_the_stalest_orgs(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14: the table showed 20 of the orgs without saying so."""
    orgs = json.loads(cli("--db", sample_db, "status", "--format", "json").out)["freshness"]
    r = cli("--db", sample_db, "status", "--format", "table")
    assert len(orgs) > 20
    assert f"Freshness per org (stalest first): 20 of {len(orgs)}, the stalest" in r.out


def test_short_version_flag(cli: CliRunner) -> None:
    from ram import __version__

    r = cli("-V")
    assert r.code == 0 and r.out.strip() == f"ram {__version__}"


def test_machine_output_types_are_consistent(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14 (docs/output.md): ``tracked`` is a boolean in ``score`` as in ``models``, and
    moments carry their time zone (UTC, ``Z``)."""
    score = json.loads(cli("--db", sample_db, "score", "Qwen/Qwen2.5-7B-Instruct",
                           "--format", "json").out)  # fmt: skip
    models = json.loads(cli("--db", sample_db, "models", "--format", "json").out)
    assert score["tracked"] is True and score["tracked_reason"] == "ATOM catalog"
    assert isinstance(models["rows"][0]["tracked"], bool)
    status = json.loads(cli("--db", sample_db, "status", "--format", "json").out)
    started = status["runs"][0]["started_at"]
    assert started.endswith("Z") and "T" in started
    assert status["latest_observation"] == "2025-02-18"  # a date stays a date
    assert status["counts"]["runs"] == 1 and isinstance(status["runs"], list)


def test_report_tables_print_downloads_as_whole_numbers() -> None:
    """Issue 14: a median baseline printed as 16,315,967.50 in the report's tables."""
    from ram.charts.report import _cell

    assert _cell("baseline", 16_315_967.5) == "16,315,968"
    assert _cell("cumulative_downloads", 5952.0) == "5,952"
    assert _cell("coverage_80", 0.7647) == "0.76"


def test_a_leaderboard_with_no_row_says_what_to_run(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14: a young store printed a header and exit 0, nothing else."""
    r = cli("--db", sample_db, "top", "--as-of", "2024-07-20", "--format", "csv")
    assert r.code == 0 and len(r.out.splitlines()) == 1
    last = r.err.strip().splitlines()[-1]
    assert last.startswith("nothing to rank yet") and "ram backfill --hub" in last
    ok = cli("--db", sample_db, "top", "--format", "csv")
    assert "nothing to rank yet" not in ok.err


def test_top_and_scores_by_org_and_region(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14's everyday options: --org and --region (any case) rank only those models,
    against the whole pool's baselines; an unknown org is bad input with the closest one."""
    everyone = cli("--db", sample_db, "top", "--format", "csv").out.splitlines()
    qwen = cli("--db", sample_db, "top", "--org", "qwen", "--format", "csv")
    assert qwen.code == 0
    rows = [line.split(",") for line in qwen.out.splitlines()[1:]]
    assert rows and all(r[1].startswith("Qwen/") for r in rows)
    base = {r.split(",")[2]: r.split(",")[6] for r in everyone[1:]}
    assert all(r[6] == base[r[2]] for r in rows if r[2] in base)  # the same baselines
    china = cli("--db", sample_db, "scores", "--region", "CHINA", "--day", "30", "--format", "csv")
    orgs = {line.split(",")[0].split("/")[0] for line in china.out.splitlines()[1:]}
    assert china.code == 0 and "Qwen" in orgs and "meta-llama" not in orgs
    bad = cli("--db", sample_db, "top", "--org", "Qwenn")
    assert bad.code == 2 and "did you mean Qwen?" in bad.err
    bad = cli("--db", sample_db, "scores", "--region", "mars")
    assert bad.code == 2 and "--region 'mars': use one of" in bad.err


def test_models_search_finds_repo_ids_in_any_case(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14: there was no search (``ram models --search qwen2.5-coder``)."""
    r = cli("--db", sample_db, "models", "--search", "QWEN2.5-coder-7b", "--format", "csv")
    ids = [line.split(",")[0] for line in r.out.splitlines()[1:]]
    assert r.code == 0 and ids and all("qwen2.5-coder-7b" in i.lower() for i in ids)
    assert "Qwen/Qwen2.5-Coder-7B-Instruct" in ids
    none = cli("--db", sample_db, "models", "--search", "qwen2.5-coder-7bx", "--format", "csv")
    assert none.code == 0 and len(none.out.splitlines()) == 1
    assert "no stored repo id contains 'qwen2.5-coder-7bx'; close: qwen2.5-coder-7b" in none.err


def test_released_since_ranks_only_later_releases_against_the_whole_pool(
    cli: CliRunner, sample_db: Path
) -> None:
    """Issue 14: no --released-since on top and scores."""
    args = ("--db", sample_db, "top", "--day", "30", "--format", "json")
    everyone = json.loads(cli(*args).out)["rows"]
    late = json.loads(cli(*args, "--released-since", "2024-11-01").out)["rows"]
    assert late and all(r["release_date"] >= "2024-11-01" for r in late)
    assert any(r["release_date"] < "2024-11-01" for r in everyone)
    # The same baselines: a later release keeps its RAM.
    base = {(r["size_class"], r["baseline"]) for r in everyone}
    assert {(r["size_class"], r["baseline"]) for r in late} <= base
    scores = cli("--db", sample_db, "scores", "--released-since", "2024-12-01", "--format", "csv")
    dates = [line.split(",")[2] for line in scores.out.splitlines()[1:]]
    assert scores.code == 0 and dates and min(dates) >= "2024-12-01"
    bad = cli("--db", sample_db, "top", "--released-since", "2024-13-01")
    assert bad.code == 2 and "--released-since '2024-13-01' is not a date" in bad.err


def test_shell_completion_completes_commands_options_and_chart_kinds() -> None:
    """Issue 14: no shell completion.  The completion protocol Click runs for bash, through the
    installed ``ram`` script (the completion variable is named after it)."""
    import os

    ram = str(Path(sys.executable).with_name("ram"))

    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "_RAM_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(cword)}  # fmt: skip
        out = subprocess.run([ram], env=env, capture_output=True, text=True, check=True)
        return out.stdout.split()

    assert complete("ram to", 1) == ["top"]
    assert complete("ram top --size", 2) == ["--size-class"]
    assert complete("ram plot cal", 2) == ["calendar-region", "calendar-org"]
    # --show-completion detects the shell it runs under (the parent process), so run it from
    # bash, kept alive as its parent by the "; true": under make's /bin/sh it says "Shell sh not
    # supported".
    shown = subprocess.run(["bash", "-c", f"{ram} --show-completion; true"], capture_output=True,
                           text=True, check=True)  # fmt: skip
    assert "_ram_completion()" in shown.stdout and "_RAM_COMPLETE=complete_bash" in shown.stdout


def test_a_table_longer_than_the_terminal_goes_through_the_pager(
    cli: CliRunner, sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: ``ram scores`` as a table printed 1,099 lines with no pager."""
    import pydoc

    import rich.console

    paged: list[str] = []
    monkeypatch.setattr(pydoc, "pager", paged.append)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(
        rich.console.Console, "size", property(lambda self: rich.console.ConsoleDimensions(100, 40))
    )
    monkeypatch.delenv("RAM_NO_PAGER", raising=False)
    r = cli("--db", sample_db, "scores", "--format", "table")
    assert r.code == 0 and len(paged) == 1 and paged[0].count("\n") > 100
    assert "Qwen/Qwen2.5-7B-Instruct" in paged[0]
    short = cli("--db", sample_db, "top", "--size-class", "5-10B", "--limit", "3",
                "--format", "table")  # fmt: skip
    assert short.code == 0 and len(paged) == 1  # fits the screen: printed, not paged
    monkeypatch.setenv("RAM_NO_PAGER", "1")
    cli("--db", sample_db, "scores", "--format", "table")
    assert len(paged) == 1


def test_downloads_print_as_whole_numbers_unless_interpolated(
    cli: CliRunner, sample_db: Path, example_db: Path
) -> None:
    """Issue 14: downloads printed as 5952.0.  A whole count prints whole in CSV and JSON; a
    value interpolated across a gap keeps its fraction (the spec's example checks it)."""
    csv_out = cli("--db", sample_db, "top", "--day", "30", "--format", "csv").out
    rows = [line.split(",") for line in csv_out.splitlines()[1:]]
    assert rows and all(r[5].isdigit() and r[6].isdigit() for r in rows)  # downloads, baseline
    payload = json.loads(cli("--db", sample_db, "top", "--day", "30", "--format", "json").out)
    assert all(isinstance(r["cumulative_downloads"], int) for r in payload["rows"])
    assert all(isinstance(r["ram"], float) for r in payload["rows"])
    exact = cli("--db", example_db, "scores", "--format", "csv")
    cells = [line.split(",")[4] for line in exact.out.splitlines()[1:]]
    assert any("." in c for c in cells) and any(c.isdigit() for c in cells)


def test_scores_sort_orders_rows(cli: CliRunner, sample_db: Path) -> None:
    """Issue 14: no --sort on scores."""

    def column(order: str, i: int) -> list[str]:
        out = cli("--db", sample_db, "scores", "--sort", order, "--format", "csv").out
        return [line.split(",")[i] for line in out.splitlines()[1:]]

    rams = [float(v) for v in column("ram", 6)]
    assert rams == sorted(rams, reverse=True) and len(rams) > 100
    downloads = [float(v) for v in column("downloads", 4)]
    assert downloads == sorted(downloads, reverse=True)
    released = column("RELEASE", 2)  # any case
    assert released == sorted(released, reverse=True)
    default = column("model", 0)
    assert default == sorted(default) and sorted(column("ram", 0)) == default
