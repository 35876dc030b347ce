"""Pure data preparation for the adoption charts: model choice, calendar-time sums, monthly flows.

Everything here takes frames or arrays and returns frames; ``ram.charts.figures`` only draws them.
Calendar sums carry each curve's last known value over undefined days (gaps, after the last
point, past ``max_day``): cumulative counts never fall, so the sums are lower bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from ram.config import REGIONS, UNKNOWN
from ram.errors import BadInput, unknown_model, unknown_size_class

OTHER_ORGS = "Other orgs"


def model_table(models: pd.DataFrame) -> pd.DataFrame:
    """Models indexed by model_id with org, region and size class filled ('unknown') and typed."""
    out = models.copy()
    out["model_id"] = out["model_id"].astype(str)
    out = out.drop_duplicates("model_id", keep="last").set_index("model_id")
    org_from_id = out.index.to_series().str.split("/", n=1).str[0]
    org = out["org"] if "org" in out.columns else pd.Series(np.nan, index=out.index)
    out["org"] = org.astype(object).where(org.notna(), org_from_id).astype(str)
    for col in ("region", "size_class"):
        values = out[col] if col in out.columns else pd.Series(np.nan, index=out.index)
        out[col] = values.astype(object).where(values.notna(), UNKNOWN).astype(str)
    out["region"] = out["region"].where(out["region"].isin(REGIONS), UNKNOWN)
    params = out["params_b"] if "params_b" in out.columns else pd.Series(np.nan, index=out.index)
    out["params_b"] = pd.to_numeric(params, errors="coerce")
    out["release_date"] = pd.to_datetime(out["release_date"], utc=True).dt.tz_localize(None)
    out["release_date"] = out["release_date"].dt.normalize()
    tracked = out["tracked"] if "tracked" in out.columns else pd.Series(True, index=out.index)
    out["tracked"] = tracked.astype("boolean").fillna(False).astype(bool)
    return out


def size_class_order(models: pd.DataFrame) -> list[str]:
    """Size classes from small to large (by their smallest model), 'unknown' last."""
    table = models if models.index.name == "model_id" else model_table(models)
    smallest = table.groupby("size_class")["params_b"].min()
    known = [c for c in smallest.index if c != UNKNOWN]
    ordered = sorted(known, key=lambda c: (np.nan_to_num(smallest[c], nan=np.inf), c))
    return ordered + ([UNKNOWN] if UNKNOWN in smallest.index else [])


def check_models(table: pd.DataFrame, chosen: Sequence[str]) -> list[str]:
    """The chosen ids, de-duplicated in order; UnknownModel for an id the data does not hold."""
    out = list(dict.fromkeys(chosen))
    missing = [m for m in out if m not in table.index]
    if missing:
        raise unknown_model(missing[0], list(table.index))
    return out


def check_size_class(table: pd.DataFrame, size_class: str) -> str:
    """The size class if some model has it, else UnknownSizeClass listing the known ones."""
    known = size_class_order(table)
    if size_class not in known or size_class == UNKNOWN:
        raise unknown_size_class(size_class, [c for c in known if c != UNKNOWN], defined=True)
    return size_class


def choose_models(
    table: pd.DataFrame,
    latest: pd.DataFrame | None,
    models: Sequence[str] | None,
    size_class: str | None,
    n: int,
) -> list[str]:
    """The given ids, checked against the table and ``size_class``, else ``recent_models``."""
    if size_class is not None:
        check_size_class(table, size_class)
    if models:
        chosen = check_models(table, models)
        if size_class is not None:
            wrong = [m for m in chosen if table.at[m, "size_class"] != size_class]
            if wrong:
                actual = str(table.at[wrong[0], "size_class"])
                raise BadInput(f"{wrong[0]} is in size class {actual}, not {size_class}")
        return chosen
    if latest is None:
        raise BadInput("no models given and no scores to choose recent ones from")
    return recent_models(latest, table, n, size_class=size_class)


def recent_models(
    latest: pd.DataFrame,
    table: pd.DataFrame,
    n: int,
    *,
    min_day: int = 30,
    size_class: str | None = None,
) -> list[str]:
    """The n most recently released tracked models scored on day >= min_day, newest first.

    ``latest`` is ``RamResult.latest()``; when no model is that old the age bar is dropped.
    """
    if n < 1:
        raise BadInput(f"number of models must be >= 1, got {n}")
    tracked = set(table.index[table["tracked"]])
    pool = latest[latest["model_id"].isin(tracked)]
    if size_class is not None:
        pool = pool[pool["size_class"] == size_class]
    old_enough = pool[pool["day"] >= min_day]
    pool = old_enough if len(old_enough) else pool
    pool = pool.sort_values(["release_date", "model_id"], ascending=[False, True], kind="stable")
    return [str(m) for m in pool["model_id"].head(n)]


def forward_filled(values: np.ndarray) -> np.ndarray:
    """Each row's last defined value carried over later undefined days; NaN before the first."""
    values = np.asarray(values, dtype=np.float64)
    days = np.arange(values.shape[1])
    idx = np.where(np.isnan(values), 0, days[None, :])
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(values, idx, axis=1)
    first = np.where(np.isnan(values), values.shape[1], days[None, :]).min(axis=1)
    filled[days[None, :] < first[:, None]] = np.nan
    return filled


