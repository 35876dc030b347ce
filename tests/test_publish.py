"""``ram publish``: the site's files, the Atom feed (checked against RFC 4287's rules and against
``ram scores``), stable event ids, badges (shields' endpoint schema), the digest, the webhook
(a real HTTP server on 127.0.0.1), a hostile model id, and the schedule's publish step."""

from __future__ import annotations

import csv
import datetime as dt
import http.server
import io
import json
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from ram.config import load_config
from ram.publish import paths
from ram.publish.site import publish
from ram.store.database import SCHEMA_VERSION, Store
from tests.conftest import CliRunner
from tests.site_fixtures import HOSTILE, site_config

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def own_db(site_master: tuple[Path, Path, Path], tmp_path: Path) -> Path:
    """A private copy of the published store (tests that publish again write to it)."""
    copy = tmp_path / "db.duckdb"
    shutil.copy(site_master[1], copy)
    return copy


@pytest.fixture
def unpublished_db(own_db: Path) -> Path:
    """The copy with an empty events ledger: a store that never published."""
    with Store.open(own_db) as store:
        store.con.execute("DELETE FROM events")
    return own_db


def _entries(feed: Path) -> list[ET.Element]:
    return ET.parse(feed).getroot().findall(f"{ATOM}entry")


# -- the files ---------------------------------------------------------------------------------


def test_the_site_has_every_page_chart_data_and_asset(
    site_master: tuple[Path, Path, Path],
) -> None:
    _, db, site = site_master
    with Store.open(db, read_only=True) as store:
        tracked = {
            m for (m,) in store.con.execute("SELECT model_id FROM models WHERE tracked").fetchall()
        }
    for name in ("index.html", "feed.xml", "digest.md", "plotly.min.js", "assets/site.js",
                 "assets/site.css", "data/site-data.js", "data/models.js",
                 "data/leaderboard.csv", "data/leaderboard.json", "data/events.csv"):  # fmt: skip
        assert (site / name).is_file(), name
    site_data = json.loads((site / "data/site-data.js").read_text().split("=", 1)[1].rstrip(";\n"))
    assert site_data["classes"] == ["1-5B", "5-10B", "10-50B", "50-100B"]
    for c in site_data["classes"]:
        slug = site_data["slugs"][c]
        for kind in ("ram", "cumulative", "baseline"):
            rows = list(csv.DictReader((site / f"data/{kind}-{slug}.csv").open()))
            body = json.loads((site / f"data/{kind}-{slug}.json").read_text())
            assert len(body["rows"]) == len(rows) > 0
            assert (
                body["as_of"] == "2025-02-18" and "panel:hf_downloads_30d_2024H2" in body["source"]
            )
    stems = paths.unique_stems(sorted(tracked))
    pages = {s for s in stems.values()}
    assert len(tracked) == 116  # 115 of the bundled panel + the hostile one
    for stem in pages:
        assert (site / f"models/{stem}.html").is_file()
        assert (site / f"models/{stem}.csv").is_file() and (site / f"models/{stem}.json").is_file()
        assert (site / f"badges/{stem}.json").is_file()
    assert stems[HOSTILE].startswith("_/") and stems["Qwen/Qwen2.5-7B-Instruct"] == (
        "Qwen/Qwen2.5-7B-Instruct"
    )
    manifest = json.loads((site / ".ram-publish.json").read_text())
    assert len(manifest["files"]) == sum(1 for p in site.rglob("*") if p.is_file()) - 1


def test_the_index_carries_as_of_source_baseline_and_method(site: Path) -> None:
    text = (site / "index.html").read_text()
    assert "As of <strong>2025-02-18</strong>" in text
    assert "source: Hugging Face download counts (panel:hf_downloads_30d_2024H2)" in text
    assert "baseline: live cutoff, top 10" in text
    assert "The Relative Adoption Metric (RAM, The ATOM Project)" in text
    # no script or stylesheet from outside the site's folder
    for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', text):
        assert not re.match(r"[a-z]+:", src), src


