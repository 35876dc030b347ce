"""A fake Hugging Face Hub on 127.0.0.1 speaking the model endpoints the collector uses.

Point ``HF_ENDPOINT`` (or ``endpoint=``) at ``FakeHub.url`` and drive the real ``huggingface_hub``
client against it.  Repos are a mutable dict of Hub-shaped JSON; switches inject 429 with
``Retry-After``, 5xx, slow, malformed or truncated answers, dropped connections, pagination loops,
renames and vanishing repos.  Every request is counted, in total and per path.
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
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from huggingface_hub.hf_api import ExpandModelProperty_T

EXPAND_NAMES = frozenset(get_args(ExpandModelProperty_T))
# What the Hub returns per listed model when no expand[] is given.
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
    """The fake Hub: ``with FakeHub() as hub: ...``; mutate ``hub.repos`` or use the helpers."""

    def __init__(self, *, page_size: int = 1000, latency: float = 0.0) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.redirects: dict[str, tuple[str, int]] = {}  # old id -> (new id, 301/307)
        self.faults: list[Fault] = []
        self.page_size = page_size
        self.latency = latency
        # A hostile proxy: error bodies quote the Authorization header back.
        self.echo_auth_in_errors = False
        self.requests = 0
        self.requests_by_path: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []  # (path, query) of every request
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

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
    def add(self, model_id: str, **fields: Any) -> dict[str, Any]:
        """Create or replace a repo; only ``_id``, ``id`` and ``author`` are filled in for you."""
        repo = {"_id": hub_id_for(model_id), "id": model_id, "author": model_id.split("/")[0]}
        repo.update(fields)
        with self._lock:
            self.repos[model_id] = repo
        return repo

    def update(self, model_id: str, **fields: Any) -> None:
        with self._lock:
            self.repos[model_id].update(fields)

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

        Kinds: ``status`` (answer ``status``, with ``Retry-After`` if given), ``malformed`` (broken
        JSON), ``truncated`` (half the body, then hang up), ``drop`` (hang up without an answer),
        ``slow`` (``delay`` more seconds), ``loop`` (the next link points back to ``loop_to``).
        A listing that breaks mid-way is ``status`` or ``drop`` with ``page=k, times=None``.
        """
        fault = Fault(kind, **switch)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset_counts(self) -> None:
        with self._lock:
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

    def _fault(self, path: str, org: str | None, page: int | None) -> list[Fault]:
        with self._lock:
            hit = [f for f in self.faults if f.matches(path, org, page)]
            for f in hit:
                f.hits += 1
            return hit


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


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"
    timeout = 5  # idle keep-alive connections close so server threads end
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid a 40 ms stall

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``hub.log`` instead."""

    def do_GET(self) -> None:
        hub = self.hub
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qsl(parts.query, keep_blank_values=True)
        hub._record(path, parts.query, self.headers.get("authorization"))
        params: dict[str, list[str]] = {}
        for key, value in query:
            params.setdefault(key.removesuffix("[]"), []).append(value)
        page: int | None = 1
        after = ""
        if "cursor" in params:
            after, page = _uncursor(params["cursor"][0])
        org = params.get("author", [None])[0]
        if path.startswith("/api/models/"):
            org, page = path.removeprefix("/api/models/").split("/")[0], None
        faults = hub._fault(path, org, page)
        time.sleep(hub.latency + sum(f.delay for f in faults if f.kind == "slow"))
        for fault in faults:
            if fault.kind == "status":
                headers = (
                    {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                )
                return self._error(fault.status, "fake Hub switch", headers)
            if fault.kind == "malformed":
                return self._send(200, b'{"_id": "0", "id": "broken/json", "downloads": ')
            if fault.kind == "truncated":
                return self._send(200, b'[{"_id": "0", "id": "cut/short"}]', truncate=True)
            if fault.kind == "drop":
                self.close_connection = True
                return None
        expand = params.get("expand")
        if expand and not set(expand) <= EXPAND_NAMES:
            return self._error(400, f"invalid expand: {sorted(set(expand) - EXPAND_NAMES)}")
        if path == "/api/models":
            loop = next((f.loop_to for f in faults if f.kind == "loop"), None)
            return self._listing(params, page or 1, after, expand, loop)
        if path.startswith("/api/models/"):
            return self._model(path.removeprefix("/api/models/"), parts.query, expand)
        if path == "/api/agent-harnesses":  # huggingface_hub's user-agent registry
            return self._send(200, b'{"standardEnvVars": [], "harnesses": {}}')
        return self._error(404, "Not Found")

    def _listing(
        self,
        params: dict[str, list[str]],
        page: int,
        after: str,
        expand: list[str] | None,
        loop_to: int | None,
    ) -> None:
        hub = self.hub
        author = params.get("author", [""])[0].lower()
        size = min(int(params["limit"][0]), 1000) if "limit" in params else hub.page_size
        with hub._lock:
            repos = sorted(
                (r for mid, r in hub.repos.items() if mid.split("/")[0].lower() == author),
                key=lambda r: str(r.get("_id", "")),
            )
        rest = [r for r in repos if str(r.get("_id", "")) > after]
        body = [_project(r, expand, LIST_FIELDS) for r in rest[:size]]
        headers: dict[str, str] = {}
        base = [(k, v) for k, vs in params.items() if k != "cursor" for v in vs]
        target: list[tuple[str, str]] | None = None
        if loop_to is not None:  # page j starts after the last _id of page j-1
            back = None if loop_to == 1 else repos[(loop_to - 1) * size - 1]["_id"]
            target = base if back is None else [*base, ("cursor", _cursor(str(back), loop_to))]
        elif len(rest) > size:
            target = [*base, ("cursor", _cursor(str(rest[size - 1]["_id"]), page + 1))]
        if target is not None:
            headers["Link"] = f'<{hub.url}/api/models?{urlencode(target)}>; rel="next"'
        self._send(200, json.dumps(body).encode(), headers)

    def _model(self, repo_id: str, query: str, expand: list[str] | None) -> None:
        hub = self.hub
        with hub._lock:
            moved = hub.redirects.get(repo_id)
            repo = hub.repos.get(repo_id)
        if repo is None and moved is not None:
            location = f"/api/models/{quote(moved[0])}" + (f"?{query}" if query else "")
            return self._send(moved[1], b"", {"Location": location})
        if repo is None:
            headers = {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}
            return self._error(404, "Repository not found", headers)
        self._send(200, json.dumps(_project(repo, expand, None)).encode())

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        if self.hub.echo_auth_in_errors:
            message += f" (you sent {self.headers.get('authorization')})"
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
