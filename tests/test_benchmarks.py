"""The benchmark inputs are honest: realistic synthetic panels, and a naive reference that
equals the project's numbers on them (so the speedup compares like with like)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import naive
from benchmarks.naive import Mismatch, check_agreement, naive_ram
from benchmarks.scale import measure
from benchmarks.synth import CLASSES, Panel, generate
from ram.metric import formula


@pytest.fixture(scope="module")
def panel() -> Panel:
    return generate(200, n_days=400, seed=3)


def test_generator_is_deterministic_and_has_the_store_layout(panel: Panel) -> None:
    again = generate(200, n_days=400, seed=3)

    pd.testing.assert_frame_equal(panel.obs, again.obs)
    pd.testing.assert_frame_equal(panel.models, again.models)
    assert list(panel.obs.columns) == [
        "model_id",
        "obs_date",
        "observed_at",
        "downloads_all_time",
        "downloads_30d",
    ]
    assert [str(t) for t in panel.obs.dtypes] == [
        "str",
        "datetime64[us]",
        "datetime64[us]",
        "Int64",
        "Int64",
    ]
    assert list(panel.models.columns) == [
        "model_id",
        "release_date",
        "size_class",
        "in_pool",
        "params_b",
    ]
    assert panel.obs["model_id"].is_monotonic_increasing  # the store's ORDER BY model_id, obs_date
    assert not panel.obs.duplicated(["model_id", "obs_date"]).any()


def test_generator_covers_the_hard_cases(panel: Panel) -> None:
    obs, models = panel.obs, panel.models
    window_only = obs.groupby("model_id")["downloads_all_time"].count() == 0
    steps = obs.groupby("model_id")["obs_date"].diff().dt.days
    drops = obs.groupby("model_id")["downloads_all_time"].diff() < 0

    assert window_only.sum() == 2  # 1% of 200
    assert steps.max() > 14  # an outage longer than the interpolation limit
    assert set(steps.dropna()) >= {1, 2, 3}  # daily, missed days and sparse cadences
    assert drops.any()  # a count restated downward
    assert set(models["size_class"]) == {c[0] for c in CLASSES} | {"unknown"}
    assert (~models["in_pool"]).sum() > 0
    final = obs.groupby("model_id")["downloads_all_time"].max().dropna()
    assert final.max() > 100 * final.median()  # heavy-tailed adoption


def test_naive_reference_equals_the_project_on_a_synthetic_panel(panel: Panel) -> None:
    result = formula.compute(panel.obs, panel.models)
    reference = naive_ram(panel.obs, panel.models)

    agreement = check_agreement(result, reference)

    assert agreement["max_rel_diff"] <= 1e-12
    assert agreement["baseline_rows"] == len(result.baselines) > 0
    assert agreement["score_rows"] == len(result.scores()) > 0


def test_agreement_check_catches_a_wrong_baseline(panel: Panel) -> None:
    result = formula.compute(panel.obs, panel.models)
    reference = naive_ram(panel.obs, panel.models)
    wrong = reference.baselines["baseline"].to_numpy(copy=True)
    wrong[0] *= 1.001
    reference.baselines["baseline"] = wrong

    with pytest.raises(Mismatch, match="relative difference"):
        check_agreement(result, reference)


def test_naive_curve_follows_the_gap_and_running_max_rules() -> None:
    days = np.arange(8)
    d = np.array([1, 2, 7])
    total = np.array([10.0, 8.0, 18.0])  # day 2 restated downward

    values = naive.curve(d, total, np.full(3, np.nan), days, max_gap=4)

    np.testing.assert_array_equal(values, [0, 10, 10, np.nan, np.nan, np.nan, np.nan, 18])


def test_naive_window_points_add_the_curve_30_days_earlier() -> None:
    d = np.array([10, 20, 40, 41, 70, 95])
    window = np.array([5.0, 9.0, 12.0, 13.0, 10.0, 20.0])

    xs, ys = naive.window_points(d, window, max_gap=14)

    # Day 40 reads C(10) = 5, day 41 C(11) = 5.4 (interpolated), day 70 C(40) = 17; day 95
    # needs C(65), inside the 29-day gap between days 41 and 70, so it is skipped.
    np.testing.assert_array_equal(xs, [0, 10, 20, 40, 41, 70])
    np.testing.assert_allclose(ys, [0, 5, 9, 17, 18.4, 27], rtol=1e-15)


def test_scale_measurement_reports_time_and_memory() -> None:
    row = measure(60, n_days=60, repeat=1)

    assert row["n_models"] == 60
    assert row["obs_rows"] == len(generate(60, n_days=60).obs)
    assert row["seconds"] > 0


def test_store_size_measurement_writes_through_the_store_and_compares_the_key() -> None:
    from benchmarks.store_size import hub_like_ids
    from benchmarks.store_size import measure as measure_store

    ids = hub_like_ids(2_500)
    assert len(set(ids)) == 2_500 and all("/" in i for i in ids)
    row = measure_store(300, n_days=120, grow=5)
    assert row["observations"] > 10_000 and row["grow_rows"] == 5 * 300
    # Even at this size the schema-1 key costs more than the rows themselves (the store also
    # holds schema 4's quality tables, a few fixed blocks that weigh at 36,000 rows; at 1.3M
    # rows the ratio is 6.8x).
    assert row["key_ratio"] > 1.15
    assert 0 <= row["file_growth"] < 1 and row["data_growth"] > 0


def test_top_cache_measurement_writes_both_formats() -> None:
    from benchmarks.top_cache import measure as measure_cache

    row = measure_cache(200, n_days=200)
    # Every day of every model is many more rows than the milestones and the latest.
    assert row["every_day_bytes"] > 3 * row["milestones_bytes"] > 0
    assert row["milestones_seconds"] > 0 and row["every_day_seconds"] > 0


def test_whole_hub_partitions_are_small_and_read_back_whole() -> None:
    from benchmarks.whole_hub import measure as measure_hub

    row = measure_hub(30_000, days=3)
    # 1% new ids a day: the first day has 29,400 models, the third 30,000.
    assert row["whole_day_rows"] == 30_000 - 2 * 300
    # every 1,500th key is "tracked": 20 keys of the first day's 29,400, in 3 partitions,
    # plus the keys that only later days have (none of them a multiple of 1,500 here)
    assert row["tracked_rows"] == 3 * 20
    assert 0 < row["bytes_per_row"] < 16 and row["write_seconds_per_partition"] > 0


@pytest.mark.slow
def test_commands_benchmark_times_every_command_and_its_sql_peer_agrees() -> None:
    """benchmarks/commands.py at a small size: the SQL peer's leaderboard equals ram top's
    (the run exits otherwise), every command is timed with a peak RSS of its own process."""
    from benchmarks.commands import bench

    result = bench(150, runs=1, before=None)
    assert result["peer_agreement"]["rows"] > 0
    assert result["peer_agreement"]["max_rel_diff"] <= 1e-9
    names = [r["command"] for r in result["rows"]]
    assert "ram status" in names and "SQL peer: top --day 30" in names and len(names) == 9
    floor = next(r for r in result["rows"] if r["command"].startswith("import duckdb"))
    # Each process reports its own peak, not the benchmark's (which holds pandas and a panel).
    assert 10 < floor["peak_rss_mb"] < 120
    assert all(r["seconds"] > 0 and r["peak_rss_mb"] > 0 for r in result["rows"])


def test_the_long_format_hub_backfill_benchmark_lands_every_day_and_re_runs_free() -> None:
    """benchmarks/hub_series_backfill.py at a small size: every day lands, within the contract,
    reading a part of the month file, and a second run fetches no Parquet bytes."""
    from benchmarks.hub_series_backfill import measure as measure_series

    row = measure_series(20_000, days=3)
    assert row["violations"] == [] and row["days_landed"] == 3 and row["models_a_day"] > 1000
    assert 0 < row["sent"]["month"] < row["month_bytes"]
    assert row["requests"]["resolve"] <= 2 * 3 and row["rerun_bytes"] == 0
    assert "range" not in row["rerun_requests"]
