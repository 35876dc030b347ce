"""config.yaml validation: defaults, and one-line errors that name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ram.config import Config, load_config, parse_config
from ram.errors import ConfigError
from tests.conftest import ROOT


def test_shipped_config_equals_the_built_in_defaults() -> None:
    shipped = load_config(ROOT / "config.yaml")

    assert shipped.model_dump(exclude={"path"}) == Config().model_dump(exclude={"path"})


def _keys(data: object, prefix: str = "") -> set[str]:
    if not isinstance(data, dict):
        return {prefix}
    if not data:  # an empty mapping (orgs: {}) is a value, not a section
        return {prefix}
    return {k for key, value in data.items() for k in _keys(value, f"{prefix}{key}.")}


def test_the_defaults_shown_in_config_yaml_are_the_codes() -> None:
    """config.yaml shows every setting with its default, commented out (``#key: value``, prose
    behind ``##``); the
    defaults themselves live only in ram/config.py.  What it shows must be what the code uses,
    and it must show every setting."""
    lines = (ROOT / "config.yaml").read_text().splitlines()
    shown = yaml.safe_load(
        "\n".join(line[1:] for line in lines if line.startswith("#") and not line.startswith("##"))
    )
    code = Config().model_dump(mode="json", exclude={"path"})

    assert parse_config(shown).model_dump(mode="json", exclude={"path"}) == code
    assert _keys(shown) == _keys(code)


def test_db_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("storage:\n  db: data/x.duckdb\n")
    cfg = load_config(cfg_file)

    assert cfg.db_path() == tmp_path / "data" / "x.duckdb"
    monkeypatch.setenv("RAM_DB", "/env/db.duckdb")
    assert cfg.db_path() == Path("/env/db.duckdb")
    assert cfg.db_path("/flag.duckdb") == Path("/flag.duckdb")


def test_size_schemes() -> None:
    assert [c[0] for c in parse_config({"sizes": {"scheme": "coarse"}}).size_scheme()] == [
        "<1B",
        "1-9B",
        "10-99B",
        "100B+",
    ]
    custom = parse_config(
        {
            "sizes": {
                "scheme": [
                    {"label": "small", "min": 0, "max": 8},
                    {"label": "big", "min": 8, "max": None},
                ]
            }
        }
    )
    assert custom.size_scheme() == (("small", 0.0, 8.0), ("big", 8.0, None))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ram": {"top_m": 3}}, "ram.top_m: unknown key"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"ram": {"top_n": "ten"}}, "ram.top_n: Input should be a valid integer"),
        ({"ram": {"top_n": 0}}, "ram.top_n: Input should be greater than or equal to 1"),
        ({"ram": {"method": "mean"}}, "ram.method: Input should be 'cutoff' or 'median'"),
        (
            {"storage": {"lock_wait_seconds": -1}},
            "storage.lock_wait_seconds: Input should be greater than or equal to 0",
        ),
        ({"ram": {"milestones": [0, 30]}}, "milestones: day 0 is outside 1..max_day"),
        ({"tracking": {"reject_patterns": ["(unclosed"]}}, "bad regular expression '(unclosed'"),
        ({"tracking": {"include": ["not-a-repo"]}}, "'not-a-repo' is not a repo id"),
        ({"tracking": {"orgs": {"Qwen": "mars"}}}, "tracking.orgs.Qwen: Input should be"),
        ({"tracking": {"params_b": {"a/b": -1}}}, "parameters of a/b must be > 0"),
        ({"tracking": {"release_dates": {"a/b": "last week"}}}, "tracking.release_dates.a/b"),
        ({"schedule": {"cron": "daily"}}, "schedule.cron: a cron line has 5 fields"),
        ({"schedule": {"cron": "0 0 31 2 *"}}, "schedule.cron: '0 0 31 2 *' never fires"),
        ({"schedule": {"cron": "61 * * * *"}}, "schedule.cron: minute '61' is not 0-59"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "schedule.timezone: 'Mars/Olympus' is not"),
        ({"ram": {"top_n": True}}, "ram.top_n: Input should be a valid integer"),
        ({"ram": {"milestones": [30, False]}}, "ram.milestones.1: Input should be a valid integer"),
        (
            {"tracking": {"params_b": {"a/b": float("inf")}}},
            "params_b.a/b: Input should be a finite",
        ),
        ({"tracking": {"params_b": {"a/b": True}}}, "params_b.a/b: Input should be a valid number"),
        (
            {"tracking": {"use_catalog": "yes"}},
            "tracking.use_catalog: Input should be a valid bool",
        ),
        (
            {
                "sizes": {
                    "scheme": [
                        {"label": "a", "min": 0, "max": 5},
                        {"label": "b", "min": 6, "max": None},
                    ]
                }
            },
            "ranges must touch",
        ),
        ({"sizes": {"scheme": "tiny"}}, "sizes.scheme"),
        (["a", "list"], "the top level must be a mapping"),
    ],
)
def test_bad_values_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "cfg.yaml")

    text = str(err.value)
    assert text.startswith("cfg.yaml: ")
    assert message in text
    assert "\n" not in text


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("ram:\n  top_n: 10\n  method: [cutoff\n")

    with pytest.raises(ConfigError, match=r"config.yaml: line \d+ is not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tracking:\n  release_dates:\n    a/b: 2026-02-30\n",
            "line 3: '2026-02-30' is not a real",
        ),
        ("ram:\n  top_n: 5\n  method: cutoff\n  top_n: 7\n", "line 4: key 'top_n' is given twice"),
        ("ram: {top_n: 5}\nram: {top_n: 7}\n", "line 2: key 'ram' is given twice"),
    ],
)
def test_impossible_dates_and_repeated_keys_name_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text(text)

    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(err.value) == f"{bad}: {message}" + str(err.value).split(message, 1)[1]
    assert str(err.value).endswith("; fix it")


def test_yaml_merge_keys_still_override(tmp_path: Path) -> None:
    good = tmp_path / "config.yaml"
    good.write_text("base: &b {top_n: 5, method: median}\nram:\n  <<: *b\n  top_n: 7\n")
    with pytest.raises(ConfigError, match="base: unknown key"):  # merged, not refused as twice
        load_config(good)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_no_config_file_means_defaults(tmp_path: Path) -> None:
    assert load_config() == Config()


@pytest.mark.parametrize("key", ["\r", " ", "a\nb"])
def test_an_unknown_key_that_does_not_print_is_quoted(key: str) -> None:
    """Found by the config fuzzer: a key "\\r" gave "config: : unknown key" (and a key with a
    newline two lines)."""
    with pytest.raises(ConfigError) as err:
        parse_config({"ram": {key: 1}})
    assert str(err.value) == f"config: ram.{key!r}: unknown key; fix or remove it"
    assert len(str(err.value).splitlines()) == 1
