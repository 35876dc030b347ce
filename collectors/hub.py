"""Fetch per-model metadata and download counts from the Hugging Face Hub as typed records.

One ``list_models(author=org, expand=...)`` pass per org and ``model_info`` only for tracked ids
no listing returned, so requests grow with orgs and pages, not models.  Nothing here writes to
the database: callers save what ``fetch_snapshot`` returns.

Each route is asked only for what it accepts: the listing route takes the properties its
``list_models`` docstring names, and ``baseModels``, ``childrenModelCount`` and ``usedStorage``
only the single-repo route (huggingface_hub PR #3182).  A listed repo's base model and relation
come from its ``base_model:<relation>:<id>`` tags, which cost no extra request.  A 400 from the
Hub means it refuses a parameter we send (an API change): the run stops there with one line.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

import httpx2
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import (
    BadRequestError,
    DisabledRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import get_session, parse_ratelimit_headers

from collectors.hub_records import HubModel, parse_model
from collectors.hub_redact import redact_result
from ram.dates import now_utc
from ram.errors import HubError, RateLimited

__all__ = [
    "DETAIL_ONLY",
    "EXPAND",
    "FetchResult",
    "HubModel",
    "fetch_org",
    "fetch_snapshot",
    "parse_model",
    "refusal_line",
]

# Every property the metric, the tracked-set policy and the store need, all accepted by the
# listing route (so one listing page answers them for 1,000 repos); nothing heavier (cardData,
# siblings, config).  ``model_info`` lookups ask for the same, so both routes give one record.
EXPAND: tuple[str, ...] = (
    "author",
    "createdAt",
    "downloads",
    "downloadsAllTime",
    "gated",
    "gguf",
    "lastModified",
    "library_name",
    "likes",
    "pipeline_tag",
    "safetensors",
    "tags",
)
# Accepted by ``/api/models/{repo_id}`` only; never put one in a listing's expand.
DETAIL_ONLY = frozenset({"baseModels", "childrenModelCount", "usedStorage"})
# The statuses and waits huggingface_hub's http_backoff uses; model_info lookups get the same.
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
MAX_RETRIES, BASE_WAIT, MAX_WAIT = 5, 1.0, 8.0
_TRANSIENT = (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)
_sleep = time.sleep  # tests replace it to keep retry tests instant
_T = TypeVar("_T")


@dataclass
class FetchResult:
    """What one snapshot fetched, what failed and what it cost; orgs that failed add no models."""

    models: list[HubModel] = field(default_factory=list)
    failed_orgs: dict[str, str] = field(default_factory=dict)
    missing_ids: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    failed_ids: dict[str, str] = field(default_factory=dict)
    org_counts: dict[str, int] = field(default_factory=dict)
    refused: str | None = None  # the Hub refused a parameter (HTTP 400): the run stopped

    @property
    def status(self) -> Literal["ok", "partial", "failed"]:
        """``failed`` when the Hub refused a parameter or no repo at all was observed (every
        listing failed or was empty, every lookup failed or 404), ``partial`` when some
        did not answer."""
        if self.refused is not None or not self.models:
            return "failed"
        return "partial" if self.failed_orgs or self.failed_ids else "ok"


class _Run:
    """Request counter, budget and timeout of one run, applied by the HTTP hooks in every worker."""

    def __init__(self, endpoint: str, budget: int, timeout: float, retry_after_cap: float) -> None:
        self.origin = _origin(httpx2.URL(endpoint))
        self.budget, self.timeout, self.retry_after_cap = budget, timeout, retry_after_cap
        self.requests = 0
        self.retryable = 0
        self.refused = False  # a 400 came back: start nothing more
        self.answers: list[Answer] = []  # every Hub answer, for ``ram doctor``
        self.clock: Callable[[], datetime] = now_utc  # stamps each repo as it is parsed
        self._lock = threading.Lock()

    def on_request(self, request: httpx2.Request) -> None:
        if _origin(request.url) != self.origin:
            return  # not the Hub we fetch from (the client's own telemetry, a CDN)
        with self._lock:
            if self.requests >= self.budget:
                raise HubError(
                    f"request budget of {self.budget} exhausted before this request; "
                    "raise collector.request_budget or track fewer orgs"
                )
            self.requests += 1
        request.extensions["ram_started"] = time.monotonic()
        # list_models passes timeout=None, which would let a stalled server hang a worker forever.
        if not any((request.extensions.get("timeout") or {}).values()):
            t = self.timeout
            request.extensions["timeout"] = {"connect": t, "read": t, "write": t, "pool": t}

    def on_response(self, response: httpx2.Response) -> None:
        if _origin(response.url) != self.origin:
            return
        started = response.request.extensions.get("ram_started")
        answer = Answer(
            path=response.url.path,
            status=response.status_code,
            seconds=time.monotonic() - started if started is not None else None,
            headers={k.lower(): v for k, v in response.headers.items() if k.lower() in _KEPT},
        )
        with self._lock:
            self.answers.append(answer)
        if response.status_code == 400:
            self.refused = True
            return
        if response.status_code not in RETRY_STATUSES:
            return
        with self._lock:
            self.retryable += 1
        wait = _server_wait(response)
        if wait is not None and wait > self.retry_after_cap:
            raise RateLimited(
                f"the Hub answered {response.status_code} and asked to wait {wait:g}s, "
                f"over the {self.retry_after_cap:g}s cap; try again later"
            )


_KEPT = frozenset({"ratelimit", "ratelimit-policy", "retry-after", "link", "x-error-code"})


@dataclass(frozen=True)
class Answer:
    """One answer of the Hub: path, status, seconds to its headers, the headers we act on."""

    path: str
    status: int
    seconds: float | None
    headers: dict[str, str]


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower(), url.port


_RUN: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("hub_run", default=None)


def _observed_now() -> datetime:
    """When a repo's answer came in, on the run's clock (``fetch_snapshot(clock=...)``)."""
    run = _RUN.get()
    return run.clock() if run is not None else now_utc()


_INSTALL_LOCK = threading.Lock()


def _on_request(request: httpx2.Request) -> None:
    run = _RUN.get()
    if run is not None:
        run.on_request(request)


def _on_response(response: httpx2.Response) -> None:
    run = _RUN.get()
    if run is not None:
        run.on_response(response)


def _install_hooks() -> None:
    """Add this module's hooks to huggingface_hub's shared client, once per client, through its
    public ``get_session``: whatever factory made the client (the default, or a user's
    ``set_client_factory`` with a proxy or certificates) keeps its own hooks and settings, and
    no private module is read.  Called when a run starts and before each org listing and
    lookup: a client huggingface_hub makes anew (``close_session`` after an SSL error) gets
    them at the next one."""
    with _INSTALL_LOCK:
        client = get_session()
        hooks = client.event_hooks
        if _on_request in hooks.get("request", []):
            return
        client.event_hooks = {
            "request": [*hooks.get("request", []), _on_request],
            "response": [*hooks.get("response", []), _on_response],
        }


def _server_wait(response: httpx2.Response) -> float | None:
    """Seconds the server asked us to wait: rate-limit reset, else ``Retry-After``."""
    if response.status_code == 429:
        info = parse_ratelimit_headers(response.headers)
        if info is not None and info.remaining == 0:
            return float(info.reset_in_seconds)
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def fetch_org(api: HfApi, org: str, warnings: list[str] | None = None) -> Iterator[HubModel]:
    """Yield every model of ``org`` from one paginated listing.

    Repo ids are case-insensitive on the Hub (one repo answers ``Org/Name`` and ``org/name``), so
    a second spelling of an id already listed is the same repo: it is skipped with a warning and
    the first kept.  The same id spelt the same way again means the listing went round (a cursor
    pointing back): that stops the org, instead of looping until the request budget runs out.
    """
    sink = warnings if warnings is not None else []
    seen: dict[str, str] = {}
    for info in api.list_models(author=org, expand=list(EXPAND)):  # type: ignore[arg-type]
        model = parse_model(info, _observed_now(), sink)
        if model is None:
            continue
        first = seen.get(model.model_id.lower())
        if first == model.model_id:
            raise HubError(
                f"the listing of {org} returned {model.model_id} twice (pagination loop)"
            )
        if first is not None:
            sink.append(
                f"the listing of {org} returned {model.model_id} after {first}: one repo to the "
                f"Hub (ids are case-insensitive); kept {first}"
            )
            continue
        seen[model.model_id.lower()] = model.model_id
        yield model


class _Skipped(Exception):
    """Not started: the Hub already refused a parameter of this run."""


def _check_not_refused() -> None:
    run = _RUN.get()
    if run is not None and run.refused:
        raise _Skipped


def refusal_line(exc: BadRequestError) -> str:
    """The one line a 400 gives: what the Hub refused, and what to do about it."""
    said = " ".join((exc.server_message or str(exc)).split()) or "no reason given"
    return (
        f"the Hub refused a request parameter ({said[:200]}): this version of ram asks for "
        "something the Hub no longer accepts; upgrade ram (pip install -U ram-tracker) or "
        "report this line as an issue"
    )


def _list_org(api: HfApi, org: str) -> tuple[list[HubModel], list[str]]:
    _check_not_refused()
    warnings: list[str] = []
    return list(fetch_org(api, org, warnings)), warnings


def _lookup(api: HfApi, model_id: str) -> tuple[HubModel | None, list[str]]:
    """``model_info`` with the listing's retry rules: the client retries listings, not this call."""
    _check_not_refused()
    for attempt in range(MAX_RETRIES + 1):
        try:
            info = api.model_info(model_id, expand=list(EXPAND))  # type: ignore[arg-type]
        except HfHubHTTPError as exc:
            response = exc.response
            if response is None or response.status_code not in RETRY_STATUSES:
                raise
            if attempt == MAX_RETRIES:
                raise
            asked = _server_wait(response)
            _sleep(asked + 1 if asked is not None else min(MAX_WAIT, BASE_WAIT * 2**attempt))
            continue
        except _TRANSIENT:
            if attempt == MAX_RETRIES:
                raise
            _sleep(min(MAX_WAIT, BASE_WAIT * 2**attempt))
            continue
        warnings: list[str] = []
        return parse_model(info, _observed_now(), warnings), warnings
    raise AssertionError("unreachable: the last attempt returns or raises")


