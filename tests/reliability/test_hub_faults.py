"""Hub faults against the fake Hub, at the fetch: each run ends ok, partial or failed as it should,
with exact counts (unknown is None, never 0), no duplicate repo and no half-listed org."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from collectors.hub import FetchResult, HubModel, fetch_snapshot
from tests.fakehub import FakeHub, hub_id_for
from tests.reliability.conftest import Figure
from tests.reliability.support import ALL, ALPHA, ORGS, add_huge_org, fill_hub


@pytest.fixture
def hub(hub_client: None) -> Iterator[FakeHub]:
    with FakeHub(page_size=2) as fake:
        fill_hub(fake)
        yield fake


def fetch(hub: FakeHub, tracked: list[str] | None = None, **kw: Any) -> FetchResult:
    kw.setdefault("token", False)
    return fetch_snapshot(ORGS, tracked or [], endpoint=hub.url, **kw)


def ids(result: FetchResult) -> list[str]:
    return sorted(m.model_id for m in result.models)


def assert_clean(result: FetchResult, hub: FakeHub) -> None:
    """No duplicate repo; every count is exactly the Hub's or None where the Hub had none."""
    keys = [m.model_id.lower() for m in result.models]
    assert len(keys) == len(set(keys))
    for model in result.models:
        repo = hub.repos[model.model_id]
        for attr, key in (
            ("downloads_30d", "downloads"),
            ("downloads_all_time", "downloadsAllTime"),
            ("likes", "likes"),
        ):
            raw = repo.get(key)
            valid = isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0
            expected = raw if valid else None
            assert getattr(model, attr) == expected, (model.model_id, attr)
            assert getattr(model, attr) != 0


def test_a_429_storm_with_retry_after_is_waited_out(
    hub: FakeHub, sleeps: list[float], figure: Figure
) -> None:
    hub.fail("status", status=429, retry_after=3, times=4, org="Alpha", page=2)

    result = fetch(hub)

    assert result.status == "ok"
    assert ids(result) == sorted(ALL)
    assert result.requests == 5 + 4 == hub.requests
    assert sleeps == [4.0] * 4  # Retry-After plus the client's one-second margin
    assert_clean(result, hub)
    figure(requests=result.requests, retried=4, rows=len(result.models), waited_s=sum(sleeps))


def test_a_429_storm_longer_than_the_retries_fails_only_that_org(
    hub: FakeHub, sleeps: list[float], figure: Figure
) -> None:
    hub.fail("status", status=429, retry_after=1, times=None, org="Beta")

    result = fetch(hub, ["Beta/b0"])

    assert result.status == "partial"
    assert list(result.failed_orgs) == ["Beta"]
    assert "429" in result.failed_orgs["Beta"]
    assert ids(result) == sorted([*ALPHA, "Gamma/g0", "Gamma/g1"])
    assert result.missing_ids == [] and result.failed_ids == {}  # b0 unknown, not gone
    assert result.requests == 4 + 6 == hub.requests  # Beta: one try, five retries
    assert sleeps == [2.0] * 5
    assert_clean(result, hub)
    figure(requests=result.requests, retried=5, rows=len(result.models), waited_s=sum(sleeps))


def test_a_retry_after_beyond_the_cap_gives_up_at_once(
    hub: FakeHub, sleeps: list[float], figure: Figure
) -> None:
    hub.fail("status", status=429, retry_after=3600, times=None, org="Gamma")

    result = fetch(hub, retry_after_cap=60)

    assert result.status == "partial"
    assert result.failed_orgs == {
        "Gamma": "RateLimited: the Hub answered 429 and asked to wait 3600s, over the 60s cap; "
        "try again later"
    }
    assert sleeps == []
    assert result.requests == 5
    assert ids(result) == sorted([*ALPHA, "Beta/b0"])
    figure(requests=result.requests, retried=0, rows=len(result.models), waited_s=0)


def test_a_5xx_burst_is_retried_with_backoff(
    hub: FakeHub, sleeps: list[float], figure: Figure
) -> None:
    hub.fail("status", status=502, times=3, org="Gamma")
    hub.fail("status", status=500, times=2, org="Alpha", page=3)

    result = fetch(hub)

    assert result.status == "ok"
    assert ids(result) == sorted(ALL)
    assert result.requests == 5 + 5 == hub.requests
    assert sorted(sleeps) == [1, 1, 2, 2, 4]
    assert_clean(result, hub)
    figure(requests=result.requests, retried=5, rows=len(result.models), waited_s=sum(sleeps))


