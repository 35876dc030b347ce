"""Forecasts (docs/FORECAST_SPEC.md): the worked example, no look-ahead, and the commands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ram.metric.curves import build_curves, day_of
from ram.metric.forecast import (
    BACKTEST_COLUMNS,
    FORECAST_COLUMNS,
    QUANTILES,
    SWEEP_MIN_DATES,
    Known,
    _baselines_at,
    _Knowledge,
    _quantiles,
    forecast,
)
from ram.metric.formula import RamParams, compute_baselines
from tests.conftest import CliRunner

DAY = dt.timedelta(days=1)


def _models(rows: list[tuple[str, dt.date, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_id": [m for m, _, _ in rows],
            "release_date": pd.to_datetime([r for _, r, _ in rows]),
            "size_class": [c for _, _, c in rows],
            "in_pool": True,
        }
    )


def _obs(
    points: list[tuple[str, dt.date, float]], window: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """All-time counts, or 30-day counts for the models in ``window`` (RAM_SPEC §2 rule 3)."""
    values = [float(v) for _, _, v in points]
    in_window = [m in window for m, _, _ in points]
    return pd.DataFrame(
        {
            "model_id": [m for m, _, _ in points],
            "obs_date": pd.to_datetime([d for _, d, _ in points]),
            "downloads_all_time": [
                np.nan if w else v for v, w in zip(values, in_window, strict=True)
            ],
            "downloads_30d": [v if w else np.nan for v, w in zip(values, in_window, strict=True)],
        }
    )


def test_the_worked_example_of_the_spec() -> None:
    """FORECAST_SPEC §6, computed by hand there."""
    old, new = dt.date(2025, 1, 1), dt.date(2025, 3, 1)
    counts = {"a": (100, 400), "b": (50, 100), "c": (10, 80), "d": (0, 1000)}
    points = [(k, old + 10 * DAY, c10) for k, (c10, _) in counts.items()]
    points += [(k, old + 30 * DAY, c30) for k, (_, c30) in counts.items()]
    points += [("m", new + 10 * DAY, 200)]
    models = _models([*((k, old, "S") for k in counts), ("m", new, "S")])
    params = RamParams(top_n=1, max_day=60, milestones=(30,))
    curves = build_curves(_obs(points), models, max_day=60)
    known = Known.of(curves, models)

    target = pd.DataFrame({"model_id": ["m"], "at_day": [10]})
    out = forecast(known, models, target, [30], params, min_reference=3, min_interval=1)

    row = out.iloc[0]
    assert list(out.columns) == FORECAST_COLUMNS
    assert (row["model_id"], row["size_class"], row["at_day"], row["horizon"]) == ("m", "S", 10, 30)
    assert [row["downloads_p10"], row["downloads_p50"], row["downloads_p90"]] == pytest.approx(
        [480, 800, 1440]
    )
    assert [row["ram_p10"], row["ram_p50"], row["ram_p90"]] == pytest.approx([0.48, 0.8, 1.44])
    assert row["p_top10"] == pytest.approx(1 / 3)
    assert (row["n_reference"], row["fallback"]) == (3, False)
    # With min_reference 4 the class is too small: every class's references (the same three).
    again = forecast(known, models, target, [30], params, min_reference=4, min_interval=1)
    assert bool(again["fallback"].iloc[0]) and again["n_reference"].iloc[0] == 3
    # With min_interval 4 three ratios give the median only: no interval, no P(top 10).
    few = forecast(known, models, target, [30], params, min_reference=3, min_interval=4).iloc[0]
    assert few["downloads_p50"] == pytest.approx(800) and few["ram_p50"] == pytest.approx(0.8)
    gone = [few[c] for c in ("downloads_p10", "downloads_p90", "ram_p10", "ram_p90", "p_top10")]
    assert np.isnan(gone).all()


@st.composite
def panels(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    """Up to 8 models in two classes, released over 60 days, each observed on random days
    (gaps longer and shorter than max_gap_days, restatements downward), some through 30-day
    counts only, and a cut date."""
    start = dt.date(2025, 1, 1)
    n = draw(st.integers(3, 8))
    rows, points, window = [], [], set()
    for i in range(n):
        release = start + draw(st.integers(0, 60)) * DAY
        rows.append((f"o/m{i}", release, draw(st.sampled_from(["A", "B"]))))
        if draw(st.booleans()):
            window.add(f"o/m{i}")
        total = 0.0
        for day in sorted(draw(st.sets(st.integers(0, 150), min_size=1, max_size=40))):
            total = max(0.0, total + draw(st.integers(-50, 5000)))
            points.append((f"o/m{i}", release + day * DAY, total))
    cut = start + draw(st.integers(20, 200)) * DAY
    return _models(rows), _obs(points, frozenset(window)), cut


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=panels())
def test_curves_known_on_a_date_are_the_curves_built_from_data_up_to_it(
    data: tuple[pd.DataFrame, pd.DataFrame, dt.date],
) -> None:
    """The lemma forecasts rest on: cutting the full curves at each model's last point dated on
    or before F gives exactly what RAM_SPEC §2 builds from the data dated on or before F."""
    models, obs, cut = data
    early = obs[obs["obs_date"] <= pd.Timestamp(cut)]
    full = build_curves(obs, models, max_day=200)
    known = Known.of(full, models)
    rows = np.arange(len(models))
    got = known.as_of(rows, day_of(cut), 201)
    if early.empty:
        assert np.isnan(got.values[:, 1:]).all()
        return
    want = build_curves(early, models, as_of=cut, max_day=200)
    np.testing.assert_array_equal(got.values, want.values)
    np.testing.assert_array_equal(got.last_value, want.last_value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=panels(), top_n=st.integers(1, 3), step=st.integers(1, 9))
def test_the_backtests_sweep_knows_what_each_dates_cut_curves_know(
    data: tuple[pd.DataFrame, pd.DataFrame, dt.date], top_n: int, step: int
) -> None:
    """A backtest asks hundreds of dates: one sweep gives every date's baselines and columns,
    equal float for float to the formula on that date's cut curves (``Known.as_of``)."""
    models, obs, _ = data
    known = Known.of(build_curves(obs, models, max_day=200), models)
    pool = np.flatnonzero(known.pool)
    first = int(np.nanmin(known.release))
    dates = np.arange(first - 3, first + 260, step, dtype=np.int64)
    horizons = [1, 7, 30, 31, 90, 200]
    params = RamParams(top_n=top_n, max_day=200, milestones=(30,))
    then = _Knowledge(known, pool, dates, horizons, params, models)
    assert len(dates) < SWEEP_MIN_DATES or then._swept is not None  # the sweep is what is tested
    for f_day in dates:
        assert then.baselines(int(f_day)) == _baselines_at(known, int(f_day), horizons, params,
                                                            models)  # fmt: skip
        cut = known.as_of(pool, int(f_day), 201).values
        for day in (1, 30, 200):
            np.testing.assert_array_equal(then.column(int(f_day), day), cut[:, day])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=panels(), t0=st.integers(1, 40))
