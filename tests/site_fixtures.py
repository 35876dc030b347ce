"""The published site the publish and browser tests share: the bundled panel plus a model with a
hostile id, published once per session (``site_master``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ram.store.database import Store
from tests.conftest import SAMPLE

HOSTILE = "evil-lab/<img src=x onerror=alert(1)>\"'&-7B"


def _add_hostile(db: Path) -> None:
    """Qwen2.5-VL-7B-Instruct's rows again under a hostile id, written straight into the store:
    the Hub, ``ram import`` and config all refuse such ids, so only a store written by another
    tool (or edited by hand) holds one; the site must still show it as text."""
    with Store.open(db) as store:
        for table in ("models", "observations"):
            columns = [
                c for (c,) in store.con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                    "ORDER BY column_index", [table]
                ).fetchall()
            ]  # fmt: skip
            picked = ", ".join("? AS model_id" if c == "model_id" else c for c in columns)
            store.con.execute(
                f"INSERT INTO {table} SELECT {picked} FROM {table} "
                "WHERE model_id = 'Qwen/Qwen2.5-VL-7B-Instruct'",
                [HOSTILE],
            )


def site_config(folder: Path, **publish_settings: Any) -> Path:
    # An org listed in tracking.orgs: its imported repos are tracked whatever their names.
    data: dict[str, Any] = {"tracking": {"orgs": {"evil-lab": "other"}}}
    if publish_settings:
        data["publish"] = publish_settings
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="session")
def site_master(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(config, store, site): the bundled panel plus a hostile id, published once."""
    from ram.cli import main

    tmp = tmp_path_factory.mktemp("site")
    cfg = site_config(tmp)
    db = tmp / "store.duckdb"
    assert main(["--config", str(cfg), "--db", str(db), "import", "panel", str(SAMPLE)]) == 0
    _add_hostile(db)
    out = tmp / "site"
    assert main(["--config", str(cfg), "--db", str(db), "publish", str(out)]) == 0
    return cfg, db, out


@pytest.fixture
def site(site_master: tuple[Path, Path, Path]) -> Path:
    return site_master[2]
