"""``ram doctor``: the live smoke check against the contract test Hub, each failure included."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from collectors import hub as collector
from tests.conftest import CliRunner
from tests.fakehub import FakeHub

GOOD = "hf_DOCTORtoken000"
REPO = {
    "createdAt": "2025-01-02T03:04:05.000Z",
    "downloads": 120,
    "downloadsAllTime": 4000,
    "likes": 3,
    "pipeline_tag": "text-generation",
    "library_name": "transformers",
    "tags": ["transformers", "license:apache-2.0"],
    "safetensors": {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000},
}


@pytest.fixture
def hub(hub_client: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub(page_size=2, tokens={GOOD}) as fake:
        for name in ("Qwen2.5-7B-Instruct", "Qwen2.5-0.5B", "Qwen3-8B"):
            fake.add(f"Qwen/{name}", **REPO)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def lines(out: str) -> dict[str, str]:
    return {line[:11].strip(): line[12:] for line in out.splitlines() if line[:11].strip()}


def test_a_healthy_hub_passes_in_two_requests(cli: CliRunner, hub: FakeHub) -> None:
    r = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")

    assert r.code == 0, r.err
    got = lines(r.out)
    assert got["endpoint"] == hub.url
    assert got["token"] == "none (anonymous)"
    assert got["listing"].startswith("GET /api/models?author=Qwen: HTTP 200 in ")
    assert got["listing"].endswith(", 3 repos, one page")  # limit=100 asks for one page
    assert got["model_info"].startswith("GET /api/models/Qwen/Qwen3-8B: HTTP 200 in ")
    assert "downloadsAllTime 3/3" in r.out and "downloadsAllTime 1/1" in r.out
    assert "gguf 0/3" in r.out  # asked for, absent: these repos have no GGUF
    assert got["rate limit"] == "'api': 498 requests left of 500 per 300s window, resets in 300s"
    assert got["requests"] == "2"
    assert got["verdict"] == "OK: the Hub answers both routes with what ram snapshot needs"
    assert hub.requests == 2 and hub.violations == []


def test_the_default_target_is_a_tracked_qwen_repo(cli: CliRunner, hub: FakeHub) -> None:
    r = cli("doctor")

    assert "GET /api/models?author=Qwen" in r.out
    (path,) = [p for p, _ in hub.log if p.startswith("/api/models/")]
    assert path.startswith("/api/models/Qwen/")


def test_the_token_is_said_to_be_sent_and_never_shown(
    cli: CliRunner, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", GOOD)

    r = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B", "--format", "json")

    assert r.code == 0
    assert GOOD not in r.out + r.err
    found = json.loads(r.out)
    assert (found["token_used"], found["token_source"], found["ok"]) == (True, "HF_TOKEN", True)
    assert found["listing"]["fields"]["downloads"] == 3
    assert found["checked_at"].endswith("Z")
    assert set(hub.authorizations) == {f"Bearer {GOOD}"}


def test_a_bad_token_fails_with_the_remedy(
    cli: CliRunner, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_WRONGtoken99")

    r = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")

    assert r.code == 1
    assert lines(r.out)["verdict"] == (
        "FAIL: the Hub refused the token (401): check HF_TOKEN, or unset it to go anonymous"
    )
    assert "hf_WRONGtoken99" not in r.out + r.err


def test_a_refused_parameter_fails_naming_it(
    cli: CliRunner, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.allow_violations = True  # the old collector's request, on purpose
    monkeypatch.setattr(collector, "EXPAND", (*collector.EXPAND, "baseModels"))
    monkeypatch.setattr("collectors.hub_probe.EXPAND", collector.EXPAND)

    r = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")

    assert r.code == 1
    verdict = lines(r.out)["verdict"]
    assert verdict.startswith("FAIL: the Hub refused a request parameter (")
    assert "got 'baseModels'" in verdict and "upgrade ram" in verdict


def test_a_rate_limit_beyond_the_cap_says_how_long_to_wait(
    cli: CliRunner, hub: FakeHub, sleeps: list[float]
) -> None:
    hub.fail("status", status=429, retry_after=900, times=None)

    r = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")

    assert r.code == 1
    assert lines(r.out)["verdict"] == (
        "FAIL: RateLimited: the Hub answered 429 and asked to wait 900s, over the 60s cap; "
        "try again later"
    )
    assert "'api': 0 requests left" in r.out


def test_an_outage_and_an_unreachable_hub_fail_with_what_to_do(
    cli: CliRunner, hub: FakeHub, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.fail("status", status=503, times=None)
    outage = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    away = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")

    assert (outage.code, away.code) == (1, 1)
    assert lines(outage.out)["verdict"] == (
        "FAIL: the Hub answered 503: a Hub outage; try again later"
    )
    assert lines(away.out)["verdict"].startswith("FAIL: cannot reach http://127.0.0.1:9 (")
    assert lines(away.out)["verdict"].endswith(
        "check the network, a proxy (HTTPS_PROXY) or HF_ENDPOINT"
    )
    assert lines(away.out)["listing"] == "GET /api/models?author=Qwen: no answer"


def test_a_missing_repo_an_empty_org_and_a_missing_count_each_fail(
    cli: CliRunner, hub: FakeHub
) -> None:
    gone = cli("doctor", "--org", "Qwen", "--model", "Qwen/Nope")
    empty = cli("doctor", "--org", "Nobody", "--model", "Qwen/Qwen3-8B")
    counts = {k: v for k, v in REPO.items() if k != "downloadsAllTime"}
    hub.add("Qwen/Qwen3-8B", **counts)
    hub.add("Qwen/Qwen2.5-0.5B", **counts)
    hub.add("Qwen/Qwen2.5-7B-Instruct", **counts)
    missing = cli("doctor", "--org", "Qwen", "--model", "Qwen/Qwen3-8B")

    assert (gone.code, empty.code, missing.code) == (1, 1, 1)
    assert lines(gone.out)["verdict"] == (
        "FAIL: Qwen/Nope is not on the Hub (or private): pick another (--model)"
    )
    assert lines(empty.out)["verdict"] == (
        "FAIL: the listing of Nobody is empty: pick an org with public models (--org)"
    )
    assert lines(missing.out)["verdict"].startswith(
        "FAIL: GET /api/models?author=Qwen answered without downloadsAllTime, which RAM is made of"
    )


def test_a_model_without_an_org_is_bad_input(cli: CliRunner, hub: FakeHub) -> None:
    r = cli("doctor", "--model", "justaname")
    assert r.code == 2
    assert r.err == "Error: --model takes ORG/NAME, got 'justaname'\n"
    assert hub.requests == 0


def test_csv_is_refused_before_any_request(cli: CliRunner, hub: FakeHub) -> None:
    r = cli("doctor", "--format", "csv")
    assert r.code == 2
    assert r.err == (
        "Error: ram doctor prints a table or JSON; use --format table or --format json\n"
    )
    assert hub.requests == 0