def test_the_leaderboard_is_ram_top_latest(
    site_master: tuple[Path, Path, Path], cli: CliRunner
) -> None:
    """The site's leaderboard is ``ram top --latest`` without a row limit, row for row."""
    cfg, db, site = site_master
    r = cli("--config", cfg, "--db", db, "top", "--latest", "--limit", "100000", "--format", "csv")
    assert r.code == 0, r.err
    want = [
        (row["size_class"], row["rank"], row["model_id"], row["ram"], row["flags"])
        for row in csv.DictReader(io.StringIO(r.out))
    ]
    got = [
        (row["size_class"], row["rank"], row["model_id"], row["ram"], row["flags"])
        for row in csv.DictReader((site / "data/leaderboard.csv").open())
    ]
    assert got == want and len(got) == 22
    html = (site / "index.html").read_text()
    assert html.count("<tr><td data-v=") == len(got)


# -- the feed ------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def _check_atom(root: ET.Element) -> None:
    """RFC 4287's MUSTs for what the feed uses, element by element."""
    assert root.tag == f"{ATOM}feed"  # §4.1.1: the root is atom:feed in the Atom namespace

    def one(parent: ET.Element, tag: str) -> ET.Element:
        found = parent.findall(f"{ATOM}{tag}")
        assert len(found) == 1, f"{parent.tag} has {len(found)} {tag}"
        return found[0]

    for tag in ("id", "title", "updated"):  # §4.1.1: exactly one each
        one(root, tag)
    assert root.findall(f"{ATOM}author")  # §4.1.1: an author, as entries have none of their own
    assert len(root.findall(f"{ATOM}subtitle")) <= 1
    assert _RFC3339.fullmatch(one(root, "updated").text or "")  # §3.3 date constructs
    alternates = [
        (lnk.get("type"), lnk.get("hreflang"))
        for lnk in root.findall(f"{ATOM}link")
        if lnk.get("rel", "alternate") == "alternate"
    ]
    assert len(alternates) == len(set(alternates))  # §4.1.1: one alternate per type+hreflang
    assert all(lnk.get("href") for lnk in root.iter(f"{ATOM}link"))  # §4.2.7.1: href required
    assert all(c.get("term") for c in root.iter(f"{ATOM}category"))  # §4.2.2.1: term required
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated"):  # §4.1.2: exactly one each
            one(entry, tag)
        assert len(entry.findall(f"{ATOM}summary")) <= 1
        assert len(entry.findall(f"{ATOM}published")) <= 1
        for tag in ("updated", "published"):
            for el in entry.findall(f"{ATOM}{tag}"):
                assert _RFC3339.fullmatch(el.text or ""), el.text
        ident = one(entry, "id").text or ""
        assert re.fullmatch(
            r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ident
        )  # §4.2.6: an IRI
        ids.append(ident)
    assert len(ids) == len(set(ids))  # §4.2.6: ids are unique (and readers rely on it)


def test_the_feed_is_atom_by_rfc_4287(site: Path) -> None:
    raw = (site / "feed.xml").read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(raw)  # well-formed XML, or this raises
    _check_atom(root)
    kinds = {e.find(f"{ATOM}category").get("term") for e in root.findall(f"{ATOM}entry")}  # type: ignore[union-attr]
    assert kinds == {"ram-crossing", "top10-entry", "new-release", "data-flag"}


