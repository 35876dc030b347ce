"""A contract fake of the Hugging Face Hub on 127.0.0.1 for the model routes the collector uses.

Point ``HF_ENDPOINT`` (or ``endpoint=``) at ``FakeHub.url`` and drive the real ``huggingface_hub``
client against it.  It enforces what the real Hub enforces (``tests/hub_contract.py`` holds each
rule with its source): allowed ``expand[]`` per route, ``expand`` never with ``full``/``cardData``,
cursor pagination through ``Link`` only, ``X-Error-Code`` headers, 401/404 for private repos,
bad tokens refused, ``RateLimit`` headers on every answer, HTML bodies on 5xx, and repo JSON of
the Hub's shapes (checked when a test adds a repo).  A request the contract refuses is answered
as the Hub answers it *and* recorded in ``violations``; ``tests/conftest.py`` fails any test whose
code made one, so no test passes on a request the real Hub would refuse.

Repos are a mutable dict of Hub-shaped JSON; switches inject 429 with ``Retry-After``, 5xx, slow,
malformed or truncated answers, dropped connections, pagination loops, renames and vanishing
repos.  Every request is counted, in total and per path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from tests import hub_contract as contract
from tests.hub_contract import Refusal

# What the Hub returns per listed model when no expand[] is given ([HUB-docs] example answers).
LIST_FIELDS = (
    *("likes", "trendingScore", "private", "downloads"),
    *("tags", "pipeline_tag", "library_name", "createdAt"),
)
FaultKind = Literal["status", "malformed", "truncated", "drop", "slow", "loop"]


@dataclass
class Fault:
    """One switch: applies to matching requests while ``times`` lasts (None: forever)."""

    kind: FaultKind
    times: int | None = 1
    path: str | None = None  # exact request path, e.g. "/api/models/Qwen/Qwen3-8B"
    org: str | None = None  # the listing's author, or the namespace of a model_info path
    page: int | None = None  # 1-based page of a listing
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    loop_to: int = 1  # for "loop": the page the next link points back to
    hits: int = 0

    def matches(self, path: str, org: str | None, page: int | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.path is not None and path != self.path:
            return False
        if self.org is not None and (org or "").lower() != self.org.lower():
            return False
        return self.page is None or page == self.page


def hub_id_for(model_id: str) -> str:
    """A stable 24-hex-digit id shaped like the Hub's Mongo ``_id``."""
    return hashlib.sha1(model_id.encode()).hexdigest()[:24]


def _cursor(after: str, page: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([after, page]).encode()).decode()


def _uncursor(text: str) -> tuple[str, int]:
    after, page = json.loads(base64.urlsafe_b64decode(text.encode()))
    return str(after), int(page)


