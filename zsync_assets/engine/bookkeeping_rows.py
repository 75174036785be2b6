"""The rows every writer of the bookkeeping tables appends (push, write-back, reversals):
`log_row`, `attempt_row` and `link_row`, so each table's rows have one shape (bookkeeping.py
holds the tables).
"""

from __future__ import annotations

from zsync_assets.engine.bookkeeping import now
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.sink import Outcome, Outgoing


def log_row(
    run_id: str,
    flow: Flow,
    source_id: str,
    action: str,
    status: str,
    *,
    outcome: Outcome | None = None,
    target_id: str | None = None,
    attempt_key: str | None = None,
    payload_hash: str | None = None,
) -> dict:
    """One `zsync.push_log` row; a failure's class is the vendor client's verdict, as given."""
    failure = outcome.failure if outcome is not None and not outcome.ok else None
    return {
        "run_id": run_id,
        "flow": flow.name,
        "source_id": source_id,
        "action": action,
        "status": status,
        "error_code": failure.code if failure else None,
        "error_class": failure.kind if failure else None,
        "message": failure.message if failure else None,
        "target_id": target_id,
        "attempt_key": attempt_key,
        "payload_hash": payload_hash,
    }


def attempt_row(
    run_id: str,
    flow: Flow,
    rec: Outgoing,
    hash_: str,
    status: str,
    outcome: Outcome | None = None,
    action: str | None = None,
) -> dict:
    return log_row(
        run_id,
        flow,
        rec.source_id,
        action or rec.action,
        status,
        outcome=outcome,
        target_id=outcome.target_id if outcome is not None else rec.target_id,
        attempt_key=rec.attempt_key,
        payload_hash=hash_,
    )


def link_row(flow: Flow, rec: Outgoing, hash_: str, body: str, target_id: str) -> dict:
    return {
        "flow": flow.name,
        "source_system": flow.source_system,
        "source_id": rec.source_id,
        "target_system": flow.target_system,
        "target_id": target_id,
        "origin": flow.source_system,
        "payload_hash": hash_,
        "payload": body,
        "synced_at": now(),
        "writeback_status": "pending" if flow.write_back else None,
    }
