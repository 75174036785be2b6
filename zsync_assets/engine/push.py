"""Push: send a flow's planned creates/updates through a Sink, log every attempt, keep the links.

Crash safety, in order of events for one wave (records of one action whose parents landed):
1. the `started` rows of every record of the wave go to `zsync.push_log` in ONE transaction,
   committed before the first vendor call of the wave;
2. the vendor calls run (up to `sink.parallel_batches(config)` batches at once, worker threads
   that touch nothing but the sink); the DuckDB file is not held for them;
3. one writer, the calling thread, appends the result rows and links of finished batches in
   bulk: one transaction per flush (every `_FLUSH_ROWS` results or `_FLUSH_S` seconds, and at
   the end of the wave).
A crash between 1 and 3 leaves `started` rows without a result: the next plan marks those
records `needs_lookup`, and this module finds them on the target (NetSuite: externalId;
Zuora: IntegrationId__NS) before anything is re-sent, so the record exists exactly once. A batch
the push never sent (a sink raised in another batch and the rest were cancelled) gets a
`failed` row of class transient, code `NOT_SENT`: sent next run, no lookup needed.

Within a wave and action the vendor allows several concurrent requests (NetSuite: the
account's concurrency; Zuora: 40 per tenant by default), so batches go out side by side. Link
references are resolved, and results counted, in the calling thread; a wave starts only after
every batch of the previous wave has finished and its results are written.

Only one push of a flow runs at a time, across processes and runs (a file lock next to the
warehouse); Dagster's `pool` on the asset additionally caps concurrent API steps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl
from filelock import FileLock, Timeout

from zsync_assets.config import Config
from zsync_assets.engine import links as store
from zsync_assets.engine.flow import LINK_REF, Flow
from zsync_assets.engine.instance import bind_instances
from zsync_assets.engine.plan import SENDABLE
from zsync_assets.engine.sink import LinkNotice, Outcome, Outgoing, Sink
from zsync_assets.lib.failure import Failure
from zsync_assets.lib.warehouse import Warehouse, scalar

Log = Callable[[str], None]


class PushLocked(RuntimeError):
    pass


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
            "sent": self.sent, "succeeded": self.succeeded, "failed": self.failed,
            "deferred": self.deferred, "already_synced": self.already_synced,
            "resolved_by_lookup": self.resolved_by_lookup,
            "written_back": self.written_back, "writeback_failed": self.writeback_failed,
            "errors_by_code": json.dumps(self.errors, sort_keys=True),
        }


def attempt_key(flow: str, source_id: str, payload_hash: str) -> str:
    """Zuora replays a key's first answer for 24 h, failures included: the payload hash is part
    of the key so that a fixed record is sent afresh instead of replaying the old failure."""
    return hashlib.sha256(f"{flow}|{source_id}|{payload_hash}".encode()).hexdigest()[:40]


@contextmanager
def flow_lock(warehouse: Warehouse, flow: str, timeout_s: float = 1800.0) -> Iterator[None]:
    path = warehouse.path.parent / f".{warehouse.path.name}.push-{flow}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path), timeout=timeout_s):
            yield
    except Timeout as exc:
        raise PushLocked(f"another push of flow {flow!r} held {path} for {timeout_s:.0f}s") from exc


def _pending(warehouse: Warehouse, flow: Flow) -> pl.DataFrame:
    with warehouse.connect() as con:
        store.ensure_tables(con)
        if not store.table_exists(con, flow.plan_table):
            return pl.DataFrame()
        schema, table = flow.plan_table.split(".")
        return con.sql(
            f'select * from "{schema}"."{table}" where action in (\'create\', \'update\') '
            "order by wave, source_id"
        ).pl()


def has_work(warehouse: Warehouse, flow: Flow) -> bool:
    """Whether a push of `flow` would call a vendor at all: a planned create/update/reverse, or a link or
    rejection the source has not been told of. False lets the push step skip building clients."""
    with warehouse.connect() as con:
        store.ensure_tables(con)
        if not store.table_exists(con, flow.plan_table):
            return True  # push_flow says what is missing
        schema, table = flow.plan_table.split(".")
        if scalar(con, f'select count(*) from "{schema}"."{table}" where action in (\'create\', \'update\', \'reverse\')'):
            return True
        if flow.write_back is None:
            return False
        if scalar(con, "select count(*) from zsync.links where flow = ? and writeback_status in ('pending', 'failed')",
                  [flow.name]):
            return True
        return not store.read_unreported_rejections(con, flow.name).is_empty()


Linked = dict[tuple[str, str], str]  # (flow, source id) -> target id


class UnresolvedLink(LookupError):
    pass


def resolve_link_refs(value, linked: Linked):
    """Replace every `{"$link": {"flow", "source_id"}}` in a payload by that record's target id."""
    if isinstance(value, dict):
        if set(value) == {LINK_REF}:
            ref = value[LINK_REF]
            key = (ref["flow"], str(ref["source_id"]))
            if key not in linked:
                raise UnresolvedLink(f"{ref['flow']} record {ref['source_id']} is not synced")
            return linked[key]
        return {k: resolve_link_refs(v, linked) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_link_refs(v, linked) for v in value]
    return value


