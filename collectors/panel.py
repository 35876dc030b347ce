"""Read a long panel of download counts (CSV, CSV.gz or Parquet), validating every row.

A panel is ``model_id,date`` plus any of ``downloads_all_time, downloads_30d, created_at,
params_b, pipeline_tag``.  The whole file is checked before anything is returned, so an import is
all-or-nothing; the first bad line is named in the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from collectors.repo_ids import REPO_ID_PATTERN
from ram.dates import FIRST_DAY, last_day
from ram.errors import BadPanel

REQUIRED = ("model_id", "date")
COUNTS = ("downloads_all_time", "downloads_30d")
OPTIONAL = (*COUNTS, "created_at", "params_b", "pipeline_tag")
_TAG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"  # a Hub pipeline tag: text-generation, image-text-to-text
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_INT = r"^\+?\d+(?:\.0*)?$"
# Counts parse as float64 once any cell has a decimal point; above 2**53 they would be rounded.
_MAX_COUNT = 2**53


@dataclass(frozen=True)
class Panel:
    """A validated panel: one observation per row and one row of facts per model."""

    observations: pd.DataFrame  # model_id, obs_date, downloads_all_time, downloads_30d
    models: pd.DataFrame  # model_id, created_at, params_b_reported, pipeline_tag
    path: Path

    @property
    def source(self) -> str:
        return f"panel:{_stem(self.path)}"


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet", ".pq", ".gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _read(path: Path) -> tuple[pd.DataFrame, int]:
    """The raw table as strings, and how many lines precede the first data row."""
    if not path.is_file():
        raise BadPanel(f"{path}: no such file; give the path of a CSV, CSV.gz or Parquet panel")
    lower = path.name.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            return pd.read_parquet(path).astype("string"), 0
        if lower.endswith((".csv", ".csv.gz", ".gz", ".txt")):
            frame = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
            return frame, 1
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadPanel(f"{path}: cannot be read as a panel ({first})") from None
    except Exception as exc:  # pyarrow raises its own error types for corrupt Parquet
        raise BadPanel(f"{path}: cannot be read as a panel ({type(exc).__name__})") from None
    raise BadPanel(f"{path}: unknown file type; use .csv, .csv.gz or .parquet")


def _where(path: Path, offset: int, index: int) -> str:
    return f"{path} line {index + offset + 1}" if offset else f"{path} row {index + 1}"


def _stripped(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    for col in raw.columns:
        raw[col] = raw[col].str.strip()
    return raw


def _checker(raw: pd.DataFrame, bad: list[tuple[int, str]]) -> Callable[[pd.Series, str], None]:
    """``check(mask, message)``: note the first row where ``mask`` holds (or is unknown), with
    ``message`` formatted on that row's values; the earliest noted row is the one reported."""

    def check(mask: pd.Series, message: str) -> None:
        hits = mask.fillna(True).to_numpy().nonzero()[0]
        if len(hits):
            i = int(hits[0])
            bad.append((i, message.format(value=raw.loc[i].to_dict())))

    return check


def _ids_and_dates(raw: pd.DataFrame, check: Callable[[pd.Series, str], None]) -> pd.Series:
    """Check ``model_id`` (org/name) and ``date`` (YYYY-MM-DD, from the Hub's first year to
    today in UTC); returns the dates parsed (NaT where bad)."""
    check(
        ~raw["model_id"].str.fullmatch(REPO_ID_PATTERN),
        "model_id {value[model_id]!r} is not a repo id org/name",
    )
    dates = raw["date"]
    parsed = pd.to_datetime(dates.where(dates.str.fullmatch(_DATE)), errors="coerce")
    check(parsed.isna(), "date {value[date]!r} is not a date YYYY-MM-DD")
    check(
        (parsed < pd.Timestamp(FIRST_DAY)).fillna(False),
        f"date {{value[date]!r}} is before {FIRST_DAY.year}, when the Hub began",
    )
    check(
        (parsed > pd.Timestamp(last_day())).fillna(False),
        "date {value[date]!r} is in the future (after today in UTC)",
    )
    return parsed


