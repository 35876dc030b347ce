"""Read an archive's history from a Hub dataset: its days, each day's file, and only the columns
a backfill needs, fetched by HTTP range from where the Hub resolves the file.

Everything goes through ``huggingface_hub`` against ``HF_ENDPOINT`` (the real Hub by default):
``list_repo_commits`` lists the days, ``get_hf_file_metadata(hf_hub_url(..., revision=sha))``
resolves a day's file once (commit, etag, size, CDN location), and the Parquet footer and the
wanted column chunks are then read from that location with ``Range`` requests (pyarrow reads
them through ``RangeFile``).  Fetch only: it returns records and Arrow tables, and never
touches the store.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from collectors.archive_columns import DEFAULT_COLUMNS
from ram.errors import BadPanel, HubError, RateLimited

# The archives whose layout is known: repo -> (file, the phrase its upload commits carry).
# cfahlgren1/hub-stats re-uploads one models.parquet at the root daily, with commits titled
# "Upload models.parquet with huggingface_hub" (the dataset's history on the Hub).
LAYOUTS = {"cfahlgren1/hub-stats": "models.parquet"}
DEFAULT_FILE = "models.parquet"
# The columns read every day: the id and the counts.  The static fields (createdAt,
# pipeline_tag, safetensors, tags, license, ...) come from the newest day read, for the repos
# the policy may keep, and are joined onto the older days by id (``with_static``).
DAILY_FIELDS = ("model_id", "downloads_30d", "downloads_all_time", "likes")
MAX_RETRIES = 6
BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class Day:
    """The last commit of one UTC day that uploaded the archive file."""

    day: date
    commit: str
    title: str
    committed_at: datetime


@dataclass(frozen=True)
class Resolved:
    """Where a day's file is: the Hub's answer to HEAD resolve at that commit."""

    day: Day
    commit: str
    etag: str
    size: int
    location: str


@dataclass
class Traffic:
    """What a run cost: requests by kind and Parquet bytes received."""

    requests: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    budget: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def spend(self, kind: str) -> None:
        with self._lock:
            total = sum(self.requests.values())
            if self.budget is not None and total >= self.budget:
                raise HubError(
                    f"request budget of {self.budget} spent; re-run to continue (days already "
                    "landed are skipped)"
                )
            self.requests[kind] = self.requests.get(kind, 0) + 1


@contextlib.contextmanager
def _quiet_retries() -> Iterator[None]:
    """huggingface_hub's own retries (``http_backoff``, under ``list_repo_commits``) log each
    429 or 5xx as a warning on stderr; the run reports what happened itself."""
    logger = logging.getLogger("huggingface_hub.utils._http")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def retrying(call: Callable[[], Any], what: str, traffic: Traffic, kind: str) -> Any:
    """``call`` with the run's budget, riding out 429 (``Retry-After``) and 5xx with backoff."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    for attempt in range(MAX_RETRIES + 1):
        traffic.spend(kind)
        try:
            with _quiet_retries():
                return call()
        except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
            raise  # the caller says what is missing
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status == 429 or (status is not None and status >= 500):
                if attempt == MAX_RETRIES:
                    cls = RateLimited if status == 429 else HubError
                    raise cls(
                        f"{what}: the Hub kept answering {status} after {MAX_RETRIES} retries; "
                        "re-run later to continue (days already landed are skipped)"
                    ) from None
                time.sleep(_wait(exc.response, attempt))
                continue
            raise HubError(f"{what}: {first_line(exc)}") from None
    raise AssertionError("unreachable")


def _wait(response: Any, attempt: int) -> float:
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        seconds = float(header) if header is not None else BACKOFF_SECONDS * 2**attempt
    except ValueError:
        seconds = BACKOFF_SECONDS * 2**attempt
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)