def _read_linked(warehouse: Warehouse) -> Linked:
    with warehouse.connect() as con:
        store.ensure_tables(con)
        # A reversed counterpart (deleted / canceled in the target) is nothing to refer to.
        rows = con.execute("select flow, source_id, target_id from zsync.links where reversed_at is null").fetchall()
    return {(f, s): t for f, s, t in rows}


def _outgoing(flow: Flow, row: dict, target_id: str | None = None, linked: Linked | None = None) -> Outgoing:
    target = target_id or row["target_id"]
    payload = json.loads(row["payload"])
    return Outgoing(
        source_id=row["source_id"],
        action="update" if target else "create",
        record_type=row["record_type"] or flow.target_record_type,
        payload=resolve_link_refs(payload, linked) if linked is not None else payload,
        external_id=row["external_id"],
        attempt_key=attempt_key(flow.name, row["source_id"], row["payload_hash"]),
        target_id=target,
    )


def _log_row(run_id: str, flow: Flow, source_id: str, action: str, status: str, *,
             outcome: Outcome | None = None, target_id: str | None = None,
             attempt_key: str | None = None, payload_hash: str | None = None) -> dict:
    """One `zsync.push_log` row; a failure's class is the vendor client's verdict, as given."""
    failure = outcome.failure if outcome is not None and not outcome.ok else None
    return {
        "run_id": run_id, "flow": flow.name, "source_id": source_id, "action": action, "status": status,
        "error_code": failure.code if failure else None, "error_class": failure.kind if failure else None,
        "message": failure.message if failure else None,
        "target_id": target_id,
        "attempt_key": attempt_key, "payload_hash": payload_hash,
    }


def _attempt_row(run_id: str, flow: Flow, rec: Outgoing, hash_: str, status: str,
                 outcome: Outcome | None = None, action: str | None = None) -> dict:
    return _log_row(run_id, flow, rec.source_id, action or rec.action, status, outcome=outcome,
                    target_id=outcome.target_id if outcome is not None else rec.target_id,
                    attempt_key=rec.attempt_key, payload_hash=hash_)


def _link_row(flow: Flow, rec: Outgoing, hash_: str, body: str, target_id: str) -> dict:
    return {
        "flow": flow.name, "source_system": flow.source_system, "source_id": rec.source_id,
        "target_system": flow.target_system, "target_id": target_id, "origin": flow.source_system,
        "payload_hash": hash_, "payload": body, "synced_at": store.now(),
        "writeback_status": "pending" if flow.write_back else None,
    }


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
        plan = _pending(warehouse, flow)
        rows = _not_synced_meanwhile(warehouse, flow, plan.to_dicts(), result, log)
        targets = _resolve_unanswered(flow, warehouse, sink, rows, run_id, result, log)
        linked = _read_linked(warehouse) if any(LINK_REF in r["payload"] for r in rows) else {}
        failed_ids: set[str] = set()
        parallel = max(1, sink.parallel_batches(config))
        # A list-call sink keeps full batches (3 changes: one call); a sink making one call per
        # record gains nothing from a full batch and spreads a small wave over the workers.
        spread = parallel if getattr(sink, "one_call_per_record", False) else 1
        for wave in sorted({r["wave"] for r in rows}):
            ready = []
            for row in (r for r in rows if r["wave"] == wave):
                if row["after"] in failed_ids:
                    failed_ids.add(row["source_id"])
                    result.deferred += 1
                    continue
                ready.append(row)
            for action in SENDABLE:
                batch_rows = [r for r in ready if ("update" if targets.get(r["source_id"]) or r["target_id"]
                                                   else "create") == action]
                batches = []
                for chunk in _chunks(batch_rows, sink.batch_size(config, action), spread):
                    records, waiting = _prepare_batch(flow, chunk, targets, linked)
                    failed_ids |= waiting
                    result.deferred += len(waiting)
                    if records:
                        batches.append(_Batch(records, chunk))
                failed_ids |= _send_wave(flow, warehouse, sink, batches, parallel, run_id, result, linked, action)
        log(f"push {flow.name}: {result.succeeded} ok, {result.failed} failed, {result.deferred} deferred")
        if flow.write_back and source_sink is not None:
            _write_back(flow, warehouse, source_sink, config, run_id, result)
    return result


