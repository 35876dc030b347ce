"""The resolved-models cache: the same frame as the resolution, kept only by read-only stores,
and never served after a write, a config change or damage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ram import catalog
from ram.config import Config, load_config
from ram.store import models_cache
from ram.store.database import Store
from tests.conftest import CliRunner


def _resolved(db: Path, cfg: Config) -> pd.DataFrame:
    with Store.open(db, read_only=True) as store:
        return catalog.load_models(store, cfg)


def _fresh(db: Path, cfg: Config) -> pd.DataFrame:
    """The resolution itself, without the cache (a writable store never uses it)."""
    with Store.open(db) as store:
        return catalog.load_models(store, cfg)


def test_the_cached_frame_is_the_resolved_frame(sample_db: Path) -> None:
    cfg = load_config(None)
    path = models_cache.cache_path(sample_db)
    assert not path.exists()
    first = _resolved(sample_db, cfg)  # resolves and keeps it
    assert path.exists()
    again = _resolved(sample_db, cfg)  # served from the file
    pd.testing.assert_frame_equal(first, again, check_exact=True)  # dtypes included
    key = models_cache.key(cfg, sample_db)
    served = models_cache.read(sample_db, key)
    assert served is not None
    pd.testing.assert_frame_equal(served, _fresh(sample_db, cfg), check_exact=True)
    assert models_cache.read(sample_db, "another key") is None


def test_a_writable_store_neither_reads_nor_writes_the_cache(sample_db: Path) -> None:
    _fresh(sample_db, load_config(None))
    assert not models_cache.cache_path(sample_db).exists()


def test_a_write_or_a_config_change_sends_the_next_read_to_the_resolution(
    cli: CliRunner, sample_db: Path, tmp_path: Path
) -> None:
    cfg = load_config(None)
    _resolved(sample_db, cfg)
    key = models_cache.key(cfg, sample_db)
    assert models_cache.read(sample_db, key) is not None
    # A config that leaves one tracked model out resolves differently: its key differs.
    first = _resolved(sample_db, cfg)
    left_out = str(first.loc[first["tracked"], "model_id"].iloc[0])
    tracking = tmp_path / "config.yaml"
    tracking.write_text(f"tracking:\n  exclude: [{left_out}]\n")
    other = load_config(tracking)
    assert models_cache.key(other, sample_db) != key
    tracked = _resolved(sample_db, other).set_index("model_id")["tracked"]
    assert (
        not tracked[left_out]
        and _resolved(sample_db, cfg).set_index("model_id")["tracked"][left_out]
    )
    # A write (a new model's observation) changes the database files: the old key is stale.
    panel = tmp_path / "new.csv"
    panel.write_text("model_id,date,downloads_30d\nQwen/Qwen-new-7B,2024-12-30,5\n")
    assert cli("--db", sample_db, "import", "panel", panel).code == 0
    assert models_cache.key(cfg, sample_db) != key
    assert "Qwen/Qwen-new-7B" in set(_resolved(sample_db, cfg)["model_id"])


def test_a_damaged_cache_is_ignored_and_replaced(sample_db: Path) -> None:
    cfg = load_config(None)
    want = _fresh(sample_db, cfg)
    path = models_cache.cache_path(sample_db)
    path.write_bytes(b"PAR1 not parquet at all")
    got = _resolved(sample_db, cfg)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert models_cache.read(sample_db, models_cache.key(cfg, sample_db)) is not None
