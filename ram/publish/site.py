"""``ram publish OUT``: a static site from one analysis, offline from ``file://`` and from any
static host.

What it writes (every file whole, via ``ram.files``; files an earlier publish wrote and this one
does not are removed, nothing else in OUT is touched):

* ``index.html``: a size-class selector and a type-ahead model picker driving the RAM and
  cumulative charts, the region and org charts, a sortable and searchable leaderboard per size
  class, the latest events, as-of date, source, baseline and method;
* ``models/<org>/<name>.html``: one page per tracked model (curves, forecast fan, milestones,
  flags), its data as CSV and JSON beside it;
* ``data/``: the data behind every chart of the index as CSV and JSON;
* ``feed.xml`` (Atom), ``badges/<org>/<name>.json`` (shields.io endpoint), ``digest.md``;
* ``plotly.min.js`` (one local copy), ``assets/site.js`` and ``assets/site.css``.

Pages are Jinja2 templates with autoescaping on: every model id, org or flag is text, never
markup.  The page's own JavaScript (``static/site.js``) draws traces with Plotly and builds the
picker's list with ``textContent`` only.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import plotly.io as pio
from markupsafe import Markup

from ram import __version__, api, files
from ram.charts import data as cd
from ram.charts import export, figures
from ram.charts import style as cs
from ram.charts.figures import ChartData
from ram.charts.report import method_html, provenance_html
from ram.charts.report import slug as _slug
from ram.config import Config
from ram.dates import now_utc
from ram.errors import BadInput
from ram.metric import leaderboard
from ram.publish import badges, digest, events, feed, tuples, webhook
from ram.publish.paths import unique_stems
from ram.store.database import Store

MANIFEST = ".ram-publish.json"
DEFAULT_PICKS = 5  # models drawn per class before the reader picks any
DIGEST_DAYS = 7
RECENT_EVENTS = 25


@dataclass
class PublishSummary:
    out: Path
    as_of: dt.date
    source: str
    pages: int
    events: int
    new_events: int
    feed_events: int
    files: int
    removed: int
    digest_start: dt.date
    webhook: webhook.SendReport | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


# -- small helpers ---------------------------------------------------------------------------


def _thin_days(days: np.ndarray) -> np.ndarray:
    """Which of a curve's days a browser chart needs: every day of the first month, every third
    to half a year, every seventh after, and the last (CSV and JSON keep every day)."""
    if not len(days):
        return np.zeros(0, dtype=bool)
    keep = (days <= 30) | ((days <= 180) & (days % 3 == 0)) | (days % 7 == 0)
    keep[-1] = True
    return keep


# The columns of the RAM data files (class and release date are the leaderboard's).
RAM_DATA_COLUMNS = ["model_id", "day", "cumulative_downloads", "baseline", "ram", "thin"]


def _charted(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` (``model_id``, ``day``, ...) on the days the charts draw
    (``_thin_days`` per model): what the CSV and JSON beside a chart hold."""
    if frame.empty:
        return frame
    day = frame["day"].to_numpy()
    last = frame.groupby("model_id")["day"].transform("max").to_numpy()
    keep = (day <= 30) | ((day <= 180) & (day % 3 == 0)) | (day % 7 == 0) | (day == last)
    return frame[keep].reset_index(drop=True)


def _charted_one(frame: pd.DataFrame) -> pd.DataFrame:
    """``_charted`` of one model's rows (sorted by day)."""
    if frame.empty:
        return frame
    return frame[_thin_days(frame["day"].to_numpy())]


def _round(values: np.ndarray, digits: int = 4) -> list[float | None]:
    """Significant digits enough for a chart; NaN as null."""
    out: list[float | None] = []
    for v in values:
        if v is None or not math.isfinite(float(v)):
            out.append(None)
        elif v == 0:
            out.append(0.0)
        else:
            out.append(round(float(v), max(0, digits - 1 - math.floor(math.log10(abs(v))))))
    return out


def _json_script(value: object) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: no '<' survives."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _fig_json(fig: Any) -> dict[str, Any]:
    return dict(json.loads(pio.to_json(fig, validate=False, remove_uids=True)))


