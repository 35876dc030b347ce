"""Small dated Parquet archives in the hub-stats ``models.parquet`` layout for the archive tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

UTC = dt.UTC

SAFETENSORS = pa.struct(
    [("parameters", pa.struct([("BF16", pa.int64()), ("F32", pa.int64())])), ("total", pa.int64())]
)

# hub-stats column order and types (models.parquet): strings, int64 counts, a UTC timestamp,
# tags as a list, safetensors as a STRUCT, cardData as JSON text.
SCHEMA = pa.schema(
    [
        ("_id", pa.string()),
        ("id", pa.string()),
        ("author", pa.string()),
        ("gated", pa.string()),
        ("createdAt", pa.timestamp("ms", tz="UTC")),
        ("lastModified", pa.timestamp("ms", tz="UTC")),
        ("likes", pa.int64()),
        ("trendingScore", pa.float64()),
        ("downloads", pa.int64()),
        ("downloadsAllTime", pa.int64()),
        ("pipeline_tag", pa.string()),
        ("library_name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("safetensors", SAFETENSORS),
        ("cardData", pa.string()),
    ]
)

TRACKED = frozenset(
    {
        "Qwen/Qwen3-8B",
        "meta-llama/Llama-3.1-8B-Instruct",
        "deepseek-ai/DeepSeek-V3",
        "Qwen/Qwen3-8B-GGUF",  # a first-party GGUF repo the catalog tracks on purpose
    }
)
ORGS = frozenset({"Qwen", "meta-llama"})
REJECT = (
    r"(?:^|[-_/.])gguf(?:$|[-_/.])",
    r"(?:^|[-_/.])(?:embed|embedding|embeddings)(?:$|[-_/.])",
    "guard",
)


def model(
    model_id: str,
    downloads: int | None,
    downloads_all_time: int | None = None,
    *,
    pipeline_tag: str | None = "text-generation",
    created: dt.datetime = dt.datetime(2025, 1, 10, 12, 30, tzinfo=UTC),
    likes: int = 3,
    params: int | None = 8_000_000_000,
    license: str | None = "apache-2.0",
) -> dict[str, Any]:
    """One row as the Hub API (and so hub-stats) would have it."""
    author = model_id.split("/", 1)[0] if "/" in model_id else None
    tags = ["transformers", "safetensors"] + ([f"license:{license}"] if license else [])
    return {
        "_id": "id-" + model_id.lower().replace("/", "-"),
        "id": model_id,
        "author": author,
        "gated": "False",
        "createdAt": created,
        "lastModified": created,
        "likes": likes,
        "trendingScore": 1.5,
        "downloads": downloads,
        "downloadsAllTime": downloads_all_time,
        "pipeline_tag": pipeline_tag,
        "library_name": "transformers",
        "tags": tags,
        "safetensors": None
        if params is None
        else {"parameters": {"BF16": params, "F32": None}, "total": params},
        "cardData": json.dumps({"license": license}),
    }


def snapshot_rows(scale: int = 1) -> list[dict[str, Any]]:
    """A day of the Hub: 3 tracked models, 1 new tracked-org release, and 9 rows to skip."""
    return [
        # kept: tracked
        model("Qwen/Qwen3-8B", 1000 * scale, 5000 * scale),
        model("meta-llama/Llama-3.1-8B-Instruct", 2000 * scale, 90000 * scale, license=None),
        model("Qwen/Qwen3-8B-GGUF", 300 * scale, 900 * scale, params=None),
        # kept: discovered in a tracked org, passes every rule
        model("Qwen/Qwen3-14B", 500 * scale, 700 * scale, params=14_800_000_000),
        # skipped: other orgs, re-uploads, wrong pipeline, too few downloads, no pipeline tag
        model("TheBloke/Llama-3.1-8B-GGUF", 9000, 50000),
        model("someone/Qwen3-8B-finetune", 50, 60),
        model("meta-llama/Llama-Guard-3-8B", 4000, 8000),
        model("Qwen/Qwen3-Embedding-8B", 7000, 9000, pipeline_tag="feature-extraction"),
        model("Qwen/Qwen3-Embedding-0.6B", 7000, 9000, pipeline_tag="text-generation"),
        model("Qwen/Qwen3-Reranker-4B", 800, 900, pipeline_tag="text-ranking"),
        model("Qwen/Qwen3-Tiny-Test", 99, 150),
        model("meta-llama/no-tag", 5000, 6000, pipeline_tag=None),
        model("gpt2", 100000, 10**9),
    ]


def write_archive(
    path: Path, rows: Sequence[dict[str, Any]], schema: pa.Schema = SCHEMA, drop: Sequence[str] = ()
) -> Path:
    """Write rows as one Parquet file (creating folders), leaving out the ``drop`` columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(rows), schema=schema)
    pq.write_table(table.drop_columns(list(drop)), path)
    return path


