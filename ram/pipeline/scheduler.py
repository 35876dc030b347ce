"""Run snapshots on a cron schedule with APScheduler 3.x: catch-up, one instance, clean stop.

A lock file next to the database keeps a second scheduler from starting; a scheduler that
starts after a missed run snapshots at once; SIGINT/SIGTERM stop it after the running snapshot
has been saved.  Each run is one log line on stderr (never the token).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import filelock
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from ram.config import Config
from ram.cron import parse_crontab
from ram.dates import now_utc
from ram.errors import BadInput, ConfigError, EmptyStore, LockHeld, RamError
from ram.pipeline.snapshot import SnapshotSummary, run_snapshot
from ram.store.database import Store

log = logging.getLogger("ram.pipeline.scheduler")

# How far back to look for the cron's previous fire time; wider only when nothing fired.
_LOOKBACK = tuple(dt.timedelta(days=d) for d in (1 / 24, 1, 8, 32, 367, 1462, 11_000))
_POLL_SECONDS = 0.1


def lock_path(db: Path) -> Path:
    return Path(f"{db}.schedule.lock")


def crontab_trigger(expr: str, timezone: str, origin: str = "--cron") -> BaseTrigger:
    """A trigger for a standard 5-field crontab line in ``timezone``: APScheduler's
    ``CronTrigger`` with crontab's weekday numbers (0 and 7 are Sunday; APScheduler counts from
    Monday) and crontab's day rule (both day and weekday restricted: either matches, as an
    ``OrTrigger`` of the two; APScheduler alone requires both).

    croniter (6.0) was tried as the alternative and not taken: with ``zoneinfo`` zones it fires
    ``0 8 * * *`` in Europe/Berlin at 07:00 and again at 08:00 on the spring-forward day, where
    ``CronTrigger`` fires once at 08:00 (tests/test_scheduler.py pins it), and it would add
    pytz and python-dateutil for what APScheduler, already the scheduler, does."""
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"schedule.timezone {timezone!r} is not a known time zone; "
            "use e.g. UTC or Europe/Berlin"
        ) from None
    try:
        line = parse_crontab(expr)
        minute, hour, day, month, _ = expr.split()
        weekdays = line.apscheduler_weekdays()
        if line.either_day:
            return OrTrigger([
                CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=tz),
                CronTrigger(minute=minute, hour=hour, month=month, day_of_week=weekdays,
                            timezone=tz),
            ])  # fmt: skip
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=weekdays, timezone=tz
        )
    except ValueError as exc:
        raise BadInput(f"{origin} {expr!r} is not a valid cron line: {exc}") from None


def previous_fire_time(trigger: BaseTrigger, now: dt.datetime) -> dt.datetime | None:
    """The trigger's latest fire time at or before ``now`` (None if it never fired lately)."""
    for window in _LOOKBACK:
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        while True:
            later = trigger.get_next_fire_time(None, fire + dt.timedelta(seconds=1))
            if later is None or later > now:
                return fire
            fire = later
    return None


def last_good_run(db: Path) -> dt.datetime | None:
    """Start (UTC) of the newest ``ok``/``partial`` snapshot of every tracked org."""
    import json

    if not Path(db).exists():
        return None
    try:
        with Store.open(db, read_only=True) as store:
            rows = store.snapshot_runs(100, statuses=("ok", "partial"))
    except EmptyStore:
        return None
    for _, started, _, details in rows:
        if json.loads(details or "{}").get("restricted_to") is None:  # not an --orgs run
            return started.replace(tzinfo=dt.UTC)
    return None


def needs_catch_up(trigger: BaseTrigger, last_good: dt.datetime | None, now: dt.datetime) -> bool:
    """True when the cron has fired since the last good snapshot (or there never was one)."""
    if last_good is None:
        return True
    previous = previous_fire_time(trigger, now)
    return previous is not None and last_good < previous