def _not_synced_meanwhile(warehouse: Warehouse, flow: Flow, rows: list[dict], result: PushResult,
                          log: Log) -> list[dict]:
    """The plan was made before this push got the flow lock; another run may have pushed the same
    records meanwhile (two runs at once). A row whose payload is now linked is done; a create whose
    record got linked meanwhile becomes an update of that target record."""
    if not rows:
        return rows
    with warehouse.connect() as con:
        linked = {s: (t, h) for s, t, h in con.execute(
            "select source_id, target_id, payload_hash from zsync.links where flow = ? and reversed_at is null",
            [flow.name]).fetchall()}
    pending = []
    for row in rows:
        link = linked.get(row["source_id"])
        if link and link[1] == row["payload_hash"]:
            result.already_synced += 1
            continue
        pending.append({**row, "target_id": row["target_id"] or link[0]} if link else row)
    if result.already_synced:
        log(f"push {flow.name}: {result.already_synced} record(s) were synced by another run meanwhile")
    return pending


def _resolve_unanswered(flow: Flow, warehouse: Warehouse, sink: Sink, rows: list[dict],
                        run_id: str, result: PushResult, log: Log) -> dict[str, str]:
    """Look up records whose last attempt got no answer; found ones are updated, not re-created."""
    unanswered = [_outgoing(flow, r) for r in rows if r["needs_lookup"]]
    if not unanswered:
        return {}
    found = sink.lookup(unanswered)
    hashes = {r["source_id"]: r["payload_hash"] for r in rows}
    log_rows = [
        _attempt_row(run_id, flow, rec, hashes[rec.source_id], "succeeded",
                     Outcome(rec.source_id, True, found.get(rec.source_id)), action="lookup")
        for rec in unanswered
    ]
    with warehouse.connect() as con:
        store.log_attempts(con, log_rows)
    result.resolved_by_lookup = len(found)
    if found:
        log(f"push {flow.name}: {len(found)} unanswered earlier attempt(s) found on the target")
    return found


def _chunks(rows: list[dict], batch_size: int, spread: int) -> list[list[dict]]:
    """Batches of at most `batch_size`, and at least `spread` of them when there are enough rows
    (Zuora writes one record per call: 100 records in 2 batches of 50 would use 2 workers of 4)."""
    size = max(1, min(batch_size, math.ceil(len(rows) / max(1, spread))))
    return [rows[start:start + size] for start in range(0, len(rows), size)]


def _prepare_batch(flow: Flow, chunk: list[dict], targets: dict[str, str],
                   linked: Linked) -> tuple[list[Outgoing], set[str]]:
    """The batch's records with link references filled in, and the ids that must wait."""
    records, waiting = [], set()
    for row in chunk:
        try:
            records.append(_outgoing(flow, row, targets.get(row["source_id"]), linked))
        except UnresolvedLink:
            # The referenced record failed earlier in this push (or vanished): planned again next run.
            waiting.add(row["source_id"])
    return records, waiting


@dataclass
class _Batch:
    records: list[Outgoing]
    chunk: list[dict]  # the plan rows of `records`
    outcomes: list[Outcome] = field(default_factory=list)
    link_rows: list[dict] = field(default_factory=list)


_FLUSH_ROWS = 2000  # result rows buffered before they are written...
_FLUSH_S = 2.0  # ...or seconds since the last write: what a crash can leave to the next lookup


