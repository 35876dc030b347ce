"""DuckDB: the schema and its migrations, every SQL statement the tracker runs, the top cache."""