def read_panel(path: str | Path) -> Panel:
    """Read and validate a panel file; raise ``BadPanel`` naming the first bad line."""
    p = Path(path)
    raw, offset = _read(p)
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise BadPanel(f"{p}: missing column {missing[0]!r}; a panel needs model_id,date")
    unknown = [c for c in raw.columns if c not in (*REQUIRED, *OPTIONAL)]
    if unknown:
        raise BadPanel(
            f"{p}: unknown column {unknown[0]!r}; allowed: {', '.join((*REQUIRED, *OPTIONAL))}"
        )
    if not any(c in raw.columns for c in COUNTS):
        raise BadPanel(f"{p}: no count column; give downloads_all_time or downloads_30d")
    if raw.empty:
        raise BadPanel(f"{p}: no rows")
    raw = _stripped(raw)
    bad: list[tuple[int, str]] = []
    check = _checker(raw, bad)

    ids = raw["model_id"]
    parsed_dates = _ids_and_dates(raw, check)
    values: dict[str, pd.Series] = {}
    for col in (c for c in COUNTS if c in raw.columns):
        text = raw[col]
        ok = text.isna() | text.str.fullmatch(_INT).fillna(False)
        num = pd.to_numeric(text.where(ok), errors="coerce")
        check(
            ~ok | (num >= _MAX_COUNT).fillna(False),
            f"{col} {{value[{col}]!r}} is not a whole number from 0 to 2^53 - 1",
        )
        values[col] = num
    if len(values) and all(col in values for col in COUNTS):
        check(values[COUNTS[0]].isna() & values[COUNTS[1]].isna(), "no count in this row")
    elif values:
        only = next(iter(values))
        check(values[only].isna(), f"{only} is empty")
    created = None
    if "created_at" in raw.columns:
        text = raw["created_at"]
        created = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        check(text.notna() & created.isna(), "created_at {value[created_at]!r} is not a timestamp")
    params = None
    if "params_b" in raw.columns:
        text = raw["params_b"]
        params = pd.to_numeric(text, errors="coerce")
        check(
            text.notna() & ~((params > 0) & (params < float("inf"))).fillna(False),
            "params_b {value[params_b]!r} is not a number > 0",
        )
    tags = None
    if "pipeline_tag" in raw.columns:
        tags = raw["pipeline_tag"]
        check(
            tags.notna() & ~tags.str.fullmatch(_TAG).fillna(False),
            "pipeline_tag {value[pipeline_tag]!r} is not a Hub pipeline tag (text-generation, ...)",
        )
    if not bad:
        dup = pd.DataFrame({"m": ids, "d": parsed_dates}).duplicated(keep="first")
        check(dup, "model_id and date repeat an earlier line")
    if bad:
        i, message = min(bad)
        raise BadPanel(f"{_where(p, offset, i)}: {message}; nothing was imported")

    obs = pd.DataFrame(
        {
            "model_id": ids.astype(str),
            "obs_date": parsed_dates,
            "downloads_all_time": values.get("downloads_all_time"),
            "downloads_30d": values.get("downloads_30d"),
        }
    )
    for col in COUNTS:
        obs[col] = obs[col].astype("Int64") if obs[col].notna().any() else pd.NA
        obs[col] = obs[col].astype("Int64")
    facts = pd.DataFrame({"model_id": obs["model_id"]})
    facts["created_at"] = created if created is not None else pd.NaT
    facts["params_b_reported"] = params if params is not None else float("nan")
    facts["pipeline_tag"] = tags if tags is not None else None
    # The last non-empty value a model's rows give is its fact.
    models = facts.groupby("model_id", sort=True).last().reset_index()
    return Panel(observations=obs, models=models, path=p)


DERIVATIVE_COLUMNS = ("model_id", "date", "relation", "n")
# hub-docs model-cards.md (base_model relations) and ``all``: childrenModelCount's total
DERIVATIVE_RELATIONS = ("finetune", "adapter", "quantized", "merge", "all")


def read_derivative_panel(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read and validate a derivative-count file ``model_id,date,relation,n`` (one row per model,
    day and relation; ``n`` the cumulative count); ``BadPanel`` names the first bad line.
    Returns the rows (``model_id, obs_date, relation, n``) and the default source name."""
    p = Path(path)
    raw, offset = _read(p)
    raw.columns = [str(c).strip() for c in raw.columns]
    if list(raw.columns) != list(DERIVATIVE_COLUMNS):
        raise BadPanel(
            f"{p}: columns {', '.join(raw.columns) or 'none'}; a derivative file has exactly "
            f"{','.join(DERIVATIVE_COLUMNS)}"
        )
    if raw.empty:
        raise BadPanel(f"{p}: no rows")
    raw = _stripped(raw)
    bad: list[tuple[int, str]] = []
    check = _checker(raw, bad)

    parsed = _ids_and_dates(raw, check)
    check(
        ~raw["relation"].isin(DERIVATIVE_RELATIONS),
        "relation {value[relation]!r} is not one of " + ", ".join(DERIVATIVE_RELATIONS),
    )
    ok = raw["n"].str.fullmatch(_INT).fillna(False)
    n = pd.to_numeric(raw["n"].where(ok), errors="coerce")
    check(
        ~ok | (n >= _MAX_COUNT).fillna(False),
        "n {value[n]!r} is not a whole number from 0 to 2^53 - 1",
    )
    if not bad:
        dup = pd.DataFrame({"m": raw["model_id"], "d": parsed, "r": raw["relation"]}).duplicated()
        check(dup, "model_id, date and relation repeat an earlier line")
    if bad:
        i, message = min(bad)
        raise BadPanel(f"{_where(p, offset, i)}: {message}; nothing was imported")
    rows = pd.DataFrame(
        {
            "model_id": raw["model_id"].astype(str),
            "obs_date": parsed,
            "relation": raw["relation"].astype(str),
            "n": n.astype("int64"),
        }
    )
    return rows, f"panel:{_stem(p)}"
