"""Events to a webhook: one JSON POST per event, retried on network errors, 429 and 5xx, each
event sent once (the store's ledger says which were), never more than a bounded time.

The body carries the event's fields and a ``text`` line, which Slack, Mattermost and other
chat webhooks show as the message.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx2
import pandas as pd

from ram import __version__
from ram.config import Publish

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
MAX_SECONDS = 120.0  # the whole send, whatever the number of events: a schedule never stalls


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # event id -> why
    too_old: list[str] = field(default_factory=list)  # not sent: older than the age limit

    def line(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.failed:
            why = next(iter(self.failed.values()))
            parts.append(f"{len(self.failed)} failed ({why}; retried on the next publish)")
        if self.too_old:
            parts.append(f"{len(self.too_old)} older than the age limit, not sent")
        return "webhook: " + ", ".join(parts)


def payload(event: pd.Series, site_url: str | None, pages: dict[str, str]) -> dict[str, object]:
    page = pages.get(str(event["model_id"]))
    url = urljoin(site_url.rstrip("/") + "/", page) if site_url and page else page
    return {
        "id": event["event_id"],
        "kind": event["kind"],
        "model_id": event["model_id"],
        "date": pd.Timestamp(event["event_date"]).date().isoformat(),
        "title": event["title"],
        "detail": event["detail"],
        "url": url,
        "text": f"{event['title']} ({event['detail']})" + (f" {url}" if url else ""),
    }


def _post(
    client: httpx2.Client, url: str, body: dict[str, object], retries: int,
    sleep: Callable[[float], None], deadline: float,
) -> str | None:  # fmt: skip
    """None when the hook took it (2xx), else why not, after up to ``retries`` retries."""
    why = "not tried"
    for attempt in range(retries + 1):
        if attempt:
            wait = min(2.0 ** (attempt - 1), 30.0)
            if time.monotonic() + wait > deadline:
                return f"{why}; out of time"
            sleep(wait)
        try:
            response = client.post(url, json=body)
        except httpx2.TransportError as exc:
            why = f"cannot reach the webhook: {type(exc).__name__}"
            continue
        if 200 <= response.status_code < 300:
            return None
        why = f"the webhook answered HTTP {response.status_code}"
        if response.status_code not in RETRY_STATUSES:
            return why
    return why


def send(
    ledger: pd.DataFrame,
    settings: Publish,
    pages: dict[str, str],
    as_of: dt.date,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """POST every ledger row not yet sent, oldest first; rows dated more than
    ``webhook_max_age_days`` before ``as_of`` are reported, not sent (a first configuration
    does not flood a channel with history)."""
    report = SendReport()
    url = settings.webhook_url
    if not url or ledger.empty:
        return report
    unsent = ledger[ledger["send_status"].fillna("") != "sent"]
    unsent = unsent.sort_values(["event_date", "event_id"])
    oldest = as_of - dt.timedelta(days=settings.webhook_max_age_days)
    deadline = time.monotonic() + MAX_SECONDS
    headers = {"user-agent": f"ram-tracker/{__version__}"}
    with httpx2.Client(timeout=settings.webhook_timeout_seconds, headers=headers) as client:
        for _, event in unsent.iterrows():
            eid = str(event["event_id"])
            if pd.Timestamp(event["event_date"]).date() < oldest:
                if event["send_status"] != "too old":
                    report.too_old.append(eid)
                continue
            if time.monotonic() > deadline:
                report.failed[eid] = "out of time"
                continue
            body = payload(event, settings.site_url, pages)
            why = _post(client, url, body, settings.webhook_retries, sleep, deadline)
            if why is None:
                report.sent.append(eid)
            else:
                report.failed[eid] = why
    return report
