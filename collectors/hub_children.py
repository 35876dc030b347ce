"""Derivatives on the Hub: how many repos name a model as their base, and which.

* ``fetch_children_counts``: ``model_info(id, expand=["childrenModelCount"])``, one request per
  model (``childrenModelCount`` is a detail-only property: the listing refuses it, see
  ``tests/hub_contract.py``).  The Hub counts every relation together.
* ``fetch_children``: every repo tagged ``base_model:<relation>:ORG/NAME`` (``list_models(
  filter=...)``, paginated by the client), with its ``createdAt``: the record a curve of
  derivative counts can be rebuilt from, back to the base's release.

Both run in a ``hub.hub_session`` (the run's request budget, timeout and rate-limit cap) and
return what failed instead of raising.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from collectors import hub
from collectors.hub_records import _moment

RELATIONS = ("finetune", "adapter", "quantized", "merge")  # hub-docs model-cards.md
_T = TypeVar("_T")


@dataclass
class CountsResult:
    counts: dict[str, int] = field(default_factory=dict)  # model id -> childrenModelCount
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    refused: str | None = None


@dataclass
class ChildrenResult:
    # (base id, relation) -> [(child id, created_at UTC or None)]
    children: dict[tuple[str, str], list[tuple[str, datetime | None]]] = field(default_factory=dict)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    refused: str | None = None


def _with_retries(call: Callable[[], object]) -> object:
    """``call`` with the collector's retry rules for single requests (429/5xx, timeouts)."""
    for attempt in range(hub.MAX_RETRIES + 1):
        try:
            return call()
        except HfHubHTTPError as exc:
            response = exc.response
            if response is None or response.status_code not in hub.RETRY_STATUSES:
                raise
            if attempt == hub.MAX_RETRIES:
                raise
            asked = hub._server_wait(response)
            wait = asked + 1 if asked is not None else hub.BASE_WAIT * 2**attempt
            hub._sleep(min(hub.MAX_WAIT, wait))
        except hub._TRANSIENT:
            if attempt == hub.MAX_RETRIES:
                raise
            hub._sleep(min(hub.MAX_WAIT, hub.BASE_WAIT * 2**attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _count(api: HfApi, model_id: str) -> int | None:
    hub._check_not_refused()
    info = _with_retries(lambda: api.model_info(model_id, expand=["childrenModelCount"]))
    value = getattr(info, "children_model_count", None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _children(api: HfApi, key: str) -> list[tuple[str, datetime | None]]:
    hub._check_not_refused()
    base, relation = key.split("\n")
    out = []
    for info in api.list_models(filter=f"base_model:{relation}:{base}", expand=["createdAt"]):
        child = getattr(info, "id", None)
        if isinstance(child, str) and child.count("/") == 1:
            out.append((child, _moment(getattr(info, "created_at", None), "createdAt", child, [])))
    return out


def _pair(key: str) -> tuple[str, str]:
    base, relation = key.split("\n")
    return base, relation


@dataclass(frozen=True)
class HubOptions:
    """Where and how a run talks to the Hub: endpoint (else ``HF_ENDPOINT``), token, workers,
    the run's request budget, the per-request timeout and the longest Retry-After waited."""

    endpoint: str | None = None
    token: str | bool | None = None
    max_workers: int = 4
    request_budget: int = 5000
    timeout: float = 30.0
    retry_after_cap: float = 60.0


def _gather(
    keys: Sequence[str], call: Callable[[HfApi, str], _T], opts: HubOptions
) -> tuple[dict[str, _T], dict[str, str], str | None, int]:
    """``call(api, key)`` for every key in one session: answers, failures (one line each),
    what the Hub refused (a 400: nothing more is started) and the requests spent."""
    done: dict[str, _T] = {}
    failed: dict[str, str] = {}
    refused: str | None = None
    session = hub.hub_session(
        opts.endpoint, opts.token, opts.request_budget, opts.timeout, opts.retry_after_cap
    )
    workers = ThreadPoolExecutor(max_workers=opts.max_workers, thread_name_prefix="hub")
    with session as (api, run, secret), workers as pool:
        jobs = {pool.submit(hub._in_context(call), api, k): k for k in keys}
        for job in as_completed(jobs):
            key = jobs[job]
            try:
                done[key] = job.result()
            except hub._Skipped:
                continue
            except BadRequestError as exc:
                refused = refused or hub._summary_text(hub.refusal_line(exc), secret)
            except Exception as exc:
                failed[key] = hub.summary(exc, secret)
    return done, failed, refused, run.requests


def fetch_children_counts(model_ids: Sequence[str], opts: HubOptions) -> CountsResult:
    """``childrenModelCount`` of each id; ids that failed (or are gone) are in ``failed``."""
    started = time.monotonic()
    done, failed, refused, requests = _gather(model_ids, _count, opts)
    result = CountsResult(failed=failed, requests=requests, refused=refused)
    for model_id in model_ids:
        if model_id in done:
            value = done[model_id]
            if value is None:
                result.failed[model_id] = "the Hub's answer has no childrenModelCount"
            else:
                result.counts[model_id] = value
    result.seconds = time.monotonic() - started
    return result


def fetch_children(
    base_ids: Sequence[str],
    opts: HubOptions,
    relations: Sequence[str] = RELATIONS,
    progress: Callable[[str, int], None] | None = None,
) -> ChildrenResult:
    """Every child of each base under each relation, with its creation time."""
    started = time.monotonic()
    keys = [f"{b}\n{r}" for b in base_ids for r in relations]

    def listed(api: HfApi, key: str) -> list[tuple[str, datetime | None]]:
        found = _children(api, key)
        if progress is not None:
            base, relation = _pair(key)
            progress(f"{base} ({relation})", len(found))
        return found

    done, failed, refused, requests = _gather(keys, listed, opts)
    return ChildrenResult(
        children={_pair(k): v for k, v in done.items()},
        failed={_pair(k): v for k, v in failed.items()},
        requests=requests,
        seconds=time.monotonic() - started,
        refused=refused,
    )