def first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def list_days(
    api: Any,
    repo: str,
    filename: str,
    since: date | None,
    until: date | None,
    traffic: Traffic,
) -> list[Day]:
    """The days of ``repo``'s history that uploaded ``filename`` (the last such commit of each
    UTC day), oldest first, within ``since``..``until``."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        commits = retrying(
            lambda: api.list_repo_commits(repo, repo_type="dataset"),
            f"listing the commits of {repo}",
            traffic,
            "commits",
        )
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise BadPanel(
            f"no dataset {repo} on the Hub (or it is private: set HF_TOKEN); check the name"
        ) from None
    days: dict[date, Day] = {}
    for c in commits:  # newest first: the first of each day is its last
        if filename not in (c.title or ""):
            continue
        when = c.created_at.astimezone(UTC)
        d = when.date()
        if (since and d < since) or (until and d > until) or d in days:
            continue
        days[d] = Day(d, c.commit_id, c.title, when)
    return sorted(days.values(), key=lambda x: x.day)


@dataclass(frozen=True)
class Located:
    """A file of a dataset at a revision, as the Hub's resolver answered: the commit that
    served it, its etag (the content's hash), size and the file host's signed location."""

    path: str
    commit: str
    etag: str
    size: int
    location: str
    what: str  # how messages name it: ``repo@commit (day)`` or ``repo@commit:path``


def locate(
    api: Any, repo: str, path: str, revision: str, traffic: Traffic, what: str | None = None
) -> Located:
    """``path`` of dataset ``repo`` at ``revision``: one HEAD to the Hub's resolver (not
    followed to the file host).  A missing file or revision is ``BadPanel``."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    label = what or f"{repo}@{revision[:10]}:{path}"
    # hf_hub_url swaps in ``endpoint`` only when its template starts with the endpoint
    # huggingface_hub read at import (constants.ENDPOINT); its path is the route either way.
    route = urlsplit(hf_hub_url(repo, path, repo_type="dataset", revision=revision)).path
    url = api.endpoint.rstrip("/") + route
    try:
        meta = retrying(
            lambda: get_hf_file_metadata(url, token=api.token), label, traffic, "resolve"
        )
    except RepositoryNotFoundError:
        raise BadPanel(
            f"no dataset {repo} on the Hub (or it is private: set HF_TOKEN); check the name"
        ) from None
    except (EntryNotFoundError, RevisionNotFoundError):
        raise BadPanel(f"{label}: no such file in the dataset at that revision") from None
    if meta.size is None or meta.etag is None or meta.location is None:
        raise HubError(f"{label}: the Hub gave no size, etag or location")
    commit = meta.commit_hash or revision
    return Located(path, commit, meta.etag, int(meta.size), meta.location, label)


def resolve(api: Any, repo: str, filename: str, day: Day, traffic: Traffic) -> Resolved:
    """The day's file at its commit: one HEAD to the Hub's resolver (not followed to the CDN)."""
    what = f"{repo}@{day.commit[:10]} ({day.day})"
    try:
        at = locate(api, repo, filename, day.commit, traffic, what)
    except BadPanel:
        raise BadPanel(f"{what} has no {filename}") from None
    return Resolved(day, at.commit, at.etag, at.size, at.location)


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file: every read is one ``Range`` request, but
    the file's tail, once read (a footer read takes the last 64 KiB), is kept and served from
    memory, so reading the footer and then columns of one object fetches no byte twice."""

    def __init__(self, url: str, size: int, traffic: Traffic, what: str) -> None:
        super().__init__()
        self.url, self.size, self.traffic, self.what = url, size, traffic, what
        self.pos = 0
        self._tail_at, self._tail = size, b""  # the kept bytes [tail_at, size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        data = self._get(self.pos, self.pos + want - 1)
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def _get(self, first: int, last: int) -> bytes:
        at = self._tail_at
        if first >= at:
            return self._tail[first - at : last - at + 1]
        if last >= at:
            return self._fetch(first, at - 1) + self._tail[: last - at + 1]
        data = self._fetch(first, last)
        if last == self.size - 1:
            self._tail_at, self._tail = first, data
        return data

    def _fetch(self, first: int, last: int) -> bytes:
        from huggingface_hub import get_session
        from huggingface_hub.errors import HfHubHTTPError
        from huggingface_hub.utils import hf_raise_for_status

        def call() -> bytes:
            response = get_session().get(self.url, headers={"Range": f"bytes={first}-{last}"})
            hf_raise_for_status(response)
            if response.status_code != 206:
                raise HubError(f"{self.what}: the file host ignored the Range request")
            return bytes(response.content)

        try:
            data: bytes = retrying(call, self.what, self.traffic, "range")
        except HfHubHTTPError as exc:  # pragma: no cover - _retrying translates these
            raise HubError(f"{self.what}: {first_line(exc)}") from None
        self.traffic.bytes_read += len(data)
        return data


def columns_for(
    schema: pa.Schema, newest: bool, columns: dict[str, str] | None = None
) -> list[str]:
    """The file's top-level columns a backfill reads: ``DAILY_FIELDS`` every day, every mapped
    field on the newest day."""
    mapping = {**DEFAULT_COLUMNS, **(columns or {})}
    wanted = mapping if newest else {k: v for k, v in mapping.items() if k in DAILY_FIELDS}
    roots = {spec.split(".")[0] for spec in wanted.values() if spec}
    return [name for name in schema.names if name in roots]


def id_column(columns: dict[str, str] | None = None) -> str:
    """The file's column that holds the repo id."""
    return {**DEFAULT_COLUMNS, **(columns or {})}["model_id"].split(".")[0]