def _crossings_of_scores(cli: CliRunner, cfg: Path, db: Path) -> set[tuple[str, int, str]]:
    """(model, milestone, date) where ``ram scores`` (the default milestones) shows a tracked
    model on a baseline that is not thin at RAM >= 1 after a milestone below 1 or none."""
    r = cli("--config", cfg, "--db", db, "scores", "--format", "csv")
    assert r.code == 0, r.err
    rows = [
        row for row in csv.DictReader(io.StringIO(r.out))
        if row["in_pool"] == "True" and row["thin"] == "False" and row["ram"]
    ]  # fmt: skip
    rows.sort(key=lambda row: (row["model_id"], int(row["day"])))
    out, previous = set(), {}
    for row in rows:
        ram, m = float(row["ram"]), row["model_id"]
        if ram >= 1 and not previous.get(m, 0) >= 1:
            day = int(row["day"])
            when = dt.date.fromisoformat(row["release_date"]) + dt.timedelta(days=day)
            out.add((m, day, when.isoformat()))
        previous[m] = ram
    return out


def test_the_feed_holds_the_crossings_ram_scores_implies(
    site_master: tuple[Path, Path, Path], cli: CliRunner
) -> None:
    cfg, db, site = site_master
    expected = _crossings_of_scores(cli, cfg, db)
    found = set()
    for e in _entries(site / "feed.xml"):
        if e.find(f"{ATOM}category").get("term") != "ram-crossing":  # type: ignore[union-attr]
            continue
        title = e.findtext(f"{ATOM}title") or ""
        match = re.fullmatch(r"(.+) is on top-10 pace at day (\d+): RAM [\d.]+", title)
        assert match, title
        found.add((match[1], int(match[2]), (e.findtext(f"{ATOM}updated") or "")[:10]))
    assert found == expected
    assert len(found) == 38 and any(m == HOSTILE for m, _, _ in found)


def test_a_second_publish_keeps_every_id_and_adds_nothing_new(
    site_master: tuple[Path, Path, Path], own_db: Path, cli: CliRunner, tmp_path: Path
) -> None:
    cfg, _, site = site_master
    copy_db, copy_site = own_db, tmp_path / "site"
    shutil.copytree(site, copy_site)
    (copy_site / "models" / "stale.html").write_text("old")  # not in the manifest: kept
    manifest = json.loads((copy_site / ".ram-publish.json").read_text())
    (copy_site / "models" / "gone.html").write_text("from a model since dropped")
    manifest["files"].append("models/gone.html")
    manifest["files"].append("../outside.txt")  # an edited manifest never deletes outside
    (tmp_path / "outside.txt").write_text("keep")
    (copy_site / ".ram-publish.json").write_text(json.dumps(manifest))

    r = cli("--config", cfg, "--db", copy_db, "publish", copy_site)

    assert r.code == 0, r.err
    assert "237 events in feed.xml (0 new)" not in r.out  # the hostile copy adds its own
    assert "(0 new)" in r.out and "1 stale removed" in r.out
    before = [e.findtext(f"{ATOM}id") for e in _entries(site / "feed.xml")]
    after = [e.findtext(f"{ATOM}id") for e in _entries(copy_site / "feed.xml")]
    assert before == after and len(after) == 240
    assert (copy_site / "feed.xml").read_bytes() == (site / "feed.xml").read_bytes()
    assert not (copy_site / "models" / "gone.html").exists()
    assert (copy_site / "models" / "stale.html").exists() and (tmp_path / "outside.txt").exists()
    with Store.open(copy_db, read_only=True) as store:
        assert len(store.events()) == 240


def test_since_limits_the_feed_and_starts_the_digest(
    site_master: tuple[Path, Path, Path], own_db: Path, cli: CliRunner, tmp_path: Path
) -> None:
    cfg, copy_db = site_master[0], own_db
    r = cli("--config", cfg, "--db", copy_db, "publish", tmp_path / "s", "--since", "2025-02-01")
    assert r.code == 0, r.err
    dates = [(e.findtext(f"{ATOM}updated") or "")[:10] for e in _entries(tmp_path / "s/feed.xml")]
    assert dates and min(dates) >= "2025-02-01"
    assert dates == sorted(dates, reverse=True)  # newest first
    assert (
        (tmp_path / "s/digest.md")
        .read_text()
        .startswith("# Open-model adoption on the Hugging Face Hub: 2025-02-01 to 2025-02-18\n")
    )
    bad = cli("--config", cfg, "--db", copy_db, "publish", tmp_path / "t", "--since", "Feb 1")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "--since" in bad.err