def calendar_totals(
    values: np.ndarray,
    release_dates: Sequence[object] | pd.Series,
    groups: Sequence[str] | pd.Series,
    as_of: date,
) -> pd.DataFrame:
    """Summed cumulative downloads per group and calendar date (release_date + day) up to as_of.

    ``values`` rows are curves (NaN undefined); rows with no defined value add nothing.
    Returns date, group, cumulative_downloads from the first date with downloads; the
    day before it is zero for every group, so differences of this frame are flows.
    """
    rel = pd.to_datetime(pd.Series(list(release_dates)), utc=True).dt.tz_localize(None)
    rel_day = rel.to_numpy("datetime64[D]")
    labels = np.asarray([str(g) for g in groups], dtype=object)
    end = np.datetime64(as_of, "D")
    filled = forward_filled(values)
    usable = ~np.isnan(filled).all(axis=1) & ~rel.isna().to_numpy() & (rel_day <= end)
    cols = ["date", "group", "cumulative_downloads"]
    if not usable.any():
        return pd.DataFrame({c: [] for c in cols}).astype({"date": "M8[ns]", "group": object})
    start = rel_day[usable].min()
    n_days = int((end - start).astype(int)) + 1
    names = list(dict.fromkeys(labels[usable]))
    totals = np.zeros((len(names), n_days))
    row_of = {name: i for i, name in enumerate(names)}
    width = filled.shape[1]
    for i in np.nonzero(usable)[0]:
        curve = np.nan_to_num(filled[i], nan=0.0)
        off = int((rel_day[i] - start).astype(int))
        span = min(width, n_days - off)
        g = row_of[labels[i]]
        totals[g, off : off + span] += curve[:span]
        totals[g, off + width :] += curve[-1]
    positive = np.nonzero(totals.sum(axis=0) > 0)[0]
    first = int(positive[0]) if len(positive) else n_days - 1
    dates = pd.date_range(pd.Timestamp(start) + pd.Timedelta(days=first), periods=n_days - first)
    return pd.DataFrame(
        {
            "date": np.tile(dates.to_numpy("M8[ns]"), len(names)),
            "group": np.repeat(np.asarray(names, dtype=object), len(dates)),
            "cumulative_downloads": totals[:, first:].ravel(),
        }
    )


def collapse_groups(frame: pd.DataFrame, keep: int, value: str) -> pd.DataFrame:
    """Keep the ``keep`` groups with the largest final ``value``; sum the rest as 'Other orgs'."""
    last = frame.sort_values("date", kind="stable").groupby("group")[value].last()
    top = last.sort_values(ascending=False, kind="stable").index[:keep]
    named = frame["group"].where(frame["group"].isin(top), OTHER_ORGS)
    grouped = frame.assign(group=named).groupby(["date", "group"], sort=False, as_index=False)
    return pd.DataFrame(grouped[value].sum())


def calendar_by(
    model_ids: np.ndarray, values: np.ndarray, table: pd.DataFrame, as_of: date, by: str, keep: int
) -> pd.DataFrame:
    """``calendar_totals`` of the tracked curves per region or org (top ``keep`` orgs + rest)."""
    info = table.reindex(pd.Index(model_ids))
    tracked = info["tracked"].fillna(False).to_numpy(dtype=bool)
    totals = calendar_totals(
        values[tracked], info["release_date"][tracked], info[by][tracked], as_of
    )
    return collapse_groups(totals, keep, "cumulative_downloads") if by == "org" else totals


def legend_order(by: str, size: pd.Series) -> list[str]:
    """Regions in their fixed order; orgs largest ``size`` first, 'Other orgs' last."""
    if by == "region":
        return [r for r in REGIONS if r in size.index]
    ranked = size.sort_values(ascending=False, kind="stable").index
    named = [str(g) for g in ranked if g != OTHER_ORGS]
    return named + ([OTHER_ORGS] if OTHER_ORGS in ranked else [])


