"""Helpers of the reliability suite: store fingerprints, generated panels, ``ram`` in a subprocess."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb

from tests.conftest import ROOT
from tests.fakehub import FakeHub

TABLES = ("meta", "models", "observations", "runs", "baselines")
CANARY = "hf_CANARYrel1ab1l1tyT0ken9"
# Runs ``ram`` exactly as the console script does, from any working directory.
RAM = [sys.executable, str(Path(__file__).with_name("ram_entry.py"))]


# -- the fake Hub's population ------------------------------------------------------------------

ORGS = ["Alpha", "Beta", "Gamma"]
ALPHA = [f"Alpha/a{i}" for i in range(5)]
ALL = [*ALPHA, "Beta/b0", "Gamma/g0", "Gamma/g1"]


def hub_repo(i: int) -> dict[str, Any]:
    """Repo number ``i``: distinct, non-zero counts; a dated, sized text-generation model."""
    return {
        "createdAt": "2025-06-01T00:00:00.000Z",
        "downloads": 1_000 + i,
        "downloadsAllTime": 50_000 + i,
        "likes": 10 + i,
        "pipeline_tag": "text-generation",
        "tags": ["license:mit"],
        "safetensors": {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000},
    }


def fill_hub(hub: FakeHub) -> None:
    """Alpha has five repos (three pages of two on a ``page_size=2`` Hub), Beta one, Gamma two."""
    for i, model_id in enumerate(ALL):
        hub.add(model_id, **hub_repo(i))


def add_huge_org(hub: FakeHub, n: int, org: str = "Huge") -> None:
    """``n`` repos in one org, model ``i`` with ``i + 1`` downloads in 30 days."""
    for i in range(n):
        hub.add(
            f"{org}/m{i:05d}",
            downloads=i + 1,
            downloadsAllTime=10 * (i + 1),
            pipeline_tag="text-generation",
            createdAt="2025-06-01T00:00:00.000Z",
        )


# -- the store ---------------------------------------------------------------------------------


def fingerprint(db: Path, tables: tuple[str, ...] = TABLES) -> dict[str, tuple[int, str | None]]:
    """Row count and content hash of each table: equal fingerprints mean an untouched store."""
    out: dict[str, tuple[int, str | None]] = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in tables:
            row = con.execute(
                f"SELECT count(*), md5(string_agg(CAST(t AS VARCHAR), chr(10) "
                f"ORDER BY CAST(t AS VARCHAR))) FROM {table} AS t"
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), row[1])
    finally:
        con.close()
    return out


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of one read-only query."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def store_text(db: Path) -> str:
    """Every row of every table as text, and the raw bytes of the file and its WAL."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = [
            str(r[0])
            for table in TABLES
            for r in con.execute(f"SELECT CAST(t AS VARCHAR) FROM {table} AS t").fetchall()
        ]
    finally:
        con.close()
    raw = b"".join(p.read_bytes() for p in (db, Path(f"{db}.wal")) if p.exists())
    return "\n".join(rows) + raw.decode("latin-1")


# -- panels ------------------------------------------------------------------------------------


def write_panel(
    path: Path,
    n_models: int,
    n_days: int,
    *,
    org: str = "gen",
    start: dt.date = dt.date(2025, 7, 1),
    star: str | None = None,
) -> int:
    """A valid panel of ``n_models`` 7B models over ``n_days`` days; ``star`` out-downloads all.

    Returns the number of data rows.  Counts are deterministic and strictly increasing.
    """
    days = [(start + dt.timedelta(days=d)).isoformat() for d in range(n_days)]
    created = f"{start.isoformat()}T00:00:00Z"
    ids = [f"{org}{m % 40}/model-{m}-7B" for m in range(n_models)]
    if star is not None:
        ids[0] = star
    # A pipeline tag: repos of orgs outside the catalog and tracking.orgs need one to be tracked.
    lines = ["model_id,date,downloads_all_time,created_at,params_b,pipeline_tag"]
    for m, model_id in enumerate(ids):
        per_day = 50_000_000 if model_id == star else 100 + (m * 37) % 900
        lines.extend(
            f"{model_id},{d},{per_day * (i + 1)},{created},7,text-generation"
            for i, d in enumerate(days)
        )
    path.write_text("\n".join(lines) + "\n")
    return n_models * n_days


# -- subprocesses ------------------------------------------------------------------------------


def ram_env(**extra: str) -> dict[str, str]:
    """The test's (already isolated) environment, able to import this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def ram_popen(*args: str | Path, **extra_env: str) -> subprocess.Popen[str]:
    """Start ``ram ARGS`` in its own process with piped, text stdout and stderr."""
    return subprocess.Popen(
        [*RAM, *(str(a) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ram_env(**extra_env),
    )


def pump(proc: subprocess.Popen[str]) -> list[str]:
    """The process's stderr lines as they arrive, read on a thread (never blocks the caller)."""
    lines: list[str] = []
    assert proc.stderr is not None
    stream = proc.stderr

    def read() -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return lines