class _Writer:
    """The one writer of a wave's results: buffers log rows, links and cleared re-queues and
    appends them in one transaction per flush (the push's only DuckDB writes during sending)."""

    def __init__(self, warehouse: Warehouse, flow: Flow):
        self.warehouse, self.flow = warehouse, flow
        self.log_rows: list[dict] = []
        self.link_rows: list[dict] = []
        self.done: list[str] = []
        self.last = time.monotonic()

    def add(self, log_rows: list[dict], link_rows: list[dict], source_ids: list[str]) -> None:
        self.log_rows += log_rows
        self.link_rows += link_rows
        self.done += source_ids
        if len(self.log_rows) >= _FLUSH_ROWS or time.monotonic() - self.last >= _FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.log_rows or self.link_rows:
            with self.warehouse.connect() as con:
                con.execute("begin transaction")
                try:
                    store.log_attempts(con, self.log_rows)
                    store.upsert_links(con, self.link_rows)
                    store.clear_requeue(con, self.flow.name, self.done)
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
        self.log_rows, self.link_rows, self.done = [], [], []
        self.last = time.monotonic()


def _send_wave(flow: Flow, warehouse: Warehouse, sink: Sink, batches: list[_Batch], workers: int,
               run_id: str, result: PushResult, linked: Linked, action: str) -> set[str]:
    """Steps 1-3 for one wave of one action; returns the ids that failed (their children wait)."""
    if not batches:
        return set()
    hashes = {r["source_id"]: r["payload_hash"] for b in batches for r in b.chunk}
    with warehouse.connect() as con:  # 1: every started row of the wave, durable before any call
        store.log_attempts(con, [_attempt_row(run_id, flow, rec, hashes[rec.source_id], "started")
                                 for b in batches for rec in b.records])
    writer, failed, done = _Writer(warehouse, flow), set(), []

    def finished(batch: _Batch) -> None:  # 3, in the calling thread
        nonlocal failed
        bodies = {r["source_id"]: r["payload"] for r in batch.chunk}
        log_rows = []
        for rec, outcome in zip(batch.records, batch.outcomes, strict=True):
            hash_ = hashes[rec.source_id]
            log_rows.append(_attempt_row(run_id, flow, rec, hash_, "succeeded" if outcome.ok else "failed", outcome))
            if outcome.ok and outcome.target_id:
                batch.link_rows.append(_link_row(flow, rec, hash_, bodies[rec.source_id], outcome.target_id))
        writer.add(log_rows, batch.link_rows, [r.source_id for r in batch.records])
        failed |= _tally(flow, batch, result, linked)
        done.append(batch)
        PROGRESS.info("push %s: %s batch %d of %d sent (%d ok, %d failed so far)", flow.name, action,
                      len(done), len(batches), result.succeeded, result.failed)

    unsent: list[_Batch] = []
    try:
        _in_parallel(lambda batch: _call(sink, batch), batches, workers, finished, unsent)
    finally:
        for batch in unsent:
            writer.add([_attempt_row(run_id, flow, rec, hashes[rec.source_id], "failed",
                                     Outcome.failed(rec.source_id, _NOT_SENT)) for rec in batch.records], [], [])
        writer.flush()
    return failed


_NOT_SENT = Failure("transient", "NOT_SENT", "the push stopped before this batch was sent; sent on the next run")


def _call(sink: Sink, batch: _Batch) -> _Batch:
    """Step 2 (in a worker thread: touches the sink only). A sink raising here leaves the batch's
    `started` rows unanswered on purpose: the outcome is unknown, and the next run looks it up."""
    batch.outcomes = write_isolating(sink, batch.records)
    return batch


def _refused_as_a_whole(outcome: Outcome) -> bool:
    failure = outcome.failure
    return failure is not None and failure.whole_request and failure.kind == "data"


def write_isolating(sink: Sink, records: Sequence[Outgoing]) -> list[Outcome]:
    """`sink.write`, splitting a batch the vendor refused as a whole for its data (a NetSuite
    fault over one value its schema rejects) until the bad records stand alone: every other
    record lands in this run, and only the bad ones fail, with the vendor's message. A whole-
    request refusal means nothing was written, so re-sending the halves is safe; one bad record
    in 100 costs about 2 x log2(100) = 14 more calls."""
    outcomes = list(sink.write(records))
    if len(outcomes) != len(records):
        raise RuntimeError(f"sink {sink.system} returned {len(outcomes)} outcomes for {len(records)} records")
    refused = [i for i, outcome in enumerate(outcomes) if _refused_as_a_whole(outcome)]
    if len(refused) > 1:
        half = len(refused) // 2
        for part in (refused[:half], refused[half:]):
            for i, outcome in zip(part, write_isolating(sink, [records[i] for i in part]), strict=True):
                outcomes[i] = outcome
    return outcomes


