"""Issue 18's outside attack, replayed: ``ram`` in its own process against a hostile loopback Hub,
impossible inputs, damaged and tampered stores, a full disk and a read-only one.  Every scenario
ends in a clean outcome (the run lands with the bad field unknown, or one line with a remedy and
the exit code promised: 2 for bad input, 1 otherwise, 130 for Ctrl-C) and an untouched store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.archive_fixtures import model, write_archive
from tests.fakehub import FakeHub
from tests.reliability.conftest import Figure
from tests.reliability.support import (
    CANARY,
    ORGS,
    fill_hub,
    fingerprint,
    pump,
    query,
    ram_popen,
    store_text,
    write_panel,
)

Outcome = tuple[int, str, str]  # exit code, stdout, stderr


def ram(*args: str | Path, timeout: float = 180, **env: str) -> Outcome:
    proc = ram_popen(*args, **env)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def last_line(err: str) -> str:
    """The one error line; there must be no traceback above it."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines, "nothing on stderr"
    return lines[-1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def snap_cfg(tmp_path: Path) -> Path:
    """A config tracking the fake Hub's three orgs, every repo of them."""
    cfg = tmp_path / "config.yaml"
    tracking = {"use_catalog": False, "orgs": dict.fromkeys(ORGS, "us"), "min_downloads": None}
    cfg.write_text(yaml.safe_dump({"tracking": tracking}))
    return cfg


@pytest.fixture
def hub(hub_client: None) -> Iterator[FakeHub]:
    with FakeHub() as fake:
        fill_hub(fake)
        yield fake


# -- 1. an out-of-range count ---------------------------------------------------------------------


def test_an_out_of_range_count_is_unknown_for_that_field_and_the_run_lands(
    hub: FakeHub, tmp_path: Path, snap_cfg: Path, figure: Figure
) -> None:
    """Was: ``cannot safely cast non-equivalent float64 to int64``, exit 1, every org dropped."""
    hub.update("Alpha/a0", hostile=True, downloads=2**63, downloadsAllTime=2**64, likes=10**30)
    hub.update("Gamma/g0", hostile=True, safetensors={"parameters": {"BF16": 1}, "total": 10**30})
    db = tmp_path / "s.duckdb"

    code, _, err = ram("--db", db, "--config", snap_cfg, "snapshot", HF_ENDPOINT=hub.url)

    assert code == 0, err
    assert "Traceback" not in err
    obs = {r[0]: r[1:] for r in query(db, "SELECT model_id, downloads_30d, downloads_all_time, "
                                          "likes FROM observations")}  # fmt: skip
    assert obs["Alpha/a0"] == (None, None, None)  # unknown, never 0 or a wrapped number
    assert obs["Alpha/a1"] == (1_001, 50_001, 11)  # the rest of the org landed exactly
    assert len(obs) == 8
    (size,) = query(db, "SELECT safetensors_total FROM models WHERE model_id = 'Gamma/g0'")
    assert size == (None,)
    code, status, _ = ram("--db", db, "status", "--format", "json")
    (run,) = json.loads(status)["runs"]
    assert run["status"] == "ok"
    warned = [w for w in run["details"]["warnings"] if "below 2^63" in w]
    assert len(warned) == 4  # three counts of a0 and the size of g0, each named
    figure(fields_nulled=4, observations=len(obs), exit_code=code)


# -- 4. a Hub that answers 404 to everything ------------------------------------------------------


def test_a_hub_that_finds_nothing_is_a_failed_run_not_a_good_one(
    hub: FakeHub, tmp_path: Path, snap_cfg: Path, figure: Figure
) -> None:
    hub.repos.clear()  # every listing is empty and every lookup 404: nothing observed
    db = tmp_path / "s.duckdb"

    code, _, err = ram("--db", db, "--config", snap_cfg, "snapshot", HF_ENDPOINT=hub.url)
    once, _, once_err = ram(
        "--db", db, "--config", snap_cfg, "schedule", "--once", HF_ENDPOINT=hub.url
    )

    assert (code, once) == (1, 1)
    assert "nothing was observed" in last_line(err)
    assert "Traceback" not in once_err
    assert query(db, "SELECT status, models FROM runs") == [("failed", 0), ("failed", 0)]
    figure(exit_codes=[code, once], runs_failed=2)


# -- 3. impossible observation dates ---------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "2099-01-01", "2015-12-31", "0001-01-01"])
def test_an_impossible_observation_date_is_refused_with_its_line(
    day: str, example_db: Path, tmp_path: Path
) -> None:
    panel = tmp_path / "panel.csv"
    write_panel(panel, 3, 4)
    lines = panel.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[1], day)
    panel.write_text("\n".join(lines) + "\n")
    before = digest(example_db)

    code, _, err = ram("--db", example_db, "import", "panel", panel)

    assert code == 2
    line = last_line(err)
    assert "line 6" in line and day in line, line
    assert digest(example_db) == before


