"""Panel files: every row validated, the first bad line named, nothing returned half-read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from collectors.panel import read_panel
from ram.errors import BadPanel
from tests.conftest import EXAMPLE, SAMPLE

HEADER = "model_id,date,downloads_all_time,downloads_30d,created_at,params_b\n"


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "p.csv"
    path.write_text(header + body)
    return path


def test_reads_the_worked_example() -> None:
    panel = read_panel(EXAMPLE / "panel.csv")

    assert len(panel.observations) == 2606
    assert panel.models["model_id"].nunique() == 15
    first = panel.observations.iloc[0]
    assert (first["model_id"], str(first["obs_date"].date()), first["downloads_all_time"]) == (
        "org0/model-0-7B",
        "2025-01-02",
        74114,
    )
    assert pd.isna(first["downloads_30d"])  # unknown stays unknown, never 0
    mystery = panel.models.set_index("model_id").loc["orgx/mystery"]
    assert pd.isna(mystery["params_b_reported"])
    assert panel.source == "panel:panel"


def test_reads_the_real_gzip_panel() -> None:
    panel = read_panel(SAMPLE)

    assert len(panel.observations) == 60478
    assert panel.models["model_id"].nunique() == 470
    assert panel.observations["downloads_all_time"].isna().all()
    assert panel.observations["downloads_30d"].notna().all()


def test_reads_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "model_id": ["a/b", "a/b"],
            "date": ["2025-01-01", "2025-01-02"],
            "downloads_all_time": [1, 5],
        }
    )
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)

    panel = read_panel(path)

    assert list(panel.observations["downloads_all_time"]) == [1, 5]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "a/b,2025-01-01,1,,,\nbad id,2025-01-02,2,,,\n",
            "line 3: model_id 'bad id' is not a repo id",
        ),
        ("a/b,2025-02-30,1,,,\n", "line 2: date '2025-02-30' is not a date"),
        ("a/b,01/02/2025,1,,,\n", "line 2: date '01/02/2025' is not a date"),
        ("a/b,2025-01-01,1.5,,,\n", "line 2: downloads_all_time '1.5' is not a whole number"),
        ("a/b,2025-01-01,,-4,,\n", "line 2: downloads_30d '-4' is not a whole number"),
        ("a/b,2025-01-01,,,,\n", "line 2: no count in this row"),
        ("a/b,2025-01-01,1,,yesterday,\n", "line 2: created_at 'yesterday' is not a timestamp"),
        ("a/b,2025-01-01,1,,,0\n", "line 2: params_b '0' is not a number > 0"),
        ("a/b,2025-01-01,1,,,\na/b,2025-01-01,2,,,\n", "line 3: model_id and date repeat"),
        ("x/y,2025-01-01,1,,,\na/b,2025-01-01,x,,,\nbad,2025-01-01,1,,,\n", "line 3:"),
    ],
)
def test_first_bad_line_is_named(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)

    with pytest.raises(BadPanel) as err:
        read_panel(path)

    assert message in str(err.value)
    assert str(err.value).endswith("nothing was imported")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("model_id,downloads_all_time\n", "missing column 'date'"),
        ("model_id,date\n", "no count column"),
        ("model_id,date,downloads,extra\n", "unknown column 'downloads'"),
    ],
)
def test_bad_headers(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(BadPanel, match=message):
        read_panel(_write(tmp_path, "a/b,2025-01-01,1\n", header=header))


def test_not_a_panel_at_all(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    path.write_bytes(b"this is not parquet")

    with pytest.raises(BadPanel, match="cannot be read as a panel"):
        read_panel(path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(BadPanel, match="no rows"):
        read_panel(_write(tmp_path, ""))


def test_a_pipeline_tag_column_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    path.write_text(
        "model_id,date,downloads_all_time,pipeline_tag\n"
        "a/b-7B,2025-01-01,1,text-generation\na/b-7B,2025-01-02,2,\nc/d,2025-01-01,3,\n"
    )
    models = read_panel(path).models.set_index("model_id")
    assert models.loc["a/b-7B", "pipeline_tag"] == "text-generation"  # the last non-empty
    assert pd.isna(models.loc["c/d", "pipeline_tag"])

    path.write_text("model_id,date,downloads_all_time,pipeline_tag\na/b,2025-01-01,1,Text Gen\n")
    with pytest.raises(BadPanel, match="line 2: pipeline_tag 'Text Gen' is not a Hub pipeline"):
        read_panel(path)