class FakeHub:
    """The fake Hub: ``with FakeHub() as hub: ...``; mutate ``hub.repos`` or use the helpers.

    ``page_size`` is the server's page (the real Hub's is ``contract.MAX_PAGE``); ``tokens`` are
    the tokens it knows (None: every ``hf_`` token is valid); ``allow_violations`` marks a test
    that sends refused requests on purpose.
    """

    # Every instance made in this process, so the suite can check each test's requests.
    instances: ClassVar[list[FakeHub]] = []

    def __init__(
        self,
        *,
        page_size: int = contract.MAX_PAGE,
        latency: float = 0.0,
        tokens: set[str] | None = None,
    ) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.redirects: dict[str, tuple[str, int]] = {}  # old id -> (new id, 301/307)
        self.faults: list[Fault] = []
        self.page_size = page_size
        self.latency = latency
        self.tokens = tokens
        # A hostile proxy: error bodies quote the Authorization header back.
        self.echo_auth_in_errors = False
        # A hostile Hub: 200 answers put the Authorization header into library_name, the
        # pipeline tag and a tag of every repo (never what the real Hub does).
        self.echo_auth_in_fields = False
        self.requests = 0
        self.requests_by_path: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []  # (path, query) of every request
        self.authorizations: list[str | None] = []
        self.violations: list[str] = []  # requests the contract refuses, with the reason
        self.allow_violations = False
        self.checked = self.counted = 0  # violations and requests the suite has looked at
        self.rate_remaining = contract.RATE_LIMIT_QUOTA
        self._links: set[str] = set()  # query strings of every Link this Hub handed out
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        FakeHub.instances.append(self)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Hub is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeHub:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        serve = self._server.serve_forever
        # A short poll interval so stopping (once per test) takes 50 ms, not 500.
        threading.Thread(target=serve, args=(0.05,), daemon=True, name="fakehub").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------
    def add(self, model_id: str, *, hostile: bool = False, **fields: Any) -> dict[str, Any]:
        """Create or replace a repo; only ``_id``, ``id`` and ``author`` are filled in for you.

        The JSON must have the Hub's shapes (``contract.shape_problems``) unless ``hostile``:
        a test of what our parser does with values the real Hub never sends says so.
        """
        repo = {"_id": hub_id_for(model_id), "id": model_id, "author": model_id.split("/")[0]}
        repo.update(fields)
        problems = [] if hostile else contract.shape_problems(repo)
        if problems:
            raise ValueError(f"{model_id}: not what the Hub sends: {'; '.join(problems)}")
        with self._lock:
            self.repos[model_id] = repo
        return repo

    def update(self, model_id: str, *, hostile: bool = False, **fields: Any) -> None:
        with self._lock:
            repo = {**self.repos[model_id], **fields}
            problems = [] if hostile else contract.shape_problems(repo)
            if problems:
                raise ValueError(f"{model_id}: not what the Hub sends: {'; '.join(problems)}")
            self.repos[model_id] = repo

    def remove(self, model_id: str) -> None:
        """The repo vanishes: listings skip it and ``/api/models/{id}`` answers 404."""
        with self._lock:
            del self.repos[model_id]

    def rename(self, old: str, new: str, *, redirect: int | None = 307) -> None:
        """Move a repo to a new id, keeping its ``_id``; the old path redirects unless ``redirect=None``."""
        with self._lock:
            repo = self.repos.pop(old)
            repo.update(id=new, author=new.split("/")[0])
            self.repos[new] = repo
            if redirect is not None:
                self.redirects[old] = (new, redirect)

    def fail(self, kind: FaultKind, **switch: Any) -> Fault:
        """Add a switch, e.g. ``fail("status", status=429, retry_after=2, times=1, org="Qwen")``.

        Kinds: ``status`` (answer ``status``, with ``Retry-After`` and a spent ``RateLimit`` on a
        429), ``malformed`` (broken JSON), ``truncated`` (half the body, then hang up), ``drop``
        (hang up without an answer), ``slow`` (``delay`` more seconds), ``loop`` (the next link
        points back to ``loop_to``).  A listing that breaks mid-way is ``status`` or ``drop`` with
        ``page=k, times=None``.
        """
        fault = Fault(kind, **switch)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset_counts(self) -> None:
        with self._lock:
            self.counted -= self.requests
            self.requests = 0
            self.requests_by_path.clear()
            self.log.clear()
            self.authorizations.clear()

    # -- request handling (called from server threads) -------------------------------------
    def _record(self, path: str, query: str, authorization: str | None) -> None:
        with self._lock:
            self.requests += 1
            self.requests_by_path[path] += 1
            self.log.append((path, query))
            self.authorizations.append(authorization)
            self.rate_remaining = max(0, self.rate_remaining - 1)

    def _violation(self, method: str, path: str, query: str, reason: str) -> None:
        with self._lock:
            self.violations.append(f"{method} {path}?{query}: {reason}")

    def _fault(self, path: str, org: str | None, page: int | None) -> list[Fault]:
        with self._lock:
            hit = [f for f in self.faults if f.matches(path, org, page)]
            for f in hit:
                f.hits += 1
            return hit

    def children_of(self, model_id: str, token: str | None) -> int:
        """[ASSUMED-children] ``childrenModelCount``: the repos whose card names this one as a
        base (the ``base_model:ORG/NAME`` tag every base gets, [HUB-tags]), every relation
        together, as the Hub's model page adds up its fine-tunes, adapters, quantizations and
        merges."""
        tag = f"base_model:{model_id}"
        with self._lock:
            return sum(
                1
                for r in self.repos.values()
                if tag in r.get("tags", []) and self._visible(r, token)
            )

    def _token_ok(self, token: str) -> bool:
        return token in self.tokens if self.tokens is not None else token.startswith("hf_")

    def _visible(self, repo: dict[str, Any], token: str | None) -> bool:
        """Private repos are seen only with a valid token ([HFH-errors])."""
        return not repo.get("private") or (token is not None and self._token_ok(token))


