"""The dataset fake keeps the contract it cites (tests/fakehub_datasets.py): the real
``huggingface_hub`` client's own calls are accepted and read back as the client reads the Hub,
and what the Hub refuses is refused here (and recorded as a violation when our code could be
the one sending it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, get_session, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.fakehub_datasets import PAGE, DatasetHub

REPO = "someone/archive"
FILES = {f"series/2025-0{m}.parquet": bytes([m]) * (100 * m) for m in range(1, 6)}
WHEN = dt.datetime(2025, 6, 1, 6, tzinfo=dt.UTC)


@pytest.fixture
def hub() -> Iterator[DatasetHub]:
    with DatasetHub() as fake:
        fake.add_commit(REPO, WHEN, "Daily update 2025-05-31", {**FILES, "models.parquet": b"m"})
        fake.add_commit(REPO, WHEN + dt.timedelta(days=1), "Daily update 2025-06-01",
                        {"models.parquet": b"mm"})  # fmt: skip
        yield fake


def api(hub: DatasetHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=False)


def file_url(hub: DatasetHub, path: str, revision: str | None = None) -> str:
    """The client's resolve URL on the fake: ``hf_hub_url`` swaps in an endpoint only when its
    template starts with the one read at import, so its route is put on the fake's host (as
    ``collectors.hub_archive.locate`` does)."""
    route = urlsplit(hf_hub_url(REPO, path, repo_type="dataset", revision=revision)).path
    return hub.url + route


def test_the_clients_tree_listing_is_served_page_by_page(hub: DatasetHub) -> None:
    assert len(FILES) > PAGE  # more than one page
    entries = list(api(hub).list_repo_tree(REPO, path_in_repo="series", repo_type="dataset"))
    assert sorted(e.path for e in entries) == sorted(FILES)
    assert {e.path: e.size for e in entries} == {p: len(c) for p, c in FILES.items()}
    assert all(e.lfs is not None and e.lfs.size == e.size for e in entries)  # type: ignore[union-attr]
    root = list(api(hub).list_repo_tree(REPO, repo_type="dataset"))
    assert {type(e).__name__ for e in root} == {"RepoFile", "RepoFolder"}
    assert hub.counts["tree"] == 2 + 1 and hub.violations == []


def test_a_tree_query_the_client_never_sends_is_refused(hub: DatasetHub) -> None:
    base = f"{hub.url}/api/datasets/{REPO}/tree/main/series"
    for query in ("recursive=false&expand=false&limit=5", "cursor=3&recursive=false",
                  "recursive=maybe&expand=false"):  # fmt: skip
        assert get_session().get(f"{base}?{query}").status_code == 400
    assert len(hub.violations) == 3


def test_a_missing_folder_revision_or_repo_is_the_clients_own_error(hub: DatasetHub) -> None:
    client = api(hub)
    with pytest.raises(EntryNotFoundError):
        list(client.list_repo_tree(REPO, path_in_repo="nothing", repo_type="dataset"))
    with pytest.raises(RevisionNotFoundError):
        list(client.list_repo_tree(REPO, repo_type="dataset", revision="0" * 40))
    with pytest.raises(RepositoryNotFoundError):
        list(client.list_repo_tree("someone/else", repo_type="dataset"))
    with pytest.raises(EntryNotFoundError):
        get_hf_file_metadata(file_url(hub, "gone.parquet"), token=False)


def test_resolve_pins_the_commit_and_points_at_the_file_host(hub: DatasetHub) -> None:
    old, new = hub.repos[REPO]
    for revision, commit, body in ((old.sha, old, b"m"), ("main", new, b"mm")):
        meta = get_hf_file_metadata(file_url(hub, "models.parquet", revision), token=False)
        assert meta.commit_hash == commit.sha and meta.size == len(body) and meta.etag
        assert meta.location.startswith(hub.cdn_url) and hub.cdn_url != hub.url
    assert hub.counts["resolve"] == 2


def test_the_file_host_answers_ranges_and_refuses_past_the_end(hub: DatasetHub) -> None:
    location = get_hf_file_metadata(file_url(hub, "series/2025-03.parquet"), token=False).location
    part = get_session().get(location, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == bytes([3]) * 10
    assert part.headers["Content-Range"] == "bytes 10-19/300"
    past = get_session().get(location, headers={"Range": "bytes=300-400"})
    assert past.status_code == 416 and past.headers["Content-Range"] == "bytes */300"
    assert get_session().get(location.split("?")[0]).status_code == 403  # unsigned
    get_session().get(location, headers={"Range": "bytes=0-0", "Authorization": "Bearer hf_x"})
    assert hub.violations == [f"GET {location[len(hub.cdn_url) :]}: the Hub token sent to the "
                              "file host"]  # fmt: skip
    assert hub.sent_by_blob and hub.bytes_sent == 11


def test_commits_come_newest_first_and_an_unknown_query_is_refused(hub: DatasetHub) -> None:
    commits = api(hub).list_repo_commits(REPO, repo_type="dataset")
    assert [c.title for c in commits] == ["Daily update 2025-06-01", "Daily update 2025-05-31"]
    bad = get_session().get(f"{hub.url}/api/datasets/{REPO}/commits/main?limit=1")
    assert bad.status_code == 400 and len(hub.violations) == 1


def test_a_rate_limit_is_a_429_that_says_when(hub: DatasetHub) -> None:
    hub.rate_limit, hub.retry_after = 1, "7"
    answer = get_session().get(f"{hub.url}/api/datasets/{REPO}/commits/main")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    with pytest.raises(HfHubHTTPError):
        hub.rate_limit = 1
        from huggingface_hub.utils import hf_raise_for_status

        hf_raise_for_status(get_session().get(f"{hub.url}/api/datasets/{REPO}/commits/main"))
    assert hub.counts["429"] == 2


def test_no_test_can_reach_a_host_but_this_one() -> None:
    """The suite's guard (tests/conftest.py): a URL built for the real Hub fails at lookup."""
    import socket

    with pytest.raises(socket.gaierror, match="tests stay offline"):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises(Exception, match="tests stay offline"):
        get_session().get(hf_hub_url(REPO, "models.parquet", repo_type="dataset"))
