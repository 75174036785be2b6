"""What one push did, counted: the numbers a push step reports as its metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class PushResult:
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    deferred: int = 0  # children whose parent failed in this run: planned again next run
    already_synced: int = 0  # linked by another run while this one waited for the flow lock
    resolved_by_lookup: int = 0
    written_back: int = 0
    writeback_failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # code -> count
    failures: list[dict] = field(default_factory=list)  # first few, for metadata

    def metadata(self) -> dict:
        return {
            "sent": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "deferred": self.deferred,
            "already_synced": self.already_synced,
            "resolved_by_lookup": self.resolved_by_lookup,
            "written_back": self.written_back,
            "writeback_failed": self.writeback_failed,
            "errors_by_code": json.dumps(self.errors, sort_keys=True),
        }