# -- badges and digest -----------------------------------------------------------------------

# https://shields.io/badges/endpoint-badge: the keys shields reads and their types.
_SHIELDS = {
    "schemaVersion": int, "label": str, "message": str, "color": str, "labelColor": str,
    "isError": bool, "namedLogo": str, "logoSvg": str, "logoColor": str, "logoWidth": int,
    "style": str, "cacheSeconds": int,
}  # fmt: skip
_NAMED = {"brightgreen", "green", "yellowgreen", "yellow", "orange", "red", "blue",
          "lightgrey", "success", "important", "critical", "informational", "inactive"}  # fmt: skip


def test_badges_parse_as_shields_endpoint_json(
    site_master: tuple[Path, Path, Path], cli: CliRunner
) -> None:
    cfg, db, site = site_master
    seen = {}
    for path in (site / "badges").rglob("*.json"):
        body = json.loads(path.read_text())
        assert body["schemaVersion"] == 1 and {"label", "message"} <= body.keys()
        for key, value in body.items():
            assert isinstance(value, _SHIELDS[key]), (path, key)
        assert body["color"] in _NAMED or re.fullmatch(r"[0-9a-fA-F]{3,6}", body["color"])
        assert body["cacheSeconds"] >= 300
        seen[path.relative_to(site / "badges").as_posix()] = body
    assert len(seen) == 116
    # the badge shows the model's last milestone in ram scores, to three figures
    r = cli("--config", cfg, "--db", db, "scores", "--format", "csv")
    last: dict[str, tuple[int, float]] = {}
    for row in csv.DictReader(io.StringIO(r.out)):
        if row["ram"]:
            last[row["model_id"]] = (int(row["day"]), float(row["ram"]))
    day, ram = last["Qwen/Qwen2.5-7B-Instruct"]
    assert (day, f"{ram:.3g}") == (90, "43.1")
    assert seen["Qwen/Qwen2.5-7B-Instruct.json"] == {
        "schemaVersion": 1, "label": "RAM d90", "message": "43.1", "color": "brightgreen",
        "cacheSeconds": 3600,
    }  # fmt: skip
    for stem, badge in seen.items():
        model = stem.removesuffix(".json")
        if model in last and badge["color"] != "lightgrey":
            d, v = last[model]
            three = f"{v:,.0f}" if v >= 100 else f"{v:#.3g}"  # three figures, zeros kept
            assert (badge["label"], badge["message"]) == (f"RAM d{d}", three), (model, v)
    grey = [b for b in seen.values() if b["color"] == "lightgrey"]
    assert all(b["message"] == "not scored yet" for b in grey)


def test_the_digest_lists_the_weeks_events_and_movers(site: Path) -> None:
    text = (site / "digest.md").read_text()
    assert text.startswith(
        "# Open-model adoption on the Hugging Face Hub: 2025-02-12 to 2025-02-18\n"
    )
    for heading in ("## New tracked releases", "## Crossed RAM 1", "## Entered a top 10",
                    "## Movers (downloads gained)", "## Data-quality flags"):  # fmt: skip
        assert heading in text
    entries = [
        e for e in _entries(site / "feed.xml")
        if "2025-02-12" <= (e.findtext(f"{ATOM}updated") or "")[:10] <= "2025-02-18"
        and e.find(f"{ATOM}category").get("term") == "top10-entry"  # type: ignore[union-attr]
    ]  # fmt: skip
    section = text.split("## Entered a top 10")[1].split("## ")[0]
    assert len(entries) == section.count("\n- ") > 0
    movers = text.split("## Movers (downloads gained)")[1].split("## ")[0]
    assert movers.count("\n| [") == 10
    assert "\\<img src=x onerror=alert(1)\\>" in text or "<img" not in text


