"""Reversals, pushed: the planned `reverse` rows of a flow go to the target sink's `reverse`.

Runs before the flow's creates and updates (engine/assets.py), so a document deleted and
recreated at its source has its old counterpart undone before the new one is written (one
NetSuite payment of the new amount, never both against the same invoice).

Bookkeeping, like every write (push.py): a `started` row in `zsync.push_log` (action
`reverse`) before the vendor call, a result row after it, and on success the link gets
`reversed_at` / `reversal` (its write-back is settled: there is nothing more to tell a
canceled or deleted source). Crash safety needs no lookup of its own: reversing is
idempotent (NetSuite answers RCRD_DSNT_EXIST for a record deleted already, Zuora says the
document is Canceled already, and the sinks take both as done), so a reversal whose answer
was lost is simply sent again. A record that was never linked but whose create got no
answer is first looked up on the target (`Sink.lookup`); found, it is linked and reversed,
not found, the lookup is logged and the record is left alone from then on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.bookkeeping_rows import log_row
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.outgoing import attempt_key
from zsync_assets.engine.push import flow_lock
from zsync_assets.engine.reversals import REVERSE
from zsync_assets.engine.sink import Outcome, Outgoing, Reversal, Sink
from zsync_assets.lib.warehouse import Warehouse, table_exists

Log = Callable[[str], None]


@dataclass
class ReverseResult:
    reversed: int = 0
    failed: int = 0
    not_found: int = 0  # an unanswered create that never reached the target: nothing to reverse
    errors: dict[str, int] = field(default_factory=dict)

    def metadata(self) -> dict:
        return {"reversed": self.reversed, "reversal_failed": self.failed, "reversal_not_found": self.not_found}


def _planned(warehouse: Warehouse, flow: Flow) -> list[dict]:
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        if not table_exists(con, flow.plan_table):
            return []
        schema, table = flow.plan_table.split(".")
        rows = con.sql(f'select * from "{schema}"."{table}" where action = \'{REVERSE}\' order by source_id').pl()
        # Another run may have reversed some while this one waited for the flow lock.
        done = {
            r[0]
            for r in con.execute(
                "select source_id from zsync.links where flow = ? and reversed_at is not null", [flow.name]
            ).fetchall()
        }
    return [r for r in rows.to_dicts() if r["source_id"] not in done]


def _log(
    run_id: str,
    flow: Flow,
    source_id: str,
    action: str,
    status: str,
    target_id: str | None,
    outcome: Outcome | None = None,
) -> dict:
    """A reversal's attempt is keyed by the counterpart it undoes: there is no payload to hash."""
    return log_row(run_id, flow, source_id, action, status, outcome=outcome, target_id=target_id, attempt_key=target_id)


def _found_by_lookup(
    flow: Flow, warehouse: Warehouse, sink: Sink, rows: list[dict], run_id: str, result: ReverseResult
) -> dict[str, str]:
    """Targets of records whose create got no answer and that are not linked: looked up first."""
    unlinked = [r for r in rows if not r["target_id"]]
    if not unlinked:
        return {}
    outgoing = [
        Outgoing(
            r["source_id"],
            "create",
            r["record_type"] or flow.target_record_type,
            json.loads(r["payload"]),
            r["external_id"],
            attempt_key(flow.name, r["source_id"], r["payload_hash"]),
        )
        for r in unlinked
    ]
    found = sink.lookup(outgoing)
    now = bookkeeping.now()
    link_rows = [
        {
            "flow": flow.name,
            "source_system": flow.source_system,
            "source_id": r["source_id"],
            "target_system": flow.target_system,
            "target_id": found[r["source_id"]],
            "origin": flow.source_system,
            "payload_hash": r["payload_hash"],
            "payload": r["payload"],
            "synced_at": now,
        }
        for r in unlinked
        if r["source_id"] in found
    ]
    with warehouse.connect() as con:
        bookkeeping.log_attempts(
            con,
            [_log(run_id, flow, r["source_id"], "lookup", "succeeded", found.get(r["source_id"])) for r in unlinked],
        )
        bookkeeping.upsert_links(con, link_rows)
    result.not_found += len(unlinked) - len(found)
    return found


def reverse_flow(
    flow: Flow,
    warehouse: Warehouse,
    sink: Sink,
    config: Config,
    *,
    run_id: str | None = None,
    log: Log = lambda message: None,
) -> ReverseResult:
    run_id = run_id or uuid.uuid4().hex
    result = ReverseResult()
    with flow_lock(warehouse, flow.name):
        rows = _planned(warehouse, flow)
        if not rows:
            return result
        if not hasattr(sink, "reverse"):
            raise TypeError(f"the {sink.system} sink cannot reverse records (flow {flow.name})")
        found = _found_by_lookup(flow, warehouse, sink, rows, run_id, result)
        records = [
            Reversal(
                r["source_id"],
                r["record_type"] or flow.target_record_type,
                r["target_id"] or found[r["source_id"]],
                r["external_id"],
                r["reason"] or "",
            )
            for r in rows
            if r["target_id"] or r["source_id"] in found
        ]
        size = max(1, sink.batch_size(config, REVERSE))
        for start in range(0, len(records), size):
            _reverse_batch(flow, warehouse, sink, records[start : start + size], run_id, result)
        log(
            f"reverse {flow.name}: {result.reversed} reversed, {result.failed} failed, "
            f"{result.not_found} never reached {flow.target_system}"
        )
    return result


def _reverse_batch(
    flow: Flow, warehouse: Warehouse, sink: Sink, batch: list[Reversal], run_id: str, result: ReverseResult
) -> None:
    with warehouse.connect() as con:
        bookkeeping.log_attempts(con, [_log(run_id, flow, r.source_id, REVERSE, "started", r.target_id) for r in batch])
    # A sink raising here leaves the `started` rows unanswered: the next plan sends them again.
    outcomes = list(sink.reverse(batch))
    if len(outcomes) != len(batch):
        raise RuntimeError(f"sink {sink.system} returned {len(outcomes)} outcomes for {len(batch)} reversals")
    done = [(r, o) for r, o in zip(batch, outcomes, strict=True) if o.ok]
    with warehouse.connect() as con:
        bookkeeping.log_attempts(
            con,
            [
                _log(run_id, flow, r.source_id, REVERSE, "succeeded" if o.ok else "failed", r.target_id, o)
                for r, o in zip(batch, outcomes, strict=True)
            ],
        )
        if done:
            con.executemany(
                "update zsync.links set reversed_at = ?, reversal = ?, writeback_status = null "
                "where flow = ? and source_id = ?",
                [[bookkeeping.now(), r.reason[:500], flow.name, r.source_id] for r, _ in done],
            )
        bookkeeping.clear_requeue(con, flow.name, [r.source_id for r in batch])
    result.reversed += len(done)
    for outcome in outcomes:
        if not outcome.ok:
            result.failed += 1
            code = outcome.code or "UNKNOWN"
            result.errors[code] = result.errors.get(code, 0) + 1
