"""A reproducible install (issue 14): bounded majors, every import declared, pinned versions that
make uses, and no setuptools deprecation in the build metadata."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
DEV = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"]]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is no exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def test_build_metadata_uses_an_spdx_licence_string() -> None:
    # setuptools >= 77 warns (three times per install) about `license = { text = ... }`.
    assert isinstance(PROJECT["license"], str) and PROJECT["license"] == "Apache-2.0"
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert any(Requirement(r).name == "setuptools" and "77" in str(Requirement(r).specifier)
               for r in build)  # fmt: skip


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    unbounded = [str(r) for r in RUNTIME if not any(s.operator in ("<", "<=", "~=", "==")
                                                    for s in r.specifier)]  # fmt: skip
    assert unbounded == []


def test_every_third_party_import_is_declared() -> None:
    """Every module ram and collectors import from outside the standard library comes from a
    distribution listed in the dependencies (httpx2 was imported, never declared)."""
    declared = {canonicalize_name(r.name) for r in RUNTIME}
    providers = importlib.metadata.packages_distributions()
    missing = set()
    for path in [*ROOT.glob("ram/**/*.py"), *ROOT.glob("collectors/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".", 1)[0]
                if top in sys.stdlib_module_names or top in ("ram", "collectors"):
                    continue
                dists = {canonicalize_name(d) for d in providers.get(top, [top])}
                if not dists & declared:
                    missing.add(f"{path.relative_to(ROOT)}: {top}")
    assert missing == set()


def test_constraints_pin_every_dependency_within_its_bounds_and_make_uses_them() -> None:
    pins = _pins()
    for req in [*RUNTIME, *DEV]:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (str(req), pins[name])
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install[^\n]*-e", makefile)
    assert installs and all("-c constraints.txt" in line for line in installs)