# -- 7. the backfill coerces no count --------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [(3.7, "3.7"), (-0.4, "-0.4"), (1e19, "1e+19")])
def test_a_backfill_count_that_is_no_whole_number_refuses_the_file(
    value: float, shown: str, tmp_path: Path
) -> None:
    import pyarrow as pa

    from tests.archive_fixtures import SCHEMA

    schema = SCHEMA.set(SCHEMA.get_field_index("downloads"), pa.field("downloads", pa.float64()))
    rows = [model("Qwen/Qwen3-8B", 1000, 5000), model("Qwen/Qwen3-14B", 10, 20)]
    rows[0]["downloads"] = value
    archive = write_archive(tmp_path / "hub-stats" / "2025-06-01" / "models.parquet", rows, schema)
    db = tmp_path / "b.duckdb"

    code, _, err = ram("--db", db, "backfill", archive.parent.parent, "--name", "t")

    assert code == 2
    assert (
        last_line(err).endswith(
            f"models.parquet row 1: column 'downloads' (downloads_30d) holds {shown} for "
            "Qwen/Qwen3-8B, not a whole number from 0 to 2^53 - 1; nothing imported"
        )
        or "row 1: column 'downloads'" in err
    ), err
    assert not db.exists() or query(db, "SELECT count(*) FROM observations") == [(0,)]


# -- 2. Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_during_an_import_exits_130_says_so_and_writes_nothing(
    example_db: Path, tmp_path: Path, figure: Figure
) -> None:
    panel = tmp_path / "big.csv"
    rows = write_panel(panel, 1_500, 200)
    before = fingerprint(example_db)
    proc = ram_popen("--db", example_db, "import", "panel", panel)
    lines = pump(proc)
    deadline = dt.datetime.now() + dt.timedelta(seconds=120)
    while not any(s.startswith("writing ") for s in lines) and proc.poll() is None:
        assert dt.datetime.now() < deadline
        os.sched_yield()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    assert proc.stderr is not None
    for _ in range(500):  # the reader thread may still hold the last line
        if lines and lines[-1].startswith("Interrupted"):
            break
        time.sleep(0.01)

    assert proc.returncode == 130
    assert lines[-1] == "Interrupted; nothing was written."
    assert not any("Traceback" in s for s in lines)
    assert fingerprint(example_db) == before
    figure(rows=rows, exit_code=proc.returncode)


# -- 6. a token echoed back in 200 answers -----------------------------------------------------------


def test_a_token_echoed_into_repo_fields_is_stored_and_printed_nowhere(
    hub: FakeHub, tmp_path: Path, snap_cfg: Path, figure: Figure
) -> None:
    hub.echo_auth_in_fields = True  # library_name, pipeline_tag and a tag quote the header
    db = tmp_path / "s.duckdb"
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": CANARY}

    outcomes = [
        ram("--db", db, "--config", snap_cfg, "snapshot", **env),
        ram("--db", db, "status", "--format", "json", **env),
        ram("--db", db, "status", "--format", "table", **env),
        ram("--db", db, "--config", snap_cfg, "models", "--format", "csv", **env),
    ]

    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes[0][2]
    assert f"Bearer {CANARY}" in hub.authorizations  # it really was sent, and echoed
    printed = "".join(out + err for _, out, err in outcomes)
    stored = store_text(db)
    assert "CANARY" not in printed
    assert "CANARY" not in stored
    (run,) = json.loads(outcomes[1][1])["runs"]
    echoed = [w for w in run["details"]["warnings"] if "echoed a credential" in w]
    assert len(echoed) == 1
    figure(bytes_scanned=len(printed) + len(stored), leaks=0)


# -- 5. tracebacks where one line is promised ----------------------------------------------------------

