"""Keep the Hub token out of everything a run stores or prints, even when the Hub echoes it.

A hostile Hub or proxy can quote the ``Authorization`` header back inside a 200 answer's fields
(``library_name``, tags, ids...).  Error texts are cleaned where they are made
(``collectors.hub.summary``); this cleans the data itself, once, before a run's result leaves
the collector: every value holding the token, or ``Bearer`` and a credential, is redacted, a repo
whose id holds one is dropped (no honest repo id contains a credential), and the run warns once.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from collectors.hub_records import HubModel

if TYPE_CHECKING:
    from collectors.hub import FetchResult

MASK = "***"
_BEARER = re.compile(r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]+")


class _Redactor:
    def __init__(self, secret: str | None) -> None:
        self.secret = secret or None
        self.hits = 0

    def has(self, text: str) -> bool:
        return (self.secret is not None and self.secret in text) or bool(_BEARER.search(text))

    def text(self, value: str) -> str:
        if not self.has(value):
            return value
        self.hits += 1
        if self.secret is not None:
            value = value.replace(self.secret, MASK)
        return _BEARER.sub(f"Bearer {MASK}", value)

    def maybe(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def model(self, m: HubModel) -> HubModel:
        gated = self.text(m.gated) if isinstance(m.gated, str) else m.gated
        return dataclasses.replace(
            m,
            hub_id=self.maybe(m.hub_id),
            author=self.text(m.author),
            pipeline_tag=self.maybe(m.pipeline_tag),
            library_name=self.maybe(m.library_name),
            license=self.maybe(m.license),
            gated=gated,
            tags=tuple(self.text(t) for t in m.tags),
            base_models=tuple(
                (self.maybe(rel), base) for rel, base in m.base_models if not self.has(base)
            ),
        )


def redact_result(result: FetchResult, secret: str | None) -> None:
    """Redact ``result`` in place; add one warning when anything had to be redacted."""
    r = _Redactor(secret)
    kept = []
    dropped = 0
    for m in result.models:
        if r.has(m.model_id):
            dropped += 1
            continue
        kept.append(r.model(m))
    result.models = kept
    in_fields = r.hits
    result.renamed = {k: v for k, v in result.renamed.items() if not r.has(v)}
    result.missing_ids = [i for i in result.missing_ids if not r.has(i)]
    result.failed_ids = {k: r.text(v) for k, v in result.failed_ids.items() if not r.has(k)}
    result.failed_orgs = {k: r.text(v) for k, v in result.failed_orgs.items()}
    result.warnings = [r.text(w) for w in result.warnings]
    if result.refused is not None:
        result.refused = r.text(result.refused)
    if r.hits or dropped:
        hits = in_fields or r.hits
        gone = (
            f"; {dropped} repo{'s' * (dropped != 1)} with one in its id dropped" if dropped else ""
        )
        result.warnings.insert(
            0,
            f"the Hub echoed a credential (the token, or Bearer ...) in {hits} value"
            f"{'s' * (hits != 1)}{gone}; redacted before anything was stored or printed",
        )