def static_part(
    newest: pa.Table,
    tracked_ids: frozenset[str],
    tracked_orgs: frozenset[str],
    columns: dict[str, str] | None = None,
) -> pa.Table:
    """The newest day's static fields (everything but the daily counts) of the repos a policy
    may keep: tracked ids and repos of tracked orgs, matched case-insensitively."""
    import pyarrow.compute as pc

    mapping = {**DEFAULT_COLUMNS, **(columns or {})}
    key = id_column(columns)
    daily = {mapping[f].split(".")[0] for f in DAILY_FIELDS if mapping.get(f)} - {key}
    ids = pc.utf8_lower(newest[key])
    org = pc.list_element(pc.split_pattern(ids, "/"), 0)
    keep = pc.or_(
        pc.is_in(ids, pa.array(sorted(i.lower() for i in tracked_ids), pa.string())),
        pc.is_in(org, pa.array(sorted(o.lower() for o in tracked_orgs), pa.string())),
    )
    kept = newest.filter(pc.fill_null(keep, False))
    return kept.select([c for c in kept.column_names if c not in daily])


def with_static(day: pa.Table, static: pa.Table, columns: dict[str, str] | None = None) -> pa.Table:
    """A day's id and counts with the newest day's static fields joined on by id."""
    import pyarrow.compute as pc

    key = id_column(columns)
    at = pc.index_in(day[key], value_set=static[key])  # null where the newest day lacks it
    joined = static.take(at)
    for name in static.column_names:
        if name != key:
            day = day.append_column(name, joined[name])
    return day


def _what(resolved: Resolved) -> str:
    return f"{resolved.day.day} ({resolved.commit[:10]})"


def read_footer(resolved: Resolved, traffic: Traffic) -> pq.FileMetaData:
    """A resolved day's Parquet footer (its schema, row groups and row count)."""
    return footer_at(resolved.location, resolved.size, traffic, _what(resolved))


def footer_at(
    location: str, size: int, traffic: Traffic, what: str, source: RangeFile | None = None
) -> pq.FileMetaData:
    """A remote Parquet file's footer: its last 64 KiB, or a little more for a large footer
    (read through ``source`` when given, which then keeps those bytes for later reads)."""
    try:
        return pq.read_metadata(source or RangeFile(location, size, traffic, what))
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadPanel(f"{what}: not a readable Parquet file ({first_line(exc)})") from None


def read_columns(
    resolved: Resolved,
    footer: pq.FileMetaData,
    newest: bool,
    traffic: Traffic,
    columns: dict[str, str] | None = None,
) -> pa.Table:
    """The columns a backfill needs from a resolved day whose ``footer`` was read: only those
    column chunks are fetched (coalesced into few range requests)."""
    what = _what(resolved)
    source = RangeFile(resolved.location, resolved.size, traffic, what)
    try:
        parquet = pq.ParquetFile(source, metadata=footer, pre_buffer=True)
        return parquet.read(columns=columns_for(parquet.schema_arrow, newest, columns))
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadPanel(f"{what}: not a readable Parquet file ({first_line(exc)})") from None


def truncated(rows: Sequence[int], ratio: float, reach: int = 3) -> list[bool]:
    """Which days hold fewer rows than ``ratio`` x the median of their neighbours (up to
    ``reach`` days on each side): a truncated upload, not a real day of the Hub."""
    out = []
    for i, n in enumerate(rows):
        near = [*rows[max(0, i - reach) : i], *rows[i + 1 : i + 1 + reach]]
        if not near:
            out.append(False)
            continue
        ordered = sorted(near)
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        out.append(n < ratio * median)
    return out


def hub_api(endpoint: str | None, token: str | bool | None) -> Any:
    """``HfApi`` for ``endpoint`` (``HF_ENDPOINT`` or the real Hub) and the token."""
    from huggingface_hub import HfApi

    # HF_ENDPOINT is read here, not only when huggingface_hub is imported (tests set it late).
    return HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=token)


def days_and_files(
    api: Any,
    repo: str,
    since: date | None,
    until: date | None,
    traffic: Traffic,
    filename: str | None = None,
) -> tuple[str, list[Day]]:
    """The archive file of ``repo`` (known layouts, else ``models.parquet``) and its days."""
    name = filename or LAYOUTS.get(repo, DEFAULT_FILE)
    return name, list_days(api, repo, name, since, until, traffic)


__all__: Sequence[str] = (
    "DAILY_FIELDS",
    "LAYOUTS",
    "Day",
    "Located",
    "RangeFile",
    "Resolved",
    "Traffic",
    "columns_for",
    "days_and_files",
    "first_line",
    "footer_at",
    "hub_api",
    "list_days",
    "locate",
    "read_columns",
    "resolve",
    "retrying",
)  # fmt: skip
