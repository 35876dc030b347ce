"""``ram.duck.frame``: a query's result through Arrow is the frame ``.df()`` gives, dtype for
dtype and value for value (issue 19: ``.df()`` spent over a second on the strings of a million
observations)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ram import duck

TABLE = """CREATE TABLE t AS SELECT
    'm' || (i % 7) AS s, CASE WHEN i % 3 = 0 THEN NULL ELSE 'x' END AS s_nulls,
    NULL::VARCHAR AS s_all_null, NULL::BIGINT AS n_all_null,
    i::BIGINT AS a, CASE WHEN i % 5 = 0 THEN NULL ELSE i END::BIGINT AS a_nulls,
    i::INTEGER AS c, CASE WHEN i % 4 = 0 THEN NULL ELSE i END::INTEGER AS c_nulls,
    DATE '2024-01-01' + (i % 100)::INTEGER AS day, NULL::DATE AS day_null,
    TIMESTAMP '2024-01-01 06:00:00' + INTERVAL (i) SECOND AS ts,
    CASE WHEN i % 3 = 0 THEN NULL ELSE TIMESTAMP '2024-01-01' END AS ts_nulls,
    CASE WHEN i % 2 = 0 THEN NULL ELSE i / 3 END::DOUBLE AS f, NULL::DOUBLE AS f_null
FROM range(1000) r(i)"""


@pytest.mark.parametrize(
    "where", ["", "WHERE false", "WHERE a > 990", "WHERE a = 3", "WHERE a % 5 = 0"]
)
def test_frame_equals_df(where: str) -> None:
    con = duckdb.connect()
    con.execute(TABLE)
    query = f"SELECT * FROM t {where}"
    pd.testing.assert_frame_equal(duck.frame(con, query), con.execute(query).df(), check_exact=True)


def test_frame_refuses_a_type_it_does_not_convert_like_df() -> None:
    con = duckdb.connect()
    with pytest.raises(TypeError, match=r"column b of type bool"):
        duck.frame(con, "SELECT true AS b")


def test_the_store_reads_observations_through_it(tmp_path: object) -> None:
    """Store.observations gives the frame the metric's fast paths expect (.df()'s dtypes)."""
    import datetime as dt
    from pathlib import Path

    from ram.store.database import RunRecord, Store

    db = Path(str(tmp_path)) / "s.duckdb"
    rows = pd.DataFrame(
        {
            "model_id": ["a/x-7B", "a/x-7B", "b/y-1B"],
            "obs_date": ["2026-01-01", "2026-01-02", "2026-01-01"],
            "source": ["hub", "hub", "hub"],
            "downloads_all_time": [10, None, 5],
            "downloads_30d": [3, 4, 5],
        }
    )
    at = dt.datetime(2026, 1, 2, 6, tzinfo=dt.UTC)
    with Store.open(db) as store:
        store.save(RunRecord(kind="snapshot", source="hub", started_at=at), None, rows)
        got = store.observations()
        want = store.con.execute(
            """SELECT model_id, obs_date, observed_at::TIMESTAMP AS observed_at,
                downloads_all_time, downloads_30d, likes, source
            FROM observations ORDER BY model_id, obs_date"""
        ).df()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert str(got["downloads_all_time"].dtype) == "Int64" and got["likes"].isna().all()
