"""A failed vendor call, judged once: by the client that saw the response.

The verdict travels as this value from the client, through the sink, to the engine and the
push log; nobody downstream re-reads code strings to guess it (the shape of singer-sdk's
`RetriableAPIError` / `FatalAPIError`, raised where the response was seen).

- `transient`: the vendor may accept the same request later (a timeout, a dropped connection
  before anything was written, NetSuite governance, a Zuora 429, a 5xx): sent again on the
  next run, unchanged;
- `data`: the vendor refused the record for what it holds (`INVALID_KEY_OR_REF`, a Zuora 400):
  the same payload would fail the same way, so it waits until the source record changes or an
  operator re-queues it;
- `unknown`: the request may have been written and nobody heard the answer: the next run
  looks the record up on the target before anything is re-sent, then treats it as transient.

`whole_request` marks a failure of the call as a whole (a SOAP fault, an HTTP error) rather
than a verdict on one record of it: a `data` failure of a whole list call says one record in
it is bad, and the engine splits the batch to find which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FailureKind = Literal["transient", "data", "unknown"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("transient", "data", "unknown")


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    code: str
    message: str = ""
    whole_request: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAILURE_KINDS:
            raise ValueError(f"failure kind must be one of {FAILURE_KINDS}, got {self.kind!r}")

    @property
    def retry_unchanged(self) -> bool:
        """Worth sending again with the same payload (after a lookup, for `unknown`)."""
        return self.kind != "data"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


class VendorUnreachable(ConnectionError):
    """No connection to a vendor could be opened (refused, unresolvable, or no answer to connect):
    nothing was sent, and nothing will be until the host answers. Raised by the clients after a
    short, bounded retry, so a run fails in seconds with one line, not after minutes of backoff."""

    def __init__(self, vendor: str, url: str, detail: str, hint: str):
        self.vendor, self.url, self.detail, self.hint = vendor, url, detail, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"cannot reach {self.vendor} at {self.url} ({self.detail}); {self.hint}"


def unreachable_hint(url: str, sandbox_url: str, env_var: str, command: str = "make sandbox") -> str:
    """What to check: the local sandbox when `url` is the sandbox's, else the configured URL."""
    if url.startswith(sandbox_url) or "127.0.0.1" in url or "localhost" in url:
        return f"is the sandbox running? Start it with `{command}` (or set {env_var} for a real tenant)"
    return f"check {env_var} and that this machine can reach that host"
