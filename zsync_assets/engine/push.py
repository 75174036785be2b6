"""Push: send a flow's planned creates/updates through a Sink, log every attempt, keep the links.

Crash safety, in order of events for one wave (records whose parents landed):
1. the `started` rows of every record of the wave go to `zsync.push_log` in ONE transaction,
   committed before the first vendor call of the wave;
2. the vendor calls run (up to `sink.parallel_batches(config)` batches at once, worker threads
   that touch nothing but the sink); the DuckDB file is not held for them;
3. one writer, the calling thread, appends the result rows and links of finished batches in
   bulk: one transaction per flush (bookkeeping_writer.py: every `FLUSH_ROWS` results or
   `FLUSH_S` seconds, and at the end of the wave).
A crash between 1 and 3 leaves `started` rows without a result: the next plan marks those
records `needs_lookup`, and this module finds them on the target (NetSuite: externalId;
Zuora: IntegrationId__NS) before anything is re-sent, so the record exists exactly once. A batch
the push never sent (a sink raised in another batch and the rest were cancelled) gets a
`failed` row of class transient, code `NOT_SENT`: sent next run, no lookup needed.

Within a wave the vendor allows several concurrent requests (NetSuite: the account's
concurrency; Zuora: 40 per tenant by default), so batches go out side by side, as many as
the workers or a multiple of them (outgoing.py `chunks`). Link
references are resolved, and results counted, in the calling thread; a wave starts only after
every batch of the previous wave has finished and its results are written.

Only one push of a flow runs at a time, across processes and runs (a file lock next to the
warehouse); Dagster's `pool` on the asset additionally caps concurrent API steps.

Around it: outgoing.py picks the rows to send and makes records and batches of them,
link_refs.py fills link references, sending.py runs batches side by side and splits
one the vendor refused as a whole, bookkeeping.py shapes the rows, write_back.py tells the
source afterwards.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from filelock import FileLock, Timeout

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.bookkeeping_rows import attempt_row, link_row
from zsync_assets.engine.bookkeeping_writer import ResultWriter
from zsync_assets.engine.flow import LINK_REF, Flow
from zsync_assets.engine.instance import bind_instances
from zsync_assets.engine.link_refs import Linked, read_linked
from zsync_assets.engine.outgoing import chunks, not_synced_meanwhile, outgoing, pending, prepare_batch, write_action
from zsync_assets.engine.plan import SENDABLE
from zsync_assets.engine.push_result import PushResult
from zsync_assets.engine.sending import in_parallel, write_isolating
from zsync_assets.engine.sink import Outcome, Outgoing, Sink
from zsync_assets.engine.write_back import write_back
from zsync_assets.lib.failure import Failure
from zsync_assets.lib.warehouse import Warehouse

Log = Callable[[str], None]


class PushLocked(RuntimeError):
    pass


@contextmanager
def flow_lock(warehouse: Warehouse, flow: str, timeout_s: float = 1800.0, *, work: str = "push") -> Iterator[None]:
    """One `work` ("push", "plan") of `flow` at a time on this warehouse, across processes."""
    path = warehouse.path.parent / f".{warehouse.path.name}.{work}-{flow}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path), timeout=timeout_s):
            yield
    except Timeout as exc:
        raise PushLocked(f"another {work} of flow {flow!r} held {path} for {timeout_s:.0f}s") from exc


def bind_sinks(warehouse: Warehouse, sinks: Sequence[Sink]) -> None:
    bind_instances(warehouse, {s.system: s.instance_id() for s in sinks})  # ids first: network calls


# One line per sent batch, for a terminal watching a long push (`zsync demo` prints this logger).
PROGRESS = logging.getLogger("zsync.progress")


def push_flow(
    flow: Flow,
    warehouse: Warehouse,
    sink: Sink,
    config: Config,
    *,
    source_sink: Sink | None = None,
    run_id: str | None = None,
    log: Log = lambda message: None,
) -> PushResult:
    run_id = run_id or uuid.uuid4().hex
    result = PushResult()
    with flow_lock(warehouse, flow.name):
        bind_sinks(warehouse, [s for s in (sink, source_sink) if s is not None])
        plan = pending(warehouse, flow)
        rows = not_synced_meanwhile(warehouse, flow, plan.to_dicts(), result, log)
        found = _resolve_unanswered(flow, warehouse, sink, rows, run_id, result, log)
        rows = [{**r, "target_id": found[r["source_id"]]} if found.get(r["source_id"]) else r for r in rows]
        linked = read_linked(warehouse) if any(LINK_REF in r["payload"] for r in rows) else {}
        failed_ids: set[str] = set()
        parallel = max(1, sink.parallel_batches(config))
        for wave in sorted({r["wave"] for r in rows}):
            ready = []
            for row in (r for r in rows if r["wave"] == wave):
                if row["after"] in failed_ids:
                    failed_ids.add(row["source_id"])
                    result.deferred += 1
                    continue
                ready.append(row)
            # A batch holds one action (one list call: upsertList or updateList); creates and
            # updates of a wave are independent records, so their batches go out together.
            batches = []
            for action in SENDABLE:
                for chunk in chunks(
                    [r for r in ready if write_action(r) == action], sink.batch_size(config, action), parallel
                ):
                    records, waiting = prepare_batch(flow, chunk, linked)
                    failed_ids |= waiting
                    result.deferred += len(waiting)
                    if records:
                        batches.append(_Batch(records, chunk))
            failed_ids |= _send_wave(flow, warehouse, sink, batches, parallel, run_id, result, linked)
        log(f"push {flow.name}: {result.succeeded} ok, {result.failed} failed, {result.deferred} deferred")
        if flow.write_back and source_sink is not None:
            result.written_back, result.writeback_failed = write_back(flow, warehouse, source_sink, config, run_id)
    return result


def _resolve_unanswered(
    flow: Flow, warehouse: Warehouse, sink: Sink, rows: list[dict], run_id: str, result: PushResult, log: Log
) -> dict[str, str]:
    """Look up records whose last attempt got no answer; found ones are updated, not re-created."""
    unanswered = [outgoing(flow, r) for r in rows if r["needs_lookup"]]
    if not unanswered:
        return {}
    found = sink.lookup(unanswered)
    hashes = {r["source_id"]: r["payload_hash"] for r in rows}
    log_rows = [
        attempt_row(
            run_id,
            flow,
            rec,
            hashes[rec.source_id],
            "succeeded",
            Outcome(rec.source_id, True, found.get(rec.source_id)),
            action="lookup",
        )
        for rec in unanswered
    ]
    with warehouse.connect() as con:
        bookkeeping.log_attempts(con, log_rows)
    result.resolved_by_lookup = len(found)
    if found:
        log(f"push {flow.name}: {len(found)} unanswered earlier attempt(s) found on the target")
    return found


@dataclass
class _Batch:
    records: list[Outgoing]
    chunk: list[dict]  # the plan rows of `records`
    outcomes: list[Outcome] = field(default_factory=list)
    link_rows: list[dict] = field(default_factory=list)


def _send_wave(
    flow: Flow,
    warehouse: Warehouse,
    sink: Sink,
    batches: list[_Batch],
    workers: int,
    run_id: str,
    result: PushResult,
    linked: Linked,
) -> set[str]:
    """Steps 1-3 for one wave; returns the ids that failed (their children wait)."""
    if not batches:
        return set()
    hashes = {r["source_id"]: r["payload_hash"] for b in batches for r in b.chunk}
    with warehouse.connect() as con:  # 1: every started row of the wave, durable before any call
        bookkeeping.log_attempts(
            con,
            [attempt_row(run_id, flow, rec, hashes[rec.source_id], "started") for b in batches for rec in b.records],
            ensure=False,  # `pending` made sure of the tables
        )
    writer, failed, done = ResultWriter(warehouse, flow.name), set(), []

    def finished(batch: _Batch) -> None:  # 3, in the calling thread
        nonlocal failed
        bodies = {r["source_id"]: r["payload"] for r in batch.chunk}
        log_rows = []
        for rec, outcome in zip(batch.records, batch.outcomes, strict=True):
            hash_ = hashes[rec.source_id]
            status = "succeeded" if outcome.ok else "failed"
            log_rows.append(attempt_row(run_id, flow, rec, hash_, status, outcome))
            if outcome.ok and outcome.target_id:
                batch.link_rows.append(link_row(flow, rec, hash_, bodies[rec.source_id], outcome.target_id))
        writer.add(log_rows, batch.link_rows, [r.source_id for r in batch.records])
        failed |= _tally(flow, batch, result, linked)
        done.append(batch)
        PROGRESS.info(
            "push %s: batch %d of %d sent (%d ok, %d failed so far)",
            flow.name,
            len(done),
            len(batches),
            result.succeeded,
            result.failed,
        )

    unsent: list[_Batch] = []
    try:
        in_parallel(lambda batch: _call(sink, batch), batches, workers, finished, unsent)
    finally:
        for batch in unsent:
            writer.add(
                [
                    attempt_row(
                        run_id, flow, rec, hashes[rec.source_id], "failed", Outcome.failed(rec.source_id, _NOT_SENT)
                    )
                    for rec in batch.records
                ]
            )
        writer.flush()
    return failed


_NOT_SENT = Failure("transient", "NOT_SENT", "the push stopped before this batch was sent; sent on the next run")


def _call(sink: Sink, batch: _Batch) -> _Batch:
    """Step 2 (in a worker thread: touches the sink only). A sink raising here leaves the batch's
    `started` rows unanswered on purpose: the outcome is unknown, and the next run looks it up."""
    batch.outcomes = write_isolating(sink, batch.records)
    return batch


def _tally(flow: Flow, sent: _Batch, result: PushResult, linked: Linked) -> set[str]:
    """Count one batch's outcomes (calling thread only) and learn its links for later waves."""
    failed = set()
    for rec, outcome in zip(sent.records, sent.outcomes, strict=True):
        result.sent += 1
        if outcome.ok and outcome.target_id:
            result.succeeded += 1
            continue
        result.failed += 1
        failed.add(rec.source_id)
        code = outcome.code or "UNKNOWN"
        result.errors[code] = result.errors.get(code, 0) + 1
        if len(result.failures) < 20:
            result.failures.append({"source_id": rec.source_id, "code": code, "message": (outcome.message or "")[:200]})
    linked.update({(flow.name, link["source_id"]): link["target_id"] for link in sent.link_rows})
    return failed
