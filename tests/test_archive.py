"""collectors.archive: dated hub-stats Parquet archives read through DuckDB, tracked models only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from collectors.archive import (
    OUTPUT_SCHEMA,
    ArchiveFile,
    ArchiveFilter,
    count_rows,
    discover,
    heads_pattern,
    qualify,
    read_archive,
)
from ram.config import parse_config
from ram.errors import BadPanel, ConfigError
from tests.archive_fixtures import (
    ORGS,
    REJECT,
    SCHEMA,
    TRACKED,
    hub_stats_layout,
    model,
    snapshot_rows,
    weekly_layout,
    write_archive,
)

DAYS = [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)]
POLICY = ArchiveFilter(
    tracked_ids=TRACKED, tracked_orgs=ORGS, reject_patterns=REJECT, min_downloads=100
)
KEPT = [
    "Qwen/Qwen3-14B",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen3-8B-GGUF",
    "meta-llama/Llama-3.1-8B-Instruct",
]


def kept(files: list[ArchiveFile], flt: ArchiveFilter) -> list[pa.Table]:
    """Each file's kept rows after the light qualify pass, as a backfill reads them."""
    qualified = qualify(files, flt).flt
    return [read_archive(f, qualified) for f in files]


def one_file(tmp_path: Path, rows: list[dict[str, object]], **kw: object) -> ArchiveFile:
    path = write_archive(tmp_path / "hub-stats" / "2025-03-01" / "models.parquet", rows, **kw)  # type: ignore[arg-type]
    return ArchiveFile(str(path), dt.date(2025, 3, 1), "hub-stats")


# discover ------------------------------------------------------------------------------------


def test_discover_hub_stats_layout_dates_and_name(tmp_path: Path) -> None:
    root = hub_stats_layout(tmp_path, list(reversed(DAYS)))
    files = discover([str(root)])
    assert [f.snapshot_date for f in files] == DAYS
    assert [f.path for f in files] == [str(root / d.isoformat() / "models.parquet") for d in DAYS]
    assert {f.name for f in files} == {"hub-stats"}
    assert files[0].source == "archive:hub-stats"


def test_discover_weekly_layout_names_the_archive_not_models(tmp_path: Path) -> None:
    root = weekly_layout(tmp_path, DAYS)
    files = discover([str(root.parent)])
    assert [(f.snapshot_date, f.name) for f in files] == [(d, "hub_weekly_snapshots") for d in DAYS]
    # the same file given directly gets the same name, so re-runs land on the same source
    assert discover([files[0].path]) == [files[0]]


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("snaps/20250304.parquet", dt.date(2025, 3, 4)),
        ("snaps/date=2025-03-05/part-0.parquet", dt.date(2025, 3, 5)),
        ("snaps/models_2025-03-06.parquet", dt.date(2025, 3, 6)),
        ("2024-12-31/hub/2025-03-07/models.parquet", dt.date(2025, 3, 7)),  # nearest the file wins
    ],
)
def test_discover_date_forms(tmp_path: Path, relative: str, expected: dt.date) -> None:
    path = write_archive(tmp_path / relative, snapshot_rows())
    assert [f.snapshot_date for f in discover([str(path)])] == [expected]


def test_discover_without_a_date_needs_date_option(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "dump" / "models.parquet", snapshot_rows())
    with pytest.raises(BadPanel, match=r"models\.parquet: no YYYY-MM-DD in the path; pass --date"):
        discover([str(path)])
    files = discover([str(path)], date=dt.date(2025, 2, 26), name="hub-stats")
    assert files == [ArchiveFile(str(path), dt.date(2025, 2, 26), "hub-stats")]


def test_discover_refuses_a_date_that_contradicts_the_path(tmp_path: Path) -> None:
    root = hub_stats_layout(tmp_path, DAYS[:1])
    with pytest.raises(BadPanel, match="the path says 2025-03-01, --date says 2025-03-09"):
        discover([str(root)], date=dt.date(2025, 3, 9))
    assert len(discover([str(root)], date=DAYS[0])) == 1


