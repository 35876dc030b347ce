"""What the real Hugging Face Hub accepts and answers, route by route: the rules the test Hub enforces.

Every rule names its source.  The sources are public and independent of our collector:

* [HFH-list]   ``huggingface_hub.HfApi.list_models`` (installed package, ``hf_api.py``): its
  docstring's "Possible values" for ``expand`` and "cannot be used if `full`, `cardData` or
  `fetch_config` are passed"; the query parameters it sends.
* [HFH-info]   ``huggingface_hub.HfApi.model_info``: ``ExpandModelProperty_T``, "cannot be used if
  `securityStatus` or `files_metadata` are passed", the ``/revision/{rev}`` path.
* [HFH-3182]   huggingface_hub PR #3182 (merged 2025-07): ``baseModels``, ``childrenModelCount`` and
  ``usedStorage`` are accepted only by ``/api/models/{repo_id}``, not when listing models.
* [HFH-page]   ``huggingface_hub/utils/_pagination.py``: pages are followed through the ``Link``
  header's ``rel="next"`` URL, which "already contains query params"; no page numbers.
* [HFH-errors] ``huggingface_hub/utils/_http.py`` ``hf_raise_for_status``: ``X-Error-Code``
  values ``RepoNotFound``, ``GatedRepo``, ``RevisionNotFound``, ``EntryNotFound``; 401 for private
  or missing repos without a token, "Invalid credentials in Authorization header" for a bad token;
  400 is ``BadRequestError``; errors are JSON ``{"error": ...}`` or ``X-Error-Message``.
* [HFH-rate]   ``huggingface_hub.utils.parse_ratelimit_headers``: ``RateLimit: "api";r=R;t=T`` and
  ``RateLimit-Policy: "fixed window";"api";q=Q;w=W``, "set on every response", only the reason for
  a 429 when ``r=0``; ``http_backoff`` retries 429 and 5xx.
* [HFH-model]  ``huggingface_hub.hf_api.ModelInfo`` and its docstring: ``createdAt`` /
  ``lastModified`` ISO-8601, ``safetensors`` ``{parameters, total}``, ``gguf`` a dict, ``tags`` a
  list of strings.
* [HUB-docs]   hub-docs ``docs/hub/api.md``: ``GET /api/models`` is paginated with ``Link``;
  parameters ``search, author, filter, sort, direction, limit, full, config``; ``createdAt`` of
  old repos is ``2022-03-02T23:29:04.000Z``.
* [HUB-tags]   hub-docs ``docs/hub/model-cards.md`` (base_model metadata): the Hub derives the
  tags ``base_model:ORG/NAME`` and ``base_model:<relation>:ORG/NAME`` with relation one of
  ``adapter``, ``merge``, ``quantized``, ``finetune``.

Assumed, not documented anywhere public (kept as small as the tests allow):

* [ASSUMED-page] the listing's page holds at most 1,000 repos and ``limit`` above that is cut to
  1,000; tests shrink the page with ``FakeHub(page_size=...)`` to exercise pagination.
* [ASSUMED-5xx]  5xx answers come from the load balancer as HTML, not JSON.
* [ASSUMED-children] ``childrenModelCount`` counts the repos whose card names the repo as a base,
  every relation together (the model page's fine-tunes, adapters, quantizations and merges);
  the property is documented ([HFH-3182]), its exact count is not.
"""

from __future__ import annotations

import re
from typing import Any

# [HFH-list] docstring of list_models, "Possible values are ..." (and hub-docs PR #1632).
LISTING_EXPAND = frozenset(
    {
        "author", "cardData", "config", "createdAt", "disabled", "downloads", "downloadsAllTime",
        "evalResults", "gated", "gguf", "inference", "inferenceProviderMapping", "lastModified",
        "library_name", "likes", "mask_token", "model-index", "pipeline_tag", "private",
        "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo", "trendingScore",
        "widgetData", "resourceGroup",
    }
)  # fmt: skip
# [HFH-3182] the three properties only the single-repo route computes.
DETAIL_ONLY_EXPAND = frozenset({"baseModels", "childrenModelCount", "usedStorage"})
# [HFH-info] ExpandModelProperty_T: the listing's values plus the detail-only ones.
DETAIL_EXPAND = LISTING_EXPAND | DETAIL_ONLY_EXPAND

# [HFH-list] the query parameters list_models can send; ``cursor`` only inside a Link URL
# [HFH-page].  [HUB-docs] adds ``direction``.
LISTING_PARAMS = frozenset(
    {
        "search", "author", "filter", "apps", "gated", "inference", "inference_provider",
        "pipeline_tag", "num_parameters", "sort", "direction", "limit", "full", "config",
        "cardData", "expand", "cursor",
    }
)  # fmt: skip
# [HFH-list] expand cannot be combined with these (the client raises ValueError; the Hub 400s).
LISTING_EXCLUSIVE_WITH_EXPAND = frozenset({"full", "cardData", "config"})
# [HFH-info] model_info sends securityStatus, blobs (files_metadata) and expand.
DETAIL_PARAMS = frozenset({"securityStatus", "blobs", "expand"})
DETAIL_EXCLUSIVE_WITH_EXPAND = frozenset({"securityStatus", "blobs"})
# [ASSUMED-page]
MAX_PAGE = 1000
# [HUB-tags]
BASE_MODEL_RELATIONS = frozenset({"adapter", "merge", "quantized", "finetune"})
# [HFH-errors] the message hf_raise_for_status tells apart from "private or missing".
BAD_CREDENTIALS = "Invalid credentials in Authorization header"
# [HFH-rate] the example policy of parse_ratelimit_headers' docstring.
RATE_LIMIT_QUOTA, RATE_LIMIT_WINDOW = 500, 300

