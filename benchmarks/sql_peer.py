"""A plain DuckDB SQL leaderboard: ``ram top --day D`` (D <= 30) written as one query.

The reference issue 19 measures the commands against: what a careful analyst would write by hand
against the store file, RAM_SPEC §2-§4 with the ``cutoff`` method and the default parameters
(top 10, gaps of at most 14 days bridged, thin below 20 curves), and the leaderboard rules
(tracked pool members on baselines that are not thin, 10 per size class, best first).  It reads
only what a day-D answer can depend on: each model's days 0..D+14 (the next point bridging day D
is at most 14 days later), window-only curves to the depth those days need (a 30-day count on day
d >= 30 adds C(d - 30), and for d <= 44 that reads only points before day 30), and per model
whether it has any all-time count at all (which decides between the two kinds of curve).

The size class, release date and pool membership of each model come from ``ram.catalog``
(policy, not metric), given to the query as a table the caller writes beforehand (untimed).

    python -m benchmarks.sql_peer STORE RESOLVED.parquet [--day 30]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import duckdb

TOP_N, MAX_GAP, MIN_POOL = 10, 14, 20
RANK = "CASE WHEN source = 'hub' THEN 0 WHEN source LIKE 'archive:%' THEN 2 ELSE 1 END"
COLUMNS = [
    "rank", "model_id", "size_class", "release_date", "day", "cumulative_downloads",
    "baseline", "ram", "n_models",
]  # fmt: skip


def query(resolved: str, day: int) -> str:
    """The leaderboard at ``day`` as one SQL statement over ``observations`` and ``resolved``."""
    if not 1 <= day <= 30:
        raise ValueError("the peer answers days 1..30 (window curves to one level of depth)")
    horizon = day + MAX_GAP
    return f"""
