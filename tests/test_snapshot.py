"""``ram snapshot`` end to end against the fake Hub: what lands, what fails, what is replaced."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from collectors.hub import FetchResult, HubModel
from ram import score_cache
from ram.catalog import tracked_orgs
from ram.config import DEFAULT_MODALITY_PATTERNS, Config, parse_config
from ram.errors import BadInput
from ram.pipeline import snapshot
from ram.status import collect_status
from ram.store.database import Store
from tests.conftest import CliRunner
from tests.fakehub import FakeHub, hub_id_for
from tests.fakehub_data import populate
from tests.reliability.support import RAM, fingerprint, ram_env

NEW = "2026-09-01T10:00:00.000Z"  # after the catalog date: discoverable
DAY1 = dt.datetime(2026, 11, 2, 6, 17, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
SMALL = {
    "tracking": {
        "use_catalog": False,
        "orgs": {"Alpha": "us", "Beta": "china", "Gamma": "eu"},
        "include": ["Other/kept-7B"],
    },
    # Request counts here are the download snapshot's; tests/test_derivatives.py covers the
    # live derivative counts a snapshot adds by default.
    "derivatives": {"collect": False},
}
GGUF_REASON = "rejected: a re-upload format: 'GGUF' in the name"
EMBED_REASON = "rejected: an embedding or rerank model: 'embed' in the name"
TRACKED = [
    "Alpha/Alpha-7B-Instruct",
    "Beta/Beta-VL-14B",
    "Gamma/Gamma-1B",
    "Gamma/Gamma-3B",
    "Gamma/Gamma-8B",
    "Other/kept-7B",
]
REASONS = {
    "Alpha/Alpha-7B-Instruct": "new release of tracked org Alpha",
    "Alpha/Alpha-7B-Instruct-GGUF": GGUF_REASON,
    "Alpha/Alpha-embed-v1": EMBED_REASON,
    "Alpha/tiny-chat": "rejected: under 100 downloads",
    "Beta/Beta-VL-14B": "new release of tracked org Beta",
    "Gamma/Gamma-1B": "new release of tracked org Gamma",
    "Gamma/Gamma-3B": "new release of tracked org Gamma",
    "Gamma/Gamma-8B": "new release of tracked org Gamma",
    "Other/kept-7B": "included in config",
}
SMALL_REQUESTS = 2 + 1 + 2 + 1  # Alpha's two pages, Beta's one, Gamma's two, one lookup


def small_config() -> Config:
    return parse_config(SMALL)


def write_config(folder: Path, data: dict[str, Any] | None = None) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data if data is not None else SMALL))
    return path


def _repo(downloads: int, all_time: int | None, **extra: Any) -> dict[str, Any]:
    repo: dict[str, Any] = {
        "createdAt": NEW,
        "downloads": downloads,
        "likes": downloads // 100,
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "tags": ["transformers", "license:apache-2.0"],
        "gated": False,
    }
    if all_time is not None:
        repo["downloadsAllTime"] = all_time
    repo.update(extra)
    return repo


def _tags(relation: str, base: str) -> list[str]:
    """The tags the Hub derives from a card's ``base_model`` and ``base_model_relation``."""
    return [
        "transformers",
        "license:apache-2.0",
        f"base_model:{base}",
        f"base_model:{relation}:{base}",
    ]


def fill_small(hub: FakeHub) -> None:
    """Three tracked orgs (Alpha: two pages, a GGUF copy, an embedder and a tiny repo), one
    included repo outside them, and one vision model whose all-time count the Hub omits."""
    st = {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000}
    hub.add(
        "Alpha/Alpha-7B-Instruct",
        **_repo(5000, 20000, safetensors=st, tags=_tags("finetune", "Alpha/Alpha-7B")),
        baseModels={"relation": "finetune", "models": [{"id": "Alpha/Alpha-7B"}]},
    )
    hub.add(
        "Alpha/Alpha-7B-Instruct-GGUF",
        **_repo(
            900,
            1000,
            library_name="gguf",
            gguf={"total": 7_000_000_000},
            tags=_tags("quantized", "Alpha/Alpha-7B-Instruct"),
        ),
        baseModels={"relation": "quantized", "models": [{"id": "Alpha/Alpha-7B-Instruct"}]},
    )
    hub.add("Alpha/Alpha-embed-v1", **_repo(300, 3000, pipeline_tag="feature-extraction"))
    hub.add("Alpha/tiny-chat", **_repo(3, 10))
    hub.add(
        "Beta/Beta-VL-14B",
        **_repo(
            2000, None, pipeline_tag="image-text-to-text", gated="manual", tags=["license:mit"]
        ),
        safetensors={"parameters": {"BF16": 14_000_000_000}, "total": 14_000_000_000},
    )
    for i, size in enumerate((1, 3, 8)):
        hub.add(f"Gamma/Gamma-{size}B", **_repo(150 + 100 * i, 1500 + 1000 * i))
    hub.add("Other/kept-7B", **_repo(77, 700))