_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_COUNT_FIELDS = ("downloads", "downloadsAllTime", "likes", "trendingScore")


class Refusal(Exception):
    """A request the Hub refuses: ``status`` and the message of its ``{"error": ...}`` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _bad_request(message: str) -> Refusal:
    return Refusal(400, message)


def check_listing(params: dict[str, list[str]]) -> None:
    """Raise ``Refusal`` for a ``GET /api/models`` query the Hub refuses."""
    unknown = sorted(set(params) - LISTING_PARAMS)
    if unknown:  # the Hub ignores unknown keys; we refuse them so the suite sees the mistake
        raise _bad_request(f"unknown query parameter(s) {unknown} for /api/models")
    expand = params.get("expand", [])
    for value in expand:  # [HFH-list], [HFH-3182]
        if value not in LISTING_EXPAND:
            raise _bad_request(f'"expand" must be one of the allowed values, got {value!r}')
    if expand and LISTING_EXCLUSIVE_WITH_EXPAND & set(params):
        raise _bad_request('"expand" cannot be used together with "full", "cardData" or "config"')
    for value in params.get("limit", []):
        if not value.isdigit() or int(value) < 1:
            raise _bad_request(f'"limit" must be a positive integer, got {value!r}')


def check_detail(params: dict[str, list[str]]) -> None:
    """Raise ``Refusal`` for a ``GET /api/models/{repo_id}`` query the Hub refuses."""
    unknown = sorted(set(params) - DETAIL_PARAMS)
    if unknown:
        raise _bad_request(f"unknown query parameter(s) {unknown} for /api/models/{{repo_id}}")
    expand = params.get("expand", [])
    for value in expand:  # [HFH-info]
        if value not in DETAIL_EXPAND:
            raise _bad_request(f'"expand" must be one of the allowed values, got {value!r}')
    if expand and DETAIL_EXCLUSIVE_WITH_EXPAND & set(params):
        raise _bad_request('"expand" cannot be used together with "securityStatus" or "blobs"')


def page_size(params: dict[str, list[str]], default: int) -> int:
    """Repos on one listing page: ``limit`` when given, never more than ``MAX_PAGE``."""
    limit = params.get("limit")
    size = int(limit[0]) if limit else default
    return min(size, MAX_PAGE)


def shape_problems(repo: dict[str, Any]) -> list[str]:
    """What in a repo's JSON the real Hub would never send ([HFH-model], [HUB-tags])."""
    problems: list[str] = []
    repo_id = repo.get("id")
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        problems.append(f"id {repo_id!r} is not ORG/NAME")
    for key, value in repo.items():
        if value is None:  # unknown fields are absent, never null
            problems.append(f"{key} is null (the Hub leaves unknown fields out)")
    for key in ("createdAt", "lastModified"):
        if key in repo and not (isinstance(repo[key], str) and _ISO_Z.match(repo[key])):
            problems.append(f"{key} {repo[key]!r} is not ISO-8601 UTC with Z")
    for key in _COUNT_FIELDS:
        value = repo.get(key)
        if key in repo and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            problems.append(f"{key} {value!r} is not a non-negative integer")
    st = repo.get("safetensors")
    if st is not None and not (
        isinstance(st, dict)
        and isinstance(st.get("total"), int)
        and isinstance(st.get("parameters"), dict)
        and all(isinstance(v, int) for v in st["parameters"].values())
    ):
        problems.append("safetensors is not {parameters: {dtype: int}, total: int}")
    gguf = repo.get("gguf")
    if gguf is not None and not (isinstance(gguf, dict) and isinstance(gguf.get("total"), int)):
        problems.append("gguf is not {total, architecture, context_length}")
    tags = repo.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append("tags is not a list of strings")
    else:
        problems.extend(_tag_problems(tags))
        problems.extend(_base_model_problems(repo.get("baseModels"), tags))
    return problems


def _base_model_problems(base: Any, tags: list[str]) -> list[str]:
    """``baseModels`` and the ``base_model:`` tags come from the same card metadata [HUB-tags]."""
    if base is None:
        return []
    if not (isinstance(base, dict) and isinstance(base.get("models"), list)):
        return ["baseModels is not {relation, models: [{id}]}"]
    relation = base.get("relation")
    missing = [
        want
        for m in base["models"]
        if isinstance(m, dict)
        for want in (f"base_model:{m.get('id')}", f"base_model:{relation}:{m.get('id')}")
        if want not in tags
    ]
    return [f"baseModels without its tags {missing}"] if missing else []


def _tag_problems(tags: list[str]) -> list[str]:
    problems = []
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        parts = tag.split(":")
        if len(parts) == 2 and _REPO_ID.match(parts[1]):
            continue
        if len(parts) == 3 and parts[1] in BASE_MODEL_RELATIONS and _REPO_ID.match(parts[2]):
            continue
        problems.append(f"tag {tag!r} is not base_model:ORG/NAME or base_model:<relation>:ORG/NAME")
    return problems