def test_a_forecast_does_not_change_when_later_data_is_added(
    data: tuple[pd.DataFrame, pd.DataFrame, dt.date], t0: int
) -> None:
    """Forecasts at --at-day T0 use only data dated on or before each forecast's date: the
    whole panel and the panel cut at the latest forecast date give the same forecasts."""
    models, obs, _ = data
    params = RamParams(top_n=2, max_day=200, milestones=(30,))
    targets = pd.DataFrame({"model_id": models["model_id"], "at_day": t0})
    full = forecast(Known.of(build_curves(obs, models, max_day=200), models), models, targets,
                    [60, 120], params, 2, 1)  # fmt: skip
    for _, row in full.iterrows():
        release = models.loc[models["model_id"] == row["model_id"], "release_date"].iloc[0]
        cut = release + pd.Timedelta(days=int(row["at_day"]))
        early = obs[obs["obs_date"] <= cut]
        alone = forecast(Known.of(build_curves(early, models, as_of=cut.date(), max_day=200),
                                  models),
                         models, targets[targets["model_id"] == row["model_id"]], [row["horizon"]],
                         params, 2, 1)  # fmt: skip
        pd.testing.assert_frame_equal(
            alone.reset_index(drop=True), full.loc[[_]].reset_index(drop=True), check_dtype=False
        )


