"""Read a long-format archive from a Hub dataset: monthly files of one row per model per day,
and the dataset's file of each model's latest metadata for the static fields.

``modelpulse/model-pulse-data`` (Apache-2.0) is built this way, as its build code and dataset
card state (github.com/tardellirs/modelpulse: ``pipeline/build.py``, ``pipeline/daily.py``,
``dataset_README.md``): ``series/<YYYY-MM>.parquet`` holds ``id, day, dl30, dl_all, likes``
sorted by ``id`` then ``day`` in row groups of 200,000 rows with statistics, rewritten by a
daily commit ("Daily update <day>"); ``models.parquet`` at the root holds one row per model
(``id``, ``author``, ``pipeline_tag``, ``library_name``, ``created_at``, ``params``, ``license``,
...), sorted by ``id``.  The date of a row is its ``day`` column; the path only says which
months a file can hold.

Everything goes through ``huggingface_hub`` (``collectors.hub_archive``): the folder is listed
with ``list_repo_tree`` at one pinned commit, each file resolved once, and read by range.  A
month costs its footer, its ``id`` column, and the day and count columns of only the row groups
that hold a kept model.  Fetch only: records and Arrow tables, never the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from collectors import hub_archive as ha
from ram.errors import BadPanel

# The Hub reported no all-time count before this day (hub-stats has no downloadsAllTime column
# before it; model-pulse's card: "dl_all only exists from 2025-02-27"): a value there is no
# observation of the Hub, so it is stored as unknown.
ALL_TIME_SINCE = date(2025, 2, 26)
_MONTH = re.compile(r"(?:^|/)(\d{4})-(\d{2})\.parquet$")


@dataclass(frozen=True)
class SeriesLayout:
    """Where a long-format archive keeps its files and what its columns are called."""

    folder: str = "series"
    metadata: str = "models.parquet"
    id: str = "id"
    day: str = "day"
    downloads_30d: str = "dl30"
    downloads_all_time: str = "dl_all"
    likes: str = "likes"
    # metadata column -> the hub-stats column the archive policy reads it as
    static: Mapping[str, str] = field(
        default_factory=lambda: {
            "author": "author",
            "created_at": "createdAt",
            "pipeline_tag": "pipeline_tag",
            "library_name": "library_name",
            "gated": "gated",
        }
    )
    params: str = "params"  # total parameters, read as safetensors.total
    license: str = "license"  # read as the hub-stats tag license:<id>


SERIES_LAYOUTS: Mapping[str, SeriesLayout] = {"modelpulse/model-pulse-data": SeriesLayout()}


@dataclass(frozen=True)
class MonthFile:
    """One monthly file of the folder: its path, the month its name gives, its size."""

    path: str
    month: date  # the first day of the month


def list_months(
    api: Any,
    repo: str,
    layout: SeriesLayout,
    revision: str,
    since: date | None,
    until: date | None,
    traffic: ha.Traffic,
) -> list[MonthFile]:
    """The folder's ``YYYY-MM.parquet`` files at ``revision`` whose month meets
    ``since``..``until``, oldest first (one tree request per 1,000 entries)."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        entries = ha.retrying(
            lambda: list(api.list_repo_tree(repo, path_in_repo=layout.folder,
                                            repo_type="dataset", revision=revision)),
            f"listing {repo}/{layout.folder}", traffic, "tree",
        )  # fmt: skip
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise BadPanel(
            f"no dataset {repo} on the Hub (or it is private: set HF_TOKEN); check the name"
        ) from None
    except EntryNotFoundError:
        raise BadPanel(f"{repo} has no {layout.folder}/ folder of monthly files") from None
    first = since.replace(day=1) if since else None
    out = []
    for entry in entries:
        m = _MONTH.search(getattr(entry, "path", ""))
        if m is None or not hasattr(entry, "size"):  # a folder, or another file
            continue
        month = date(int(m.group(1)), int(m.group(2)), 1)
        if (first and month < first) or (until and month > until):
            continue
        out.append(MonthFile(entry.path, month))
    return sorted(out, key=lambda f: f.month)


def keep_mask(ids: pa.ChunkedArray | pa.Array, tracked_ids: frozenset[str],
              tracked_orgs: frozenset[str]) -> pa.ChunkedArray | pa.Array:  # fmt: skip
    """Which ids a policy may keep: tracked ids and repos of tracked orgs, case-insensitively."""
    lower = pc.utf8_lower(ids)
    org = pc.list_element(pc.split_pattern(lower, "/"), 0)
    keep = pc.or_(
        pc.is_in(lower, pa.array(sorted(i.lower() for i in tracked_ids), pa.string())),
        pc.and_(
            pc.match_substring(lower, "/"),
            pc.is_in(org, pa.array(sorted(o.lower() for o in tracked_orgs), pa.string())),
        ),
    )
    return pc.fill_null(keep, False)


