"""Derive the bundled fine-tune panel from KBhandari11/ForecastHuggingFaceModels' wide files.

Their ``data/2025-02-18/finetune/<Org>.csv`` hold, per base model, the cumulative number of
fine-tuned models on the Hub ``k`` months after the base's creation (columns ``0-month`` ..
``34-month``, then fit parameters and ``created_at``).  The long form keeps the models of the
bundled download panel: one row per model and month with a count, dated ``created_at`` + 30·k
days (their month; the files do not say how a month was counted, so the day is approximate by
up to a few days), and only up to the files' date, 2025-02-18.  Counts are unchanged.

    python tests/data/finetunes/derive.py snapshots/sample/finetunes_2025-02-18.csv.gz \\
        snapshots/sample/hf_downloads_30d_2024H2.csv.gz FINETUNE_DIR/*.csv
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

AS_OF = pd.Timestamp("2025-02-18")
_MONTH = re.compile(r"^(\d+)-month$")


def derive(wide: pd.DataFrame, keep: set[str]) -> pd.DataFrame:
    """``model,<k>-month...,created_at`` -> ``model_id,date,relation,n``."""
    wide = wide[wide["model"].isin(keep)]
    months = {c: int(m[1]) for c in wide.columns if (m := _MONTH.match(c))}
    created = pd.to_datetime(wide.set_index("model")["created_at"], utc=True).dt.tz_localize(None)
    long = wide.set_index("model")[list(months)].stack().dropna().rename("n").reset_index()
    long.columns = pd.Index(["model_id", "month", "n"])
    long["k"] = long["month"].map(months)
    day = created.reindex(long["model_id"]).dt.normalize().to_numpy()
    long["date"] = day + pd.to_timedelta(long["k"] * 30, unit="D").to_numpy()
    long = long[long["date"] <= AS_OF]
    out = pd.DataFrame(
        {
            "model_id": long["model_id"],
            "date": pd.to_datetime(long["date"]).dt.strftime("%Y-%m-%d"),
            "relation": "finetune",
            "n": long["n"].astype("int64"),
        }
    )
    return out.sort_values(["model_id", "date"], ignore_index=True)


def main(out: str, panel: str, *files: str) -> None:
    keep = set(pd.read_csv(panel, usecols=["model_id"])["model_id"])
    frame = pd.concat([derive(pd.read_csv(Path(f)), keep) for f in files], ignore_index=True)
    frame.to_csv(out, index=False)
    print(f"{len(frame):,} rows, {frame['model_id'].nunique()} models -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
