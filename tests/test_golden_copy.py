"""The repo's copy of the worked example equals shared/ram-example when that is beside the repo."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLE, SHARED


@pytest.mark.skipif(not (SHARED / "ram-example").is_dir(), reason="no ../shared beside the repo")
def test_copy_matches_shared() -> None:
    names = sorted(p.name for p in (SHARED / "ram-example").iterdir())
    assert names == sorted(p.name for p in EXAMPLE.iterdir())
    for name in names:
        assert (EXAMPLE / name).read_bytes() == (SHARED / "ram-example" / name).read_bytes(), name
