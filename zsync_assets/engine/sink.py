"""The one interface between the engine and a vendor: a `Sink` writes, looks up and writes back.

Vendor knowledge (record shapes, list calls, idempotency headers, custom field names) lives in
`zsync_assets/targets/`; the engine only hands over payload dicts and gets per-record outcomes.
A failed outcome carries the vendor client's verdict (`Failure`: transient, data or unknown);
the engine reads it and never re-parses codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from zsync_assets.config import Config
from zsync_assets.engine.flow import WriteBack
from zsync_assets.lib.failure import Failure, FailureKind


@dataclass(frozen=True)
class Outgoing:
    """One record to write: created, or updated in place when `target_id` is known."""

    source_id: str
    action: Literal["create", "update"]
    record_type: str
    payload: dict[str, Any]
    external_id: str  # deterministic: `zsync:<flow>:<source id>`
    attempt_key: str  # hash(flow, source id, payload hash): Zuora's Idempotency-Key
    target_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    source_id: str
    ok: bool
    target_id: str | None = None
    failure: Failure | None = None  # set when not ok

    def __post_init__(self) -> None:
        if not self.ok and self.failure is None:
            raise ValueError(f"outcome of {self.source_id} failed without a Failure verdict")

    @classmethod
    def failed(cls, source_id: str, failure: Failure) -> Outcome:
        return cls(source_id, False, None, failure)

    @property
    def code(self) -> str | None:
        return self.failure.code if self.failure else None

    @property
    def message(self) -> str | None:
        return self.failure.message if self.failure else None

    @property
    def kind(self) -> FailureKind | None:
        return self.failure.kind if self.failure else None


@dataclass(frozen=True)
class Reversal:
    """One counterpart to undo because its source document was canceled or deleted."""

    source_id: str
    record_type: str
    target_id: str  # the counterpart a link (or a lookup of an unanswered create) names
    external_id: str
    reason: str  # the flow's words, e.g. "payment was canceled in Zuora"


@dataclass(frozen=True)
class LinkNotice:
    """What the source record learns after a push (write-back)."""

    source_id: str
    target_id: str | None
    ok: bool  # False: the record failed to sync; `message` says why
    message: str | None = None


class Sink(Protocol):
    system: str  # "zuora" | "netsuite"

    def instance_id(self) -> str:
        """The tenant / account this sink writes to (bound in zsync.instance on first push)."""
        ...

    def batch_size(self, config: Config, action: str) -> int: ...

    def parallel_batches(self, config: Config) -> int:
        """How many batches the engine may send at once (1: one after another). `write` must
        then be safe to call from several threads; the vendor client's own limits still apply."""
        ...

    def write(self, records: Sequence[Outgoing]) -> list[Outcome]:
        """Write a batch; one Outcome per record, in order. One bad record never fails the rest."""
        ...

    def lookup(self, records: Sequence[Outgoing]) -> dict[str, str]:
        """Find records an unanswered earlier attempt may have created: source id -> target id."""
        ...

    def reverse(self, records: Sequence[Reversal]) -> list[Outcome]:
        """Undo each counterpart the way the target's accountants accept (NetSuite: delete the
        transaction; Zuora: cancel the document); one Outcome per record, in order. Idempotent:
        a counterpart already gone or canceled is a success. A refusal carries the vendor's
        reason as a `data` failure (the record then waits for a person, audit.manual_actions)."""
        ...

    def write_back(self, write_back: WriteBack, notices: Sequence[LinkNotice]) -> list[Outcome]:
        """Tell source records about their counterpart, as the flow declares (record type, and
        the field that holds the link); idempotent: same notice, same result."""
        ...
