"""The DuckDB store: schema and migration, transactional writes, read-only queries.

Writers hold the file only while they write (a run collects first, then saves in one
transaction), so readers that meet the writer's lock simply wait a moment and retry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ram import duck
from ram.dates import now_utc
from ram.store import quality

if TYPE_CHECKING:
    import pandas as pd
from ram.errors import EmptyStore, StoreError, UnknownBaseline

# 2: observations without the primary key on (model_id, obs_date, source), which took 9x the
# data; the write path keeps that triple unique (Store._upsert_observations).
# 3: the events ledger (``ram publish``) and derivative counts (fine-tunes, adapters, ...).
# 4: data-quality flags kept as the observations are written (``ram.store.quality``).
SCHEMA_VERSION = 4
LOCK_WAIT_SECONDS = 60.0
# What this process has committed, in order, for a message after an interrupt.
WRITTEN: list[str] = []

MODEL_COLUMNS: dict[str, str] = {
    "model_id": "VARCHAR PRIMARY KEY",
    "org": "VARCHAR",
    "hub_id": "VARCHAR",
    "created_at": "TIMESTAMP",
    "release_date": "DATE",
    "release_source": "VARCHAR",
    "params_b": "DOUBLE",
    "active_params_b": "DOUBLE",
    "params_source": "VARCHAR",
    "params_b_reported": "DOUBLE",
    "safetensors_total": "BIGINT",
    "gguf_total": "BIGINT",
    "pipeline_tag": "VARCHAR",
    "library_name": "VARCHAR",
    "license": "VARCHAR",
    "gated": "VARCHAR",
    "base_model": "VARCHAR",
    "base_relation": "VARCHAR",
    "region": "VARCHAR",
    "via": "VARCHAR",
    "tracked": "BOOLEAN",
    "tracked_reason": "VARCHAR",
    "first_seen": "DATE",
    "last_seen": "DATE",
}
# Columns whose stored value is kept when a later write does not know it (NULL).
_KEEP_IF_NULL = [c for c in MODEL_COLUMNS if c not in ("model_id", "first_seen", "last_seen")]

OBS_COLUMNS: dict[str, str] = {
    "model_id": "VARCHAR NOT NULL",
    "obs_date": "DATE NOT NULL",
    "source": "VARCHAR NOT NULL",
    # To the second (schema 2): microseconds took a fifth of the table and tell nothing more.
    "observed_at": "TIMESTAMP_S",
    "downloads_all_time": "BIGINT",
    "downloads_30d": "BIGINT",
    "likes": "BIGINT",
    "run_id": "VARCHAR",
}

EVENT_LEDGER_COLUMNS = [
    "event_id", "kind", "model_id", "event_date", "title", "detail",
    "first_published", "sent_at", "send_status",
]  # fmt: skip

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS models ("
    + ", ".join(f"{k} {v}" for k, v in MODEL_COLUMNS.items())
    + ")",
    "CREATE TABLE IF NOT EXISTS observations ("
    + ", ".join(f"{k} {v}" for k, v in OBS_COLUMNS.items())
    + ")",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, source VARCHAR,
        started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, status VARCHAR NOT NULL,
        models INTEGER, observations INTEGER, new_models INTEGER, failed INTEGER,
        requests INTEGER, error_summary VARCHAR, details VARCHAR)""",
    # One row per event ``ram publish`` derived: first published when, sent to the webhook when.
    """CREATE TABLE IF NOT EXISTS events (
        event_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, model_id VARCHAR NOT NULL,
        event_date DATE NOT NULL, title VARCHAR NOT NULL, detail VARCHAR,
        first_published TIMESTAMP_S NOT NULL, sent_at TIMESTAMP_S, send_status VARCHAR
    )""",
    # Derivative counts: live (childrenModelCount, relation 'all'), rebuilt from the children's
    # creation dates, or imported; unique per (model_id, obs_date, relation, source) by the write
    # path, as observations are.
    """CREATE TABLE IF NOT EXISTS derivatives (
        model_id VARCHAR NOT NULL, obs_date DATE NOT NULL, relation VARCHAR NOT NULL,
        n BIGINT NOT NULL, source VARCHAR NOT NULL, run_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS baselines (
        version VARCHAR NOT NULL, size_class VARCHAR NOT NULL, day INTEGER NOT NULL,
        method VARCHAR NOT NULL, top_n INTEGER NOT NULL, scheme VARCHAR NOT NULL,
        as_of DATE NOT NULL, value DOUBLE NOT NULL, n_models INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL, PRIMARY KEY (version, size_class, day))""",
    *quality.SCHEMA,
]

# Live snapshots beat imported panels, which beat archive rows of the same day.
_SOURCE_RANK = quality.SOURCE_RANK


@dataclass
class RunRecord:
    """One collection or import: what it did and how it ended (``ok``/``partial``/``failed``)."""

    kind: str
    source: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str = "ok"
    models: int = 0
    observations: int = 0
    new_models: int = 0
    failed: int = 0
    requests: int | None = None
    error_summary: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


def writer_waiting_path(path: Path) -> Path:
    """The file a writer kept waiting by readers touches, so new readers let it in first."""
    return path.with_name(path.name + ".writer-waiting")


# A writer touches its marker every attempt (at most 0.5 s apart); one older than this is left
# from a writer that gave up or was killed, and readers ignore it.
_MARKER_FRESH_SECONDS = 2.0


