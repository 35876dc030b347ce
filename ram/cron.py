"""Standard 5-field crontab lines, checked without the scheduler: ranges, names, steps, and
whether the line can fire at all.

``config.yaml`` is validated on load with this (so ``schedule.cron`` is refused by every command,
not first by ``ram schedule``), and the scheduler turns weekdays into APScheduler's names here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

# Crontab counts weekdays from Sunday (0 and 7); APScheduler 3.x counts from Monday, so numbers
# are turned into names, which mean the same to both.
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# name, lowest, highest, names (the first name is worth ``lowest``)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("weekday", 0, 7, DAYS),
)
EXAMPLE = "'17 6 * * *' (06:17 every day)"


@dataclass(frozen=True)
class CronLine:
    """The values each field allows; weekdays 0-6 from Sunday."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    weekday_text: str
    day_text: str = "*"

    @property
    def either_day(self) -> bool:
        """Crontab's day rule: when both the day and the weekday field are restricted (neither
        starts with ``*``), the line fires on a day that matches *either* (``0 6 1 * mon``: the
        1st of each month and every Monday); otherwise on days that match both."""
        return not self.day_text.startswith("*") and not self.weekday_text.startswith("*")

    def fires(self) -> bool:
        """False for a line no date matches, such as ``0 0 31 2 *`` (there is no 31 February);
        a restricted weekday makes any such line fire (the days match either)."""
        if self.either_day:
            return True
        longest = {m: 29 if m == 2 else calendar.monthrange(2001, m)[1] for m in self.months}
        return any(d <= longest[m] for m in self.months for d in self.days)

    def apscheduler_weekdays(self) -> str:
        """The weekday field as APScheduler 3.x names (``*`` stays ``*``)."""
        if self.weekday_text == "*":
            return "*"
        return ",".join(DAYS[d] for d in sorted(self.weekdays))


def _one(text: str, name: str, lo: int, hi: int, names: tuple[str, ...]) -> int:
    t = text.strip().lower()
    if t in names:
        return names.index(t) + lo
    if t.isdigit() and lo <= int(t) <= hi:
        return int(t)
    spelled = f" or {names[0]}-{names[-1]}" if names else ""
    raise ValueError(f"{name} {text!r} is not {lo}-{hi}{spelled}")


def _values(text: str, name: str, lo: int, hi: int, names: tuple[str, ...]) -> set[int]:
    out: set[int] = set()
    for item in text.split(","):
        body, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"step {step_text!r} in the {name} field is not a positive number")
        step = int(step_text) if slash else 1
        if body == "*":
            a, b = lo, hi
        elif "-" in body:
            first, last = body.split("-", 1)
            a, b = _one(first, name, lo, hi, names), _one(last, name, lo, hi, names)
        else:
            a = _one(body, name, lo, hi, names)
            b = hi if slash else a
        if a > b:
            raise ValueError(f"{name} range {body!r} runs backwards")
        out.update(range(a, b + 1, step))
    return out


def parse_crontab(text: str) -> CronLine:
    """Check a crontab line; ``ValueError`` says what is wrong with it."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"a cron line has 5 fields: minute hour day month weekday, e.g. {EXAMPLE}")
    sets = [_values(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True)]
    line = CronLine(
        text=text,
        minutes=frozenset(sets[0]),
        hours=frozenset(sets[1]),
        days=frozenset(sets[2]),
        months=frozenset(sets[3]),
        weekdays=frozenset(d % 7 for d in sets[4]),
        weekday_text=fields[4],
        day_text=fields[2],
    )
    if not line.fires():
        raise ValueError(f"{text!r} never fires (no month has that day); e.g. {EXAMPLE}")
    return line
