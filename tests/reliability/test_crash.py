"""A write killed with SIGKILL mid-run leaves a readable store with no half run, and the next run
succeeds: the import of a big panel killed at three points of its write, and ``ram snapshot``
killed while it fetches from a slow Hub and at three points of its save."""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ram.config import load_config
from ram.pipeline import snapshot
from ram.store.database import Store
from tests.conftest import CliRunner
from tests.fakehub import FakeHub
from tests.reliability.conftest import Figure
from tests.reliability.support import (
    ALL,
    ORGS,
    add_huge_org,
    fill_hub,
    fingerprint,
    pump,
    query,
    ram_popen,
    write_panel,
)

BIG_MODELS, BIG_DAYS = 1_500, 200
EARLIER = "panel:panel"  # the example panel, imported before the killed run
EARLIER_DAY = dt.datetime(2026, 10, 5, 6, 17, tzinfo=dt.UTC)  # the snapshot before the killed one


@pytest.fixture(scope="module")
def big_panel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("crash") / "big.csv"
    return path, write_panel(path, BIG_MODELS, BIG_DAYS)


def _earlier_rows(db: Path) -> list[tuple[Any, ...]]:
    """The earlier run's observations and runs row, as a digest: they must survive any crash."""
    return query(
        db,
        """SELECT (SELECT count(*) FROM observations WHERE source = ?),
                  (SELECT md5(string_agg(CAST(o AS VARCHAR), '|' ORDER BY CAST(o AS VARCHAR)))
                   FROM observations o WHERE source = ?),
                  (SELECT md5(string_agg(CAST(r AS VARCHAR), '|' ORDER BY CAST(r AS VARCHAR)))
                   FROM runs r WHERE source = ?),
                  (SELECT count(*) FROM models WHERE model_id LIKE 'org%')""",
        [EARLIER, EARLIER, EARLIER],
    )


def _big_run_state(db: Path) -> tuple[int, int, int, int]:
    """(runs rows, observations, observations of another run id, models) of the big import."""
    row = query(
        db,
        """SELECT (SELECT count(*) FROM runs WHERE source = 'panel:big'),
                  (SELECT count(*) FROM observations WHERE source = 'panel:big'),
                  (SELECT count(*) FROM observations o WHERE source = 'panel:big'
                   AND run_id NOT IN (SELECT run_id FROM runs WHERE source = 'panel:big')),
                  (SELECT count(*) FROM models WHERE model_id LIKE 'gen%')""",
    )[0]
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _wait_for(proc: subprocess.Popen[str], prefix: str, timeout: float = 60) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith(prefix):
            return
        if not line and proc.poll() is not None:
            break
    pytest.fail(f"the import never printed {prefix!r}")


def _kill_during_write(proc: subprocess.Popen[str], db: Path, grown: int, after: float) -> bool:
    """SIGKILL once the file has grown ``grown`` bytes (the run's blocks are landing), plus
    ``after`` seconds; True when the process was still running at the kill."""
    size0 = db.stat().st_size
    deadline = time.monotonic() + 60
    while proc.poll() is None and db.stat().st_size < size0 + grown:
        if time.monotonic() > deadline:
            break
        time.sleep(0.002)
    time.sleep(after)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


@pytest.mark.parametrize(
    ("point", "grown", "after"),
    # The big import grows the file by about 4 MB, most of it at the commit's checkpoint
    # (schema 2; with the schema-1 key it grew past 8 MB): 2 MB is the middle of that write.
    [("first blocks", 1, 0.0), ("mid-insert", 1, 0.15), ("commit/checkpoint", 2_000_000, 0.0)],
)
def test_sigkill_during_a_panel_import_leaves_no_half_run(
    cli: CliRunner,
    example_db: Path,
    big_panel: tuple[Path, int],
    tmp_path: Path,
    figure: Figure,
    point: str,
    grown: int,
    after: float,
) -> None:
    panel_src, rows = big_panel
    panel = shutil.copy(panel_src, tmp_path / "big.csv")
    earlier = _earlier_rows(example_db)
    earlier_obs = int(earlier[0][0])
    top_before = cli("--db", example_db, "top", "--day", "30", "--format", "csv")
    assert top_before.code == 0

    proc = ram_popen("--db", example_db, "import", "panel", panel)
    _wait_for(proc, "writing ")
    started = time.monotonic()
    alive = _kill_during_write(proc, example_db, grown, after)
    killed_after = time.monotonic() - started

    assert alive, f"the import finished before the kill at {point}"
    assert proc.returncode == -signal.SIGKILL
    # Readable at once, read-only (as the CLI's readers open it), with or without a WAL to replay.
    after_kill = cli("--db", example_db, "top", "--day", "30", "--format", "csv")
    assert after_kill.code == 0, after_kill.err
    assert _earlier_rows(example_db) == earlier
    runs, obs, orphans, models = _big_run_state(example_db)
    assert orphans == 0
    assert (runs, obs, models) in {(0, 0, 0), (1, rows, BIG_MODELS)}
    if runs == 0:
        assert after_kill.out == top_before.out
    landed = runs == 1

    rerun = cli("--db", example_db, "import", "panel", panel)

    assert rerun.code == 0, rerun.err
    assert f"imported {rows:,} observations of {BIG_MODELS:,} models" in rerun.out
    assert _big_run_state(example_db) == (1 + landed, rows, 0, BIG_MODELS)
    assert _earlier_rows(example_db) == earlier
    with Store.open(example_db) as store:  # and writable again
        assert store.counts()["observations"] == rows + earlier_obs
    figure(
        point=point,
        killed_after_s=round(killed_after, 2),
        run_landed=landed,
        rows_kept=rows if landed else 0,
        earlier_rows_kept=earlier_obs,
    )


