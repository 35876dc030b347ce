"""What every CLI command shares: global state, option aliases and their parsers.

Kept free of heavy imports so that ``ram --help`` and ``ram top`` start fast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ram.errors import BadInput

if TYPE_CHECKING:
    from ram.api import Analysis
    from ram.config import Config


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class Method(StrEnum):
    cutoff = "cutoff"
    median = "median"


@dataclass
class State:
    """Global options, resolved lazily so ``--help`` never reads the config."""

    db: Path | None = None
    config: Path | None = None
    debug: bool = False
    _cfg: Config | None = None

    @property
    def cfg(self) -> Config:
        if self._cfg is None:
            from ram.config import load_config

            self._cfg = load_config(self.config)
        return self._cfg

    @property
    def db_path(self) -> Path:
        return self.cfg.db_path(self.db)


STATE = State()


def fmt_or_default(fmt: Format | None) -> str:
    from ram.cli.output import default_format

    return fmt.value if fmt is not None else default_format()


def parse_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date; use YYYY-MM-DD") from None


def check_days(days: list[int] | None) -> list[int] | None:
    if not days:
        return None
    last = STATE.cfg.ram.max_day  # curves end there: a later day has no answer, ever
    for d in days:
        if d < 1:
            raise BadInput(f"--day {d}: days since release start at 1")
        if d > last:
            raise BadInput(f"--day {d}: curves end at day {last} (ram.max_day); ask for 1..{last}")
    return sorted(set(days))


FormatOption = Annotated[
    Format | None,
    typer.Option("--format", "-f", help="table (default on a terminal), csv or json."),
]
MethodOption = Annotated[
    Method | None, typer.Option("--method", help="Baseline method (default from config).")
]
BaselineOption = Annotated[
    str | None,
    typer.Option("--baseline", help="Score against this frozen baseline version instead of live."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Compute as of this date (YYYY-MM-DD); default: latest data."),
]
DaysOption = Annotated[
    list[int] | None,
    typer.Option("--day", "-d", help="Days since release (repeatable); default: the milestones."),
]


def size_class_label(text: str | None) -> str | None:
    """``--size-class`` in any case (``5-10b``): the configured scheme's label it names, else
    the text as given (the command then says which labels exist)."""
    if text is None:
        return None
    from ram.config import UNKNOWN

    labels = [label for label, _, _ in STATE.cfg.size_scheme()] + [UNKNOWN]
    return next((label for label in labels if label.lower() == text.strip().lower()), text)


SizeClassOption = Annotated[
    str | None,
    typer.Option(
        "--size-class",
        "-c",
        help="Only this size class, e.g. 5-10B (any case).",
        callback=size_class_label,
    ),
]


def analysis(
    method: object,
    as_of: str | None,
    baseline: str | None,
    signal: object = None,
    by: object = None,
    only_model: str | None = None,
) -> Analysis:
    """The analysis the options ask for; the live one also (re)writes the top cache (not the
    one of ``only_model``'s class alone, which holds one class)."""
    from ram import api, score_cache

    cfg, db = STATE.cfg, STATE.db_path
    chosen, when = getattr(method, "value", None), parse_date(as_of)
    what, unit = getattr(signal, "value", "downloads"), getattr(by, "value", "model")
    # The key is taken before the read, so a write during it leaves the cache unused.
    live = score_cache.applies(cfg, chosen, baseline, when) and (what, unit) == (
        "downloads",
        "model",
    )
    live = live and only_model is None
    key = score_cache.cache_key(cfg, db) if live else None
    an = api.analyse(
        cfg, db, method=chosen, as_of=when, baseline=baseline, signal=what, by=unit,
        only_model=only_model,
    )  # fmt: skip
    if live:
        score_cache.save(an, db, key)
    return an


def meta_of(an: Analysis) -> dict[str, object]:
    """The as-of date, baseline and source every listing carries."""
    return {"as_of": an.as_of, "baseline": an.baseline_label, "source": an.source}


class Signal(StrEnum):
    downloads = "downloads"
    derivatives = "derivatives"


class Unit(StrEnum):
    model = "model"
    family = "family"


SignalOption = Annotated[
    Signal,
    typer.Option(
        "--signal",
        help="What adoption is counted: downloads (default), or derivatives (fine-tunes, "
        "adapters, quantizations, merges built on each model).",
        case_sensitive=False,
    ),
]
ByOption = Annotated[
    Unit,
    typer.Option(
        "--by",
        help="Score each repo (model, ATOM's method), or each family: a base and its "
        "first-party variants (-FP8, -NVFP4, ...), downloads summed.",
        case_sensitive=False,
    ),
]


OrgOption = Annotated[
    str | None, typer.Option("--org", help="Only this org's models (any case), e.g. Qwen.")
]
ReleasedSinceOption = Annotated[
    str | None,
    typer.Option(
        "--released-since",
        help="Only models released on or after this date (YYYY-MM-DD).",
        metavar="<date>",
    ),
]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="Only this region's models: china, us, eu, other.")
]
