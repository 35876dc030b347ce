"""``ram forecast`` and ``ram backtest``: where models will be, and how good that has been."""

from __future__ import annotations

from typing import Annotated

import typer

from ram.cli.common import (
    STATE,
    AsOfOption,
    FormatOption,
    MethodOption,
    analysis,
    fmt_or_default,
    meta_of,
)
from ram.errors import BadInput

METHOD_NOTE = "reference-class ratio (docs/FORECAST_SPEC.md)"


def day_list(text: str | None, option: str) -> list[int] | None:
    """``90,180,365`` as days; None when the option is not given."""
    if text is None:
        return None
    try:
        days = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise BadInput(
            f"{option} {text!r}: give whole days separated by commas, e.g. 90,180,365"
        ) from None
    if not days:
        raise BadInput(f"{option} {text!r}: give at least one day, e.g. 90,180,365")
    return days


HorizonOption = Annotated[
    str | None,
    typer.Option("--horizon", help="Days since release to forecast, e.g. 90,180,365 (config)."),
]


def forecast(
    model_ids: Annotated[
        list[str] | None, typer.Argument(help="Repo ids; default: every pool model.")
    ] = None,
    at_day: Annotated[
        int | None,
        typer.Option("--at-day", help="Forecast as if on this day of each model's life."),
    ] = None,
    horizon: HorizonOption = None,
    fmt: FormatOption = None,
    method: MethodOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Where a model will be at day 90, 180 and 365: downloads and RAM (p10, p50, p90) and the
    probability of ending in its class's top 10, from the models of its class that were
    already that old.  Uses only data dated on or before each forecast's date.

    Example: ram forecast Qwen/Qwen2.5-7B-Instruct --at-day 30 --horizon 90
    """
    from ram import api
    from ram.cli.output import emit

    an = analysis(method, as_of, None)
    board = api.forecast_table(an, STATE.cfg, model_ids, at_day, day_list(horizon, "--horizon"))
    meta = {**meta_of(an), "method": METHOD_NOTE}
    emit(board.rows, fmt_or_default(fmt), title="Forecasts", meta=meta, notes=board.notes)


def backtest(
    at_days: Annotated[
        str | None,
        typer.Option("--at-day", help="Days to forecast from, e.g. 7,14,30,60 (config)."),
    ] = None,
    horizon: HorizonOption = None,
    fmt: FormatOption = None,
    method: MethodOption = None,
    as_of: AsOfOption = None,
) -> None:
    """How good the forecasts have been: every pool model forecast from day T0 of its life
    (rolling origin) against what it reached at day H: error factor, 80% interval coverage,
    rank correlation and the Brier score of P(top 10).

    Example: ram backtest --at-day 14,30 --horizon 90
    """
    from ram import api
    from ram.cli.output import emit

    an = analysis(method, as_of, None)
    summary, _ = api.backtest_table(
        an, STATE.cfg, day_list(at_days, "--at-day"), day_list(horizon, "--horizon")
    )
    meta = {**meta_of(an), "method": METHOD_NOTE}
    emit(summary, fmt_or_default(fmt), title="Forecast backtest (rolling origin)", meta=meta)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``, in the order ``ram --help`` lists them."""
    app.command("forecast")(forecast)
    app.command("backtest")(backtest)
