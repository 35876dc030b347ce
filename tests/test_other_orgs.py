"""Issue 12's "done when", on real data of orgs outside the bundled sample.

``tests/data/other-orgs/`` is a real daily panel (MIT, KBhandari11/ForecastHuggingFaceModels) of
allenai, apple, ibm-granite, ibm-nasa-geospatial, microsoft, nvidia and Salesforce, 2024-07 ..
2025-02.  The lists below were written by reading the repos' names and model cards, not from the
tracker's rules: they are what a person calls an embedding model or an image classifier.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, CliRunner, _build

PANEL = ROOT / "tests" / "data" / "other-orgs" / "hf_downloads_30d_2024H2_other_orgs.csv.gz"

# Repos of the panel that are no LLM or VLM, by kind (read from their names and model cards).
NOT_LANGUAGE_MODELS = {
    "embedding or retrieval": [
        "Salesforce/SFR-Embedding-Code-2B_R",
        "Salesforce/SFR-Embedding-Code-400M_R",
        "ibm-granite/granite-embedding-107m-multilingual",
        "ibm-granite/granite-embedding-125m-english",
        "ibm-granite/granite-embedding-278m-multilingual",
        "ibm-granite/granite-embedding-30m-english",
        "nvidia/MM-Embed",
        "nvidia/NV-Embed-v2",
        "nvidia/NV-Retriever-v1",
    ],
    "vision classifier or encoder": [
        "nvidia/MambaVision-B-1K",
        "nvidia/MambaVision-L-1K",
        "nvidia/MambaVision-L2-1K",
        "nvidia/MambaVision-S-1K",
        "nvidia/MambaVision-T-1K",
        "nvidia/MambaVision-T2-1K",
        "apple/DFN2B-CLIP-ViT-L-14-39B",
        "apple/aimv2-large-patch14-224",
        "apple/coreml-sam2-large",
        "apple/DepthPro",
        "nvidia/RADIO-L",
        "nvidia/QLIP-L-14-392",
        "microsoft/rad-dino-maira-2",
        "microsoft/LLM2CLIP-Openai-L-14-336",
    ],
    "speech or audio": [
        "nvidia/parakeet-tdt_ctc-110m",
        "nvidia/stt_es_fastconformer_hybrid_large_pc_nc",
        "nvidia/bigvgan_v2_24khz_100band_256x",
        "nvidia/audio-codec-44khz",
        "nvidia/low-frame-rate-speech-codec-22khz",
        "nvidia/diar_sortformer_4spk-v1",
    ],
    "geospatial or weather": [
        "ibm-nasa-geospatial/Prithvi-EO-2.0-300M",
        "ibm-nasa-geospatial/Prithvi-EO-2.0-300M-TL",
        "ibm-nasa-geospatial/Prithvi-EO-2.0-300M-TL-Sen1Floods11",
        "ibm-nasa-geospatial/Prithvi-EO-2.0-600M",
        "ibm-nasa-geospatial/Prithvi-EO-2.0-600M-TL",
        "ibm-nasa-geospatial/Prithvi-WxC-1.0-2300M",
        "ibm-nasa-geospatial/Prithvi-WxC-1.0-2300M-rollout",
        "ibm-nasa-geospatial/Prithvi-WxC-1.0-2300m-gravity-wave-parameterization",
        "ibm-granite/granite-geospatial-canopyheight",
        "ibm-granite/granite-geospatial-wxc-downscaling",
    ],
    "reward, guard or text classifier": [
        "allenai/Llama-3.1-Tulu-3-8B-RM",
        "allenai/OLMo-2-1124-7B-RM",
        "allenai/OLMo-2-1124-13B-RM",
        "nvidia/Llama-3.1-Nemotron-70B-Reward-HF",
        "nvidia/AceMath-72B-RM",
        "ibm-granite/granite-guardian-3.1-8b",
        "nvidia/quality-classifier-deberta",
    ],
    "time series, video and world models": [
        "Salesforce/moirai-moe-1.0-R-base",
        "ibm-granite/granite-timeseries-ttm-r2",
        "nvidia/Cosmos-1.0-Diffusion-7B-Text2World",
        "nvidia/Cosmos-0.1-Tokenizer-CV8x8x8",
    ],
}
OLMOE = [
    "allenai/OLMoE-1B-7B-0924",
    "allenai/OLMoE-1B-7B-0924-Instruct",
    "allenai/OLMoE-1B-7B-0924-SFT",
    "allenai/OLMoE-1B-7B-0125",
    "allenai/OLMoE-1B-7B-0125-Instruct",
    "allenai/OLMoE-1B-7B-0125-SFT",
    "allenai/OLMoE-1B-7B-0125-DPO",
]


@pytest.fixture(scope="module")
def other_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("other-orgs"), PANEL)


@pytest.fixture
def other_db(other_db_master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the default config, whatever the working directory holds
    return other_db_master


def _models(cli: CliRunner, db: Path) -> pd.DataFrame:
    result = cli("--db", db, "models", "--format", "json")
    assert result.code == 0, result.err
    return pd.DataFrame(json.loads(result.out)["rows"]).set_index("model_id")


def test_the_panel_is_the_real_derived_file() -> None:
    with gzip.open(PANEL, "rt") as f:
        panel = pd.read_csv(f)
    assert (len(panel), panel["model_id"].nunique()) == (31_696, 300)
    assert (panel["date"].min(), panel["date"].max()) == ("2024-07-09", "2025-02-18")
    assert (panel["downloads_30d"] > 0).all()  # stalled days left out, never written as zero


def test_no_embedding_vision_speech_or_geospatial_repo_is_tracked(
    cli: CliRunner, other_db: Path
) -> None:
    models = _models(cli, other_db)
    named = [m for ids in NOT_LANGUAGE_MODELS.values() for m in ids]
    assert set(named) <= set(models.index)  # the list names real repos of the panel
    tracked = models.loc[named, "tracked"]
    assert not tracked.any(), list(tracked[tracked].index)
    # The catalog lists MambaVision (ImageNet-1K classifiers): screened out, in words.
    assert models.loc["nvidia/MambaVision-T-1K", "tracked_reason"] == (
        "rejected: an ImageNet classifier: '1K' in the name "
        "(screened out of ATOM's catalog: tracking.screen_catalog)"
    )
    assert models.loc["ibm-nasa-geospatial/Prithvi-EO-2.0-300M", "tracked_reason"] == (
        "rejected: an earth-observation model: 'geospatial' in the name"
    )
    # What stays is LLMs and VLMs: 94 repos, among them the VLMs Molmo, NVLM and Phi-3.5-vision.
    pool = set(models.index[models["tracked"]])
    assert len(pool) == 94
    assert {
        "allenai/Molmo-7B-D-0924",
        "nvidia/NVLM-D-72B",
        "microsoft/Phi-3.5-vision-instruct",
    } <= (pool)


def test_moe_names_resolve_to_their_total_size(cli: CliRunner, other_db: Path) -> None:
    models = _models(cli, other_db)
    olmoe = models.loc[OLMOE]
    assert (olmoe["params_b"] == 7.0).all() and (olmoe["size_class"] == "5-10B").all()
    assert set(olmoe["params_source"]) == {"name"}
    # granite's "1b-a400m": 1B total, 400M active; the catalog's Phi-3.5-MoE is 42B total.
    assert models.loc["ibm-granite/granite-3.1-1b-a400m-instruct", "size_class"] == "1-5B"
    assert tuple(models.loc["microsoft/Phi-3.5-MoE-instruct", ["params_b", "size_class"]]) == (
        42.0,
        "10-50B",
    )


def test_private_then_public_launches_start_at_their_first_downloads(
    cli: CliRunner, other_db: Path
) -> None:
    models = _models(cli, other_db)
    with gzip.open(PANEL, "rt") as f:
        panel = pd.read_csv(f)
    first = panel.groupby("model_id")["date"].min()
    created = panel.groupby("model_id")["created_at"].first().str[:10]
    pool = models[models["tracked"]]
    detected = pool[pool["release_source"] == "first_downloads"]
    assert len(detected) == 46  # of 94 tracked: created private, published a week or more later
    for model_id, row in detected.iterrows():
        assert row["release_date"] == first[model_id]
        gap = dt.date.fromisoformat(first[model_id]) - dt.date.fromisoformat(created[model_id])
        assert gap.days > 7, model_id
    # Ai2 announced OLMo 2 on 2024-11-26, IBM Granite 3.0 on 2024-10-21: created weeks before.
    assert models.loc["allenai/OLMo-2-1124-7B", "release_date"] == "2024-11-27"
    assert models.loc["ibm-granite/granite-3.0-8b-instruct", "release_date"] == "2024-10-21"


def test_no_default_top_row_rests_on_a_thin_baseline(cli: CliRunner, other_db: Path) -> None:
    result = cli("--db", other_db, "top", "--day", "30", "--format", "json")
    assert result.code == 0, result.err
    board = json.loads(result.out)
    rows = pd.DataFrame(board["rows"])
    assert len(rows) == 20 and set(rows["size_class"]) == {"1-5B", "5-10B"}
    assert rows["in_pool"].all() and not rows["thin"].any() and (rows["n_models"] >= 20).all()
    notes = "\n".join(board["notes"])
    assert "no leaderboard for <1B: no tracked curve reaches day 30" in notes
    assert "10-50B: its baseline rests on 15 curves at day 30, fewer than min_pool 20" in notes
    assert "50-100B: its baseline rests on 11 curves at day 30, fewer than min_pool 20" in notes
    # --include-thin brings the thin classes back, flagged.
    shown = cli("--db", other_db, "top", "--day", "30", "--include-thin", "--format", "json")
    thin = pd.DataFrame(json.loads(shown.out)["rows"])
    assert set(thin.loc[thin["thin"], "size_class"]) == {"10-50B", "50-100B"}


def test_the_derivation_takes_day_over_day_differences_and_drops_stalled_days() -> None:
    spec = importlib.util.spec_from_file_location("derive", PANEL.parent / "derive.py")
    assert spec is not None and spec.loader is not None
    derive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(derive)
    wide = pd.DataFrame(
        {
            "model": ["a/x-7B", "b/y-1B"],
            "2024-07-02 00:00:00": [0.0, 10.0],
            "2024-07-03 00:00:00": [0.0, 25.0],
            "2024-07-04 00:00:00": [61.0, 25.0],  # b/y stalled: no row, not a zero
            "2024-07-05 00:00:00": [183.0, 40.0],
            "created_at": ["2024-07-01 10:00:00+00:00", "2024-06-01 00:00:00+00:00"],
        }
    )
    got = derive.derive(wide)
    assert got.to_dict("list") == {
        "model_id": ["a/x-7B", "a/x-7B", "b/y-1B", "b/y-1B"],
        "date": ["2024-07-04", "2024-07-05", "2024-07-03", "2024-07-05"],
        "downloads_30d": [61, 122, 15, 15],
        "created_at": [
            "2024-07-01 10:00:00+00:00",
            "2024-07-01 10:00:00+00:00",
            "2024-06-01 00:00:00+00:00",
            "2024-06-01 00:00:00+00:00",
        ],
    }
