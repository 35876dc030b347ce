"""``ram backfill --hub REPO``: a dataset's history read from the Hub by range, against a
contract fake of its dataset routes and file CDN (tests/fakehub_datasets.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ram.config import Config, parse_config
from ram.pipeline import backfill as bf
from ram.pipeline import hub_backfill as hb
from tests.archive_fixtures import (
    SCHEMA,
    backfill_twice,
    hub_cli_round,
    hub_stats_layout,
    killed_on_landing,
    model,
    observations,
    snapshot_rows,
)
from tests.conftest import CliRunner
from tests.fakehub_datasets import DatasetHub

REPO = "cfahlgren1/hub-stats"
UPLOAD = "Upload models.parquet with huggingface_hub"
DAYS = [dt.date(2025, 3, i) for i in range(1, 6)]
CONFIG = {"tracking": {"use_catalog": False, "orgs": {"Qwen": "china", "meta-llama": "us"}}}


def parquet(rows: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), buf)
    return buf.getvalue()


def fill(hub: DatasetHub, days: list[dt.date] = DAYS) -> None:
    """One upload a day at 05:00 UTC (the counts grow), plus commits of other files, an earlier
    upload the same day (replaced by the later one) and nothing on other repos."""
    for i, day in enumerate(days, start=1):
        when = dt.datetime(day.year, day.month, day.day, 5, tzinfo=dt.UTC)
        hub.add_commit(REPO, when - dt.timedelta(hours=3), UPLOAD,
                       {"models.parquet": parquet(snapshot_rows(scale=1000))})  # fmt: skip
        hub.add_commit(REPO, when, UPLOAD, {"models.parquet": parquet(snapshot_rows(scale=i))})
        hub.add_commit(REPO, when + dt.timedelta(hours=1), "Upload spaces.parquet",
                       {"spaces.parquet": b"not ours"})  # fmt: skip


@pytest.fixture
def hub() -> Iterator[DatasetHub]:
    with DatasetHub() as fake:
        fill(fake)
        yield fake
        assert fake.violations == []


@pytest.fixture
def cfg() -> Config:
    return parse_config(CONFIG)


def test_it_lands_what_the_archive_holds_and_records_each_commit(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    db = tmp_path / "hub.duckdb"
    out = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)

    local = tmp_path / "local.duckdb"
    bf.backfill(cfg, local, [str(hub_stats_layout(tmp_path, DAYS))], name="hub-stats")
    assert observations(db) == observations(local)  # the same rows as the files themselves
    assert {r[5] for r in observations(db)} == {"archive:hub-stats"}
    assert [r.details["snapshot_date"] for r in out.runs] == [d.isoformat() for d in DAYS]
    history = {c.sha: c for c in hub.repos[REPO]}
    for run in out.runs:  # the day's last upload, its etag and the file's row count
        commit = history[run.details["commit"]]
        assert commit.date.hour == 5 and commit.title == UPLOAD
        assert run.details["etag"] and run.details["rows_in_file"] == 13
        assert run.details["hub_repo"] == REPO


def test_a_second_run_fetches_no_parquet_bytes(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    again = backfill_twice(hub, cfg, tmp_path / "hub.duckdb", REPO)
    assert again.runs == [] and again.skipped == DAYS
    assert set(hub.counts) == {"commits"}


def test_it_reads_only_the_days_asked_for_and_catches_up_later(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    db = tmp_path / "hub.duckdb"
    first = hb.backfill_hub(cfg, db, REPO, since=DAYS[1], until=DAYS[2], endpoint=hub.url,
                            token=False)  # fmt: skip
    assert [r.details["snapshot_date"] for r in first.runs] == ["2025-03-02", "2025-03-03"]
    hub.reset_counts()

    rest = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)

    assert [r.details["snapshot_date"] for r in rest.runs] == ["2025-03-01", "2025-03-04",
                                                                "2025-03-05"]  # fmt: skip
    assert hub.counts["resolve"] == 3  # one resolve per day read, none for the landed ones
    assert {d for (_, d, *_) in observations(db)} == set(DAYS)


def test_a_429_storm_is_ridden_out_quietly(
    hub: DatasetHub,
    cfg: Config,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import huggingface_hub.utils._http as hf_http

    from collectors import hub_archive

    waits: list[float] = []  # the waits asked for, not slept: the test stays fast
    monkeypatch.setattr(hf_http.time, "sleep", waits.append)
    monkeypatch.setattr(hub_archive.time, "sleep", waits.append)
    hub.rate_limit, hub.retry_after = 4, "7"
    db = tmp_path / "hub.duckdb"

    out = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)

    assert hub.counts["429"] == 4 and out.stopped is None
    assert len(waits) == 4 and all(w > 0 for w in waits)
    assert [r.status for r in out.runs] == ["ok"] * 5
    assert [r.getMessage() for r in caplog.records if r.levelno >= 30] == []  # no library noise


def test_a_spent_budget_stops_cleanly_and_a_rerun_continues(
    hub: DatasetHub, tmp_path: Path
) -> None:
    db = tmp_path / "hub.duckdb"
    tight = parse_config({**CONFIG, "collector": {"request_budget": 14}})

    out = hb.backfill_hub(tight, db, REPO, endpoint=hub.url, token=False)

    landed = [r for r in out.runs if r.status == "ok"]
    assert out.stopped is not None and "request budget of 14 spent" in out.stopped
    assert 0 < len(landed) < 5 and out.left == 5 - len(landed)
    rest = hb.backfill_hub(parse_config(CONFIG), db, REPO, endpoint=hub.url, token=False)
    assert len(rest.skipped) == len(landed) and len(rest.runs) == 5 - len(landed)


def test_a_kill_during_a_day_leaves_that_day_out(
    hub: DatasetHub, cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "hub.duckdb"
    with killed_on_landing(monkeypatch, 3), pytest.raises(KeyboardInterrupt):
        hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
    assert {d for (_, d, *_) in observations(db)} == set(DAYS[:2])

    rest = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
    assert [r.details["snapshot_date"] for r in rest.runs] == [d.isoformat() for d in DAYS[2:]]


def test_a_truncated_day_is_refused_and_a_gap_reported(cfg: Config, tmp_path: Path) -> None:
    """A day holding a quarter of the usual rows is a truncated upload: refused, reported, the
    other days land; a day without any upload stays a gap."""
    with DatasetHub() as hub:
        for d in (1, 2, 3, 5, 6, 7):  # no upload on the 4th
            rows = snapshot_rows(scale=d) * 4
            rows = [dict(r, id=f"{r['id']}-{k}") if k else r for k, r in enumerate(rows)]
            if d == 3:
                rows = rows[:13]  # truncated: a quarter
            hub.add_commit(REPO, dt.datetime(2025, 3, d, 5, tzinfo=dt.UTC), UPLOAD,
                           {"models.parquet": parquet(rows)})  # fmt: skip
        out = hb.backfill_hub(cfg, tmp_path / "h.duckdb", REPO, endpoint=hub.url, token=False)
    refused = [r for r in out.runs if r.status != "ok"]
    assert [r.details["snapshot_date"] for r in refused] == ["2025-03-03"]
    assert "13 rows, under 90% of its neighbours' median: a truncated upload" in str(
        refused[0].error_summary
    )
    assert len([r for r in out.runs if r.status == "ok"]) == 5
    assert out.gaps == [dt.date(2025, 3, 4)]


def big_day(n: int, day: int) -> bytes:
    """A hub-stats-shaped file of ``n`` rows: long card data and tags, as the real one has."""
    rows = []
    for i in range(n):
        row = model(f"org{i % 400}/model-{i}", 10 * i + day, 100 * i + day,
                    created=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i))  # fmt: skip
        row["tags"] = [*row["tags"], f"base_model:org{i % 7}/base-{i % 13}", "region:us", "en"]
        row["cardData"] = json.dumps({"license": "apache-2.0", "language": ["en", "fr"],
                                      "widget": [{"text": f"Hello number {i} " * 4}]})  # fmt: skip
        rows.append(row)
    rows.append(model("Qwen/Qwen3-8B", 1000 * day, 5000 * day))
    return parquet(rows)


@pytest.mark.slow  # 4 files of 20,000 rows: with the full run (make test), not make unit
def test_a_day_costs_its_id_and_count_columns_and_one_resolver_request(
    cfg: Config, tmp_path: Path
) -> None:
    """An older day fetches the footer and the id and count column chunks only (the floor), the
    newest day every column the policy reads, once; one resolve per day."""
    with DatasetHub() as hub:
        files = []
        for d in range(1, 5):
            content = big_day(20_000, d)
            files.append(content)
            hub.add_commit(REPO, dt.datetime(2025, 3, d, 5, tzinfo=dt.UTC), UPLOAD,
                           {"models.parquet": content})  # fmt: skip
        seen: list[int] = []  # bytes read so far when each day is read
        out = hb.backfill_hub(
            cfg, tmp_path / "h.duckdb", REPO, endpoint=hub.url, token=False,
            progress=lambda s: seen.append(s.bytes_read) if s.kind == "read" else None,
        )  # fmt: skip
        assert hub.violations == []
    assert [r.status for r in out.runs] == ["ok"] * 4
    meta = pq.ParquetFile(io.BytesIO(files[0])).metadata
    chunks = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i)
              for i in range(meta.num_columns)}  # fmt: skip
    floor = sum(chunks[c].total_compressed_size for c in ("id", "downloads", "downloadsAllTime",
                                                          "likes"))  # fmt: skip
    # The newest day is read first, then days 1, 2, 3; day 4 is the newest, read already.
    older = [seen[1] - seen[0], seen[2] - seen[1]]  # days 2 and 3
    slack = meta.serialized_size + 8 + 70_000  # the footer (pyarrow reads 64 KiB to find it)
    assert all(floor <= b <= floor + slack for b in older), (older, floor)
    assert seen[3] == seen[2]
    assert seen[2] <= len(files[-1]) + 3 * (floor + slack)
    assert out.traffic.requests["resolve"] == 4  # one per day
    assert out.traffic.requests["range"] <= 4 * 3  # the footer, then the chunks in one or two


def test_the_token_stays_on_the_hub(hub: DatasetHub, cfg: Config, tmp_path: Path) -> None:
    """A token goes to the Hub's routes only: the CDN refuses to be sent it (a violation)."""
    hb.backfill_hub(cfg, tmp_path / "h.duckdb", REPO, endpoint=hub.url, token="hf_secret")
    assert hub.violations == []


