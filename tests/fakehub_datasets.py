"""A contract fake of the Hub's dataset routes and its file CDN, on two loopback ports.

What the real services do, and where that is stated (each rule is enforced below):

* ``GET /api/datasets/{repo}/commits/{revision}``: the commits of a revision, newest first, as
  ``{id, title, message, date, authors: [{user}]}``; more pages through a ``Link: <...>;
  rel="next"`` header.  [HFH-commits] ``huggingface_hub.hf_api.HfApi.list_repo_commits`` (the
  route, the fields it reads) and ``utils._pagination.paginate`` (it follows ``Link`` next and
  adds nothing to the URL it is given).  The page parameter is opaque to the client (ASSUMED
  ``p``, never built by our code); ``expand[]=formatted`` is the only query the client sends
  on the first page; anything else is refused.
* ``GET /api/datasets/{repo}/tree/{revision}/{path}``: the files and folders directly in a
  folder at a revision, as ``{type: "file", oid, size, path, lfs: {oid, size, pointerSize}}``
  and ``{type: "directory", oid, path}``; more pages through ``Link`` next (the Hub caps a page
  at 1,000 entries, the cursor is opaque; ASSUMED ``cursor`` here).  ``recursive`` and
  ``expand`` (``true``/``false``) are the only query the client sends on the first page; a
  missing folder is ``404 EntryNotFound``.  [HFH-tree] ``huggingface_hub.hf_api.HfApi.
  list_repo_tree`` and ``_iter_repo_tree_pages`` (the route, the quoted path, the params, the
  page cap), ``RepoFile``/``RepoFolder`` (the fields read: ``pointerSize`` is required), and
  the Hub's JavaScript client ``@huggingface/hub`` ``lib/list-files.ts`` (the same entry).
* ``HEAD /datasets/{repo}/resolve/{revision}/{path}``: a file at a revision.  An LFS file
  answers ``302`` to a signed URL on another host, with ``X-Repo-Commit`` (the commit sha),
  ``X-Linked-Etag``, ``X-Linked-Size`` and ``ETag``.  [HFH-meta]
  ``huggingface_hub.file_download.get_hf_file_metadata`` reads exactly these headers from the
  redirect, and ``utils._http._httpx2_follow_hub_redirects_with_backoff`` does not follow a
  redirect off the Hub's host (the metadata is on that response).
* Errors carry ``X-Error-Code``: ``RepoNotFound`` (401/404), ``RevisionNotFound`` (404),
  ``EntryNotFound`` (404).  [HFH-errors] ``huggingface_hub.utils._http.hf_raise_for_status``.
* ``429`` with ``Retry-After`` (seconds) when rate limited.  [HFH-rate] same function, and
  ``http_backoff``'s use of ``Retry-After``.
* The CDN answers ``Range: bytes=a-b`` with ``206`` and ``Content-Range: bytes a-b/size``, a
  range past the end with ``416``, a GET without ``Range`` with the whole file (200); it never
  receives the Hub token (the client must not send ``Authorization`` off the Hub: [HFH-meta]).
  [RFC 9110 §14] for ranges.

Counts requests per kind (``commits``, ``tree``, ``resolve``, ``range``, ``full``) and bytes sent, and
records every request that breaks a rule in ``violations``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PAGE = 3  # commits (and tree entries) per page: small, so that pagination is exercised


@dataclass
class Commit:
    sha: str
    date: datetime
    title: str
    files: dict[str, bytes]  # path -> content (the whole tree at this commit)


@dataclass
class DatasetHub:
    """``add_commit`` builds a dataset's history; ``url`` is the Hub, ``cdn_url`` the file host."""

    repos: dict[str, list[Commit]] = field(default_factory=dict)  # oldest first
    counts: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    sent_by_blob: dict[str, int] = field(default_factory=dict)  # sha256 of a file -> its bytes sent
    violations: list[str] = field(default_factory=list)
    rate_limit: int = 0  # the next N requests to the Hub answer 429
    retry_after: str = "0"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_commit(self, repo: str, when: datetime, title: str, files: dict[str, bytes]) -> Commit:
        history = self.repos.setdefault(repo, [])
        tree = dict(history[-1].files) if history else {}
        tree.update(files)
        seed = f"{repo}{when.isoformat()}{title}{len(history)}".encode()
        commit = Commit(hashlib.sha1(seed).hexdigest(), when, title, tree)
        history.append(commit)
        return commit

    def count(self, kind: str, sent: int = 0) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.bytes_sent += sent

    def reset_counts(self) -> None:
        with self._lock:
            self.counts, self.bytes_sent, self.sent_by_blob = {}, 0, {}

    def __enter__(self) -> DatasetHub:
        self._blobs: dict[str, bytes] = {}
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), _hub_handler(self))
        self.cdn = ThreadingHTTPServer(("127.0.0.1", 0), _cdn_handler(self))
        for server in (self.hub, self.cdn):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.hub, self.cdn):
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self.cdn.server_address[1]}"

    def blob(self, content: bytes) -> str:
        key = hashlib.sha256(content).hexdigest()
        self._blobs[key] = content
        return key