# -- a hostile model id -----------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.h1: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_h1 = tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        self._in_h1 = False if tag == "h1" else self._in_h1

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1.append(data)


def test_a_hostile_model_id_is_text_in_every_page_and_never_a_path(site: Path) -> None:
    stem = paths.unique_stems([HOSTILE])[HOSTILE]
    page = site / f"models/{stem}.html"
    parsed = _Text()
    parsed.feed(page.read_text())
    assert "".join(parsed.h1) == HOSTILE
    assert "img" not in parsed.tags
    index = _Text()
    index.feed((site / "index.html").read_text())
    assert "img" not in index.tags
    assert (
        "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;-7B" in (site / "index.html").read_text()
    )
    model_data = page.read_text().split('id="model-data">')[1].split("</script>")[0]
    assert "<" not in model_data and json.loads(model_data)["id"] == HOSTILE
    assert not any("<" in p.name or "'" in p.name for p in site.rglob("*"))


@pytest.mark.parametrize(
    ("model_id", "plain"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", True),
        ("a/b", True),
        ("../etc", False),
        ("org/..", False),
        ("org/.hidden", False),
        ("org/name.", False),
        ("org/a/b", False),
        ("org/con", False),
        ("org/na me", False),
        ("/abs", False),
        ("org/" + "x" * 97, False),
    ],
)
def test_model_stems(model_id: str, plain: bool) -> None:
    stem = paths.model_stem(model_id)
    assert (stem == model_id) is plain
    assert plain or re.fullmatch(r"_/[0-9a-f]{16}", stem)


def test_ids_equal_but_for_case_get_separate_files() -> None:
    stems = paths.unique_stems(["Org/Model", "org/model"])
    assert stems["Org/Model"] == "Org/Model" and stems["org/model"].startswith("_/")


# -- bad input ------------------------------------------------------------------------------


def test_a_file_or_a_foreign_site_as_out_is_exit_2(
    site_master: tuple[Path, Path, Path], cli: CliRunner, tmp_path: Path
) -> None:
    cfg, db, _ = site_master
    (tmp_path / "file").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.html").write_text("someone's site")
    for out, words in (
        (tmp_path / "file", "is not a folder"),
        (tmp_path / "other", "did not write"),
    ):
        r = cli("--config", cfg, "--db", db, "publish", out)
        assert r.code == 2 and r.err.count("\n") == 1 and words in r.err, r.err
    assert (tmp_path / "other" / "index.html").read_text() == "someone's site"


def test_an_empty_store_is_one_line(cli: CliRunner, tmp_path: Path) -> None:
    r = cli("--db", tmp_path / "none.duckdb", "publish", tmp_path / "site")
    errors = [line for line in r.err.splitlines() if line.startswith("Error")]
    assert r.code == 2 and len(errors) == 1 and "ram import panel" in errors[0]
    assert not (tmp_path / "site").exists()


# -- the webhook ----------------------------------------------------------------------------


