"""ram.metric.curves: every input layout gives the same curves, and window-only points built in blocks
of days equal a point-by-point reading of rule 3."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ram.metric import curves
from ram.metric.curves import build_curves, window_points
from tests.test_metric import AS_OF, NAN, PROPS, R, curve_of, model_frame, obs_frame, panels

GAPS = st.sampled_from([1, 7, 14, 15, 29, 30, 31, 60])


def reference_points(days: list[int], windows: list[float], gap: int) -> list[tuple[int, float]]:
    """Rule 3 for one model, one row at a time: C(d) = w(d) + C(d - 30), then the running max."""
    points = [(0, 0.0)]
    for day, window in zip(days, windows, strict=True):
        value = window
        if day >= 30:
            x = day - 30
            d0, v0 = [p for p in points if p[0] <= x][-1]
            after = [p for p in points if p[0] > x]
            if d0 == x:
                value += v0
            elif after and after[0][0] - d0 <= gap:
                d1, v1 = after[0]
                value += v0 + (v1 - v0) * (x - d0) / (d1 - d0)
            else:
                continue  # C(d - 30) is undefined: the row is skipped
        points.append((day, max(value, points[-1][1])))
    return points[1:]


@st.composite
def window_rows(draw: st.DrawFn) -> list[tuple[int, list[int], list[float]]]:
    """1-4 window-only models: (model row, sorted distinct days, 30-day counts).  Days come
    at random or every k days with some missed, so that d - 30 often falls between points."""
    models = []
    for row in sorted(draw(st.sets(st.integers(0, 9), min_size=1, max_size=4))):
        if draw(st.booleans()):
            days = sorted(draw(st.sets(st.integers(0, 160), min_size=1, max_size=60)))
        else:
            every, start = draw(st.integers(1, 16)), draw(st.integers(0, 20))
            grid = range(start, 161, every)
            missed = draw(st.sets(st.sampled_from(grid), max_size=len(grid) // 3))
            days = [day for day in grid if day not in missed] or [start]
        counts = draw(st.lists(st.integers(0, 5000), min_size=len(days), max_size=len(days)))
        models.append((row, days, [float(c) for c in counts]))
    return models


@pytest.mark.slow  # 300 Hypothesis examples: with the full run (make test), not make unit
@settings(PROPS, max_examples=300)
@given(window_rows(), GAPS)
def test_window_points_in_blocks_equal_rule_3_row_by_row(
    models: list[tuple[int, list[int], list[float]]], gap: int
) -> None:
    m = np.concatenate([np.full(len(days), row, dtype=np.int32) for row, days, _ in models])
    d = np.concatenate([np.asarray(days, dtype=np.int32) for _, days, _ in models])
    w = np.concatenate([np.asarray(counts) for _, _, counts in models])

    got_m, got_d, got_v = window_points(m, d, w, gap)

    want = [(row, day, v) for row, days, c in models for day, v in reference_points(days, c, gap)]
    assert got_m.tolist() == [row for row, _, _ in want]
    assert got_d.tolist() == [day for _, day, _ in want]
    assert got_v.tolist() == [v for _, _, v in want]  # the same arithmetic, bit for bit


def layouts(obs: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """The same observations as other frames the metric must read alike."""
    stamps = pd.to_datetime(obs["obs_date"]) + pd.Timedelta(hours=6)
    stale = obs.assign(
        downloads_all_time=obs["downloads_all_time"] * 2 + 7,
        downloads_30d=obs["downloads_30d"] + 1,
        observed_at=stamps - pd.Timedelta(hours=1),
    )
    return {
        "shuffled": obs.sample(frac=1, random_state=seed),
        "object ids": obs.assign(model_id=obs["model_id"].astype(object)),
        "categorical ids": obs.assign(
            model_id=pd.Categorical(obs["model_id"], categories=["zz", *sorted(set(obs.model_id))])
        ),
        "datetime64[s]": obs.assign(obs_date=pd.to_datetime(obs["obs_date"]).astype("M8[s]")),
        "tz-aware": obs.assign(obs_date=pd.to_datetime(obs["obs_date"]).dt.tz_localize("UTC")),
        "Int64 counts": obs.assign(
            downloads_all_time=obs["downloads_all_time"].astype("Int64"),
            downloads_30d=obs["downloads_30d"].astype("Int64"),
        ),
        "earlier rows of the same day": pd.concat(
            [obs.assign(observed_at=stamps), stale], ignore_index=True
        ).sample(frac=1, random_state=seed),
    }


@pytest.mark.slow  # a property over every input layout: with the full run (make test), not make unit
@PROPS
@given(panels(), st.integers(0, 2**31), GAPS)
def test_every_input_layout_gives_the_same_curves(
    panel: tuple[pd.DataFrame, pd.DataFrame], seed: int, gap: int
) -> None:
    obs, models = panel
    want = build_curves(obs, models, AS_OF, max_gap_days=gap, max_day=60)

    for name, frame in {"as given": obs, **layouts(obs, seed)}.items():
        for chunk in (curves.CHUNK, 3):  # 3: rows are parsed and written in many chunks
            with mock.patch.object(curves, "CHUNK", chunk):
                got = build_curves(frame, models, AS_OF, max_gap_days=gap, max_day=60)
            assert np.array_equal(got.values, want.values, equal_nan=True), (name, chunk)
            assert np.array_equal(got.last_value, want.last_value, equal_nan=True), (name, chunk)


def test_a_day_without_an_all_time_count_is_skipped_when_others_have_one() -> None:
    c = curve_of([("a", 1, 10, NAN), ("a", 2, NAN, 500), ("a", 3, 30, NAN)])
    assert list(c[:4]) == [0.0, 10.0, 20.0, 30.0]


def test_a_window_only_row_without_counts_on_release_day_keeps_the_anchor() -> None:
    c = curve_of([("a", 0, NAN, NAN), ("a", 10, NAN, 100)])
    assert c[0] == 0.0
    assert c[5] == 50.0


def test_missing_ids_and_dates_are_ignored() -> None:
    obs = pd.DataFrame(
        {
            "model_id": pd.array(["a", None, "a", "a"], dtype="str"),
            "obs_date": pd.to_datetime(["2025-01-02", "2025-01-03", "NaT", "2025-01-04"]),
            "downloads_all_time": [10.0, 99.0, 99.0, 30.0],
        }
    )
    built = build_curves(obs, model_frame({"a": 0}))
    assert built.as_of == R + timedelta(3)
    assert list(built.values[0, :4]) == [0.0, 10.0, 20.0, 30.0]


def test_runs_of_one_model_apart_in_the_frame_are_one_curve() -> None:
    obs = obs_frame([("a", 1, 10, NAN), ("b", 1, 5, NAN), ("a", 2, 20, NAN), ("b", 2, 6, NAN)])
    built = build_curves(obs, model_frame({"a": 0, "b": 0}), R + timedelta(2))
    assert built.values[:, :3].tolist() == [[0.0, 10.0, 20.0], [0.0, 5.0, 6.0]]


def test_the_input_frame_is_left_as_it_was() -> None:
    obs = obs_frame([("a", 1, -5, NAN), ("a", 2, 20, NAN), ("a", 3, 10, NAN)])
    before = obs.copy()
    built = build_curves(obs, model_frame({"a": 0}), R + timedelta(3))
    assert list(built.values[0, :4]) == [0.0, 0.0, 20.0, 20.0]
    pd.testing.assert_frame_equal(obs, before)
