"""Write ``store-schema3.duckdb`` as ram wrote it at schema 3 (the fixture of the upgrade test).

Run with the code of commit e3cd71d (schema 3) on the import path, then gzip the file:

    git worktree add /tmp/ram-e3cd71d e3cd71d
    PYTHONPATH=/tmp/ram-e3cd71d python tests/data/make_store_schema3.py /tmp/s3.duckdb
    gzip -9 -c /tmp/s3.duckdb > tests/data/store-schema3.duckdb.gz

Three models: 8 days of an imported panel, then 6 days of live rows (two days overlap the
panel, where live wins), with one all-time count restated down and one 30-day spike.
"""

from __future__ import annotations

import datetime as dt
import sys

import pandas as pd

from ram.store.database import SCHEMA_VERSION, RunRecord, Store

COLUMNS = ["model_id", "obs_date", "source", "downloads_all_time", "downloads_30d"]
DAYS = [dt.date(2026, 10, 1) + dt.timedelta(days=d) for d in range(12)]


def _run(day: dt.date, source: str = "hub") -> RunRecord:
    return RunRecord(
        kind="snapshot" if source == "hub" else "import",
        source=source,
        started_at=dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC),
    )


def main(db: str) -> None:
    if SCHEMA_VERSION != 3:
        raise SystemExit(
            f"this writes a schema-3 store; the ram on the path is at {SCHEMA_VERSION}"
        )
    with Store.open(db) as store:
        panel = []
        for k, day in enumerate(DAYS[:8]):
            panel += [
                ("acme/Acme-7B", day, "panel:old", 1000 * (k + 1), 500 + k),
                ("acme/Acme-70B", day, "panel:old", 5000 * (k + 1), 900),
                ("beta/Beta-1B", day, "panel:old", 10 * (k + 1), 5),
            ]
        store.save(_run(DAYS[0], "panel:old"), None, pd.DataFrame(panel, columns=COLUMNS))
        for k, day in enumerate(DAYS[6:], start=6):
            live = [
                ("acme/Acme-7B", day, "hub", 1000 * (k + 1) - (3000 if k == 8 else 0), 520 + k),
                ("acme/Acme-70B", day, "hub", 5000 * (k + 1), 50_000 if k == 9 else 900),
                ("beta/Beta-1B", day, "hub", 10 * (k + 1), 5),
            ]
            store.save(_run(day), None, pd.DataFrame(live, columns=COLUMNS))


if __name__ == "__main__":
    main(sys.argv[1])
