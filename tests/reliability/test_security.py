"""Security: the Hub token never leaves the HTTP header (store, logs, reports, errors); hostile ids
and filters reach DuckDB only as bound values; hostile names are escaped in the HTML report; and
``--out`` writes where it is asked and nowhere else."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

import ram.store.database
from tests.conftest import EXAMPLE_ORGS, CliRunner, Result
from tests.fakehub import FakeHub
from tests.reliability.conftest import Figure
from tests.reliability.support import (
    CANARY,
    add_huge_org,
    fill_hub,
    fingerprint,
    query,
    ram_popen,
    store_text,
)

HOSTILE = "a/b'; DROP TABLE models; --"
EVIL = "Evil/<script>alert(1)"  # one slash: a repo id the collector accepts from the Hub
SEVEN_B = {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000}


@pytest.fixture
def live(hub_client: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The fake Hub behind HF_ENDPOINT and a config tracking its orgs, Evil included."""
    released = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
    with FakeHub() as hub:
        fill_hub(hub)
        hub.add(  # a hostile Hub: the id is no repo id the real Hub allows
            EVIL,
            hostile=True,
            createdAt=f"{released}T00:00:00.000Z",
            downloads=90_000_000,
            pipeline_tag="text-generation",
            safetensors=SEVEN_B,
        )
        orgs = {**dict.fromkeys(["Alpha", "Beta", "Gamma", "Evil", "Down"], "us"), **EXAMPLE_ORGS}
        tracking = {"use_catalog": False, "orgs": orgs, "min_downloads": None}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({"tracking": tracking}))
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub


def test_the_token_is_never_written_anywhere(
    cli: CliRunner,
    live: FakeHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    sleeps: list[float],
    figure: Figure,
) -> None:
    monkeypatch.setenv("HF_TOKEN", CANARY)
    live.echo_auth_in_errors = True  # a hostile proxy quoting the Authorization header back
    live.add("Down/x", downloads=5, pipeline_tag="text-generation")
    live.fail("status", status=500, times=None, org="Down")
    caplog.set_level(logging.DEBUG)
    db, report = tmp_path / "s.duckdb", tmp_path / "report"

    results: list[Result] = [
        cli("--db", db, "snapshot"),
        cli("--db", db, "schedule", "--once"),
        cli("--db", db, "status", "--format", "json"),
        cli("--db", db, "status", "--format", "table"),
        cli("--db", db, "report", "--out", report, "--no-png"),
    ]
    live.fail("status", status=500, times=None)
    results.append(cli("--db", db, "snapshot"))  # everything fails: the error names the cause
    live.faults.clear()
    live.fail("status", status=400, times=None)  # not retried: the child sleeps for real
    child = ram_popen("--db", db, "snapshot", HF_ENDPOINT=live.url, HF_TOKEN=CANARY)
    child_out, child_err = child.communicate(timeout=120)

    assert [r.code for r in results] == [0, 0, 0, 0, 0, 1]
    assert child.returncode == 1
    assert f"Bearer {CANARY}" in live.authorizations  # the token really was sent
    assert (
        "you sent Bearer ***" in query(db, "SELECT string_agg(error_summary, ' ') FROM runs")[0][0]
    )
    texts = {
        "cli output": "".join(r.out + r.err for r in results),
        "subprocess output": child_out + child_err,
        "logs": caplog.text,
        "store": store_text(db),
        "report": "".join(p.read_text("utf-8", "replace") for p in report.iterdir()),
    }
    leaked = [where for where, text in texts.items() if "CANARY" in text]
    assert leaked == []
    figure(places_scanned=len(texts), bytes_scanned=sum(map(len, texts.values())), leaks=0)


