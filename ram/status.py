"""What ``ram status`` reports: runs, freshness, counts and data-quality flags."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ram import catalog, derivatives
from ram.config import Config
from ram.dates import now_utc
from ram.metric.quality import observation_flags
from ram.store.database import Store

FAILURE_RUNS = 5  # how many recent snapshot runs ``ram status`` looks back on for failures
FAILURE_COLUMNS = ["target", "kind", "runs_failed", "last_failed", "error", "run_id"]


@dataclass
class Status:
    """A snapshot of the store's health."""

    db: Path
    counts: dict[str, int]
    latest_obs: dt.date | None
    runs: pd.DataFrame
    freshness: pd.DataFrame  # per org: models, last observation, days behind, recent failures
    flags: pd.DataFrame  # model_id, flag, obs_date, detail
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))
    today: dt.date | None = None  # the UTC date "days behind" counts to

    @property
    def days_behind(self) -> int | None:
        """Days from the newest observation to today (UTC): how stale the whole store is."""
        if self.latest_obs is None or self.today is None:
            return None
        return (self.today - self.latest_obs).days


def vanished(
    obs: pd.DataFrame, tracked: set[str], snapshots: Sequence[SnapshotRun] = ()
) -> pd.DataFrame:
    """Tracked models missing from the latest live snapshot although earlier ones had them.

    With the ``snapshots`` runs of that day, only models whose org was listed (or that the Hub
    answered 404 for) count: an org that failed or was not asked has not vanished.
    """
    live = obs[obs["source"] == "hub"]
    if live.empty:
        return pd.DataFrame(columns=["model_id", "flag", "obs_date", "detail"])
    newest = live["obs_date"].max()
    last = live.groupby("model_id")["obs_date"].max()
    gone = last[(last < newest) & last.index.isin(list(tracked))]
    missing: set[str] = set()
    day = [r.details for r in snapshots if r.started_at.date() == pd.Timestamp(newest).date()]
    if day:
        listed = {o.lower() for d in day for o in d.get("org_counts", {})}
        missing = {m for d in day for m in d.get("missing_ids", [])}
        orgs = gone.index.str.split("/").str[0].str.lower()
        gone = gone[orgs.isin(list(listed)) | gone.index.isin(list(missing))]
    return pd.DataFrame(
        {
            "model_id": gone.index,
            "flag": "vanished",
            "obs_date": gone.to_numpy(),
            "detail": [
                f"last seen live {pd.Timestamp(d).date()}"
                + ("; the Hub answers 404" if m in missing else "")
                for m, d in zip(gone.index, gone.to_numpy(), strict=True)
            ],
        }
    )


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


def failures(snapshots: Sequence[SnapshotRun]) -> pd.DataFrame:
    """What failed in the recent snapshot runs: orgs, repo lookups and repos gone from the Hub,
    each with how many of those runs it failed in and its latest message."""
    rows = []
    for run in snapshots:  # newest first: the first row of each target is its latest
        d = run.details
        items = [
            *(("org", k, v) for k, v in d.get("failed_orgs", {}).items()),
            *(("repo", k, v) for k, v in d.get("failed_ids", {}).items()),
            *(("gone", k, "not found on the Hub (404)") for k in d.get("missing_ids", [])),
        ]
        for kind, target, error in items:
            rows.append((target, kind, run.started_at, error, run.run_id))
    if not rows:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    frame = pd.DataFrame(rows, columns=["target", "kind", "last_failed", "error", "run_id"])
    counts = frame.groupby(["target", "kind"]).size().rename("runs_failed")
    latest = frame.drop_duplicates(["target", "kind"]).join(counts, on=["target", "kind"])
    latest = latest.sort_values(
        ["runs_failed", "last_failed", "target"], ascending=[False, False, True]
    )
    return latest[FAILURE_COLUMNS].reset_index(drop=True)


def _freshness(obs: pd.DataFrame, failed: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Per org: models observed, last observation, days behind today (UTC), recent failures
    (failing first).  Counted to today, not to the store's newest day: a store nobody has
    updated for a year is a year behind."""
    columns = ["org", "models", "last_obs", "days_behind", "failures", "last_error"]
    if obs.empty:
        fresh = pd.DataFrame(columns=["org", "models", "last_obs", "days_behind"])
    else:
        last = obs.groupby("model_id")["obs_date"].max().rename("last_obs").reset_index()
        last["org"] = last["model_id"].str.split("/").str[0]
        fresh = last.groupby("org").agg(models=("model_id", "count"), last_obs=("last_obs", "max"))
        fresh["days_behind"] = (pd.Timestamp(today) - fresh["last_obs"]).dt.days
        fresh = fresh.reset_index()
        fresh["last_obs"] = fresh["last_obs"].dt.date
    orgs = failed[failed["kind"] == "org"].set_index("target")
    absent = [o for o in orgs.index if o not in set(fresh["org"])]
    if absent:  # failed before any of their rows landed
        extra = pd.DataFrame({"org": absent, "models": 0, "last_obs": None, "days_behind": None})
        fresh = pd.concat([fresh, extra], ignore_index=True) if len(fresh) else extra
    fresh["failures"] = fresh["org"].map(orgs["runs_failed"]).fillna(0).astype("int64")
    fresh["last_error"] = fresh["org"].map(orgs["error"])
    fresh["days_behind"] = pd.array(fresh["days_behind"].tolist(), dtype="Int64")
    fresh = fresh.sort_values(
        ["failures", "days_behind", "org"], ascending=[False, False, True], na_position="first"
    )
    return fresh[columns].reset_index(drop=True)


def collect_status(cfg: Config, db: Path, today: dt.date | None = None) -> Status:
    """Gather counts, the recent runs, per-org freshness (to ``today``, default today's UTC
    date), snapshot failures and quality flags."""
    today = today or now_utc().date()
    with Store.open(db, read_only=True) as store:
        counts = store.counts()
        latest = store.latest_obs_date()
        runs = store.runs(10)
        snapshots = snapshot_runs(store)
        obs = store.observations()
        models = catalog.load_models(store, cfg)
        fell = derivatives.falls(store.derivative_counts())
    tracked = set(models.loc[models["tracked"], "model_id"])
    failed = failures(snapshots)
    fresh = _freshness(obs, failed, today)
    latest_run = snapshots[0].run_id if snapshots else None
    lookups = failed[(failed["kind"] == "repo") & (failed["run_id"] == latest_run)]
    flags = pd.concat(
        [
            observation_flags(obs),
            vanished(obs, tracked, snapshots),
            pd.DataFrame(
                {
                    "model_id": lookups["target"],
                    "flag": "lookup failed",
                    "obs_date": pd.to_datetime(lookups["last_failed"]).dt.normalize(),
                    "detail": lookups["error"],
                }
            ),
            pd.DataFrame(
                {
                    "model_id": fell["model_id"],
                    "flag": "derivatives fell",
                    "obs_date": pd.to_datetime(fell["obs_date"]),
                    "detail": [
                        f"{r} count {int(p):,} -> {int(n):,} ({src}): children deleted or "
                        "reclassified, kept as reported"
                        for r, p, n, src in zip(
                            fell["relation"],
                            fell["previous"],
                            fell["n"],
                            fell["source"],
                            strict=True,
                        )
                    ],
                }
            ),
        ],
        ignore_index=True,
    )
    if len(flags):
        flags["obs_date"] = pd.to_datetime(flags["obs_date"]).dt.date
    return Status(db, counts, latest, runs, fresh, flags, failed, today)