def _columns_rows(frame: pd.DataFrame) -> dict[str, Any]:
    """``{"columns": [...], "rows": [[...], ...]}``: the CSV's shape, a third of records' size;
    dates as ISO strings, missing values as null."""
    plain = all(
        pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in frame.dtypes
    ) or all(
        pd.api.types.is_string_dtype(t) or pd.api.types.is_object_dtype(t) for t in frame.dtypes
    )
    if plain and not any(pd.api.types.is_datetime64_any_dtype(t) for t in frame.dtypes):
        # small numeric frames (one per model page): lists directly, NaN and NA as null
        rows = [
            [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v
             for v in row]
            for row in frame.astype(object).to_numpy().tolist()
        ]  # fmt: skip
        return {"columns": [str(c) for c in frame.columns], "rows": rows}
    split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    return {"columns": split["columns"], "rows": split["data"]}


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c in out.columns:
            out[c] = pd.to_datetime(out[c]).dt.date
    return out


# -- what the pages show ---------------------------------------------------------------------


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ram.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _cell_number
    env.filters["ram"] = _cell_ram
    return env


def _cell_number(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{float(value):,.0f}" if isinstance(value, int | float | np.number) else str(value)


def _cell_ram(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    v = float(value)  # type: ignore[arg-type]
    return f"{v:.3f}" if v < 10 else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def _sort_value(value: object) -> str:
    """A cell's ``data-v``: the number itself (sorts numerically), or the text."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | np.number):
        return repr(float(value))
    return str(value)


def _leaderboards(
    an: api.Analysis, classes: list[str], table: pd.DataFrame, pages: dict[str, str]
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Per size class every scored pool model by latest RAM (the default leaderboard scope),
    with its RAM at each milestone; and the rows as one frame (CSV/JSON)."""
    board = api.rank(an.result, classes, None, None, 10**9, leaderboard.Scope(), an.flags)
    rows = board.rows
    scores = an.result.scores()
    scope = leaderboard.Scope()
    keep = [scope.keeps(p, t) for p, t in zip(scores["in_pool"], scores["thin"], strict=True)]
    scores = scores[np.asarray(keep, dtype=bool)]
    milestones = [d for d in an.result.params.milestones if (scores["day"] == d).any()]
    wide = scores.pivot_table(index="model_id", columns="day", values="ram", aggfunc="first")
    frame = pd.DataFrame(
        {
            "size_class": rows["size_class"],
            "rank": rows["rank"],
            "model_id": rows["model_id"],
            "org": rows["model_id"].map(table["org"]),
            "release_date": rows["release_date"],
            "day": rows["day"],
            "ram": rows["ram"],
            **{
                f"ram_d{d}": rows["model_id"].map(wide[d]) if d in wide.columns else np.nan
                for d in milestones
            },
            "cumulative_downloads": rows["cumulative_downloads"],
            "baseline": rows["baseline"],
            "flags": rows["flags"],
        }
    ).reset_index(drop=True)
    columns = [
        ("rank", "#", True), ("model_id", "model", False), ("org", "org", False),
        ("release_date", "released", False), ("day", "days", True), ("ram", "RAM", True),
        *((f"ram_d{d}", f"d{d}", True) for d in milestones),
        ("cumulative_downloads", "downloads", True), ("flags", "flags", False),
    ]  # fmt: skip
    out = []
    for c in classes:
        part = frame[frame["size_class"] == c]
        body = []
        for rec in part.to_dict("records"):
            cells = []
            for key, _, numeric in columns:
                value = rec[key]
                if key.startswith("ram"):
                    text = _cell_ram(value)
                elif key in ("cumulative_downloads", "rank", "day"):
                    text = _cell_number(value)
                else:
                    text = "" if value is None or value is pd.NaT else str(value)
                    text = "" if text in ("nan", "None") else text
                cells.append(
                    {"key": key, "text": text, "v": _sort_value(value), "num": numeric,
                     "href": pages.get(str(value)) if key == "model_id" else None}
                )  # fmt: skip
            body.append(cells)
        out.append(
            {
                "size_class": c,
                "slug": _slug(c),
                "columns": [{"key": k, "label": lab, "num": n} for k, lab, n in columns],
                "rows": body,
            }
        )
    return out, frame


def _model_series(y: np.ndarray, mine: pd.DataFrame | None) -> dict[str, Any]:
    """A model's cumulative curve ``y`` (days 0..max_day) and RAM rows ``mine`` for the
    browser (thinned, rounded)."""
    days = np.nonzero(~np.isnan(y))[0]
    keep = _thin_days(days)
    out: dict[str, Any] = {
        "cum": {"d": days[keep].tolist(), "y": _round(y[days[keep]], 6)},
        "ram": {"d": [], "y": []},
    }
    if mine is not None and len(mine):
        rdays = mine["day"].to_numpy(dtype=np.int64)
        rkeep = _thin_days(rdays)
        out["ram"] = {"d": rdays[rkeep].tolist(), "y": _round(mine["ram"].to_numpy()[rkeep])}
    return out


def _fan_series(rows: pd.DataFrame | None, seen: pd.DataFrame | None) -> dict[str, Any]:
    """A forecast fan from the last scored day ``seen`` on, for the browser."""
    if rows is None or seen is None or rows.empty or seen.empty:
        return {}
    rows = rows[rows["ram_p50"].notna()].sort_values("horizon")
    if rows.empty:
        return {}
    day0, ram0 = int(seen["day"].iloc[-1]), float(seen["ram"].iloc[-1])
    return {
        "d": [day0, *rows["horizon"].astype(int).tolist()],
        **{
            k: _round(np.r_[ram0, rows[f"ram_{k}"].to_numpy(dtype=float)])
            for k in ("p10", "p50", "p90")
        },
    }


def _class_figures(
    data: ChartData, classes: list[str], defaults: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    out = {}
    for c in classes:
        ram = figures.ram_curves(data, defaults[c] or None, size_class=c, log_y=True)
        cum = figures.cumulative(data, defaults[c] or None, size_class=c, log_y=True)
        out[c] = {"ram": _fig_json(ram), "cumulative": _fig_json(cum)}
    return out


# -- the build -------------------------------------------------------------------------------


class _Writer:
    """Collects the site's files (relative POSIX paths) and writes them whole."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.written: list[str] = []

    def text(self, rel: str, content: str) -> None:
        path = self.out / PurePosixPath(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_text(path, content)
        self.written.append(rel)

    def csv_json(self, rel_stem: str, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
        path = self.out / PurePosixPath(rel_stem + ".csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.text(rel_stem + ".csv", frame.to_csv(index=False))
        body = {**meta, **_columns_rows(frame)}
        self.text(rel_stem + ".json", json.dumps(body, allow_nan=False) + "\n")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} exists and is not a folder; pass a folder to publish into")
    manifest = out / MANIFEST
    foreign = (out / "index.html").exists() or (out / "feed.xml").exists()
    if out.is_dir() and not manifest.exists() and foreign:
        raise BadInput(
            f"{out} holds a site that ram publish did not write (no {MANIFEST}); "
            "publish into an empty or new folder"
        )


def _previous_files(out: Path) -> list[str]:
    try:
        listed = json.loads((out / MANIFEST).read_text("utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [f for f in listed if isinstance(f, str)]


def _remove_stale(out: Path, previous: list[str], now: set[str]) -> int:
    removed = 0
    root = out.resolve()
    for rel in previous:
        if rel in now:
            continue
        path = (out / PurePosixPath(rel)).resolve()
        if root not in path.parents or not path.is_file():
            continue  # a manifest edited to point elsewhere: never delete outside OUT
        path.unlink()
        removed += 1
        parent = path.parent
        while parent != root and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


def publish(
    cfg: Config,
    db: Path,
    out: Path,
    *,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishSummary:
    """Build the site into ``out`` from the store ``db``; record new events in the store's
    ledger and send the unsent ones to ``publish.webhook_url`` (if set).  ``since`` limits the
    feed to events on or after it and starts the digest there (default: the week to as-of)."""
    started = time.monotonic()
    out = Path(out)
    _check_out(out)
    say = progress or (lambda _msg: None)
    settings = cfg.publish
    now = now or now_utc()

    say("computing RAM")
    an = api.analyse(cfg, db, as_of=as_of)
    data = ChartData.from_result(an.result, an.models, an.source)
    data.forecaster = lambda ids: api.fan(an, cfg, ids)
    table = data.table()
    every_day = an.result.scores(list(range(1, an.result.params.max_day + 1)))
    every_day = every_day.sort_values(["model_id", "day"], kind="stable")
    scored_ids = sorted(set(every_day["model_id"]))
    tracked = table.index[table["tracked"].astype(bool)]
    page_ids = sorted(set(tracked) & set(an.result.curves.model_ids))
    stems = unique_stems(page_ids)
    pages = {m: f"models/{s}.html" for m, s in stems.items()}

    say("deriving events")
    derived = events.derive(an)
    with Store.open(db) as store:
        ledger = store.record_events(derived, now)
    first = ledger.set_index("event_id")["first_published"]
    new_events = int((pd.to_datetime(first) >= pd.Timestamp(now.replace(tzinfo=None)).floor("s"))
                     .sum())  # fmt: skip
    in_feed = derived if since is None else derived[derived["event_date"] >= since]

    classes_all = cd.size_class_order(table)
    baseline_classes = set(an.result.baselines["size_class"])
    classes = [c for c in classes_all if c in baseline_classes]
    boards, board_frame = _leaderboards(an, classes, table, pages)
    defaults: dict[str, list[str]] = {}
    for c in classes:
        ids = board_frame.loc[board_frame["size_class"] == c, "model_id"].tolist()
        if not ids:
            latest = an.result.latest()
            ids = cd.recent_models(latest, table, DEFAULT_PICKS, size_class=c)
        defaults[c] = ids[:DEFAULT_PICKS]
    classes = [c for c in classes if defaults[c]]

    say(f"drawing charts of {len(classes)} size classes")
    class_figs = _class_figures(data, classes, defaults)
    region_fig = _fig_json(figures.calendar_region(data))
    org_fig = _fig_json(figures.calendar_org(data))
    fan = api.fan(an, cfg, page_ids) if page_ids else pd.DataFrame()
    counts = api.derivative_counts(db)
    fams = api.families_of(cfg, db)
    shares_fig = None
    if len(counts):
        data.derivative_shares = cd.derivative_shares(counts, table, an.as_of)
        names = sorted(set(counts["source"]))
        data.derivative_source = f"Hugging Face derivative counts ({', '.join(names)})"
        if not data.derivative_shares["org"].empty:
            shares_fig = _fig_json(figures.derivative_share(data, by="org"))

    previous = _previous_files(out)
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(out)
    export.write_plotlyjs(out)
    w.written.append(export.PLOTLYJS_FILE)
    static = resources.files("ram.publish") / "static"
    for name in ("site.js", "site.css"):
        w.text(f"assets/{name}", (static / name).read_text("utf-8"))

    meta = {
        "as_of": an.as_of.isoformat(),
        "source": an.source,
        "baseline": an.baseline_label,
        "method": "Relative Adoption Metric (The ATOM Project), docs/RAM_SPEC.md",
        "generated_by": f"ram-tracker {__version__}",
    }
    say("writing data files")
    w.csv_json("data/leaderboard", _dates(board_frame, "release_date"), meta)
    all_curves = _charted(an.result.curves.frame())
    charted = _charted(every_day)[RAM_DATA_COLUMNS]
    for c in classes:
        slug = _slug(c)
        members = set(table.index[table["size_class"] == c])
        part = charted[charted["model_id"].isin(list(members))]
        w.csv_json(f"data/ram-{slug}", part, {**meta, "size_class": c})
        curve = all_curves[all_curves["model_id"].isin(list(members))]
        base = an.result.baselines[an.result.baselines["size_class"] == c]
        w.csv_json(f"data/cumulative-{slug}", curve, {**meta, "size_class": c})
        w.csv_json(f"data/baseline-{slug}", base, {**meta, "size_class": c})
    curves = an.result.curves
    for by, keep in (("region", 0), ("org", 10)):
        frame = cd.calendar_by(curves.model_ids, curves.values, table, an.as_of, by, keep)
        w.csv_json(f"data/calendar-{by}", frame, meta)
    event_frame = in_feed.merge(ledger[["event_id", "first_published"]], on="event_id", how="left")
    w.csv_json("data/events", event_frame, meta)
    if data.derivative_shares is not None and shares_fig is not None:
        frame = data.derivative_shares["org"]
        w.csv_json("data/derivative-share-org", frame.assign(month=frame["month"].astype(str)),
                   {**meta, "source": data.derivative_source})  # fmt: skip

    say("writing the index")
    by_model = _groups(every_day)
    curve_row = {m: i for i, m in enumerate(an.result.curves.model_ids)}
    series_of = {
        m: _model_series(an.result.curves.values[curve_row[m]], by_model.get(m))
        for m in sorted(set(scored_ids) | set(page_ids))
    }
    models_js: dict[str, Any] = {}
    for m in scored_ids:
        if m not in table.index:
            continue
        series = series_of[m]
        models_js[m] = {
            "org": str(table.at[m, "org"]),
            "cls": str(table.at[m, "size_class"]),
            "tracked": bool(table.at[m, "tracked"]),
            "col": cs.org_color(str(table.at[m, "org"])),
            "page": pages.get(m),
            **series,
        }
    last = pd.Series(cd.last_values(curves.values), index=pd.Index(curves.model_ids))
    top10 = {}
    for c in classes:
        pool = table.index[table["tracked"].astype(bool) & (table["size_class"] == c)]
        ranked = last.reindex(pool).dropna().sort_values(ascending=False, kind="stable")
        top10[c] = [str(m) for m in ranked.index[: an.result.params.top_n]]
    site_js = {
        "asOf": an.as_of.isoformat(),
        "classes": classes,
        "defaults": defaults,
        "figs": class_figs,
        "region": region_fig,
        "org": org_fig,
        "config": export.CONFIG,
        "slugs": {c: _slug(c) for c in classes},
        "top10": top10,
        "shares": shares_fig,
    }
    for name, var, value in (
        ("site-data", "RAM_SITE", site_js),
        ("models", "RAM_MODELS", models_js),
    ):
        w.text(f"data/{name}.js", f"window.{var} = {json.dumps(value, allow_nan=False)};\n")

    env = _env()
    common = {
        "title": settings.title,
        "as_of": an.as_of.isoformat(),
        "source": an.source,
        "baseline": an.baseline_label,
        "version": __version__,
        "method": Markup(method_html(data)),
    }
    recent = in_feed.head(RECENT_EVENTS)
    recent_rows = [
        {"date": str(r.event_date), "kind": events.KINDS[r.kind], "title": r.title,
         "detail": r.detail, "href": pages.get(str(r.model_id))}
        for r in tuples(recent)
    ]  # fmt: skip
    index = env.get_template("index.html").render(
        **common,
        root="",
        classes=classes,
        slugs=site_js["slugs"],
        boards=boards,
        events=recent_rows,
        n_events=len(in_feed),
        provenance=Markup(provenance_html(data)),
        n_scored=len(models_js),
        has_shares=shares_fig is not None,
    )
    w.text("index.html", index)

    say(f"writing {len(page_ids)} model pages")
    milestones_of = _groups(api.scores_table(an))
    flags_of = _groups(an.flags)
    events_of = _groups(derived)
    fan_of = _groups(fan) if len(fan) else {}
    facts_of = an.models.set_index("model_id")
    empty_scores = every_day.iloc[:0]
    derivs_of = _groups(counts) if len(counts) else {}
    family_of = dict(zip(fams["model_id"], fams["family"], strict=True))
    members_of = {str(f): g for f, g in fams.groupby("family", sort=False)} if len(fams) else {}
    model_template = env.get_template("model.html")
    for m in page_ids:
        stem = stems[m]
        root = "../" * (stem.count("/") + 1)
        facts = facts_of.loc[m]
        mine = by_model.get(m, empty_scores)
        ms = milestones_of.get(m, empty_scores)
        my_flags = flags_of.get(m, an.flags.iloc[:0])
        my_events = events_of.get(m, derived.iloc[:0])
        payload = {
            "id": m,
            "cls": str(table.at[m, "size_class"]),
            "col": cs.org_color(str(table.at[m, "org"])),
            "fan": _fan_series(fan_of.get(m), mine),
            **series_of[m],
        }
        latest_day, latest_ram = (
            (int(mine["day"].iloc[-1]), float(mine["ram"].iloc[-1])) if len(mine) else (None, None)
        )
        badge_stem = f"badges/{stem}.json"
        milestone_badge = ms.dropna(subset=["ram"]).tail(1)
        b_day = int(milestone_badge["day"].iloc[0]) if len(milestone_badge) else None
        b_ram = float(milestone_badge["ram"].iloc[0]) if len(milestone_badge) else None
        w.text(badge_stem, json.dumps(badges.badge(b_day, b_ram)) + "\n")
        page_meta = {**meta, "model_id": m}
        w.csv_json(f"models/{stem}", _charted_one(mine)[RAM_DATA_COLUMNS[1:]], page_meta)
        w.text(
            f"models/{stem}.html",
            model_template.render(
                **common,
                root=root,
                model_id=m,
                name=m.split("/", 1)[-1],
                facts=_facts(facts, table.at[m, "size_class"]),
                milestones=[
                    {
                        "day": int(r.day),
                        "ram": r.ram,
                        "downloads": r.cumulative_downloads,
                        "baseline": r.baseline,
                        "flags": r.flags or "",
                    }
                    for r in tuples(ms)
                ],
                latest_day=latest_day,
                latest_ram=latest_ram,
                flags=[
                    {"flag": r.flag, "date": pd.Timestamp(r.obs_date).date(), "detail": r.detail}
                    for r in tuples(my_flags)
                ],
                events=[
                    {"date": str(r.event_date), "title": r.title, "detail": r.detail}
                    for r in tuples(my_events)
                ],
                derivatives=_latest_counts(derivs_of.get(m)),
                family=[
                    {
                        "model_id": r.model_id,
                        "role": r.role,
                        "evidence": r.evidence,
                        "href": root + pages[r.model_id] if r.model_id in pages else None,
                    }
                    for r in tuples(members_of.get(family_of.get(m, ""), fams.iloc[:0]))
                ],
                data_name=PurePosixPath(stem).name,
                badge=root + badge_stem,
                payload=_json_script(payload),
                has_fan=bool(payload["fan"]),
            ),
        )

    say("writing the feed, badges and digest")
    w.text(
        "feed.xml",
        feed.atom_feed(
            in_feed, pages, title=settings.title, as_of=an.as_of,
            site_url=settings.site_url, source=an.source,
        ).decode("utf-8"),
    )  # fmt: skip
    start = since or an.as_of - dt.timedelta(days=DIGEST_DAYS - 1)
    w.text(
        "digest.md",
        digest.digest(an, derived, pages, start=start, title=settings.title,
                      site_url=settings.site_url),
    )  # fmt: skip
    written = set(w.written)
    removed = _remove_stale(out, previous, written)
    manifest = {"generated_by": f"ram-tracker {__version__}", "as_of": an.as_of.isoformat(),
                "files": sorted(written)}  # fmt: skip
    files.write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")

    report = None
    if settings.webhook_url:
        say("sending events to the webhook")
        report = webhook.send(ledger, settings, pages, an.as_of, sleep=sleep)
        sent_at = now_utc()
        with Store.open(db) as store:
            store.mark_sent(report.sent, "sent", sent_at)
            store.mark_sent(report.too_old, "too old", sent_at)
            store.mark_sent(list(report.failed), "failed", sent_at)
    return PublishSummary(
        out=out,
        as_of=an.as_of,
        source=an.source,
        pages=len(page_ids),
        events=len(derived),
        new_events=new_events,
        feed_events=len(in_feed),
        files=len(written) + 1,
        removed=removed,
        digest_start=start,
        webhook=report,
        seconds=time.monotonic() - started,
        notes=api.stale_notes(an),
    )


def _latest_counts(rows: pd.DataFrame | None) -> list[dict[str, object]]:
    """A model page's derivative table: the last count of each relation and source."""
    if rows is None or rows.empty:
        return []
    last = rows.sort_values("obs_date").groupby(["relation", "source"], sort=True).tail(1)
    return [
        {"relation": r.relation, "n": int(r.n), "date": pd.Timestamp(r.obs_date).date(),
         "source": r.source}
        for r in tuples(last.sort_values(["source", "relation"]))
    ]  # fmt: skip


def _groups(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``frame``'s rows per model id, split once (not one scan per model)."""
    if frame.empty:
        return {}
    return {str(k): g for k, g in frame.groupby("model_id", sort=False)}


def _facts(row: pd.Series, size_class: object) -> list[tuple[str, str]]:
    def text(v: object) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)) or v is pd.NaT:
            return "unknown"
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat()
        return str(v)

    params = row.get("params_b")
    shown_params = (
        "unknown"
        if params is None or pd.isna(params)
        else f"{float(params):g}B ({text(row.get('params_source'))})"
    )
    return [
        ("Organisation", text(row.get("org"))),
        ("Size class", text(size_class)),
        ("Parameters", shown_params),
        ("Released", f"{text(row.get('release_date'))} ({text(row.get('release_source'))})"),
        ("Region", text(row.get("region"))),
        ("Tracked", text(row.get("tracked_reason"))),
        ("Last observed", text(row.get("last_obs"))),
    ]