def hub_stats_layout(root: Path, days: Sequence[dt.date]) -> Path:
    """``<root>/hub-stats/YYYY-MM-DD/models.parquet``, counts growing day by day."""
    base = root / "hub-stats"
    for i, day in enumerate(days, start=1):
        write_archive(base / day.isoformat() / "models.parquet", snapshot_rows(scale=i))
    return base


def weekly_layout(root: Path, days: Sequence[dt.date]) -> Path:
    """``<root>/hub_weekly_snapshots/models/<date>/models.parquet`` (and a datasets/ sibling)."""
    base = root / "hub_weekly_snapshots"
    for i, day in enumerate(days, start=1):
        write_archive(base / "models" / day.isoformat() / "models.parquet", snapshot_rows(i))
    return base / "models"


def stored(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on a test store."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def observations(db: Path) -> list[tuple[Any, ...]]:
    """The stored observations, by model and day: what a backfill test compares."""
    return stored(
        db,
        "SELECT model_id, obs_date, downloads_30d, downloads_all_time, likes, source "
        "FROM observations ORDER BY model_id, obs_date",
    )


def hub_cli_round(
    cli: Any, url: str, tmp_path: Path, monkeypatch: Any, config: dict[str, Any], repo: str,
    *landing: str,
) -> tuple[Path, list[str], str, list[str]]:  # fmt: skip
    """The command-line round both ``--hub`` layouts are tested by, against the test Hub at
    ``url``: a dry run on an empty store (which writes none), a backfill with ``landing``'s
    options, a dry run again.  Returns the store and the two dry runs' CSV lines around the
    backfill's output."""
    monkeypatch.setenv("HF_ENDPOINT", url)
    (tmp_path / "config.yaml").write_text(json.dumps(config))
    db = tmp_path / "cli.duckdb"
    dry = ("--db", db, "backfill", "--hub", repo, "--dry-run", "--format", "csv")
    before = cli(*dry)
    assert before.code == 0 and not db.exists(), before.err
    landed = cli("--db", db, "backfill", "--hub", repo, *landing)
    assert landed.code == 0, landed.err
    after = cli(*dry)
    assert after.code == 0, after.err
    return db, before.out.splitlines(), landed.out, after.out.splitlines()


@contextmanager
def killed_on_landing(monkeypatch: Any, call: int) -> Iterator[None]:
    """``ram.pipeline.backfill.land`` raising ``KeyboardInterrupt`` on its ``call``-th call, as
    a Ctrl-C while that day is being written; the real one again afterwards."""
    from ram.pipeline import backfill as bf

    real, calls = bf.land, []

    def dies(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bf, "land", dies)
    try:
        yield
    finally:
        monkeypatch.setattr(bf, "land", real)


def backfill_twice(hub: Any, cfg: Any, db: Path, repo: str) -> Any:
    """``ram backfill --hub repo`` from the test Hub into ``db``, then again with the Hub's
    counters reset: the second run must change nothing and fetch no byte of a file.  Returns
    the second run's result, the Hub's counters then being the second run's."""
    from ram.pipeline import hub_backfill as hb

    hb.backfill_hub(cfg, db, repo, endpoint=hub.url, token=False)
    before = observations(db)
    hub.reset_counts()
    again = hb.backfill_hub(cfg, db, repo, endpoint=hub.url, token=False)
    assert hub.bytes_sent == 0 and observations(db) == before
    return again