def _is_gone(exc: Exception) -> bool:
    if isinstance(exc, RepositoryNotFoundError | DisabledRepoError):
        return True
    response = getattr(exc, "response", None)
    return isinstance(exc, HfHubHTTPError) and response is not None and response.status_code == 404


_SECRETISH = re.compile(r"hf_[A-Za-z0-9]{6,}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+")
_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


def _summary_text(text: str, secret: str | None) -> str:
    """``text`` on one line with anything token-like and every query string removed."""
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "***")
    return _QUERY.sub(r"\1", _SECRETISH.sub("***", text))  # query strings only add noise


def summary(exc: BaseException, secret: str | None) -> str:
    """One line naming the error, with anything token-like removed."""
    text = _summary_text(str(exc), secret)
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


@contextlib.contextmanager
def hub_session(
    endpoint: str | None,
    token: str | bool | None,
    request_budget: int,
    timeout: float,
    retry_after_cap: float,
) -> Iterator[tuple[HfApi, _Run, str | None]]:
    """A client for ``endpoint`` (else ``HF_ENDPOINT``, else the Hub) whose every request meets
    this run's budget, timeout and rate-limit cap; yields it, the run and the token to redact."""
    secret = token if isinstance(token, str) else (get_token() if token is None else None)
    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=token)
    _install_hooks()
    run = _Run(api.endpoint, request_budget, timeout, retry_after_cap)
    reset = _RUN.set(run)
    try:
        yield api, run, secret
    finally:
        _RUN.reset(reset)


