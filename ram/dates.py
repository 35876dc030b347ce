"""The clock (UTC) and the dates an observation can have: the Hub's first year to today + 1.

A count dated before the Hub existed or after today is a typo or a hostile file; accepted, it
would become every output's "as of" date.
"""

from __future__ import annotations

import datetime as dt

# The Hugging Face Hub's model repos date from 2016 on; nothing can have been downloaded before.
FIRST_DAY = dt.date(2016, 1, 1)
# A file written east of UTC can already be dated tomorrow.
SLACK = dt.timedelta(days=1)


def now_utc() -> dt.datetime:
    """The current time in UTC: what every run and observation is stamped with."""
    return dt.datetime.now(dt.UTC)


def last_day(today: dt.date | None = None) -> dt.date:
    """The latest date an observation may carry: today in UTC plus a day of slack."""
    return (today or now_utc().date()) + SLACK


def date_problem(day: dt.date, today: dt.date | None = None) -> str | None:
    """Why ``day`` cannot date an observation, or None when it can."""
    if day < FIRST_DAY:
        return f"is before {FIRST_DAY.year}, when the Hub began"
    if day > last_day(today):
        return "is in the future (after today in UTC)"
    return None
