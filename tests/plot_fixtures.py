"""A small synthetic ChartData whose RAM values are exact by construction (used by chart tests).

Every model has C(d) = rate * d on its observed days, so with top_n = 2 the baselines are
another model's straight line and each RAM is a ratio of two rates:

* 1-5B pool: a-3B (1000/day, from Jan 1), b-2B (500, Feb 1), c-4B (100, Mar 1) -> cutoff 500d
  on days 1..149; RAM 2, 1 and 0.2.  fan/f-3B (100000/day) is untracked, outside the pool.
* 5-10B pool: a-7B (2000, Jan 15), d-8B (300, Apr 1), e-6B (50, May 1, observed only on days
  0..10, 40 and 60) -> cutoff 300d on days 1..90; RAM 20/3, 1 and 1/6.
* orgB/mystery (10/day, Feb 1) has no size: tracked, summed by region/org, never scored.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ram.charts.figures import ChartData
from ram.metric import formula

AS_OF = dt.date(2025, 6, 30)
SOURCE = "synthetic test panel"
EVIL = "evil/<script>alert(1)</script>"
# model_id, org, region, size_class, params_b, release, rate, tracked, observed days (None: daily)
MODELS: list[tuple[str, str, str | None, str, float, dt.date, float, bool, list[int] | None]] = [
    ("orgA/a-3B", "orgA", "china", "1-5B", 3.0, dt.date(2025, 1, 1), 1000, True, None),
    ("orgB/b-2B", "orgB", "us", "1-5B", 2.0, dt.date(2025, 2, 1), 500, True, None),
    ("orgC/c-4B", "orgC", "eu", "1-5B", 4.0, dt.date(2025, 3, 1), 100, True, None),
    ("fan/f-3B", "fan", "us", "1-5B", 3.0, dt.date(2025, 1, 1), 100000, False, None),
    ("orgA/a-7B", "orgA", "china", "5-10B", 7.0, dt.date(2025, 1, 15), 2000, True, None),
    ("orgD/d-8B", "orgD", "other", "5-10B", 8.0, dt.date(2025, 4, 1), 300, True, None),
    ("orgE/e-6B", "orgE", None, "5-10B", 6.0, dt.date(2025, 5, 1), 50, True, [*range(11), 40, 60]),
    ("orgB/mystery", "orgB", "us", "unknown", np.nan, dt.date(2025, 2, 1), 10, True, None),
]  # fmt: skip
EVIL_MODEL = (EVIL, "evil", "other", "5-10B", 9.0, dt.date(2025, 2, 1), 10, True, None)


def frames(evil: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(observations, models) in the shapes ``formula.compute`` and ``ChartData`` take."""
    specs = [*MODELS, EVIL_MODEL] if evil else MODELS
    obs = []
    for model_id, _, _, _, _, release, rate, _, days in specs:
        age = (AS_OF - release).days
        for d in days if days is not None else range(age + 1):
            obs.append((model_id, release + dt.timedelta(days=d), rate * d))
    obs_frame = pd.DataFrame(obs, columns=["model_id", "obs_date", "downloads_all_time"])
    obs_frame["downloads_30d"] = np.nan
    models = pd.DataFrame(
        [
            {
                "model_id": m,
                "org": org,
                "region": region,
                "size_class": size,
                "params_b": params,
                "release_date": pd.Timestamp(release),
                "tracked": tracked,
            }
            for m, org, region, size, params, release, _, tracked, _ in specs
        ]
    )
    return obs_frame, models


def chart_data(evil: bool = False, method: str = "cutoff") -> ChartData:
    """The synthetic set through the real metric (top_n = 2, and min_pool = 2 so that pools of
    three are not thin), with median baselines too."""
    obs, models = frames(evil)
    pool = models.assign(in_pool=models["tracked"])
    params = formula.RamParams(method=method, top_n=2, min_pool=2)
    result = formula.compute(obs, pool, params, as_of=AS_OF)
    return ChartData.from_result(result, models, SOURCE)
