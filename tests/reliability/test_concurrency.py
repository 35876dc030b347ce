"""Readers while a writer runs: twenty ``ram top`` processes during an import all succeed, and each
answers with the store as it was before the write or as it is after it, never a mix."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import CliRunner
from tests.reliability.conftest import Figure
from tests.reliability.support import ram_popen, write_panel

READERS = 20
TOP = ("top", "--day", "30", "--format", "csv")
STAR = "gen0/star-7B"  # out-downloads every example model, so the leaderboard changes


def test_twenty_reads_during_an_import_see_before_or_after(
    cli: CliRunner, example_db: Path, tmp_path: Path, figure: Figure
) -> None:
    panel = tmp_path / "wave.csv"
    rows = write_panel(panel, 400, 250, star=STAR)
    before = cli("--db", example_db, *TOP)
    assert before.code == 0 and STAR not in before.out
    started = time.monotonic()

    # Half the readers start with the writer; the rest once it starts writing, so that some
    # meet its lock and wait.
    readers = [ram_popen("--db", example_db, *TOP) for _ in range(READERS // 2)]
    writer = ram_popen("--db", example_db, "import", "panel", panel)
    assert writer.stderr is not None
    while not writer.stderr.readline().startswith("writing ") and writer.poll() is None:
        pass
    readers += [ram_popen("--db", example_db, *TOP) for _ in range(READERS - READERS // 2)]
    answers = [(p.communicate(timeout=120), p.returncode) for p in readers]
    (w_out, w_err), w_code = writer.communicate(timeout=120), writer.returncode
    elapsed = time.monotonic() - started

    assert w_code == 0, w_err
    assert f"imported {rows:,} observations of 400 models" in w_out
    after = cli("--db", example_db, *TOP)
    assert after.code == 0 and STAR in after.out and after.out != before.out
    errors = [err for (_, err), code in answers if code != 0]
    assert errors == []
    outs = [out for (out, _), _ in answers]
    odd = [out for out in outs if out not in (before.out, after.out)]
    assert odd == [], (before.out, after.out)
    assert all("Traceback" not in err for (_, err), _ in answers)
    saw_before = sum(out == before.out for out in outs)
    figure(
        readers=READERS,
        errors=0,
        saw_before=saw_before,
        saw_after=READERS - saw_before,
        rows_written=rows,
        seconds=round(elapsed, 1),
    )


def test_store_connections_draw_no_progress_bar(example_db: Path) -> None:
    """DuckDB draws a progress bar on stdout once a query runs 2 s (a big store, a busy machine):
    in the middle of ``--format csv`` output.  Every store connection turns it off."""
    from ram.store import Store

    for read_only in (True, False):
        with Store.open(example_db, read_only=read_only) as store:
            setting = store.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
            assert setting == (False,)
