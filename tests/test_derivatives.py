"""Derivative counts and families against the contract test Hub, and on the bundled real data:
live ``childrenModelCount`` in ``ram snapshot`` (cadence, cap, request cost), ``ram derivatives``
(falls, ``--rebuild`` from the children listings), ``ram import derivatives``, ``--signal
derivatives``, ``ram families`` and ``--by family``, and the derivative-share chart."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ram import derivatives
from ram.dates import now_utc
from ram.store.database import Store
from tests.conftest import SAMPLE, CliRunner
from tests.fakehub import FakeHub
from tests.test_snapshot import _repo, _tags, write_config

pytestmark = pytest.mark.usefixtures("hub_client")

FINETUNES = SAMPLE.parent / "finetunes_2025-02-18.csv.gz"
BASE = "Alpha/Alpha-7B"
CONFIG: dict[str, Any] = {
    "tracking": {"use_catalog": False, "orgs": {"Alpha": "us"}},
    "ram": {"top_n": 1, "min_pool": 1},
}


def _child(created: str, relation: str, base: str = BASE) -> dict[str, Any]:
    return _repo(10, 50, createdAt=created, tags=_tags(relation, base))


def fill(hub: FakeHub) -> None:
    """A base, three first-party repos built on it (FP8, GGUF, Instruct) and five community
    derivatives, one per relation and day (their orgs are not tracked: never listed by org)."""
    st = {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000}
    hub.add(BASE, **_repo(5000, 20000, safetensors=st))
    for name, relation, lib in (("FP8", "quantized", "transformers"),
                                ("GGUF", "quantized", "gguf"),
                                ("Instruct", "finetune", "transformers")):  # fmt: skip
        hub.add(
            f"{BASE}-{name}",
            **_repo(800, 2000, library_name=lib, safetensors=st, tags=_tags(relation, BASE)),
            baseModels={"relation": relation, "models": [{"id": BASE}]},
        )
    hub.add("u1/ft-a", **_child("2026-09-05T08:00:00.000Z", "finetune"))
    hub.add("u2/ft-b", **_child("2026-09-05T20:00:00.000Z", "finetune"))
    hub.add("u3/q", **_child("2026-09-20T00:00:00.000Z", "quantized"))
    hub.add("u4/ad", **_child("2026-10-01T00:00:00.000Z", "adapter"))
    hub.add("u5/mg", **_child("2026-11-01T00:00:00.000Z", "merge"))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as fake:
        fill(fake)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def _tracked(db: Path) -> list[str]:
    with Store.open(db, read_only=True) as store:
        rows = store.con.execute("SELECT model_id FROM models WHERE tracked ORDER BY 1")
        return [m for (m,) in rows.fetchall()]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- live counts in the snapshot ---------------------------------------------------------------


def test_the_snapshot_stores_live_counts_of_due_models_and_says_what_they_cost(
    cli: CliRunner, hub: FakeHub, tmp_path: Path
) -> None:
    write_config(tmp_path, CONFIG)
    db = tmp_path / "s.duckdb"

    r = cli("--db", db, "snapshot")

    assert r.code == 0, r.err
    tracked = _tracked(db)
    assert tracked == [BASE, f"{BASE}-FP8", f"{BASE}-Instruct"]  # the GGUF copy is rejected
    # one listing of Alpha, then one childrenModelCount per tracked model
    assert hub.requests == 1 + 3
    assert "; derivatives: 3 counts, 3 requests into " in r.out
    rows = _csv(cli("--db", db, "derivatives", BASE, "--format", "csv").out)
    today = now_utc().date().isoformat()
    assert rows == [{"model_id": BASE, "obs_date": today, "relation": "all", "n": "8",
                     "source": "hub"}]  # fmt: skip
    for other in (f"{BASE}-FP8", f"{BASE}-Instruct"):
        (row,) = _csv(cli("--db", db, "derivatives", other, "--format", "csv").out)
        assert row["n"] == "0"

    hub.reset_counts()
    again = cli("--db", db, "snapshot")  # the same day: nothing is due
    assert again.code == 0 and hub.requests == 1
    assert "derivatives:" not in again.out


def test_the_cap_serves_the_longest_waiting_first(
    cli: CliRunner, hub: FakeHub, tmp_path: Path
) -> None:
    write_config(tmp_path, {**CONFIG, "derivatives": {"max_requests": 2}})
    db = tmp_path / "s.duckdb"
    r = cli("--db", db, "snapshot")
    assert r.code == 0 and hub.requests == 1 + 2
    assert "; derivatives: 2 counts, 2 requests, 1 wait for the next run into " in r.out


def test_due_is_daily_while_young_weekly_after_spread_over_the_week() -> None:
    today = dt.date(2026, 12, 3)
    tracked = pd.DataFrame(
        {
            "model_id": ["young/a", "young/b", "old/d", "new/e"],
            "release_date": pd.to_datetime(["2026-11-01", "2026-11-01", "2025-01-01", None]),
        }
    )
    last = {
        "young/a": dt.date(2026, 12, 2),  # yesterday: due (daily)
        "young/b": dt.date(2026, 12, 3),  # today: not due
        "old/d": dt.date(2026, 11, 20),  # 13 days ago: missed its weekday, due; waited longest
    }
    assert derivatives.due(tracked, last, today, 180) == ["new/e", "old/d", "young/a"]

    # 700 weekly models counted yesterday: over the next 7 days each is due exactly once, and
    # no day carries more than twice its share (the load is spread, not a weekly burst)
    old = pd.DataFrame({"model_id": [f"org/m{i}" for i in range(700)],
                        "release_date": pd.to_datetime(["2024-01-01"] * 700)})  # fmt: skip
    seen = {m: today - dt.timedelta(days=1) for m in old["model_id"]}
    counted: dict[str, int] = {}
    per_day = []
    for i in range(7):
        day = today + dt.timedelta(days=i)
        due = derivatives.due(old, seen, day, 180)
        seen.update(dict.fromkeys(due, day))
        for m in due:
            counted[m] = counted.get(m, 0) + 1
        per_day.append(len(due))
    assert counted == dict.fromkeys(old["model_id"], 1)
    assert max(per_day) <= 2 * 700 / 7 and sum(per_day) == 700


# -- rebuild and falls ---------------------------------------------------------------------------


def test_rebuild_lists_children_by_relation_and_dates_them(
    cli: CliRunner, hub: FakeHub, tmp_path: Path
) -> None:
    write_config(tmp_path, {**CONFIG, "derivatives": {"collect": False}})
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "snapshot").code == 0
    hub.reset_counts()

    r = cli("--db", db, "derivatives", "--rebuild", BASE, "--format", "csv")

    assert r.code == 0, r.err
    assert hub.requests == 4  # one listing per relation, each a single page
    today = now_utc().date().isoformat()
    got = [(row["relation"], row["obs_date"], int(row["n"])) for row in _csv(r.out)]
    assert sorted(got) == sorted([
        ("finetune", "2026-09-01", 1), ("finetune", "2026-09-05", 3), ("finetune", today, 3),
        ("quantized", "2026-09-01", 2), ("quantized", "2026-09-20", 3), ("quantized", today, 3),
        ("adapter", "2026-09-01", 0), ("adapter", "2026-10-01", 1), ("adapter", today, 1),
        ("merge", "2026-09-01", 0), ("merge", "2026-11-01", 1), ("merge", today, 1),
    ])  # fmt: skip
    assert {row["source"] for row in _csv(r.out)} == {"rebuilt"}
    # the rebuilt total on its last day equals the live count of every relation together
    with Store.open(db, read_only=True) as store:
        signal = derivatives.signal_obs(store.derivative_counts([BASE]))
    assert int(signal["downloads_all_time"].iloc[-1]) == 8 == hub.children_of(BASE, None)
    assert int(signal.loc[signal["obs_date"] == pd.Timestamp("2026-09-19"),
                          "downloads_all_time"].iloc[0]) == 3 + 2 + 0 + 0  # fmt: skip

    # a second rebuild replaces the curve: a deleted child lowers it, never duplicates it
    hub.remove("u3/q")
    assert cli("--db", db, "derivatives", "--rebuild", BASE, "--format", "csv").code == 0
    with Store.open(db, read_only=True) as store:
        rows = store.derivative_counts([BASE])
    quantized = rows[rows["relation"] == "quantized"]
    assert list(quantized["n"]) == [2, 2] and len(rows) == 11


def test_an_unknown_model_or_nothing_named_is_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "import", "panel", SAMPLE).code == 0
    r = cli("--db", db, "derivatives", "nobody/nothing")
    assert r.code == 2 and "unknown model" in r.err
    r = cli("--db", db, "derivatives")
    assert r.code == 2 and r.err.count("\n") == 1 and "--rebuild" in r.err


def test_falls_are_kept_and_named(cli: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "import", "panel", SAMPLE).code == 0
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "model_id,date,relation,n\n"
        "Qwen/Qwen2.5-7B-Instruct,2025-01-01,all,900\n"
        "Qwen/Qwen2.5-7B-Instruct,2025-01-02,all,880\n"
    )
    assert cli("--db", db, "import", "derivatives", counts).code == 0
    r = cli("--db", db, "derivatives", "Qwen/Qwen2.5-7B-Instruct", "--format", "csv")
    assert [row["n"] for row in _csv(r.out)] == ["900", "880"]  # never clamped
    assert "all count fell from 900 to 880 on 2025-01-02 (panel:counts)" in r.err
    status = json.loads(cli("--db", db, "status", "--format", "json").out)
    fell = [f for f in status["flags"] if f["flag"] == "derivatives fell"]
    assert fell == [
        {"model_id": "Qwen/Qwen2.5-7B-Instruct", "flag": "derivatives fell",
         "obs_date": "2025-01-02",
         "detail": "all count 900 -> 880 (panel:counts): children deleted or reclassified, "
                   "kept as reported"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("model_id,date,n\n", "a derivative file has exactly model_id,date,relation,n"),
        ("model_id,date,relation,n\na/b,2025-01-01,forks,3\n", "line 2: relation 'forks'"),
        ("model_id,date,relation,n\na/b,2025-01-01,all,-3\n", "line 2: n '-3'"),
        (
            "model_id,date,relation,n\na/b,2025-01-01,all,3\na/b,2025-01-01,all,4\n",
            "line 3: model_id, date and relation repeat",
        ),
    ],
)
def test_a_bad_derivative_file_is_refused_whole(
    cli: CliRunner, tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    r = cli("--db", tmp_path / "s.duckdb", "import", "derivatives", path)
    assert r.code == 2 and r.err.count("\n") == 1 and words in r.err, r.err
    assert not (tmp_path / "s.duckdb").exists()  # refused before anything was opened


# -- the real fine-tune panel and derivative RAM ---------------------------------------------------


@pytest.fixture
def real_db(tmp_path: Path, cli: CliRunner) -> Path:
    db = tmp_path / "real.duckdb"
    assert cli("--db", db, "import", "panel", SAMPLE).code == 0
    r = cli("--db", db, "import", "derivatives", FINETUNES)
    assert r.code == 0, r.err
    assert r.out.startswith("imported 1,897 derivative counts of 370 models")
    return db


def test_derivative_ram_on_the_bundled_fine_tune_panel(cli: CliRunner, real_db: Path) -> None:
    r = cli("--db", real_db, "top", "--signal", "derivatives", "--format", "json", "--limit", "3")
    assert r.code == 0, r.err
    body = json.loads(r.out)
    assert body["signal"] == "derivatives"
    assert body["baseline"] == "live cutoff, top 10, over derivative counts"
    assert body["source"] == "Hugging Face derivative counts (panel:finetunes_2025-02-18)"
    # Llama-3.2-1B: created 2024-09-18, public (first downloads) 2024-09-26, its release day.
    # The file has 386 fine-tunes on 2024-10-18 and 803 on 2024-11-17, so day 30 (2024-10-26)
    # lies 8 of 30 days between them: 386 + 8/30 * 417 = 497.2, by the linear rule of
    # RAM_SPEC §2 across a gap the derivative signal allows (derivatives.max_gap_days 35).
    first = body["rows"][0]
    assert (first["size_class"], first["model_id"], first["day"]) == (
        "1-5B",
        "meta-llama/Llama-3.2-1B",
        30,
    )
    assert first["cumulative_derivatives"] == pytest.approx(386 + 8 / 30 * 417)
    assert first["ram"] == pytest.approx(first["cumulative_derivatives"] / first["baseline"])
    score = cli("--db", real_db, "score", "meta-llama/Llama-3.2-1B", "--signal", "derivatives",
                "--format", "csv")  # fmt: skip
    day30 = next(row for row in _csv(score.out) if row["day"] == "30")
    assert float(day30["cumulative_derivatives"]) == pytest.approx(497.2)
    plain = cli("--db", real_db, "top", "--format", "json", "--limit", "3")
    assert "signal" not in json.loads(plain.out)  # downloads stay the default, as before


def test_the_derivative_share_chart_is_in_the_report(
    cli: CliRunner, real_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    r = cli("--db", real_db, "report", "--out", out, "--no-png")
    assert r.code == 0, r.err
    page = (out / "index.html").read_text()
    assert 'id="derivative-share-org"' in page and 'id="derivative-share-region"' in page
    shares = list(csv.DictReader((out / "derivative-share-org.csv").open()))
    by_month: dict[str, float] = {}
    for row in shares:
        by_month[row["month"]] = by_month.get(row["month"], 0.0) + float(row["share"])
    assert all(abs(v - 1) < 1e-9 for v in by_month.values())
    assert list(by_month) == [
        "2024-08",
        "2024-09",
        "2024-10",
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]


# -- families --------------------------------------------------------------------------------------


def _family_store(cli: CliRunner, tmp_path: Path, config: dict[str, Any]) -> Path:
    """A snapshot (which stores the base_model tags) and 46 days of all-time counts: the base
    gains 100 a day from 2026-09-01, its FP8 variant 10, its GGUF copy 50."""
    write_config(tmp_path, {**config, "derivatives": {"collect": False}})
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "snapshot").code == 0
    panel = tmp_path / "fam.csv"
    lines = ["model_id,date,downloads_all_time"]
    for d in range(46):
        day = (dt.date(2026, 9, 1) + dt.timedelta(days=d)).isoformat()
        lines += [f"{BASE},{day},{100 * d}", f"{BASE}-FP8,{day},{10 * d}",
                  f"{BASE}-GGUF,{day},{50 * d}"]  # fmt: skip
    panel.write_text("\n".join(lines) + "\n")
    assert cli("--db", db, "import", "panel", panel).code == 0
    return db


def test_families_list_first_party_variants_with_their_evidence(
    cli: CliRunner, hub: FakeHub, tmp_path: Path
) -> None:
    db = _family_store(cli, tmp_path, CONFIG)
    r = cli("--db", db, "families", "--format", "csv")
    assert r.code == 0, r.err
    assert _csv(r.out) == [
        {
            "family": BASE,
            "model_id": BASE,
            "role": "base",
            "evidence": "named as base by 1 first-party variant",
        },
        {
            "family": BASE,
            "model_id": f"{BASE}-FP8",
            "role": "variant",
            "evidence": f"tag base_model:quantized:{BASE}; name = base + -FP8",
        },
    ]  # fmt: skip  (the Instruct repo is a fine-tune, not a format: a model of its own)
    gguf = {**CONFIG, "families": {"include_gguf": True}}
    write_config(tmp_path, {**gguf, "derivatives": {"collect": False}})
    r = cli("--db", db, "families", "--format", "csv")
    assert [row["model_id"] for row in _csv(r.out)] == [BASE, f"{BASE}-FP8", f"{BASE}-GGUF"]


def test_by_family_sums_members_downloads_and_scores_the_family(
    cli: CliRunner, hub: FakeHub, tmp_path: Path
) -> None:
    db = _family_store(cli, tmp_path, CONFIG)
    per_repo = cli("--db", db, "score", BASE, "--day", "30", "--format", "csv")
    assert [row["cumulative_downloads"] for row in _csv(per_repo.out)] == ["3000"]
    family = cli("--db", db, "score", f"{BASE}-FP8", "--by", "family", "--day", "30",
                 "--format", "json")  # fmt: skip
    assert family.code == 0, family.err
    body = json.loads(family.out)
    assert body["by"] == "family" and body["model"] == BASE  # a variant answers for its family
    (row,) = body["rows"]
    assert (row["day"], row["cumulative_downloads"]) == (30, 3000 + 300)  # GGUF left out
    top = json.loads(cli("--db", db, "top", "--by", "family", "--format", "json").out)
    ids = [x["model_id"] for x in top["rows"]]
    assert BASE in ids and f"{BASE}-FP8" not in ids  # variants are members, not rows
    scores = _csv(cli("--db", db, "scores", "--by", "family", "--day", "30", "--format", "csv").out)
    # every scored unit (the untracked GGUF copy too, as ram scores lists all); no FP8 row
    assert [(x["model_id"], x["cumulative_downloads"]) for x in scores] == [
        (BASE, "3300"),
        (f"{BASE}-GGUF", "1500"),
    ]

    write_config(tmp_path, {**CONFIG, "families": {"include_gguf": True},
                            "derivatives": {"collect": False}})  # fmt: skip
    with_gguf = _csv(cli("--db", db, "scores", "--by", "family", "--day", "30",
                         "--format", "csv").out)  # fmt: skip
    assert [(x["model_id"], x["cumulative_downloads"]) for x in with_gguf] == [
        (BASE, str(3000 + 300 + 1500))
    ]
    chart = cli("--db", db, "plot", "cumulative", "--by", "family", "--size-class", "5-10B",
                "--out", tmp_path / "fam.html")  # fmt: skip
    assert chart.code == 0, chart.err
    bad = cli("--db", db, "top", "--by", "family", "--signal", "derivatives")
    assert bad.code == 2 and "--by family sums downloads" in bad.err


def test_the_site_shows_derivatives_and_the_share_chart(
    cli: CliRunner, real_db: Path, tmp_path: Path
) -> None:
    r = cli("--db", real_db, "publish", tmp_path / "site")
    assert r.code == 0, r.err
    page = (tmp_path / "site/models/Qwen/Qwen2.5-7B-Instruct.html").read_text()
    section = page.split('<section id="derivatives">')[1].split("</section>")[0]
    # the file's last count of Qwen2.5-7B-Instruct: 1,229 fine-tunes on 2025-02-13
    assert '<td>finetune</td><td class="num">1,229</td><td>2025-02-13</td>' in section
    assert 'id="chart-shares"' in (tmp_path / "site/index.html").read_text()
    shares = json.loads((tmp_path / "site/data/derivative-share-org.json").read_text())
    assert shares["columns"] == ["month", "group", "new", "share"] and shares["rows"]
