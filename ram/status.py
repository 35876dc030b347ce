"""What ``ram status`` reports: runs, freshness, counts and data-quality flags.

Everything comes from SQL aggregates and the flags the store keeps as it is written
(``ram.store.quality``), as plain rows: a status answers without loading pandas or reading the
observations.  ``Status`` still gives each table as a DataFrame to library callers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ram.config import Config
from ram.dates import now_utc
from ram.store.database import Store
from ram.store.quality import detail as observation_detail

if TYPE_CHECKING:
    import pandas as pd

FAILURE_RUNS = 5  # how many recent snapshot runs ``ram status`` looks back on for failures
RUN_ROWS = 10  # recent runs listed
FAILURE_COLUMNS = ("target", "kind", "runs_failed", "last_failed", "error", "run_id")
FRESHNESS_COLUMNS = ("org", "models", "last_obs", "days_behind", "failures", "last_error")
FLAG_COLUMNS = ("model_id", "flag", "obs_date", "detail")
RUN_NUMERIC = frozenset({"models", "observations", "new_models", "failed", "requests"})


@dataclass(frozen=True)
class Table:
    """Rows with their column names; ``numeric`` names the columns a table right-aligns."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    numeric: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.rows)

    def head(self, n: int) -> Table:
        return Table(self.columns, self.rows[:n], self.numeric)

    def select(self, columns: Sequence[str]) -> Table:
        at = [self.columns.index(c) for c in columns]
        return Table(tuple(columns), [tuple(r[i] for i in at) for r in self.rows], self.numeric)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(self.columns))


@dataclass
class Status:
    """A snapshot of the store's health; each table as rows (``*_table``) or a frame."""

    db: Path
    counts: dict[str, int]
    latest_obs: dt.date | None
    runs_table: Table
    freshness_table: Table  # per org: models, last observation, days behind, recent failures
    flags_table: Table  # model_id, flag, obs_date, detail
    failures_table: Table = field(default_factory=lambda: Table(FAILURE_COLUMNS, []))
    today: dt.date | None = None  # the UTC date "days behind" counts to

    @property
    def days_behind(self) -> int | None:
        """Days from the newest observation to today (UTC): how stale the whole store is."""
        if self.latest_obs is None or self.today is None:
            return None
        return (self.today - self.latest_obs).days

    @property
    def runs(self) -> pd.DataFrame:
        return self.runs_table.frame()

    @property
    def freshness(self) -> pd.DataFrame:
        frame = self.freshness_table.frame()
        frame["days_behind"] = frame["days_behind"].astype("Int64")
        return frame

    @property
    def flags(self) -> pd.DataFrame:
        return self.flags_table.frame()

    @property
    def failures(self) -> pd.DataFrame:
        return self.failures_table.frame()


@dataclass(frozen=True)
class SnapshotRun:
    """One live snapshot run with its ``details`` parsed."""

    run_id: str
    started_at: dt.datetime  # naive UTC, as stored
    status: str
    details: dict[str, Any]


def snapshot_runs(store: Store, limit: int = FAILURE_RUNS) -> list[SnapshotRun]:
    """The newest live snapshot runs, newest first."""
    return [SnapshotRun(r, s, st, _details(d)) for r, s, st, d in store.snapshot_runs(limit)]


