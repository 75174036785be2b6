"""What a Zuora response or transport failure means for the caller: retry, re-authenticate, or stop.

Every retriable-vs-fatal decision of the Zuora client is made in `classify`, nowhere else, and
a call that failed for good leaves the client as a `ZuoraError` carrying its verdict as a
typed value (`kind`: transient, data or unknown; `failure` for the engine, see
`zsync_assets/lib/failure.py`).
Vendor facts it rests on (developer.zuora.com, "Error codes", "Error handling", "Idempotent requests"):

- v1 endpoints may answer HTTP 200 with `"success": false`: the body decides, not the status.
- A v1 reason code's last two digits are its category: 50 locking contention, 60 internal error,
  61 temporary error and 70 request exceeded limit are transient; the others (10 permission,
  11 authentication, 20 invalid value, 22 missing field, 30 rule restriction, 40 not found, ...)
  will fail the same way again.
- 429 (rate or concurrency limit) is answered before any work is done, so it is always safe to
  retry; 409 on a request that carries an `Idempotency-Key` means "the first request with this key
  is still in flight", so waiting and re-sending the same key is the documented remedy.
- A 5xx, a timeout or a dropped connection after the request was sent leaves the outcome unknown:
  only requests that are replay-safe (GET/PUT, read-only actions, POST/PATCH with an
  `Idempotency-Key`, which Zuora replays for 24 h) may be re-sent.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from zsync_assets.lib.failure import Failure, FailureKind

# Transport failures raised before the request left this process: nothing reached Zuora.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_TRANSIENT_REASON_CATEGORIES = {50, 60, 61, 70}


class Verdict(Enum):
    OK = "ok"
    REAUTHENTICATE = "reauthenticate"  # 401: the token expired or was revoked; refresh once
    RETRY = "retry"
    FATAL = "fatal"


class ZuoraError(RuntimeError):
    """A Zuora call that failed for good. Carries what support needs, never a credential.

    `status` is the HTTP status (None when no response arrived), `reasons` Zuora's
    `[{"code", "message"}]`, `request_id` the `Zuora-Request-Id` response header.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        route: str = "",
        status: int | None = None,
        reasons: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        kind: FailureKind = "data",
    ):
        self.kind = kind
        self.unreachable = False  # no connection could be opened at all
        self.method = method
        self.route = route
        self.status = status
        self.reasons = reasons or []
        self.request_id = request_id
        self.attempts = attempts
        self.message = message
        super().__init__(self._render())

    @property
    def codes(self) -> list[Any]:
        return [r.get("code") for r in self.reasons if r.get("code") is not None]

    @property
    def code(self) -> str:
        """Zuora's reason code, else what happened on the wire (`HTTP_503`, `CONNECTION_DROPPED`)."""
        if self.status is None:  # never answered: refused before sending, or the connection went
            return "ZSYNC_INVALID_REQUEST" if self.kind == "data" else "CONNECTION_DROPPED"
        if self.status == 429 or self.status >= 500 or not self.codes:
            return f"HTTP_{self.status}"
        return str(self.codes[0])

    @property
    def failure(self) -> Failure:
        """This error as the engine records it: the verdict, the code, Zuora's own words."""
        said = "; ".join(str(r.get("message") or "") for r in self.reasons if r.get("message"))
        message = said or self.message
        if self.request_id:
            message += f" (Zuora-Request-Id {self.request_id})"
        return Failure(self.kind, self.code, message)

    def _render(self) -> str:
        parts = [f"Zuora {self.route}:" if self.route else "Zuora:"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        parts.append(self.message)
        for reason in self.reasons:
            code = f"[{reason['code']}] " if reason.get("code") is not None else ""
            parts.append(f"{code}{reason.get('message') or ''}".strip())
        if self.request_id:
            parts.append(f"(Zuora-Request-Id {self.request_id})")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return " ".join(parts)

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return (
            f"ZuoraError(status={self.status!r}, route={self.route!r}, "
            f"codes={self.codes!r}, request_id={self.request_id!r})"
        )


class ZuoraAuthError(ZuoraError):
    """The credentials were refused (after a token refresh): nothing succeeds until the
    configuration is fixed, so no record is to blame."""


class RetriableZuoraError(ZuoraError):
    """Raised inside the retry loop for an outcome worth another attempt."""

    def __init__(self, *args, retry_after_s: float | None = None, **kwargs):
        self.retry_after_s = retry_after_s
        super().__init__(*args, kind="transient", **kwargs)


def failure_kind(outcome: Outcome, verdict: Verdict) -> FailureKind:
    """The verdict on a call that will not be retried (any more): `transient` when Zuora may take
    the same request later, `unknown` when it may have acted on it although no usable answer
    came back (re-sending without an Idempotency-Key could duplicate), `data` otherwise."""
    if verdict is Verdict.RETRY:
        return "transient"  # retried until the attempts ran out: try again on the next run
    if outcome.error is not None:
        return "unknown"
    status = outcome.response.status_code if outcome.response is not None else 0
    if status >= 500:
        return "unknown"
    if status >= 400:
        return "data"
    categories = {_category(r.get("code")) for r in reasons_of(outcome.body())}
    return "unknown" if categories and categories <= _TRANSIENT_REASON_CATEGORIES else "data"


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: a response, or the transport error that replaced it."""

    response: httpx.Response | None = None
    error: httpx.TransportError | None = None

    def body(self) -> Any:
        if self.response is None:
            return None
        try:
            return self.response.json()
        except ValueError:
            return None


def classify(outcome: Outcome, *, replay_safe: bool, idempotency_key: str | None) -> Verdict:
    """The single place that decides retry vs fatal for every Zuora call."""
    if outcome.error is not None:
        if isinstance(outcome.error, _NOT_SENT) or replay_safe:
            return Verdict.RETRY
        return Verdict.FATAL  # may have reached Zuora; re-sending could create a duplicate
    response = outcome.response
    assert response is not None
    status = response.status_code
    if status == 401:
        return Verdict.REAUTHENTICATE
    if status == 429:
        return Verdict.RETRY
    if status == 409 and idempotency_key:
        return Verdict.RETRY
    if status >= 500:
        return Verdict.RETRY if replay_safe else Verdict.FATAL
    if status >= 400:
        return Verdict.FATAL
    body = outcome.body()
    if isinstance(body, dict) and body.get("success") is False:
        categories = {_category(r.get("code")) for r in reasons_of(body)}
        if replay_safe and categories and categories <= _TRANSIENT_REASON_CATEGORIES:
            return Verdict.RETRY
        return Verdict.FATAL
    return Verdict.OK


def _category(code: Any) -> int | None:
    try:
        return int(str(code)[-2:])
    except (TypeError, ValueError):
        return None


def reasons_of(body: Any) -> list[dict[str, Any]]:
    """Zuora's error details from any of its error body shapes, as `[{"code", "message"}]`."""
    if not isinstance(body, dict):
        return []
    for key in ("reasons", "errors", "Errors"):  # v1 / CRUD + actions / SOAP-style
        items = body.get(key)
        if isinstance(items, list):
            return [
                {"code": i.get("code", i.get("Code")), "message": i.get("message", i.get("Message"))}
                for i in items
                if isinstance(i, dict)
            ]
    if "faultcode" in body or "faultstring" in body:  # ZOQL query errors
        return [{"code": body.get("faultcode"), "message": body.get("faultstring")}]
    message = body.get("message") or body.get("error_description") or body.get("error")
    return [{"code": body.get("error"), "message": message}] if message else []


def retry_after_s(response: httpx.Response | None) -> float | None:
    """How long Zuora asked us to wait: `Retry-After` (seconds or HTTP date) or `RateLimit-Reset`."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    if response.status_code == 429:
        # RateLimit-Reset: seconds until the current window resets (IETF RateLimit headers,
        # which Zuora's spec declares on every operation).
        reset = response.headers.get("RateLimit-Reset")
        try:
            return max(0.0, float(reset)) if reset else None
        except ValueError:
            return None
    return None


def error_from(method: str, route: str, outcome: Outcome, verdict: Verdict, secrets: tuple[str, ...]) -> ZuoraError:
    """The error a call that did not succeed raises: retriable inside the retry loop, else final,
    with the failure's verdict, Zuora's reasons and request id, and `secrets` scrubbed out."""
    kind = RetriableZuoraError if verdict is Verdict.RETRY else ZuoraError
    if verdict is Verdict.REAUTHENTICATE or (outcome.response is not None and outcome.response.status_code == 401):
        kind = ZuoraAuthError
    kwargs: dict[str, Any] = {} if kind is RetriableZuoraError else {"kind": failure_kind(outcome, verdict)}
    if outcome.error is not None:
        detail = f"{type(outcome.error).__name__}: {scrub(str(outcome.error), secrets)}"
        if verdict is Verdict.FATAL:
            detail += (
                " - the request may have reached Zuora, and without an Idempotency-Key a "
                "re-send could create a duplicate, so it was not retried"
            )
        error = kind(detail, method=method, route=route, **kwargs)
        error.unreachable = isinstance(outcome.error, (httpx.ConnectError, httpx.ConnectTimeout))
        return error
    response = outcome.response
    assert response is not None  # no transport error, so a response came
    reasons = [
        {"code": r.get("code"), "message": scrub(str(r.get("message") or ""), secrets)}
        for r in reasons_of(outcome.body())
    ]
    message = "request failed" if response.status_code >= 400 else "success: false"
    if response.status_code == 401:
        message = "authentication failed (token rejected after a refresh)"
    if kind is RetriableZuoraError:
        kwargs["retry_after_s"] = retry_after_s(response)
    return kind(
        message,
        method=method,
        route=route,
        status=response.status_code,
        reasons=reasons,
        request_id=response.headers.get("Zuora-Request-Id"),
        **kwargs,
    )


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """Remove credentials from text that came back from the server before it reaches a log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