def test_the_baseline_of_a_forecast_is_the_formulas_on_the_cut_curves() -> None:
    """ram_p50 divides by baseline^F(H): the formula's baseline of the curves known on F."""
    start = dt.date(2025, 1, 1)
    rows = [(f"o/r{i}", start, "A") for i in range(3)] + [("o/m", start + 50 * DAY, "A")]
    points = [
        (f"o/r{i}", start + k * DAY, (i + 1) * 100.0 * k) for i in range(3) for k in range(61)
    ]
    points += [("o/m", start + 60 * DAY, 500.0)]
    models = _models(rows)
    params = RamParams(top_n=2, max_day=100, milestones=(30,))
    curves = build_curves(_obs(points), models, max_day=100)
    out = forecast(Known.of(curves, models), models,
                   pd.DataFrame({"model_id": ["o/m"], "at_day": [10]}), [40], params, 1, 1)  # fmt: skip
    cut = build_curves(_obs([p for p in points if p[1] <= start + 60 * DAY]), models,
                       as_of=start + 60 * DAY, max_day=100)  # fmt: skip
    base = compute_baselines(cut, models, "cutoff", 2)
    b40 = base.loc[base["day"] == 40, "baseline"].iloc[0]
    assert b40 == 2 * 100.0 * 40  # the 2nd largest of 100k, 200k, 300k per day at day 40
    row = out.iloc[0]
    assert row["ram_p50"] == pytest.approx(row["downloads_p50"] / b40)
    assert row["downloads_p50"] == pytest.approx(500.0 * 4)  # every ratio C(40)/C(10) is 4


def test_backtest_scores_forecasts_against_what_happened(sample_db: Path) -> None:
    from ram import api
    from ram.config import load_config

    cfg = load_config(None)
    an = api.analyse(cfg, sample_db)
    summary, rows = api.backtest_table(an, cfg, [30], [90])
    one = summary.iloc[0]
    assert (one["at_day"], one["horizon"]) == (30, 90)
    assert one["n"] == rows["downloads_p50"].notna().sum() > 20
    inside = (rows["downloads_p10"] <= rows["actual"]) & (rows["actual"] <= rows["downloads_p90"])
    ranged = rows["downloads_p10"].notna()
    assert one["n_interval"] == ranged.sum() > 10
    assert one["coverage_80"] == pytest.approx(inside[ranged].mean())
    # below min_interval references: the median only
    assert (rows.loc[~ranged & rows["downloads_p50"].notna(), "n_reference"] < 10).all()
    assert 1 <= one["error_factor"] < 3 and 0 < one["spearman"] <= 1
    # every actual is the model's own curve at day 90, from the whole store
    curves = an.result.curves
    i = list(curves.model_ids).index(rows["model_id"].iloc[0])
    assert rows["actual"].iloc[0] == curves.values[i, 90]
    assert set(rows["model_id"]) <= set(an.models.loc[an.models["tracked"], "model_id"])


def test_ram_forecast_and_backtest_on_the_sample(cli: CliRunner, sample_db: Path) -> None:
    r = cli("--db", sample_db, "forecast", "Qwen/Qwen2.5-7B-Instruct", "--at-day", "30",
            "--horizon", "90", "--format", "json")  # fmt: skip
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["as_of"] == "2025-02-18" and "FORECAST_SPEC" in out["method"]
    (row,) = out["rows"]
    assert list(row) == FORECAST_COLUMNS
    assert (row["at_day"], row["horizon"]) == (30, 90)
    assert row["n_reference"] < 10 and row["downloads_p10"] is None  # too few for an interval
    assert row["downloads_p50"] > 0

    r = cli("--db", sample_db, "forecast", "--at-day", "30", "--horizon", "90", "--format", "csv")
    assert r.code == 0 and r.out.splitlines()[0] == ",".join(FORECAST_COLUMNS)
    assert len(r.out.splitlines()) > 40

    r = cli(
        "--db", sample_db, "backtest", "--at-day", "14,30", "--horizon", "90", "--format", "csv"
    )
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == ",".join(BACKTEST_COLUMNS)
    assert [line.split(",")[:2] for line in lines[1:]] == [["14", "90"], ["30", "90"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forecast", "--horizon", "ninety"], "--horizon 'ninety': give whole days"),
        (["forecast", "--horizon", "5000"], "--horizon: give days 1..730"),
        (["forecast", "--at-day", "400", "--horizon", "90"], "--at-day 400: forecast from a day"),
        (["forecast", "nobody/nothing"], "unknown model 'nobody/nothing'"),
        (["backtest", "--at-day", "0"], "--at-day: give days 1..730"),
    ],
)
def test_bad_forecast_options_are_one_line_and_exit_2(
    cli: CliRunner, sample_db: Path, args: list[str], message: str
) -> None:
    r = cli("--db", sample_db, *args)
    assert r.code == 2 and r.out == ""
    assert message in r.err and len(r.err.strip().splitlines()) == 1