# -- ram snapshot ------------------------------------------------------------------------------

HUGE = 8_000
TODAY_ROWS = HUGE + len(ALL)


def _until(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)


def _today(db: Path) -> tuple[int, list[tuple[Any, ...]]]:
    """Live observations of today and the runs rows of today's snapshots (status, observations)."""
    today = dt.datetime.now(dt.UTC).date()
    obs = query(db, "SELECT count(*) FROM observations WHERE obs_date = ?", [today])[0][0]
    runs = query(
        db,
        "SELECT status, observations FROM runs WHERE kind = 'snapshot' AND started_at >= ?",
        [dt.datetime.combine(today, dt.time())],
    )
    return int(obs), runs


@pytest.mark.parametrize("point", ["fetch", "upserts", "commit", "checkpoint"])
def test_sigkill_during_a_snapshot_leaves_no_half_run(
    point: str,
    cli: CliRunner,
    hub_client: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    figure: Figure,
) -> None:
    db, cfg_file = tmp_path / "s.duckdb", tmp_path / "config.yaml"
    orgs = {o: "us" for o in [*ORGS, "Huge"]}
    settings = {"tracking": {"use_catalog": False, "orgs": orgs, "min_downloads": None}}
    cfg_file.write_text(yaml.safe_dump({**settings, "collector": {"max_workers": 2}}))
    cfg = load_config(cfg_file)
    # A slow Hub keeps the fetch going long enough to be killed in it.
    with FakeHub(latency=0.1 if point == "fetch" else 0.0) as hub:
        fill_hub(hub)
        add_huge_org(hub, HUGE)
        with monkeypatch.context() as patch:
            patch.setattr(snapshot, "now_utc", lambda: EARLIER_DAY)
            snapshot.run_snapshot(cfg, db, orgs=ORGS, endpoint=hub.url, token=False)
        before = fingerprint(db)
        size0, wal = db.stat().st_size, Path(f"{db}.wal")
        hub.reset_counts()

        proc = ram_popen("--db", db, "--config", cfg_file, "snapshot", HF_ENDPOINT=hub.url)
        lines = pump(proc)

        def saving() -> bool:
            return any(line.startswith("saving ") for line in lines)

        if point == "fetch":
            _until(lambda: hub.requests >= 3, proc)
        elif point == "upserts":
            _until(saving, proc)
            time.sleep(0.1)
        elif point == "commit":
            # The WAL lives ~50 ms; a poller that misses it stops at the checkpoint instead.
            _until(lambda: saving() and (wal.exists() or db.stat().st_size > size0), proc)
        else:
            _until(lambda: saving() and db.stat().st_size > size0, proc)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        requests = hub.requests

        assert alive, f"the snapshot finished before the kill at {point}"
        status = cli("--db", db, "status", "--format", "json")  # readable, WAL replayed or not
        assert status.code == 0, status.err
        assert fingerprint(db, ("meta",)) == {"meta": before["meta"]}
        assert query(
            db, "SELECT count(*) FROM observations WHERE obs_date = ?", [EARLIER_DAY.date()]
        ) == [(len(ALL),)]
        obs, runs = _today(db)
        assert (obs, runs) in [(0, []), (TODAY_ROWS, [("ok", TODAY_ROWS)])]
        if obs == 0:
            assert fingerprint(db) == before
        landed = obs > 0

        again = snapshot.run_snapshot(cfg, db, endpoint=hub.url, token=False)

    assert again.status == "ok"
    obs, runs = _today(db)
    assert obs == TODAY_ROWS  # replaced, not doubled
    assert len(runs) == 1 + landed
    assert query(db, "SELECT count(*) FROM observations") == [(len(ALL) + TODAY_ROWS,)]
    figure(
        point=point,
        requests_before_kill=requests,
        run_landed=landed,
        rows_kept=obs if landed else 0,
    )
