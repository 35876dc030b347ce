"""The RAM metric: the ram-example golden files, every rule of RAM_SPEC §2-§4, and properties."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ram.errors import BadInput, EmptyStore
from ram.metric.formula import (
    COARSE_SCHEME,
    DEFAULT_SCHEME,
    SCORE_COLUMNS,
    RamParams,
    build_curves,
    compute,
    compute_baselines,
    find_restatements,
    latest,
    score,
    size_class_of,
)

EXAMPLE = Path(__file__).resolve().parent / "data" / "ram-example"
R = date(2025, 1, 1)
NAN = math.nan
PROPS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def obs_frame(rows: Sequence[tuple[str, int, float, float]]) -> pd.DataFrame:
    """(model, days after R, downloads_all_time, downloads_30d) as an observations frame."""
    return pd.DataFrame(
        {
            "model_id": [r[0] for r in rows],
            "obs_date": [R + timedelta(days=r[1]) for r in rows],
            "downloads_all_time": [float(r[2]) for r in rows],
            "downloads_30d": [float(r[3]) for r in rows],
        }
    )


def model_frame(spec: dict[str, int], size_class: str = "5-10B") -> pd.DataFrame:
    """{model: release offset from R} as a models frame, all in one class and in the pool."""
    return pd.DataFrame(
        {
            "model_id": list(spec),
            "release_date": [R + timedelta(days=off) for off in spec.values()],
            "size_class": size_class,
            "in_pool": True,
        }
    )


def curve_of(rows: Sequence[tuple[str, int, float, float]], **kw: int) -> np.ndarray:
    """C(d) on days 0..60 of the single model ``a`` released on R, as of R + 60."""
    return build_curves(obs_frame(rows), model_frame({"a": 0}), R + timedelta(60), **kw).values[0]


# --- golden: shared/ram-example -------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> tuple[pd.DataFrame, pd.DataFrame]:
    panel = pd.read_csv(EXAMPLE / "panel.csv").rename(columns={"date": "obs_date"})
    return panel, pd.read_csv(EXAMPLE / "classes.csv").assign(in_pool=True)


@pytest.mark.parametrize("method", ["cutoff", "median"])
def test_golden_example(example: tuple[pd.DataFrame, pd.DataFrame], method: str) -> None:
    panel, classes = example
    result = compute(panel, classes, RamParams(method=method), as_of=date(2026, 3, 1))
    got = result.scores().set_index(["model_id", "day"]).sort_index()
    want = pd.read_csv(EXAMPLE / f"expected_{method}.csv").set_index(["model_id", "day"])
    want = want.sort_index()
    assert list(got.index) == list(want.index)
    assert list(got["size_class"]) == list(want["size_class"])
    for col in ("cumulative_downloads", "baseline", "ram"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-6)


def test_golden_pointers(example: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    panel, classes = example
    result = compute(panel, classes)  # as-of defaults to the latest observation, 2026-03-01
    assert result.as_of == date(2026, 3, 1)
    got = result.scores().set_index(["model_id", "day"])
    # The outage leaves model-4 undefined on day 60, which lowers the cutoff to model-9's value.
    assert ("org0/model-4-7B", 60) not in got.index
    assert got.loc[("org0/model-8-7B", 60), "baseline"] == 751510.0
    assert got.loc[("org0/model-8-7B", 60), "ram"] == pytest.approx(1002827 / 751510, rel=1e-12)
    # Restated 5000 -> 4000 on day 3 is held at 5000; day 14 sits in a 20-day gap.
    assert got.loc[("orgr/restated-9B", 7), "cumulative_downloads"] == pytest.approx(
        5000 + 15000 * 4 / 7, rel=1e-12
    )
    assert ("orgr/restated-9B", 14) not in got.index
    assert "orgx/mystery" not in set(result.scores(range(1, 731))["model_id"])
    assert list(result.baselines["size_class"].unique()) == ["5-10B"]
    flags = find_restatements(panel)
    assert flags.to_dict("records") == [
        {
            "model_id": "orgr/restated-9B",
            "obs_date": pd.Timestamp("2025-09-04"),
            "value": 4000.0,
            "previous_max": 5000.0,
        }
    ]


# --- rules of §2: the curve -----------------------------------------------------------------


def test_anchor_bridges_to_a_first_point_within_the_gap() -> None:
    c = curve_of([("a", 10, 100, NAN)])
    assert c[0] == 0.0
    assert c[5] == 50.0
    assert c[10] == 100.0


def test_first_point_beyond_the_gap_leaves_early_days_undefined() -> None:
    c = curve_of([("a", 20, 100, NAN)])
    assert c[0] == 0.0
    assert np.isnan(c[1:20]).all()
    assert c[20] == 100.0


def test_running_maximum_holds_a_restated_count() -> None:
    c = curve_of([("a", 1, 100, NAN), ("a", 2, 50, NAN), ("a", 3, 120, NAN), ("a", 4, 90, NAN)])
    assert list(c[:5]) == [0.0, 100.0, 100.0, 120.0, 120.0]


def test_gap_longer_than_max_gap_days_is_undefined_and_14_is_bridged() -> None:
    c = curve_of([("a", 0, 0, NAN), ("a", 10, 100, NAN), ("a", 25, 250, NAN), ("a", 39, 390, NAN)])
    assert np.isnan(c[11:25]).all()  # 15 days apart
    assert c[32] == 320.0  # 14 days apart: linear
    wide = curve_of([("a", 10, 100, NAN), ("a", 25, 250, NAN)], max_gap_days=15)
    assert wide[17] == 170.0


def test_no_extrapolation_after_the_last_point_or_the_as_of_date() -> None:
    c = curve_of([("a", 5, 50, NAN), ("a", 6, 60, NAN), ("a", 70, 700, NAN)])
    assert c[6] == 60.0
    assert np.isnan(c[7:]).all()  # day 70 is after the as-of date (day 60)


def test_last_value_is_the_all_time_count_as_of_and_nan_for_anchor_only() -> None:
    obs = obs_frame([("a", 5, 50, NAN), ("a", 6, 40, NAN), ("a", 900, 9000, NAN)])
    curves = build_curves(obs, model_frame({"a": 0, "b": 0}), R + timedelta(800), max_day=30)
    assert curves.last_value[0] == 50.0
    assert np.isnan(curves.last_value[1])
    assert curves.values[1, 0] == 0.0
    assert np.isnan(curves.values[1, 1:]).all()
    assert curves.as_of == R + timedelta(800)


def test_points_after_max_day_still_bridge_into_it() -> None:
    obs = obs_frame([("a", 5, 50, NAN), ("a", 15, 150, NAN)])
    curves = build_curves(obs, model_frame({"a": 0}), R + timedelta(20), max_day=10)
    assert curves.values.shape == (1, 11)
    assert curves.values[0, 10] == 100.0
    assert curves.last_value[0] == 150.0


def test_observations_before_release_or_of_unknown_models_are_ignored() -> None:
    obs = obs_frame([("a", -3, 999, NAN), ("a", 2, 20, NAN), ("zz", 2, 5, NAN)])
    curves = build_curves(obs, model_frame({"a": 0}), R + timedelta(5))
    assert list(curves.model_ids) == ["a"]
    assert list(curves.values[0, :3]) == [0.0, 10.0, 20.0]
    assert curves.last_value[0] == 20.0


def test_window_points_chain_through_c_of_d_minus_30() -> None:
    # 30-day counts only: C(10)=100, C(15)=150, C(40)=50+C(10), C(42)=60+C(12), C(12) bridged.
    c = curve_of([("a", 10, NAN, 100), ("a", 15, NAN, 150), ("a", 40, NAN, 50), ("a", 42, NAN, 60)])
    assert c[10] == 100.0
    assert c[15] == 150.0
    assert c[40] == 150.0  # 50 + 100 = 150, held at the running maximum 150
    assert c[42] == 60.0 + 120.0
    assert c[41] == 165.0
    assert np.isnan(c[16:40]).all()


def test_window_point_is_skipped_when_c_of_d_minus_30_is_undefined() -> None:
    # C(25) falls in the 10 -> 50 gap (skipped), so the point on day 55 is dropped too.
    c = curve_of([("a", 10, NAN, 100), ("a", 50, NAN, 40), ("a", 55, NAN, 70)])
    assert c[10] == 100.0
    assert np.isnan(c[50]) and np.isnan(c[55])
    assert np.isnan(c[11:]).all()


def test_window_point_reads_the_anchor_and_interpolates_from_it() -> None:
    # C(35) = 40 + C(5); C(5) lies between the anchor and the first point (day 10, 100) -> 50.
    c = curve_of([("a", 10, NAN, 100), ("a", 35, NAN, 40)])
    assert c[35] == 100.0  # 40 + 50 = 90, held at 100 by the running maximum
    c = curve_of([("a", 10, NAN, 100), ("a", 35, NAN, 70), ("a", 40, NAN, 30)])
    assert c[35] == 120.0
    assert c[40] == 130.0
    assert c[38] == 120.0 + 10.0 * 3 / 5


def test_window_points_are_ignored_when_the_model_has_a_direct_point() -> None:
    c = curve_of([("a", 10, NAN, 100), ("a", 20, 500, NAN), ("a", 40, NAN, 50)])
    assert np.isnan(c[10])
    assert c[20] == 500.0
    assert np.isnan(c[40])


def test_latest_observation_of_a_day_wins() -> None:
    rows = [("a", 1, 10, NAN), ("a", 2, 30, NAN), ("a", 2, 20, NAN)]
    assert curve_of(rows)[2] == 20.0  # without observed_at: the last row of the frame
    obs = obs_frame(rows).assign(
        observed_at=pd.to_datetime(["2025-01-02T08:00Z", "2025-01-03T09:00Z", "2025-01-03T07:00Z"])
    )
    curves = build_curves(obs, model_frame({"a": 0}), R + timedelta(5))
    assert curves.values[0, 2] == 30.0
    # The latest row counts even when it lacks the all-time count.
    obs.loc[1, "downloads_all_time"] = NAN
    assert np.isnan(build_curves(obs, model_frame({"a": 0}), R + timedelta(5)).values[0, 2])


def test_nullable_integer_counts_and_datetime_units_are_accepted() -> None:
    obs = pd.DataFrame(
        {
            "model_id": ["a", "a", "a"],
            "obs_date": pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-04"]).as_unit("s"),
            "downloads_all_time": pd.array([10, None, 30], dtype="Int64"),
            "downloads_30d": pd.array([None, None, None], dtype="Int64"),
        }
    )
    curves = build_curves(obs, model_frame({"a": 0}))
    assert curves.as_of == date(2025, 1, 4)
    assert np.isnan(curves.values[0, 4])
    assert list(curves.values[0, :4]) == [0.0, 10.0, 20.0, 30.0]


def test_curves_frame_lists_defined_cells() -> None:
    curves = build_curves(obs_frame([("a", 2, 20, NAN)]), model_frame({"a": 0}), R + timedelta(2))
    frame = curves.frame()
    assert frame.to_dict("list") == {
        "model_id": ["a", "a", "a"],
        "day": [0, 1, 2],
        "cumulative_downloads": [0.0, 10.0, 20.0],
    }


def test_empty_observations_without_as_of_raise_empty_store() -> None:
    with pytest.raises(EmptyStore):
        build_curves(obs_frame([]), model_frame({"a": 0}))


def test_bad_inputs_raise_bad_input() -> None:
    with pytest.raises(BadInput):
        RamParams(method="mean")
    with pytest.raises(BadInput):
        RamParams(top_n=0)
    with pytest.raises(BadInput):
        build_curves(obs_frame([]), pd.DataFrame({"model_id": ["a"]}), R)
    with pytest.raises(BadInput):
        build_curves(obs_frame([]), model_frame({"a": 0}).iloc[[0, 0]], R)
    curves = build_curves(obs_frame([("a", 1, 1, NAN)]), model_frame({"a": 0}))
    with pytest.raises(BadInput):
        score(curves, model_frame({"a": 0}), pd.DataFrame({"size_class": ["x"]}))
    with pytest.raises(BadInput):
        score(curves, model_frame({"a": 0}), compute_baselines(curves, model_frame({"a": 0})), [0])


# --- size classes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params_b", "default", "coarse"),
    [
        (0.0, "<1B", "<1B"),
        (0.999, "<1B", "<1B"),
        (1.0, "1-5B", "1-9B"),
        (4.999, "1-5B", "1-9B"),
        (5.0, "5-10B", "1-9B"),
        (9.99, "5-10B", "1-9B"),
        (10.0, "10-50B", "10-99B"),
        (50.0, "50-100B", "10-99B"),
        (99.9, "50-100B", "10-99B"),
        (100.0, "100-250B", "100B+"),
        (250.0, "250B+", "100B+"),
        (1e6, "250B+", "100B+"),
        (None, "unknown", "unknown"),
        (NAN, "unknown", "unknown"),
        (np.float64("nan"), "unknown", "unknown"),
        (-1.0, "unknown", "unknown"),
    ],
)
def test_size_class_of_half_open_ranges(params_b: float | None, default: str, coarse: str) -> None:
    assert size_class_of(params_b, DEFAULT_SCHEME) == default
    assert size_class_of(params_b, COARSE_SCHEME) == coarse


# --- baselines and scores -------------------------------------------------------------------


def linear_panel(rates: dict[str, tuple[int, float, int]]) -> pd.DataFrame:
    """{model: (release offset, downloads per day, last observed day)}, observed daily."""
    return obs_frame(
        [
            (m, off + d, rate * d, NAN)
            for m, (off, rate, last) in rates.items()
            for d in range(last + 1)
        ]
    )


def test_cutoff_is_the_top_n_th_curve_with_a_running_maximum() -> None:
    # top_n = 2. a: 10/day, b: 5/day to day 4 only, c: 1/day, d: 100/day released 3 days later.
    obs = linear_panel({"a": (0, 10, 8), "b": (0, 5, 4), "c": (0, 1, 8), "d": (3, 100, 5)})
    models = model_frame({"a": 0, "b": 0, "c": 0, "d": 3})
    curves = build_curves(obs, models, R + timedelta(8), max_day=8)
    base = compute_baselines(curves, models, "cutoff", top_n=2)
    assert base["day"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    # Days 1-4: 2nd of (10d, 5d, d, 100d) -> 10d; day 5: a, c, d -> 50; days 6-8: only a and c
    # (d is 5 days old), c's 6, 7, 8 stay below the running maximum 50.
    assert base["baseline"].tolist() == [10.0, 20.0, 30.0, 40.0, 50.0, 50.0, 50.0, 50.0]
    assert base["n_models"].tolist() == [4, 4, 4, 4, 3, 2, 2, 2]
    sc = score(curves, models, base, [4, 8]).set_index(["model_id", "day"])["ram"]
    assert sc[("a", 8)] == 80 / 50 and sc[("c", 8)] == 8 / 50 and sc[("b", 4)] == 0.5
    assert ("d", 8) not in sc.index


def test_cutoff_is_undefined_with_fewer_than_top_n_defined() -> None:
    obs = linear_panel({"a": (0, 10, 5), "b": (0, 5, 3)})
    models = model_frame({"a": 0, "b": 0})
    curves = build_curves(obs, models, R + timedelta(5), max_day=5)
    base = compute_baselines(curves, models, "cutoff", top_n=2)
    assert base["day"].tolist() == [1, 2, 3]
    assert compute_baselines(curves, models, "cutoff", top_n=3).empty


def test_cutoff_keeps_its_peak_when_a_young_model_leaves_the_pool() -> None:
    # The running maximum means a top-N model can score below 1 once a bigger young model's
    # curve ends (here b is 5 days old): a is the top 1 on day 8 yet RAM = 80/500.
    obs = linear_panel({"a": (0, 10, 10), "b": (5, 100, 5)})
    models = model_frame({"a": 0, "b": 5})
    result = compute(obs, models, RamParams(top_n=1, max_day=10), as_of=R + timedelta(10))
    sc = result.scores([5, 8]).set_index(["model_id", "day"])["ram"]
    assert sc[("a", 8)] == 80 / 500
    assert sc[("b", 5)] == 1.0


def test_median_of_the_as_of_top_n_needs_half_of_them_defined() -> None:
    # top_n = 3 by all-time downloads as of day 10: a (100/day), b (50), c (20); d (1) is out.
    # c is only observed to day 4 (its 20*4 = 80 still beats d's 10).
    obs = linear_panel({"a": (0, 100, 10), "b": (0, 50, 2), "c": (0, 20, 4), "d": (0, 1, 10)})
    models = model_frame({"a": 0, "b": 0, "c": 0, "d": 0})
    curves = build_curves(obs, models, R + timedelta(10), max_day=10)
    base = compute_baselines(curves, models, "median", top_n=3).set_index("day")
    assert base.loc[1, "baseline"] == 50.0  # median of 100, 50, 20
    assert base.loc[3, "baseline"] == (300 + 60) / 2  # b undefined: mean of the two middle
    assert base.loc[3, "n_models"] == 2
    assert 5 not in base.index  # only a defined: fewer than ceil(3/2) = 2
    assert base.index.tolist() == [1, 2, 3, 4]


def test_unknown_class_and_out_of_pool_models() -> None:
    obs = linear_panel({"a": (0, 10, 5), "b": (0, 1000, 5), "u": (0, 99, 5)})
    models = model_frame({"a": 0, "b": 0, "u": 0})
    models.loc[1, "in_pool"] = False
    models.loc[2, "size_class"] = "unknown"
    result = compute(obs, models, RamParams(top_n=1, max_day=5), as_of=R + timedelta(5))
    assert result.baselines["baseline"].tolist() == [10.0, 20.0, 30.0, 40.0, 50.0]
    scores = result.scores([5])
    assert scores["model_id"].tolist() == ["a", "b"]  # b is scored although out of the pool
    assert scores["ram"].tolist() == [1.0, 100.0]


def test_in_pool_defaults_to_true() -> None:
    obs = linear_panel({"a": (0, 10, 3), "b": (0, 20, 3)})
    models = model_frame({"a": 0, "b": 0}).drop(columns="in_pool")
    base = compute(obs, models, RamParams(top_n=2, max_day=3)).baselines
    assert base["baseline"].tolist() == [10.0, 20.0, 30.0]


def test_score_columns_rows_and_order() -> None:
    obs = linear_panel({"b": (0, 20, 6), "a": (2, 10, 4)})
    models = model_frame({"b": 0, "a": 2})
    result = compute(obs, models, RamParams(top_n=1, max_day=10))
    all_days = score(result.curves, models, result.baselines)
    assert list(all_days.columns) == SCORE_COLUMNS
    assert all_days[["model_id", "day"]].values.tolist() == [
        *(["a", d] for d in range(1, 5)),
        *(["b", d] for d in range(1, 7)),
    ]
    assert all_days["release_date"].dtype == "datetime64[ns]"
    assert all_days["release_date"].iloc[0] == pd.Timestamp("2025-01-03")
    assert all_days["ram"].tolist() == [0.5] * 4 + [1.0] * 6
    assert result.scores().empty  # default days are the milestones; both are under 7 days old
    assert score(result.curves, models, result.baselines, [4, 99])["model_id"].tolist() == [
        "a",
        "b",
    ]


def test_score_skips_a_zero_baseline() -> None:
    obs = linear_panel({"a": (0, 0, 4)})
    models = model_frame({"a": 0})
    result = compute(obs, models, RamParams(top_n=1, max_day=10))
    assert result.baselines["baseline"].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert result.scores(range(1, 11)).empty
    assert result.latest().empty


def test_latest_is_the_last_day_with_both_defined() -> None:
    obs = linear_panel({"a": (0, 10, 6), "b": (0, 5, 3)})
    models = model_frame({"a": 0, "b": 0})
    result = compute(obs, models, RamParams(top_n=2, max_day=10))
    got = latest(result.curves, models, result.baselines)
    assert got[["model_id", "day", "ram"]].values.tolist() == [["a", 3, 2.0], ["b", 3, 1.0]]
    assert result.latest().equals(got)


def test_frozen_baselines_are_used_instead_of_computing() -> None:
    obs = linear_panel({"a": (0, 10, 5)})
    models = model_frame({"a": 0})
    frozen = pd.DataFrame(
        {"size_class": ["5-10B", "5-10B"], "day": [2, 5], "baseline": [40.0, 25.0], "n_models": 9}
    )
    result = compute(obs, models, RamParams(top_n=3, max_day=10), baselines=frozen)
    assert result.baselines is frozen
    got = result.scores(range(1, 11))
    assert got[["day", "baseline", "ram"]].values.tolist() == [[2, 40.0, 0.5], [5, 25.0, 2.0]]


# --- properties -------------------------------------------------------------------------------

AS_OF = R + timedelta(60)


@st.composite
def panels(draw: st.DrawFn, dense: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Up to 5 free models (sparse, restated, some window-only) plus ``dense`` models released
    on R and observed every day up to the as-of date R + 60."""
    rows: list[tuple[str, int, float, float]] = []
    release: dict[str, int] = {}
    for i in range(dense + draw(st.integers(0 if dense else 1, 5))):
        name, daily = f"m{i}", i < dense
        release[name] = 0 if daily else draw(st.integers(0, 20))
        window_only = not daily and draw(st.integers(0, 3)) == 0
        days = range(61) if daily else sorted(draw(st.sets(st.integers(0, 45), max_size=20)))
        counts = st.lists(st.integers(-30, 3000), min_size=len(days), max_size=len(days))
        totals = np.maximum(np.cumsum(draw(counts)), 0)  # a negative step is a restatement
        windows = np.abs(draw(counts))
        for d, total, window in zip(days, totals, windows, strict=True):
            if window_only:
                rows.append((name, release[name] + d, NAN, float(window)))
            else:
                rows.append((name, release[name] + d, float(total), NAN))
    return obs_frame(rows), model_frame(release)


