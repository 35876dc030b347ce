"""DuckDB connections that never draw on stdout.

DuckDB draws a progress bar on stdout for queries over 2 s when it believes the host is
interactive; it would land in CSV/JSON output.  In a Jupyter kernel without ipywidgets it is off
already and DuckDB refuses any SET of it, so it is switched off only where it is on.
"""

from __future__ import annotations

import duckdb


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` with DuckDB's progress bar off."""
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        con.execute("SET enable_progress_bar = false")
    return con


def memory() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection with the progress bar off."""
    return quiet(duckdb.connect())
