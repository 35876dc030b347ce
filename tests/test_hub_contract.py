"""The test Hub refuses what the real Hub refuses: each rule of ``tests/hub_contract.py``, driven
through the real ``huggingface_hub`` client (or raw HTTP where the client itself refuses first)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import get_args

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import ExpandModelProperty_T
from huggingface_hub.utils import parse_ratelimit_headers

from collectors import hub as collector
from tests import hub_contract as contract
from tests.fakehub import FakeHub

GOOD = "hf_GOODtoken0000"


@pytest.fixture
def hub(hub_client: None) -> Iterator[FakeHub]:
    with FakeHub(page_size=2, tokens={GOOD}) as fake:
        for i in range(5):
            fake.add(f"A/m{i}", downloads=i, tags=["text-generation"])
        fake.add("A/secret", private=True, downloads=7)
        yield fake


def api(hub: FakeHub, token: str | bool = False) -> HfApi:
    return HfApi(endpoint=hub.url, token=token)


# -- the rule sets are the installed client's own ------------------------------------------


def test_the_listing_expand_set_is_the_one_list_models_documents() -> None:
    doc = HfApi.list_models.__doc__ or ""
    section = doc[doc.index("expand (") : doc.index("full (")]
    documented = set(re.findall(r'`"([\w-]+)"`', section))

    assert documented == contract.LISTING_EXPAND


def test_the_detail_expand_set_is_expand_model_property_and_the_difference_is_pr_3182() -> None:
    assert set(get_args(ExpandModelProperty_T)) == contract.DETAIL_EXPAND
    assert contract.DETAIL_EXPAND - contract.LISTING_EXPAND == contract.DETAIL_ONLY_EXPAND
    assert {"baseModels", "childrenModelCount", "usedStorage"} == contract.DETAIL_ONLY_EXPAND


def test_the_collector_asks_the_listing_only_for_what_it_accepts() -> None:
    assert set(collector.EXPAND) <= contract.LISTING_EXPAND
    assert collector.DETAIL_ONLY == contract.DETAIL_ONLY_EXPAND


# -- expand per route ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [*sorted(contract.DETAIL_ONLY_EXPAND), "nonsense"])
def test_a_listing_expand_outside_its_set_is_a_400(hub: FakeHub, value: str) -> None:
    hub.allow_violations = True
    with pytest.raises(
        BadRequestError, match=f'"expand" must be one of the allowed values, got {value!r}'
    ):
        list(api(hub).list_models(author="A", expand=[value]))  # type: ignore[list-item]
    assert len(hub.violations) == 1 and value in hub.violations[0]


@pytest.mark.parametrize("value", sorted(contract.DETAIL_ONLY_EXPAND))
def test_the_detail_route_accepts_the_detail_only_properties(hub: FakeHub, value: str) -> None:
    info = api(hub).model_info("A/m1", expand=[value])  # type: ignore[list-item]
    assert info.id == "A/m1"
    assert hub.violations == []


def test_a_detail_expand_outside_its_set_is_a_400(hub: FakeHub) -> None:
    hub.allow_violations = True
    with pytest.raises(BadRequestError, match="got 'downloadsLastWeek'"):
        api(hub).model_info("A/m1", expand=["downloadsLastWeek"])  # type: ignore[list-item]


@pytest.mark.parametrize("other", ["full=true", "cardData=true", "config=true"])
def test_expand_with_full_card_data_or_config_is_a_400(hub: FakeHub, other: str) -> None:
    hub.allow_violations = True  # the client refuses this itself; raw HTTP asks the server
    answer = httpx2.get(f"{hub.url}/api/models?author=A&expand=likes&{other}")
    assert answer.status_code == 400
    assert "cannot be used together" in answer.json()["error"]


def test_unknown_query_parameters_are_refused_and_recorded(hub: FakeHub) -> None:
    hub.allow_violations = True
    assert httpx2.get(f"{hub.url}/api/models?author=A&page=2").status_code == 400
    assert httpx2.get(f"{hub.url}/api/models/A/m1?full=true").status_code == 400
    assert [v.split(":")[0] for v in hub.violations] == [
        "GET /api/models?author=A&page=2",
        "GET /api/models/A/m1?full=true",
    ]


# -- pagination ----------------------------------------------------------------------------


def test_pages_follow_the_link_header_with_an_opaque_cursor(hub: FakeHub) -> None:
    first = httpx2.get(f"{hub.url}/api/models?author=A")
    link = first.links["next"]["url"]

    assert [m["id"] for m in first.json()] == ["A/m0", "A/m1"] or len(first.json()) == 2
    assert "cursor=" in link and "page=" not in link
    assert len(httpx2.get(link).json()) == 2
    assert sorted(m.id for m in api(hub).list_models(author="A")) == [f"A/m{i}" for i in range(5)]
    assert hub.violations == []


def test_a_cursor_no_link_handed_out_is_refused(hub: FakeHub) -> None:
    hub.allow_violations = True
    answer = httpx2.get(f"{hub.url}/api/models?author=A&cursor=WyJ4IiwgMl0%3D")
    assert answer.status_code == 400
    assert "a cursor no Link header handed out" in hub.violations[0]


def test_limit_sets_the_page_size_up_to_the_hubs_maximum(hub: FakeHub) -> None:
    hub.page_size = contract.MAX_PAGE
    for i in range(5, 1003):
        hub.add(f"A/m{i}")
    one = httpx2.get(f"{hub.url}/api/models?author=A&limit=3")
    big = httpx2.get(f"{hub.url}/api/models?author=A&limit=5000")

    assert len(one.json()) == 3 and "next" in one.links
    assert len(big.json()) == contract.MAX_PAGE and "next" in big.links
    hub.allow_violations = True
    assert httpx2.get(f"{hub.url}/api/models?author=A&limit=0").status_code == 400


# -- errors, tokens, private repos ---------------------------------------------------------


def test_a_missing_repo_is_401_without_a_token_and_404_with_one(hub: FakeHub) -> None:
    anonymous = httpx2.get(f"{hub.url}/api/models/A/nope")
    signed = httpx2.get(f"{hub.url}/api/models/A/nope", headers={"authorization": f"Bearer {GOOD}"})

    assert (anonymous.status_code, signed.status_code) == (401, 404)
    assert anonymous.headers["X-Error-Code"] == signed.headers["X-Error-Code"] == "RepoNotFound"
    with pytest.raises(RepositoryNotFoundError):
        api(hub).model_info("A/nope")


def test_a_private_repo_is_listed_and_found_only_with_a_valid_token(hub: FakeHub) -> None:
    anonymous = [m.id for m in api(hub).list_models(author="A")]
    signed = [m.id for m in api(hub, GOOD).list_models(author="A")]

    assert "A/secret" not in anonymous and "A/secret" in signed
    with pytest.raises(RepositoryNotFoundError):
        api(hub).model_info("A/secret")
    assert api(hub, GOOD).model_info("A/secret").downloads == 7


def test_a_bad_token_is_refused_with_the_hubs_message(hub: FakeHub) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        api(hub, "hf_WRONGtoken").model_info("A/m1")
    assert not isinstance(caught.value, RepositoryNotFoundError)
    assert caught.value.response.status_code == 401
    assert caught.value.response.headers["X-Error-Message"] == contract.BAD_CREDENTIALS


def test_an_unknown_revision_is_revision_not_found(hub: FakeHub) -> None:
    assert api(hub).model_info("A/m1", revision="main").id == "A/m1"
    with pytest.raises(RevisionNotFoundError):
        api(hub).model_info("A/m1", revision="0" * 40)


def test_every_answer_carries_rate_limit_headers_and_a_429_says_when(hub: FakeHub) -> None:
    ok = httpx2.get(f"{hub.url}/api/models/A/m1")
    hub.fail("status", status=429, retry_after=30, times=1)
    limited = httpx2.get(f"{hub.url}/api/models/A/m1")

    info = parse_ratelimit_headers(ok.headers)
    assert info is not None and info.remaining > 0 and info.limit == contract.RATE_LIMIT_QUOTA
    spent = parse_ratelimit_headers(limited.headers)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert spent is not None and (spent.remaining, spent.reset_in_seconds) == (0, 30)


def test_a_5xx_body_is_html_not_json(hub: FakeHub) -> None:
    hub.fail("status", status=502, times=1)
    answer = httpx2.get(f"{hub.url}/api/models?author=A")
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "text/html"
    assert answer.text.startswith("<!DOCTYPE html>")


def test_other_routes_and_methods_are_violations(hub: FakeHub) -> None:
    hub.allow_violations = True
    assert httpx2.get(f"{hub.url}/api/model?author=A").status_code == 404
    assert httpx2.post(f"{hub.url}/api/models").status_code == 405
    assert len(hub.violations) == 2


# -- shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"downloads": None}, "downloads is null"),
        ({"createdAt": "2024-07-01 10:00:00"}, "createdAt '2024-07-01 10:00:00' is not ISO-8601"),
        ({"createdAt": "2024-07-01T10:00:00+00:00"}, "is not ISO-8601 UTC with Z"),
        ({"safetensors": {"total": 7}}, "safetensors is not"),
        ({"gguf": {"architecture": "llama"}}, "gguf is not"),
        ({"downloads": -1}, "downloads -1 is not a non-negative integer"),
        ({"tags": ["base_model:retrain:A/b"]}, "tag 'base_model:retrain:A/b' is not"),
    ],
)
def test_the_fake_refuses_repo_json_the_hub_never_sends(
    fields: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        FakeHub().add("A/x", **fields)
    FakeHub().add("A/x", hostile=True, **fields)  # a test of hostile values says so


def test_hub_shaped_json_is_accepted() -> None:
    repo = FakeHub().add(
        "A/x-GGUF",
        createdAt="2024-07-01T10:00:00.000Z",
        safetensors={"parameters": {"BF16": 7_000_000}, "total": 7_000_000},
        gguf={"total": 7_000_000, "architecture": "llama", "context_length": 32768},
        tags=["gguf", "base_model:A/x", "base_model:quantized:A/x"],
    )
    assert contract.shape_problems(repo) == []


# -- what the suite checks after every test ------------------------------------------------


def test_violations_are_what_the_suite_checks_after_each_test(hub: FakeHub) -> None:
    hub.allow_violations = True
    httpx2.get(f"{hub.url}/api/models?author=A&expand=baseModels")
    assert hub.violations == [
        "GET /api/models?author=A&expand=baseModels: "
        "\"expand\" must be one of the allowed values, got 'baseModels'"
    ]
