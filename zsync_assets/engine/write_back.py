"""Write-back: after a push, the source records learn their counterparts (and the rejections
they have not heard of), through the source system's sink (`Flow.write_back`).

Notices go out like a push's batches (sending.py): up to `parallel_batches` at once, so a Zuora
source, which takes one call per record, is told at its tenant's concurrency and not one record
after another. The calling thread alone writes the outcomes (bookkeeping_writer.py). A write-back
is idempotent (the same fields set to the same values), so a crash before its outcome is written
only leaves the notice pending: it is sent again on the next run.
"""

from __future__ import annotations

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.bookkeeping_rows import log_row
from zsync_assets.engine.bookkeeping_writer import ResultWriter
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.outgoing import chunks
from zsync_assets.engine.sending import in_parallel
from zsync_assets.engine.sink import LinkNotice, Outcome, Sink
from zsync_assets.lib.warehouse import Warehouse

# A notice and, for a rejection report, the rejected attempt's key (see bookkeeping.py).
_Todo = tuple[LinkNotice, str | None]


def write_back(flow: Flow, warehouse: Warehouse, source_sink: Sink, config: Config, run_id: str) -> tuple[int, int]:
    """Tell source records what happened: every link the source has not learnt yet, and every
    rejection it has not heard of (Zuora: `IntegrationStatus__NS = "Error"`), so that people
    working in the source system see the failure. Failed reports stay pending for the next run.
    Returns how many reports the source took and how many it refused."""
    with warehouse.connect() as con:
        pending = (
            con.sql(
                "select source_id, target_id from zsync.links where flow = $flow "
                "and writeback_status in ('pending', 'failed') order by source_id",
                params={"flow": flow.name},
            )
            .pl()
            .to_dicts()
        )
        # The push made sure of the tables (`pending`) before it wrote the links read here.
        rejected = bookkeeping.read_unreported_rejections(con, flow.name, ensure=False).to_dicts()
    todo: list[_Todo] = [(LinkNotice(r["source_id"], r["target_id"], True), None) for r in pending] + [
        (LinkNotice(r["source_id"], None, False, f"{r['error_code']}: {r['message'] or ''}"), r["attempt_key"])
        for r in rejected
    ]
    if not todo:
        return 0, 0
    declared = flow.write_back
    assert declared is not None  # push calls this only for flows that write back
    workers = max(1, source_sink.parallel_batches(config))
    batches = chunks(todo, max(1, source_sink.batch_size(config, "update")), workers)
    writer = ResultWriter(warehouse, flow.name)
    counts = {"written": 0, "failed": 0}

    def tell(chunk: list[_Todo]) -> tuple[list[_Todo], list[Outcome]]:  # a worker thread: the sink only
        return chunk, list(source_sink.write_back(declared, [n for n, _ in chunk]))

    def finished(told: tuple[list[_Todo], list[Outcome]]) -> None:  # the calling thread
        chunk, outcomes = told
        pairs = list(zip(chunk, outcomes, strict=True))
        writer.add(
            log_rows=[
                log_row(
                    run_id,
                    flow,
                    n.source_id,
                    "writeback",
                    "succeeded" if o.ok else "failed",
                    outcome=o,
                    target_id=n.target_id,
                    attempt_key=key,
                )
                for (n, key), o in pairs
            ],
            written_back=[o.source_id for (n, _), o in pairs if o.ok and n.ok],
            writeback_failed=[o.source_id for (n, _), o in pairs if not o.ok and n.ok],
        )
        counts["written"] += sum(o.ok for o in outcomes)
        counts["failed"] += sum(not o.ok for o in outcomes)

    try:
        in_parallel(tell, batches, workers, finished, [])
    finally:
        writer.flush()
    return counts["written"], counts["failed"]
