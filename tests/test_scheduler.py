"""``ram schedule``: cron parsing, catch-up, the one-scheduler lock, runs on a fast trigger, and a
clean stop on SIGTERM in a real subprocess against the fake Hub."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from ram.cron import parse_crontab
from ram.errors import BadInput, ConfigError, LockHeld
from ram.pipeline import scheduler
from ram.store.database import RunRecord, Store
from tests.conftest import CliRunner
from tests.fakehub import FakeHub
from tests.reliability.support import RAM, ram_env
from tests.test_snapshot import (
    _lines,
    fill_small,
    query,
    rest_of,
    small_config,
    wait_for,
    write_config,
)

UTC = dt.UTC

pytestmark = pytest.mark.usefixtures("hub_client")  # the client talks to the fake Hub only


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(page_size=2) as fake:
        fill_small(fake)
        yield fake


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``configure_logging`` changes process-wide loggers; put them back after each test."""
    saved = {
        name: (lg.level, list(lg.handlers), lg.propagate)
        for name in ("ram", "apscheduler")
        for lg in [logging.getLogger(name)]
    }
    yield
    for name, (level, handlers, propagate) in saved.items():
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate


# -- cron lines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("6,0", "sun,sat"),
        ("5-7", "sun,fri,sat"),
        ("SAT", "sat"),
    ],
)
def test_crontab_weekdays_count_from_sunday(field: str, names: str) -> None:
    assert parse_crontab(f"0 6 * * {field}").apscheduler_weekdays() == names


def test_a_weekday_cron_fires_on_the_crontab_day() -> None:
    trigger = scheduler.crontab_trigger("0 0 * * 0", "UTC")  # Sundays (APScheduler: Mondays)

    fire = trigger.get_next_fire_time(None, dt.datetime(2026, 3, 11, tzinfo=UTC))

    assert fire == dt.datetime(2026, 3, 15, tzinfo=UTC)
    assert fire.strftime("%A") == "Sunday"


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("daily", "--cron 'daily' is not a valid cron line: a cron line has 5 fields: minute"),
        ("", "--cron '' is not a valid cron line: a cron line has 5 fields"),
        ("61 * * * *", "--cron '61 * * * *' is not a valid cron line: minute '61' is not 0-59"),
        ("0 0 * * 8", "--cron '0 0 * * 8' is not a valid cron line: weekday '8' is not 0-7 or"),
        ("0 0 * * 5-1", "weekday range '5-1' runs backwards"),
        ("0 0 31 2 *", "'0 0 31 2 *' never fires (no month has that day)"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 0 * 13 *", "month '13' is not 1-12 or jan-dec"),
        ("0 0 * * */0", "step '0' in the weekday field is not a positive number"),
    ],
)
def test_invalid_cron_lines_are_bad_input(cron: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        scheduler.crontab_trigger(cron, "UTC")
    assert message in str(caught.value)


def test_an_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"schedule\.timezone 'Mars/Olympus' is not a known"):
        scheduler.crontab_trigger("17 6 * * *", "Mars/Olympus")


def test_cli_bad_cron_is_one_line_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    r = cli("--db", tmp_path / "s.duckdb", "schedule", "--cron", "every day")

    assert (r.code, r.out) == (2, "")
    assert r.err == (
        "Error: --cron 'every day' is not a valid cron line: a cron line has 5 fields: minute "
        "hour day month weekday, e.g. '17 6 * * *' (06:17 every day)\n"
    )
    assert not (tmp_path / "s.duckdb").exists()


# -- catch-up --------------------------------------------------------------------------------