@dataclass(frozen=True)
class Month:
    """What a month file holds for the kept models: their rows (``id, day`` and the counts),
    and how many rows each day has in the row groups read (to judge a truncated day)."""

    rows: pa.Table
    rows_per_day: dict[date, int]
    row_groups: int
    row_groups_read: int


def read_month(
    at: ha.Located,
    source: ha.RangeFile,
    footer: pq.FileMetaData,
    layout: SeriesLayout,
    tracked_ids: frozenset[str],
    tracked_orgs: frozenset[str],
) -> Month:
    """The kept models' rows of one month file whose ``footer`` was read: the ``id`` column
    of the row groups whose id statistics can hold a kept id (``candidate_groups``), then the
    day and counts of the row groups that do hold one."""
    try:
        parquet = pq.ParquetFile(source, metadata=footer, pre_buffer=True)
        names = parquet.schema_arrow.names
        need = (layout.id, layout.day)
        missing = [c for c in need if c not in names]
        if missing or (
            layout.downloads_30d not in names and layout.downloads_all_time not in names
        ):
            raise BadPanel(f"{at.what}: no {', '.join(missing) or 'download'} column; "
                           f"the file has {', '.join(names)}")  # fmt: skip
        maybe = candidate_groups(footer, names.index(layout.id), tracked_ids, tracked_orgs)
        ids = parquet.read_row_groups(maybe, columns=[layout.id]).column(layout.id)
        mask = keep_mask(ids, tracked_ids, tracked_orgs)
        ends, groups, start = [], [], 0
        for g in maybe:
            n = footer.row_group(g).num_rows
            if n and pc.any(mask.slice(start, n)).as_py():
                groups.append(g)
                ends.append((start, n))
            start += n
        counts = [c for c in (layout.day, layout.downloads_30d, layout.downloads_all_time,
                              layout.likes) if c in names]  # fmt: skip
        part = parquet.read_row_groups(groups, columns=counts) if groups else None
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadPanel(f"{at.what}: not a readable Parquet file ({ha.first_line(exc)})") from None
    if part is None:
        empty = pa.table(
            {layout.id: pa.array([], pa.string()), layout.day: pa.array([], pa.date32())}
        )
        return Month(empty, {}, footer.num_row_groups, 0)
    sel_ids = pa.concat_arrays([c for s, n in ends for c in ids.slice(s, n).chunks])
    sel_mask = pa.concat_arrays([c for s, n in ends for c in mask.slice(s, n).chunks])
    days = part.column(layout.day)
    if not (pa.types.is_date(days.type) or pa.types.is_timestamp(days.type)):
        raise BadPanel(f"{at.what}: column {layout.day!r} is {days.type}, expected a date")
    days = pc.cast(days, pa.date32()) if not pa.types.is_date32(days.type) else days
    per_day = pc.value_counts(days)
    pairs = zip(per_day.field("values"), per_day.field("counts"), strict=True)
    rows_per_day = {d.as_py(): n.as_py() for d, n in pairs}
    rows_per_day.pop(None, None)
    table = part.set_column(part.column_names.index(layout.day), layout.day, days)
    table = table.append_column(layout.id, sel_ids).filter(sel_mask)
    return Month(table, rows_per_day, footer.num_row_groups, len(groups))


def read_static(
    at: ha.Located,
    source: ha.RangeFile,
    footer: pq.FileMetaData,
    layout: SeriesLayout,
    ids: Sequence[str],
) -> pa.Table:
    """The metadata file's static fields for ``ids`` (exact ids), in hub-stats column names
    (``id``, ``createdAt``, ``safetensors.total``, ``tags`` with ``license:<id>``, ...): only
    the row groups whose ``id`` statistics can hold one of them are read."""
    wanted = sorted(set(ids))
    try:
        parquet = pq.ParquetFile(source, metadata=footer, pre_buffer=True)
        names = parquet.schema_arrow.names
        if layout.id not in names:
            raise BadPanel(f"{at.what}: no {layout.id!r} column")
        columns = [layout.id, *[c for c in (*layout.static, layout.params, layout.license)
                                if c in names]]  # fmt: skip
        groups = _groups_holding(footer, names.index(layout.id), wanted)
        table = parquet.read_row_groups(groups, columns=columns) if groups else None
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadPanel(f"{at.what}: not a readable Parquet file ({ha.first_line(exc)})") from None
    if table is None:
        table = pa.table({layout.id: pa.array([], pa.string())})
    table = table.filter(pc.is_in(table.column(layout.id), pa.array(wanted, pa.string())))
    out = {"id": table.column(layout.id)}
    for src, dst in layout.static.items():
        if src in table.column_names:
            out[dst] = table.column(src)
    if layout.params in table.column_names:
        total = pc.cast(table.column(layout.params), pa.int64(), safe=False)
        out["safetensors"] = pc.make_struct(total, field_names=["total"])
    if layout.license in table.column_names:
        lic = pc.cast(table.column(layout.license), pa.string())
        tags = [[f"license:{v}"] if v else [] for v in lic.to_pylist()]
        out["tags"] = pa.array(tags, pa.list_(pa.string()))
    return pa.table(out)


