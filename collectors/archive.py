"""Read dated Hub snapshot archives (``hub-stats`` layout Parquet), keeping tracked models only.

Fetch side of ``ram backfill``: an in-memory DuckDB reads each file with column projection and
filters it, so a 1.5 GB archive never becomes a DataFrame.  Results are Arrow tables (compact,
zero-copy into DuckDB for the store); saving them is the caller's job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from collectors.archive_columns import (
    COUNTS,
    DEFAULT_COLUMNS,
    OUTPUT_SCHEMA,
    id_expression,
    merge_columns,
    select_list,
)
from ram import duck
from ram.dates import date_problem
from ram.errors import BadPanel, HubError

__all__ = [
    "DEFAULT_COLUMNS",
    "OUTPUT_SCHEMA",
    "ArchiveFile",
    "ArchiveFilter",
    "Qualified",
    "count_rows",
    "discover",
    "is_remote",
    "qualify",
    "qualifying",
    "read_archive",
    "read_unsettled",
    "require_httpfs",
    "settle",
]

HTTPFS_INSTALL = "python -c \"import duckdb; duckdb.connect().install_extension('httpfs')\""
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_COMPACT = re.compile(r"(?:[A-Za-z_]+=)?(\d{4})(\d{2})(\d{2})")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_GLOB = re.compile(r"([*?\[{}])")
# Path segments that say nothing about which archive a file came from.
_GENERIC = frozenset(
    {"models", "model", "data", "train", "test", "snapshots", "snapshot", "parquet", "raw", "tmp"}
    | {"archive", "archives", "files", "resolve", "main", "blob", "tree", "datasets", "default"}
)


@dataclass(frozen=True)
class ArchiveFile:
    """One Parquet file of an archive: where it is, the day it pictures, the archive's name."""

    path: str
    snapshot_date: date
    name: str

    @property
    def source(self) -> str:
        """The ``observations.source`` its rows are stored under."""
        return f"archive:{self.name}"


@dataclass(frozen=True)
class ArchiveFilter:
    """Which rows to keep: tracked ids always; tracked orgs' repos only if they pass the policy.

    Ids and orgs match case-insensitively, as the Hub does; ``exclude_ids`` beats everything.
    ``reject_patterns`` are Python regexes (the engine config validation and the live collector
    use), searched case-insensitively in the repo id.  ``min_downloads`` is on the 30-day count;
    ``qualified_ids`` passed it in another snapshot and are kept whatever that day's count, so a
    discovered model's curve starts on its release day (``qualify`` fills them).
    """

    tracked_ids: frozenset[str] = frozenset()
    tracked_orgs: frozenset[str] = frozenset()
    reject_patterns: tuple[str, ...] = ()
    allowed_pipeline_tags: tuple[str, ...] = ("text-generation", "image-text-to-text")
    min_downloads: int | None = None
    exclude_ids: frozenset[str] = frozenset()
    qualified_ids: frozenset[str] = frozenset()
    # Orgs (exact spelling) a curated list covers as of ``covered_until``: their repos created
    # by then (or of unknown age) were left out on purpose, so a discovery of one is dropped in
    # SQL before any column is computed for it (ram.catalog.track_decision drops them anyway).
    covered_orgs: frozenset[str] = frozenset()
    covered_until: date | None = None


