"""Load and validate ``config.yaml``, the single source of settings, once at the boundary."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from collectors.repo_ids import REPO_ID_PATTERN
from ram.errors import BadInput, ConfigError

CONFIG_ENV = "RAM_CONFIG"
DB_ENV = "RAM_DB"
REPO_ID = re.compile(REPO_ID_PATTERN)
# What a size class or region is when it cannot be known (RAM_SPEC §1): never in a pool.
UNKNOWN = "unknown"
# Regions in the order the charts stack them.
REGIONS = ("china", "us", "eu", "other", UNKNOWN)
METHODS = ("cutoff", "median")
# RAM_SPEC §6 parameters: the defaults of ``ram:`` in config.yaml and of ``metric.RamParams``.
DEFAULT_METHOD: Literal["cutoff", "median"] = "cutoff"
DEFAULT_TOP_N = 10
DEFAULT_MAX_GAP_DAYS = 14
DEFAULT_MAX_DAY = 730
DEFAULT_MILESTONES = (7, 14, 30, 60, 90, 180, 365)
# docs/FORECAST_SPEC.md §2, §4, §5.
DEFAULT_MIN_REFERENCE = 20
DEFAULT_MIN_INTERVAL = 10
DEFAULT_HORIZONS = (90, 180, 365)
DEFAULT_BACKTEST_DAYS = (7, 14, 30, 60)
SizeRanges = tuple[tuple[str, float, float | None], ...]
DEFAULT_SCHEME: SizeRanges = (
    ("<1B", 0.0, 1.0),
    ("1-5B", 1.0, 5.0),
    ("5-10B", 5.0, 10.0),
    ("10-50B", 10.0, 50.0),
    ("50-100B", 50.0, 100.0),
    ("100-250B", 100.0, 250.0),
    ("250B+", 250.0, None),
)
COARSE_SCHEME: SizeRanges = (
    ("<1B", 0.0, 1.0),
    ("1-9B", 1.0, 10.0),
    ("10-99B", 10.0, 100.0),
    ("100B+", 100.0, None),
)
# (label, pattern): copies, not first-party releases.  The label is what ``ram models`` says.
REJECT_RULES = (
    (
        "a re-upload format",
        r"(?:^|[-_/.])(?:gguf|mlx|mlc|onnx|awq|gptq|exl2|quantized)(?:$|[-_/.])",
    ),
    ("a quantised copy", r"(?:^|[-_/.])(?:[2-8]bit|int[48]|bnb-4bit|q4f16_1)(?:$|[-_/.])"),
    (
        "a re-uploader namespace",
        r"^(?:unsloth|unslothai|bartowski|mradermacher|lmstudio-community|thebloke|maziyarpanahi"
        r"|mlx-community|quantfactory|neuralmagic|hugging-quants|modularai)/",
    ),
)
# Not LLMs or VLMs (RAM_SPEC §3: the pool holds LLMs and VLMs only); with screen_catalog they
# screen ATOM's catalog entries too.
MODALITY_RULES = (
    ("a safety classifier", r"guard"),
    ("a reward model", r"reward|(?:^|[-_/.])(?:prm|rm)(?:$|[-_/.])"),
    (
        "an embedding or rerank model",
        r"(?:^|[-_/.])(?:embed|embedding|embeddings|rerank|reranker|e5|bge|gte)(?:$|[-_/.])",
    ),
    (
        "a speech model",
        r"(?:^|[-_/.])(?:whisper|tts|asr|speech|wav2vec2?|hubert|parler|musicgen)(?:$|[-_/.])",
    ),
    (
        "a vision encoder or classifier",
        r"(?:^|[-_/.])(?:vit|clip|siglip2?|dinov2|deit|convnext|segformer|sam|detr|yolo[a-z0-9]*"
        r"|classifier)(?:$|[-_/.])",
    ),
    # ImageNet classifiers are named by their label set: MambaVision-T-1K, ijepa_vith14_22k.
    ("an ImageNet classifier", r"(?:^|[-_/.])(?:in)?(?:1k|21k|22k)(?:$|[-_/.])"),
    (
        "a generator or codec part",
        r"(?:^|[-_/.])(?:cogvideox|hunyuan3d|stable-diffusion|sdxl|tokenizer|vocoder"
        r"|voice-decoder|mingtok)(?:$|[-_/.])",
    ),
    (
        "an earth-observation model",
        r"(?:^|[-_/.])(?:prithvi|satellite|geospatial|weather|climate|sentinel|landsat)(?:$|[-_/.])",
    ),
)
DEFAULT_REJECT_PATTERNS = tuple(pattern for _, pattern in REJECT_RULES)
DEFAULT_MODALITY_PATTERNS = tuple(pattern for _, pattern in MODALITY_RULES)
PATTERN_LABELS = {pattern: label for label, pattern in (*REJECT_RULES, *MODALITY_RULES)}


# Strict: YAML's ``true`` is no number (lax pydantic reads it as 1) and ``.inf`` no size.
Int = Annotated[int, Strict()]
Num = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Storage(_Section):
    db: str = "snapshots/ram.duckdb"
    # How long a write (snapshot, import, backfill) waits for other processes to let go of the
    # file before it fails; readers make way for a waiting writer (ram.store.database.connect).
    lock_wait_seconds: Num = Field(default=60.0, ge=0, le=3600)


class Tracking(_Section):
    use_catalog: Flag = True
    orgs: dict[str, Literal["us", "china", "eu", "other", "unknown"]] = Field(default_factory=dict)
    pipeline_tags: tuple[str, ...] = ("text-generation", "image-text-to-text")
    reject_patterns: tuple[str, ...] = DEFAULT_REJECT_PATTERNS
    modality_patterns: tuple[str, ...] = DEFAULT_MODALITY_PATTERNS
    screen_catalog: Flag = True
    min_downloads: Int | None = Field(default=100, ge=0)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    release_dates: dict[str, dt.date] = Field(default_factory=dict)
    params_b: dict[str, Num] = Field(default_factory=dict)

    @field_validator("reject_patterns", "modality_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"bad regular expression {p!r}: {exc}") from None
        return patterns

    @field_validator("include", "exclude")
    @classmethod
    def _repo_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for i in ids:
            if not REPO_ID.match(i):
                raise ValueError(f"{i!r} is not a repo id of the form org/name")
        return ids

    @field_validator("params_b")
    @classmethod
    def _positive(cls, values: dict[str, float]) -> dict[str, float]:
        for k, v in values.items():
            if not v > 0:
                raise ValueError(f"parameters of {k} must be > 0 (billions)")
        return values


class SizeRange(_Section):
    label: str = Field(min_length=1)
    min: Num = Field(ge=0)
    max: Num | None = None


class Sizes(_Section):
    scheme: Literal["default", "coarse"] | tuple[SizeRange, ...] = "default"

    @field_validator("scheme")
    @classmethod
    def _ordered(cls, scheme: Any) -> Any:
        if isinstance(scheme, str):
            return scheme
        if not scheme:
            raise ValueError("a size scheme needs at least one range")
        labels = [r.label for r in scheme]
        if len(set(labels)) != len(labels) or UNKNOWN in labels:
            raise ValueError("labels must be unique and not 'unknown'")
        for a, b in itertools.pairwise(scheme):
            if a.max is None or a.max != b.min:
                raise ValueError(f"ranges must touch: {a.label} ends where {b.label} starts")
        for r in scheme:
            if r.max is not None and r.max <= r.min:
                raise ValueError(f"range {r.label}: max must be above min")
        return scheme


class RamSettings(_Section):
    method: Literal["cutoff", "median"] = DEFAULT_METHOD
    top_n: Int = Field(default=DEFAULT_TOP_N, ge=1, le=1000)
    max_gap_days: Int = Field(default=DEFAULT_MAX_GAP_DAYS, ge=1, le=365)
    max_day: Int = Field(default=DEFAULT_MAX_DAY, ge=1, le=3650)
    milestones: tuple[Int, ...] = DEFAULT_MILESTONES
    # RAM_SPEC §3: fewer defined pool curves than this on a day make that baseline cell thin
    # (None: 2 x top_n).  §1: a longer gap between createdAt and the first downloads, with
    # evidence the repo was not public, moves day 0 to the first downloads.
    min_pool: Int | None = Field(default=None, ge=1, le=100_000)
    private_gap_days: Int = Field(default=7, ge=0, le=3650)

    @model_validator(mode="after")
    def _milestones_in_range(self) -> RamSettings:
        if not self.milestones:
            raise ValueError("milestones: give at least one day")
        for m in self.milestones:
            if not 1 <= m <= self.max_day:
                raise ValueError(f"milestones: day {m} is outside 1..max_day ({self.max_day})")
        return self


class Collector(_Section):
    max_workers: Int = Field(default=4, ge=1, le=32)
    request_budget: Int = Field(default=5000, ge=1)


class Schedule(_Section):
    cron: str = "17 6 * * *"
    timezone: str = "UTC"
    misfire_grace_seconds: Int = Field(default=3600, ge=1)
    # After each good snapshot, ``ram publish`` into this directory (None: do not publish).
    publish_to: str | None = None

    @field_validator("cron")
    @classmethod
    def _crontab(cls, cron: str) -> str:
        from ram.cron import parse_crontab

        parse_crontab(cron)  # its ValueError names the bad field, or says it never fires
        return cron

    @field_validator("timezone")
    @classmethod
    def _zone(cls, timezone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{timezone!r} is not a known time zone; use e.g. UTC") from None
        return timezone


class ForecastSettings(_Section):
    # Fewer same-class reference models than this: the reference set is every class's
    # (FORECAST_SPEC §2), and the forecast says so (fallback).
    min_reference: Int = Field(default=DEFAULT_MIN_REFERENCE, ge=1, le=100_000)
    # Fewer references than this: only the median; no p10-p90 interval and no P(top 10), which
    # a handful of ratios cannot give honestly (FORECAST_SPEC §3, measured in §4's backtest).
    min_interval: Int = Field(default=DEFAULT_MIN_INTERVAL, ge=1, le=100_000)
    horizons: tuple[Int, ...] = DEFAULT_HORIZONS
    backtest_days: tuple[Int, ...] = DEFAULT_BACKTEST_DAYS

    @field_validator("horizons", "backtest_days")
    @classmethod
    def _days(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days or any(d < 1 for d in days):
            raise ValueError("give at least one day, each 1 or more")
        return days


class Charts(_Section):
    default_models: Int = Field(default=8, ge=1, le=50)
    png_scale: Num = Field(default=2, gt=0, le=8)


# families.suffixes: the precision/format endings of a first-party variant's name (any case).
DEFAULT_FAMILY_SUFFIXES = (
    "FP8", "FP8-Dynamic", "FP8-Static", "NVFP4", "MXFP4", "FP4", "W4A16", "W8A8", "W8A16",
    "INT4", "INT8", "AWQ", "GPTQ", "GPTQ-Int4", "GPTQ-Int8", "BF16", "MLX", "MLX-4bit",
    "MLX-8bit", "bnb-4bit", "4bit", "8bit", "GGUF",
)  # fmt: skip


class Derivatives(_Section):
    # ram snapshot: one childrenModelCount request per due tracked model (see docs).
    collect: Flag = True
    daily_until_days: Int = Field(default=180, ge=0, le=3650)  # younger: daily; older: weekly
    max_requests: Int = Field(default=500, ge=0, le=100_000)  # per snapshot; the rest wait
    # RAM over derivative counts joins points up to this far apart (a monthly source's).
    max_gap_days: Int = Field(default=35, ge=1, le=365)


class Families(_Section):
    suffixes: tuple[str, ...] = DEFAULT_FAMILY_SUFFIXES
    include_gguf: Flag = False  # every .gguf file download counts: off keeps totals comparable

    @field_validator("suffixes")
    @classmethod
    def _names(cls, suffixes: tuple[str, ...]) -> tuple[str, ...]:
        for s in suffixes:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", s):
                raise ValueError(f"{s!r} is not a name suffix (letters, digits, '.', '_', '-')")
        return suffixes


def _http_url(url: str | None) -> str | None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    return url


class Publish(_Section):
    # Where the site is served (e.g. https://USER.github.io/REPO/): makes the feed's and the
    # digest's links absolute.  None: links relative to the site's folder.
    site_url: str | None = None
    title: str = Field(default="Open-model adoption on the Hugging Face Hub", min_length=1)
    # Events (crossings, top-10 entries, new releases, flags) are POSTed here as JSON, each once.
    webhook_url: str | None = None
    # On the first send (or after an outage), events older than this are not sent, only listed.
    webhook_max_age_days: Int = Field(default=7, ge=0, le=3650)
    webhook_timeout_seconds: Num = Field(default=10, gt=0, le=300)
    webhook_retries: Int = Field(default=3, ge=0, le=10)

    _urls = field_validator("site_url", "webhook_url")(_http_url)


class Archive(_Section):
    columns: dict[str, str] = Field(default_factory=dict)
    # A Hub backfill day with fewer rows than this share of its neighbours' median is a
    # truncated upload and is left out (reported, never filled in).
    min_rows_ratio: Num = Field(default=0.9, gt=0, le=1)
    # ram backfill of local files: also count each tracked model's derivatives from every
    # row's base_model tags (the tags column of all rows: about +30% time per file, measured in
    # benchmarks/backfill_local.py); remote (--hub) reads never fetch the tags column.
    derivatives: Flag = False

    @field_validator("columns")
    @classmethod
    def _layout(cls, columns: dict[str, str]) -> dict[str, str]:
        if columns:  # the archive readers own the layout (and pyarrow): only load them if needed
            from collectors.archive_columns import column_problem

            problem = column_problem(columns)
            if problem is not None:
                raise ValueError(problem)
        return columns


class Config(_Section):
    storage: Storage = Storage()
    tracking: Tracking = Tracking()
    sizes: Sizes = Sizes()
    ram: RamSettings = RamSettings()
    collector: Collector = Collector()
    schedule: Schedule = Schedule()
    forecast: ForecastSettings = ForecastSettings()
    charts: Charts = Charts()
    archive: Archive = Archive()
    publish: Publish = Publish()
    derivatives: Derivatives = Derivatives()
    families: Families = Families()
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _forecast_days_in_range(self) -> Config:
        last = self.ram.max_day
        for name in ("horizons", "backtest_days"):
            for d in getattr(self.forecast, name):
                if d > last:
                    raise ValueError(f"forecast.{name}: day {d} is after ram.max_day ({last})")
        return self

    def db_path(self, override: str | Path | None = None) -> Path:
        """The database: ``--db`` beats ``RAM_DB`` beats ``storage.db`` (relative to the file)."""
        chosen = override or os.environ.get(DB_ENV)
        if chosen:
            p, origin = Path(chosen).expanduser(), "--db" if override else DB_ENV
        else:
            p, origin = Path(self.storage.db).expanduser(), "storage.db"
            if not p.is_absolute() and self.path is not None:
                p = self.path.parent / p
        if not p.name or p.is_dir():  # Typer turns --db "" into Path("."), a folder
            what = "is empty" if not str(chosen or self.storage.db).strip() else f"{p} is a folder"
            raise BadInput(f"{origin} {what}; give a database file such as snapshots/ram.duckdb")
        return p

    def size_scheme(self) -> tuple[tuple[str, float, float | None], ...]:
        """The configured size classes as ``(label, min, max)`` half-open ranges in billions."""
        s = self.sizes.scheme
        if s == "default":
            return tuple(DEFAULT_SCHEME)
        if s == "coarse":
            return tuple(COARSE_SCHEME)
        assert not isinstance(s, str)
        return tuple((r.label, r.min, r.max) for r in s)


def _first_error(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors()[0]
    # A key may be blank or hold control characters ("\r"): quoted, it stays visible, one line.
    key = ".".join(
        str(p) if str(p).isprintable() and str(p).strip() else repr(str(p)) for p in err["loc"]
    )
    key = key or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return ConfigError(f"{source}: {key}: {msg}; fix or remove it")


def parse_config(data: Any, source: str = "config") -> Config:
    """Validate a mapping (as read from YAML) into a ``Config``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None


def find_config(explicit: str | Path | None = None) -> Path | None:
    """``--config`` beats ``RAM_CONFIG`` beats ``./config.yaml``; None means built-in defaults."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        p = Path(chosen).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist; pass an existing --config file")
        return p
    local = Path("config.yaml")
    return local if local.is_file() else None


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice and an impossible date (2026-02-30),
    as ``ConstructorError`` with the line, instead of keeping the last or raising ValueError."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):  # unhashable: the constructor below reports it
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=True)


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date (YYYY-MM-DD)", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the config file (or built-in defaults when there is none)."""
    p = find_config(path)
    if p is None:
        return Config()
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        if isinstance(exc, yaml.constructor.ConstructorError) and exc.problem:
            raise ConfigError(f"{p}:{where}: {exc.problem}; fix it") from None
        raise ConfigError(f"{p}:{where} is not valid YAML; fix the syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot be read ({exc.__class__.__name__})") from None
    cfg = parse_config(raw, str(p))
    return cfg.model_copy(update={"path": p.resolve()})