def test_timeouts_are_retried(hub: FakeHub, sleeps: list[float], figure: Figure) -> None:
    hub.fail("slow", delay=1.0, times=2, org="Beta")
    started = time.monotonic()

    result = fetch(hub, timeout=0.2)

    elapsed = time.monotonic() - started
    assert result.status == "ok"
    assert ids(result) == sorted(ALL)
    assert result.requests == 5 + 2 == hub.requests
    assert sleeps == [1, 2]
    assert elapsed >= 0.4  # two 0.2 s timeouts were waited out (the retries prove they fired)
    assert_clean(result, hub)
    figure(requests=result.requests, retried=2, rows=len(result.models), seconds=round(elapsed, 2))


def test_connection_resets_are_retried(hub: FakeHub, sleeps: list[float], figure: Figure) -> None:
    hub.fail("drop", times=2, org="Alpha", page=1)
    hub.fail("drop", times=1, org="Gamma")

    result = fetch(hub)

    assert result.status == "ok"
    assert ids(result) == sorted(ALL)
    assert result.requests == 5 + 3 == hub.requests
    assert sorted(sleeps) == [1, 1, 2]
    assert_clean(result, hub)
    figure(requests=result.requests, retried=3, rows=len(result.models), waited_s=sum(sleeps))


def test_a_truncated_answer_is_retried(hub: FakeHub, sleeps: list[float], figure: Figure) -> None:
    hub.fail("truncated", times=1, org="Alpha", page=3)

    result = fetch(hub)

    assert result.status == "ok"
    assert ids(result) == sorted(ALL)
    assert result.requests == 5 + 1
    assert sleeps == [1]
    assert_clean(result, hub)
    figure(requests=result.requests, retried=1, rows=len(result.models))


def test_malformed_json_fails_its_org_whole_and_keeps_the_others(
    hub: FakeHub, figure: Figure
) -> None:
    hub.fail("malformed", times=None, org="Alpha", page=2)

    result = fetch(hub, ["Alpha/a0"])

    assert result.status == "partial"
    assert list(result.failed_orgs) == ["Alpha"]
    assert result.failed_orgs["Alpha"].startswith("JSONDecodeError: ")
    assert ids(result) == ["Beta/b0", "Gamma/g0", "Gamma/g1"]  # not even page 1 of Alpha
    assert result.requests == 2 + 2
    assert_clean(result, hub)
    figure(requests=result.requests, retried=0, rows=len(result.models))


def test_missing_fields_are_unknown_never_zero(hub: FakeHub, figure: Figure) -> None:
    hub.add("Gamma/bare")

    result = fetch(hub)

    bare = next(m for m in result.models if m.model_id == "Gamma/bare")
    assert (bare.downloads_30d, bare.downloads_all_time, bare.likes) == (None, None, None)
    assert (bare.created_at, bare.safetensors_total, bare.pipeline_tag) == (None, None, None)
    assert result.status == "ok"
    assert_clean(result, hub)
    figure(requests=result.requests, rows=len(result.models), unknown_counts=3)


def test_wrongly_typed_counts_are_unknown_with_a_warning(hub: FakeHub, figure: Figure) -> None:
    hub.update("Beta/b0", hostile=True, downloads="12", downloadsAllTime=-1, likes=3.5)

    result = fetch(hub)

    b0 = next(m for m in result.models if m.model_id == "Beta/b0")
    assert (b0.downloads_30d, b0.downloads_all_time, b0.likes) == (None, None, None)
    assert sorted(w for w in result.warnings if w.startswith("Beta/b0")) == [
        "Beta/b0: downloads='12' is not a non-negative integer; recorded as unknown",
        "Beta/b0: downloadsAllTime=-1 is not a non-negative integer; recorded as unknown",
        "Beta/b0: likes=3.5 is not a non-negative integer; recorded as unknown",
    ]
    assert result.status == "ok"
    assert_clean(result, hub)
    figure(requests=result.requests, rows=len(result.models), warnings=len(result.warnings))


def test_an_unparsable_date_costs_its_org_only(hub: FakeHub, figure: Figure) -> None:
    hub.update("Gamma/g1", hostile=True, createdAt="last tuesday")

    result = fetch(hub)

    assert result.status == "partial"
    assert list(result.failed_orgs) == ["Gamma"]
    assert ids(result) == sorted([*ALPHA, "Beta/b0"])
    assert_clean(result, hub)
    figure(requests=result.requests, rows=len(result.models))


def test_a_pagination_loop_is_caught_and_fails_its_org(hub: FakeHub, figure: Figure) -> None:
    hub.fail("loop", times=None, org="Alpha", page=3, loop_to=2)

    first_of_page_2 = sorted(ALPHA, key=hub_id_for)[2]  # the fake Hub pages in _id order

    result = fetch(hub)

    assert result.status == "partial"
    assert result.failed_orgs == {
        "Alpha": f"HubError: the listing of Alpha returned {first_of_page_2} twice (pagination loop)"
    }
    assert ids(result) == ["Beta/b0", "Gamma/g0", "Gamma/g1"]
    assert hub.requests_by_path["/api/models"] == 4 + 2  # Alpha pages 1, 2, 3, then 2 again
    figure(requests=result.requests, rows=len(result.models))


