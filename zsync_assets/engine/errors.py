"""Which write failures are worth sending again unchanged: the one place that decides.

Transient: the target may well accept the same payload later (a timeout, a dropped
connection, NetSuite concurrency governance, Zuora 429 rate limiting, a 5xx). Everything else
is a DATA error (INVALID_KEY_OR_REF, USER_ERROR, DUP_ENTITY, a Zuora 400...): re-sending the
same payload would fail the same way, so the record waits until its source data changes or an
operator re-queues it (`zsync requeue FLOW SOURCE_ID`).
"""

from __future__ import annotations

import re
from typing import Literal

ErrorClass = Literal["transient", "data"]

# Codes sinks use for failures that never reached a vendor verdict.
TIMEOUT = "TIMEOUT"
CONNECTION_DROPPED = "CONNECTION_DROPPED"

_TRANSIENT_CODES = {
    TIMEOUT,
    CONNECTION_DROPPED,
    # NetSuite: per-account concurrency exceeded with TBA (SuiteTalk governance docs).
    "WS_REQUEST_BLOCKED",
    "EXCEEDED_CONCURRENT_REQUEST_LIMIT",
    "EXCEEDEDCONCURRENTREQUESTLIMITFAULT",
    "EXCEEDED_REQUEST_LIMIT",
    "EXCEEDED_REQUEST_SIZE",
    # NetSuite's catch-all for a server-side failure; retrying is what support recommends.
    "UNEXPECTED_ERROR",
    "SSS_REQUEST_LIMIT_EXCEEDED",
    # Zuora: rate limit / concurrency (429) and its idempotency "request in flight" (409).
    "HTTP_429",
    "HTTP_409",
    "LOCK_COMPETITION",
    "TOO_MANY_REQUESTS",
}

_HTTP_5XX = re.compile(r"^HTTP_5\d\d$")


def classify(code: str | None) -> ErrorClass:
    if not code:
        return "transient"  # no verdict at all: nothing proves the payload is wrong
    normalized = code.strip().upper()
    if normalized in _TRANSIENT_CODES or _HTTP_5XX.match(normalized):
        return "transient"
    return "data"


def is_transient(code: str | None) -> bool:
    return classify(code) == "transient"
