"""Readers while a writer runs, and schedulers side by side: twenty ``ram top`` processes during an
import or a snapshot all succeed, each answering with the store as it was before the write or as
it is after it; a second scheduler refuses to start, and a killed one leaves no lock behind."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

import ram.store.database
from ram.store.database import Store
from tests.conftest import EXAMPLE_ORGS, CliRunner
from tests.fakehub import FakeHub
from tests.reliability.conftest import Figure
from tests.reliability.support import (
    ORGS,
    fill_hub,
    fingerprint,
    pump,
    ram_env,
    ram_popen,
    write_panel,
)

READERS = 20
TOP = ("top", "--day", "30", "--format", "csv", "--include-thin")  # the example pool is thin
STAR = "gen0/star-7B"  # out-downloads every example model, so the leaderboard changes
SEVEN_B = {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000}
HOLD_READ_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
time.sleep(60)
"""


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


@pytest.fixture
def star_hub(hub_client: None) -> Iterator[FakeHub]:
    """A slow Hub whose one repo, released 30 days ago, tops the 5-10B leaderboard at day 30."""
    released = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
    with FakeHub(latency=0.2) as hub:
        hub.add(
            "Star/star-7B",
            createdAt=f"{released}T00:00:00.000Z",
            downloads=90_000_000,
            pipeline_tag="text-generation",
            safetensors=SEVEN_B,
        )
        yield hub