def test_previous_fire_time_of_daily_weekly_and_zoned_crons() -> None:
    daily = scheduler.crontab_trigger("17 6 * * *", "UTC")
    sunday = scheduler.crontab_trigger("0 0 * * 0", "UTC")
    berlin = scheduler.crontab_trigger("0 8 * * *", "Europe/Berlin")
    now = dt.datetime(2026, 3, 11, 10, 0, tzinfo=UTC)  # a Wednesday

    assert scheduler.previous_fire_time(daily, now) == dt.datetime(2026, 3, 11, 6, 17, tzinfo=UTC)
    assert scheduler.previous_fire_time(daily, now.replace(hour=5)) == dt.datetime(
        2026, 3, 10, 6, 17, tzinfo=UTC
    )
    assert scheduler.previous_fire_time(sunday, now) == dt.datetime(2026, 3, 8, tzinfo=UTC)
    assert scheduler.previous_fire_time(berlin, now) == dt.datetime(2026, 3, 11, 7, tzinfo=UTC)
    yearly = scheduler.crontab_trigger("0 0 1 1 *", "UTC")
    assert scheduler.previous_fire_time(yearly, now) == dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_catch_up_when_the_last_good_run_is_older_than_one_period() -> None:
    daily = scheduler.crontab_trigger("17 6 * * *", "UTC")
    now = dt.datetime(2026, 3, 11, 10, 0, tzinfo=UTC)

    assert scheduler.needs_catch_up(daily, None, now)
    assert scheduler.needs_catch_up(daily, dt.datetime(2026, 3, 10, 6, 17, 5, tzinfo=UTC), now)
    assert not scheduler.needs_catch_up(daily, dt.datetime(2026, 3, 11, 6, 17, 5, tzinfo=UTC), now)