BAD_CONFIGS = {
    "impossible date": (
        "tracking:\n  release_dates:\n    a/b: 2026-02-30\n",
        "line 3: '2026-02-30' is not a real date",
    ),
    "key given twice": ("ram:\n  top_n: 5\n  top_n: 7\n", "line 3: key 'top_n' is given twice"),
    "top_n true": ("ram:\n  top_n: true\n", "ram.top_n"),
    "infinite size": ("tracking:\n  params_b:\n    a/b: .inf\n", "tracking.params_b"),
    "cron never fires": ("schedule:\n  cron: '0 0 31 2 *'\n", "never"),
    "bad timezone": ("schedule:\n  timezone: Mars/Olympus\n", "schedule.timezone"),
}


@pytest.mark.parametrize("case", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_a_bad_config_is_one_line_naming_it_exit_2(
    case: tuple[str, str], example_db: Path, tmp_path: Path
) -> None:
    text, named = case
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)

    code, out, err = ram("--db", example_db, "--config", cfg, "top")

    assert (code, out) == (2, "")
    line = last_line(err)
    assert str(cfg) in line and named in line, line


CLI_INPUTS = {
    "--day beyond every curve": (["top", "--day", "99999999999999999999"], "curves end at day"),
    "--day beyond max_day": (["score", "gen0/model-0-7B", "--day", "731"], "curves end at day"),
    "--db empty": (["--db", "", "top"], "--db"),
    "--db a folder": (["--db", ".", "status"], "is a folder"),
    "--cron empty": (["schedule", "--cron", ""], "--cron"),
    "--cron never fires": (["schedule", "--cron", "0 0 30 2 *"], "never"),
}


@pytest.mark.parametrize("case", CLI_INPUTS.values(), ids=CLI_INPUTS.keys())
def test_a_bad_argument_is_one_line_exit_2(
    case: tuple[list[str], str], example_db: Path, tmp_path: Path
) -> None:
    args, named = case
    if args[0] != "--db":
        args = ["--db", str(example_db), *args]
    before = digest(example_db)

    code, out, err = ram(*args)

    assert (code, out) == (2, "")
    assert named in last_line(err), err
    assert digest(example_db) == before


def test_a_cached_leaderboard_refuses_an_impossible_day_too(example_db: Path) -> None:
    """Was: the top cache answered ``--day 99999999999999999999`` with exit 0 and nothing."""
    assert ram("--db", example_db, "top", "--day", "30")[0] == 0  # the cache is built
    code, out, err = ram("--db", example_db, "top", "--day", "99999999999999999999")
    assert (code, out) == (2, "")
    assert "curves end at day 730" in last_line(err)


# -- damaged and tampered stores ---------------------------------------------------------------------


def _truncate(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _garbage(db: Path) -> None:
    db.write_bytes(os.urandom(db.stat().st_size))


def _sql(statement: str) -> Callable[[Path], None]:
    def tamper(db: Path) -> None:
        con = duckdb.connect(str(db))
        try:
            con.execute(statement)
        finally:
            con.close()

    return tamper


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "half truncated": (_truncate, "restore it from a copy"),
    "random bytes": (_garbage, "not a DuckDB database"),
    "schema_version 'abc'": (
        _sql("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'"),
        "schema version 'abc', not a number",
    ),
    "a dropped column": (_sql("ALTER TABLE models DROP COLUMN license"), "license"),
    "an added column": (_sql("ALTER TABLE runs ADD COLUMN extra INTEGER"), "extra"),
    "a retyped column": (
        _sql("ALTER TABLE observations ALTER COLUMN likes TYPE VARCHAR"),
        "likes",
    ),
}


@pytest.mark.parametrize("case", DAMAGE.values(), ids=DAMAGE.keys())
@pytest.mark.parametrize("command", ["status", "top", "import"])
def test_a_damaged_or_tampered_store_is_one_line_and_left_as_it_is(
    case: tuple[Callable[[Path], None], str],
    command: str,
    example_db: Path,
    tmp_path: Path,
) -> None:
    damage, named = case
    damage(example_db)
    before = digest(example_db)
    panel = tmp_path / "p.csv"
    write_panel(panel, 2, 3)
    args = {"status": ["status"], "top": ["top"], "import": ["import", "panel", str(panel)]}

    code, out, err = ram("--db", example_db, *args[command])

    assert code == 1 and out == ""
    line = last_line(err)
    assert line.startswith("Error: ") and str(example_db) in line and named in line, line
    assert digest(example_db) == before