def all_scores(obs: pd.DataFrame, models: pd.DataFrame, method: str = "cutoff") -> pd.DataFrame:
    result = compute(obs, models, RamParams(method=method, top_n=3, max_day=60), as_of=AS_OF)
    return score(result.curves, models, result.baselines)


@pytest.mark.slow  # a property: with the full run (make test), not make unit
@PROPS
@given(panels(), st.integers(2, 10**6), st.sampled_from(["cutoff", "median"]))
def test_scaling_every_count_leaves_ram_unchanged(
    panel: tuple[pd.DataFrame, pd.DataFrame], k: int, method: str
) -> None:
    obs, models = panel
    scaled = obs.assign(
        downloads_all_time=obs["downloads_all_time"] * k, downloads_30d=obs["downloads_30d"] * k
    )
    before, after = all_scores(obs, models, method), all_scores(scaled, models, method)
    assert before[["model_id", "day"]].equals(after[["model_id", "day"]])
    np.testing.assert_allclose(after["ram"], before["ram"], rtol=1e-9)


@PROPS
@given(panels(), st.integers(1, 2))
def test_cutoff_baseline_never_decreases(
    panel: tuple[pd.DataFrame, pd.DataFrame], top_n: int
) -> None:
    obs, models = panel
    curves = build_curves(obs, models, AS_OF, max_day=60)
    base = compute_baselines(curves, models, "cutoff", top_n=top_n)
    assert (np.diff(base["baseline"].to_numpy()) >= 0).all()
    assert (np.diff(base["day"].to_numpy()) > 0).all()


