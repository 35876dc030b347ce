"""DuckDB connections that never draw on stdout.

DuckDB draws a progress bar on stdout for queries over 2 s when it believes the host is
interactive; it would land in CSV/JSON output.  In a Jupyter kernel without ipywidgets it is off
already and DuckDB refuses any SET of it, so it is switched off only where it is on.
"""

from __future__ import annotations

from typing import Any

import duckdb


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` with DuckDB's progress bar off."""
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        con.execute("SET enable_progress_bar = false")
    return con


def memory() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection with the progress bar off."""
    return quiet(duckdb.connect())


def frame(con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None) -> Any:
    """A read query's result as the pandas frame ``.df()`` gives, through Arrow.

    ``.df()`` turns every string into a Python object first (over 1 s for a million
    observations); Arrow hands the columns over whole.  The dtypes are ``.df()``'s, which depend
    on the data: an integer column is ``Int64``/``Int32`` when it holds a NULL and ``int64``/
    ``int32`` when it does not, a DATE is ``datetime64[us]``, a string is pandas' ``str``.
    Columns of other types are refused (``TypeError``) rather than converted differently."""
    table = con.sql(query, params=params).to_arrow_table()
    if not table.num_rows:  # .df() gives an empty result object columns: ask it
        return con.execute(query, params or []).df()
    return arrow_frame(table)


def arrow_frame(table: Any) -> Any:
    """A non-empty Arrow table as ``frame`` converts it (``.df()``'s dtypes)."""
    import pandas as pd

    columns = {name: arrow_series(name, column) for name, column in zip(
        table.column_names, table.columns, strict=True)}  # fmt: skip
    return pd.DataFrame(columns, columns=table.column_names)


def arrow_series(name: str, column: Any) -> Any:
    """One Arrow column as ``frame`` converts it (a pandas Series of ``.df()``'s dtype)."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}
    typ = column.type
    if (pa.types.is_string(typ) or pa.types.is_large_string(typ)) and (
        column.null_count == len(column)
    ):  # .df() keeps a column of NULL strings as objects
        return pd.Series([None] * len(column), dtype=object)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return pd.Series(column, dtype=pd.StringDtype("pyarrow", na_value=float("nan")))
    if typ in nullable:
        return (
            pd.Series(column.to_pandas(types_mapper=nullable.get))
            if column.null_count
            else pd.Series(column.to_numpy(), dtype=typ.to_pandas_dtype())
        )
    if pa.types.is_date32(typ):
        return pd.Series(column.cast(pa.timestamp("us")).to_pandas())
    if typ in (pa.timestamp("us"), pa.float64()):
        return pd.Series(column.to_pandas())
    raise TypeError(f"duck.frame: column {name} of type {typ} is not handled")