def test_a_named_model_without_a_forecast_says_why(cli: CliRunner, sample_db: Path) -> None:
    r = cli("--db", sample_db, "forecast", "Qwen/Qwen2.5-7B-Instruct", "--at-day", "300",
            "--horizon", "365", "--format", "csv")  # fmt: skip
    assert r.code == 0
    assert r.out.splitlines() == [",".join(FORECAST_COLUMNS)]
    assert "no forecast for Qwen/Qwen2.5-7B-Instruct: it is 155 days old" in r.err


def test_the_ram_chart_draws_a_fan_after_the_last_day(sample_db: Path) -> None:
    """The RAM chart's fan: a band from p10 to p90 and a dotted p50, each starting at the
    model's last RAM, at the forecast's horizons."""
    from ram import api
    from ram.charts.figures import ChartData, ram_curves
    from ram.config import load_config

    cfg = load_config(None)
    an = api.analyse(cfg, sample_db)
    data = ChartData.from_result(an.result, an.models, an.source)
    model = "openbmb/MiniCPM-o-2_6"
    plain = ram_curves(data, [model])
    data.forecaster = lambda ids: api.fan(an, cfg, ids)
    fig = ram_curves(data, [model])

    fan = api.fan(an, cfg, [model])
    fan = fan[fan["ram_p50"].notna()].sort_values("horizon")
    assert len(fig.data) == len(plain.data) + 2
    band, mid = fig.data[-2], fig.data[-1]
    assert band.fill == "toself" and mid.line.dash == "dot"
    seen = an.result.scores(range(1, 731))
    last = seen[seen["model_id"] == model].sort_values("day").iloc[-1]
    assert mid.x[0] == last["day"] and mid.y[0] == pytest.approx(last["ram"])
    assert list(mid.x[1:]) == list(fan["horizon"])
    assert list(mid.y[1:]) == pytest.approx(list(fan["ram_p50"]))
    n = len(mid.x)
    assert list(band.y[:n]) == pytest.approx([last["ram"], *fan["ram_p90"].fillna(np.nan)])
    assert "shaded: forecast p10-p90" in fig.layout.title.subtitle.text
    assert "forecast" not in plain.layout.title.subtitle.text


def test_top_forecast_and_score_json_carry_the_forecast(cli: CliRunner, sample_db: Path) -> None:
    r = cli("--db", sample_db, "top", "--forecast", "--limit", "2", "--format", "csv")
    assert r.code == 0, r.err
    header = r.out.splitlines()[0].split(",")
    assert header[-2:] == ["ram_p50_365", "p_top10_365"]
    r = cli("--db", sample_db, "score", "openbmb/MiniCPM-o-2_6", "--format", "json")
    out = json.loads(r.out)
    horizons = [row["horizon"] for row in out["forecast"]]
    assert horizons == [90, 180, 365] and out["forecast"][0]["at_day"] == out["latest_day"]
    assert out["forecast"][0]["p_top10"] is not None  # 72 references at 37 -> 90


@pytest.mark.slow  # a whole report: with the full run (make test), not make unit
def test_the_report_says_how_good_the_forecasts_are(cli: CliRunner, sample_db: Path,
                                                    tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "report"
    r = cli("--db", sample_db, "report", "--no-png", "--out", out)
    assert r.code == 0, r.err
    page = (out / "index.html").read_text()
    assert '<section id="forecasts"><h2>How good are the forecasts</h2>' in page
    lines = (out / "forecast-backtest.csv").read_text().splitlines()
    assert lines[0] == ",".join(BACKTEST_COLUMNS)
    assert any(line.startswith("30,90,") for line in lines)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=0, max_value=1e12, allow_nan=False),
            st.sampled_from([0.0, 1.0, 2.5, 1e-300, float("inf")]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_quantiles_are_numpys_linear_quantiles_to_the_bit(values: list[float]) -> None:
    """The hand-rolled p10/p50/p90 equal ``np.quantile``'s (the spec's reference) bit for bit:
    ties, zeros, infinities, one or two values."""
    ratios = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf, as numpy's interpolation computes it
        theirs = np.quantile(ratios, QUANTILES)
    ours = _quantiles(ratios)
    assert ours.tobytes() == theirs.tobytes() or (
        np.isnan(ours).tolist() == np.isnan(theirs).tolist()
        and np.array_equal(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)])
    )


def test_quantiles_of_nothing_or_of_a_nan_are_nan() -> None:
    assert np.isnan(_quantiles(np.array([]))).all()
    assert np.isnan(_quantiles(np.array([1.0, np.nan, 3.0]))).all()
    assert np.isnan(np.quantile(np.array([1.0, np.nan, 3.0]), QUANTILES)).all()
