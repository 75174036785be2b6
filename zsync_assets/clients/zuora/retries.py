"""How one Zuora call is retried: how many attempts, how long between them, and what a call that
ran out of attempts becomes.

Whether an outcome is worth another attempt at all is `errors.classify`'s to say; this module
only paces the attempts the client makes (with tenacity) and names the final failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from zsync_assets.clients.zuora.errors import RetriableZuoraError, ZuoraError
from zsync_assets.lib.failure import VendorUnreachable, unreachable_hint
from zsync_assets.sandbox import defaults

T = TypeVar("T")


class RetryPolicy:
    """Attempts and backoff for every call of one client."""

    def __init__(self, *, max_attempts: int, connect_attempts: int, backoff_base_s: float, backoff_max_s: float):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        # A host that refuses connections or never answers the connect gets a few quick tries,
        # not the full backoff: a dead host should fail a run in seconds, naming the URL.
        self.connect_attempts = max(1, min(connect_attempts, max_attempts))
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._backoff = wait_random_exponential(multiplier=backoff_base_s, max=backoff_max_s)

    def run(self, attempt: Callable[[], T], *, base_url: str, before_sleep: Callable[[RetryCallState], None]) -> T:
        """`attempt()` until it returns, raises something not retriable, or the attempts run out."""
        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(RetriableZuoraError),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except RetriableZuoraError as exc:
            if exc.unreachable:
                raise VendorUnreachable(
                    "Zuora",
                    base_url,
                    exc.message,
                    unreachable_hint(base_url, defaults.zuora_url(), "ZUORA_BASE_URL"),
                ) from None
            raise ZuoraError(
                f"gave up: {exc.message}",
                method=exc.method,
                route=exc.route,
                status=exc.status,
                reasons=exc.reasons,
                request_id=exc.request_id,
                attempts=self.max_attempts,
                kind="transient",
            ) from None

    def _stop(self, retry_state: Any) -> bool:
        exc = retry_state.outcome.exception()
        limit = self.connect_attempts if getattr(exc, "unreachable", False) else self.max_attempts
        return retry_state.attempt_number >= limit

    def _wait(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception()
        hinted = getattr(exc, "retry_after_s", None)
        if hinted is not None:
            # Zuora said when the window resets; add jitter so parallel steps don't stampede.
            return min(self.backoff_max_s, hinted + random.uniform(0, self.backoff_base_s))
        return self._backoff(retry_state)
