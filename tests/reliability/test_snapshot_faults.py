"""Hub faults through the whole snapshot (fetch → save → ``runs`` row): day 1 is clean, day 2 meets
the fault, then day 2 is re-run clean.  Every run ends ok, partial or failed as it should; day 1's
rows are never touched, no count is a made-up 0, nothing is duplicated and a re-run replaces."""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from collectors import hub as collector
from ram.config import Config, parse_config
from ram.pipeline import snapshot
from ram.status import collect_status
from tests.fakehub import FakeHub, hub_id_for
from tests.reliability.conftest import Figure
from tests.reliability.support import ALL, ALPHA, add_huge_org, fill_hub, query

DAY1 = dt.datetime(2026, 10, 5, 6, 17, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
ORGS = {"Alpha": "us", "Beta": "china", "Gamma": "eu"}
CLEAN_REQUESTS = 3 + 1 + 1  # Alpha's three pages, Beta's and Gamma's one


def config(**collector_settings: Any) -> Config:
    return parse_config(
        {
            "tracking": {"use_catalog": False, "orgs": ORGS, "min_downloads": None},
            "collector": collector_settings,
        }
    )


@pytest.fixture
def hub(hub_client: None) -> Iterator[FakeHub]:
    with FakeHub(page_size=2) as fake:
        fill_hub(fake)
        yield fake


@pytest.fixture
def on_day(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.datetime], None]:
    def set_day(moment: dt.datetime) -> None:
        monkeypatch.setattr(snapshot, "now_utc", lambda: moment)

    return set_day


@dataclass
class Scenario:
    """A fault injected before day 2 and what day 2 must look like."""

    fault: Callable[[FakeHub, pytest.MonkeyPatch], object]
    status: str
    day2: list[str]  # models with a day-2 observation
    requests: int
    cfg: dict[str, Any] = field(default_factory=dict)
    clean_rerun: bool = True  # whether the fault can be lifted for a re-run


def _set(hub: FakeHub, model_id: str, **fields: Any) -> None:
    hub.update(model_id, hostile=True, **fields)  # values the real Hub never sends


def _bare(hub: FakeHub, model_id: str) -> None:
    hub.add(model_id, pipeline_tag="text-generation")  # the Hub stops sending counts


def _short_timeout(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        snapshot, "fetch_snapshot", functools.partial(collector.fetch_snapshot, timeout=0.2)
    )
    hub.fail("slow", delay=1.0, times=2, org="Beta")


NO_BETA = [m for m in ALL if not m.startswith("Beta/")]
NO_GAMMA = [m for m in ALL if not m.startswith("Gamma/")]
NO_ALPHA = [m for m in ALL if not m.startswith("Alpha/")]
SCENARIOS: dict[str, Scenario] = {
    "429 storm, Retry-After 3s x4": Scenario(
        lambda h, _: h.fail("status", status=429, retry_after=3, times=4, org="Alpha", page=2),
        "ok", ALL, CLEAN_REQUESTS + 4,
    ),
    "429 storm beyond the retries": Scenario(
        lambda h, _: h.fail("status", status=429, retry_after=1, times=None, org="Beta"),
        "partial", NO_BETA, CLEAN_REQUESTS + 5,
    ),
    "Retry-After 3600s over the cap": Scenario(
        lambda h, _: h.fail("status", status=429, retry_after=3600, times=None, org="Gamma"),
        "partial", NO_GAMMA, CLEAN_REQUESTS,
    ),
    "5xx burst (3x502, 2x500)": Scenario(
        lambda h, _: (
            h.fail("status", status=502, times=3, org="Gamma"),
            h.fail("status", status=500, times=2, org="Alpha", page=3),
        ),
        "ok", ALL, CLEAN_REQUESTS + 5,
    ),
    "persistent 503 on one org": Scenario(
        lambda h, _: h.fail("status", status=503, times=None, org="Gamma"),
        "partial", NO_GAMMA, CLEAN_REQUESTS + 5,
    ),
    "timeouts (2 x 1s answers, 0.2s timeout)": Scenario(
        _short_timeout, "ok", ALL, CLEAN_REQUESTS + 2
    ),
    "connection resets": Scenario(
        lambda h, _: (
            h.fail("drop", times=2, org="Alpha", page=1),
            h.fail("drop", times=1, org="Gamma"),
        ),
        "ok", ALL, CLEAN_REQUESTS + 3,
    ),
    "truncated JSON": Scenario(
        lambda h, _: h.fail("truncated", times=1, org="Alpha", page=3),
        "ok", ALL, CLEAN_REQUESTS + 1,
    ),
    "malformed JSON": Scenario(
        lambda h, _: h.fail("malformed", times=None, org="Alpha", page=2),
        "partial", NO_ALPHA, CLEAN_REQUESTS - 1,
    ),
    "missing count fields": Scenario(
        lambda h, _: _bare(h, "Gamma/g0"), "ok", ALL, CLEAN_REQUESTS, clean_rerun=False
    ),
    "wrongly typed count fields": Scenario(
        lambda h, _: _set(h, "Beta/b0", downloads="12", downloadsAllTime=-1, likes=3.5),
        "ok", ALL, CLEAN_REQUESTS, clean_rerun=False,
    ),
    "unparsable createdAt": Scenario(
        lambda h, _: _set(h, "Gamma/g1", createdAt="last tuesday"),
        "partial", NO_GAMMA, CLEAN_REQUESTS, clean_rerun=False,
    ),
    "pagination loop": Scenario(
        lambda h, _: h.fail("loop", times=None, org="Alpha", page=3, loop_to=2),
        "partial", NO_ALPHA, CLEAN_REQUESTS + 1,
    ),
    "pagination breaks on page 3": Scenario(
        lambda h, _: h.fail("status", status=503, times=None, org="Alpha", page=3),
        "partial", NO_ALPHA, CLEAN_REQUESTS + 5,
    ),
    "a tracked repo vanishes (404)": Scenario(
        lambda h, _: h.remove("Beta/b0"), "ok", NO_BETA, CLEAN_REQUESTS + 1, clean_rerun=False
    ),
    "counts go down": Scenario(
        lambda h, _: _set(h, "Gamma/g0", downloads=3, downloadsAllTime=40),
        "ok", ALL, CLEAN_REQUESTS, clean_rerun=False,
    ),
    "request budget runs out": Scenario(
        lambda h, _: None, "partial", ALPHA, 3, cfg={"request_budget": 3, "max_workers": 1}
    ),
    "the Hub fails everything": Scenario(
        lambda h, _: h.fail("status", status=500, times=None), "failed", [], 3 * 6
    ),
}  # fmt: skip