_COMMITS = re.compile(r"^/api/datasets/([^/]+/[^/]+)/commits/([^/]+)$")
_TREE = re.compile(r"^/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(?:/(.+))?$")
_RESOLVE = re.compile(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _hub_handler(fake: DatasetHub) -> type[BaseHTTPRequestHandler]:
    class Hub(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                    head: bool = False) -> None:  # fmt: skip
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _error(self, status: int, code: str | None, message: str, head: bool = False) -> None:
            headers = {"Content-Type": "application/json"}
            if code:
                headers["X-Error-Code"] = code
            body = ('{"error": "' + message + '"}').encode()
            self._answer(status, body, headers, head)

        def _limited(self, head: bool = False) -> bool:
            with fake._lock:
                if fake.rate_limit <= 0:
                    return False
                fake.rate_limit -= 1
            fake.count("429")
            self._answer(429, b'{"error": "rate limited"}',
                         {"Retry-After": fake.retry_after, "Content-Type": "application/json"},
                         head)  # fmt: skip
            return True

        def _commit_at(self, repo: str, revision: str, head: bool = False) -> Commit | None:
            """The commit ``revision`` names (``main`` or a sha); None once it answered 404."""
            history = fake.repos.get(repo)
            if history is None:
                self._error(404, "RepoNotFound", "Repository not found", head)
                return None
            if revision == "main":
                return history[-1]
            found = next((c for c in history if c.sha == revision), None)
            if found is None:
                self._error(404, "RevisionNotFound", "Revision not found", head)
            return found

        def _tree(self, m: re.Match[str], query: dict[str, list[str]]) -> None:
            if self._limited():
                return None
            first = {k: v for k, v in query.items() if k != "cursor"}
            flags = {"recursive", "expand"}
            if (
                ("cursor" in query and first)
                or set(first) - flags
                or any(v not in (["true"], ["false"]) for v in first.values())
            ):
                fake.violations.append(f"GET {self.path}: query the Hub does not take")
                return self._error(400, None, "Invalid query")
            if "cursor" not in query and set(first) != flags:
                fake.violations.append(f"GET {self.path}: not what list_repo_tree sends")
            repo, revision, folder = m.group(1), m.group(2), unquote(m.group(3) or "")
            commit = self._commit_at(repo, revision)
            if commit is None:
                return None
            recursive = query.get("recursive") == ["true"]
            prefix = folder.rstrip("/") + "/" if folder else ""
            entries: dict[str, dict[str, Any]] = {}
            for path, content in sorted(commit.files.items()):
                if not path.startswith(prefix):
                    continue
                rest = path[len(prefix) :]
                if "/" in rest and not recursive:
                    sub = prefix + rest.split("/", 1)[0]
                    entries.setdefault(sub, {"type": "directory", "oid": _sha1(sub), "path": sub})
                    continue
                sha = hashlib.sha256(content).hexdigest()
                entries[path] = {"type": "file", "oid": _sha1(path + sha), "size": len(content),
                                 "path": path,
                                 "lfs": {"oid": sha, "size": len(content), "pointerSize": 134}}  # fmt: skip
            if folder and not entries:
                return self._error(404, "EntryNotFound", f"{folder} not found")
            listed = list(entries.values())
            at = int(query.get("cursor", ["0"])[0])
            headers = {"Content-Type": "application/json"}
            if at + PAGE < len(listed):
                nxt = f"{fake.url}{urlsplit(self.path).path}?cursor={at + PAGE}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            fake.count("tree")
            self._answer(200, json.dumps(listed[at : at + PAGE]).encode(), headers)
            return None

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            tree = _TREE.match(parts.path)
            if tree is not None:
                return self._tree(tree, parse_qs(parts.query))
            m = _COMMITS.match(parts.path)
            if m is None:
                fake.violations.append(f"GET {self.path}: no such route")
                return self._error(404, None, "Not Found")
            if self._limited():
                return None
            query = parse_qs(parts.query)
            allowed = {"p", "expand[]"}
            if set(query) - allowed or query.get("expand[]", ["formatted"]) != ["formatted"]:
                fake.violations.append(f"GET {self.path}: query the Hub does not take")
                return self._error(400, None, "Invalid query")
            repo, revision = m.group(1), m.group(2)
            history = fake.repos.get(repo)
            if history is None:
                return self._error(404, "RepoNotFound", "Repository not found")
            if revision != "main" and revision not in {c.sha for c in history}:
                return self._error(404, "RevisionNotFound", "Revision not found")
            newest_first = history[::-1]
            if revision != "main":
                cut = next(i for i, c in enumerate(newest_first) if c.sha == revision)
                newest_first = newest_first[cut:]
            page = int(query.get("p", ["0"])[0])
            chunk = newest_first[page * PAGE : (page + 1) * PAGE]
            items = [
                json.dumps(
                    {
                        "id": c.sha,
                        "title": c.title,
                        "message": "",
                        "date": c.date.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "authors": [{"user": "bot"}],
                    }
                )
                for c in chunk
            ]
            headers = {"Content-Type": "application/json"}
            if (page + 1) * PAGE < len(newest_first):
                nxt = f"{fake.url}/api/datasets/{repo}/commits/{revision}?p={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            fake.count("commits")
            self._answer(200, ("[" + ", ".join(items) + "]").encode(), headers)
            return None

        def do_HEAD(self) -> None:
            parts = urlsplit(self.path)
            m = _RESOLVE.match(parts.path)
            if m is None or parts.query:
                fake.violations.append(f"HEAD {self.path}: no such route")
                return self._error(404, None, "Not Found", head=True)
            if self._limited(head=True):
                return None
            repo, revision, path = m.groups()
            commit = self._commit_at(repo, revision, head=True)
            if commit is None:
                return None
            content = commit.files.get(unquote(path))
            if content is None:
                return self._error(404, "EntryNotFound", "Entry not found", head=True)
            key = fake.blob(content)
            etag = f'"{key}"'
            fake.count("resolve")
            self._answer(302, b"", {
                "Location": f"{fake.cdn_url}/blobs/{key}?sig=signed",
                "X-Repo-Commit": commit.sha, "X-Linked-Etag": etag,
                "X-Linked-Size": str(len(content)), "ETag": '"pointer-' + key[:12] + '"',
            }, head=True)  # fmt: skip
            return None

    return Hub


def _cdn_handler(fake: DatasetHub) -> type[BaseHTTPRequestHandler]:
    class Cdn(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if self.headers.get("Authorization"):
                fake.violations.append(f"GET {self.path}: the Hub token sent to the file host")
            key = parts.path.rsplit("/", 1)[-1]
            content = fake._blobs.get(key)
            if content is None or parse_qs(parts.query).get("sig") != ["signed"]:
                self.send_response(403)
                self.end_headers()
                return
            ask = self.headers.get("Range")
            if ask is None:
                fake.count("full", len(content))
                with fake._lock:
                    fake.sent_by_blob[key] = fake.sent_by_blob.get(key, 0) + len(content)
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                return
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", ask)
            size = len(content)
            if m is None or int(m.group(1)) >= size:
                fake.count("416")
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first = int(m.group(1))
            last = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            body = content[first : last + 1]
            fake.count("range", len(body))
            with fake._lock:
                fake.sent_by_blob[key] = fake.sent_by_blob.get(key, 0) + len(body)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Cdn