def test_pagination_that_breaks_mid_way_keeps_none_of_that_org(
    hub: FakeHub, sleeps: list[float], figure: Figure
) -> None:
    hub.fail("status", status=503, times=None, org="Alpha", page=3)

    result = fetch(hub, ["Alpha/a4"])

    assert result.status == "partial"
    assert list(result.failed_orgs) == ["Alpha"]
    assert ids(result) == ["Beta/b0", "Gamma/g0", "Gamma/g1"]  # a0..a3 were listed, then dropped
    assert result.failed_ids == {} and result.missing_ids == []
    assert result.requests == 2 + 6 + 2
    assert sleeps == [1, 2, 4, 8, 8]
    figure(requests=result.requests, retried=5, rows=len(result.models), waited_s=sum(sleeps))


def test_a_vanished_repo_is_missing_not_zero(hub: FakeHub, figure: Figure) -> None:
    hub.remove("Beta/b0")

    result = fetch(hub, ["Beta/b0", "Alpha/a1"])

    assert result.status == "ok"
    assert result.missing_ids == ["Beta/b0"]
    assert "Beta/b0" not in ids(result)
    assert result.requests == 5 + 1  # the 404 lookup
    assert_clean(result, hub)
    figure(requests=result.requests, rows=len(result.models), missing=1)


def test_a_rename_is_linked_not_duplicated(hub: FakeHub, figure: Figure) -> None:
    hub.rename("Alpha/a1", "Alpha/a1-Instruct")
    hub.rename("Beta/b0", "Zeta/b0-v2")

    result = fetch(hub, ["Alpha/a1", "Beta/b0"], known_hub_ids={"Alpha/a1": hub_id_for("Alpha/a1")})

    assert result.renamed == {"Alpha/a1": "Alpha/a1-Instruct", "Beta/b0": "Zeta/b0-v2"}
    assert len(result.models) == len(ALL)
    assert "Alpha/a1" not in ids(result) and "Beta/b0" not in ids(result)
    moved = next(m for m in result.models if m.model_id == "Zeta/b0-v2")
    assert (moved.hub_id, moved.downloads_30d) == (hub_id_for("Beta/b0"), 1_005)
    assert result.requests == 5 + 2  # Beta/b0: the redirect and its target
    assert_clean(result, hub)
    figure(requests=result.requests, rows=len(result.models), renamed=2)


def test_counts_that_go_down_are_taken_as_the_hub_says(hub: FakeHub, figure: Figure) -> None:
    hub.update("Gamma/g0", downloads=3, downloadsAllTime=40)

    result = fetch(hub)

    g0 = next(m for m in result.models if m.model_id == "Gamma/g0")
    assert (g0.downloads_30d, g0.downloads_all_time) == (3, 40)
    assert result.status == "ok"
    assert_clean(result, hub)
    figure(requests=result.requests, rows=len(result.models))


def test_a_huge_org_is_listed_in_pages_of_a_thousand(hub_client: None, figure: Figure) -> None:
    n = 12_345
    with FakeHub() as hub:
        add_huge_org(hub, n)
        started = time.monotonic()

        result = fetch_snapshot(["Huge"], endpoint=hub.url, token=False)

        elapsed = time.monotonic() - started
    assert result.status == "ok"
    assert len(result.models) == n == result.org_counts["Huge"]
    assert len({m.model_id for m in result.models}) == n
    assert result.requests == 13 == hub.requests  # ceil(12,345 / 1,000) pages, no lookup
    assert sum(m.downloads_30d or 0 for m in result.models) == n * (n + 1) // 2
    assert all(isinstance(m, HubModel) and m.downloads_all_time for m in result.models)
    assert elapsed < 20
    figure(requests=result.requests, rows=n, seconds=round(elapsed, 2))


def test_an_exhausted_request_budget_ends_partial(hub: FakeHub, figure: Figure) -> None:
    result = fetch(hub, max_workers=1, request_budget=3)

    assert result.status == "partial"
    assert result.org_counts == {"Alpha": 5}
    assert sorted(result.failed_orgs) == ["Beta", "Gamma"]
    assert result.requests == 3 == hub.requests
    figure(requests=result.requests, rows=len(result.models))


def test_a_hub_that_fails_everything_is_a_failed_run(
    hub: FakeHub, sleeps: list[float], figure: Figure
) -> None:
    hub.fail("status", status=500, times=None)

    result = fetch(hub, ["Other/x"])

    assert result.status == "failed"
    assert result.models == []
    assert sorted(result.failed_orgs) == ORGS
    assert list(result.failed_ids) == ["Other/x"]
    assert result.requests == 4 * 6 == hub.requests
    figure(requests=result.requests, retried=4 * 5, rows=0, waited_s=sum(sleeps))