def day_rows(db: Path, day: dt.datetime) -> dict[str, tuple[Any, ...]]:
    rows = query(
        db,
        "SELECT model_id, downloads_30d, downloads_all_time, likes FROM observations "
        "WHERE obs_date = ? AND source = 'hub' ORDER BY model_id",
        [day.date()],
    )
    return {r[0]: r[1:] for r in rows}


def hub_counts(hub: FakeHub, model_id: str) -> tuple[int | None, ...]:
    """The counts the store must hold: the Hub's where they are counts, else NULL."""
    repo = hub.repos[model_id]
    values = (repo.get(k) for k in ("downloads", "downloadsAllTime", "likes"))
    return tuple(
        v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None for v in values
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_hub_fault_through_the_snapshot(
    name: str,
    hub: FakeHub,
    tmp_path: Path,
    on_day: Callable[[dt.datetime], None],
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
    figure: Figure,
) -> None:
    case = SCENARIOS[name]
    db, cfg = tmp_path / "s.duckdb", config(**case.cfg)
    on_day(DAY1)
    first = snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)
    assert (first.status, first.observations, first.requests) == ("ok", len(ALL), CLEAN_REQUESTS)
    day1 = day_rows(db, DAY1)
    case.fault(hub, monkeypatch)
    on_day(DAY2)
    hub.reset_counts()
    started = time.monotonic()

    summary = snapshot.run_snapshot(cfg, db, endpoint=hub.url, token=False)

    elapsed = time.monotonic() - started
    resent = len(hub.log) - len(set(hub.log))  # the same URL asked again: retries (or a loop)
    assert summary.status == case.status
    assert summary.requests == case.requests
    assert day_rows(db, DAY1) == day1  # nothing lost or changed from the earlier run
    day2 = day_rows(db, DAY2)
    assert sorted(day2) == sorted(case.day2)
    for model_id, counts in day2.items():
        assert counts == hub_counts(hub, model_id), model_id  # exact, NULL when unknown
    assert query(db, "SELECT count(*) FROM observations WHERE downloads_30d = 0") == [(0,)]
    runs = query(
        db,
        "SELECT status, requests, failed, observations, error_summary IS NULL FROM runs "
        "WHERE started_at = ?",
        [DAY2.replace(tzinfo=None)],
    )
    assert runs == [
        (case.status, case.requests, summary.failed, len(case.day2), case.status == "ok")
    ]
    rerun_rows = None
    if case.clean_rerun:
        hub.faults.clear()
        monkeypatch.setattr(snapshot, "fetch_snapshot", collector.fetch_snapshot)
        again = snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)
        assert again.status == "ok"
        assert sorted(day_rows(db, DAY2)) == sorted(ALL)  # the same day, replaced not doubled
        assert day_rows(db, DAY1) == day1
        rerun_rows = len(ALL)
    assert query(db, "SELECT count(*) FROM observations") == [
        (len(ALL) + (rerun_rows if rerun_rows is not None else len(case.day2)),)
    ]
    figure(
        status=summary.status,
        requests=summary.requests,
        resent=resent,
        rows_kept=len(day2),
        day1_rows_kept=len(day1),
        waited_s=sum(sleeps),
        seconds=round(elapsed, 2),
    )


