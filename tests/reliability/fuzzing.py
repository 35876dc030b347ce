"""Hypothesis strategies for hostile input (config files, panel files, CLI arguments) and the one
rule every outcome must follow: a correct result, or a one-line ``Error:`` with exit code 2."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ram.config import Config
from tests.conftest import Result

FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples on every run: the suite stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXAMPLE_IDS = [
    "org0/model-0-7B", "org1/model-5-7B", "org2/model-10-7B", "org3/model-11-7B",
    "orgr/restated-9B", "orgw/window-only-8B", "orgx/mystery",
]  # fmt: skip
PROGRESS = ("reading ", "writing ")
TOP_COLUMNS = [
    "rank", "model_id", "size_class", "release_date", "day", "cumulative_downloads", "baseline",
    "ram",
]  # fmt: skip


def assert_one_line_error_or_ok(r: Result, *, help_ok: bool = False) -> None:
    """Exit 0, or exit 2 with one ``Error: ...`` line on stderr (after progress lines at most)."""
    assert "Traceback" not in r.err + r.out
    if r.code == 0:
        return
    if help_ok and r.code == 2 and r.err.startswith("Usage:"):
        return  # a group called without its subcommand shows its help, as click does
    assert r.code == 2, r
    *progress, last = r.err.strip().splitlines()
    assert last.startswith("Error: "), r.err
    # Before failing, an import may have said what it was doing ("reading FILE").
    assert all(line.startswith(PROGRESS) for line in progress), r.err
    assert r.out == ""


# -- YAML values and config files --------------------------------------------------------------

# Every setting at its default, as config.yaml shows them (commented out there).
BASE_CONFIG: dict[str, Any] = Config().model_dump(mode="json", exclude={"path"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "default", "coarse", "cutoff", "median", "5-10B", "17 6 * * *", "UTC"]),
    st.dates(),
)
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _key_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_key_paths(value, (*prefix, key)))
    return out


CONFIG_PATHS = _key_paths(BASE_CONFIG)


def _index(key: Any, items: list[Any]) -> bool:
    return isinstance(key, int) and 0 <= key < len(items)


def _parent(cfg: Any, path: tuple[Any, ...]) -> dict[Any, Any] | list[Any] | None:
    """The container holding ``path``'s last key, if an earlier mutation left it in place."""
    node = cfg
    for key in path[:-1]:
        present = key in node if isinstance(node, dict) else _index(key, node)
        if not present:
            return None
        node = node[key]
        if not isinstance(node, dict | list):
            return None
    return node


@st.composite
def mutated_configs(draw: st.DrawFn) -> Any:
    """The full default config with one to three keys replaced, deleted or joined by an unknown one."""
    cfg = copy.deepcopy(BASE_CONFIG)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(CONFIG_PATHS))
        parent, key = _parent(cfg, path), path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "unknown"]))
        if isinstance(parent, dict):
            if action == "unknown":
                parent[draw(st.text(min_size=1, max_size=8))] = draw(yaml_values)
            elif action == "delete":
                parent.pop(key, None)
            else:
                parent[key] = draw(yaml_values)
        elif isinstance(parent, list) and _index(key, parent):
            parent[key] = draw(yaml_values)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([[cfg], "just text", 42]))
    return cfg


ids_or_junk = st.sampled_from(EXAMPLE_IDS) | st.text(max_size=10)
ranges = st.lists(
    st.sampled_from([0.0, 0.5, 1.0, 5.0, 7.0, 10.0, 100.0, 1e300]), min_size=1, max_size=5
)


@st.composite
def size_schemes(draw: st.DrawFn) -> Any:
    bounds = sorted(set(draw(ranges)))
    labels = draw(
        st.lists(st.text(min_size=1, max_size=5), min_size=len(bounds), max_size=len(bounds))
    )
    scheme = [
        {"label": label, "min": low, "max": bounds[i + 1] if i + 1 < len(bounds) else None}
        for i, (label, low) in enumerate(zip(labels, bounds, strict=True))
    ]
    return (
        draw(st.sampled_from(["default", "coarse", "fine", []])) if draw(st.booleans()) else scheme
    )