def monthly_downloads(totals: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Downloads per calendar month and group from ``calendar_totals`` output (month start dates).

    ``partial`` marks the month of ``as_of`` when it is not the month's last day.
    """
    if totals.empty:
        return pd.DataFrame({"month": [], "group": [], "downloads": [], "partial": []})
    wide = totals.pivot_table(
        index="date", columns="group", values="cumulative_downloads", aggfunc="sum", sort=False
    )
    stamps = pd.DatetimeIndex(wide.index)
    at_month_end = wide.groupby(stamps.to_period("M")).last()
    flows = at_month_end.diff()
    flows.iloc[0] = at_month_end.iloc[0]
    month = pd.PeriodIndex(flows.index).to_timestamp()
    last_day = pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)
    partial_month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    is_partial = pd.Timestamp(as_of) != last_day
    out = (
        pd.DataFrame(flows.to_numpy(), index=month, columns=list(wide.columns))
        .rename_axis("month")
        .reset_index()
        .melt(id_vars="month", var_name="group", value_name="downloads")
    )
    out["partial"] = is_partial & (out["month"] == partial_month)
    return out


def last_values(values: np.ndarray) -> np.ndarray:
    """Each curve's last defined value (NaN when the curve is empty)."""
    filled = forward_filled(values)
    return filled[:, -1] if filled.shape[1] else np.full(len(values), np.nan)


def size_mix(
    model_ids: Sequence[str], downloads: np.ndarray, table: pd.DataFrame, keep: int = 12
) -> pd.DataFrame:
    """Downloads per org and size class with each org's share; minor orgs as 'Other orgs'.

    Only tracked models in ``table`` with known downloads count.  Rows: org, size_class,
    downloads, share (0..1 of the org's total), ordered by org total then size class.
    """
    frame = pd.DataFrame({"model_id": list(model_ids), "downloads": downloads})
    frame = frame[frame["model_id"].isin(table.index[table["tracked"]])]
    frame = frame[frame["downloads"].notna()]
    info = table.loc[frame["model_id"], ["org", "size_class"]].reset_index(drop=True)
    frame = pd.concat([frame.reset_index(drop=True), info], axis=1)
    by_org = frame.groupby("org")["downloads"].sum().sort_values(ascending=False, kind="stable")
    by_org = by_org[by_org > 0]
    top = list(by_org.index[:keep])
    frame = frame[frame["org"].isin(by_org.index)]
    frame["org"] = frame["org"].where(frame["org"].isin(top), OTHER_ORGS)
    orgs = top + ([OTHER_ORGS] if len(by_org) > keep else [])
    classes = size_class_order(table)
    mix = pd.DataFrame(frame.groupby(["org", "size_class"], as_index=False)["downloads"].sum())
    mix["share"] = mix["downloads"] / mix.groupby("org")["downloads"].transform("sum")
    mix["org"] = pd.Categorical(mix["org"], categories=orgs, ordered=True)
    mix["size_class"] = pd.Categorical(mix["size_class"], categories=classes, ordered=True)
    mix = mix.sort_values(["org", "size_class"], kind="stable", ignore_index=True)
    return mix.astype({"org": str, "size_class": str})


def milestone_matrix(
    scores: pd.DataFrame, model_ids: Sequence[str], milestones: Sequence[int]
) -> pd.DataFrame:
    """RAM per model (rows, in the given order) and milestone day (columns); NaN when unscored."""
    cells = scores[scores["model_id"].isin(list(model_ids)) & scores["day"].isin(milestones)]
    wide = cells.pivot_table(index="model_id", columns="day", values="ram", aggfunc="last")
    return wide.reindex(index=list(model_ids), columns=list(milestones)).astype(float)


def derivative_shares(
    counts: pd.DataFrame, table: pd.DataFrame, as_of: date, keep: int = 8
) -> dict[str, pd.DataFrame]:
    """Monthly shares of new derivatives of tracked models, by base org (the ``keep`` orgs with
    the most, then 'Other orgs') and by region: ``{"org": ..., "region": ...}`` frames of
    ``month, group, new, share``."""
    from ram import derivatives

    tracked = set(table.index[table["tracked"].astype(bool)])
    signal = derivatives.signal_obs(counts[counts["model_id"].isin(list(tracked))])
    new = derivatives.monthly_new(signal, as_of)
    org = {str(k): str(v) for k, v in table["org"].items()}
    by_org = new.groupby(new["model_id"].map(org))["new"].sum().sort_values(ascending=False)
    named = set(by_org.index[:keep])
    groups = {m: (o if o in named else OTHER_ORGS) for m, o in org.items()}
    return {
        "org": derivatives.shares(new, groups),
        "region": derivatives.shares(
            new, {str(k): str(v) for k, v in table["region"].fillna("unknown").items()}
        ),
    }
