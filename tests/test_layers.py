"""The one-way import rule of docs/ARCHITECTURE.md, checked on the source: no module imports a
layer above its own, not even lazily inside a function (``if TYPE_CHECKING`` imports, which never
run, are exempt), and SQL runs only in the store and the archive readers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Lowest first: a module may import its own layer and those below it.
LAYERS = [
    (
        "base",
        ["ram", "ram.errors", "ram.dates", "ram.duck", "ram.files", "ram.progress", "ram.cron"],
    ),
    ("collectors", ["collectors"]),
    ("config", ["ram.config"]),
    ("store", ["ram.store"]),
    ("metric", ["ram.metric"]),
    ("catalog", ["ram.catalog"]),
    ("api", ["ram.api", "ram.status", "ram.score_cache", "ram.derivatives", "ram.families"]),
    ("pipeline", ["ram.pipeline"]),
    ("charts", ["ram.charts"]),
    ("publish", ["ram.publish"]),
    ("cli", ["ram.cli"]),
]


def layer_of(module: str) -> int:
    best, found = -1, 0
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), level
    assert best >= 0, f"{module} is in no layer of LAYERS"
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import that can run, whatever its depth."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # "from ram.metric import formula" imports a module
                sub = f"{node.module}.{alias.name}"
                is_module = (ROOT / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*sub.split(".")) / "__init__.py"
                ).exists()
                found.append((node.lineno, sub if is_module else node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


SOURCES = sorted([*(ROOT / "ram").rglob("*.py"), *(ROOT / "collectors").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down_the_layers_only(path: Path) -> None:
    name = module_name(path)
    if name == "ram":  # the package's lazy public API may name any layer
        return
    own = layer_of(name)
    tree = ast.parse(path.read_text())
    upward = [
        f"line {line}: {target} ({LAYERS[layer_of(target)][0]})"
        for line, target in imports(tree)
        if target.split(".")[0] in ("ram", "collectors") and layer_of(target) > own
    ]
    assert not upward, f"{name} ({LAYERS[own][0]}) imports upward: {upward}"


# SQL as this code base writes it: upper-case keywords inside a string literal.
_SQL = re.compile(
    r"""["'][^"']*\b(?:SELECT\b[^"']*\bFROM|INSERT (?:OR REPLACE )?INTO|DELETE FROM|UPDATE \w+ SET"""
    r"""|CREATE (?:OR REPLACE )?(?:TABLE|VIEW|INDEX)|ALTER TABLE|COPY \(|SET \w+ =)"""
)
SQL_HOMES = ("ram/store/", "collectors/archive", "ram/duck.py")


def test_sql_runs_only_in_the_store_and_the_archive_readers() -> None:
    found = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if _SQL.search(p.read_text()) or re.search(r"\.(?:execute|sql)\(", p.read_text())
    ]
    outside = [f for f in found if not f.startswith(SQL_HOMES)]
    assert "ram/store/database.py" in found and not outside, outside
    assert _SQL.search("x = 'SELECT a FROM b'") and not _SQL.search("'Select the models from'")


def test_the_checker_sees_an_upward_import() -> None:
    """The rule can fail: a lazy import of the CLI inside a metric function is caught."""
    tree = ast.parse("def f():\n    from ram.cli.output import emit\n")
    assert [t for _, t in imports(tree)] == ["ram.cli.output"]
    assert layer_of("ram.cli.output") > layer_of("ram.metric.formula")
    hidden = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ram.api\n")
    assert [t for _, t in imports(hidden)] == ["typing"]