def test_discover_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(BadPanel, match="nope: no such file or folder"):
        discover([str(tmp_path / "nope")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadPanel, match=r"no \.parquet files in this folder"):
        discover([str(tmp_path / "empty")])
    with pytest.raises(BadPanel, match="archive name"):
        discover([str(tmp_path)], name="bad name'; --")
    assert BadPanel("x").exit_code == 2


def test_discover_skips_hidden_files_and_deduplicates(tmp_path: Path) -> None:
    root = hub_stats_layout(tmp_path, DAYS[:1])
    (root / ".cache").mkdir()
    (root / ".cache" / "2025-03-01.parquet").write_bytes(b"partial download")
    files = discover([str(root), str(root / "2025-03-01" / "models.parquet")])
    assert [f.path for f in files] == [str(root / "2025-03-01" / "models.parquet")]


def test_discover_reads_the_huggingface_cache_through_its_symlinks(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "datasets--hfmlsoc--hub_weekly_snapshots"
    blob = write_archive(repo / "blobs" / "9831c306", snapshot_rows())
    snapshot = repo / "snapshots" / ("a" * 40) / "models"
    for day in DAYS[:2]:
        (snapshot / day.isoformat()).mkdir(parents=True)
        (snapshot / day.isoformat() / "models.parquet").symlink_to(blob)
    files = discover([str(repo / "snapshots")])
    assert [(f.snapshot_date, f.name) for f in files] == [
        (DAYS[0], "hub_weekly_snapshots"),
        (DAYS[1], "hub_weekly_snapshots"),
    ]
    assert [table.num_rows for table in kept(files, POLICY)] == [4, 4]


def test_discover_keeps_urls_and_names_them_by_dataset() -> None:
    urls = [
        "https://huggingface.co/datasets/cfahlgren1/hub-stats/resolve/0a1b/models.parquet",
        "hf://datasets/hfmlsoc/hub_weekly_snapshots@main/models/2025-03-03/models.parquet",
    ]
    with pytest.raises(BadPanel, match="no YYYY-MM-DD in the path"):
        discover(urls[:1])
    dated = discover(urls[1:])
    assert dated == [ArchiveFile(urls[1], dt.date(2025, 3, 3), "hub_weekly_snapshots")]
    undated = discover(urls[:1], date=dt.date(2025, 2, 26))
    assert undated == [ArchiveFile(urls[0], dt.date(2025, 2, 26), "hub-stats")]


# read_archive --------------------------------------------------------------------------------


def test_read_keeps_tracked_and_discovered_rows_exactly(tmp_path: Path) -> None:
    file = one_file(tmp_path, snapshot_rows())
    table = read_archive(file, POLICY)
    assert table.schema == OUTPUT_SCHEMA
    assert table.column("model_id").to_pylist() == KEPT
    rows = {r["model_id"]: r for r in table.to_pylist()}
    assert [m for m, r in rows.items() if r["discovered"]] == ["Qwen/Qwen3-14B"]
    assert rows["Qwen/Qwen3-8B"] == {
        "model_id": "Qwen/Qwen3-8B",
        "hub_id": "id-qwen-qwen3-8b",
        "author": "Qwen",
        "created_at": dt.datetime(2025, 1, 10, 12, 30, tzinfo=dt.UTC),
        "obs_date": dt.date(2025, 3, 1),
        "downloads_30d": 1000,
        "downloads_all_time": 5000,
        "likes": 3,
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "safetensors_total": 8_000_000_000,
        "license": "apache-2.0",
        "gated": "False",
        "discovered": False,
    }
    assert rows["meta-llama/Llama-3.1-8B-Instruct"]["license"] is None
    assert rows["Qwen/Qwen3-8B-GGUF"]["safetensors_total"] is None
    assert rows["Qwen/Qwen3-14B"]["safetensors_total"] == 14_800_000_000


def test_tracked_ids_match_case_insensitively_and_keep_catalog_spelling(tmp_path: Path) -> None:
    file = one_file(tmp_path, snapshot_rows())
    flt = ArchiveFilter(tracked_ids=frozenset({"qwen/qwen3-8b"}), allowed_pipeline_tags=())
    assert read_archive(file, flt).column("model_id").to_pylist() == ["qwen/qwen3-8b"]


def test_ids_match_once_whatever_the_spellings_of_their_org(tmp_path: Path) -> None:
    """Tracked ids and orgs in several spellings of one org, and an id without an org: each
    row of the file comes back once (the first segments joined on are distinct keys)."""
    file = one_file(tmp_path, snapshot_rows())
    flt = ArchiveFilter(
        tracked_ids=frozenset({"qwen/qwen3-8b", "QWEN/Qwen3-14B", "GPT2"}),
        tracked_orgs=frozenset({"Qwen", "qwen", "META-LLAMA"}),
        allowed_pipeline_tags=("text-generation",),
    )
    ids = read_archive(file, flt).column("model_id").to_pylist()
    assert ids == sorted(set(ids))
    assert {"qwen/qwen3-8b", "QWEN/Qwen3-14B", "GPT2", "Qwen/Qwen3-8B-GGUF",
            "meta-llama/Llama-3.1-8B-Instruct"} <= set(ids)  # fmt: skip
    assert "someone/Qwen3-8B-finetune" not in ids and "TheBloke/Llama-3.1-8B-GGUF" not in ids


def test_policy_knobs(tmp_path: Path) -> None:
    file = one_file(tmp_path, snapshot_rows())
    no_min = ArchiveFilter(tracked_orgs=ORGS, reject_patterns=REJECT)
    assert read_archive(file, no_min).column("model_id").to_pylist() == [
        "Qwen/Qwen3-14B",
        "Qwen/Qwen3-8B",
        "Qwen/Qwen3-Tiny-Test",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    ranking = ArchiveFilter(
        tracked_orgs=frozenset({"qwen"}), allowed_pipeline_tags=("text-ranking",)
    )
    assert read_archive(file, ranking).column("model_id").to_pylist() == ["Qwen/Qwen3-Reranker-4B"]
    excluded = ArchiveFilter(
        tracked_ids=TRACKED,
        exclude_ids=frozenset({"QWEN/qwen3-8b", "Qwen/Qwen3-14B"}),
        tracked_orgs=ORGS,
        reject_patterns=REJECT,
        min_downloads=100,
    )
    assert read_archive(file, excluded).column("model_id").to_pylist() == [
        "Qwen/Qwen3-8B-GGUF",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    assert read_archive(file, ArchiveFilter()).num_rows == 0


def test_old_repos_of_a_covered_org_are_dropped_before_any_column_is_computed(
    tmp_path: Path,
) -> None:
    """A curated list that covers an org as of a date left its older repos out on purpose:
    discoveries created by then (or of unknown age) are dropped in SQL; a tracked id never is,
    and an org the list does not cover (exact spelling, as ram.catalog compares) is unaffected."""
    day = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    rows = [
        model("Qwen/Qwen3-8B", 1000, 5000, created=day),  # tracked
        model("Qwen/Old-7B", 900, 900, created=day),  # before the date: dropped
        model("Qwen/Edge-7B", 900, 900, created=day + dt.timedelta(days=5)),  # on it: dropped
        model("Qwen/New-7B", 900, 900, created=day + dt.timedelta(days=6)),  # after: kept
        model("meta-llama/Old-8B", 900, 900, created=day),  # org not covered: kept
    ]
    file = one_file(tmp_path, rows)
    flt = ArchiveFilter(
        tracked_ids=frozenset({"Qwen/Qwen3-8B"}),
        tracked_orgs=ORGS,
        covered_orgs=frozenset({"Qwen"}),
        covered_until=dt.date(2025, 1, 15),
    )
    assert read_archive(file, flt).column("model_id").to_pylist() == [
        "Qwen/New-7B",
        "Qwen/Qwen3-8B",
        "meta-llama/Old-8B",
    ]
    # Without a date nothing is covered.
    unset = ArchiveFilter(tracked_orgs=ORGS, covered_orgs=frozenset({"Qwen"}))
    assert read_archive(file, unset).num_rows == 5


def test_counts_and_qualify_progress(tmp_path: Path) -> None:
    files = discover([str(hub_stats_layout(tmp_path, DAYS))])
    seen: list[tuple[int, dt.date]] = []
    q = qualify(files, POLICY, on_file=lambda i, f: seen.append((i, f.snapshot_date)))
    assert seen == [(i, d) for i, d in enumerate(DAYS, start=1)]
    assert q.refused == {}
    tables = kept(files, POLICY)
    assert [
        (count_rows(f), t.num_rows, len(pc.unique(t["model_id"])), pc.sum(t["discovered"]).as_py())
        for f, t in zip(files, tables, strict=True)
    ] == [(13, 4, 4, 1)] * 3


def test_a_new_release_keeps_its_first_days_under_the_threshold(tmp_path: Path) -> None:
    base = tmp_path / "hub-stats"
    for day, downloads in ((DAYS[0], 40), (DAYS[1], 99), (DAYS[2], 600)):
        rows = [*snapshot_rows(), model("Qwen/Qwen3-32B", downloads, downloads)]
        write_archive(base / day.isoformat() / "models.parquet", rows)
    files = discover([str(base)])
    q = qualify(files, POLICY)
    assert q.flt.qualified_ids == {"Qwen/Qwen3-14B", "Qwen/Qwen3-32B"}
    assert q.best == {"Qwen/Qwen3-14B": 500, "Qwen/Qwen3-32B": 600}
    rows = [
        t.filter(pc.equal(t["model_id"], "Qwen/Qwen3-32B")).to_pylist() for t in kept(files, POLICY)
    ]
    assert [(r[0]["obs_date"], r[0]["downloads_30d"], r[0]["discovered"]) for r in rows] == [
        (DAYS[0], 40, True),
        (DAYS[1], 99, True),
        (DAYS[2], 600, True),
    ]
    assert [table.num_rows for table in kept(files, POLICY)] == [5, 5, 5]
    # one file alone has no later snapshot to qualify the release
    assert [table.num_rows for table in kept(files[:1], POLICY)] == [4]


def test_rereading_gives_identical_tables(tmp_path: Path) -> None:
    files = discover([str(weekly_layout(tmp_path, DAYS))])
    first = kept(files, POLICY)
    second = kept(files, POLICY)
    assert all(a.equals(b) for a, b in zip(first, second, strict=True))
    assert [t.column("downloads_30d").to_pylist()[1] for t in first] == [1000, 2000, 3000]


def test_old_era_without_optional_columns_reads_nulls(tmp_path: Path) -> None:
    drop = ["_id", "downloadsAllTime", "gated", "safetensors", "tags", "author", "createdAt"]
    file = one_file(tmp_path, snapshot_rows(), drop=drop)
    table = read_archive(file, POLICY)
    assert table.column("model_id").to_pylist() == KEPT
    for name in ("hub_id", "downloads_all_time", "gated", "safetensors_total", "license"):
        assert table.column(name).null_count == 4, name
    assert table.column("created_at").null_count == 4
    assert table.column("author").to_pylist() == ["Qwen", "Qwen", "Qwen", "meta-llama"]
    assert table.column("downloads_30d").to_pylist() == [500, 1000, 300, 2000]


def test_json_text_safetensors_and_string_timestamps(tmp_path: Path) -> None:
    schema = SCHEMA.set(SCHEMA.get_field_index("safetensors"), pa.field("safetensors", pa.string()))
    schema = schema.set(schema.get_field_index("createdAt"), pa.field("createdAt", pa.string()))
    rows = [
        model("Qwen/Qwen3-8B", 10)
        | {"safetensors": '{"total": 8190735360}', "createdAt": "2025-04-29T03:48:00.000Z"},
        model("deepseek-ai/DeepSeek-V3", 20)
        | {"safetensors": "{'total': 5}", "createdAt": "2024-12-25 12:00:00"},
    ]
    file = one_file(tmp_path, rows, schema=schema)
    table = read_archive(file, POLICY)
    assert table.column("safetensors_total").to_pylist() == [8190735360, None]
    assert table.column("created_at").to_pylist() == [
        dt.datetime(2025, 4, 29, 3, 48, tzinfo=dt.UTC),
        dt.datetime(2024, 12, 25, 12, 0, tzinfo=dt.UTC),
    ]


def test_naive_timestamps_are_utc(tmp_path: Path) -> None:
    schema = SCHEMA.set(
        SCHEMA.get_field_index("createdAt"), pa.field("createdAt", pa.timestamp("ns"))
    )
    rows = [model("Qwen/Qwen3-8B", 10) | {"createdAt": dt.datetime(2025, 4, 29, 3, 48)}]
    table = read_archive(one_file(tmp_path, rows, schema=schema), POLICY)
    assert table.column("created_at").to_pylist() == [
        dt.datetime(2025, 4, 29, 3, 48, tzinfo=dt.UTC)
    ]


def test_column_mapping_reads_another_layout(tmp_path: Path) -> None:
    path = tmp_path / "panel" / "2025-03-01.parquet"
    path.parent.mkdir()
    pq.write_table(
        pa.table(
            {
                "repo": ["Qwen/Qwen3-8B", "x/y"],
                "dl_month": [11, 12],
                "meta": ['{"params": {"total": 42}}', None],
            }
        ),
        path,
    )
    columns = {
        "model_id": "repo",
        "downloads_30d": "dl_month",
        "safetensors_total": "meta.params.total",
    }
    table = read_archive(discover([str(path)])[0], POLICY, columns)
    assert table.select(
        ["model_id", "downloads_30d", "safetensors_total", "likes"]
    ).to_pylist() == [
        {"model_id": "Qwen/Qwen3-8B", "downloads_30d": 11, "safetensors_total": 42, "likes": None}
    ]
    with pytest.raises(ConfigError, match=r"archive\.columns: unknown column 'repo_id'"):
        parse_config({"archive": {"columns": {"repo_id": "repo"}}})
    with pytest.raises(ConfigError, match=r"archive\.columns: model_id: 'meta\.a-b'"):
        parse_config({"archive": {"columns": {"model_id": "meta.a-b"}}})
    with pytest.raises(ValueError, match="unknown column 'repo_id'"):
        read_archive(discover([str(path)])[0], POLICY, {"repo_id": "repo"})


# bad files -----------------------------------------------------------------------------------


def test_not_parquet_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hub-stats" / "2025-03-01" / "models.parquet"
    path.parent.mkdir(parents=True)
    path.write_text("id,downloads\nQwen/Qwen3-8B,5\n")
    file = discover([str(path)])[0]
    with pytest.raises(BadPanel, match=r"models\.parquet: not a readable Parquet archive \("):
        read_archive(file, POLICY)


def test_truncated_parquet_is_refused(tmp_path: Path) -> None:
    file = one_file(tmp_path, snapshot_rows())
    data = Path(file.path).read_bytes()
    Path(file.path).write_bytes(data[: len(data) // 2] + data[-8:])
    with pytest.raises(BadPanel, match="not a readable Parquet archive"):
        read_archive(file, POLICY)


def test_missing_required_columns(tmp_path: Path) -> None:
    file = one_file(tmp_path, snapshot_rows(), drop=["id"])
    with pytest.raises(BadPanel, match=r"models\.parquet: no model id column 'id'"):
        read_archive(file, POLICY)
    file = one_file(tmp_path, snapshot_rows(), drop=["downloads", "downloadsAllTime"])
    with pytest.raises(BadPanel, match=r"no download column \('downloads' or 'downloadsAllTime'\)"):
        read_archive(file, POLICY)


def test_wrong_column_type_is_refused_with_the_remedy(tmp_path: Path) -> None:
    schema = SCHEMA.set(SCHEMA.get_field_index("downloads"), pa.field("downloads", pa.string()))
    rows = [model("Qwen/Qwen3-8B", None) | {"downloads": "12"}]
    with pytest.raises(
        BadPanel, match=r"column 'downloads' \(downloads_30d\) is string, expected an integer"
    ):
        read_archive(one_file(tmp_path, rows, schema=schema), POLICY)


def test_negative_counts_are_refused(tmp_path: Path) -> None:
    rows = [*snapshot_rows(), model("deepseek-ai/DeepSeek-V3", 10, -5)]
    with pytest.raises(
        BadPanel,
        match=r"models.parquet row 14: column 'downloadsAllTime' \(downloads_all_time\) holds -5 "
        r"for deepseek-ai/DeepSeek-V3, not a whole number from 0 to 2\^53 - 1; nothing imported",
    ):
        read_archive(one_file(tmp_path, rows), POLICY)


def _typed(name: str, typ: pa.DataType) -> pa.Schema:
    return SCHEMA.set(SCHEMA.get_field_index(name), pa.field(name, typ))


# What ``ram import panel`` refuses, the backfill refuses too: never rounded, clamped or dropped.
NOT_COUNTS = {
    "3.7 rounded to 4": ("downloads", pa.float64(), 3.7, "3.7"),
    "-0.4 made a zero": ("downloads", pa.float64(), -0.4, "-0.4"),
    "1e19 beyond int64": ("downloadsAllTime", pa.float64(), 1e19, "1e+19"),
    "uint64 max": ("downloadsAllTime", pa.uint64(), 2**64 - 1, str(2**64 - 1)),
    "2^63 as uint64": ("likes", pa.uint64(), 2**63, str(2**63)),
    "2^53 exactly": ("downloads", pa.int64(), 2**53, str(2**53)),
    "NaN": ("downloads", pa.float64(), float("nan"), "nan"),
    "infinity": ("downloadsAllTime", pa.float64(), float("inf"), "inf"),
    "a decimal 3.50": ("downloads", pa.decimal128(10, 2), Decimal("3.50"), "3.50"),
}


@pytest.mark.parametrize("case", NOT_COUNTS.values(), ids=NOT_COUNTS.keys())
def test_a_count_that_is_no_count_refuses_the_file_naming_column_and_row(
    tmp_path: Path, case: tuple[str, pa.DataType, object, str]
) -> None:
    column, typ, value, shown = case
    rows = snapshot_rows()
    rows[1] = rows[1] | {column: value}  # meta-llama/Llama-3.1-8B-Instruct, tracked, row 2
    rows[0] = rows[0] | {column: value}  # Qwen/Qwen3-8B, row 1: the first bad row is named
    with pytest.raises(BadPanel) as err:
        read_archive(one_file(tmp_path, rows, schema=_typed(column, typ)), POLICY)
    assert str(err.value).endswith(
        f"models.parquet row 1: column {column!r} ({NAMES[column]}) holds {shown} for "
        "Qwen/Qwen3-8B, not a whole number from 0 to 2^53 - 1; nothing imported"
    )


NAMES = {"downloads": "downloads_30d", "downloadsAllTime": "downloads_all_time", "likes": "likes"}


def test_whole_floats_and_unsigned_counts_are_read_exactly(tmp_path: Path) -> None:
    schema = _typed("downloads", pa.float64())
    schema = schema.set(schema.get_field_index("likes"), pa.field("likes", pa.uint64()))
    rows = [r | {"downloads": float(r["downloads"])} for r in snapshot_rows()]
    rows[0] |= {"downloads": float(2**53 - 1), "likes": 2**53 - 1}
    table = read_archive(one_file(tmp_path, rows, schema=schema), POLICY)
    got = dict(zip(table["model_id"].to_pylist(), table["downloads_30d"].to_pylist(), strict=True))
    assert got["Qwen/Qwen3-8B"] == 2**53 - 1
    assert got["meta-llama/Llama-3.1-8B-Instruct"] == 2000
    assert table["likes"].to_pylist()[table["model_id"].to_pylist().index("Qwen/Qwen3-8B")] == (
        2**53 - 1
    )


def test_a_bad_count_in_a_row_the_backfill_skips_does_not_refuse_the_file(tmp_path: Path) -> None:
    rows = snapshot_rows()
    rows[-1] = rows[-1] | {"downloads": 3.7}  # gpt2: no org, never kept
    table = read_archive(one_file(tmp_path, rows, schema=_typed("downloads", pa.float64())), POLICY)
    assert "gpt2" not in table["model_id"].to_pylist()
    assert table.num_rows == 4


def test_a_model_twice_in_one_snapshot_is_refused(tmp_path: Path) -> None:
    rows = [*snapshot_rows(), model("Qwen/Qwen3-8B", 7, 8)]
    with pytest.raises(BadPanel, match="Qwen/Qwen3-8B appears more than once"):
        read_archive(one_file(tmp_path, rows), POLICY)


# hostile input -------------------------------------------------------------------------------


def test_hostile_ids_and_paths_do_not_reach_sql(tmp_path: Path) -> None:
    evil = ["evil'/x'); DROP TABLE t; --", 'evil"/"quoted";', "evil/a\\'b"]
    folder = tmp_path / "it's; [dir]*" / "2025-03-01"
    rows = [model(i, 5, 6) for i in evil] + snapshot_rows()
    path = write_archive(folder / "models.parquet", rows)
    # a sibling folder the unescaped glob "[dir]*" would also match: it must not be read
    write_archive(tmp_path / "it's; d-other" / "2025-03-01" / "models.parquet", rows[:1])
    flt = ArchiveFilter(
        tracked_ids=frozenset({*evil, "Qwen/Qwen3-8B"}), tracked_orgs=frozenset({"evil'"})
    )
    file = ArchiveFile(str(path), dt.date(2025, 3, 1), "hub-stats")
    table = read_archive(file, flt)
    assert sorted(table.column("model_id").to_pylist()) == sorted([*evil, "Qwen/Qwen3-8B"])
    assert count_rows(file) == len(rows)
    assert discover([str(path)])[0].name == "it-s-dir"


def test_the_scan_prefilter_lets_through_every_id_the_exact_org_join_keeps() -> None:
    """``heads_pattern`` plus the byte-length test is a superset of ``lower(split_part(id, '/',
    1)) IN heads`` (what the query then applies exactly), and for ASCII ids it is that join:
    random ids over letters whose case folding differs between ``lower`` and RE2 (Kelvin sign,
    dotted I, long s, sharp s), regex metacharacters in org names, ids with no slash, an empty
    first segment and a leading slash."""
    import random

    import duckdb

    rng = random.Random(20)
    heads = ["qwen", "a.b", "x-y_z", "k+", "is", "ss", "(p)", "é", "i\u0307x", "[a]", "1^2$"]
    alphabet = [*"qwenQWEN.ab-xyz_KkIiSs+()éÉ[]^$12/ ", "\u212a", "\u0130", "\u017f", "ß"]
    ids = {h + tail for h in heads for tail in ("", "/m", "/", "x/m")}
    ids |= {h.upper() + "/m" for h in heads} | {"/qwen", "qwen", "", "//"}
    alike = {"k": "\u212a", "i": "\u0130", "s": "\u017f"}
    for _ in range(3000):
        ids.add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))))
        first = "".join(
            rng.choice([c, c.upper(), alike.get(c, c)]) for c in rng.choice(heads)
        )  # a head in mixed case, now and then a look-alike letter
        ids.add(first + rng.choice(["", "/", "/m", "x/m", "/" + rng.choice(alphabet)]))
    con = duckdb.connect()
    con.register("ids", pa.table({"id": sorted(ids)}))
    con.register("heads", pa.table({"key": heads}))
    rows = con.sql(
        """SELECT id, (regexp_matches(id, $p) OR strlen(id) != length(id)) AS passes,
                  lower(split_part(id, '/', 1)) IN (SELECT key FROM heads) AS joined,
                  strlen(id) = length(id) AS ascii
           FROM ids""",
        params={"p": heads_pattern(heads)},
    ).fetchall()
    assert sum(j for _, _, j, _ in rows) > 400  # the random ids do meet the heads
    assert any(j and not a for _, _, j, a in rows)  # some through a non-ASCII look-alike
    missed = [i for i, passes, joined, _ in rows if joined and not passes]
    assert missed == []
    extra = [i for i, passes, joined, ascii in rows if ascii and passes and not joined]
    assert extra == []
    assert not con.execute("SELECT regexp_matches('qwen/m', $1)", [heads_pattern([])]).fetchone()[0]
