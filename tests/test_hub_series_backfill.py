"""``ram backfill --hub modelpulse/model-pulse-data``: monthly long-format files read from the
Hub by range, against the contract fake of its dataset routes (tests/fakehub_datasets.py).

The archive's layout is model-pulse's own (github.com/tardellirs/modelpulse, pipeline/build.py):
``series/<YYYY-MM>.parquet`` with ``id, day, dl30 (int32), dl_all, likes (int32)`` sorted by id
then day, and ``models.parquet`` with the latest metadata, sorted by id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectors.hub_series import ALL_TIME_SINCE, candidate_groups
from ram.config import Config, parse_config
from ram.pipeline import backfill as bf
from ram.pipeline import hub_backfill as hb
from tests.archive_fixtures import (
    backfill_twice,
    hub_cli_round,
    killed_on_landing,
    observations,
    snapshot_rows,
    stored,
    write_archive,
)
from tests.conftest import CliRunner
from tests.fakehub_datasets import DatasetHub

REPO = "modelpulse/model-pulse-data"
DAYS = [dt.date(2025, 2, 24) + dt.timedelta(days=i) for i in range(8)]  # Feb 24 .. Mar 3
CONFIG = {"tracking": {"use_catalog": False, "orgs": {"Qwen": "china", "meta-llama": "us"}}}
SERIES = pa.schema([("id", pa.large_string()), ("day", pa.date32()), ("dl30", pa.int32()),
                    ("dl_all", pa.int64()), ("likes", pa.int32())])  # fmt: skip
MODELS = pa.schema([("id", pa.large_string()), ("author", pa.large_string()),
                    ("pipeline_tag", pa.large_string()), ("library_name", pa.large_string()),
                    ("created_at", pa.timestamp("us", tz="UTC")), ("params", pa.int64()),
                    ("license", pa.large_string()), ("is_gguf", pa.bool_()),
                    ("dl30", pa.int64())])  # fmt: skip


def padding(n: int) -> list[str]:
    """Repos of orgs nobody tracks, spread over the id order (before and after the tracked)."""
    return [f"{p}org{i % 40}/model-{i:05d}" for i, p in zip(range(n), "AZaz" * n, strict=False)]


def day_rows(day: dt.date, scale: int, pad: int) -> list[dict[str, Any]]:
    rows = [{"id": r["id"], "day": day, "dl30": r["downloads"], "dl_all": r["downloadsAllTime"],
             "likes": r["likes"]} for r in snapshot_rows(scale)]  # fmt: skip
    # counts that differ by model and day, as real ones do (so they compress as real ones)
    rows += [{"id": m, "day": day, "dl30": (i * 7919 + scale * 31) % 100_000,
              "dl_all": i * 1000 + scale * 37, "likes": i % 7} for i, m in enumerate(padding(pad))]  # fmt: skip
    return rows


def parquet(rows: list[dict[str, Any]], schema: pa.Schema, group: int) -> bytes:
    table = pa.Table.from_pylist(rows, schema=schema).sort_by(
        [("id", "ascending")] + ([("day", "ascending")] if "day" in schema.names else [])
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=group, compression="zstd")
    return buf.getvalue()


def months(days: list[dt.date], pad: int = 60, group: int = 50,
           drop: dict[dt.date, int] | None = None) -> dict[str, bytes]:  # fmt: skip
    """The series files of ``days`` (day i at scale i + 1); ``drop`` keeps only the first N
    rows of a day (a truncated snapshot)."""
    by_month: dict[str, list[dict[str, Any]]] = {}
    for i, day in enumerate(days):
        rows = day_rows(day, i + 1, pad)
        if drop and day in drop:
            rows = rows[: drop[day]]
        by_month.setdefault(f"series/{day:%Y-%m}.parquet", []).extend(rows)
    return {path: parquet(rows, SERIES, group) for path, rows in by_month.items()}


def metadata(pad: int = 60) -> bytes:
    rows = [{"id": r["id"], "author": r["author"], "pipeline_tag": r["pipeline_tag"],
             "library_name": r["library_name"], "created_at": r["createdAt"],
             "params": (r["safetensors"] or {}).get("total"),
             "license": next((t[8:] for t in r["tags"] if t.startswith("license:")), None),
             "is_gguf": "GGUF" in r["id"], "dl30": r["downloads"]}
            for r in snapshot_rows(1)]  # fmt: skip
    rows += [{"id": m, "author": m.split("/")[0], "pipeline_tag": "text-generation",
              "library_name": "transformers", "created_at": dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
              "params": 1000, "license": "mit", "is_gguf": False, "dl30": 1}
             for m in padding(pad)]  # fmt: skip
    return parquet(rows, MODELS, 1000)


def publish(hub: DatasetHub, days: list[dt.date], **kw: Any) -> None:
    last = days[-1]
    files = {**months(days, **kw), "models.parquet": metadata(kw.get("pad", 60)),
             "meta.json": json.dumps({"days": [d.isoformat() for d in days]}).encode(),
             "family_series/2025-03.parquet": b"not ours"}  # fmt: skip
    when = dt.datetime(last.year, last.month, last.day, 6, tzinfo=dt.UTC)
    hub.add_commit(REPO, when, f"Daily update {last}", files)


@pytest.fixture
def hub() -> Iterator[DatasetHub]:
    with DatasetHub() as fake:
        publish(fake, DAYS)
        yield fake
        assert fake.violations == []


@pytest.fixture
def cfg() -> Config:
    return parse_config(CONFIG)


def static_fields(db: Path) -> list[tuple[Any, ...]]:
    return stored(
        db,
        "SELECT model_id, pipeline_tag, created_at, safetensors_total, license "
        "FROM models ORDER BY model_id",
    )


def oracle(tmp: Path, cfg: Config, days: list[dt.date]) -> Path:
    """The same days as hub-stats-shaped files, landed by the local backfill: what the Hub
    backfill must land (no all-time count before the Hub reported one)."""
    for i, day in enumerate(days):
        rows = snapshot_rows(i + 1)
        if day < ALL_TIME_SINCE:
            rows = [dict(r, downloadsAllTime=None) for r in rows]
        write_archive(tmp / "oracle" / day.isoformat() / "models.parquet", rows)
    db = tmp / "oracle.duckdb"
    bf.backfill(cfg, db, [str(tmp / "oracle")], name="model-pulse-data")
    return db


def test_it_lands_exactly_what_the_archive_holds(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    db = tmp_path / "hub.duckdb"
    out = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)

    expected = oracle(tmp_path, cfg, DAYS)
    assert observations(db) == observations(expected)
    assert static_fields(db) == static_fields(expected)
    got = observations(db)
    assert {r[5] for r in got} == {"archive:model-pulse-data"}
    qwen = [r for r in got if r[0] == "Qwen/Qwen3-8B"]
    assert [r[2] for r in qwen] == [1000 * i for i in range(1, 9)]
    assert [r[3] for r in qwen] == [None, None] + [5000 * i for i in range(3, 9)]  # Feb 26 on
    assert "Qwen/Qwen3-14B" in {r[0] for r in got}  # a release of a tracked org, discovered
    assert [r.details["snapshot_date"] for r in out.runs] == [d.isoformat() for d in DAYS]
    commit = hub.repos[REPO][-1]
    for run in out.runs:
        month = run.details["snapshot_date"][:7]
        assert run.details["hub_file"] == f"series/{month}.parquet"
        assert run.details["commit"] == commit.sha and run.details["etag"]
        held = [d.isoformat() for d in DAYS if d.isoformat().startswith(month)]
        assert run.details["file_days"] == held
    assert out.gaps == [] and out.stopped is None


def test_a_second_run_fetches_no_parquet_bytes(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    again = backfill_twice(hub, cfg, tmp_path / "hub.duckdb", REPO)
    assert again.runs == [] and again.skipped == DAYS
    assert set(hub.counts) == {"tree", "resolve"}
    assert hub.counts["resolve"] == 3  # the metadata file and the two months


def test_it_reads_the_days_asked_for_and_catches_up_only_what_is_missing(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    db = tmp_path / "hub.duckdb"
    first = hb.backfill_hub(cfg, db, REPO, since=DAYS[6], endpoint=hub.url, token=False)
    assert [r.details["snapshot_date"] for r in first.runs] == ["2025-03-02", "2025-03-03"]
    assert hub.counts["resolve"] == 2  # February is out of range: never resolved

    rest = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
    assert [r.details["snapshot_date"] for r in rest.runs] == [d.isoformat() for d in DAYS[:6]]
    assert rest.skipped == DAYS[6:]
    assert observations(db) == observations(oracle(tmp_path, cfg, DAYS))


def test_a_month_rewritten_with_a_new_day_lands_only_that_day(
    hub: DatasetHub, cfg: Config, tmp_path: Path
) -> None:
    db = tmp_path / "hub.duckdb"
    hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
    more = [*DAYS, dt.date(2025, 3, 4)]
    publish(hub, more)  # the daily update rewrites March (a new etag); February is unchanged
    hub.reset_counts()

    out = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)

    assert [r.details["snapshot_date"] for r in out.runs] == ["2025-03-04"]
    assert out.skipped == DAYS
    files = hub.repos[REPO][-1].files
    sent = {path: hub.sent_by_blob.get(hashlib.sha256(files[path]).hexdigest(), 0)
            for path in ("series/2025-02.parquet", "series/2025-03.parquet")}  # fmt: skip
    assert sent["series/2025-02.parquet"] == 0 and sent["series/2025-03.parquet"] > 0
    assert observations(db) == observations(oracle(tmp_path, cfg, more))


def needed_bytes(data: bytes, id_groups: list[int], groups: list[int], columns: list[str]) -> int:
    """The bytes a reader of the id column in ``id_groups`` and ``columns`` in ``groups`` must
    fetch: the union of those column chunks and the 64 KiB tail a footer read takes."""
    md = pq.ParquetFile(io.BytesIO(data)).metadata
    spans = [(max(0, len(data) - 65536), len(data))]
    for g in range(md.num_row_groups):
        for c in range(md.num_columns):
            chunk = md.row_group(g).column(c)
            name = chunk.path_in_schema
            if (name == "id" and g in id_groups) or (g in groups and name in columns):
                start = chunk.dictionary_page_offset or chunk.data_page_offset
                spans.append((start, start + chunk.total_compressed_size))
    total, end = 0, 0
    for a, b in sorted(spans):
        total += max(0, b - max(a, end))
        end = max(end, b)
    return total


def test_only_the_row_groups_holding_a_kept_model_are_read(cfg: Config, tmp_path: Path) -> None:
    """A month costs its footer, its id column and the counts of the row groups that hold a
    tracked model or a tracked org's repo; at most 2 resolver requests per day."""
    with DatasetHub() as hub:
        publish(hub, DAYS, pad=20_000, group=10_000)
        out = hb.backfill_hub(cfg, tmp_path / "h.duckdb", REPO, endpoint=hub.url, token=False)
        assert hub.violations == []
        files = hub.repos[REPO][-1].files
        sent = {p: hub.sent_by_blob.get(hashlib.sha256(files[p]).hexdigest(), 0) for p in files}
    assert [r.status for r in out.runs] == ["ok"] * len(DAYS)
    paths = ("series/2025-02.parquet", "series/2025-03.parquet", "models.parquet")
    size = sum(len(files[p]) for p in paths)
    assert out.traffic.bytes_read == sum(sent.values()) < 0.5 * size, (sent, size)
    for path in paths[:2]:  # no byte beyond what the reads need, but coalescing's small holes
        md = pq.ParquetFile(io.BytesIO(files[path])).metadata
        kept = {int(r.details["row_groups_read"].split(" of ")[0])
                for r in out.runs if r.details["hub_file"] == path}  # fmt: skip
        ids = pq.read_table(io.BytesIO(files[path]), columns=["id"]).column("id").to_pylist()
        starts = [sum(md.row_group(i).num_rows for i in range(g)) for g in range(md.num_row_groups)]
        groups = [g for g, s in enumerate(starts)
                  if any(i.split("/")[0] in ("Qwen", "meta-llama")
                         for i in ids[s : s + md.row_group(g).num_rows])]  # fmt: skip
        assert kept == {len(groups)} and len(groups) < md.num_row_groups
        # the id column is read only where its statistics can hold a tracked org's repo
        # (their soundness is the pruning test's), a superset of the groups that do
        id_groups = candidate_groups(md, 0, frozenset(), frozenset({"Qwen", "meta-llama"}))
        assert set(groups) <= set(id_groups) and len(id_groups) < md.num_row_groups
        floor = needed_bytes(files[path], id_groups, groups, ["day", "dl30", "dl_all", "likes"])
        assert floor <= sent[path] <= floor + 8192 * md.num_row_groups, (path, sent[path], floor)
    assert sent["models.parquet"] < len(files["models.parquet"])  # pruned by id statistics
    assert out.traffic.requests["resolve"] / len(DAYS) <= 2
    assert out.traffic.requests["tree"] == 1


