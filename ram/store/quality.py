"""Data-quality flags of the observations, kept in the store as they are written (schema 4).

``ram status`` lists two flags the observations raise themselves (``ram.metric.quality`` holds
their definition, over one row per model and day as ``Store.observations`` gives them):

* ``restated down``: an all-time count below the largest earlier one of the same model;
* ``spike``: a 30-day count at least ``SPIKE_RATIO`` times the model's previous 30-day count
  (and at least ``SPIKE_MIN_DOWNLOADS``).

Recomputing them reads every observation, which is most of what ``ram status`` used to cost.
So the store keeps them: ``quality_flags`` holds every flag with its count and the count it is
measured against, and ``quality_state`` holds, per model, what the next day's flags depend on
(its last day, largest all-time count and last 30-day count).  A write that only appends days
after a model's last day (a daily snapshot) computes that model's new flags from its state and
the new rows, in the write's transaction.  Any other write of a model (a day before its last
one, the same day again, a rename) marks it ``dirty_since``; ``settle`` recomputes dirty models
from their whole history once the pipeline's writes are done, and until then a reader computes
their flags on the fly, so what a reader sees always equals the definition.

Every function here takes a DuckDB connection inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import duckdb

SPIKE_RATIO = 10.0
SPIKE_MIN_DOWNLOADS = 10_000
RESTATED, SPIKE = "restated down", "spike"
TABLES = ("quality_flags", "quality_state")
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS quality_flags (
        model_id VARCHAR NOT NULL, flag VARCHAR NOT NULL, obs_date DATE NOT NULL,
        value BIGINT NOT NULL, previous BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS quality_state (
        model_id VARCHAR NOT NULL, last_date DATE, max_all_time BIGINT, last_30d BIGINT,
        dirty_since DATE
    )""",
]
# Live snapshots beat imported panels, which beat archive rows of the same day (as
# ``Store.observations`` chooses).
SOURCE_RANK = "CASE WHEN source = 'hub' THEN 0 WHEN source LIKE 'archive:%' THEN 2 ELSE 1 END"
_ALL_HISTORY = "DATE '0001-01-01'"

# The models to compute, as temp table ``_q`` (model_id, since, prior_max, prior_30d), become
# ``_qd``: their rows from ``since`` on, one per day, with the state carried in from ``_q``.
_DAYS = f"""CREATE OR REPLACE TEMP TABLE _qd AS
    SELECT o.model_id, o.obs_date, o.downloads_all_time AS a, o.downloads_30d AS w,
        q.prior_max, q.prior_30d
    FROM observations o JOIN _q q ON o.model_id = q.model_id AND o.obs_date >= q.since
    WHERE o.obs_date >= ?
    QUALIFY row_number() OVER (PARTITION BY o.model_id, o.obs_date
            ORDER BY {SOURCE_RANK}, o.observed_at DESC NULLS LAST) = 1"""
_FLAGS = f"""
    SELECT model_id, flag, obs_date, value, previous FROM (
        SELECT model_id, '{RESTATED}' AS flag, obs_date, a AS value,
            greatest(prior_max, max(a) OVER (PARTITION BY model_id ORDER BY obs_date
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS previous
        FROM _qd WHERE a IS NOT NULL
    ) WHERE value < previous
    UNION ALL
    SELECT model_id, flag, obs_date, value, previous FROM (
        SELECT model_id, '{SPIKE}' AS flag, obs_date, w AS value,
            coalesce(lag(w) OVER (PARTITION BY model_id ORDER BY obs_date), prior_30d)
                AS previous
        FROM _qd WHERE w IS NOT NULL
    ) WHERE value >= {SPIKE_MIN_DOWNLOADS}
        AND (previous = 0 OR value::DOUBLE / previous >= {SPIKE_RATIO})"""
_STATE = """
    SELECT model_id, max(obs_date) AS last_date,
        greatest(any_value(prior_max), max(a)) AS max_all_time,
        coalesce(arg_max(w, obs_date) FILTER (WHERE w IS NOT NULL), any_value(prior_30d))
            AS last_30d,
        NULL::DATE AS dirty_since
    FROM _qd GROUP BY model_id"""
_TEMPS = ("_q", "_qd", "_quality_batch", "_quality_state")