def test_the_last_good_run_ignores_failed_and_restricted_runs(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert scheduler.last_good_run(db) is None

    def at(hour: int, status: str, details: dict[str, Any]) -> RunRecord:
        started = dt.datetime(2026, 3, 11, hour, tzinfo=UTC)
        return RunRecord("snapshot", "hub", started, status=status, details=details)

    with Store.open(db) as store:
        store.record_run(at(1, "ok", {"restricted_to": None}))
        store.record_run(at(2, "partial", {"restricted_to": None}))
        store.record_run(at(3, "failed", {"restricted_to": None}))
        store.record_run(at(4, "ok", {"restricted_to": ["Qwen"]}))
        store.record_run(RunRecord("import", "panel", dt.datetime(2026, 3, 11, 5, tzinfo=UTC)))

    assert scheduler.last_good_run(db) == dt.datetime(2026, 3, 11, 2, tzinfo=UTC)


# -- the lock --------------------------------------------------------------------------------


def test_a_second_scheduler_is_refused_naming_the_holder(cli: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"

    with scheduler.schedule_lock(db) as path:
        assert path == tmp_path / "s.duckdb.schedule.lock"
        assert scheduler.pid_path(db).read_text() == f"{os.getpid()}\n"
        held = rf"another scheduler \(pid {os.getpid()}\)"
        with pytest.raises(LockHeld, match=held), scheduler.schedule_lock(db):
            pass
        r = cli("--db", db, "schedule", "--once")
    with scheduler.schedule_lock(db):  # released: free again
        pass

    assert r.code == 1
    assert r.err == (
        f"Error: another scheduler (pid {os.getpid()}) is already running for {db} "
        f"(lock {db}.schedule.lock); stop it first or use another --db\n"
    )


# -- running ---------------------------------------------------------------------------------


def test_jobs_run_on_the_trigger_with_one_instance_and_stop_cleanly(
    hub: FakeHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "s.duckdb"
    caplog.set_level(logging.INFO, logger="ram.pipeline.scheduler")
    sched = scheduler.SnapshotScheduler(
        small_config(), db, IntervalTrigger(seconds=1), endpoint=hub.url, token=False
    )
    thread = threading.Thread(target=sched.start, kwargs={"catch_up": True})
    thread.start()
    deadline = time.monotonic() + 20
    while len(sched.summaries) < 2 and time.monotonic() < deadline:
        sched.finished.wait(0.1)
        sched.finished.clear()
    job = sched.scheduler.get_job("snapshot")
    settings = (job.coalesce, job.max_instances, job.misfire_grace_time)
    sched.stop("test")
    thread.join(10)

    assert not thread.is_alive()
    assert settings == (True, 1, 3600)
    assert [s.status for s in sched.summaries[:2] if s is not None] == ["ok", "ok"]
    assert query(db, "SELECT count(*), min(status), max(status) FROM runs")[0][1:] == ("ok", "ok")
    assert query(db, "SELECT count(*) FROM observations") == [(6,)]  # same day: replaced
    lines = [r.getMessage() for r in caplog.records if r.name == "ram.pipeline.scheduler"]
    assert lines[0].startswith(f"scheduler started (pid {os.getpid()}): interval[0:00:01]")
    assert lines[0].endswith("last good snapshot never; catch-up snapshot now")
    assert sum(line.startswith("snapshot ok: 9 models") for line in lines) >= 2
    assert lines[-2:] == ["test: stopping after the running snapshot finishes", "scheduler stopped"]


def test_no_catch_up_after_a_recent_good_run(hub: FakeHub, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.record_run(RunRecord("snapshot", "hub", dt.datetime.now(UTC), details={}))
    trigger = scheduler.crontab_trigger("0 0 1 1 *", "UTC")  # yearly
    sched = scheduler.SnapshotScheduler(small_config(), db, trigger, endpoint=hub.url, token=False)
    thread = threading.Thread(target=sched.start)
    thread.start()
    # A job added before the scheduler starts gets its next_run_time once it is scheduled.
    deadline = time.monotonic() + 10
    next_run = None
    while next_run is None and time.monotonic() < deadline:
        job = sched.scheduler.get_job("snapshot")
        next_run = getattr(job, "next_run_time", None) if job is not None else None
        time.sleep(0.01)
    sched.stop()
    thread.join(10)

    assert next_run == dt.datetime(dt.datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)
    assert sched.summaries == []
    assert hub.requests == 0


def test_cli_once_runs_one_logged_snapshot(
    cli: CliRunner, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    write_config(tmp_path)
    db = tmp_path / "s.duckdb"

    r = cli("--db", db, "schedule", "--once")

    assert (r.code, r.out) == (0, "")
    (line,) = r.err.splitlines()
    assert " INFO snapshot ok: 9 models (9 new, 6 tracked), 6 observations, 0 failed, " in line
    assert query(db, "SELECT kind, status FROM runs") == [("snapshot", "ok")]
    assert not (tmp_path / "s.duckdb.schedule.pid").read_text()  # released, pid cleared


# -- a real process ----------------------------------------------------------------------------


def _start(db: Path, hub: FakeHub, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RAM, "--db", str(db), "schedule", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ram_env(HF_ENDPOINT=hub.url, HF_TOKEN="hf_SCHEDULEsecret0token"),
    )


@pytest.mark.slow  # processes and signals: with the reliability suite
def test_sigterm_stops_the_scheduler_cleanly_and_a_second_one_is_refused(
    hub: FakeHub, tmp_path: Path
) -> None:
    write_config(tmp_path)
    db = tmp_path / "s.duckdb"
    proc = _start(db, hub, "--cron", "* * * * *")
    assert proc.stderr is not None
    lines, seen = _lines(proc.stderr), list[str]()
    try:
        wait_for(lines, "snapshot ok:", seen)
        second = subprocess.run(
            [*RAM, "--db", str(db), "schedule"],
            capture_output=True,
            text=True,
            env=ram_env(HF_ENDPOINT=hub.url),
            timeout=60,
        )
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        stopped_in = time.monotonic() - started
        rest = "\n".join(rest_of(lines))
    finally:
        if proc.poll() is None:
            proc.kill()
    log = "\n".join(seen) + "\n" + rest

    assert (second.returncode, second.stdout) == (1, "")
    assert second.stderr == (
        f"Error: another scheduler (pid {proc.pid}) is already running for {db} "
        f"(lock {db}.schedule.lock); stop it first or use another --db\n"
    )
    assert code == 0, log
    assert stopped_in < 5
    assert "catch-up snapshot now" in seen[0]
    assert "SIGTERM: stopping after the running snapshot finishes" in rest
    assert rest.rstrip().endswith("INFO scheduler stopped")
    assert "hf_SCHEDULEsecret0token" not in log
    assert "Traceback" not in log
    assert query(db, "SELECT status, requests FROM runs")[0] == ("ok", 6)


@pytest.mark.slow  # processes and signals: with the reliability suite
def test_sigterm_during_a_snapshot_waits_for_it_to_be_saved(tmp_path: Path) -> None:
    write_config(tmp_path)
    db = tmp_path / "s.duckdb"
    with FakeHub(page_size=2, latency=0.4) as slow:  # about 1.5 s of fetching
        fill_small(slow)
        proc = _start(db, slow, "--cron", "17 6 * * *")
        assert proc.stderr is not None
        lines, seen = _lines(proc.stderr), list[str]()
        try:
            wait_for(lines, "catch-up snapshot now", seen)
            while slow.requests == 0:
                time.sleep(0.02)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            rest = rest_of(lines)
        finally:
            if proc.poll() is None:
                proc.kill()

    assert code == 0, "\n".join(seen + rest)
    events = [line.split(" ", 2)[2] for line in rest]
    assert events[0] == "SIGTERM: stopping after the running snapshot finishes"
    assert events[1].startswith("snapshot ok: 9 models (9 new, 6 tracked)")
    assert events[-1] == "scheduler stopped"
    (status, details) = query(db, "SELECT status, details FROM runs")[0]
    assert status == "ok" and json.loads(details)["org_counts"] == {
        "Alpha": 4,
        "Beta": 1,
        "Gamma": 3,
    }


def test_cli_once_publishes_the_site_after_the_snapshot(
    cli: CliRunner, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``schedule.publish_to``: after the snapshot is saved, the site is written (a first
    snapshot of one day has no baselines yet: the site says so instead of failing)."""
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    from tests.test_snapshot import SMALL

    write_config(tmp_path, {**SMALL, "schedule": {"publish_to": "site"}})
    db = tmp_path / "s.duckdb"

    r = cli("--db", db, "schedule", "--once")

    assert (r.code, r.out) == (0, ""), r.err
    first, second = r.err.splitlines()
    assert " INFO snapshot ok: " in first
    assert f" INFO published {tmp_path / 'site'}: 6 model pages, " in second
    assert "No size class has a baseline yet" in (tmp_path / "site" / "index.html").read_text()
    assert len(list((tmp_path / "site" / "models").rglob("*.html"))) == 6


def test_a_failed_publish_is_logged_and_the_snapshot_still_counts(
    cli: CliRunner, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    from tests.test_snapshot import SMALL

    (tmp_path / "site").write_text("a file where the site should go")
    write_config(tmp_path, {**SMALL, "schedule": {"publish_to": "site"}})
    db = tmp_path / "s.duckdb"

    r = cli("--db", db, "schedule", "--once")

    assert r.code == 0
    first, second = r.err.splitlines()
    assert " INFO snapshot ok: " in first
    assert second.endswith(" ERROR after the snapshot: " + f"{tmp_path / 'site'} exists and is "
                           "not a folder; pass a folder to publish into")  # fmt: skip
    assert query(db, "SELECT kind, status FROM runs") == [("snapshot", "ok")]


def _fires(cron: str, start: dt.datetime, n: int, tz: str = "UTC") -> list[dt.datetime]:
    trigger = scheduler.crontab_trigger(cron, tz)
    out: list[dt.datetime] = []
    now = start
    for _ in range(n):
        fire = trigger.get_next_fire_time(None, now)
        assert fire is not None
        out.append(fire)
        now = fire.astimezone(UTC) + dt.timedelta(minutes=1)
    return out


def test_a_restricted_day_and_weekday_fire_on_either_as_crontab_does() -> None:
    """Issue 14: ``0 6 1 * mon`` is 'the 1st and every Monday' in crontab; APScheduler's own
    CronTrigger fired only on Mondays that are the 1st (next: 2027-02-01)."""
    days = [f.date() for f in _fires("0 6 1 * mon", dt.datetime(2026, 12, 3, tzinfo=UTC), 5)]
    assert days == [dt.date(2026, 12, d) for d in (7, 14, 21, 28)] + [dt.date(2027, 1, 1)]
    # A field starting with * is unrestricted: then both must match (Vixie cron's rule).
    odd_mondays = _fires("0 6 */2 * mon", dt.datetime(2026, 12, 3, tzinfo=UTC), 3)
    assert [f.date() for f in odd_mondays] == [dt.date(2026, 12, 7), dt.date(2026, 12, 21),
                                               dt.date(2027, 1, 11)]  # fmt: skip
    # A line whose day never comes still fires on its weekdays.
    assert _fires("0 0 31 2 mon", dt.datetime(2026, 12, 3, tzinfo=UTC), 1)[0].date() == dt.date(
        2027, 2, 1
    )
    daily = scheduler.crontab_trigger("0 6 1 * mon", "UTC")
    assert scheduler.previous_fire_time(daily, dt.datetime(2026, 12, 3, tzinfo=UTC)) == (
        dt.datetime(2026, 12, 1, 6, tzinfo=UTC)
    )


def test_a_zoned_daily_cron_fires_once_on_the_spring_forward_day() -> None:
    fires = _fires("0 8 * * *", dt.datetime(2027, 3, 27, 12, tzinfo=UTC), 3, "Europe/Berlin")
    assert [f.astimezone(UTC) for f in fires] == [
        dt.datetime(2027, 3, 28, 6, tzinfo=UTC),  # 08:00 CEST
        dt.datetime(2027, 3, 29, 6, tzinfo=UTC),
        dt.datetime(2027, 3, 30, 6, tzinfo=UTC),
    ]
