"""Derive the long 30-day panel from KBhandari11/ForecastHuggingFaceModels' wide files.

Their ``data/2025-02-18/download/<Org>.csv`` hold, per model, a running sum of the Hub's daily
rolling 30-day ``downloads`` value (one column per day, then ``created_at``).  The 30-day count as
observed each day is the day-over-day difference; days on which their collector stalled
(difference not positive) are left out, never written as zero.  Run on the twelve orgs of the
bundled sample, this reproduces ``snapshots/sample/hf_downloads_30d_2024H2.csv.gz`` row for row
(60,478 rows); the file beside it is the same derivation for six other orgs:

    python tests/data/other-orgs/derive.py OUT.csv Allen_AI.csv Apple.csv IBM.csv \\
        Microsoft.csv Nvidia.csv Salesforce.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def derive(wide: pd.DataFrame) -> pd.DataFrame:
    """``model,<day>...,created_at`` running sums -> ``model_id,date,downloads_30d,created_at``."""
    created = wide.set_index("model")["created_at"]
    sums = wide.drop(columns=["created_at"]).set_index("model").astype("float64").copy()
    daily = sums.diff(axis=1).iloc[:, 1:]
    long = daily.stack().rename("downloads_30d").reset_index()
    long.columns = pd.Index(["model_id", "date", "downloads_30d"])
    long = long[long["downloads_30d"] > 0].copy()
    long["date"] = pd.to_datetime(long["date"]).dt.strftime("%Y-%m-%d")
    long["downloads_30d"] = long["downloads_30d"].astype("int64")
    long["created_at"] = long["model_id"].map(created)
    return long.reset_index(drop=True)


def main(out: str, *files: str) -> None:
    panel = pd.concat([derive(pd.read_csv(Path(f))) for f in files], ignore_index=True)
    panel.to_csv(out, index=False)
    print(f"{len(panel):,} rows, {panel['model_id'].nunique()} models -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
