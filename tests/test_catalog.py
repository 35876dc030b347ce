"""The tracked set: size, release date and region resolution, and the tracking policy."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from collectors.panel import read_panel
from ram.catalog import load_catalog, params_from_name, resolve, tracked_ids, tracked_orgs
from ram.config import Config, parse_config
from tests.conftest import SAMPLE


@pytest.mark.parametrize(
    ("model_id", "params"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", 7.0),
        ("Qwen/Qwen2.5-0.5B", 0.5),
        ("HuggingFaceTB/SmolLM-135M-Instruct", 0.135),
        ("Qwen/Qwen2.5-7B-Instruct-1M", 7.0),  # a context length in M does not beat the B token
        ("Qwen/Qwen3-30B-A3B", 30.0),  # A3B is the active count
        # RAM_SPEC rev 2 §1: every size token counts and the largest wins; NxM is N x M.
        ("mistralai/Mixtral-8x7B-v0.1", 56.0),
        ("mistralai/Mixtral-8x22B-Instruct-v0.1", 176.0),
        ("allenai/OLMoE-1B-7B-0924-Instruct", 7.0),  # was 1-5B: the first token won
        ("Qwen/Qwen3-235B-A22B", 235.0),
        ("org/tiny-a22b", None),  # only an active-parameter token
        ("org/mix-500M-1.5B", 1.5),
        ("CohereForAI/aya-expanse-32b", 32.0),
        ("google/gemma-2-2b-it", 2.0),
        ("openai/whisper-large-v3", None),
    ],
)
def test_params_from_name(model_id: str, params: float | None) -> None:
    assert params_from_name(model_id) == params


def test_bundled_catalog_is_complete() -> None:
    cat = load_catalog()

    assert len(cat.main) == 1772
    assert len(cat.extra) == 186
    assert cat.params["deepseek-ai/DeepSeek-R1"] == (671.0, 37.0)
    assert cat.release["openai/gpt-oss-20b"] == dt.date(2025, 8, 5)
    assert cat.regions["deepseek-ai"] == "china"
    assert len(tracked_ids(Config())) == len(cat.model_ids)
    assert "Qwen" in tracked_orgs(Config())


def _frame(**cols: list[object]) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_resolution_order_and_sources() -> None:
    cfg = parse_config(
        {
            "tracking": {
                "params_b": {"a/override-7B": 7.5},
                "release_dates": {"a/override-7B": "2025-03-03"},
            }
        }
    )
    models = _frame(
        model_id=[
            "a/override-7B",
            "deepseek-ai/DeepSeek-R1",
            "a/imp-3B",
            "a/st",
            "a/gg",
            "a/nm-2B",
            "a/none",
            "openai/gpt-oss-20b",
        ],
        params_b_reported=[None, None, 3.2, None, None, None, None, None],
        safetensors_total=[None, 685e9, 1e9, 8.03e9, None, None, None, 21e9],
        gguf_total=[None, None, None, None, 4e8, None, None, None],
        created_at=[pd.Timestamp("2025-01-01", tz="UTC")] * 7
        + [pd.Timestamp("2025-08-04", tz="UTC")],
        via=["import"] * 8,
    )

    r = resolve(models, cfg).set_index("model_id")

    assert list(r["params_source"].fillna("-")) == [
        "config",
        "catalog",
        "import",
        "safetensors",
        "gguf",
        "name",
        "-",
        "safetensors",
    ]
    assert r.loc["deepseek-ai/DeepSeek-R1", "params_b"] == 671.0  # curated total, not the Hub's 685
    assert r.loc["deepseek-ai/DeepSeek-R1", "active_params_b"] == 37.0
    assert r.loc["a/st", "params_b"] == pytest.approx(8.03)
    assert r.loc["a/gg", "size_class"] == "<1B"
    assert r.loc["a/none", "size_class"] == "unknown"
    assert pd.isna(r.loc["a/none", "params_b"])
    assert r.loc["a/override-7B", "release_date"] == dt.date(2025, 3, 3)
    assert r.loc["a/override-7B", "release_source"] == "config"
    assert r.loc["openai/gpt-oss-20b", "release_date"] == dt.date(2025, 8, 5)
    assert r.loc["openai/gpt-oss-20b", "release_source"] == "correction"
    assert r.loc["a/st", "release_source"] == "created_at"
    assert r.loc["deepseek-ai/DeepSeek-R1", "region"] == "china"
    assert r.loc["a/none", "region"] == "unknown"


def test_tracking_policy() -> None:
    cfg = parse_config(
        {
            "tracking": {
                "include": ["bartowski/Keep-7B-GGUF"],
                "exclude": ["Qwen/Qwen2.5-7B-Instruct"],
            }
        }
    )
    models = _frame(
        model_id=[
            "Qwen/Qwen2.5-7B-Instruct",
            "bartowski/Keep-7B-GGUF",
            "Qwen/Qwen2.5-14B",
            "someone/Model-7B-GGUF",
            "meta-llama/Llama-Guard-3-8B",
            "newlab/Chat-7B",
            "newlab/mystery",
            "Qwen/Qwen9-7B",
            "Qwen/Qwen9-7B-embed",
            "Qwen/Qwen9-Audio-7B",
            "Qwen/Qwen9-1B",
            "Qwen/Old-7B",
            "nowhere/Thing-7B",
        ],
        via=[
            "import",
            "import",
            "import",
            "import",
            "import",
            "import",
            "import",
            "discovered",
            "discovered",
            "discovered",
            "discovered",
            "import",
            "discovered",
        ],
        pipeline_tag=[
            None,
            None,
            None,
            None,
            None,
            "text-generation",  # newlab/Chat-7B: a tagged import from an unknown org
            None,
            "text-generation",
            "text-generation",
            "audio-text-to-text",
            "text-generation",
            None,
            "text-generation",
        ],
        downloads_30d_max=[None] * 7 + [5000, 5000, 5000, 3, None, 9000],
        created_at=[pd.Timestamp("2026-10-01", tz="UTC")] * 11
        + [pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2026-10-01", tz="UTC")],
    )

    r = resolve(models, cfg).set_index("model_id")["tracked_reason"].to_dict()

    assert r == {
        "Qwen/Qwen2.5-7B-Instruct": "excluded in config",
        "bartowski/Keep-7B-GGUF": "included in config",
        "Qwen/Qwen2.5-14B": "ATOM catalog",
        "someone/Model-7B-GGUF": "rejected: a re-upload format: 'GGUF' in the name",
        "meta-llama/Llama-Guard-3-8B": "rejected: a safety classifier: 'Guard' in the name",
        "newlab/Chat-7B": "imported",
        # untagged, and its org is neither in the catalog nor in tracking.orgs (issue 12)
        "newlab/mystery": (
            "imported without a pipeline tag from an org outside the catalog and tracking.orgs: "
            "list the org under tracking.orgs or the repo under tracking.include to track it"
        ),
        "Qwen/Qwen9-7B": "new release of tracked org Qwen",
        "Qwen/Qwen9-7B-embed": "rejected: an embedding or rerank model: 'embed' in the name",
        "Qwen/Qwen9-Audio-7B": "rejected: pipeline tag audio-text-to-text",
        "Qwen/Qwen9-1B": "rejected: under 100 downloads",
        "Qwen/Old-7B": "Qwen is tracked through ATOM's catalog, which leaves this repo out",
        "nowhere/Thing-7B": "not in a tracked org",
    }


def test_real_panel_tracks_llms_and_leaves_out_reuploads_and_non_llms() -> None:
    models = read_panel(SAMPLE).models.assign(via="import")

    r = resolve(models, Config()).set_index("model_id")

    tracked = set(r.index[r["tracked"]])
    for reupload in [
        "Qwen/Qwen2.5-7B-Instruct-GGUF",
        "Qwen/Qwen2.5-7B-Instruct-AWQ",
        "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4",
        "mlx-community/Llama-3.2-1B-Instruct-4bit",
        "bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF",
        "unsloth/Llama-3.3-70B-Instruct",
    ]:
        assert reupload not in tracked, reupload
    for non_llm in [
        "facebook/sam2-hiera-large",
        "black-forest-labs/FLUX.1-dev",
        "amazon/chronos-bolt-small",
        "BAAI/bge-en-icl",
        "meta-llama/Prompt-Guard-86M",
        "facebook/sapiens-depth-0.3b-bfloat16",
        "stabilityai/stable-diffusion-3.5-large",
    ]:
        assert non_llm not in tracked, non_llm
    expect = {
        "Qwen/Qwen2.5-7B-Instruct": ("5-10B", "name"),
        "meta-llama/Llama-3.2-1B-Instruct": ("1-5B", "name"),
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": ("10-50B", "name"),
        "deepseek-ai/DeepSeek-R1": ("250B+", "catalog"),
        "mistralai/Mistral-Nemo-Instruct-2407": ("10-50B", "catalog"),
    }
    for model_id, (size_class, source) in expect.items():
        assert model_id in tracked
        assert (r.loc[model_id, "size_class"], r.loc[model_id, "params_source"]) == (
            size_class,
            source,
        )


def test_suspect_sizes_lists_repos_whose_name_and_weights_disagree() -> None:
    from ram.catalog import suspect_sizes

    models = pd.DataFrame(
        {
            "model_id": ["a/llama-7B", "a/llama-7B-GPTQ", "a/OLMoE-1B-7B", "a/nameless", "a/q-8B"],
            "safetensors_total": [6_740_000_000, 1_130_000_000, 6_920_000_000, 5e9, None],
            "gguf_total": [None, None, None, None, 4_020_000_000],
            "size_class": ["5-10B", "1-5B", "5-10B", "5-10B", "1-5B"],
            "params_b": [6.74, 1.13, 6.92, 5.0, 4.02],
            "params_source": ["safetensors", "safetensors", "safetensors", "safetensors", "gguf"],
        }
    )

    got = suspect_sizes(models)

    # 7 vs 6.74 (+4%) and 7 vs 6.92 are fine; packed GPTQ weights and a GGUF half the size are not
    assert got["model_id"].tolist() == ["a/llama-7B-GPTQ", "a/q-8B"]
    assert got["weights_source"].tolist() == ["safetensors", "gguf"]
    assert got["difference"].tolist() == pytest.approx([7 / 1.13 - 1, 8 / 4.02 - 1])


def test_the_catalog_is_screened_for_non_llms_unless_told_not_to() -> None:
    """Issue 12: reward, embedding, speech and classifier repos of ATOM's catalog, and catalog
    entries whose pipeline tag is outside the policy, stay out of the pools."""
    models = pd.DataFrame(
        {
            "model_id": [
                "Qwen/Qwen2.5-Math-PRM-7B",  # catalog, a process reward model
                "openbmb/MiniCPM-Embedding",  # catalog, embeddings
                "ibm-granite/granite-speech-3.3-2b",  # catalog, speech recognition
                "Qwen/Qwen2.5-7B-Instruct",  # catalog, an LLM
            ],
            "pipeline_tag": [None, None, None, "feature-extraction"],
            "via": ["import"] * 4,
        }
    )
    screened = resolve(models, Config()).set_index("model_id")
    as_published = resolve(models, parse_config({"tracking": {"screen_catalog": False}})).set_index(
        "model_id"
    )

    assert not screened["tracked"].any()
    assert screened.loc["Qwen/Qwen2.5-7B-Instruct", "tracked_reason"] == (
        "rejected: pipeline tag feature-extraction (screened out of ATOM's catalog: "
        "tracking.screen_catalog)"
    )
    assert screened.loc["Qwen/Qwen2.5-Math-PRM-7B", "tracked_reason"].startswith(
        "rejected: a reward model: 'PRM' in the name"
    )
    assert as_published["tracked"].all()
    assert set(as_published["tracked_reason"]) == {"ATOM catalog"}