def test_a_truncated_day_is_refused_and_a_gap_reported(cfg: Config, tmp_path: Path) -> None:
    days = [d for d in DAYS if d != dt.date(2025, 3, 1)]  # no snapshot on March 1
    with DatasetHub() as hub:
        publish(hub, days, pad=120, drop={dt.date(2025, 2, 27): 30})
        out = hb.backfill_hub(cfg, tmp_path / "h.duckdb", REPO, endpoint=hub.url, token=False)
    refused = [r for r in out.runs if r.status != "ok"]
    assert [r.details["snapshot_date"] for r in refused] == ["2025-02-27"]
    assert "a truncated snapshot, left out (archive.min_rows_ratio)" in str(
        refused[0].error_summary
    )
    assert len([r for r in out.runs if r.status == "ok"]) == len(days) - 1
    assert out.gaps == [dt.date(2025, 3, 1)]


def test_a_429_storm_is_ridden_out_and_a_spent_budget_stops_cleanly(
    hub: DatasetHub, cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.utils._http as hf_http

    from collectors import hub_archive

    waits: list[float] = []
    monkeypatch.setattr(hf_http.time, "sleep", waits.append)
    monkeypatch.setattr(hub_archive.time, "sleep", waits.append)
    hub.rate_limit, hub.retry_after = 5, "3"
    out = hb.backfill_hub(cfg, tmp_path / "a.duckdb", REPO, endpoint=hub.url, token=False)
    assert hub.counts["429"] == 5 and out.stopped is None and waits
    assert [r.status for r in out.runs] == ["ok"] * len(DAYS)

    # three months: the newest and the metadata are read first (to find new releases), then
    # January lands, and the budget runs out reading February
    days = [dt.date(2025, 1, 29) + dt.timedelta(days=i) for i in range(34)]
    with DatasetHub() as three:
        publish(three, days)
        tight = parse_config({**CONFIG, "collector": {"request_budget": 8}})
        db = tmp_path / "b.duckdb"
        cut = hb.backfill_hub(tight, db, REPO, endpoint=three.url, token=False)
        assert cut.stopped is not None and "request budget of 8 spent" in cut.stopped
        landed = [r.details["snapshot_date"] for r in cut.runs if r.status == "ok"]
        assert landed == [d.isoformat() for d in days[:3]]  # January
        assert cut.left == 31 and cut.left_is_estimate  # February (not read: its 28 days) + March
        rest = hb.backfill_hub(cfg, db, REPO, endpoint=three.url, token=False)
        assert len(rest.runs) == len(days) - 3 and rest.skipped == days[:3]
        assert three.violations == []
    assert observations(db) == observations(oracle(tmp_path, cfg, days))


def test_a_kill_during_a_day_leaves_that_day_out(
    hub: DatasetHub, cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "hub.duckdb"
    with killed_on_landing(monkeypatch, 4), pytest.raises(KeyboardInterrupt):
        hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
    assert {r[1] for r in observations(db)} == set(DAYS[:3])

    rest = hb.backfill_hub(cfg, db, REPO, endpoint=hub.url, token=False)
    assert [r.details["snapshot_date"] for r in rest.runs] == [d.isoformat() for d in DAYS[3:]]


def test_the_command_line(cli: CliRunner, hub: DatasetHub, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    db, before, landed, after = hub_cli_round(
        cli, hub.url, tmp_path, monkeypatch, CONFIG, REPO, "--since", "2025-03-01"
    )
    assert before[0] == "file,commit,days_landed,landed,file_bytes" and len(before) == 3
    assert landed.startswith(f"backfilled 3 days of {REPO} into {db} (9 observations; 0 days")
    rows = [line.split(",") for line in after[1:]]
    assert [(f, n, done) for f, _, n, done, _ in rows] == [
        ("series/2025-02.parquet", "0", "False"), ("series/2025-03.parquet", "3", "True")]  # fmt: skip

    (tmp_path / "config.yaml").write_text(
        json.dumps({**CONFIG, "collector": {"request_budget": 5}})
    )
    r = cli("--db", tmp_path / "cut.duckdb", "backfill", "--hub", REPO)
    assert r.code != 0 and "Traceback" not in r.err
    last = r.err.strip().splitlines()[-1]  # after the progress lines, the one-line stop
    assert "stopped with up to 31 days left: request budget of 5 spent" in last, r.err
    (tmp_path / "config.yaml").write_text(json.dumps(CONFIG))

    with DatasetHub() as empty:
        empty.add_commit("someone/empty", dt.datetime(2025, 3, 1, tzinfo=dt.UTC), "init",
                         {"models.parquet": metadata()})  # fmt: skip
        monkeypatch.setenv("HF_ENDPOINT", empty.url)
        r = cli("--db", db, "backfill", "--hub", REPO)
        assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
        assert f"no dataset {REPO} on the Hub" in r.err


def test_the_id_statistics_prune_only_groups_that_cannot_hold_a_kept_id() -> None:
    """Every row group holding an id ``keep_mask`` keeps (any case of a tracked id or org) is a
    candidate; groups of other orgs' repos are not."""
    import random

    from collectors.hub_series import keep_mask

    rng = random.Random(5)
    tracked_ids, orgs = frozenset({"Qwen/Qwen3-8B", "x/Model-é"}), frozenset({"meta-llama", "AI2"})

    def respell(text: str) -> str:
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)

    ids = {f"{respell(rng.choice(['qwen', 'meta-llama', 'ai2', 'x']))}/m{k}" for k in range(40)}
    ids |= {respell("Qwen/Qwen3-8B"), "x/MODEL-É", "X/model-é", "ai2/tulu"}
    ids |= {"".join(rng.choice("abcdefghijklmnopqrstuvwxyzAZ09-") for _ in range(8)) + f"/r{k}"
            for k in range(3000)}  # fmt: skip
    column = pa.array(sorted(ids), pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": column}), buf, row_group_size=100)
    footer = pq.ParquetFile(io.BytesIO(buf.getvalue())).metadata
    kept = keep_mask(column, tracked_ids, orgs).to_pylist()
    holding = {i // 100 for i, k in enumerate(kept) if k}
    candidates = set(candidate_groups(footer, 0, tracked_ids, orgs))
    assert holding and holding <= candidates
    assert len(candidates) < footer.num_row_groups / 2, (len(candidates), footer.num_row_groups)