@pytest.mark.parametrize("writer", ["import", "snapshot"])
def test_twenty_reads_during_a_write_see_before_or_after(
    writer: str,
    cli: CliRunner,
    example_db: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    figure: Figure,
) -> None:
    cfg = tmp_path / "config.yaml"
    orgs = {"Star": "us", **EXAMPLE_ORGS}  # the example's orgs stay tracked
    tracking = {"use_catalog": False, "orgs": orgs, "min_downloads": None}
    cfg.write_text(yaml.safe_dump({"tracking": tracking}))
    top = ("--db", example_db, "--config", cfg, *TOP)
    args: tuple[str | Path, ...]
    if writer == "import":
        panel = tmp_path / "wave.csv"
        rows = write_panel(panel, 300, 200, star=STAR)
        args, env, star = ("import", "panel", panel), {}, STAR
    else:
        hub = request.getfixturevalue("star_hub")
        rows = 1
        args, env, star = ("snapshot",), {"HF_ENDPOINT": hub.url}, "Star/star-7B"
    before = cli(*top)
    assert before.code == 0 and star not in before.out
    started = time.monotonic()

    # Half the readers start with the writer, the rest once it starts writing, so that some
    # meet its lock and wait.
    readers = [ram_popen(*top) for _ in range(READERS // 2)]
    proc = ram_popen("--db", example_db, "--config", cfg, *args, **env)
    lines = pump(proc)
    wait_until(
        lambda: proc.poll() is not None or any(s.startswith(("writing ", "saving ")) for s in lines)
    )
    readers += [ram_popen(*top) for _ in range(READERS - READERS // 2)]
    answers = [(*p.communicate(timeout=120), p.returncode) for p in readers]
    w_out, _ = proc.communicate(timeout=120)
    elapsed = time.monotonic() - started

    assert proc.returncode == 0, lines
    assert w_out.startswith("imported " if writer == "import" else "snapshot ok: 1 models")
    after = cli(*top)
    assert after.code == 0 and star in after.out and after.out != before.out
    assert [err for _, err, code in answers if code != 0] == []
    odd = [out for out, _, _ in answers if out not in (before.out, after.out)]
    assert odd == []
    saw_before = sum(out == before.out for out, _, _ in answers)
    figure(
        readers=READERS,
        errors=0,
        saw_before=saw_before,
        saw_after=READERS - saw_before,
        rows_written=rows,
        seconds=round(elapsed, 1),
    )


# ``ram`` in a host DuckDB takes for an interactive shell (``python -c``, a REPL): there DuckDB
# turns its stdout progress bar on for statements over 2 s.  Notes each statement's setting.
PROBE = """
import json, sys, duckdb
seen, real = [], duckdb.connect

class Watched:
    def __init__(self, con, where):
        self._con, self._where = con, where
    def execute(self, sql, *args, **kwargs):
        if not sql.lstrip().upper().startswith(("SET ", "SELECT CURRENT_SETTING")):
            on = self._con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
            seen.append((self._where, " ".join(sql.split())[:50], on))
        return self._con.execute(sql, *args, **kwargs)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self._con.close()
    def __getattr__(self, name):
        return getattr(self._con, name)

def connect(*args, **kwargs):
    where = "file" if args and args[0] not in ("", ":memory:") else "memory"
    return Watched(real(*args, **kwargs), where)

duckdb.connect = connect
from ram.cli import main
codes = [main(args) for args in json.loads(sys.argv[1])]
with open(sys.argv[2], "w") as out:
    json.dump({"codes": codes, "seen": seen}, out)
"""


@pytest.fixture(scope="module")
def interactive_probe(
    example_db_master: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[str, str, bool]]:
    """(connection kind, statement, progress bar on) of top, import, status and models."""
    tmp = tmp_path_factory.mktemp("probe")
    db, panel, report = tmp / "s.duckdb", tmp / "p.csv", tmp / "probe.json"
    shutil.copy(example_db_master, db)
    write_panel(panel, 20, 40)
    runs = [["--db", str(db), *TOP], ["--db", str(db), *TOP],
            ["--db", str(db), "import", "panel", str(panel)], ["--db", str(db), *TOP],
            ["--db", str(db), "status"], ["--db", str(db), "models"]]  # fmt: skip

    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(runs), str(report)],
        capture_output=True, text=True, env=ram_env(), timeout=120, cwd=tmp,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    probe = json.loads(report.read_text())
    assert probe["codes"] == [0] * len(runs)
    return [tuple(row) for row in probe["seen"]]


def test_store_connections_draw_no_progress_bar_even_in_an_interactive_host(
    interactive_probe: list[tuple[str, str, bool]],
) -> None:
    """A progress bar on stdout lands in the middle of ``--format csv`` output."""
    on_file = [(sql, on) for where, sql, on in interactive_probe if where == "file"]
    assert len(on_file) > 10
    assert [sql for sql, on in on_file if on] == []


def test_no_duckdb_connection_draws_a_progress_bar_in_an_interactive_host(
    interactive_probe: list[tuple[str, str, bool]],
) -> None:
    """The score cache's in-memory connections too (``ram top`` reads its answer from them)."""
    assert any(where == "memory" for where, _, _ in interactive_probe)
    assert [sql for _, sql, on in interactive_probe if on] == []


def test_a_second_scheduler_refuses_and_a_killed_one_leaves_no_lock(
    hub_client: None, tmp_path: Path, figure: Figure
) -> None:
    db, cfg = tmp_path / "s.duckdb", tmp_path / "config.yaml"
    tracking = {"use_catalog": False, "orgs": dict.fromkeys(ORGS, "us"), "min_downloads": None}
    cfg.write_text(yaml.safe_dump({"tracking": tracking, "schedule": {"cron": "0 0 1 1 *"}}))
    schedule = ("--db", db, "--config", cfg, "schedule")
    with FakeHub() as hub:
        fill_hub(hub)
        env = {"HF_ENDPOINT": hub.url}
        first = ram_popen(*schedule, **env)
        first_log = pump(first)
        # It catches up at once (no snapshot yet), then waits for New Year.
        wait_until(lambda: any("next snapshot at" in line for line in first_log))

        second = ram_popen(*schedule, **env)
        once = ram_popen(*schedule, "--once", **env)
        refused = [(*p.communicate(timeout=60), p.returncode) for p in (second, once)]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        third = ram_popen(*schedule, **env)
        third_log = pump(third)
        wait_until(lambda: any("scheduler started" in line for line in third_log))
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=60)
        wait_until(lambda: any("scheduler stopped" in line for line in third_log), timeout=10)
        after = ram_popen(*schedule, "--once", **env)
        _, after_err = after.communicate(timeout=60)

    message = (
        f"Error: another scheduler (pid {first.pid}) is already running for {db} "
        f"(lock {db}.schedule.lock); stop it first or use another --db"
    )
    for out, err, code in refused:
        assert (code, out) == (1, "")
        assert err.splitlines()[-1] == message
    assert third.returncode == 0  # SIGTERM: a clean stop
    assert after.returncode == 0, after_err
    assert re.search(r"INFO snapshot ok: 8 models", after_err)
    runs = Store.open(db, read_only=True)
    with runs as store:
        statuses = [r[0] for r in store.con.execute("SELECT status FROM runs").fetchall()]
    assert statuses == ["ok", "ok"]  # the first scheduler's catch-up and the last --once
    figure(schedulers_started=2, refused=2, stale_lock_blocked=False, runs=len(statuses))


def test_a_snapshot_that_cannot_get_the_write_lock_fails_cleanly_and_the_next_succeeds(
    cli: CliRunner,
    hub_client: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sleeps: list[float],
    figure: Figure,
) -> None:
    """A reader that keeps the file open longer than the writer waits (60 s by default, 0.5 s
    here by ``storage.lock_wait_seconds``): the snapshot fails with one line (exit 1) and writes
    nothing, not even its runs row; once the reader is gone, the next run lands."""
    db, cfg = tmp_path / "s.duckdb", tmp_path / "config.yaml"
    tracking = {"use_catalog": False, "orgs": dict.fromkeys(ORGS, "us"), "min_downloads": None}
    cfg.write_text(yaml.safe_dump({"tracking": tracking, "storage": {"lock_wait_seconds": 0.5}}))
    with FakeHub() as hub:
        fill_hub(hub)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        assert cli("--db", db, "--config", cfg, "snapshot").code == 0
        before = fingerprint(db)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_READ_LOCK, str(db)], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        started = time.monotonic()

        blocked = cli("--db", db, "--config", cfg, "snapshot")

        waited = time.monotonic() - started
        unchanged = fingerprint(db) == before  # the fetched rows dropped, nothing half-written
        holder.kill()
        holder.wait(timeout=30)
        after = cli("--db", db, "--config", cfg, "snapshot")

    assert blocked.code == 1
    assert blocked.err.splitlines()[-1].startswith(f"Error: cannot open {db}: ")
    assert blocked.err.splitlines()[-1].endswith(
        "another process held it for 0.5 s (a snapshot, an import or a reader); "
        "try again shortly, or raise storage.lock_wait_seconds"
    )
    assert not ram.store.database.writer_waiting_path(
        db
    ).exists()  # the writer cleans up after itself
    assert unchanged
    assert after.code == 0, after.err
    # Nothing records the blocked run: the runs table (ram status) does not show it either.
    figure(lock_wait_s=0.5, failed_after_s=round(waited, 2), fetched_rows_dropped=8, runs_row=0)


# Two processes reading in turns, overlapping, so the file is never free of a read lock.
READ_IN_TURNS = """
import sys, time
from pathlib import Path
from ram.store.database import Store
db, offset, until = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
time.sleep(offset)
print("reading", flush=True)
reads = 0
while time.time() < until:
    with Store.open(db, read_only=True) as store:
        store.con.execute("SELECT count(*) FROM observations").fetchall()
        time.sleep(0.4)
    reads += 1
print(reads, flush=True)
"""


def test_a_stream_of_readers_makes_way_for_a_waiting_writer(
    example_db: Path, tmp_path: Path, figure: Figure
) -> None:
    """Issue 18: readers taking turns could keep a snapshot's save out for 40-50 s of its 60.
    The writer waits with a fresh marker beside the file; readers seeing it hold back, so the
    write lands within about one read (0.4 s here), and the readers carry on afterwards."""
    db = tmp_path / "busy.duckdb"
    shutil.copy(example_db, db)
    until = time.time() + 6
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READ_IN_TURNS, str(db), str(offset), str(until)],
            stdout=subprocess.PIPE,
            text=True,
            env=ram_env(),
        )
        for offset in (0.0, 0.2)
    ]
    for r in readers:
        assert r.stdout is not None and r.stdout.readline() == "reading\n"
    time.sleep(0.5)  # both are in their loops
    started = time.monotonic()
    with Store.open(db, wait=5) as store:
        waited = store.lock_waited
        store.con.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
    total = time.monotonic() - started
    reads = [int(r.communicate(timeout=60)[0].strip()) for r in readers]

    assert waited < 2, f"the writer waited {waited:.2f} s behind the readers"
    assert all(r.returncode == 0 for r in readers)
    assert all(n >= 5 for n in reads)  # the readers were not starved either
    assert not ram.store.database.writer_waiting_path(db).exists()
    figure(writer_waited_s=round(waited, 2), write_s=round(total, 2), reads=reads)