def _in_parallel(send: Callable[[_Batch], _Batch], batches: list[_Batch], workers: int,
                 finished: Callable[[_Batch], None], unsent: list[_Batch]) -> None:
    """`send` each batch, up to `workers` at once, and hand each to `finished` as it completes.
    If one raises, batches not started yet are cancelled (listed in `unsent`), those in flight
    finish (their results are written), and the error propagates."""
    if workers <= 1 or len(batches) <= 1:
        for i, batch in enumerate(batches):
            try:
                finished(send(batch))
            except BaseException:
                unsent.extend(batches[i + 1:])
                raise
        return
    # At most `workers` batches are submitted at a time, so each one submitted runs at once; after
    # an error nothing more is submitted, and the ones in flight finish.
    queue, error = iter(batches), None
    with ThreadPoolExecutor(max_workers=min(workers, len(batches)), thread_name_prefix="zsync-push") as pool:
        in_flight: dict[Future, _Batch] = {}
        for first in (next(queue, None) for _ in range(workers)):
            if first is not None:
                in_flight[pool.submit(send, first)] = first
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                del in_flight[future]
                if future.exception() is not None:
                    error = error or future.exception()
                    continue
                finished(future.result())
                following = next(queue, None) if error is None else None
                if following is not None:
                    in_flight[pool.submit(send, following)] = following
    if error is not None:
        unsent.extend(queue)
        raise error


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
            result.failures.append({"source_id": rec.source_id, "code": code,
                                    "message": (outcome.message or "")[:200]})
    linked.update({(flow.name, link["source_id"]): link["target_id"] for link in sent.link_rows})
    return failed


def _write_back(flow: Flow, warehouse: Warehouse, source_sink: Sink, config: Config,
                run_id: str, result: PushResult) -> None:
    """Tell source records what happened: every link the source has not learnt yet, and every
    rejection it has not heard of (Zuora: `IntegrationStatus__NS = "Error"`), so that people
    working in the source system see the failure. Failed reports stay pending for the next run."""
    with warehouse.connect() as con:
        pending = con.sql(
            "select source_id, target_id from zsync.links where flow = $flow "
            "and writeback_status in ('pending', 'failed') order by source_id",
            params={"flow": flow.name},
        ).pl().to_dicts()
        rejected = store.read_unreported_rejections(con, flow.name).to_dicts()
    # (notice, attempt key): a rejection report carries the rejected attempt's key (see links.py).
    todo = [(LinkNotice(r["source_id"], r["target_id"], True), None) for r in pending] + [
        (LinkNotice(r["source_id"], None, False, f"{r['error_code']}: {r['message'] or ''}"), r["attempt_key"])
        for r in rejected
    ]
    size = max(1, source_sink.batch_size(config, "update"))
    assert flow.write_back is not None  # push calls this only for flows that write back
    for start in range(0, len(todo), size):
        chunk = todo[start:start + size]
        notices = [n for n, _ in chunk]
        outcomes = source_sink.write_back(flow.write_back.record_type, notices)
        log_rows = [
            _log_row(run_id, flow, n.source_id, "writeback", "succeeded" if o.ok else "failed", outcome=o,
                     target_id=n.target_id, attempt_key=key)
            for (n, key), o in zip(chunk, outcomes, strict=True)
        ]
        ok = [o.source_id for (n, _), o in zip(chunk, outcomes, strict=True) if o.ok and n.ok]
        bad = [o.source_id for (n, _), o in zip(chunk, outcomes, strict=True) if not o.ok and n.ok]
        with warehouse.connect() as con:
            store.log_attempts(con, log_rows)
            store.set_writeback(con, flow.name, ok, "ok")
            store.set_writeback(con, flow.name, bad, "failed")
        result.written_back += sum(o.ok for o in outcomes)
        result.writeback_failed += sum(not o.ok for o in outcomes)
