"""The Hub collector against the fake Hub, driven by the real huggingface_hub client."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from collectors import hub as collector
from collectors.hub import EXPAND, FetchResult, HubModel, fetch_org, fetch_snapshot
from tests.fakehub import FakeHub, hub_id_for
from tests.fakehub_data import populate

ROOT = Path(__file__).resolve().parent.parent

CANARY = "hf_CANARYtoken123"
CREATED = "2025-03-04T05:06:07.000Z"


pytestmark = pytest.mark.usefixtures("hub_client")  # the client talks to the fake Hub only


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """Org ``A`` has five repos (three pages of two), ``B`` one, ``Other`` one."""
    with FakeHub(page_size=2) as fake:
        for i in range(5):
            fake.add(
                f"A/m{i}",
                createdAt=CREATED,
                lastModified="2025-04-01T00:00:00Z",
                downloads=100 + i,
                downloadsAllTime=1000 + i,
                likes=i,
                pipeline_tag="text-generation",
                library_name="transformers",
                tags=[
                    "transformers",
                    "license:apache-2.0",
                    "base_model:Base/x",
                    "base_model:finetune:Base/x",
                ],
                gated=False,
                safetensors={"parameters": {"BF16": 7_000_000_000 + i}, "total": 7_000_000_000 + i},
                baseModels={"relation": "finetune", "models": [{"id": "Base/x"}]},
            )
        fake.add("B/solo", downloads=5, downloadsAllTime=50, gated="manual", tags=["license:mit"])
        fake.add("Other/x", downloads=7, downloadsAllTime=70)
        yield fake


def snapshot(
    hub: FakeHub, orgs: list[str], tracked: list[str] | None = None, **kw: object
) -> FetchResult:
    kw.setdefault("token", False)
    return fetch_snapshot(orgs, tracked or [], endpoint=hub.url, **kw)  # type: ignore[arg-type]


def ids(result: FetchResult) -> list[str]:
    return [m.model_id for m in result.models]


def test_every_listed_model_lands_with_exact_counts(hub: FakeHub) -> None:
    result = snapshot(hub, ["A", "B"], ["A/m0", "B/solo"])

    assert sorted(ids(result)) == ["A/m0", "A/m1", "A/m2", "A/m3", "A/m4", "B/solo"]
    assert ids(result)[-1] == "B/solo"  # orgs in the order asked, whatever finished first
    m3 = next(m for m in result.models if m.model_id == "A/m3")
    assert m3 == HubModel(
        model_id="A/m3",
        hub_id=hub_id_for("A/m3"),
        author="A",
        created_at=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
        last_modified=datetime(2025, 4, 1, tzinfo=UTC),
        downloads_30d=103,
        downloads_all_time=1003,
        likes=3,
        pipeline_tag="text-generation",
        library_name="transformers",
        tags=(
            "transformers",
            "license:apache-2.0",
            "base_model:Base/x",
            "base_model:finetune:Base/x",
        ),
        gated=False,
        license="apache-2.0",
        safetensors_total=7_000_000_003,
        gguf_total=None,
        base_models=(("finetune", "Base/x"),),
        observed_at=m3.observed_at,
    )
    solo = next(m for m in result.models if m.model_id == "B/solo")
    assert (solo.downloads_30d, solo.downloads_all_time, solo.gated, solo.license) == (
        5,
        50,
        "manual",
        "mit",
    )
    assert m3.observed_at.tzinfo is UTC
    assert result.requests == 4 == hub.requests  # 3 pages of A, 1 of B, no lookups
    assert hub.requests_by_path == {"/api/models": 4}
    assert result.org_counts == {"A": 5, "B": 1}
    assert (result.failed_orgs, result.missing_ids, result.failed_ids, result.renamed) == (
        {},
        [],
        {},
        {},
    )
    assert result.warnings == []
    assert result.status == "ok"
    assert all(q.count("expand=") == len(EXPAND) for _, q in hub.log)
    assert hub.authorizations == [None] * 4


def test_requests_are_pages_plus_lookups_of_unlisted_tracked_ids(hub: FakeHub) -> None:
    result = snapshot(hub, ["A"], ["A/m1", "Other/x", "Gone/y"])

    assert result.requests == 3 + 2 == hub.requests
    assert hub.requests_by_path == {
        "/api/models": 3,
        "/api/models/Other/x": 1,
        "/api/models/Gone/y": 1,
    }
    assert ids(result)[-1] == "Other/x"
    assert len(result.models) == 6
    assert result.missing_ids == ["Gone/y"]
    assert result.status == "ok"


def test_429_with_retry_after_is_waited_out_and_succeeds(hub: FakeHub, sleeps: list[float]) -> None:
    hub.fail("status", status=429, retry_after=2, times=1, org="A", page=2)
    hub.fail("status", status=429, retry_after=1, times=1, path="/api/models/Other/x")

    result = snapshot(hub, ["A"], ["Other/x"], max_workers=1)

    assert sorted(ids(result)) == ["A/m0", "A/m1", "A/m2", "A/m3", "A/m4", "Other/x"]
    assert result.requests == 3 + 1 + 2 == hub.requests
    assert sleeps == [3.0, 2.0]  # Retry-After plus the client's one-second margin
    assert result.status == "ok"
    assert result.warnings == ["2 answers were 408/429/5xx and retried or given up"]


def test_a_retry_after_beyond_the_cap_fails_the_org_without_waiting(
    hub: FakeHub, sleeps: list[float]
) -> None:
    hub.fail("status", status=429, retry_after=600, times=None, org="B")

    result = snapshot(hub, ["A", "B"], retry_after_cap=60)

    assert result.failed_orgs == {
        "B": "RateLimited: the Hub answered 429 and asked to wait 600s, over the 60s cap; try again later"
    }
    assert sleeps == []
    assert result.requests == 4
    assert result.org_counts == {"A": 5}


def test_persistent_5xx_fails_that_org_and_the_others_complete(
    hub: FakeHub, sleeps: list[float]
) -> None:
    hub.fail("status", status=503, times=None, org="B")

    result = snapshot(hub, ["A", "B"], ["B/solo", "A/m0"])

    assert list(result.failed_orgs) == ["B"]
    assert result.failed_orgs["B"] == (
        f"HfHubHTTPError: Server error '503 Service Unavailable' for url '{hub.url}/api/models' "
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/503"
    )  # the body of a 5xx is the load balancer's HTML page: nothing of it is worth quoting
    assert sorted(ids(result)) == ["A/m0", "A/m1", "A/m2", "A/m3", "A/m4"]
    assert sleeps == [1, 2, 4, 8, 8]
    assert result.requests == 3 + 6 == hub.requests  # B: one try and five retries; no lookup
    assert result.missing_ids == []  # B/solo is unknown, not gone
    assert result.status == "partial"


def test_malformed_json_fails_the_org_and_keeps_none_of_its_rows(hub: FakeHub) -> None:
    hub.fail("malformed", times=None, org="A", page=2)

    result = snapshot(hub, ["A", "B"])

    assert list(result.failed_orgs) == ["A"]
    assert result.failed_orgs["A"].startswith("JSONDecodeError: ")
    assert ids(result) == ["B/solo"]
    assert result.requests == 3


def test_truncated_and_dropped_answers_are_retried(hub: FakeHub, sleeps: list[float]) -> None:
    hub.fail("truncated", times=1, org="A", page=2)
    hub.fail("drop", times=1, org="B")

    result = snapshot(hub, ["A", "B"])

    assert result.status == "ok"
    assert len(result.models) == 6
    assert result.requests == 4 + 2 == hub.requests
    assert sleeps == [1, 1]


def test_a_slow_answer_times_out_and_is_retried(hub: FakeHub, sleeps: list[float]) -> None:
    hub.fail("slow", delay=1.0, times=1, org="B")

    result = snapshot(hub, ["B"], timeout=0.2)

    assert ids(result) == ["B/solo"]
    assert result.requests == 2
    assert sleeps == [1]


def test_missing_fields_are_none_not_zero(hub: FakeHub) -> None:
    hub.add("C/bare")

    (bare,) = snapshot(hub, ["C"]).models

    assert bare == HubModel(
        model_id="C/bare",
        hub_id=hub_id_for("C/bare"),
        author="C",
        created_at=None,
        last_modified=None,
        downloads_30d=None,
        downloads_all_time=None,
        likes=None,
        pipeline_tag=None,
        library_name=None,
        tags=(),
        gated=None,
        license=None,
        safetensors_total=None,
        gguf_total=None,
        base_models=(),
        observed_at=bare.observed_at,
    )


def test_a_mistyped_field_becomes_none_with_a_warning(hub: FakeHub) -> None:
    hub.add("C/odd", hostile=True, downloads="lots", downloadsAllTime=12)

    result = snapshot(hub, ["C"])

    (odd,) = result.models
    assert (odd.downloads_30d, odd.downloads_all_time) == (None, 12)
    assert result.warnings == [
        "C/odd: downloads='lots' is not a non-negative integer; recorded as unknown"
    ]
    assert result.status == "ok"


def test_an_item_the_client_cannot_parse_fails_only_its_org(hub: FakeHub) -> None:
    hub.add("C/bad-date", hostile=True, createdAt="yesterday")

    result = snapshot(hub, ["B", "C"])

    assert result.failed_orgs == {
        "C": "ValueError: Cannot parse 'yesterday' as a datetime. Date string is expected to "
        "follow '%Y-%m-%dT%H:%M:%S.%fZ' pattern."
    }
    assert ids(result) == ["B/solo"]


def test_a_vanished_repo_is_reported_missing(hub: FakeHub) -> None:
    assert snapshot(hub, ["B"], ["B/solo"]).missing_ids == []
    hub.remove("B/solo")
    hub.reset_counts()

    result = snapshot(hub, ["B"], ["B/solo"])

    assert result.models == []
    assert result.missing_ids == ["B/solo"]
    assert result.requests == 2 == hub.requests  # an empty page, then one 404
    assert result.org_counts == {"B": 0}


def test_a_rename_to_another_namespace_follows_the_redirect_and_keeps_hub_id(hub: FakeHub) -> None:
    hub.rename("B/solo", "Z/solo-v2")

    result = snapshot(hub, ["B"], ["B/solo"])

    (moved,) = result.models
    assert (moved.model_id, moved.hub_id, moved.downloads_30d) == (
        "Z/solo-v2",
        hub_id_for("B/solo"),
        5,
    )
    assert result.renamed == {"B/solo": "Z/solo-v2"}
    assert result.missing_ids == []
    assert result.requests == 1 + 2  # B's empty page; the 307 and the new path
    assert hub.requests_by_path["/api/models/Z/solo-v2"] == 1


def test_a_rename_inside_a_listed_org_is_linked_by_hub_id_without_a_request(hub: FakeHub) -> None:
    hub.rename("A/m1", "A/m1-Instruct")

    result = snapshot(hub, ["A"], ["A/m1"], known_hub_ids={"A/m1": hub_id_for("A/m1")})

    assert result.renamed == {"A/m1": "A/m1-Instruct"}
    assert result.requests == 3
    assert len(result.models) == 5


def test_a_rename_inside_a_listed_org_without_known_hub_id_adds_no_duplicate(hub: FakeHub) -> None:
    hub.rename("A/m1", "A/m1-Instruct")

    result = snapshot(hub, ["A"], ["A/m1"])

    assert result.renamed == {"A/m1": "A/m1-Instruct"}
    assert result.requests == 3 + 2
    assert sorted(ids(result)) == ["A/m0", "A/m1-Instruct", "A/m2", "A/m3", "A/m4"]


def test_a_count_going_down_is_reported_as_the_hub_says(hub: FakeHub) -> None:
    hub.update("B/solo", downloads=3, downloadsAllTime=40)

    (solo,) = snapshot(hub, ["B"]).models

    assert (solo.downloads_30d, solo.downloads_all_time) == (3, 40)


def test_a_pagination_loop_fails_the_org(hub: FakeHub) -> None:
    hub.fail("loop", times=None, org="A", page=2, loop_to=1)

    result = snapshot(hub, ["A", "B"])

    assert result.failed_orgs == {
        "A": "HubError: the listing of A returned A/m2 twice (pagination loop)"
    }
    assert ids(result) == ["B/solo"]
    assert hub.requests_by_path["/api/models"] == 3 + 1  # page 1, page 2, page 1 again; B


def test_a_second_spelling_of_a_listed_id_is_the_same_repo_and_the_first_is_kept(
    hub: FakeHub,
) -> None:
    """Issue 18: a hostile listing with ``A/m2`` and ``A/M2`` failed all of A as a loop."""
    fields = {k: v for k, v in hub.repos["A/m2"].items() if k not in ("_id", "id", "author")}
    hub.add("A/M2", **{**fields, "downloads": 1})

    result = snapshot(hub, ["A"])

    assert result.failed_orgs == {}
    kept, dropped = sorted(["A/m2", "A/M2"], key=hub_id_for)  # the fake lists by _id
    assert [m for m in ids(result) if m.lower() == "a/m2"] == [kept]
    assert result.warnings == [
        f"the listing of A returned {dropped} after {kept}: one repo to the Hub "
        f"(ids are case-insensitive); kept {kept}"
    ]


def test_an_exhausted_budget_fails_the_remaining_orgs_and_lookups(hub: FakeHub) -> None:
    message = (
        "HubError: request budget of 3 exhausted before this request; "
        "raise collector.request_budget or track fewer orgs"
    )

    result = snapshot(hub, ["A", "B", "Other"], ["Other/y"], max_workers=1, request_budget=3)

    assert result.org_counts == {"A": 5}
    assert result.failed_orgs == {"B": message, "Other": message}
    assert result.failed_ids == {}  # Other/y's org failed: not looked up
    assert result.requests == 3 == hub.requests
    assert result.status == "partial"

    result = snapshot(hub, ["B"], ["Other/x"], request_budget=1)
    assert result.failed_ids == {"Other/x": message.replace("of 3", "of 1")}


def test_the_token_is_sent_but_never_reported(
    hub: FakeHub,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub.echo_auth_in_errors = True
    hub.fail("status", status=500, times=None, org="A")
    hub.fail("status", status=403, times=None, path="/api/models/Other/x")
    hub.remove("B/solo")
    caplog.set_level(logging.DEBUG)

    explicit = snapshot(hub, ["A"], ["Other/x", "B/solo"], token=CANARY)
    monkeypatch.setenv("HF_TOKEN", CANARY)
    from_env = fetch_snapshot(["A"], ["Other/x"], endpoint=hub.url)

    assert set(hub.authorizations) == {f"Bearer {CANARY}"}
    for result in (explicit, from_env):
        assert "A" in result.failed_orgs and "Other/x" in result.failed_ids
        assert (
            result.failed_ids["Other/x"]
            == "HfHubHTTPError: 403 Forbidden: None. Cannot access content at: "
            f"{hub.url}/api/models/Other/x Make sure your token has the correct permissions. "
            "fake Hub switch (you sent Bearer ***)"
        )
        assert CANARY not in repr(result)
    assert explicit.missing_ids == ["B/solo"]
    assert CANARY not in caplog.text


def test_hf_endpoint_from_the_environment_is_honoured(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)

    result = fetch_snapshot(["B"], token=False)

    assert ids(result) == ["B/solo"]
    assert hub.requests == 1


def test_progress_is_reported_per_org_and_per_lookup(hub: FakeHub) -> None:
    calls: list[tuple[str, int]] = []

    snapshot(
        hub, ["A", "B"], ["Other/x", "Gone/y"], max_workers=1, progress=lambda *a: calls.append(a)
    )

    assert calls == [("A", 5), ("B", 1), ("Other/x", 1), ("Gone/y", 0)]


def test_everything_failing_is_a_failed_run(hub: FakeHub, sleeps: list[float]) -> None:
    hub.fail("status", status=502, times=None)

    result = snapshot(hub, ["A"], ["Other/x"])

    assert result.status == "failed"
    assert result.models == []
    assert list(result.failed_orgs) == ["A"]
    assert result.failed_ids == {
        "Other/x": f"HfHubHTTPError: Server error '502 Bad Gateway' for url '{hub.url}/api/models/Other/x' "
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/502"
    }
    assert sleeps == [1, 2, 4, 8, 8] * 2  # the listing's retries, then the lookup's


def test_the_full_catalog_lands_in_one_listing_pass_per_org() -> None:
    with FakeHub(page_size=100) as fake:
        catalog = populate(fake)
        per_org = Counter(model_id.split("/")[0].lower() for model_id in fake.repos)
        pages = sum(max(1, math.ceil(per_org[o.lower()] / 100)) for o in catalog.orgs)

        result = fetch_snapshot(catalog.orgs, catalog.tracked_ids, endpoint=fake.url, token=False)

    assert (len(catalog.orgs), len(catalog.tracked_ids), len(fake.repos)) == (118, 1958, 2051)
    assert result.requests == pages == 125
    assert sorted(m.model_id for m in result.models) == sorted(fake.repos)
    assert (result.status, result.missing_ids, result.warnings) == ("ok", [], [])
    landed = {m.model_id: m for m in result.models}
    for model_id, repo in fake.repos.items():
        assert landed[model_id].downloads_30d == repo["downloads"]
        assert landed[model_id].downloads_all_time == repo["downloadsAllTime"]


def test_fetch_org_yields_parsed_models_from_one_listing(hub: FakeHub) -> None:
    warnings: list[str] = []

    models = list(fetch_org(HfApi(endpoint=hub.url, token=False), "A", warnings))

    assert sorted(m.model_id for m in models) == ["A/m0", "A/m1", "A/m2", "A/m3", "A/m4"]
    assert warnings == []


# -- the Hub refuses a parameter (an API change) ---------------------------------------------


def test_a_refused_parameter_stops_the_run_with_one_line(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.allow_violations = True  # this test sends what the Hub refuses, on purpose
    monkeypatch.setattr(collector, "EXPAND", (*EXPAND, "baseModels"))  # the old collector

    result = snapshot(hub, ["A", "B", "Other"], ["Other/x"], max_workers=1)

    assert result.status == "failed"
    assert result.refused == (
        'the Hub refused a request parameter ("expand" must be one of the allowed values, '
        "got 'baseModels'): this version of ram asks for something the Hub no longer accepts; "
        "upgrade ram (pip install -U ram-tracker) or report this line as an issue"
    )
    assert result.failed_orgs == {} and result.failed_ids == {}  # not one failure per org
    assert hub.requests == 1  # nothing more is asked once the Hub said no
    assert result.models == []


def test_listed_repos_get_their_base_model_and_relation_from_tags(hub: FakeHub) -> None:
    hub.add(
        "C/c-7B-GGUF",
        tags=["gguf", "base_model:C/c-7B", "base_model:quantized:C/c-7B", "base_model:C/other"],
    )

    result = snapshot(hub, ["C"])

    (gguf,) = result.models
    assert gguf.base_models == (("quantized", "C/c-7B"), (None, "C/other"))
    assert all("baseModels" not in query for _, query in hub.log)


def test_a_users_client_factory_keeps_its_hooks_and_the_run_still_counts(hub: FakeHub) -> None:
    """Issue 14: the collector read huggingface_hub's private factory (``utils._http``) to wrap
    it.  It now adds its hooks to the shared client through the public ``get_session``, so a
    client a user configured with ``set_client_factory`` (a proxy, certificates, a hook of their
    own) is the one used, with the budget and the counts still applied; and a client made anew
    after ``close_session`` gets the hooks again."""
    import httpx2
    from huggingface_hub import close_session, set_client_factory

    seen: list[str] = []

    def factory() -> httpx2.Client:
        return httpx2.Client(
            event_hooks={"request": [lambda request: seen.append(request.url.path)]},
            follow_redirects=True,
            timeout=None,
        )

    set_client_factory(factory)
    try:
        result = snapshot(hub, ["A", "B"], ["Other/y"], max_workers=1)
        assert result.requests == hub.requests == len(seen) > 0
        close_session()  # the next client comes from the factory again, without our hooks
        before = hub.requests
        again = snapshot(hub, ["A"], max_workers=1, request_budget=1)
        assert again.requests == hub.requests - before == 1  # counted, and held to its budget
    finally:
        set_client_factory(_default_factory())


def _default_factory() -> Any:
    """huggingface_hub's default client factory, to restore after the test (tests may read
    private modules; the collector does not)."""
    from huggingface_hub.utils import _http

    return _http.default_client_factory


def test_the_collectors_use_only_huggingface_hubs_public_api() -> None:
    import ast

    private = []
    for path in sorted((ROOT / "collectors").glob("*.py")) + sorted((ROOT / "ram").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "huggingface_hub" and any(p.startswith("_") for p in parts[1:]):
                    private.append(f"{path.relative_to(ROOT)}: {name}")
    assert private == []