def pid_path(db: Path) -> Path:
    """Where the scheduler holding the lock writes its pid (the lock file itself is truncated by
    every process that tries it)."""
    return Path(f"{db}.schedule.pid")


@contextlib.contextmanager
def schedule_lock(db: Path) -> Iterator[Path]:
    """Hold ``<db>.schedule.lock`` for one scheduler; a second one gets ``LockHeld`` naming the
    holder's pid.  ``filelock`` (installed with huggingface_hub): flock on Unix, the Windows lock
    on Windows, where the fcntl this replaced did not exist; the OS drops it when the process
    dies, so a killed scheduler leaves nothing to clean."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path, timeout=0, is_singleton=False, thread_local=False)
    pid = pid_path(db)
    try:
        lock.acquire()
    except filelock.Timeout:
        try:
            holder = pid.read_text().strip() or "unknown"
        except OSError:
            holder = "unknown"
        raise LockHeld(
            f"another scheduler (pid {holder}) is already running for {db} "
            f"(lock {path}); stop it first or use another --db"
        ) from None
    try:
        pid.write_text(f"{os.getpid()}\n")
        yield path
    finally:
        with contextlib.suppress(OSError):
            pid.write_text("")
        lock.release()


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (the CLI tests swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """One line per event on stderr, UTC timestamps; APScheduler only for its warnings."""
    handler = _Stderr()
    formatter = logging.Formatter("%(asctime)sZ %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    for name, lvl in (("ram", level), ("apscheduler", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(lvl)
        if not any(isinstance(h, _Stderr) for h in logger.handlers):
            logger.addHandler(handler)
        logger.propagate = name != "apscheduler"


def log_summary(summary: SnapshotSummary) -> None:
    """The run's one log line: info when ok, warning when partial, error when failed."""
    line = summary.line()
    if summary.status == "ok":
        log.info(line)
    else:
        failed = summary.run.error_summary if summary.run is not None else None
        log.log(
            logging.WARNING if summary.status == "partial" else logging.ERROR,
            "%s; %s",
            line,
            failed or "nothing could be fetched",
        )


# What runs after each snapshot that saved data (``ram schedule`` passes the site publish of
# ``schedule.publish_to``); its failure is logged and never fails the snapshot.
AfterSnapshot = Callable[[SnapshotSummary], None]


def _crash_line(what: str, exc: Exception) -> None:
    text = " ".join(str(exc).split())[:300]
    log.error("%s crashed: %s: %s", what, type(exc).__name__, text)
    log.debug("traceback of the crashed %s", what, exc_info=True)


def run_logged(
    cfg: Config,
    db: Path,
    endpoint: str | None = None,
    token: str | bool | None = None,
    after: AfterSnapshot | None = None,
) -> SnapshotSummary | None:
    """One snapshot, logged; errors become a log line so the scheduler keeps running.  Then
    ``after`` (when the snapshot saved something), whose errors are logged the same way."""
    try:
        summary = run_snapshot(cfg, db, endpoint=endpoint, token=token)
    except RamError as exc:
        log.error("snapshot failed: %s", exc)
        return None
    except Exception as exc:  # a bug must not stop the schedule; the next run may succeed
        _crash_line("snapshot", exc)
        return None
    log_summary(summary)
    if after is not None and summary.status != "failed":
        try:
            after(summary)
        except RamError as exc:
            log.error("after the snapshot: %s", exc)
        except Exception as exc:  # the snapshot is saved whatever happens here
            _crash_line("step after the snapshot", exc)
    return summary


