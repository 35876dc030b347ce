"""Which stored row counts for each (model, day): the store's read rule, done in numpy.

``Store.observations`` reads the rows unsorted, with each model as an integer key (its place in
id order), and chooses here.  On the store of ``benchmarks/commands.py`` (2,000 models, 1.33 M
rows) the whole read went from 0.27-0.47 s to 0.16-0.21 s and its process's peak from 461-479
to 326 MB, against DuckDB's window over the rows and its sort on the id text.
"""

from __future__ import annotations

import numpy as np

# ``observed_at`` of a row without one: below every real time, so it loses (NULLS LAST).
NO_TIME = np.iinfo(np.int64).min


def one_per_day(model: np.ndarray, day: np.ndarray, rank: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Positions of the rows that count, one per (model, day), in (model, day) order.

    ``model``: non-negative integer keys, ordered as the output is to be; ``day``: int days;
    ``rank``: the source's rank (lower wins: live, then panels, then archives); ``at``:
    ``observed_at`` as int64 microseconds, ``NO_TIME`` when unknown.  Among rows of one day the
    lowest rank wins, then the latest time; rows equal on both go by input order (the first).
    """
    if not len(model):
        return np.zeros(0, dtype=np.int64)
    base = np.int64(day.min())
    key = (model.astype(np.int64) << 32) | (day.astype(np.int64) - base)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    same = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if not len(same):
        return order
    # Only the rows of a day held twice or more are ranked: usually a few in a thousand.
    held = np.unique(np.r_[same, same + 1])  # positions in ``order``, ascending
    rows = order[held]
    # lexsort's last key is the primary; ~at puts the latest time first and NO_TIME last.
    ranked = held[np.lexsort((~at[rows], rank[rows], sorted_key[held]))]
    first = np.r_[True, sorted_key[ranked][1:] != sorted_key[ranked][:-1]]
    keep = np.ones(len(order), dtype=bool)
    keep[held] = False
    keep[ranked[first]] = True
    return order[keep]