@dataclass
class Hook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to give, then 204


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = state.answers.pop(0) if state.answers else 204
            if status < 300:
                assert self.headers["content-type"] == "application/json"
                state.bodies.append(json.loads(body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_the_webhook_gets_each_recent_event_once_with_retries(
    unpublished_db: Path, hook: Hook, tmp_path: Path
) -> None:
    copy_db = unpublished_db  # no ledger yet: every event is new
    cfg = load_config(site_config(tmp_path, webhook_url=hook.url, webhook_max_age_days=6))
    hook.answers = [503, 429]  # the first event is refused twice, then taken
    waits: list[float] = []

    first = publish(cfg, copy_db, tmp_path / "site", sleep=waits.append)

    report = first.webhook
    assert report is not None and not report.failed
    recent = hook.bodies
    listed = list(csv.DictReader((tmp_path / "site/data/events.csv").open()))
    week = sorted(e["event_id"] for e in listed if "2025-02-12" <= e["event_date"] <= "2025-02-18")
    assert sorted(b["id"] for b in recent) == sorted(report.sent) == week and len(week) == 2
    assert waits == [1.0, 2.0]
    assert [b["date"] for b in recent] == sorted(b["date"] for b in recent)  # oldest first
    assert len(report.too_old) == first.events - 2 == len(listed) - 2
    body = recent[0]
    assert set(body) == {"id", "kind", "model_id", "date", "title", "detail", "url", "text"}
    assert body["text"].startswith(body["title"])

    second = publish(cfg, copy_db, tmp_path / "site", sleep=waits.append)

    assert second.webhook is not None and second.webhook.line() == "webhook: 0 sent"
    assert len(hook.bodies) == 2 and second.new_events == 0
    with Store.open(copy_db, read_only=True) as store:
        status = store.events()["send_status"].value_counts().to_dict()
    assert status == {"sent": 2, "too old": first.events - 2}


def test_a_webhook_that_fails_is_retried_on_the_next_publish_and_never_fails_it(
    unpublished_db: Path, hook: Hook, tmp_path: Path
) -> None:
    copy_db = unpublished_db
    cfg = load_config(site_config(tmp_path, webhook_url=hook.url, webhook_retries=1))
    hook.answers = [500] * 100 + [400]
    down = publish(cfg, copy_db, tmp_path / "site", sleep=lambda _s: None)
    listed = list(csv.DictReader((tmp_path / "site/data/events.csv").open()))
    week = sorted(e["event_id"] for e in listed if "2025-02-11" <= e["event_date"] <= "2025-02-18")
    assert down.webhook is not None and not down.webhook.sent
    assert sorted(down.webhook.failed) == week and len(week) == 3  # max age 7 days
    assert "3 failed (the webhook answered HTTP 500; retried on the next publish)" in (
        down.webhook.line()
    )
    hook.answers = []
    up = publish(cfg, copy_db, tmp_path / "site", sleep=lambda _s: None)
    assert up.webhook is not None and sorted(up.webhook.sent) == week
    assert sorted(b["id"] for b in hook.bodies) == week

    closed = load_config(
        site_config(tmp_path, webhook_url="http://127.0.0.1:9/", webhook_retries=0)
    )
    with Store.open(copy_db) as store:
        store.con.execute("UPDATE events SET send_status = NULL")
    unreachable = publish(closed, copy_db, tmp_path / "site", sleep=lambda _s: None)
    assert unreachable.webhook is not None
    assert set(unreachable.webhook.failed.values()) == {"cannot reach the webhook: ConnectError"}
    assert (tmp_path / "site" / "index.html").is_file()


# -- the store's ledger ----------------------------------------------------------------------


def test_a_schema_2_store_reads_without_a_ledger_and_gains_one_on_write(
    sample_db: Path, tmp_path: Path
) -> None:
    with Store.open(sample_db) as store:  # make it what schema 2 wrote
        store.con.execute("DROP TABLE events")
        store.con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with Store.open(sample_db, read_only=True) as store:
        assert store.events().empty
    with Store.open(sample_db) as store:
        assert store.events().empty
        version = store.con.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version.fetchone() == (str(SCHEMA_VERSION),)


# -- the schedule ----------------------------------------------------------------------------


def test_schedule_publish_to_resolves_beside_the_config(tmp_path: Path) -> None:
    from ram.cli.collect import _publisher

    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "config.yaml"
    path.write_text(yaml.safe_dump({"schedule": {"publish_to": "site"}}))
    cfg = load_config(path)
    assert _publisher(cfg, tmp_path / "db.duckdb") is not None
    assert _publisher(load_config(None), tmp_path / "db.duckdb") is None