class SnapshotScheduler:
    """A ``BlockingScheduler`` with one coalescing snapshot job; ``start`` blocks until ``stop``."""

    def __init__(
        self,
        cfg: Config,
        db: Path,
        trigger: BaseTrigger,
        *,
        endpoint: str | None = None,
        token: str | bool | None = None,
        after: AfterSnapshot | None = None,
    ) -> None:
        self.cfg, self.db, self.trigger = cfg, db, trigger
        self.endpoint, self.token, self.after = endpoint, token, after
        self.summaries: list[SnapshotSummary | None] = []
        self.finished = threading.Event()  # set after each run (tests wait on it)
        self.closed = threading.Event()  # set once start() has returned
        self._stopping = False
        self._executor = ThreadPoolExecutor(max_workers=1)
        self.scheduler = BlockingScheduler(
            timezone=getattr(trigger, "timezone", dt.UTC),
            executors={"default": self._executor},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": cfg.schedule.misfire_grace_seconds,
            },
        )

    def _job(self) -> None:
        if self._stopping:
            return
        self.summaries.append(run_logged(self.cfg, self.db, self.endpoint, self.token, self.after))
        job = self.scheduler.get_job("snapshot")
        next_run = getattr(job, "next_run_time", None)  # absent until the job is scheduled
        if next_run is not None:
            log.info("next snapshot at %s", next_run.isoformat(timespec="seconds"))
        self.finished.set()

    def start(self, catch_up: bool | None = None) -> None:
        """Schedule the job (at once when a run was missed) and run until ``stop``."""
        now = now_utc()
        last = last_good_run(self.db)
        if catch_up is None:
            catch_up = needs_catch_up(self.trigger, last, now)
        kwargs: dict[str, Any] = {"next_run_time": now} if catch_up else {}
        self.scheduler.add_job(
            self._job, self.trigger, id="snapshot", name="snapshot", replace_existing=True, **kwargs
        )
        last_text = last.isoformat(timespec="seconds") if last else "never"
        log.info(
            "scheduler started (pid %d): %s; last good snapshot %s; %s",
            os.getpid(),
            self.trigger,
            last_text,
            "catch-up snapshot now" if catch_up else "waiting for the next fire time",
        )
        try:
            self.scheduler.start()
            self._executor.shutdown(wait=True)  # the running snapshot finishes and is saved
        finally:
            self.closed.set()
        log.info("scheduler stopped")

    def stop(self, reason: str = "stop requested") -> None:
        """Stop after the running snapshot (if any) has finished; callable from any thread,
        and again until the scheduler has stopped (a stop before it started takes effect)."""
        if not self._stopping:
            self._stopping = True
            log.info("%s: stopping after the running snapshot finishes", reason)
        if self.scheduler.running:
            self.scheduler.remove_all_jobs()
            self.scheduler.shutdown(wait=False)


def serve(
    cfg: Config,
    db: Path,
    *,
    cron: str | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    after: AfterSnapshot | None = None,
) -> None:
    """Run the schedule in the foreground until SIGINT/SIGTERM; one scheduler per database."""
    origin = "--cron" if cron is not None else f"{cfg.path or 'config'}: schedule.cron"
    line = cron if cron is not None else cfg.schedule.cron  # --cron "" is refused, not ignored
    trigger = crontab_trigger(line, cfg.schedule.timezone, origin)
    with schedule_lock(db):
        sched = SnapshotScheduler(cfg, db, trigger, endpoint=endpoint, token=token, after=after)
        received: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            received.append(signum)  # only a note here: APScheduler is driven from a thread

        def watch() -> None:
            while not sched.closed.wait(_POLL_SECONDS):
                if received:
                    sched.stop(signal.Signals(received[0]).name)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        watcher = threading.Thread(target=watch, name="ram-signals", daemon=True)
        watcher.start()
        try:
            sched.start()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def run_once(
    cfg: Config,
    db: Path,
    endpoint: str | None = None,
    token: str | bool | None = None,
    after: AfterSnapshot | None = None,
) -> SnapshotSummary | None:
    """``ram schedule --once``: one logged snapshot (then ``after``) under the scheduler's lock."""
    with schedule_lock(db):
        return run_logged(cfg, db, endpoint, token, after)
