"""A live smoke check of the Hub API a snapshot relies on: one listing page and one lookup.

Both requests go through the snapshot's own client (``collectors.hub``: same properties, hooks,
budget, timeout and retry rules) and are parsed by the snapshot's parser, so a pass here means
``ram snapshot`` would get what it needs.  Nothing is written anywhere.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from huggingface_hub import ModelInfo
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import parse_ratelimit_headers

from collectors.hub import EXPAND, Answer, hub_session, parse_model, refusal_line, summary
from ram.dates import now_utc
from ram.errors import HubError

PAGE = 100  # one listing page: ``limit`` is also the page size the Hub answers with
# What a snapshot cannot do without: the counts RAM is made of and the release date.
REQUIRED = ("downloads", "downloadsAllTime", "createdAt")
_ATTRIBUTE = {
    "author": "author",
    "createdAt": "created_at",
    "downloads": "downloads",
    "downloadsAllTime": "downloads_all_time",
    "gated": "gated",
    "gguf": "gguf",
    "lastModified": "last_modified",
    "library_name": "library_name",
    "likes": "likes",
    "pipeline_tag": "pipeline_tag",
    "safetensors": "safetensors",
    "tags": "tags",
}


@dataclass
class RouteCheck:
    """What one route answered: status, time, repos, which asked-for fields came back."""

    route: str
    status: int | None = None
    seconds: float | None = None
    repos: int = 0
    more_pages: bool | None = None
    fields: dict[str, int] = field(default_factory=dict)  # property -> repos that had it
    problem: str | None = None  # one line with the remedy, or None when the route is fine


@dataclass
class Probe:
    """The smoke check's findings; ``ok`` when both routes gave what a snapshot needs."""

    endpoint: str
    token_used: bool
    token_source: str | None
    listing: RouteCheck
    lookup: RouteCheck
    rate_limit: dict[str, Any] | None
    requests: int
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return self.listing.problem is None and self.lookup.problem is None

    @property
    def verdict(self) -> str:
        if self.ok:
            return "OK: the Hub answers both routes with what ram snapshot needs"
        first = self.listing.problem or self.lookup.problem
        return f"FAIL: {first}"


def _token_source(token: str | bool | None) -> str | None:
    if isinstance(token, str):
        return "given"
    if token is False:
        return None
    if os.environ.get("HF_TOKEN"):
        return "HF_TOKEN"
    from huggingface_hub import get_token

    return "saved login" if get_token() else None


def _fields(infos: list[ModelInfo]) -> dict[str, int]:
    return {
        name: sum(getattr(i, _ATTRIBUTE.get(name, name), None) is not None for i in infos)
        for name in EXPAND
    }


def _missing(check: RouteCheck) -> str | None:
    absent = [name for name in REQUIRED if check.repos and not check.fields.get(name)]
    if not absent:
        return None
    return (
        f"{check.route} answered without {', '.join(absent)}, which RAM is made of: the Hub's "
        "API changed; upgrade ram (pip install -U ram-tracker) or report this line as an issue"
    )


def _failure(exc: Exception, endpoint: str, secret: str | None) -> str:
    """One line for an error on a route, with what to do about it."""
    response = getattr(exc, "response", None)
    status = response.status_code if isinstance(exc, HfHubHTTPError) and response else None
    if isinstance(exc, BadRequestError):
        return refusal_line(exc)
    if isinstance(exc, HubError):  # our own verdict: budget spent, rate limit over the cap
        return summary(exc, secret)
    if status == 401 and not isinstance(exc, RepositoryNotFoundError):
        return "the Hub refused the token (401): check HF_TOKEN, or unset it to go anonymous"
    if status == 429:
        wait = response.headers.get("retry-after") if response is not None else None
        later = f"wait {wait}s" if wait else "wait a few minutes"
        return f"rate limited (429): {later}; a token (HF_TOKEN) raises the limit"
    if status is not None and status >= 500:
        return f"the Hub answered {status}: a Hub outage; try again later"
    if status is None and not isinstance(exc, HfHubHTTPError):
        return (
            f"cannot reach {endpoint} ({summary(exc, secret)}): check the network, a proxy "
            "(HTTPS_PROXY) or HF_ENDPOINT"
        )
    return summary(exc, secret)


def _answered(answers: list[Answer], path: str) -> Answer | None:
    return next((a for a in reversed(answers) if a.path == path), None)


def probe(
    org: str,
    model_id: str,
    *,
    endpoint: str | None = None,
    token: str | bool | None = None,
    timeout: float = 30.0,
    retry_after_cap: float = 60.0,
) -> Probe:
    """List one page of ``org`` and look up ``model_id`` as a snapshot would; report what came."""
    listing = RouteCheck(f"GET /api/models?author={org}")
    lookup = RouteCheck(f"GET /api/models/{model_id}")
    with hub_session(endpoint, token, 10, timeout, retry_after_cap) as (api, run, secret):
        try:
            infos = list(api.list_models(author=org, expand=list(EXPAND), limit=PAGE))  # type: ignore[arg-type]
        except Exception as exc:
            listing.problem = _failure(exc, api.endpoint, secret)
        else:
            listing.repos, listing.fields = len(infos), _fields(infos)
            listing.problem = _missing(listing) or (
                None
                if infos
                else f"the listing of {org} is empty: pick an org with public models (--org)"
            )
        answer = _answered(run.answers, "/api/models")
        if answer is not None:
            listing.status, listing.seconds = answer.status, answer.seconds
            listing.more_pages = 'rel="next"' in answer.headers.get("link", "")
        try:
            info = api.model_info(model_id, expand=list(EXPAND))  # type: ignore[arg-type]
        except Exception as exc:
            lookup.problem = _failure(exc, api.endpoint, secret)
            if isinstance(exc, RepositoryNotFoundError):
                lookup.problem = (
                    f"{model_id} is not on the Hub (or private): pick another (--model)"
                )
        else:
            lookup.repos, lookup.fields = 1, _fields([info])
            lookup.problem = _missing(lookup)
            if parse_model(info, now_utc(), []) is None:
                lookup.problem = f"{model_id}: the Hub's answer has no usable repo id"
        answer = _answered(run.answers, f"/api/models/{model_id}")
        if answer is not None:
            lookup.status, lookup.seconds = answer.status, answer.seconds
        last = run.answers[-1] if run.answers else None
        limit = parse_ratelimit_headers(last.headers) if last is not None else None
        return Probe(
            endpoint=api.endpoint,
            token_used=_token_source(token) is not None,
            token_source=_token_source(token),
            listing=listing,
            lookup=lookup,
            rate_limit=None if limit is None else asdict(limit),
            requests=run.requests,
            checked_at=now_utc(),
        )
