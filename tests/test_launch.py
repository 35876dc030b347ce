"""RAM_SPEC rev 2 §1, the detected public launch, on hand-built panels (expected dates worked out
from the spec's text): day 0 moves to the first downloads when they come more than
``private_gap_days`` (7) after createdAt and the data shows the repo was not public before."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from tests.conftest import CliRunner

CREATED = "2025-01-01T10:00:00Z"
HEADER = "model_id,date,downloads_all_time,created_at,params_b\n"


def _rows(model: str, created: str, *days: tuple[str, int]) -> str:
    return "".join(f"{model},{day},{count},{created},7\n" for day, count in days)


def _dates(cli: CliRunner, db: Path) -> dict[str, tuple[str, str]]:
    r = cli("--db", db, "models", "--format", "csv")
    assert r.code == 0, r.err
    frame = pd.read_csv(io.StringIO(r.out))
    return {
        m: (str(d), str(s))
        for m, d, s in zip(
            frame["model_id"], frame["release_date"], frame["release_source"], strict=True
        )
    }


def test_the_detected_launch_follows_each_rule_of_the_spec(cli: CliRunner, tmp_path: Path) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_text(
        HEADER
        # (a) observed with zero downloads before the first count: launch on 01-20
        + _rows("p/zero-first-7B", CREATED, ("2025-01-05", 0), ("2025-01-20", 100),
                ("2025-01-25", 300))
        # (b) unseen while the same panel observed p/zero-first (01-05): launch on 01-20
        + _rows("p/unseen-7B", CREATED, ("2025-01-20", 50), ("2025-01-25", 90))
        # a gap of 19 days but nothing of org q observed before: createdAt stays
        + _rows("q/alone-7B", CREATED, ("2025-01-20", 50), ("2025-01-25", 90))
        # zero downloads seen on 01-15, first count 01-20: the gap since createdAt decides
        + _rows("p/six-7B", "2025-01-14T00:00:00Z", ("2025-01-15", 0), ("2025-01-20", 10))
        + _rows("p/seven-7B", "2025-01-13T23:00:00Z", ("2025-01-15", 0), ("2025-01-20", 10))
        + _rows("p/eight-7B", "2025-01-12T00:00:00Z", ("2025-01-15", 0), ("2025-01-20", 10))
        # org s observed only before s/late was created: nothing shows it was hidden
        + _rows("s/early-7B", "2024-12-01T00:00:00Z", ("2025-01-05", 10), ("2025-01-06", 20))
        + _rows("s/late-7B", "2025-01-12T00:00:00Z", ("2025-01-20", 10), ("2025-01-21", 20))
    )  # fmt: skip
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "import", "panel", panel).code == 0

    dates = _dates(cli, db)

    assert dates["p/zero-first-7B"] == ("2025-01-20", "first_downloads")
    assert dates["p/unseen-7B"] == ("2025-01-20", "first_downloads")
    assert dates["q/alone-7B"] == ("2025-01-01", "created_at")
    assert dates["p/six-7B"] == ("2025-01-14", "created_at")  # 6 days: not more than 7
    assert dates["p/seven-7B"] == ("2025-01-13", "created_at")  # 7 days: not more than 7
    assert dates["p/eight-7B"] == ("2025-01-20", "first_downloads")  # 8 days
    assert dates["s/late-7B"] == ("2025-01-12", "created_at")


def test_another_source_watching_the_org_is_no_evidence(cli: CliRunner, tmp_path: Path) -> None:
    """Rule (b) needs the same source: a panel that never listed the org proves nothing."""
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    first.write_text(HEADER + _rows("p/other-7B", CREATED, ("2025-01-05", 10), ("2025-01-06", 20)))
    second.write_text(HEADER + _rows("p/new-7B", CREATED, ("2025-01-20", 5), ("2025-01-21", 9)))
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "import", "panel", first, "--source", "one").code == 0
    assert cli("--db", db, "import", "panel", second, "--source", "two").code == 0

    assert _dates(cli, db)["p/new-7B"] == ("2025-01-01", "created_at")


def test_a_configured_or_curated_date_beats_the_detected_one(
    cli: CliRunner, tmp_path: Path
) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_text(
        HEADER
        + _rows("p/zero-first-7B", CREATED, ("2025-01-05", 0), ("2025-01-20", 100))
        # Llama 3.1 is in the project's curated launch dates (2024-07-23)
        + _rows("meta-llama/Llama-3.1-8B-Instruct", "2024-07-18T08:56:00Z",
                ("2024-07-20", 0), ("2024-09-26", 3_144_344))
    )  # fmt: skip
    (tmp_path / "config.yaml").write_text(
        "tracking:\n  release_dates:\n    p/zero-first-7B: 2025-01-10\n"
    )
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "import", "panel", panel).code == 0

    dates = _dates(cli, db)

    assert dates["p/zero-first-7B"] == ("2025-01-10", "config")
    assert dates["meta-llama/Llama-3.1-8B-Instruct"] == ("2024-07-23", "correction")


def test_private_gap_days_is_configurable(cli: CliRunner, tmp_path: Path) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_text(
        HEADER + _rows("p/zero-first-7B", CREATED, ("2025-01-05", 0), ("2025-01-20", 100))
    )
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "import", "panel", panel).code == 0
    (tmp_path / "config.yaml").write_text("ram:\n  private_gap_days: 30\n")

    assert _dates(cli, db)["p/zero-first-7B"] == ("2025-01-01", "created_at")