def _bounds(footer: pq.FileMetaData, group: int, column: int) -> tuple[str, str] | None:
    """The min and max of a text column in one row group, from its statistics (None without)."""
    stats = footer.row_group(group).column(column).statistics
    if stats is None or not stats.has_min_max:
        return None
    lo, hi = stats.min, stats.max
    return (lo.decode() if isinstance(lo, bytes) else str(lo),
            hi.decode() if isinstance(hi, bytes) else str(hi))  # fmt: skip


def candidate_groups(
    footer: pq.FileMetaData,
    column: int,
    tracked_ids: frozenset[str],
    tracked_orgs: frozenset[str],
    reach: int = 6,
) -> list[int]:
    """Row groups whose id statistics can hold a tracked id or a tracked org's repo, matched
    case-insensitively as ``keep_mask`` matches: an id that lowercases to a prefix ``p`` starts
    with one of ``p``'s upper/lower-case spellings, so a group can hold one only if its
    ``[min, max]`` meets a spelling (of the first ``reach`` characters) or starts with one.
    Sound for any statistics that bound the values; a group without them is a candidate."""
    import itertools

    def spellings(prefix: str) -> list[str]:
        head = prefix[:reach]
        cut = next((i for i, c in enumerate(head) if not c.isascii()), len(head))
        options = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in head[:cut]]
        return ["".join(p) for p in itertools.product(*options)]

    starts = sorted({v for p in (*(i.lower() for i in tracked_ids),
                                 *(f"{o.lower()}/" for o in tracked_orgs))
                     for v in spellings(p) if v})  # fmt: skip
    known = set(starts)

    def starts_with_one(lo: str) -> bool:
        return any(lo[:j] in known for j in range(1, reach + 1))

    # a spelling within [lo, hi], or lo itself starting with one
    return _groups_holding(footer, column, starts, starts_with_one)


def _groups_holding(
    footer: pq.FileMetaData,
    column: int,
    wanted: Sequence[str],
    also: Callable[[str], bool] | None = None,
) -> list[int]:
    """Row groups whose min/max statistics of ``column`` can hold one of the sorted ``wanted``
    or whose min satisfies ``also`` (every group without statistics)."""
    import bisect

    out = []
    for g in range(footer.num_row_groups):
        bounds = _bounds(footer, g, column)
        if bounds is None:
            out.append(g)
            continue
        lo, hi = bounds
        i = bisect.bisect_left(wanted, lo)
        if (i < len(wanted) and wanted[i] <= hi) or (also is not None and also(lo)):
            out.append(g)
    return out


def day_table(month: Month, day: date, layout: SeriesLayout, static: pa.Table) -> pa.Table:
    """One day of a month's kept rows as a hub-stats-shaped table (``id``, ``downloads``,
    ``downloadsAllTime``, ``likes``) with the static fields joined on by id."""
    rows = month.rows.filter(pc.equal(month.rows.column(layout.day), pa.scalar(day, pa.date32())))
    n = rows.num_rows

    def count(name: str) -> pa.Array | pa.ChunkedArray:
        if name not in rows.column_names:
            return pa.nulls(n, pa.int64())
        return pc.cast(rows.column(name), pa.int64())

    all_time = count(layout.downloads_all_time)
    if day < ALL_TIME_SINCE:
        all_time = pa.nulls(n, pa.int64())
    table = pa.table({"id": rows.column(layout.id), "downloads": count(layout.downloads_30d),
                      "downloadsAllTime": all_time, "likes": count(layout.likes)})  # fmt: skip
    return ha.with_static(table, static)


__all__ = [
    "ALL_TIME_SINCE",
    "SERIES_LAYOUTS",
    "Month",
    "MonthFile",
    "SeriesLayout",
    "candidate_groups",
    "day_table",
    "keep_mask",
    "list_months",
    "read_month",
    "read_static",
]