def is_remote(path: str) -> bool:
    """True for ``https://``, ``hf://``, ``s3://`` ... paths, which DuckDB reads itself."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path) is not None


def discover(
    archives: Sequence[str], date: date | None = None, name: str | None = None
) -> list[ArchiveFile]:
    """Expand archive arguments into dated files, sorted by date then path.

    Folders are searched recursively for ``*.parquet``; URLs are kept as given.  The date is the
    path's ``YYYY-MM-DD`` (or ``YYYYMMDD``) segment nearest the file, else ``date``; a path date
    that contradicts ``date`` is an error rather than a silent relabel.
    """
    if name is not None and not _NAME.match(name):
        raise BadPanel(f"archive name {name!r}: use letters, digits, '.', '_' or '-'")
    found: dict[str, ArchiveFile] = {}
    for arg in archives:
        for path in _expand(arg):
            day = _date_from_path(path)
            if day is None and date is None:
                raise BadPanel(f"{path}: no YYYY-MM-DD in the path; pass --date YYYY-MM-DD")
            if day is not None and date is not None and day != date:
                raise BadPanel(f"{path}: the path says {day}, --date says {date}; drop --date")
            snapshot = day or date
            assert snapshot is not None
            if (problem := date_problem(snapshot)) is not None:
                raise BadPanel(f"{path}: snapshot date {snapshot} {problem}; nothing imported")
            found[path] = ArchiveFile(path, snapshot, name or _name_from_path(path))
    return sorted(found.values(), key=lambda f: (f.snapshot_date, f.path))


def _expand(arg: str) -> list[str]:
    if is_remote(arg):
        return [arg]
    p = Path(arg).expanduser()
    if p.is_file():
        return [os.path.abspath(p)]
    if not p.is_dir():
        raise BadPanel(f"{arg}: no such file or folder")
    files = sorted(
        os.path.abspath(f)
        for f in p.rglob("*.parquet")
        if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
    )
    if not files:
        raise BadPanel(f"{arg}: no .parquet files in this folder")
    return files


def _segments(path: str) -> list[str]:
    """Path segments, nearest the file first (the file name without its extension first)."""
    raw = urlsplit(path).path if is_remote(path) else path
    parts = [unquote(s) for s in re.split(r"[\\/]", raw) if s]
    if parts:
        parts[-1] = parts[-1].split(".", 1)[0] or parts[-1]
    return parts[::-1]


def _date_from_path(path: str) -> date | None:
    segments = _segments(path)
    for seg in segments:
        m = _COMPACT.fullmatch(seg) or _ISO.fullmatch(seg.split("=", 1)[-1])
        if m and (day := _valid_date(*m.groups())):
            return day
    for seg in segments:
        for m in _ISO.finditer(seg):
            if day := _valid_date(*m.groups()):
                return day
    return None


def _valid_date(y: str, m: str, d: str) -> date | None:
    try:
        day = date(int(y), int(m), int(d))
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


def _name_from_path(path: str) -> str:
    if is_remote(path):
        m = re.search(r"(?:^hf://|huggingface\.co/)datasets/[^/]+/([^/@]+)", path)
        if m:
            return _clean_name(unquote(m.group(1)))
    for seg in _segments(path)[1:]:
        if seg.lower() in _GENERIC or _date_from_path(seg) or re.fullmatch(r"[0-9a-f]{40}", seg):
            continue
        # the huggingface_hub cache names a dataset's folder datasets--<owner>--<name>
        return _clean_name(seg.rsplit("--", 1)[-1] if seg.startswith("datasets--") else seg)
    return "archive"


def _clean_name(raw: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-._")
    return cleaned or "archive"


def count_rows(file: ArchiveFile) -> int:
    """Rows in the file, from its Parquet footer."""
    with _connect() as con:
        table = _fetch(con, file, "SELECT count(*) AS n FROM read_parquet($p)", _p(file))
    return int(table.column("n")[0].as_py())


def read_archive(
    file: ArchiveFile, flt: ArchiveFilter, columns: Mapping[str, str] | None = None
) -> pa.Table:
    """The file's rows for kept models as an Arrow table in ``OUTPUT_SCHEMA``, sorted by id.

    All-or-nothing: a malformed file raises ``BadPanel`` naming it and nothing is returned.
    """
    mapping = merge_columns(columns)
    return _finish(file, _select(file, flt, mapping), flt, mapping)


def read_unsettled(
    file: ArchiveFile, flt: ArchiveFilter, columns: Mapping[str, str] | None = None
) -> pa.Table:
    """The file's rows of tracked models and of every candidate release the policy would keep
    once qualified, before ``min_downloads`` and the count checks: the one read of a file in
    a batch, which ``qualifying`` and ``settle`` then finish.  ``BadPanel`` for a file that is
    no readable archive."""
    return _select(file, replace(flt, min_downloads=None), merge_columns(columns))


def qualifying(
    file: ArchiveFile,
    rows: pa.Table,
    flt: ArchiveFilter,
    columns: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """What the qualify pass takes from ``rows`` (``read_unsettled``'s): each discovered repo the
    policy keeps under ``flt`` as it stands, with its 30-day count.  ``BadPanel`` where that
    pass refuses the file: a 30-day or all-time count that is no count in those rows."""
    table = _finish(file, _threshold(rows, flt), flt, merge_columns(columns), _QUALIFY_COUNTS)
    found = table.filter(table["discovered"])
    best: dict[str, int] = {}
    ids, counts = found.column("model_id").to_pylist(), found.column("downloads_30d").to_pylist()
    for mid, n in zip(ids, counts, strict=True):
        if n is not None and n > best.get(mid, -1):
            best[mid] = n
    return best


def settle(
    file: ArchiveFile,
    rows: pa.Table,
    flt: ArchiveFilter,
    columns: Mapping[str, str] | None = None,
) -> pa.Table:
    """``read_archive``'s answer from ``read_unsettled``'s ``rows``, under ``flt`` with the
    releases its batch qualified: the same rows, checked the same way."""
    return _finish(file, _threshold(rows, flt), flt, merge_columns(columns))


def _threshold(rows: pa.Table, flt: ArchiveFilter) -> pa.Table:
    """``min_downloads`` as the query applies it: a discovered repo stays when its 30-day count
    reaches it or its id (any case) is qualified; tracked models always."""
    if flt.min_downloads is None or rows.num_rows == 0:
        return rows
    qualified = pa.array(sorted({q.lower() for q in flt.qualified_ids}), pa.string())
    enough = pc.greater_equal(rows["downloads_30d"], pa.scalar(flt.min_downloads, pa.int64()))
    known = pc.is_in(pc.utf8_lower(rows["model_id"]), value_set=qualified)
    keep = pc.or_(pc.invert(rows["discovered"]), pc.or_(pc.fill_null(enough, False), known))
    return rows.filter(keep)


def _select(file: ArchiveFile, flt: ArchiveFilter, mapping: Mapping[str, str]) -> pa.Table:
    """The query's rows: the policy in SQL, ``min_downloads`` included, nothing checked yet."""
    with _connect() as con:
        schema = _fetch(con, file, "SELECT * FROM read_parquet($p) LIMIT 0", _p(file)).schema
        select = select_list(file.path, schema, mapping)
        con.register("_tracked", _keys(flt.tracked_ids, with_id=True))
        con.register("_orgs", _keys(flt.tracked_orgs))
        # the first segment of every id either join can match: the rest of the file never
        # meets a lower-cased comparison (lower and the split on '/' commute)
        heads = _keys(
            frozenset({*(i.split("/", 1)[0] for i in flt.tracked_ids), *flt.tracked_orgs})
        )
        con.register("_heads", heads)
        con.register("_excluded", _keys(flt.exclude_ids))
        con.register("_qualified", _keys(flt.qualified_ids))
        covered = sorted(flt.covered_orgs) if flt.covered_until is not None else []
        con.register("_covered", pa.table({"org": pa.array(covered, pa.string())}))
        params = {
            **_p(file),
            "heads": heads_pattern(heads.column("key").to_pylist()),
            "obs_date": file.snapshot_date,
            "tags": list(flt.allowed_pipeline_tags),
            "min": flt.min_downloads,
            "until": flt.covered_until,
        }
        query = _QUERY.format(select=select, id=id_expression(schema, mapping))
        return _fetch(con, file, query, params)


def heads_pattern(heads: Sequence[str]) -> str:
    """An RE2 pattern that matches every id whose first segment, lower-cased, is one of
    ``heads`` (lower-case): the scan's cheap prefilter, a superset of the exact join after it.

    ASCII letters match in either case as ``lower`` maps them; an id with any non-ASCII
    character (where ``lower`` and RE2's case folding could part) is left to the exact join by
    the query's byte-length test, so the pattern needs to be right for ASCII ids only."""
    alternatives = "|".join(_re2_literal(h) for h in heads) or "[^\\x00-\\x{10FFFF}]"
    return f"^(?i)(?:{alternatives})(?:/|$)"


def _re2_literal(text: str) -> str:
    """``text`` as an RE2 literal: ASCII letters and digits as they are, other ASCII printables
    escaped with a backslash, everything else by code point (``\\x{...}``)."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch.isascii() and ch.isprintable() and ch != " ":
            out.append("\\" + ch)
        else:
            out.append(f"\\x{{{ord(ch):X}}}")
    return "".join(out)


def _finish(
    file: ArchiveFile,
    table: pa.Table,
    flt: ArchiveFilter,
    mapping: Mapping[str, str],
    counts: Sequence[str] = COUNTS,
) -> pa.Table:
    """The query's rows without the rejected names, checked, in ``OUTPUT_SCHEMA``."""
    table = _drop_rejected(table, [re.compile(p, re.IGNORECASE) for p in flt.reject_patterns])
    _check(file, table, mapping, counts)
    return table.select(OUTPUT_SCHEMA.names).cast(OUTPUT_SCHEMA)


# Ids and orgs join against registered Arrow tables (no user text in the SQL).  Plain JOINs on the
# small tables keep the scan streaming; an IN/EXISTS subquery made DuckDB group every id.  One scan
# of the file: the prefilter on the id (``heads_pattern``, or a non-ASCII id: its byte length
# exceeds its length) runs inside it, so the projection is computed for those rows alone and the
# exact, lower-cased policy for the few thousand it lets through.
_QUERY = """
WITH src AS (
    SELECT {select}, file_row_number FROM read_parquet($p, file_row_number = true)
    WHERE regexp_matches({id}, $heads) OR strlen({id}) != length({id})),
keyed AS (
    SELECT s.*, lower(s.raw_id) AS id_key
    FROM src AS s JOIN _heads AS h ON lower(split_part(s.raw_id, '/', 1)) = h.key
    WHERE s.raw_id IS NOT NULL),
tracked AS (
    SELECT k.file_row_number, k.id_key, k.raw_id, t.model_id AS tracked_id
    FROM keyed AS k JOIN _tracked AS t ON k.id_key = t.key),
candidates AS (
    SELECT k.* FROM keyed AS k JOIN _orgs AS o ON split_part(k.id_key, '/', 1) = o.key
    WHERE contains(k.raw_id, '/') AND list_contains($tags::VARCHAR[], k.pipeline_tag)),
found AS (
    SELECT * FROM tracked
    UNION ALL
    SELECT c.file_row_number, c.id_key, c.raw_id, NULL AS tracked_id
    FROM candidates AS c
    ANTI JOIN _tracked AS t ON c.id_key = t.key
    LEFT JOIN _covered AS v ON split_part(c.raw_id, '/', 1) = v.org
    LEFT JOIN _qualified AS q ON c.id_key = q.key
    WHERE (v.org IS NULL OR c.created_at::DATE > $until::DATE)
      AND ($min::BIGINT IS NULL OR c.downloads_30d >= $min::BIGINT OR q.key IS NOT NULL)),
kept AS (
    SELECT f.file_row_number, f.tracked_id,
           CASE WHEN contains(f.raw_id, '/') THEN split_part(f.raw_id, '/', 1) END AS ns
    FROM found AS f ANTI JOIN _excluded AS x ON f.id_key = x.key)
SELECT coalesce(kept.tracked_id, s.raw_id) AS model_id, hub_id, coalesce(author, kept.ns) AS author,
       created_at, $obs_date::DATE AS obs_date, downloads_30d, downloads_all_time, likes,
       pipeline_tag, library_name,
       CASE WHEN safetensors_total > 0 THEN safetensors_total END AS safetensors_total,
       license, gated, kept.tracked_id IS NULL AS discovered,
       downloads_30d_bad, downloads_all_time_bad, likes_bad, file_row_number
FROM keyed AS s JOIN kept USING (file_row_number)
ORDER BY model_id
"""


# Derivative counts of tracked models from every row's ``base_model:<relation>:ORG/NAME`` tags
# (hub-docs model-cards.md), on the tags column alone: one row per tracked base with any child.
_DERIVATIVES_QUERY = """
WITH t AS (SELECT unnest({tags}) AS tag FROM read_parquet($p)),
b AS (
    SELECT split_part(tag, ':', 2) AS relation,
           lower(substr(tag, 13 + length(split_part(tag, ':', 2)))) AS base_key
    FROM t
    WHERE starts_with(tag, 'base_model:') AND length(tag) - length(replace(tag, ':', '')) = 2)
SELECT k.model_id, count(*) AS n
FROM b JOIN _tracked AS k ON b.base_key = k.key
WHERE b.relation IN ('finetune', 'adapter', 'quantized', 'merge')
GROUP BY ALL ORDER BY 1
"""


def read_derivative_counts(
    file: ArchiveFile, tracked_ids: frozenset[str], columns: Mapping[str, str] | None = None
) -> pa.Table | None:
    """How many repos of the file name each tracked model as their base (every relation
    together): ``model_id, n``; None when the file has no tags column."""
    mapping = merge_columns(columns)
    with _connect() as con:
        schema = _fetch(con, file, "SELECT * FROM read_parquet($p) LIMIT 0", _p(file)).schema
        name = mapping.get("tags", "tags")
        if name not in schema.names or not pa.types.is_list(schema.field(name).type):
            return None
        con.register("_tracked", _keys(tracked_ids, with_id=True))
        quoted = '"' + name.replace('"', '""') + '"'
        return _fetch(con, file, _DERIVATIVES_QUERY.format(tags=quoted), _p(file))


@dataclass(frozen=True)
class Qualified:
    """What the light pass over a set of files found: ``flt`` with the discovered repos that
    reach ``min_downloads`` in some file, each one's highest 30-day count, and the files
    already found unreadable (path -> error)."""

    flt: ArchiveFilter
    best: dict[str, int]
    refused: dict[str, BadPanel | HubError]


def qualify(
    files: Sequence[ArchiveFile],
    flt: ArchiveFilter,
    columns: Mapping[str, str] | None = None,
    on_file: Callable[[int, ArchiveFile], None] | None = None,
    min_files: int = 2,
) -> Qualified:
    """The light first pass (id, counts and pipeline tag only) over ``files``.

    Without it a new release's first days, under the threshold, would be dropped while its later
    days were kept.  One file alone has no later snapshot to qualify a release: it is skipped
    (``min_files=1`` when the caller passes a later snapshot of the days it will read).
    """
    refused: dict[str, BadPanel | HubError] = {}
    if flt.min_downloads is None or not flt.tracked_orgs or len(files) < min_files:
        return Qualified(flt, {}, refused)
    light = {k: v if k in _QUALIFY_COLUMNS else "" for k, v in merge_columns(columns).items()}
    best: dict[str, int] = {}
    for i, file in enumerate(files, start=1):
        if on_file is not None:
            on_file(i, file)
        try:
            table = read_archive(file, flt, light)
        except (BadPanel, HubError) as exc:
            refused[file.path] = exc
            continue
        found = table.filter(table["discovered"]).select(["model_id", "downloads_30d"])
        for mid, n in zip(*(found.column(c).to_pylist() for c in found.column_names), strict=True):
            if n is not None and n > best.get(mid, -1):
                best[mid] = n
    qualified = flt.qualified_ids | frozenset(best)
    return Qualified(replace(flt, qualified_ids=qualified), best, refused)


_QUALIFY_COLUMNS = ("model_id", "downloads_30d", "downloads_all_time", "pipeline_tag")
_QUALIFY_COUNTS = ("downloads_30d", "downloads_all_time")  # what the light pass reads and checks


def require_httpfs(path: str) -> None:
    """Refuse a remote archive up front when DuckDB's httpfs is missing (no download attempt)."""
    con = duck.memory()
    try:
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("LOAD httpfs")
    except duckdb.Error:
        raise HubError(
            f"{path}: remote archives need DuckDB's httpfs extension, which is not installed "
            f"or does not load (DuckDB downloads it on first use); install it with network access: "
            f"{HTTPFS_INSTALL} (or download the files and pass their local paths)"
        ) from None
    finally:
        con.close()


def _connect() -> duckdb.DuckDBPyConnection:
    con = duck.memory()
    # UTC so naive timestamps and zone-less strings mean UTC; dropping insertion order lets the
    # scan stream instead of buffering rows to keep their order.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    return con


def _p(file: ArchiveFile) -> dict[str, object]:
    # Local paths were listed by us, so glob characters in them are literal.
    return {"p": file.path if is_remote(file.path) else _GLOB.sub(r"[\1]", file.path)}


def _fetch(
    con: duckdb.DuckDBPyConnection, file: ArchiveFile, query: str, params: dict[str, object]
) -> pa.Table:
    try:
        rel = con.sql(query, params=params)
        assert rel is not None
        return rel.to_arrow_table()
    except duckdb.Error as exc:
        lines = str(exc).strip().splitlines()
        first = lines[0] if lines else type(exc).__name__
        if is_remote(file.path) and isinstance(exc, duckdb.IOException | duckdb.HTTPException):
            raise HubError(f"{file.path}: could not fetch the archive ({first})") from None
        raise BadPanel(f"{file.path}: not a readable Parquet archive ({first})") from None


def _keys(values: frozenset[str], with_id: bool = False) -> pa.Table:
    """One row per lower-cased key, so that a join on it never doubles a row of the file
    ("Qwen" and "qwen" are one org); an id spelled several ways keeps its first spelling in
    sorted order."""
    spelling: dict[str, str] = {}
    for v in sorted(values):
        spelling.setdefault(v.lower(), v)
    keys = pa.array(list(spelling), pa.string())
    if with_id:
        return pa.table({"key": keys, "model_id": pa.array(list(spelling.values()), pa.string())})
    return pa.table({"key": keys})


def _drop_rejected(table: pa.Table, rejects: Sequence[re.Pattern[str]]) -> pa.Table:
    """Apply the name patterns to discovered repos (a few thousand rows at most, after SQL)."""
    if not rejects or table.num_rows == 0:
        return table
    ids = table.column("model_id").to_pylist()
    discovered = table.column("discovered").to_pylist()
    keep = [
        not d or not any(r.search(i) for r in rejects) for i, d in zip(ids, discovered, strict=True)
    ]
    return table.filter(pa.array(keep, pa.bool_()))


def _check(
    file: ArchiveFile, table: pa.Table, mapping: Mapping[str, str], counts: Sequence[str] = COUNTS
) -> None:
    """Refuse kept rows the store could not trust: a count that is no count, one model twice.

    The first bad row of the file is named (its row number, counted from 1, and its model).
    """
    first: tuple[int, str, str, str] | None = None
    for key in counts:
        bad = table.filter(pc.is_valid(table.column(f"{key}_bad")))
        if bad.num_rows:
            at = pc.index(bad.column("file_row_number"), pc.min(bad.column("file_row_number")))
            row = bad.slice(at.as_py(), 1).to_pylist()[0]
            found = (row["file_row_number"] + 1, key, row[f"{key}_bad"], row["model_id"])
            first = found if first is None or found < first else first
    if first is not None:
        row_number, key, value, model = first
        raise BadPanel(
            f"{file.path} row {row_number:,}: column {mapping[key]!r} ({key}) holds {value} for "
            f"{model}, not a whole number from 0 to 2^53 - 1; nothing imported"
        )
    if table.num_rows and len(pc.unique(table.column("model_id"))) != table.num_rows:
        seen = pc.value_counts(table.column("model_id"))
        twice = next(v["values"] for v in seen.to_pylist() if v["counts"] > 1)
        raise BadPanel(f"{file.path}: {twice} appears more than once; nothing imported")