pytestmark = pytest.mark.usefixtures("hub_client")  # the client talks to the fake Hub only


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(page_size=2) as fake:
        fill_small(fake)
        yield fake


@pytest.fixture
def on_day(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``on_day(moment)``: runs from now on start at ``moment`` (UTC)."""

    def set_day(moment: dt.datetime) -> None:
        monkeypatch.setattr(snapshot, "now_utc", lambda: moment)

    set_day(DAY1)
    return set_day


def run(hub: FakeHub, db: Path, cfg: Config | None = None, **kw: Any) -> snapshot.SnapshotSummary:
    return snapshot.run_snapshot(cfg or small_config(), db, endpoint=hub.url, token=False, **kw)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def observations(db: Path) -> dict[str, tuple[Any, ...]]:
    rows = query(
        db,
        "SELECT model_id, obs_date, source, downloads_30d, downloads_all_time, likes, "
        "observed_at IS NOT NULL FROM observations ORDER BY model_id, obs_date",
    )
    return {r[0]: r[1:] for r in rows}


# -- what lands ------------------------------------------------------------------------------


@pytest.mark.slow  # the whole catalog through the fake Hub: with the full run (make test), not make unit
def test_the_full_catalog_lands_with_exact_counts_and_a_rerun_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "live.duckdb"
    monkeypatch.setattr(snapshot, "now_utc", lambda: DAY1)
    with FakeHub(page_size=100) as fake:
        catalog = populate(fake)
        # The snapshot lists the orgs with catalog repos, not every org of the region table.
        listed = {o.lower() for o in tracked_orgs(Config())}
        per_org = Counter(m.split("/")[0].lower() for m in fake.repos)
        pages = sum(max(1, math.ceil(per_org[o] / 100)) for o in listed)
        on_listed = [m for m in fake.repos if m.split("/")[0].lower() in listed]

        first = snapshot.run_snapshot(Config(), db, endpoint=fake.url, token=False)
        fake.update("Qwen/Qwen2.5-7B-Instruct", downloads=123_456, downloadsAllTime=9_999_999)
        again = snapshot.run_snapshot(Config(), db, endpoint=fake.url, token=False)
        repos = {k: dict(v) for k, v in fake.repos.items()}

    # tracking.screen_catalog: the catalog's non-LLM repos
    # (55 of 1,958: reward, embedding, speech, ImageNet classifiers, video generators, codec parts)
    screened = {
        m
        for m in catalog.tracked_ids
        if any(re.search(p, m, flags=re.IGNORECASE) for p in DEFAULT_MODALITY_PATTERNS)
    }
    pool = sorted(set(catalog.tracked_ids) - screened)
    assert len(screened) == 55 and len(pool) == 1903
    assert (first.status, first.models, first.tracked, first.observations) == (
        "ok",
        len(on_listed),
        1903,
        1903,
    )
    assert (len(listed), len(on_listed)) == (57, 1990)
    assert first.requests == pages == 64  # one listing page per 100 repos of each org
    assert (first.new_models, again.new_models, again.observations) == (1990, 0, 1903)
    assert first.rejected == len(set(catalog.untracked_ids) & set(on_listed)) + 55 == 87
    obs = observations(db)
    assert sorted(obs) == pool
    for model_id in pool:
        repo = repos[model_id]
        assert obs[model_id] == (
            DAY1.date(),
            "hub",
            repo["downloads"],
            repo["downloadsAllTime"],
            repo["likes"],
            True,
        )
    assert obs["Qwen/Qwen2.5-7B-Instruct"][2:4] == (123_456, 9_999_999)  # replaced, not added
    assert query(db, "SELECT count(*) FROM observations") == [(1903,)]
    assert query(db, "SELECT count(*), count(DISTINCT model_id) FROM models") == [(1990, 1990)]
    untracked = query(db, "SELECT model_id, tracked, tracked_reason FROM models WHERE NOT tracked")
    assert sorted(r[0] for r in untracked) == sorted(
        (set(catalog.untracked_ids) & set(on_listed)) | screened
    )
    reasons = {r[2] for r in untracked}
    assert GGUF_REASON in reasons
    assert "rejected: an embedding or rerank model: 'embedding' in the name" in reasons
    assert all(
        r.endswith("(screened out of ATOM's catalog: tracking.screen_catalog)")
        for m, _, r in untracked
        if m in screened
    )
    runs = query(
        db,
        "SELECT status, models, observations, new_models, failed, requests, error_summary "
        "FROM runs ORDER BY finished_at",
    )
    assert runs == [("ok", 1990, 1903, 1990, 0, 64, None), ("ok", 1990, 1903, 0, 0, 64, None)]


def test_models_carry_the_hubs_raw_facts_and_the_policys_verdict(
    hub: FakeHub, tmp_path: Path, on_day: Any
) -> None:
    db = tmp_path / "s.duckdb"

    summary = run(hub, db)

    assert (summary.status, summary.requests, hub.requests) == ("ok", SMALL_REQUESTS, 6)
    assert (summary.models, summary.tracked, summary.rejected) == (9, 6, 3)
    models = stored_models(db)
    assert models["tracked_reason"].to_dict() == REASONS
    assert sorted(models.index[models["tracked"]]) == TRACKED
    alpha = models.loc["Alpha/Alpha-7B-Instruct"]
    assert list(alpha[["hub_id", "via", "safetensors_total", "params_b", "params_source"]]) == [
        hub_id_for("Alpha/Alpha-7B-Instruct"),
        "discovered",
        7_000_000_000,
        7.0,
        "safetensors",
    ]
    assert list(alpha[["base_model", "base_relation", "license", "gated", "library_name"]]) == [
        "Alpha/Alpha-7B",
        "finetune",
        "apache-2.0",
        "false",
        "transformers",
    ]
    assert alpha["created_at"] == pd.Timestamp("2026-09-01 10:00:00")
    assert str(alpha["release_date"].date()) == "2026-09-01"
    assert alpha["region"] == "us"
    gguf = models.loc["Alpha/Alpha-7B-Instruct-GGUF"]
    assert (gguf["gguf_total"], gguf["base_relation"], gguf["tracked"]) == (7e9, "quantized", False)
    assert list(models.loc["Beta/Beta-VL-14B", ["gated", "license"]]) == ["manual", "mit"]
    assert models.loc["Other/kept-7B", "via"] == "catalog"
    assert (models["first_seen"].dt.date == DAY1.date()).all()
    obs = observations(db)
    assert sorted(obs) == TRACKED  # rejected repos get a model row, not observations
    assert obs["Beta/Beta-VL-14B"] == (DAY1.date(), "hub", 2000, None, 20, True)  # NULL, not 0
    assert obs["Other/kept-7B"] == (DAY1.date(), "hub", 77, 700, 0, True)


def stored_models(db: Path) -> pd.DataFrame:
    with Store.open(db, read_only=True) as store:
        return store.models().set_index("model_id")


def test_a_new_release_of_a_catalog_org_is_discovered(tmp_path: Path, on_day: Any) -> None:
    db = tmp_path / "s.duckdb"
    with FakeHub(page_size=100) as fake:
        populate(fake)
        fake.add("Qwen/Qwen9-8B-Instruct", **_repo(5000, 6000))
        fake.add("Qwen/Qwen9-8B-Base-GGUF", **_repo(5000, 6000, library_name="gguf"))
        fake.add("Qwen/Qwen-old-experiment", **_repo(5000, 6000, createdAt="2025-02-01T00:00:00Z"))
        qwen = sorted(m for m in fake.repos if m.startswith("Qwen/"))

        summary = run(fake, db, Config(), orgs=["qwen"])

    assert summary.orgs == ["Qwen"]
    assert summary.requests == math.ceil(len(qwen) / 100) == 3  # the catalog's Qwen ids are listed
    models = stored_models(db)
    assert sorted(models.index) == qwen
    assert list(models.loc["Qwen/Qwen9-8B-Instruct", ["tracked", "tracked_reason", "via"]]) == [
        True,
        "new release of tracked org Qwen",
        "discovered",
    ]
    assert models.loc["Qwen/Qwen9-8B-Base-GGUF", "tracked_reason"] == (GGUF_REASON)
    assert models.loc["Qwen/Qwen-old-experiment", "tracked_reason"] == (
        "Qwen is tracked through ATOM's catalog, which leaves this repo out"
    )
    assert models.loc["Qwen/Qwen2.5-7B-Instruct", "tracked_reason"] == "ATOM catalog"
    assert "Qwen/Qwen9-8B-Instruct" in observations(db)
    row = summary.per_org.iloc[0]
    assert (row["org"], row["listed"], row["new"], row["error"]) == (
        "Qwen",
        len(qwen),
        len(qwen),
        None,
    )


def test_records_to_frames_is_pure_and_keeps_unknowns_unknown() -> None:
    seen = dt.datetime(2026, 11, 2, 6, 20, tzinfo=dt.UTC)
    fields: dict[str, Any] = dict(
        hub_id="abc", author="Alpha", created_at=None, last_modified=None, likes=None,
        pipeline_tag="text-generation", library_name=None, tags=(), gated=None, license=None,
        safetensors_total=None, gguf_total=None, base_models=(), observed_at=seen,
    )  # fmt: skip
    result = FetchResult(
        models=[
            HubModel(model_id="Alpha/new-7B", downloads_30d=None, downloads_all_time=5, **fields),
            HubModel(model_id="Alpha/new-3B", downloads_30d=99, downloads_all_time=None, **fields),
        ],
        renamed={"Alpha/old-7B": "Alpha/new-7B"},
    )
    known = snapshot.Known(via={"Alpha/new-3B": "import"}, downloads_30d_max={"Alpha/new-3B": 500})

    models, obs = snapshot.records_to_frames(result, small_config(), DAY1.date(), known)

    m = models.set_index("model_id")
    assert list(m.loc["Alpha/new-7B", ["via", "tracked", "tracked_reason"]]) == [
        "renamed",
        True,
        "renamed from Alpha/old-7B",
    ]
    assert list(m.loc["Alpha/new-3B", ["via", "tracked", "tracked_reason", "params_b"]]) == [
        "import",
        True,
        "imported",
        3.0,
    ]  # a stored model keeps how it came in
    assert list(obs.columns) == [
        "model_id", "obs_date", "source", "observed_at", "downloads_all_time", "downloads_30d",
        "likes",
    ]  # fmt: skip
    assert obs["model_id"].tolist() == ["Alpha/new-7B", "Alpha/new-3B"]
    assert obs["downloads_30d"].tolist() == [pd.NA, 99]
    assert obs["downloads_all_time"].tolist() == [5, pd.NA]
    assert obs["likes"].isna().all()
    assert (obs["obs_date"] == pd.Timestamp(DAY1.date())).all()
    assert (obs["observed_at"] == pd.Timestamp(seen)).all()


def test_counts_fetched_after_midnight_are_stored_under_the_day_they_were_fetched(
    hub: FakeHub, tmp_path: Path, on_day: Any
) -> None:
    """Issue 18: a run started at 23:59:57Z stored counts fetched after midnight a day early."""
    db = tmp_path / "live.duckdb"
    midnight = dt.datetime.combine(DAY2.date(), dt.time(), dt.UTC)
    on_day(midnight - dt.timedelta(milliseconds=1))  # every answer comes in after midnight

    summary = run(hub, db)

    assert summary.run_date == DAY1.date()  # the run is the one started on day 1
    rows = query(db, "SELECT obs_date, min(observed_at) FROM observations GROUP BY 1")
    assert [day for day, _ in rows] == [DAY2.date()]
    assert rows[0][1] >= midnight.replace(tzinfo=None)


def test_each_repo_is_dated_by_the_utc_day_it_was_fetched() -> None:
    before = dt.datetime(2026, 11, 2, 23, 59, 58, tzinfo=dt.UTC)
    fields: dict[str, Any] = dict(
        hub_id="abc", author="Alpha", created_at=None, last_modified=None, likes=None,
        pipeline_tag="text-generation", library_name=None, tags=(), gated=None, license=None,
        safetensors_total=None, gguf_total=None, base_models=(), downloads_30d=1,
        downloads_all_time=2,
    )  # fmt: skip
    result = FetchResult(
        models=[
            HubModel(model_id="Alpha/a-7B", observed_at=before, **fields),
            HubModel(model_id="Alpha/b-7B", observed_at=before + dt.timedelta(seconds=4), **fields),
        ]
    )

    known = snapshot.Known(via={"Alpha/a-7B": "import", "Alpha/b-7B": "import"})

    models, obs = snapshot.records_to_frames(result, small_config(), before.date(), known)

    want = [pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-03")]
    assert obs["obs_date"].tolist() == want
    assert models["last_seen"].tolist() == [d.date() for d in want]


# -- what fails ------------------------------------------------------------------------------


def test_a_failing_org_gives_a_partial_run_with_the_others_rows_and_no_zeros(
    hub: FakeHub, tmp_path: Path, on_day: Any, sleeps: list[float]
) -> None:
    db = tmp_path / "s.duckdb"
    run(hub, db)
    before = observations(db)
    on_day(DAY2)
    hub.update("Gamma/Gamma-1B", downloads=151)
    hub.update("Beta/Beta-VL-14B", downloads=0)  # what a wrongly zeroed write would look like
    hub.fail("status", status=503, times=None, org="Beta")

    summary = run(hub, db)

    assert (summary.status, summary.failed, list(summary.failed_orgs)) == ("partial", 1, ["Beta"])
    rows = query(db, "SELECT model_id, obs_date, downloads_30d FROM observations ORDER BY 1, 2")
    day2 = {m: n for m, d, n in rows if d == DAY2.date()}
    assert sorted(day2) == [m for m in TRACKED if not m.startswith("Beta/")]
    assert day2["Gamma/Gamma-1B"] == 151
    assert [r for r in rows if r[0] == "Beta/Beta-VL-14B"] == [
        ("Beta/Beta-VL-14B", DAY1.date(), before["Beta/Beta-VL-14B"][2])
    ]
    assert query(db, "SELECT count(*) FROM observations WHERE downloads_30d = 0") == [(0,)]
    (status, failed, summary_line, details) = query(
        db, "SELECT status, failed, error_summary, details FROM runs ORDER BY started_at DESC"
    )[0]
    assert (status, failed) == ("partial", 1)
    assert summary_line.startswith("1 org failed (first Beta: HfHubHTTPError: Server error '503")
    assert '"failed_orgs": {"Beta": "HfHubHTTPError' in details

    st = collect_status(small_config(), db, today=DAY2.date())
    beta = st.freshness.set_index("org").loc["Beta"]
    assert (beta["failures"], beta["days_behind"], beta["last_obs"]) == (1, 1, DAY1.date())
    assert beta["last_error"] == summary.failed_orgs["Beta"]
    assert st.failures[["target", "kind", "runs_failed"]].values.tolist() == [["Beta", "org", 1]]
    assert "vanished" not in set(st.flags["flag"])  # a failed org has not vanished


def test_a_same_day_partial_rerun_keeps_that_days_rows_of_the_failed_org(
    hub: FakeHub, tmp_path: Path, on_day: Any, sleeps: list[float]
) -> None:
    db = tmp_path / "s.duckdb"
    run(hub, db)
    first = observations(db)
    hub.fail("status", status=500, times=None, org="Gamma")

    summary = run(hub, db)

    assert summary.status == "partial"
    assert observations(db) == first
    assert query(db, "SELECT count(*) FROM observations") == [(6,)]


def test_everything_failing_records_a_failed_run_and_writes_no_rows(
    hub: FakeHub, tmp_path: Path, on_day: Any, sleeps: list[float]
) -> None:
    db = tmp_path / "s.duckdb"
    hub.fail("status", status=502, times=None)

    summary = run(hub, db)

    assert (summary.status, summary.models, summary.observations) == ("failed", 0, 0)
    assert query(db, "SELECT count(*) FROM models") == [(0,)]
    assert query(db, "SELECT count(*) FROM observations") == [(0,)]
    assert query(db, "SELECT status, failed, models FROM runs") == [("failed", 4, 0)]


def test_a_vanished_repo_is_flagged_and_reported_gone(
    hub: FakeHub, tmp_path: Path, on_day: Any
) -> None:
    db = tmp_path / "s.duckdb"
    run(hub, db)
    on_day(DAY2)
    hub.remove("Other/kept-7B")

    summary = run(hub, db)

    assert (summary.status, summary.missing_ids) == ("ok", ["Other/kept-7B"])
    st = collect_status(small_config(), db, today=DAY2.date())
    assert st.flags[["model_id", "flag", "detail"]].values.tolist() == [
        ["Other/kept-7B", "vanished", "last seen live 2026-11-02; the Hub answers 404"]
    ]
    assert st.failures[["target", "kind", "error"]].values.tolist() == [
        ["Other/kept-7B", "gone", "not found on the Hub (404)"]
    ]


def test_a_crash_while_saving_leaves_no_half_run(
    hub: FakeHub, tmp_path: Path, on_day: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.duckdb"
    run(hub, db)
    before = fingerprint(db)
    on_day(DAY2)

    def boom(self: Store, obs: pd.DataFrame) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_upsert_observations", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        run(hub, db)

    assert fingerprint(db) == before  # models, observations and runs as they were


def test_a_rename_moves_history_and_the_new_id_stays_tracked(
    hub: FakeHub, tmp_path: Path, on_day: Any
) -> None:
    db = tmp_path / "s.duckdb"
    run(hub, db)
    hub.rename("Alpha/Alpha-7B-Instruct", "Alpha/Alpha-7B-Chat")
    on_day(DAY2)

    moved = run(hub, db)
    on_day(DAY2 + dt.timedelta(days=1))
    hub.reset_counts()
    third = run(hub, db)

    assert moved.renamed == {"Alpha/Alpha-7B-Instruct": "Alpha/Alpha-7B-Chat"}
    assert (third.renamed, third.requests) == ({}, SMALL_REQUESTS)  # no lookup of the old id
    rows = query(db, "SELECT model_id, obs_date FROM observations WHERE model_id LIKE 'Alpha/%'")
    assert sorted(rows) == [
        ("Alpha/Alpha-7B-Chat", DAY1.date() + dt.timedelta(days=d)) for d in range(3)
    ]
    models = stored_models(db)
    assert list(models.loc["Alpha/Alpha-7B-Instruct", ["tracked", "tracked_reason"]]) == [
        False,
        "renamed to Alpha/Alpha-7B-Chat",
    ]
    assert list(models.loc["Alpha/Alpha-7B-Chat", ["tracked", "tracked_reason", "via"]]) == [
        True,
        "renamed from Alpha/Alpha-7B-Instruct",
        "renamed",
    ]


# -- options and the CLI ---------------------------------------------------------------------


def test_orgs_restrict_the_run_and_unknown_orgs_are_refused(hub: FakeHub, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"

    summary = run(hub, db, orgs=["gamma"])

    assert summary.orgs == ["Gamma"]
    assert (summary.requests, summary.models) == (2, 3)  # Other/kept-7B is not Gamma's
    with pytest.raises(BadInput, match=r"unknown org 'Gama' \(did you mean Gamma\?\)"):
        run(hub, db, orgs=["Gama"])
    with pytest.raises(BadInput, match=r"unknown org 'nobody' \(tracked: Alpha, Beta, Gamma\)"):
        run(hub, db, orgs=["nobody"])


def test_a_dry_run_fetches_and_writes_nothing(hub: FakeHub, tmp_path: Path, on_day: Any) -> None:
    db = tmp_path / "s.duckdb"

    fresh = run(hub, db, dry_run=True)
    assert not db.exists()
    run(hub, db)
    before = fingerprint(db)
    hub.add("Gamma/Gamma-70B", **_repo(800, 900))
    dry = run(hub, db, dry_run=True)

    assert fingerprint(db) == before
    assert (fresh.run, fresh.models, fresh.observations, fresh.new_models) == (None, 9, 6, 9)
    assert (dry.models, dry.new_models) == (10, 1)
    new = dry.changes[dry.changes["new"]]
    assert new[["model_id", "tracked", "tracked_reason"]].values.tolist() == [
        ["Gamma/Gamma-70B", True, "new release of tracked org Gamma"]
    ]
    assert dry.per_org.to_dict("list") == {
        "org": ["Alpha", "Beta", "Gamma", "Other"],
        "listed": [4, 1, 4, None],
        "models": [4, 1, 4, 1],
        "tracked": [1, 1, 4, 1],
        "new": [0, 0, 1, 0],
        "rejected": [3, 0, 0, 0],
        "error": [None, None, None, None],
    }


@pytest.fixture
def live(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    """The CLI pointed at the fake Hub through HF_ENDPOINT, with the small config."""
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    write_config(tmp_path)
    return hub


def test_cli_snapshot_prints_progress_and_a_summary(
    cli: CliRunner, live: FakeHub, tmp_path: Path
) -> None:
    db = tmp_path / "cli.duckdb"

    r = cli("--db", db, "snapshot")

    assert r.code == 0, r.err
    assert r.out.startswith(
        "snapshot ok: 9 models (9 new, 6 tracked), 6 observations, 0 failed, 6 requests, "
    )
    assert r.out.rstrip().endswith(f"into {db}")
    lines = r.err.splitlines()
    # Orgs finish in any order; the counter counts completions.
    assert sorted(line.split(" ", 1)[0] for line in lines[:3]) == ["[1/3]", "[2/3]", "[3/3]"]
    assert sorted(line.split("] ", 1)[1] for line in lines[:3]) == [
        "Alpha: 4 models listed",
        "Beta: 1 model listed",
        "Gamma: 3 models listed",
    ]
    assert lines[3:] == [
        "[lookup 1] Other/kept-7B: found",
        f"saving 9 models to {db}",
        f"saved to {db}",
    ]


def test_cli_snapshot_partial_warns_and_failed_exits_1(
    cli: CliRunner, live: FakeHub, tmp_path: Path, sleeps: list[float]
) -> None:
    db = tmp_path / "cli.duckdb"
    live.fail("status", status=503, times=None, org="Beta")

    partial = cli("--db", db, "snapshot")
    live.fail("status", status=503, times=None)
    failed = cli("--db", db, "snapshot")

    assert partial.code == 0
    assert partial.out.startswith("snapshot partial: 8 models")
    warning = [line for line in partial.err.splitlines() if line.startswith("Warning:")]
    assert warning == [
        "Warning: partial snapshot: 1 org failed (first Beta: HfHubHTTPError: Server error "
        f"'503 Service Unavailable' for url '{live.url}/api/models' For more information check: "
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/503); "
        "nothing was written for what failed (no zeros); see: ram status"
    ]
    assert failed.code == 1
    (error,) = [line for line in failed.err.splitlines() if line.startswith("Error:")]
    assert error.startswith("Error: snapshot failed, nothing could be fetched: 3 orgs failed")
    assert error.endswith("see: ram status")
    assert query(db, "SELECT status FROM runs ORDER BY started_at") == [("partial",), ("failed",)]


def test_cli_snapshot_a_refused_parameter_is_one_line_exit_1_and_a_failed_run(
    cli: CliRunner, live: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collectors import hub as collector

    db = tmp_path / "cli.duckdb"
    live.allow_violations = True  # the old collector's request, sent on purpose
    monkeypatch.setattr(collector, "EXPAND", (*collector.EXPAND, "baseModels"))

    r = cli("--db", db, "snapshot")
    dry = cli("--db", db, "snapshot", "--dry-run")

    assert (r.code, dry.code) == (1, 1)
    (error,) = [line for line in r.err.splitlines() if line.startswith("Error:")]
    assert "got 'baseModels'" in error and "upgrade ram" in error
    assert error.count("refused") == 1  # once, not once per org
    assert query(db, "SELECT status, models FROM runs") == [("failed", 0)]
    assert query(db, "SELECT count(*) FROM observations") == [(0,)]


def test_cli_snapshot_bad_org_is_exit_2_and_dry_run_csv_lists_models(
    cli: CliRunner, live: FakeHub, tmp_path: Path
) -> None:
    db = tmp_path / "cli.duckdb"

    bad = cli("--db", db, "snapshot", "--orgs", "Alpha,Nope")
    dry = cli("--db", db, "snapshot", "--orgs", "Alpha", "--orgs", "beta", "--dry-run")

    assert (bad.code, bad.out) == (2, "")
    assert bad.err == (
        "Error: unknown org 'Nope' (tracked: Alpha, Beta, Gamma); --orgs takes tracked orgs: "
        "the catalog's and tracking.orgs in config.yaml (add an org there to track it)\n"
    )
    assert dry.code == 0, dry.err
    frame = pd.read_csv(io.StringIO(dry.out))
    assert list(frame["model_id"]) == [
        "Alpha/Alpha-7B-Instruct",
        "Alpha/Alpha-7B-Instruct-GGUF",
        "Alpha/Alpha-embed-v1",
        "Alpha/tiny-chat",
        "Beta/Beta-VL-14B",
    ]
    assert frame["tracked_reason"].tolist() == [REASONS[m] for m in frame["model_id"]]
    assert "dry run ok: 5 models (5 new, 2 tracked), 2 observations" in dry.err
    assert not db.exists()


def test_cli_status_works_on_a_store_filled_only_by_snapshots(
    cli: CliRunner, live: FakeHub, tmp_path: Path, sleeps: list[float]
) -> None:
    db = tmp_path / "cli.duckdb"
    assert cli("--db", db, "snapshot").code == 0
    live.fail("status", status=503, times=None, org="Gamma")
    assert cli("--db", db, "snapshot").code == 0

    r = cli("--db", db, "status", "--format", "json")

    assert r.code == 0, r.err
    payload = json.loads(r.out)
    assert [run["status"] for run in payload["runs"]] == ["partial", "ok"]
    fresh = {row["org"]: row for row in payload["freshness"]}
    assert fresh["Gamma"]["failures"] == 1
    assert fresh["Gamma"]["last_error"].startswith("HfHubHTTPError: Server error '503")
    assert fresh["Alpha"]["failures"] == 0 and fresh["Alpha"]["last_error"] is None
    assert payload["flags"] == []
    table = cli("--db", db, "status", "--format", "table")
    assert table.code == 0 and "Gamma" in table.out


# -- readers while a snapshot runs -----------------------------------------------------------

# ``ram`` with two gates: the fetch waits for file GO_FETCH, the save (holding the write lock)
# waits for GO_SAVE, so a test can run readers at exactly those moments.
GATED = """
import os, sys, time
from pathlib import Path
import ram.pipeline.snapshot, ram.store.database
from ram.cli import main

def gate(marker, name):
    print(marker, file=sys.stderr, flush=True)
    while not Path(name).exists():
        time.sleep(0.02)

real_fetch, real_save = ram.pipeline.snapshot.fetch_snapshot, ram.store.database.Store.save
def fetch(*a, **k):
    gate("FETCHING", "GO_FETCH")
    return real_fetch(*a, **k)
def save(self, *a, **k):
    gate("HOLDING", "GO_SAVE")
    return real_save(self, *a, **k)
ram.pipeline.snapshot.fetch_snapshot, ram.store.database.Store.save = fetch, save
sys.exit(main(sys.argv[1:]))
"""


def _lines(stream: Any) -> Queue[str | None]:
    """A process's output lines as they come; None once it has closed the stream."""
    queue: Queue[str | None] = Queue()

    def pump() -> None:
        for line in stream:
            queue.put(line.rstrip("\n"))
        queue.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return queue


def wait_for(queue: Queue[str | None], marker: str, seen: list[str], timeout: float = 30) -> None:
    """Collect lines into ``seen`` until one contains ``marker``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except Empty:
            raise AssertionError(f"no {marker!r} within {timeout}s; saw {seen}") from None
        if line is None:
            raise AssertionError(f"the process ended before {marker!r}; saw {seen}")
        seen.append(line)
        if marker in line:
            return


def rest_of(queue: Queue[str | None], timeout: float = 30) -> list[str]:
    """The remaining lines, up to the end of the stream."""
    out: list[str] = []
    while (line := queue.get(timeout=timeout)) is not None:
        out.append(line)
    return out


@pytest.mark.slow  # processes and signals: with the reliability suite
def test_ram_top_works_while_a_snapshot_fetches_and_while_it_saves(
    tmp_path: Path, on_day: Any
) -> None:
    db = tmp_path / "s.duckdb"
    write_config(tmp_path)
    top = [*RAM, "--db", str(db), "top", "--format", "csv"]
    with FakeHub(page_size=2, latency=0.05) as slow:
        fill_small(slow)
        run(slow, db)
        env = ram_env(HF_ENDPOINT=slow.url)
        writer = subprocess.Popen(
            [sys.executable, "-c", GATED, "--db", str(db), "snapshot"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert writer.stderr is not None
        lines, seen = _lines(writer.stderr), list[str]()
        try:
            wait_for(lines, "FETCHING", seen)
            during_fetch = subprocess.run(top, capture_output=True, text=True, env=env, timeout=60)
            (tmp_path / "GO_FETCH").touch()
            wait_for(lines, "HOLDING", seen)
            # A warm top cache answers without opening the database: drop it to meet the lock.
            score_cache.cache_path(db).unlink(missing_ok=True)
            reader = subprocess.Popen(
                top, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
            time.sleep(1.5)
            still_waiting = reader.poll() is None
            (tmp_path / "GO_SAVE").touch()
            during_save = reader.communicate(timeout=60)
            out, err = writer.communicate(timeout=60)
        finally:
            writer.kill() if writer.poll() is None else None

    assert during_fetch.returncode == 0, during_fetch.stderr
    assert during_fetch.stdout.startswith("rank,model_id,size_class")
    assert still_waiting  # it met the writer's lock and waited instead of failing
    assert reader.returncode == 0, during_save[1]
    assert during_save[0].startswith("rank,model_id,size_class")
    assert writer.returncode == 0, err
    assert out.startswith("snapshot ok: 9 models (0 new, 6 tracked)")


def test_a_snapshot_refreshes_the_top_cache(hub: FakeHub, tmp_path: Path, on_day: Any) -> None:
    """The write path refreshes the cache itself: the next ram top reads it, for a snapshot from
    the CLI, the scheduler or a library call alike."""
    db = tmp_path / "s.duckdb"
    cfg = small_config()
    run(hub, db, cfg)
    first = score_cache.stored_key(db)
    on_day(DAY1 + dt.timedelta(days=1))

    run(hub, db, cfg)

    assert score_cache.stored_key(db) == score_cache.cache_key(cfg, db) not in (None, first)