class Recorder:
    """A DuckDB connection that notes every SQL text it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection, log: list[str]) -> None:
        self._con, self._log = con, log

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._log.append(sql)
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@pytest.fixture
def sql_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    log: list[str] = []
    real = ram.store.database.connect

    def connect(
        path: Path, read_only: bool, wait: float = ram.store.database.LOCK_WAIT_SECONDS
    ) -> Any:
        return Recorder(real(path, read_only, wait), log)

    monkeypatch.setattr(ram.store.database, "connect", connect)
    return log


SIZE = "5-10B'; DROP TABLE observations; --"
BASELINE = "v'; DROP TABLE baselines; --"
FREEZE = "q'); DROP TABLE runs; --"
FILTER_CASES = {
    "score MODEL_ID": (("score", HOSTILE), HOSTILE, 2, "Error: unknown model"),
    "models --org": (("models", "--org", HOSTILE, "--format", "csv"), HOSTILE, 0, None),
    "top --size-class": (("top", "--size-class", SIZE), SIZE, 2, "Error: unknown size class"),
    "models --size-class": (
        ("models", "--size-class", "x' OR '1'='1"), "'1'='1", 2, "Error: unknown size class"
    ),
    "plot --size-class": (
        ("plot", "cumulative", "--size-class", SIZE, "--out", "x.html"), SIZE, 2,
        "Error: no models in size class",
    ),
    "top --baseline": (("top", "--baseline", BASELINE), BASELINE, 2, "Error: no frozen baseline"),
    "baseline --freeze": (("baseline", "--freeze", FREEZE), FREEZE, 0, None),
    "snapshot --orgs": (("snapshot", "--orgs", HOSTILE), HOSTILE, 2, "Error: unknown org"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(FILTER_CASES))
def test_hostile_ids_and_filters_never_reach_sql_as_text(
    cli: CliRunner, example_db: Path, sql_log: list[str], case: str
) -> None:
    args, hostile, code, message = FILTER_CASES[case]
    before = fingerprint(example_db, ("models", "observations", "runs"))

    r = cli("--db", example_db, *args)

    assert r.code == code, r.err
    if message is not None:
        assert r.err.splitlines()[-1].startswith(message), r.err
    if args[0] != "snapshot":  # an unknown org is refused before the store is opened
        assert sql_log
    assert [sql for sql in sql_log if hostile in sql or "DROP" in sql] == []
    assert fingerprint(example_db, ("models", "observations", "runs")) == before


def test_a_frozen_baseline_with_a_hostile_name_is_just_a_name(
    cli: CliRunner, example_db: Path
) -> None:
    name = "q'); DROP TABLE runs; --"
    assert cli("--db", example_db, "baseline", "--freeze", name).code == 0

    r = cli("--db", example_db, "top", "--baseline", name, "--format", "csv")

    assert r.code == 0, r.err
    assert query(example_db, "SELECT DISTINCT version FROM baselines") == [(name,)]
    assert query(example_db, "SELECT count(*) FROM runs") == [(1,)]


def test_a_hostile_id_in_a_panel_is_refused_and_the_store_untouched(
    cli: CliRunner, example_db: Path, tmp_path: Path
) -> None:
    panel = tmp_path / "hostile.csv"
    panel.write_text(
        f'model_id,date,downloads_30d\nok/fine,2025-01-01,5\n"{HOSTILE}",2025-01-01,5\n'
    )
    before = fingerprint(example_db)

    r = cli("--db", example_db, "import", "panel", panel)

    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"Error: {panel} line 3: model_id {HOSTILE!r} is not a repo id org/name; "
        "nothing was imported"
    )
    assert fingerprint(example_db) == before


def test_hostile_names_from_the_hub_are_stored_bound_and_escaped_in_the_report(
    cli: CliRunner, live: FakeHub, example_db: Path, tmp_path: Path, figure: Figure
) -> None:
    live.add(
        "Evil/x'); DROP TABLE models; --", hostile=True, downloads=7, pipeline_tag="text-generation"
    )
    snap = cli("--db", example_db, "snapshot")
    assert snap.code == 0, snap.err
    source = "<script>alert('source')"
    panel = tmp_path / "more.csv"
    panel.write_text("model_id,date,downloads_30d,params_b\nok/more-7B,2025-06-01,5,7\n")
    assert cli("--db", example_db, "import", "panel", panel, "--source", source).code == 0
    score = cli("--db", example_db, "score", EVIL, "--day", "30", "--format", "csv")
    report_dir = tmp_path / "report"

    r = cli("--db", example_db, "report", "--out", report_dir, "--no-png")

    assert score.code == 0 and EVIL in score.out  # stored and found as plain data
    assert query(example_db, "SELECT count(*) FROM models WHERE model_id LIKE 'Evil/x%'") == [(1,)]
    assert r.code == 0, r.err
    page = (report_dir / "index.html").read_text("utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)" in page  # the top table names the model, escaped
    assert "&lt;script&gt;alert(&#x27;source&#x27;)" in page  # and the data source line
    assert sorted(p.name for p in report_dir.iterdir() if "script" in p.name.lower()) == []
    figure(raw_script_tags_from_data=0, escaped_names_found=2)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "hf-home" not in p.parts}


def test_out_paths_are_written_where_asked_and_nowhere_else(
    cli: CliRunner, example_db: Path, tmp_path: Path, figure: Figure
) -> None:
    (tmp_path / "charts").mkdir()
    before = tree(tmp_path)

    plot = cli("--db", example_db, "plot", "ram-curves", "--out", "charts/ram.html")
    missing = cli("--db", example_db, "plot", "ram-curves", "--out", "nowhere/ram.html")
    badext = cli("--db", example_db, "plot", "ram-curves", "--out", "charts/ram.exe")
    report = cli("--db", example_db, "report", "--out", "rep/nested", "--no-png")

    assert plot.code == 0, plot.err
    assert (missing.code, badext.code) == (2, 2)
    assert missing.err.splitlines()[-1] == "Error: output directory nowhere does not exist"
    assert report.code == 0, report.err
    # Beside the database the user named, a read may keep its caches (ram.store.models_cache,
    # ram.score_cache): those two exact names, nothing else outside the asked paths.
    caches = {f"{example_db.name}{s}" for s in (".models-cache.parquet", ".top-cache.parquet")}
    new = tree(tmp_path) - before - caches
    assert {p for p in new if not p.startswith("rep")} == {"charts/ram.html"}
    assert all(
        p in ("rep", "rep/nested") or p.startswith("rep/nested/") for p in new - {"charts/ram.html"}
    )
    assert "rep/nested/index.html" in new
    figure(files_written=len(new), stray_files=0)


def test_a_huge_hostile_listing_writes_nothing_odd(
    cli: CliRunner, live: FakeHub, tmp_path: Path
) -> None:
    """Many repos whose ids are SQL and HTML fragments land as rows, one per repo, verbatim."""
    add_huge_org(live, 50, org="Evil")
    for i, fragment in enumerate(["'", '"', ";--", "%s", "?", "$1", "\\", "${x}", "<td>"]):
        live.add(
            f"Evil/frag{i}{fragment}", hostile=True, downloads=9, pipeline_tag="text-generation"
        )
    db = tmp_path / "s.duckdb"

    r = cli("--db", db, "snapshot", "--orgs", "Evil")

    assert r.code == 0, r.err
    stored = {m for (m,) in query(db, "SELECT model_id FROM models WHERE model_id LIKE 'Evil/%'")}
    assert stored == {m for m in live.repos if m.startswith("Evil/")}
