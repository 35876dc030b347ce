"""``ram score MODEL`` reads only the model's size class (issue 19): its output is byte for byte
the one the full analysis gives, in every format, whatever the model (each class, unknown size,
untracked, a forecast that falls back to every class's references)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ram import api
from tests.conftest import CliRunner

MODELS = [
    "Qwen/Qwen2.5-7B-Instruct",  # 5-10B
    "deepseek-ai/Janus-Pro-1B",  # 1-5B
    "mistralai/Mistral-Small-24B-Instruct-2501",  # 10-50B
    "Qwen/Qwen2.5-VL-72B-Instruct",  # 50-100B
    "HuggingFaceTB/SmolLM2-360M-Instruct",  # <1B
    "Alibaba-NLP/gte-multilingual-base",  # unknown size, untracked
    "BAAI/Aquila-135M-Instruct",  # untracked, sized
    "nobody/nothing",  # not stored: the same one-line error
]


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_score_reads_one_class_and_says_what_the_full_analysis_says(
    cli: CliRunner, sample_db: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    reads: list[int] = []
    real = api._class_members

    def counting(models, model_id):  # type: ignore[no-untyped-def]
        found = real(models, model_id)
        reads.append(len(found) if found is not None else -1)
        return found

    monkeypatch.setattr(api, "_class_members", counting)
    restricted = {m: cli("--db", sample_db, "score", m, "--format", fmt) for m in MODELS}
    assert reads[-1] == -1 and all(0 < n < 470 for n in reads[:-1])  # never every model
    monkeypatch.setattr(api, "_class_members", lambda models, model_id: None)
    for m in MODELS:
        full = cli("--db", sample_db, "score", m, "--format", fmt)
        assert (restricted[m].code, restricted[m].out, restricted[m].err) == (
            full.code, full.out, full.err
        ), m  # fmt: skip


def test_a_fallback_forecast_is_made_from_every_class(
    cli: CliRunner, sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class too small for its own references: the score command makes the full analysis."""
    calls: list[str | None] = []
    real = api.analyse

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("only_model"))
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "analyse", spying)
    r = cli("--db", sample_db, "score", "Qwen/Qwen2.5-VL-72B-Instruct", "--format", "json")
    assert r.code == 0, r.err
    fallback = '"fallback": true' in r.out
    assert calls == (["Qwen/Qwen2.5-VL-72B-Instruct", None] if fallback else
                     ["Qwen/Qwen2.5-VL-72B-Instruct"])  # fmt: skip