def fetch_snapshot(
    orgs: Sequence[str],
    tracked_ids: Sequence[str] = (),
    *,
    known_hub_ids: Mapping[str, str] | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    max_workers: int = 4,
    request_budget: int = 5000,
    timeout: float = 30.0,
    retry_after_cap: float = 60.0,
    progress: Callable[[str, int], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FetchResult:
    """List every org, then look up the tracked ids no listing returned; failures are reported.

    ``known_hub_ids`` (model id -> Hub ``_id``) links renames seen in listings without a request.
    ``clock()`` (UTC, default the system clock) stamps each repo's ``observed_at`` as it comes in.
    Tracked ids of an org whose listing failed are neither looked up nor reported missing.
    ``progress(name, n_models)`` is called on this thread after each org and each lookup.
    """
    if max_workers < 1 or request_budget < 1 or timeout <= 0 or retry_after_cap < 0:
        raise ValueError(
            "need max_workers >= 1, request_budget >= 1, timeout > 0, retry_after_cap >= 0"
        )
    started = time.monotonic()
    with hub_session(endpoint, token, request_budget, timeout, retry_after_cap) as session:
        api, run, secret = session
        run.clock = clock or now_utc
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hub") as pool:
            result = _collect(pool, api, orgs, tracked_ids, known_hub_ids or {}, secret, progress)
    if run.retryable:
        result.warnings.append(f"{run.retryable} answers were 408/429/5xx and retried or given up")
    redact_result(result, secret)
    result.requests = run.requests
    result.seconds = time.monotonic() - started
    return result


def _collect(
    pool: ThreadPoolExecutor,
    api: HfApi,
    orgs: Sequence[str],
    tracked_ids: Sequence[str],
    known_hub_ids: Mapping[str, str],
    secret: str | None,
    progress: Callable[[str, int], None] | None,
) -> FetchResult:
    result = FetchResult()
    unique_orgs = list({o.lower(): o for o in reversed(orgs)}.values())[::-1]
    listed: dict[str, list[HubModel]] = {}
    jobs = {pool.submit(_in_context(_list_org), api, o): o for o in unique_orgs}
    for job in as_completed(jobs):
        org = jobs[job]
        try:
            listed[org], warnings = job.result()
            result.warnings.extend(warnings)
        except _Skipped:
            pass
        except BadRequestError as exc:
            result.refused = result.refused or _summary_text(refusal_line(exc), secret)
        except Exception as exc:
            result.failed_orgs[org] = summary(exc, secret)
        if progress is not None:
            progress(org, len(listed.get(org, ())))
    if result.refused is not None:
        return result  # one line says what the Hub refused; no lookup would fare better

    by_id: dict[str, HubModel] = {}
    for org in (o for o in unique_orgs if o in listed):  # asked order, not completion order
        result.org_counts[org] = len(listed[org])
        for model in listed[org]:
            by_id.setdefault(model.model_id.lower(), model)
    by_hub = {m.hub_id: m for m in by_id.values() if m.hub_id}
    failed = {o.lower() for o in result.failed_orgs}
    lookups: list[str] = []
    for model_id in dict.fromkeys(tracked_ids):
        found = by_id.get(model_id.lower()) or by_hub.get(known_hub_ids.get(model_id, ""))
        if found is not None:
            if found.model_id != model_id:
                result.renamed[model_id] = found.model_id
        elif model_id.split("/", 1)[0].lower() not in failed:
            lookups.append(model_id)

    answers = _look_up(pool, api, lookups, result, secret, progress)
    for model_id in (m for m in lookups if m in answers):  # tracked order, not completion order
        answer = answers[model_id]
        if answer.model_id.lower() != model_id.lower():
            result.renamed[model_id] = answer.model_id
        if answer.model_id.lower() not in by_id and answer.hub_id not in by_hub:
            by_id[answer.model_id.lower()] = answer
            if answer.hub_id:
                by_hub[answer.hub_id] = answer
    result.models = list(by_id.values())
    return result


def _look_up(
    pool: ThreadPoolExecutor,
    api: HfApi,
    lookups: list[str],
    result: FetchResult,
    secret: str | None,
    progress: Callable[[str, int], None] | None,
) -> dict[str, HubModel]:
    """``model_info`` for each id: gone ones go to ``missing_ids``, errors to ``failed_ids``."""
    answers: dict[str, HubModel] = {}
    jobs = {pool.submit(_in_context(_lookup), api, m): m for m in lookups}
    for job in as_completed(jobs):
        model_id = jobs[job]
        try:
            answer, warnings = job.result()
        except _Skipped:
            continue
        except BadRequestError as exc:
            result.refused = result.refused or _summary_text(refusal_line(exc), secret)
            continue
        except Exception as exc:
            if _is_gone(exc):
                result.missing_ids.append(model_id)
            else:
                result.failed_ids[model_id] = summary(exc, secret)
        else:
            result.warnings.extend(warnings)
            if answer is None:
                result.failed_ids[model_id] = "the Hub's answer has no usable repo id"
            else:
                answers[model_id] = answer
        if progress is not None:
            progress(model_id, int(model_id in answers))
    result.missing_ids.sort(key=lookups.index)
    return answers


def _in_context(fn: Callable[[HfApi, str], _T]) -> Callable[[HfApi, str], _T]:
    """Run ``fn`` in a copy of this thread's context, so pool workers see the current run (with
    the hooks on the client it will use)."""
    context = contextvars.copy_context()

    def hooked(api: HfApi, name: str) -> _T:
        _install_hooks()
        return fn(api, name)

    return lambda api, name: context.run(hooked, api, name)