def _writer_waiting(marker: Path) -> bool:
    try:
        return time.time() - marker.stat().st_mtime < _MARKER_FRESH_SECONDS
    except OSError:
        return False


def _touch(marker: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only folder: the writer just waits its turn
        marker.touch()


def connect(
    path: Path, read_only: bool, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting up to ``wait`` seconds while another process holds its lock.

    DuckDB lets many read-only processes share a file but a writer needs it alone, so a steady
    stream of short reads (a dashboard polling ``ram top``) could keep a snapshot's save out
    until it gives up.  The writer has priority instead: while it waits it keeps a fresh
    ``.writer-waiting`` marker beside the file, and a reader that sees one holds back (with
    backoff and jitter) until the writer is in and out, or until its own wait runs out.
    """
    deadline = time.monotonic() + wait
    marker = writer_waiting_path(path)
    delay = 0.05
    try:
        while True:
            if read_only and _writer_waiting(marker) and time.monotonic() < deadline:
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.5)
                continue
            try:
                return duck.quiet(duckdb.connect(str(path), read_only=read_only))
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise StoreError(_open_problem(path, exc)) from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"cannot open {path}: {_first_line(exc)}; another process held it for "
                        f"{wait:g} s (a snapshot, an import or a reader); try again shortly"
                        + ("" if read_only else ", or raise storage.lock_wait_seconds")
                    ) from None
            except duckdb.Error as exc:
                raise StoreError(_open_problem(path, exc)) from None
            if not read_only:
                _touch(marker)
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.5)
    finally:
        if not read_only:
            with contextlib.suppress(OSError):
                marker.unlink(missing_ok=True)


class Store:
    """One DuckDB file.  ``Store.open(path)`` for writing, ``read_only=True`` for queries."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.lock_waited = 0.0  # seconds ``open`` spent on the file (waiting out other locks)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, path: str | Path, read_only: bool = False, wait: float | None = None
    ) -> Iterator[Store]:
        """Open (and for writers create and migrate) the store; always closes the file.

        ``wait``: seconds to wait for another process's lock (default ``LOCK_WAIT_SECONDS``);
        how long it took is ``store.lock_waited``."""
        p = Path(path)
        if read_only and not p.exists():
            raise EmptyStore(
                f"no database at {p}; import data first (ram import panel FILE) or pass --db"
            )
        if not read_only:
            p.parent.mkdir(parents=True, exist_ok=True)
        asked = time.monotonic()
        con = connect(p, read_only=read_only, wait=LOCK_WAIT_SECONDS if wait is None else wait)
        store = cls(con, p, read_only)
        store.lock_waited = time.monotonic() - asked
        try:
            if read_only:
                store._check_version()
            elif store.migrate():
                # An upgrade rebuilt a table: give its old blocks back, then work on the new file.
                store.compact()
                con.close()
                con = connect(p, read_only=False, wait=LOCK_WAIT_SECONDS if wait is None else wait)
                store.con = con
            yield store
        finally:
            con.close()

    def migrate(self) -> bool:
        """Create missing tables, bring an older schema up to date and record the version, all
        in one transaction; running it twice changes nothing.  True when it rebuilt a table (the
        file then holds free space that ``compact`` gives back)."""
        rebuilt = False
        with self.transaction():
            for stmt in _SCHEMA:
                self.con.execute(stmt)
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and self._version(row[0]) < 2:
                self._drop_observation_key()
                rebuilt = True
            if row is not None and self._version(row[0]) < 4:
                quality.rebuild(self.con)
            self._check_columns()
            self.con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
        return rebuilt

    def _drop_observation_key(self) -> None:
        """Schema 1 -> 2: the observations table again, without its primary key (DuckDB cannot
        drop a key in place), rows sorted by day, source and model so that they compress."""
        columns = ", ".join(f"{k} {v}" for k, v in OBS_COLUMNS.items())
        self.con.execute(f"CREATE TABLE observations_v2 ({columns})")
        self.con.execute(
            f"INSERT INTO observations_v2 SELECT {', '.join(OBS_COLUMNS)} FROM observations "
            "ORDER BY obs_date, source, model_id"
        )
        self.con.execute("DROP TABLE observations")
        self.con.execute("ALTER TABLE observations_v2 RENAME TO observations")

    def compact(self) -> None:
        """Rewrite the file without its free space (DuckDB reuses freed blocks but never gives
        them back): a copy of every table in a new file beside it, which then takes its name.

        The connection keeps the file's lock until the copy has replaced it, so another process
        retrying to open the path finds the new file; nothing is left of a copy that fails."""
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; cannot compact")
        fresh = self.path.with_name(self.path.name + ".compact")
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)
        try:
            self.con.execute("CHECKPOINT")
            row = self.con.execute("SELECT current_database()").fetchone()
            name = str(row[0] if row else "main").replace('"', '""')
            self.con.execute(f"ATTACH '{_sql_text(fresh)}' AS ram_compact")
            try:
                self.con.execute(f'COPY FROM DATABASE "{name}" TO ram_compact')
            finally:
                self.con.execute("DETACH ram_compact")
            fresh.replace(self.path)
        except duckdb.Error as exc:
            fresh.unlink(missing_ok=True)
            raise StoreError(_write_problem(self.path, _first_line(_cause(exc)))) from None
        finally:
            fresh.with_name(fresh.name + ".wal").unlink(missing_ok=True)

    def _check_version(self) -> None:
        try:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            raise EmptyStore(f"{self.path} is not a ram database yet; import data first") from None
        if row is None:
            raise StoreError(f"{self.path} records no schema version; {_ALTERED}")
        self._check_columns(self._version(row[0]))

    def _version(self, text: object) -> int:
        if not isinstance(text, str) or not text.isdigit():
            raise StoreError(f"{self.path} has schema version {text!r}, not a number; {_ALTERED}")
        if int(text) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {text}, newer than this program "
                f"({SCHEMA_VERSION}); upgrade ram"
            )
        return int(text)

    def _check_columns(self, version: int = SCHEMA_VERSION) -> None:
        """Every table has exactly the columns and types ram creates: a tampered file is refused.

        A reader may open a store of an older schema (its first write upgrades it): schema 1
        kept ``observed_at`` to the microsecond."""
        rows = self.con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
            "ORDER BY table_name, column_index"
        ).fetchall()
        found: dict[str, list[tuple[str, str]]] = {}
        for table, column, typ in rows:
            found.setdefault(table, []).append((column, typ))
        expected = _expected_columns(self.con)
        if version < 2:
            old = [
                (c, "TIMESTAMP" if c == "observed_at" else t) for c, t in expected["observations"]
            ]
            expected = {**expected, "observations": old}
        if version < 3:  # these came with schema 3 (the first write creates them)
            expected = {k: v for k, v in expected.items() if k not in ("events", "derivatives")}
        if version < 4:
            expected = {k: v for k, v in expected.items() if k not in quality.TABLES}
        for table, want in expected.items():
            have = found.get(table)
            if have == want:
                continue
            if have is None:
                problem = "is missing"
            else:
                gone = [f"{c} {t}" for c, t in want if (c, t) not in have]
                extra = [f"{c} {t}" for c, t in have if (c, t) not in want]
                parts = [f"lacks {gone[0]}" if gone else "", f"has {extra[0]}" if extra else ""]
                problem = " and ".join(p for p in parts if p) or "has its columns reordered"
            raise StoreError(f"{self.path}: table {table} {problem}; {_ALTERED}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside land together or not at all.

        A write DuckDB cannot complete (disk full, file too large, I/O error) rolls back and
        becomes one ``StoreError`` line saying that nothing of it was written.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
            self.con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has rolled back already
                self.con.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error) and not isinstance(exc, duckdb.InterruptException):
                raise StoreError(_write_problem(self.path, _first_line(_cause(exc)))) from None
            raise

    # -- writing ---------------------------------------------------------------------------

    def save(
        self,
        run: RunRecord,
        models: pd.DataFrame | None = None,
        observations: pd.DataFrame | None = None,
        renames: dict[str, str] | None = None,
        derivatives: pd.DataFrame | None = None,
    ) -> RunRecord:
        """Write a run's models, observations, derivative counts and its ``runs`` row in one
        transaction.

        Observations replace rows with the same ``(model_id, obs_date, source)``, so a re-run on
        the same day replaces that day's rows instead of duplicating them; derivative counts
        likewise by ``(model_id, obs_date, relation, source)``, and a rebuilt curve replaces the
        model's earlier rebuilt curve of that relation whole.
        """
        with self.transaction():
            if renames:
                self._apply_renames(renames)
            if models is not None and len(models):
                run.new_models = self._upsert_models(models)
            if observations is not None and len(observations):
                obs = observations.copy()
                obs["run_id"] = run.run_id
                run.observations = self._upsert_observations(obs)
            if derivatives is not None and len(derivatives):
                self._upsert_derivatives(derivatives, run.run_id)
            self._insert_run(run)
        WRITTEN.append(f"run {run.run_id} ({run.kind}, {run.observations:,} observations)")
        return run

    def settle_quality(self) -> int:
        """Recompute the data-quality flags of models a write did not simply append to (see
        ``ram.store.quality``); pipelines call it once their writes are done.  How many."""
        with self.transaction():
            return quality.settle(self.con)

    def record_run(self, run: RunRecord) -> None:
        """Record a run that wrote nothing (for example one that failed before saving)."""
        with self.transaction():
            self._insert_run(run)
        WRITTEN.append(f"run {run.run_id} ({run.kind}, {run.status}, no observations)")

    def _insert_run(self, run: RunRecord) -> None:
        finished = run.finished_at or now_utc().replace(tzinfo=None)
        self.con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id, run.kind, run.source, _naive_utc(run.started_at), _naive_utc(finished),
                run.status, run.models, run.observations, run.new_models, run.failed,
                run.requests, run.error_summary, json.dumps(run.details, default=str),
            ],
        )  # fmt: skip

    def _upsert_models(self, models: pd.DataFrame) -> int:
        frame = _conform(models, MODEL_COLUMNS)
        self.con.register("_new_models", frame)
        try:
            new = self.con.execute(
                "SELECT count(*) FROM _new_models n ANTI JOIN models m USING (model_id)"
            ).fetchone()
            keep = ", ".join(f"{c} = COALESCE(EXCLUDED.{c}, models.{c})" for c in _KEEP_IF_NULL)
            self.con.execute(
                f"""INSERT INTO models SELECT * FROM _new_models
                ON CONFLICT (model_id) DO UPDATE SET
                {keep},
                first_seen = LEAST(models.first_seen, EXCLUDED.first_seen),
                last_seen = GREATEST(models.last_seen, EXCLUDED.last_seen)"""
            )
        finally:
            self.con.unregister("_new_models")
        return int(new[0]) if new else 0

    def _upsert_observations(self, obs: pd.DataFrame) -> int:
        """Replace the stored rows of every ``(model_id, obs_date, source)`` the batch holds, then
        append it: the triple stays unique without an index (schema 2).  Within the batch the
        last row of a triple wins.  Runs inside ``save``'s transaction."""
        frame = _conform(obs, OBS_COLUMNS)
        frame["_row"] = range(len(frame))
        self.con.register("_new_obs", frame)
        try:
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _batch AS
                SELECT {", ".join(OBS_COLUMNS)} FROM _new_obs
                QUALIFY row_number() OVER (
                    PARTITION BY model_id, obs_date, source ORDER BY _row DESC) = 1
                ORDER BY obs_date, source, model_id"""
            )
        finally:
            self.con.unregister("_new_obs")
        try:
            self._replace_rows("_batch")
            quality.update(self.con, "_batch")
            row = self.con.execute("SELECT count(*) FROM _batch").fetchone()
        finally:
            self.con.execute("DROP TABLE IF EXISTS _batch")
        return int(row[0]) if row else 0

    def _replace_rows(self, batch: str) -> None:
        """Delete the stored rows that share a key with table ``batch``, then append it.  The day
        range limits the delete to the row groups that can hold such rows."""
        self.con.execute(
            f"""DELETE FROM observations o USING {batch} b
            WHERE o.model_id = b.model_id AND o.obs_date = b.obs_date AND o.source = b.source
              AND o.obs_date BETWEEN (SELECT min(obs_date) FROM {batch})
                                 AND (SELECT max(obs_date) FROM {batch})"""
        )
        self.con.execute(f"INSERT INTO observations SELECT * FROM {batch}")

    def _upsert_derivatives(self, rows: pd.DataFrame, run_id: str) -> int:
        import pandas as pd

        frame = pd.DataFrame(
            {
                "model_id": rows["model_id"].astype(str),
                "obs_date": pd.to_datetime(rows["obs_date"]).dt.date,
                "relation": rows["relation"].astype(str),
                "n": rows["n"].astype("int64"),
                "source": rows["source"].astype(str),
                "run_id": run_id,
            }
        ).drop_duplicates(["model_id", "obs_date", "relation", "source"], keep="last")
        self.con.register("_derivatives", frame)
        try:
            self.con.execute(
                """DELETE FROM derivatives d USING (
                    SELECT DISTINCT model_id, relation FROM _derivatives WHERE source = 'rebuilt'
                ) b WHERE d.source = 'rebuilt' AND d.model_id = b.model_id
                  AND d.relation = b.relation"""
            )
            self.con.execute(
                """DELETE FROM derivatives d USING _derivatives b
                WHERE d.model_id = b.model_id AND d.obs_date = b.obs_date
                  AND d.relation = b.relation AND d.source = b.source"""
            )
            self.con.execute("INSERT INTO derivatives SELECT * FROM _derivatives")
        finally:
            self.con.unregister("_derivatives")
        return len(frame)

    def derivative_counts(self, model_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored derivative counts (all, or of ``model_ids``), by model, day, relation and
        source; empty on a store older than schema 3."""
        import pandas as pd

        if not self._has_table("derivatives"):
            return pd.DataFrame(columns=["model_id", "obs_date", "relation", "n", "source"])
        query = "SELECT model_id, obs_date, relation, n, source FROM derivatives"
        params: list[Any] = []
        if model_ids is not None:
            query += " WHERE model_id IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(model_ids))
        frame = self.con.execute(
            query + " ORDER BY model_id, obs_date, relation, source", params
        ).df()
        frame["obs_date"] = pd.to_datetime(frame["obs_date"])
        return frame

    def last_live_derivatives(self) -> dict[str, dt.date]:
        """Each model's last day with a live (``hub``) derivative count."""
        if not self._has_table("derivatives"):
            return {}
        rows = self.con.execute(
            "SELECT model_id, max(obs_date) FROM derivatives WHERE source = 'hub' GROUP BY 1"
        ).fetchall()
        return {str(m): d for m, d in rows}

    def _has_table(self, name: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = ?",
            [name],
        ).fetchone()
        return bool(row and row[0])

    def _apply_renames(self, renames: dict[str, str]) -> None:
        """Move a renamed repo's history to its new id (the Hub's internal id links the two)."""
        for old, new in renames.items():
            if old == new:
                continue
            self.con.execute(
                """CREATE OR REPLACE TEMP TABLE _renamed AS
                SELECT ? AS model_id, obs_date, source, observed_at, downloads_all_time,
                       downloads_30d, likes, run_id
                FROM observations WHERE model_id = ?""",
                [new, old],
            )
            try:
                self.con.execute("DELETE FROM observations WHERE model_id = ?", [old])
                self._replace_rows("_renamed")
            finally:
                self.con.execute("DROP TABLE IF EXISTS _renamed")
            quality.mark_dirty(self.con, [old, new])
            # derivative counts move too; the new id's own rows of the same key win
            self.con.execute(
                """DELETE FROM derivatives d WHERE d.model_id = ? AND EXISTS (
                    SELECT 1 FROM derivatives n WHERE n.model_id = ? AND n.obs_date = d.obs_date
                      AND n.relation = d.relation AND n.source = d.source)""",
                [old, new],
            )
            self.con.execute("UPDATE derivatives SET model_id = ? WHERE model_id = ?", [new, old])
            self.con.execute(
                "UPDATE models SET tracked = FALSE, tracked_reason = 'renamed to ' || ? "
                "WHERE model_id = ?",
                [new, old],
            )

    def save_baseline(
        self,
        version: str,
        baselines: pd.DataFrame,
        *,
        method: str,
        top_n: int,
        scheme: Sequence[tuple[str, float, float | None]],
        as_of: dt.date,
    ) -> int:
        """Freeze a baseline under a version name, replacing an earlier one of that name."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "version": version,
                "size_class": baselines["size_class"].astype(str),
                "day": baselines["day"].astype("int64"),
                "method": method,
                "top_n": top_n,
                "scheme": json.dumps([list(r) for r in scheme]),
                "as_of": pd.Timestamp(as_of),
                "value": baselines["baseline"].astype("float64"),
                "n_models": baselines["n_models"].astype("int64"),
                "created_at": pd.Timestamp(now_utc().replace(tzinfo=None)),
            }
        )
        with self.transaction():
            self.con.execute("DELETE FROM baselines WHERE version = ?", [version])
            self.con.register("_new_baseline", frame)
            try:
                self.con.execute(
                    "INSERT INTO baselines SELECT version, size_class, day, method, top_n, "
                    "scheme, CAST(as_of AS DATE), value, n_models, created_at FROM _new_baseline"
                )
            finally:
                self.con.unregister("_new_baseline")
        WRITTEN.append(f"baseline {version!r}")
        return len(frame)

    # -- reading ---------------------------------------------------------------------------

    def observations(
        self, model_ids: Sequence[str] | None = None, *, counts_only: bool = False
    ) -> pd.DataFrame:
        """One row per model and day: live beats panel beats archive, then the latest counts.

        ``counts_only``: just ``model_id``, ``obs_date`` and the two counts, what the metric
        reads (the day's row is chosen by source and time all the same); a third less to
        convert and hold.  Rows come grouped by model in id order, each model's in day order.

        DuckDB scans the rows with each model as an integer key (its place in id order) and
        ``ram.store.day_rows`` chooses and sorts them in numpy; the ids are put back once, at
        the end.  Columns go to pandas through Arrow (``duck.arrow_series``: ``.df()``'s dtypes,
        without a Python object per string)."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        from ram.store.day_rows import NO_TIME, one_per_day

        kept = ["obs_date", "downloads_all_time", "downloads_30d"]
        columns = "o.obs_date, o.downloads_all_time, o.downloads_30d"
        if not counts_only:
            kept = ["obs_date", "observed_at", "downloads_all_time", "downloads_30d", "likes",
                    "source"]  # fmt: skip
            columns = """o.obs_date, o.observed_at::TIMESTAMP AS observed_at,
                o.downloads_all_time, o.downloads_30d, o.likes, o.source"""
        where = ""
        if model_ids is not None:  # a class pool or one model
            where = "WHERE model_id IN (SELECT model_id FROM _want)"
            want = pa.table({"model_id": pa.array(list(model_ids), pa.string())})
            self.con.register("_want", want)
        try:
            ids = (
                self.con.sql(f"SELECT DISTINCT model_id FROM observations {where} ORDER BY 1")
                .to_arrow_table()["model_id"]
                .combine_chunks()
            )
            if not len(ids):  # .df() gives an empty result object columns: ask it
                return self.con.execute(
                    f"SELECT o.model_id, {columns} FROM observations o WHERE false"
                ).df()
            number = pa.array(np.arange(len(ids), dtype=np.int32))
            self.con.register("_ids", pa.table({"model_id": ids, "_k": number}))
            try:
                table = self.con.sql(
                    f"""SELECT i._k, {columns}, epoch_us(o.observed_at) AS _at,
                        ({_SOURCE_RANK})::UTINYINT AS _r
                    FROM observations o JOIN _ids i ON o.model_id = i.model_id"""
                ).to_arrow_table()
            finally:
                self.con.unregister("_ids")
        finally:
            if model_ids is not None:
                self.con.unregister("_want")
        key = table["_k"].to_numpy()
        day = table["obs_date"].cast(pa.int32()).to_numpy()
        at = table["_at"].fill_null(NO_TIME).to_numpy()
        chosen = one_per_day(key, day, table["_r"].to_numpy(), at)
        del day, at
        # Column by column, each Arrow copy let go once pandas has it, and the ids last, once
        # the scan's buffers are gone.  Arrow's pool keeps what it frees for Arrow alone, so it
        # is emptied: the metric's arrays are numpy's.
        take = pa.array(chosen)
        series = {name: duck.arrow_series(name, table[name].take(take)) for name in kept}
        del table, take
        pool = pa.default_memory_pool()
        pool.release_unused()
        # pandas holds strings as large_string: taken as such, they are not copied again.
        named = ids.cast(pa.large_string()).take(pa.array(key[chosen]))
        series = {"model_id": duck.arrow_series("model_id", named), **series}
        del named
        frame = pd.DataFrame(series, columns=list(series))
        pool.release_unused()
        return frame

    def models(self) -> pd.DataFrame:
        """Every stored model with its raw facts (resolution happens in ``ram.catalog``)."""
        return self.con.execute("SELECT * FROM models ORDER BY model_id").df()

    def observation_stats(self) -> pd.DataFrame:
        """Per model: observation count and span, peak counts, and the evidence of a private
        period (RAM_SPEC §1): ``first_downloads`` (the first date with a count above 0),
        ``seen_before`` (an observation of the model before it, with a count of 0: unknown counts
        are no evidence) and ``org_watched`` (the source
        of that first count observed another repo of the same org strictly between the repo's
        creation date and it, so it was watching the org and did not see this repo)."""
        return self.con.execute(
            """WITH stats AS (
                SELECT model_id, count(*) AS n_obs, min(obs_date) AS first_obs,
                    max(obs_date) AS last_obs, max(downloads_30d) AS downloads_30d_max,
                    max(downloads_all_time) AS downloads_all_time_max,
                    min(obs_date) FILTER (WHERE downloads_all_time > 0 OR downloads_30d > 0)
                        AS first_downloads
                FROM observations GROUP BY model_id
            ),
            first_sources AS (
                SELECT DISTINCT o.model_id, o.source
                FROM observations o JOIN stats s USING (model_id)
                WHERE o.obs_date = s.first_downloads
                    AND (o.downloads_all_time > 0 OR o.downloads_30d > 0)
            ),
            org_days AS (
                SELECT DISTINCT source, lower(split_part(model_id, '/', 1)) AS org, obs_date
                FROM observations
            ),
            watched AS (
                SELECT DISTINCT f.model_id
                FROM first_sources f
                JOIN stats s USING (model_id)
                JOIN models m USING (model_id)
                JOIN org_days d ON d.source = f.source
                    AND d.org = lower(split_part(f.model_id, '/', 1))
                    AND d.obs_date > CAST(m.created_at AS DATE)
                    AND d.obs_date < s.first_downloads
            )
            SELECT s.*,
                s.model_id IN (
                    SELECT o.model_id FROM observations o JOIN stats z USING (model_id)
                    WHERE o.obs_date < z.first_downloads
                        AND (o.downloads_all_time = 0 OR o.downloads_30d = 0)
                ) AS seen_before,
                s.first_downloads IS NOT NULL AND s.model_id IN (SELECT model_id FROM watched)
                    AS org_watched
            FROM stats s"""
        ).df()

    def runs(self, limit: int = 20) -> pd.DataFrame:
        """The most recent runs, newest first."""
        return self.con.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", [limit]).df()

    def snapshot_runs(
        self, limit: int, statuses: Sequence[str] | None = None
    ) -> list[tuple[str, dt.datetime, str, str | None]]:
        """The newest live snapshot runs as ``(run_id, started_at, status, details JSON)``,
        newest first; only those with one of ``statuses`` when given."""
        where = "AND list_contains(?, status)" if statuses is not None else ""
        params: list[object] = [list(statuses)] if statuses is not None else []
        rows = self.con.execute(
            f"""SELECT run_id, started_at, status, details FROM runs
            WHERE kind = 'snapshot' {where} ORDER BY started_at DESC LIMIT ?""",
            [*params, limit],
        ).fetchall()
        return [(str(r), s, str(st), d) for r, s, st, d in rows]

    def landed_commits(self, source: str) -> dict[str, str]:
        """The Hub commits whose day a backfill of ``source`` landed -> that day (ISO)."""
        rows = self.con.execute(
            """SELECT json_extract_string(details, '$.commit'),
                   json_extract_string(details, '$.snapshot_date')
            FROM runs WHERE kind = 'backfill' AND status = 'ok' AND source = ?
                AND json_extract_string(details, '$.commit') IS NOT NULL""",
            [source],
        ).fetchall()
        return {str(c): str(d) for c, d in rows}

    def landed_file_days(self, source: str) -> list[tuple[str, str, str, list[str]]]:
        """The days a backfill of ``source`` landed from a dataset's files: ``(file, etag,
        day, the days that file held)`` for each landed day (ISO dates)."""
        rows = self.con.execute(
            """SELECT json_extract_string(details, '$.hub_file'),
                      json_extract_string(details, '$.etag'),
                      json_extract_string(details, '$.snapshot_date'),
                      coalesce(json_extract_string(details, '$.file_days[*]'), [])
            FROM runs WHERE kind = 'backfill' AND status = 'ok' AND source = ?
                AND json_extract_string(details, '$.hub_file') IS NOT NULL""",
            [source],
        ).fetchall()
        return [(str(f), str(e), str(d), [str(x) for x in days]) for f, e, d, days in rows]

    def source_counts(self) -> list[tuple[str, int]]:
        """Each observation source with its row count, the largest first."""
        rows = self.con.execute(
            "SELECT source, count(*) FROM observations GROUP BY source ORDER BY 2 DESC, 1"
        ).fetchall()
        return [(str(s), int(n)) for s, n in rows]

    def stored_ids(self, model_ids: Sequence[str]) -> set[str]:
        """Which of ``model_ids`` the models table holds already."""
        rows = self.con.execute(
            "SELECT model_id FROM models WHERE list_contains(?, model_id)", [list(model_ids)]
        ).fetchall()
        return {str(r[0]) for r in rows}

    def models_written_by(self, run_ids: Sequence[str]) -> int:
        """Distinct models whose observations these runs wrote."""
        row = self.con.execute(
            "SELECT count(DISTINCT model_id) FROM observations WHERE list_contains(?, run_id)",
            [list(run_ids)],
        ).fetchone()
        return int(row[0]) if row else 0

    def latest_obs_date(self) -> dt.date | None:
        row = self.con.execute("SELECT max(obs_date) FROM observations").fetchone()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        """Row counts of each table, for ``ram status`` (derivative counts and published events
        from schema 3 on)."""
        out = {}
        for table in ("models", "observations", "runs"):
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else 0
        row = self.con.execute("SELECT count(DISTINCT version) FROM baselines").fetchone()
        out["baseline_versions"] = int(row[0]) if row else 0
        for table in ("derivatives", "events"):  # schema 3; a reader of an older store has none
            if self._has_table(table):
                row = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()
                out[table] = int(row[0]) if row else 0
        return out

    # -- what ``ram status`` reads: aggregates and stored flags, no pandas -------------------

    def _rows(self, query: str, params: Sequence[object] = ()) -> tuple[list[str], list[tuple]]:
        """A query's column names and rows as plain Python values."""
        cur = self.con.execute(query, list(params))
        return [d[0] for d in cur.description], cur.fetchall()

    def recent_runs(self, limit: int) -> tuple[list[str], list[tuple]]:
        """``runs`` as plain rows: the newest ``limit`` runs, newest first, with the columns."""
        return self._rows("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", [limit])

    def org_extents(self) -> list[tuple[str, int, dt.date]]:
        """Per org (the id before its first ``/``): models observed and the last day of any."""
        if self._has_table("quality_state"):
            return quality.extents(self.con)
        return self.con.execute(
            """SELECT split_part(model_id, '/', 1) AS org, count(DISTINCT model_id),
                   max(obs_date)
            FROM observations GROUP BY org"""
        ).fetchall()

    def live_stragglers(self) -> tuple[dt.date | None, list[tuple[str, dt.date]]]:
        """The newest day of a live (``hub``) observation, and every model whose last live
        observation is older, by id."""
        row = self.con.execute("SELECT max(obs_date) FROM observations WHERE source = 'hub'")
        newest = row.fetchone()
        day = newest[0] if newest else None
        if day is None:
            return None, []
        rows = self.con.execute(
            """SELECT model_id, max(obs_date) AS last FROM observations WHERE source = 'hub'
            GROUP BY model_id HAVING last < ? ORDER BY model_id""",
            [day],
        ).fetchall()
        return day, [(str(m), d) for m, d in rows]

    def model_facts(self, model_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The stored rows of ``model_ids`` with their largest 30-day count
        (``downloads_30d_max``), as ``ram.catalog.track_decision`` reads them."""
        columns, rows = self._rows(
            """SELECT m.*, (SELECT max(o.downloads_30d) FROM observations o
                           WHERE o.model_id = m.model_id) AS downloads_30d_max
            FROM models m WHERE list_contains(?, m.model_id) ORDER BY m.model_id""",
            [list(model_ids)],
        )
        return [dict(zip(columns, r, strict=True)) for r in rows]

    def quality_flags(self) -> list[tuple[str, str, dt.date, int, int]]:
        """Every observation flag as ``(model_id, flag, obs_date, value, previous)``
        (``ram.store.quality``): restatements, then spikes, each by model and day."""
        return quality.flags(self.con, maintained=self._has_table("quality_state"))

    def derivative_falls(self) -> list[tuple[str, dt.date, str, int, str, int]]:
        """Derivative counts below the previous one of the same model, relation and source, as
        ``(model_id, obs_date, relation, n, source, previous)`` by model, relation, source, day
        (what ``ram.derivatives.falls`` lists)."""
        if not self._has_table("derivatives"):
            return []
        return self.con.execute(
            """SELECT model_id, obs_date, relation, n, source, previous FROM (
                SELECT *, lag(n) OVER (PARTITION BY model_id, relation, source
                                       ORDER BY obs_date) AS previous
                FROM derivatives)
            WHERE n < previous ORDER BY model_id, relation, source, obs_date"""
        ).fetchall()

    # -- the events ledger (ram publish) ----------------------------------------------------

    def record_events(self, events: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
        """Add the events not yet in the ledger (first published ``now``), in one transaction;
        returns the ledger rows of every event in ``events`` (old ones keep their first
        publication and send state)."""
        columns = ["event_id", "kind", "model_id", "event_date", "title", "detail"]
        with self.transaction():
            if len(events):
                new = events[columns].copy()
                new["first_published"] = _naive_utc(now).replace(microsecond=0)
                self.con.register("_new_events", new)
                try:
                    self.con.execute(
                        f"INSERT INTO events ({', '.join(columns)}, first_published) "
                        f"SELECT {', '.join(columns)}, first_published FROM _new_events "
                        "WHERE event_id NOT IN (SELECT event_id FROM events)"
                    )
                finally:
                    self.con.unregister("_new_events")
        return self.events(list(events["event_id"]))

    def events(self, event_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Ledger rows (all, or those of ``event_ids``); empty on a store older than schema 3."""
        import pandas as pd

        if not self._has_table("events"):
            return pd.DataFrame(columns=EVENT_LEDGER_COLUMNS)
        query = "SELECT * FROM events"
        params: list[Any] = []
        if event_ids is not None:
            query += " WHERE event_id IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(event_ids))
        return self.con.execute(query + " ORDER BY event_date DESC, event_id", params).df()

    def mark_sent(self, event_ids: Sequence[str], status: str, when: dt.datetime) -> None:
        """Record the webhook's answer for ``event_ids`` (``sent`` rows are never sent again)."""
        if not event_ids:
            return
        with self.transaction():
            self.con.execute(
                "UPDATE events SET sent_at = ?, send_status = ? "
                "WHERE event_id IN (SELECT unnest(?::VARCHAR[]))",
                [_naive_utc(when).replace(microsecond=0), status, list(event_ids)],
            )

    def baseline_versions(self) -> pd.DataFrame:
        return self.con.execute(
            """SELECT version, any_value(method) AS method, any_value(top_n) AS top_n,
                   any_value(as_of) AS as_of, any_value(scheme) AS scheme,
                   count(DISTINCT size_class) AS size_classes, max(created_at) AS created_at
            FROM baselines GROUP BY version ORDER BY version"""
        ).df()

    def frozen_baseline(self, version: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        """A frozen baseline's rows (``size_class, day, baseline, n_models``) and its settings."""
        import pandas as pd

        rows = self.con.execute(
            """SELECT size_class, day, value AS baseline, n_models, method, top_n, scheme, as_of
            FROM baselines WHERE version = ? ORDER BY size_class, day""",
            [version],
        ).df()
        if rows.empty:
            known = ", ".join(self.baseline_versions()["version"]) or "none"
            raise UnknownBaseline(
                f"no frozen baseline {version!r} (known: {known}); "
                "freeze one with: ram baseline --freeze NAME"
            )
        first = rows.iloc[0]
        info = {
            "version": version,
            "method": str(first["method"]),
            "top_n": int(first["top_n"]),
            "scheme": json.loads(first["scheme"]),
            "as_of": pd.Timestamp(first["as_of"]).date(),
        }
        return rows[["size_class", "day", "baseline", "n_models"]], info


_ALTERED = (
    "the file was altered or damaged: restore it from a copy, or start a new database with --db"
)


_EXPECTED: dict[str, list[tuple[str, str]]] = {}


def _expected_columns(
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """Columns and types of every table as this version creates them, read back from DuckDB
    (once per process): the schema is created as temp tables ``_expect_<name>`` on ``con``
    (a read-only connection may create those) and dropped again, which costs a fraction of a
    fresh in-memory database."""
    if _EXPECTED:
        return _EXPECTED
    own = con is None
    con = duck.memory() if con is None else con
    names = []
    try:
        for stmt in _SCHEMA:
            head, rest = stmt.split("(", 1)
            name = head.split()[-1]
            names.append(name)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _expect_{name} ({rest}")
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = 'temp' AND table_name LIKE '\\_expect\\_%' ESCAPE '\\' "
            "ORDER BY table_name, column_index"
        ).fetchall()
    finally:
        for name in names:
            con.execute(f"DROP TABLE IF EXISTS temp._expect_{name}")
        if own:
            con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, typ in rows:
        out.setdefault(table.removeprefix("_expect_"), []).append((column, typ))
    _EXPECTED.update(out)
    return out


def _open_problem(path: Path, exc: duckdb.Error) -> str:
    """Why a file that no other process holds cannot be opened, and what to do."""
    text = _first_line(exc)
    if path.is_dir():
        return f"cannot open {path}: it is a folder; give a database file with --db"
    if "not a valid DuckDB database" in text or "not a valid" in text.lower():
        return (
            f"cannot open {path}: it is not a DuckDB database (or its header is damaged); "
            "give the right file with --db, or restore it from a copy"
        )
    if "permission denied" in text.lower() or "read-only" in text.lower():
        return f"cannot open {path}: {text}; make the file and its folder writable, or use --db"
    return (
        f"cannot open {path} as a DuckDB database ({text}); it may be damaged or from a newer "
        "DuckDB: restore it from a copy, or check --db / RAM_DB"
    )


def _sql_text(path: Path) -> str:
    """A path inside a single-quoted SQL string literal."""
    return str(path).replace("'", "''")


def _write_problem(path: Path, text: str) -> str:
    if "could not read" in text.lower():
        remedy = "the file is damaged: restore it from a copy, or start a new one with --db"
    else:
        remedy = "check free disk space and that the file is writable, then retry"
    return f"could not write {path} ({text}); nothing of this write was saved: {remedy}"


def _cause(exc: BaseException) -> BaseException:
    """The first DuckDB error of a chain: a later "transaction is aborted" only follows it."""
    while isinstance(exc.__context__, duckdb.Error) and "aborted" in str(exc):
        exc = exc.__context__
    return exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _naive_utc(ts: dt.datetime) -> dt.datetime:
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
    return ts


def _conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Columns in table order; absent ones are NULL (unknown), never 0."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for name, sql_type in columns.items():
        if name in frame.columns:
            out[name] = frame[name]
        else:
            out[name] = pd.Series([None] * len(frame), index=frame.index, dtype="object")
        if sql_type.startswith("BIGINT") or sql_type.startswith("INTEGER"):
            out[name] = pd.to_numeric(out[name], errors="raise").astype("Int64")
        elif sql_type.startswith("DOUBLE"):
            out[name] = pd.to_numeric(out[name], errors="raise").astype("Float64")
        elif sql_type.startswith("BOOLEAN"):
            out[name] = out[name].astype("boolean")
        elif sql_type.startswith("DATE") or sql_type.startswith("TIMESTAMP"):
            out[name] = pd.to_datetime(out[name], utc=True).dt.tz_localize(None)
        else:
            out[name] = out[name].astype("object").where(out[name].notna(), None)
    return out.reset_index(drop=True)