@pytest.mark.slow  # a property over dense panels: with the full run (make test), not make unit
@PROPS
@given(panels(dense=3), st.floats(0.0, 1.0))
def test_a_model_below_the_cutoff_changes_no_other_score(
    panel: tuple[pd.DataFrame, pd.DataFrame], share: float
) -> None:
    obs, models = panel
    curves = build_curves(obs, models, AS_OF, max_day=60)
    floor = np.nanmin(curves.values[:3], axis=0)  # the 3 dense models bound the 3rd largest
    newcomer = obs_frame([("zz", d, math.floor(floor[d] * share), NAN) for d in range(61)])
    more = pd.concat([models, model_frame({"zz": 0})], ignore_index=True)
    before = all_scores(obs, models)
    after = all_scores(pd.concat([obs, newcomer], ignore_index=True), more)
    after = after[after["model_id"] != "zz"].reset_index(drop=True)
    # The newcomer is one more curve the baseline rests on: only its support may change.
    support = ["n_models", "thin"]
    pd.testing.assert_frame_equal(before.drop(columns=support), after.drop(columns=support))
    assert (after["n_models"] >= before["n_models"]).all()


@st.composite
def steady_panels(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """3-7 models observed at most 14 days apart from within 14 days of release up to R + 60."""
    rows: list[tuple[str, int, float, float]] = []
    release: dict[str, int] = {}
    for i in range(draw(st.integers(3, 7))):
        name = f"m{i}"
        release[name] = draw(st.integers(0, 20))
        age = 60 - release[name]
        gaps = draw(st.lists(st.integers(1, 14), min_size=age, max_size=age))
        days = sorted({min(age, d) for d in np.cumsum([draw(st.integers(0, 14)), *gaps])} | {age})
        steps = draw(st.lists(st.integers(-30, 3000), min_size=len(days), max_size=len(days)))
        for day, total in zip(days, np.maximum(np.cumsum(steps), 0), strict=True):
            rows.append((name, release[name] + int(day), float(total), NAN))
    return obs_frame(rows), model_frame(release)


@pytest.mark.slow  # a property: with the full run (make test), not make unit
@PROPS
@given(steady_panels())
def test_a_top_n_model_scores_at_least_one(panel: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # While no pool model's curve has ended (days up to the youngest model's age), the top N
    # of a day score >= 1 under cutoff; test_cutoff_keeps_its_peak... shows the exception.
    obs, models = panel
    result = compute(obs, models, RamParams(top_n=3, max_day=60), as_of=AS_OF)
    youngest = 60 - max((released - R).days for released in models["release_date"])
    scores = result.scores(range(1, youngest + 1))
    by_day = scores.groupby("day")["cumulative_downloads"]
    assert (by_day.size() == len(models)).all()  # every curve is defined on these days
    top = by_day.rank(ascending=False, method="min") <= 3
    assert (scores.loc[top, "ram"] >= 1.0).all()


def test_scores_of_some_models_are_their_rows_of_the_whole_answer() -> None:
    """``scores(days, model_ids=...)`` (what the RAM chart asks for its few models) holds
    exactly those models' rows of the every-model answer, values and dtypes alike."""
    from benchmarks.synth import generate

    panel = generate(120, n_days=200, seed=5)
    result = compute(panel.obs, panel.models, RamParams(max_day=150))
    days = list(range(1, 151))
    whole = result.scores(days)
    some = sorted(whole["model_id"].drop_duplicates().sample(7, random_state=1))
    part = result.scores(days, model_ids=[*some, "nobody/absent"])
    want = whole[whole["model_id"].isin(some)].reset_index(drop=True)
    assert len(want) > 100 and set(part["model_id"]) == set(some)
    pd.testing.assert_frame_equal(part, want)


def test_latest_is_computed_once_per_inputs_and_handed_out_as_a_copy() -> None:
    from benchmarks.synth import generate

    panel = generate(80, n_days=120, seed=6)
    result = compute(panel.obs, panel.models, RamParams(max_day=100))
    first = result.latest()
    first["ram"] = -1.0  # a caller's edit stays its own
    again = result.latest()
    assert (again["ram"] > 0).all()
    assert again is not result.latest()
    fresh = latest(result.curves, result.models, result.baselines, result.params.pool_floor)
    pd.testing.assert_frame_equal(again, fresh)
    result.baselines = result.baselines.assign(baseline=result.baselines["baseline"] * 2)
    halved = result.latest()  # new inputs: computed again
    np.testing.assert_allclose(halved["ram"].to_numpy(), fresh["ram"].to_numpy() / 2)