def _days(con: duckdb.DuckDBPyConnection, models: str) -> None:
    """``_q`` from the query ``models``, then ``_qd``: the rows the flags are computed on."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _q AS {models}")
    row = con.execute("SELECT min(since) FROM _q").fetchone()
    floor = row[0] if row and row[0] is not None else dt.date.max
    con.execute(_DAYS, [floor])  # the constant bound lets DuckDB skip older row groups


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    for temp in _TEMPS:
        con.execute(f"DROP TABLE IF EXISTS {temp}")


_WHOLE = (
    f"SELECT model_id, {_ALL_HISTORY} AS since, NULL::BIGINT AS prior_max, "
    "NULL::BIGINT AS prior_30d FROM quality_state WHERE dirty_since IS NOT NULL"
)


def update(con: duckdb.DuckDBPyConnection, batch: str) -> None:
    """After table ``batch`` (rows just written to ``observations``) has landed: the new flags
    and state of the models it only appended days to, ``dirty_since`` for the others."""
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _quality_batch AS
            SELECT b.model_id, min(b.obs_date) AS since, max(b.obs_date) AS until,
                any_value(s.last_date) AS last_date, any_value(s.max_all_time) AS prior_max,
                any_value(s.last_30d) AS prior_30d, any_value(s.dirty_since) AS dirty_since,
                count(s.model_id) > 0 AS known
            FROM {batch} b LEFT JOIN quality_state s USING (model_id) GROUP BY b.model_id"""
        )
        _days(
            con,
            """SELECT model_id, since, prior_max, prior_30d FROM _quality_batch
            WHERE dirty_since IS NULL AND (last_date IS NULL OR since > last_date)""",
        )
        con.execute(f"INSERT INTO quality_flags {_FLAGS}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _quality_state AS {_STATE}")
        con.execute(
            """UPDATE quality_state s SET last_date = n.last_date,
                max_all_time = n.max_all_time, last_30d = n.last_30d
            FROM _quality_state n WHERE s.model_id = n.model_id"""
        )
        con.execute(
            """INSERT INTO quality_state SELECT * FROM _quality_state
            WHERE model_id IN (SELECT model_id FROM _quality_batch WHERE NOT known)"""
        )
        # the rest: a day at or before the model's last one, or a model already dirty
        con.execute(
            """UPDATE quality_state s SET dirty_since = least(s.dirty_since, b.since),
                last_date = greatest(s.last_date, b.until)
            FROM _quality_batch b
            WHERE s.model_id = b.model_id AND b.known
              AND (b.dirty_since IS NOT NULL OR b.since <= b.last_date)"""
        )
    finally:
        _drop(con)


def mark_dirty(con: duckdb.DuckDBPyConnection, model_ids: Sequence[str]) -> None:
    """Recompute these models from their whole history at the next ``settle`` (a rename moved
    rows between them)."""
    for mid in model_ids:
        con.execute("DELETE FROM quality_state WHERE model_id = ?", [mid])
        con.execute(
            f"""INSERT INTO quality_state
            SELECT ?, (SELECT max(obs_date) FROM observations WHERE model_id = ?), NULL, NULL,
                {_ALL_HISTORY}""",
            [mid, mid],
        )


def dirty(con: duckdb.DuckDBPyConnection) -> int:
    """How many models wait for ``settle``."""
    row = con.execute("SELECT count(*) FROM quality_state WHERE dirty_since IS NOT NULL").fetchone()
    return int(row[0]) if row else 0


def extents(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, dt.date]]:
    """Per org (the id before its first ``/``): models observed and the last day of any, from
    the state (every model with an observation has its row, ``last_date`` kept current even
    while it is dirty)."""
    return con.execute(
        """SELECT split_part(model_id, '/', 1) AS org, count(*), max(last_date)
        FROM quality_state WHERE last_date IS NOT NULL GROUP BY org"""
    ).fetchall()


def settle(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute every dirty model's flags and state from its whole history; how many."""
    n = dirty(con)
    if not n:
        return 0
    try:
        _days(con, _WHOLE)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _quality_batch AS {_FLAGS}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _quality_state AS {_STATE}")
        for table in TABLES:
            con.execute(f"DELETE FROM {table} WHERE model_id IN (SELECT model_id FROM _q)")
        con.execute("INSERT INTO quality_flags SELECT * FROM _quality_batch")
        con.execute("INSERT INTO quality_state SELECT * FROM _quality_state")
    finally:
        _drop(con)
    return n


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Every model's flags and state from scratch (the upgrade to schema 4)."""
    for table in TABLES:
        con.execute(f"DELETE FROM {table}")
    con.execute(
        f"""INSERT INTO quality_state
        SELECT DISTINCT model_id, NULL, NULL, NULL, {_ALL_HISTORY} FROM observations"""
    )
    settle(con)


def detail(flag: str, value: int, previous: int) -> str:
    """The detail of a kept flag (``value`` and ``previous`` of its row), as
    ``ram.metric.quality`` words it: ``"1,200 after 1,500"``, ``"30-day count x12"``."""
    if flag == RESTATED:
        return f"{value:,} after {previous:,}"
    ratio = math.inf if previous == 0 else float(value) / float(previous)
    return f"30-day count x{ratio:.0f}"


def flags(
    con: duckdb.DuckDBPyConnection, maintained: bool = True
) -> list[tuple[str, str, dt.date, int, int]]:
    """Every flag as ``(model_id, flag, obs_date, value, previous)``: restatements, then
    spikes, each by model and day.  Dirty models' flags are computed here (in temp tables, so
    a read-only connection can); a store older than schema 4 (``maintained`` False) has every
    flag computed."""
    if maintained and not dirty(con):
        rows = con.execute(
            f"""SELECT model_id, flag, obs_date, value, previous FROM quality_flags
            ORDER BY flag = '{SPIKE}', model_id, obs_date"""
        ).fetchall()
        return [(str(m), str(f), d, int(v), int(p)) for m, f, d, v, p in rows]
    try:
        if maintained:
            _days(con, _WHOLE)
            stored = """SELECT model_id, flag, obs_date, value, previous FROM quality_flags
                WHERE model_id NOT IN (SELECT model_id FROM _q) UNION ALL """
        else:
            _days(
                con,
                f"SELECT DISTINCT model_id, {_ALL_HISTORY} AS since, NULL::BIGINT AS "
                "prior_max, NULL::BIGINT AS prior_30d FROM observations",
            )
            stored = ""
        rows = con.execute(
            f"""SELECT * FROM ({stored}{_FLAGS})
            ORDER BY flag = '{SPIKE}', model_id, obs_date"""
        ).fetchall()
    finally:
        _drop(con)
    return [(str(m), str(f), d, int(v), int(p)) for m, f, d, v, p in rows]
