"""A write killed with SIGKILL mid-run leaves a readable store with no half run, and the next run
succeeds: the import of a big panel, killed at three points of its write."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ram.store import Store
from tests.conftest import CliRunner
from tests.reliability.conftest import Figure
from tests.reliability.support import query, ram_popen, write_panel

BIG_MODELS, BIG_DAYS = 1_500, 200
EARLIER = "panel:panel"  # the example panel, imported before the killed run


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
    [("first blocks", 1, 0.0), ("mid-insert", 1, 0.15), ("commit/checkpoint", 8_000_000, 0.0)],
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
