"""Which score rows a leaderboard shows, and the lines that say what it left out (RAM_SPEC §3-4).

A default leaderboard shows tracked pool members scored against a baseline that rests on at least
``min_pool`` curves.  Thin and out-of-pool rows are left out and counted; a size class without a
usable baseline is named with the reason.  The full computation (``ram.api``) and the top cache
(``ram.score_cache``) both decide and word it here, so the two answers cannot drift apart.
Pure: no pandas, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ram.metric.formula import RamResult


@dataclass(frozen=True)
class Scope:
    """What a leaderboard shows: by default pool members on baselines that are not thin."""

    include_thin: bool = False  # --include-thin: thin rows too, flagged
    include_all: bool = False  # --all: untracked models too (and thin rows), flagged

    def keeps(self, in_pool: bool, thin: bool) -> bool:
        if self.include_all:
            return True
        return bool(in_pool) and (self.include_thin or not thin)


@dataclass(frozen=True)
class Support:
    """Per size class, day by day (index 0 is day 1): how many pool curves are defined
    (``n_models``, RAM_SPEC §3) and whether the baseline is defined."""

    curves: Mapping[str, Sequence[int]]
    defined: Mapping[str, Sequence[bool]]
    method: str
    top_n: int
    min_pool: int

    def at(self, size_class: str, day: int) -> tuple[int, bool]:
        curves = self.curves.get(size_class, ())
        defined = self.defined.get(size_class, ())
        i = day - 1
        return (curves[i] if 0 <= i < len(curves) else 0), (
            bool(defined[i]) if 0 <= i < len(defined) else False
        )

    def to_json(self) -> dict[str, object]:
        return {
            "curves": {k: list(v) for k, v in self.curves.items()},
            "defined": {k: [int(x) for x in v] for k, v in self.defined.items()},
            "method": self.method,
            "top_n": self.top_n,
            "min_pool": self.min_pool,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Support:
        curves = data["curves"]
        defined = data["defined"]
        assert isinstance(curves, dict) and isinstance(defined, dict)
        return cls(
            curves={str(k): [int(x) for x in v] for k, v in curves.items()},
            defined={str(k): [bool(x) for x in v] for k, v in defined.items()},
            method=str(data["method"]),
            top_n=int(str(data["top_n"])),
            min_pool=int(str(data["min_pool"])),
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _why_empty(size_class: str, day: int | None, support: Support, scope: Scope) -> str:
    """Why ``size_class`` has no row: no baseline on that day, or only thin ones left out."""
    need = support.top_n if support.method == "cutoff" else math.ceil(support.top_n / 2)
    if day is None:
        if not any(support.defined.get(size_class, ())):
            most = max(support.curves.get(size_class, ()), default=0)
            return f"never {need} tracked curves on one day (at most {most:,}): no baseline"
        return "every latest score rests on a thin baseline (--include-thin shows them)"
    n, defined = support.at(size_class, day)
    if not defined:
        if support.method == "median":
            return f"{n:,} of its top {support.top_n} curves reach day {day}, fewer than {need}"
        if n == 0:
            return f"no tracked curve reaches day {day}"
        verb = "reaches" if n == 1 else "reach"
        return f"{_plural(n, 'tracked curve')} {verb} day {day}, fewer than {need}"
    if not scope.include_thin and not scope.include_all:
        return (
            f"its baseline rests on {n:,} curves at day {day}, fewer than min_pool "
            f"{support.min_pool} (thin; --include-thin shows it)"
        )
    return "no scored model"


def notes(
    *,
    day: int | None,
    classes: Sequence[str],
    kept: Mapping[str, int],
    thin_left_out: int,
    untracked_left_out: int,
    support: Support,
    scope: Scope,
) -> list[str]:
    """Lines for stderr: the rows left out and why, then each class without a leaderboard."""
    lines = []
    parts = []
    if thin_left_out:
        parts.append(
            f"{_plural(thin_left_out, 'row')} on thin baselines (fewer than "
            f"{support.min_pool} pool curves that day; --include-thin shows them)"
        )
    if untracked_left_out:
        parts.append(
            f"{_plural(untracked_left_out, 'untracked model')} (not in the pool; --all shows them)"
        )
    if parts:
        lines.append("left out " + " and ".join(parts))
    lines.extend(
        f"no leaderboard for {c}: {_why_empty(c, day, support, scope)}"
        for c in classes
        if not kept.get(c)
    )
    if classes and not any(kept.get(c) for c in classes):
        lines.append(NOTHING_YET)
    return lines


# The last line of an answer with no row at all: a young store has no history yet.
NOTHING_YET = (
    "nothing to rank yet: curves need history from each model's release; fetch it with "
    "ram backfill --hub cfahlgren1/hub-stats (or ram import panel FILE), then snapshot daily"
)


def support_of(result: RamResult, classes: Sequence[str]) -> Support:
    """Day-by-day pool support and baseline definedness of each of ``classes``."""
    params = result.params
    max_day = params.max_day
    curves: dict[str, list[int]] = {}
    defined: dict[str, list[bool]] = {}
    sup, base = result.support, result.baselines
    for label in classes:
        counts = [0] * max_day
        rows = sup[sup["size_class"] == label]
        for day, n in zip(rows["day"].tolist(), rows["n_models"].tolist(), strict=True):
            if 1 <= day <= max_day:
                counts[day - 1] = int(n)
        flags = [False] * max_day
        for day in base.loc[base["size_class"] == label, "day"].tolist():
            if 1 <= day <= max_day:
                flags[day - 1] = True
        curves[label], defined[label] = counts, flags
    return Support(curves, defined, params.method, params.top_n, params.pool_floor)
