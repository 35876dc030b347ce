"""Parsing Hub answers into records, and a fetch result's run status."""

from __future__ import annotations

from datetime import UTC, datetime

from huggingface_hub import ModelInfo

from collectors.hub import FetchResult
from collectors.hub_records import HubModel, parse_model

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_mistyped_fields_become_none_with_one_warning_each() -> None:
    info = ModelInfo(
        id="C/odd",
        _id=12,
        author=["C"],
        downloads="lots",
        downloadsAllTime=True,
        likes=-3,
        tags=["ok", 5],
        gated=7,
        gguf="big",
        pipeline_tag=3,
        safetensors={"parameters": {}, "total": "8B"},
        baseModels={"relation": "merge", "models": [{"id": 3}]},
    )
    warnings: list[str] = []

    odd = parse_model(info, NOW, warnings)

    assert odd == HubModel(
        model_id="C/odd",
        hub_id=None,
        author="C",
        created_at=None,
        last_modified=None,
        downloads_30d=None,
        downloads_all_time=None,
        likes=None,
        pipeline_tag=None,
        library_name=None,
        tags=("ok",),
        gated=None,
        license=None,
        safetensors_total=None,
        gguf_total=None,
        base_models=(),
        observed_at=NOW,
    )
    assert warnings == [
        "C/odd: 1 non-string tags dropped",
        "C/odd: gated=7 is not a flag or approval mode; recorded as unknown",
        "C/odd: safetensors.total='8B' is not a non-negative integer; recorded as unknown",
        "C/odd: gguf='big' is not an object; recorded as unknown",
        "C/odd: _id=12 is not a string; recorded as unknown",
        "C/odd: author=['C'] is not a string; recorded as unknown",
        "C/odd: downloads='lots' is not a non-negative integer; recorded as unknown",
        "C/odd: downloadsAllTime=True is not a non-negative integer; recorded as unknown",
        "C/odd: likes=-3 is not a non-negative integer; recorded as unknown",
        "C/odd: pipeline_tag=3 is not a string; recorded as unknown",
        "C/odd: baseModels={'relation': 'merge', 'models': [{'id... is not a list of base "
        "models; recorded as unknown",
    ]


def test_license_from_card_data_and_base_models_from_tags() -> None:
    info = ModelInfo(
        id="Q/q-GGUF",
        _id="abc",
        tags=["gguf", "base_model:Q/q", "base_model:quantized:Q/q"],
        cardData={"license": "other"},
        gguf={"total": 8_030_261_248, "architecture": "llama"},
    )
    warnings: list[str] = []

    model = parse_model(info, NOW, warnings)

    assert model is not None
    assert (model.license, model.base_models, model.gguf_total) == (
        "other",
        (("quantized", "Q/q"),),
        8_030_261_248,
    )
    assert (model.hub_id, model.author, model.observed_at) == ("abc", "Q", NOW)
    assert warnings == []


def test_a_license_tag_beats_card_data_and_base_models_may_be_bare_ids() -> None:
    info = ModelInfo(
        id="Q/q",
        tags=["license:apache-2.0"],
        cardData={"license": "mit"},
        baseModels=["Base/a", "Base/b"],
    )

    model = parse_model(info, NOW, [])

    assert model is not None
    assert (model.license, model.base_models) == (
        "apache-2.0",
        ((None, "Base/a"), (None, "Base/b")),
    )


def test_an_answer_without_an_org_name_id_is_skipped_and_noted() -> None:
    warnings: list[str] = []

    assert parse_model(ModelInfo(id="no-namespace"), NOW, warnings) is None
    assert warnings == [
        "listing: id='no-namespace' is not an org/name repo id; recorded as unknown"
    ]


def test_run_status_follows_what_was_observed() -> None:
    one = parse_model(ModelInfo(id="B/b", downloads=3), NOW, [])
    assert one is not None
    assert FetchResult(models=[one]).status == "ok"
    assert FetchResult(models=[one], failed_orgs={"A": "x"}).status == "partial"
    assert FetchResult(models=[one], failed_ids={"A/a": "x"}).status == "partial"
    # Nothing observed is a failed run, however the Hub answered (issue 18: a 404 to everything).
    assert FetchResult().status == "failed"
    assert FetchResult(failed_orgs={"A": "x"}).status == "failed"
    assert FetchResult(failed_orgs={"A": "x"}, org_counts={"B": 0}).status == "failed"
    assert FetchResult(failed_ids={"A/a": "x"}, missing_ids=["A/b"]).status == "failed"
    assert FetchResult(models=[one], refused="400").status == "failed"