def test_a_rename_moves_history_without_duplicates(
    hub: FakeHub, tmp_path: Path, on_day: Callable[[dt.datetime], None], figure: Figure
) -> None:
    db = tmp_path / "s.duckdb"
    on_day(DAY1)
    snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)
    day1 = day_rows(db, DAY1)
    hub.rename("Alpha/a1", "Alpha/a1-Instruct")  # same Hub _id, listed under the new name
    on_day(DAY2)

    summary = snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)

    assert (summary.status, summary.renamed) == ("ok", {"Alpha/a1": "Alpha/a1-Instruct"})
    assert summary.requests == CLEAN_REQUESTS  # linked by Hub id, no extra lookup
    moved = {("Alpha/a1-Instruct" if m == "Alpha/a1" else m): v for m, v in day1.items()}
    assert day_rows(db, DAY1) == moved  # history kept, under the new id only
    assert sorted(day_rows(db, DAY2)) == sorted(moved)
    assert query(db, "SELECT count(*) FROM observations WHERE model_id = 'Alpha/a1'") == [(0,)]
    assert query(db, "SELECT count(*) FROM observations") == [(2 * len(ALL),)]
    hub_ids = query(db, "SELECT hub_id, count(*) FROM models GROUP BY 1 HAVING count(*) > 1")
    assert hub_ids == [(hub_id_for("Alpha/a1"), 2)]  # the old row stays, untracked
    assert query(db, "SELECT tracked FROM models WHERE model_id = 'Alpha/a1'") == [(False,)]
    figure(status="ok", requests=summary.requests, rows_kept=2 * len(ALL), renamed=1)


def test_counts_that_go_down_are_flagged_not_overwritten(
    hub: FakeHub, tmp_path: Path, on_day: Callable[[dt.datetime], None]
) -> None:
    db = tmp_path / "s.duckdb"
    on_day(DAY1)
    snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)
    hub.update("Gamma/g0", downloads=3, downloadsAllTime=40)
    on_day(DAY2)

    snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)

    flags = collect_status(config(), db).flags
    restated = flags[flags["flag"] == "restated down"]
    assert restated[["model_id", "detail"]].values.tolist() == [["Gamma/g0", "40 after 50,006"]]
    assert day_rows(db, DAY1)["Gamma/g0"] == (1_006, 50_006, 16)


def test_warnings_of_mistyped_fields_are_kept_in_the_runs_row(
    hub: FakeHub, tmp_path: Path, on_day: Callable[[dt.datetime], None]
) -> None:
    db = tmp_path / "s.duckdb"
    on_day(DAY1)
    hub.update("Beta/b0", hostile=True, downloads="12")

    snapshot.run_snapshot(config(), db, endpoint=hub.url, token=False)

    (details,) = query(db, "SELECT details FROM runs")[0]
    assert json.loads(details)["warnings"] == [
        "Beta/b0: downloads='12' is not a non-negative integer; recorded as unknown"
    ]


def test_a_huge_org_lands_whole(
    hub_client: None, tmp_path: Path, on_day: Callable[[dt.datetime], None], figure: Figure
) -> None:
    n = 6_000
    db = tmp_path / "s.duckdb"
    on_day(DAY1)
    with FakeHub() as hub:
        add_huge_org(hub, n)
        cfg = parse_config(
            {"tracking": {"use_catalog": False, "orgs": {"Huge": "us"}, "min_downloads": None}}
        )
        started = time.monotonic()

        summary = snapshot.run_snapshot(cfg, db, endpoint=hub.url, token=False)

        elapsed = time.monotonic() - started
    assert (summary.status, summary.requests, summary.observations) == ("ok", 6, n)
    totals = query(
        db, "SELECT count(*), count(DISTINCT model_id), sum(downloads_30d) FROM observations"
    )
    assert totals == [(n, n, n * (n + 1) // 2)]
    figure(status="ok", requests=summary.requests, rows_kept=n, seconds=round(elapsed, 2))
