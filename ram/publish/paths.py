"""Where a model's page and badge live in the site: ``<org>/<name>`` when both parts are plain
Hub names, else a digest, so no stored id (whatever an imported file held) can leave the site's
folder, hide as a dot-file or collide with another model's file."""

from __future__ import annotations

import hashlib
import re

# The Hub's repo-name rule (letters, digits, '-', '_', '.'; no leading/trailing '.' or '-',
# at most 96 characters), checked per part.
_PLAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
_RESERVED = {"con", "prn", "aux", "nul"}  # names Windows refuses, should a site be copied there


def model_stem(model_id: str) -> str:
    """``org/name`` for a plain Hub id, ``_/<sha1-16>`` for anything else (relative, no suffix).

    Two ids that differ only in case get distinct digests (case-insensitive file systems)."""
    parts = model_id.split("/")
    if (
        len(parts) == 2
        and all(_PLAIN.fullmatch(p) and ".." not in p for p in parts)
        and not any(p.lower().split(".")[0] in _RESERVED for p in parts)
    ):
        return f"{parts[0]}/{parts[1]}"
    return f"_/{hashlib.sha1(model_id.encode('utf-8')).hexdigest()[:16]}"


def unique_stems(model_ids: list[str]) -> dict[str, str]:
    """``model_stem`` of each id; ids equal but for case after the first get the digest form,
    so that no two models share a file on a case-insensitive file system."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for m in sorted(model_ids):
        stem = model_stem(m)
        if stem.lower() in taken:
            stem = f"_/{hashlib.sha1(m.encode('utf-8')).hexdigest()[:16]}"
        taken.add(stem.lower())
        out[m] = stem
    return out