# -- a full disk, a read-only disk ------------------------------------------------------------------


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[[str, int], Path]]:
    """``mount_tmpfs(name, kib, ro=False)``: a small tmpfs (needs root; skipped without it)."""
    mounted: list[Path] = []

    def mount(name: str, kib: int, options: str = "") -> Path:
        where = tmp_path / name
        where.mkdir()
        opts = f"size={kib}k" + (f",{options}" if options else "")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def _limit_file_size(limit: int) -> Callable[[], None]:
    """A child whose writes past ``limit`` bytes fail with EFBIG (Python ignores SIGXFSZ)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("disk", ["tmpfs", "file size limit"])
def test_a_full_disk_during_an_import_is_one_line_and_the_store_is_intact(
    disk: str,
    example_db: Path,
    tmp_path: Path,
    mount_tmpfs: Callable[..., Path],
    figure: Figure,
) -> None:
    panel = tmp_path / "big.csv"
    rows = write_panel(panel, 1_000, 200)
    size = example_db.stat().st_size
    if disk == "tmpfs":
        where = mount_tmpfs("small", size // 1024 + 512)
        db = where / "full.duckdb"
        shutil.copy(example_db, db)
        preexec = None
    else:
        db = example_db
        preexec = _limit_file_size(size + 256 * 1024)
    before = fingerprint(db)

    from tests.reliability.support import RAM, ram_env

    done = subprocess.run(
        [*RAM, "--db", str(db), "import", "panel", str(panel)],
        capture_output=True,
        text=True,
        env=ram_env(),
        preexec_fn=preexec,  # the limit applies to the child only
        timeout=300,
        check=False,
    )

    assert done.returncode == 1, done.stderr
    line = last_line(done.stderr)
    assert line.startswith(f"Error: could not write {db}"), line
    assert "nothing of this write was saved" in line
    assert fingerprint(db) == before
    figure(rows_refused=rows, disk=disk, exit_code=done.returncode)


def test_a_report_on_a_full_or_read_only_disk_is_one_line(
    example_db: Path, mount_tmpfs: Callable[..., Path]
) -> None:
    full = mount_tmpfs("full", 256)
    read_only = mount_tmpfs("ro", 256, "ro")

    where_of = {"full": full / "r", "ro": read_only / "r"}
    outcomes = {
        name: ram("--db", example_db, "report", "--out", where, "--no-png")
        for name, where in where_of.items()
    }

    for name, (code, out, err) in outcomes.items():
        assert (code, out) == (1, ""), (name, err)
        line = last_line(err)
        assert line.startswith("Error: ") and str(where_of[name]) in line, line
    leftovers = [p.name for p in (full / "r").rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # no half-written temporary file is left behind


def test_a_report_with_index_html_as_a_folder_is_one_line_exit_2(
    example_db: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "r"
    (out_dir / "index.html").mkdir(parents=True)

    code, out, err = ram("--db", example_db, "report", "--out", out_dir, "--no-png")

    assert (code, out) == (2, "")
    assert "a folder of that name is in the way" in last_line(err)


def test_a_report_replaces_a_symlink_instead_of_writing_through_it(
    example_db: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    out_dir = tmp_path / "r"
    out_dir.mkdir()
    (out_dir / "index.html").symlink_to(outside)
    (out_dir / "plotly.min.js").symlink_to(outside)

    code, _, err = ram("--db", example_db, "report", "--out", out_dir, "--no-png")

    assert code == 0, err
    assert outside.read_text() == "keep me\n"
    for name in ("index.html", "plotly.min.js"):
        assert not (out_dir / name).is_symlink() and (out_dir / name).stat().st_size > 1000


# -- case-variant ids ------------------------------------------------------------------------------


def test_a_second_spelling_of_an_id_costs_nothing_but_a_warning(
    hub: FakeHub, tmp_path: Path, snap_cfg: Path
) -> None:
    fields: dict[str, Any] = {
        k: v for k, v in hub.repos["Alpha/a1"].items() if k not in ("_id", "id", "author")
    }
    hub.add("Alpha/A1", **fields)
    db = tmp_path / "s.duckdb"

    code, _, err = ram("--db", db, "--config", snap_cfg, "snapshot", HF_ENDPOINT=hub.url)

    assert code == 0, err
    ids = [r[0] for r in query(db, "SELECT model_id FROM observations ORDER BY 1")]
    assert len(ids) == 8 and len({i.lower() for i in ids}) == 8  # all of Alpha, once each
    (warnings,) = query(db, "SELECT details FROM runs")
    assert "ids are case-insensitive" in warnings[0]