def _details(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def failures(snapshots: Sequence[SnapshotRun]) -> Table:
    """What failed in the recent snapshot runs: orgs, repo lookups and repos gone from the Hub,
    each with how many of those runs it failed in and its latest message (most often failed,
    then most recent, then by name)."""
    latest: dict[tuple[str, str], list[Any]] = {}
    for run in snapshots:  # newest first: the first row of each target is its latest
        d = run.details
        items = [
            *(("org", k, v) for k, v in d.get("failed_orgs", {}).items()),
            *(("repo", k, v) for k, v in d.get("failed_ids", {}).items()),
            *(("gone", k, "not found on the Hub (404)") for k in d.get("missing_ids", [])),
        ]
        for kind, target, error in items:
            seen = latest.setdefault((target, kind), [target, kind, 0, run.started_at, error,
                                                      run.run_id])  # fmt: skip
            seen[2] += 1
    rows = sorted((tuple(r) for r in latest.values()), key=lambda r: (-r[2], _ago(r[3]), r[0]))
    return Table(FAILURE_COLUMNS, rows, frozenset({"runs_failed"}))


def _ago(moment: dt.datetime) -> float:
    """A sort key putting later moments first."""
    return -moment.timestamp() if moment.tzinfo else -moment.replace(tzinfo=dt.UTC).timestamp()


def freshness(extents: Sequence[tuple[str, int, dt.date]], failed: Table, today: dt.date) -> Table:
    """Per org: models observed, last observation, days behind today (UTC), recent failures
    (failing first, then the stalest).  Counted to today, not to the store's newest day: a
    store nobody has updated for a year is a year behind."""
    org_failures = {r[0]: (r[2], r[4]) for r in failed.rows if r[1] == "org"}
    rows: list[tuple[Any, ...]] = [
        (org, int(n), last, (today - last).days) for org, n, last in extents
    ]
    known = {r[0] for r in rows}
    rows += [(o, 0, None, None) for o in org_failures if o not in known]  # failed before any row
    out = [(*r, *org_failures.get(r[0], (0, None))) for r in rows]
    out.sort(key=lambda r: (-r[4], r[3] is not None, -(r[3] or 0), r[0]))
    # A frame holds an all-unknown last_error as NaN, a number: the table right-aligns it.
    numeric = {"models", "days_behind", "failures"} if rows else {"days_behind", "failures"}
    if all(r[5] is None for r in out):
        numeric.add("last_error")
    return Table(FRESHNESS_COLUMNS, out, frozenset(numeric))


def vanished(store: Store, cfg: Config, snapshots: Sequence[SnapshotRun]) -> list[tuple[Any, ...]]:
    """Tracked models missing from the latest live snapshot although earlier ones had them.

    With the ``snapshots`` runs of that day, only models whose org was listed (or that the Hub
    answered 404 for) count: an org that failed or was not asked has not vanished.
    """
    newest, gone = store.live_stragglers()
    if not gone:
        return []
    missing: set[str] = set()
    day = [r.details for r in snapshots if newest is not None and r.started_at.date() == newest]
    if day:
        listed = {o.lower() for d in day for o in d.get("org_counts", {})}
        missing = {m for d in day for m in d.get("missing_ids", [])}
        gone = [(m, d) for m, d in gone if m.split("/")[0].lower() in listed or m in missing]
    if not gone:
        return []
    from ram import catalog

    tracked = catalog.tracked_among(store.model_facts([m for m, _ in gone]), cfg)
    return [
        (
            m,
            "vanished",
            d,
            f"last seen live {d}" + ("; the Hub answers 404" if m in missing else ""),
        )
        for m, d in gone
        if m in tracked
    ]


def flag_rows(
    store: Store, cfg: Config, snapshots: Sequence[SnapshotRun], failed: Table
) -> list[tuple[Any, ...]]:
    """Every flag: the observations' own (restatements, then spikes), vanished models, repo
    lookups that failed in the latest snapshot, derivative counts that fell."""
    rows: list[tuple[Any, ...]] = [
        (m, flag, day, observation_detail(flag, value, previous))
        for m, flag, day, value, previous in store.quality_flags()
    ]
    rows += vanished(store, cfg, snapshots)
    latest_run = snapshots[0].run_id if snapshots else None
    rows += [
        (r[0], "lookup failed", r[3].date(), r[4])
        for r in failed.rows
        if r[1] == "repo" and r[5] == latest_run
    ]
    rows += [
        (
            m,
            "derivatives fell",
            day,
            f"{relation} count {previous:,} -> {n:,} ({source}): children deleted or "
            "reclassified, kept as reported",
        )
        for m, day, relation, n, source, previous in store.derivative_falls()
    ]
    return rows


def collect_status(cfg: Config, db: Path, today: dt.date | None = None) -> Status:
    """Gather counts, the recent runs, per-org freshness (to ``today``, default today's UTC
    date), snapshot failures and quality flags."""
    today = today or now_utc().date()
    with Store.open(db, read_only=True) as store:
        counts = store.counts()
        latest = store.latest_obs_date()
        columns, runs = store.recent_runs(RUN_ROWS)
        snapshots = snapshot_runs(store)
        failed = failures(snapshots)
        fresh = freshness(store.org_extents(), failed, today)
        flags = flag_rows(store, cfg, snapshots, failed)
    return Status(
        db,
        counts,
        latest,
        Table(tuple(columns), runs, RUN_NUMERIC),
        fresh,
        Table(FLAG_COLUMNS, flags),
        failed,
        today,
    )