def _project(
    repo: dict[str, Any], expand: list[str] | None, default: tuple[str, ...] | None
) -> dict:
    keep = expand if expand else default
    if keep is None:
        return dict(repo)
    return {k: repo[k] for k in ("_id", "id", *keep) if k in repo}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and hung up is expected here, not worth a traceback."""


_HTML_5XX = (
    "<!DOCTYPE html><html><head><title>{status} {reason}</title></head>"
    "<body><h1>{status} {reason}</h1></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"
    timeout = 5  # idle keep-alive connections close so server threads end
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid a 40 ms stall

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``hub.log`` instead."""

    def _refuse_method(self) -> None:
        parts = urlsplit(self.path)
        self.hub._record(parts.path, parts.query, self.headers.get("authorization"))
        self.hub._violation(self.command, parts.path, parts.query, "the collector only reads")
        self._error(405, "Method Not Allowed")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse_method

    def do_HEAD(self) -> None:
        self._refuse_method()

    def do_GET(self) -> None:
        hub = self.hub
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qsl(parts.query, keep_blank_values=True)
        authorization = self.headers.get("authorization")
        hub._record(path, parts.query, authorization)
        params: dict[str, list[str]] = {}
        for key, value in query:
            params.setdefault(key.removesuffix("[]"), []).append(value)
        page: int | None = 1
        after = ""
        if "cursor" in params:
            if parts.query not in hub._links:  # [HFH-page]: cursors come only from Link
                hub._violation("GET", path, parts.query, "a cursor no Link header handed out")
                return self._error(400, "Invalid cursor")
            after, page = _uncursor(params["cursor"][0])
        org = params.get("author", [None])[0]
        if path.startswith("/api/models/"):
            org, page = path.removeprefix("/api/models/").split("/")[0], None
        token = None
        if authorization is not None:  # [HFH-errors]: a bad token is refused outright
            token = authorization.removeprefix("Bearer ").strip()
            if not authorization.startswith("Bearer ") or not hub._token_ok(token):
                return self._error(401, contract.BAD_CREDENTIALS, {
                    "X-Error-Message": contract.BAD_CREDENTIALS,
                })  # fmt: skip
        faults = hub._fault(path, org, page)
        time.sleep(hub.latency + sum(f.delay for f in faults if f.kind == "slow"))
        for fault in faults:
            if fault.kind == "status":
                return self._switched(fault)
            if fault.kind == "malformed":
                return self._send(200, b'{"_id": "0", "id": "broken/json", "downloads": ')
            if fault.kind == "truncated":
                return self._send(200, b'[{"_id": "0", "id": "cut/short"}]', truncate=True)
            if fault.kind == "drop":
                self.close_connection = True
                return None
        try:
            if path == "/api/models":
                contract.check_listing(params)
            elif path.startswith("/api/models/"):
                contract.check_detail(params)
        except Refusal as refusal:
            hub._violation("GET", path, parts.query, refusal.message)
            return self._error(refusal.status, refusal.message)
        expand = params.get("expand")
        if path == "/api/models":
            loop = next((f.loop_to for f in faults if f.kind == "loop"), None)
            return self._listing(params, page or 1, after, expand, loop, token)
        if path.startswith("/api/models/"):
            return self._model(path.removeprefix("/api/models/"), parts.query, expand, token)
        if path == "/api/agent-harnesses":  # huggingface_hub/utils/_detect_agent.py's registry
            return self._send(200, b'{"standardEnvVars": [], "harnesses": {}}')
        hub._violation("GET", path, parts.query, "not a route of the Hub's model API")
        return self._error(404, "Not Found")

    def _switched(self, fault: Fault) -> None:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.status == 429:  # [HFH-rate]: the quota is spent, reset in Retry-After seconds
            reset = fault.retry_after if fault.retry_after is not None else 60
            headers["RateLimit"] = f'"api";r=0;t={reset}'
        return self._error(fault.status, "fake Hub switch", headers)

    def _listing(
        self,
        params: dict[str, list[str]],
        page: int,
        after: str,
        expand: list[str] | None,
        loop_to: int | None,
        token: str | None,
    ) -> None:
        hub = self.hub
        author = params.get("author", [None])[0]
        # [HUB-docs] "filter: filter based on tags": a repo matches when it has every value.
        wanted = params.get("filter", [])
        size = contract.page_size(params, hub.page_size)
        with hub._lock:
            repos = sorted(
                (
                    r
                    for mid, r in hub.repos.items()
                    if (author is None or mid.split("/")[0].lower() == author.lower())
                    and all(f in r.get("tags", []) for f in wanted)
                    and hub._visible(r, token)
                ),
                key=lambda r: str(r.get("_id", "")),
            )
        rest = [r for r in repos if str(r.get("_id", "")) > after]
        body = [self._echoed(_project(r, expand, LIST_FIELDS)) for r in rest[:size]]
        headers: dict[str, str] = {}
        base = [(k, v) for k, vs in params.items() if k != "cursor" for v in vs]
        target: list[tuple[str, str]] | None = None
        if loop_to is not None:  # page j starts after the last _id of page j-1
            back = None if loop_to == 1 else repos[(loop_to - 1) * size - 1]["_id"]
            target = base if back is None else [*base, ("cursor", _cursor(str(back), loop_to))]
        elif len(rest) > size:
            target = [*base, ("cursor", _cursor(str(rest[size - 1]["_id"]), page + 1))]
        if target is not None:
            query = urlencode(target)
            with hub._lock:
                hub._links.add(query)
            headers["Link"] = f'<{hub.url}/api/models?{query}>; rel="next"'
        self._send(200, json.dumps(body).encode(), headers)

    def _model(self, route: str, query: str, expand: list[str] | None, token: str | None) -> None:
        hub = self.hub
        repo_id, _, revision = route.partition("/revision/")
        with hub._lock:
            moved = hub.redirects.get(repo_id)
            repo = hub.repos.get(repo_id)
        if repo is None and moved is not None:
            location = f"/api/models/{quote(moved[0])}" + (f"?{query}" if query else "")
            return self._send(moved[1], b"", {"Location": location})
        if repo is None or not hub._visible(repo, token):
            # [HFH-errors]: without a token the Hub answers 401 for private and missing repos
            # alike, with a token 404; both carry X-Error-Code: RepoNotFound.
            headers = {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}
            return self._error(401 if token is None else 404, "Repository not found", headers)
        if revision and revision not in ("main", repo.get("sha")):
            headers = {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"}
            return self._error(404, f"Invalid rev id: {revision}", headers)
        if expand and "childrenModelCount" in expand and "childrenModelCount" not in repo:
            repo = {**repo, "childrenModelCount": hub.children_of(repo["id"], token)}
        self._send(200, json.dumps(self._echoed(_project(repo, expand, None))).encode())

    def _echoed(self, repo: dict[str, Any]) -> dict[str, Any]:
        said = self.headers.get("authorization")
        if not self.hub.echo_auth_in_fields or said is None:
            return repo
        tags = [*repo.get("tags", []), f"echo:{said}"]
        return {**repo, "library_name": f"lib ({said})", "pipeline_tag": said, "tags": tags}

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        if self.hub.echo_auth_in_errors:
            message += f" (you sent {self.headers.get('authorization')})"
        if status >= 500:  # [ASSUMED-5xx]: the load balancer's HTML page, not JSON
            reason = self.responses.get(status, ("Error",))[0]
            page = _HTML_5XX.format(status=status, reason=reason)
            if self.hub.echo_auth_in_errors:
                page += f"<!-- {message} -->"
            return self._send(status, page.encode(), headers, content_type="text/html")
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        headers = dict(headers or {})
        # [HFH-rate]: "Headers are set on every response".
        headers.setdefault(
            "RateLimit", f'"api";r={self.hub.rate_remaining};t={contract.RATE_LIMIT_WINDOW}'
        )
        headers.setdefault(
            "RateLimit-Policy",
            f'"fixed window";"api";q={contract.RATE_LIMIT_QUOTA};w={contract.RATE_LIMIT_WINDOW}',
        )
        for key, value in headers.items():
            self.send_header(key, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