@st.composite
def semantic_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly valid configs with extreme values: they reach the metric, not just validation."""
    days = st.integers(min_value=-2, max_value=4000)
    sections = {
        "ram": st.fixed_dictionaries(
            {},
            optional={
                "method": st.sampled_from(["cutoff", "median", "mean"]),
                "top_n": st.integers(-1, 1200),
                "max_gap_days": st.integers(-1, 400),
                "max_day": days,
                "milestones": st.lists(days, max_size=4),
            },
        ),
        "sizes": st.fixed_dictionaries({"scheme": size_schemes()}),
        "tracking": st.fixed_dictionaries(
            {},
            optional={
                "use_catalog": st.booleans(),
                "min_downloads": st.none() | st.integers(-1, 10**12),
                "include": st.lists(ids_or_junk, max_size=3),
                "exclude": st.lists(ids_or_junk, max_size=3),
                "release_dates": st.dictionaries(
                    ids_or_junk, st.dates() | st.text(max_size=6), max_size=3
                ),
                "params_b": st.dictionaries(
                    ids_or_junk, st.floats(allow_nan=True, allow_infinity=True), max_size=3
                ),
                "reject_patterns": st.lists(
                    st.sampled_from(["7B", "org[0-2]", "(", "^orgw/", ".*"]), max_size=3
                ),
                "pipeline_tags": st.lists(st.text(max_size=6), max_size=2),
                "orgs": st.dictionaries(
                    st.sampled_from(["org0", "orgx", "new"]),
                    st.sampled_from(["us", "china", "mars"]),
                    max_size=2,
                ),
            },
        ),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(sections)), unique=True, min_size=1))
    return {name: draw(sections[name]) for name in chosen}


raw_config_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["ram: [", "ram:\n\tmethod: cutoff", "{{{", "- a\n- b", "ram: !!python/object:os.system x"]
    ),
)


def config_file_text(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


# -- panel files -------------------------------------------------------------------------------

PANEL_OPTIONAL = ["downloads_all_time", "downloads_30d", "created_at", "params_b"]
_small, _huge = st.integers(0, 10**6), st.integers(2**50, 2**53 - 1)  # exact in a float64
_whole = _small | _huge
_valid = {
    "model_id": st.sampled_from([*EXAMPLE_IDS, "fz/new-7B", " fz/new-7B ", "FZ/other-1B"]),
    # From the Hub's first year to a day that is past whenever the suite runs.
    "date": st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2026, 6, 30)).map(str),
    "downloads_all_time": st.tuples(_whole, st.sampled_from(["{}", "{}.0", "+{}", " {} "])).map(
        lambda t: t[1].format(t[0])
    ),
    "created_at": st.sampled_from(["", "2025-01-01T00:00:00Z", "2025-01-01", "2024-12-31T23:59"]),
    "params_b": st.sampled_from(["", "7", "0.5", "1e3", "235"]),
}
_valid["downloads_30d"] = _valid["downloads_all_time"]
_hostile = {
    "model_id": st.text(max_size=12)
    | st.sampled_from(["", "a/b'; DROP TABLE models; --", "x/y/z"]),
    "date": st.text(max_size=10)
    | st.sampled_from(["", "2025-02-30", "2025-1-1", "20250101", "2025-01-01T00:00", "0001-01-01"])
    | st.sampled_from(["0000-01-01", "2015-12-31", "2099-01-01", "9999-12-31"]),
    "downloads_all_time": st.text(max_size=6)
    | st.integers(min_value=2**53, max_value=2**70).map(str)
    | st.sampled_from(["", "-1", "1e3", "12.5", "NaN", "0x10", "½", "9007199254740993.5"]),
    "created_at": st.text(max_size=8) | st.sampled_from(["yesterday", "2025-13-01", "99999-01-01"]),
    "params_b": st.text(max_size=5) | st.sampled_from(["0", "-3", "nan", "inf", "1e400", "seven"]),
}
_hostile["downloads_30d"] = _hostile["downloads_all_time"]


@st.composite
def panel_texts(draw: st.DrawFn) -> tuple[str, bool]:
    """CSV panels and whether they are valid: half are (some with huge counts), half have a few
    hostile cells or a broken header."""
    columns = ["model_id", "date", *draw(st.lists(st.sampled_from(PANEL_OPTIONAL), unique=True))]
    broken = draw(st.integers(0, 3))  # 0, 1: valid; 2: hostile cells; 3: hostile header
    if broken == 3:
        if draw(st.booleans()):
            columns.remove(draw(st.sampled_from(columns)))
        else:
            columns.append(draw(st.sampled_from(["extra", "model_id", "Date", ""])))
    columns = draw(st.permutations(columns))
    if not any(c.startswith("downloads") for c in columns) and broken < 2:
        columns.append("downloads_30d")
    cells = {c: _valid.get(c, st.text(max_size=5)) for c in columns}
    rows = draw(st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=6))
    if broken < 2:  # a repeated (model_id, date) is invalid: keep the first of each
        unique: dict[tuple[str, str], dict[str, str]] = {}
        for row in rows:
            unique.setdefault((row["model_id"].strip(), row["date"]), row)
        rows = list(unique.values())
    if broken == 2:
        for _ in range(draw(st.integers(1, 2))):
            row, column = draw(st.sampled_from(rows)), draw(st.sampled_from(columns))
            row[column] = draw(_hostile.get(column, st.text(max_size=5)))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[row[c] for c in columns] for row in rows])
    return buf.getvalue(), broken < 2


# -- CLI arguments -----------------------------------------------------------------------------

_int_text = st.integers(min_value=-(10**30), max_value=10**30).map(str) | st.sampled_from(
    ["0", "1", "30", "730", "731", "99999999999999999999", "x", "", "3.5", "-0"]
)
_free_text = st.text(max_size=16) | st.sampled_from(
    ["5-10B", "<1B", "unknown", "org0", "table", "csv", "json", "cutoff", "median", "2026-03-01",
     "0001-01-01", "9999-12-31", "2026-02-30", "org0/model-0-7B", "ORG0/MODEL-0-7B"]
)  # fmt: skip
_option = st.one_of(
    st.tuples(st.sampled_from(["--day", "-d", "--limit", "-n"]), _int_text),
    st.tuples(
        st.sampled_from(
            ["--size-class", "-c", "--org", "--format", "-f", "--method", "--baseline", "--as-of"]
        ),
        _free_text,
    ),
    st.tuples(st.sampled_from(["--latest", "--help", "--bogus", "-"])),
    st.tuples(_free_text),
)
_command = st.sampled_from(
    [["top"], ["score"], ["scores"], ["models"], ["baseline"], ["status"], ["import", "panel"],
     ["import"], [], ["nope"], ["--version"]]
)  # fmt: skip


@st.composite
def cli_argvs(draw: st.DrawFn) -> list[str]:
    """A command and up to five options, values and stray words in any order."""
    extra = [word for option in draw(st.lists(_option, max_size=5)) for word in option]
    return [*draw(_command), *extra]