WITH m AS (
    SELECT model_id, size_class, CAST(release_date AS DATE) AS release_date, in_pool
    FROM read_parquet('{resolved}')
    WHERE release_date IS NOT NULL AND size_class <> 'unknown'
),
latest AS (SELECT max(obs_date) AS as_of FROM observations),
o AS (  -- one row per model and day (live beats panel beats archive, then the latest)
    SELECT o.model_id, CAST(o.obs_date - m.release_date AS INTEGER) AS d,
        o.downloads_all_time AS a, o.downloads_30d AS w
    FROM observations o JOIN m USING (model_id)
    WHERE o.obs_date >= m.release_date AND o.obs_date <= m.release_date + {horizon}
    QUALIFY row_number() OVER (PARTITION BY o.model_id, o.obs_date
            ORDER BY {RANK}, o.observed_at DESC NULLS LAST) = 1
),
direct AS (  -- models with an all-time count anywhere in their history (RAM_SPEC §2 rule 3)
    SELECT DISTINCT o.model_id FROM observations o JOIN m USING (model_id), latest
    WHERE o.downloads_all_time IS NOT NULL AND o.obs_date >= m.release_date
      AND o.obs_date <= latest.as_of
),
anchors AS (SELECT model_id, 0 AS d, 0::DOUBLE AS v FROM m),
w1 AS (  -- window points before day 30, with the anchor, running maximum
    SELECT model_id, d, max(v) OVER (PARTITION BY model_id ORDER BY d
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v
    FROM (
        SELECT model_id, d, max(v) AS v FROM (
            SELECT model_id, d, w::DOUBLE AS v FROM o
            WHERE w IS NOT NULL AND d < 30 AND model_id NOT IN (SELECT model_id FROM direct)
            UNION ALL
            SELECT * FROM anchors WHERE model_id NOT IN (SELECT model_id FROM direct)
        ) GROUP BY model_id, d
    )
),
w2_raw AS (  -- day d >= 30: the 30-day count plus C(d - 30) read from the points before 30
    SELECT o.model_id, o.d, o.w::DOUBLE AS w, o.d - 30 AS x
    FROM o WHERE o.w IS NOT NULL AND o.d >= 30
      AND o.model_id NOT IN (SELECT model_id FROM direct)
),
w2_prev AS (
    SELECT r.*, p.d AS pd, p.v AS pv FROM w2_raw r
    ASOF JOIN w1 p ON r.model_id = p.model_id AND r.x >= p.d
),
w2 AS (
    SELECT r.model_id, r.d, r.w + CASE WHEN r.pd = r.x THEN r.pv
        ELSE r.pv + (n.v - r.pv) * (r.x - r.pd) / (n.d - r.pd) END AS v
    FROM w2_prev r ASOF JOIN w1 n ON r.model_id = n.model_id AND r.x <= n.d
    WHERE r.pd = r.x OR n.d - r.pd <= {MAX_GAP}
),
window_points AS (
    SELECT model_id, d, max(v) OVER (PARTITION BY model_id ORDER BY d
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v
    FROM (SELECT model_id, d, v FROM w1 UNION ALL SELECT model_id, d, v FROM w2)
),
direct_points AS (
    SELECT model_id, d, max(v) OVER (PARTITION BY model_id ORDER BY d
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v
    FROM (
        SELECT model_id, d, max(v) AS v FROM (
            SELECT model_id, d, a::DOUBLE AS v FROM o
            WHERE a IS NOT NULL AND model_id IN (SELECT model_id FROM direct)
            UNION ALL
            SELECT * FROM anchors WHERE model_id IN (SELECT model_id FROM direct)
        ) GROUP BY model_id, d
    )
),
points AS (SELECT * FROM direct_points UNION ALL SELECT * FROM window_points),
grid AS (  -- days 1..D of each model old enough to have them
    SELECT m.model_id, g.day FROM m, latest, range(1, {day} + 1) g(day)
    WHERE m.release_date + CAST(g.day AS INTEGER) <= latest.as_of
),
prev AS (
    SELECT g.model_id, g.day, p.d AS pd, p.v AS pv FROM grid g
    ASOF JOIN points p ON g.model_id = p.model_id AND g.day >= p.d
),
curve AS (
    SELECT r.model_id, r.day, CASE WHEN r.pd = r.day THEN r.pv
        ELSE r.pv + (n.v - r.pv) * (r.day - r.pd) / (n.d - r.pd) END AS c
    FROM prev r ASOF LEFT JOIN points n ON r.model_id = n.model_id AND r.day <= n.d
    WHERE r.pd = r.day OR (n.d IS NOT NULL AND n.d - r.pd <= {MAX_GAP})
),
pool AS (
    SELECT m.size_class, c.day, c.c,
        row_number() OVER (PARTITION BY m.size_class, c.day ORDER BY c.c DESC) AS k,
        count(*) OVER (PARTITION BY m.size_class, c.day) AS n
    FROM curve c JOIN m USING (model_id) WHERE m.in_pool
),
raw AS (SELECT size_class, day, c AS raw, n FROM pool WHERE k = {TOP_N}),
baseline AS (  -- the running maximum of the cutoff, defined where the cutoff is
    SELECT size_class, day, n,
        max(raw) OVER (PARTITION BY size_class ORDER BY day
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS baseline
    FROM raw
),
scored AS (
    SELECT c.model_id, m.size_class, m.release_date, c.day, c.c AS cumulative_downloads,
        b.baseline, c.c / b.baseline AS ram, b.n AS n_models
    FROM curve c JOIN m USING (model_id)
    JOIN baseline b ON b.size_class = m.size_class AND b.day = c.day
    WHERE c.day = {day} AND b.baseline > 0 AND m.in_pool AND b.n >= {MIN_POOL}
)
SELECT rank, model_id, size_class, release_date, day, cumulative_downloads, baseline, ram,
    n_models
FROM (
    SELECT *, row_number() OVER (PARTITION BY size_class ORDER BY ram DESC, model_id) AS rank
    FROM scored
) WHERE rank <= {TOP_N}
ORDER BY size_class, rank
"""


def leaderboard(store: Path, resolved: Path, day: int = 30) -> list[tuple[object, ...]]:
    """Run the query on ``store`` (read-only) with the models of ``resolved``."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(query(str(resolved).replace("'", "''"), day)).fetchall()
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("resolved", type=Path)
    parser.add_argument("--day", type=int, default=30)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = leaderboard(args.store, args.resolved, args.day)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    print(f"{len(rows)} rows in {time.perf_counter() - start:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