def test_the_command_line(cli: CliRunner, hub: DatasetHub, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    db, before, landed, after = hub_cli_round(
        cli, hub.url, tmp_path, monkeypatch, CONFIG, REPO, "--until", "2025-03-03"
    )
    assert before[0] == "date,commit,landed,file_bytes" and len(before) == 6
    assert landed.startswith(f"backfilled 3 days of {REPO} into {db} (9 observations; 0 days")
    assert [line.split(",")[2] for line in after[1:]] == ["True"] * 3 + ["False"] * 2

    for args, message in (
        (["--hub", "nobody/nothing"], "no dataset nobody/nothing on the Hub"),
        (["--hub", REPO, "some/file.parquet"], "give ARCHIVE files or --hub REPO, not both"),
        (["--hub", REPO, "--since", "2025-03-04", "--until", "2025-03-01"], "is after --until"),
        (
            ["--hub", REPO, "--dry-run", "--since", "2025-03-04", "--until", "2025-03-01"],
            "is after --until",
        ),  # the dry run checks the range too
        ([], "give ARCHIVE files or folders, or --hub REPO"),
        (["x.parquet", "--since", "2025-01-01"], "--since and --until are for --hub"),
    ):
        r = cli("--db", db, "backfill", *args)
        assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_progress_lines_give_bytes_rate_and_time_left(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: one bar over days with bytes read, rate and ETA (plain lines off a terminal)."""
    from ram.cli import backfill as cli_backfill
    from ram.store.database import RunRecord

    clock = iter([100.0, 110.0, 120.0])
    monkeypatch.setattr(cli_backfill.time, "monotonic", lambda: next(clock))
    run = RunRecord(kind="backfill", source="archive:hub-stats",
                    started_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC), observations=1958)  # fmt: skip
    with cli_backfill._HubDisplay() as show:
        show(hb.HubStep("days", None, 2, 22, 0))  # 2 landed before this run, 20 to go
        show(hb.HubStep("saved", dt.date(2025, 3, 3), 3, 22, 50_000_000, run))
        show(hb.HubStep("saved", dt.date(2025, 3, 4), 4, 22, 100_000_000, run))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "22 days in the archive, 2 landed already"
    # 50 MB in 10 s, 1 day done, 19 left: 190 s
    assert lines[1] == ("[3/22] 2025-03-03: saved 1,958 observations (50.0 MB read, 5.0 MB/s, "
                        "about 3 min left)")  # fmt: skip
    assert lines[2].endswith("(100.0 MB read, 5.0 MB/s, about 3 min left)")
