"""Write-back: after a push, the source records learn their counterparts (and the rejections
they have not heard of), through the source system's sink (`Flow.write_back`).
"""

from __future__ import annotations

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.bookkeeping_rows import log_row
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.sink import LinkNotice, Sink
from zsync_assets.lib.warehouse import Warehouse


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
        rejected = bookkeeping.read_unreported_rejections(con, flow.name).to_dicts()
    # (notice, attempt key): a rejection report carries the rejected attempt's key (see bookkeeping.py).
    todo = [(LinkNotice(r["source_id"], r["target_id"], True), None) for r in pending] + [
        (LinkNotice(r["source_id"], None, False, f"{r['error_code']}: {r['message'] or ''}"), r["attempt_key"])
        for r in rejected
    ]
    size = max(1, source_sink.batch_size(config, "update"))
    written = failed = 0
    assert flow.write_back is not None  # push calls this only for flows that write back
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        notices = [n for n, _ in chunk]
        outcomes = source_sink.write_back(flow.write_back, notices)
        log_rows = [
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
            for (n, key), o in zip(chunk, outcomes, strict=True)
        ]
        ok = [o.source_id for (n, _), o in zip(chunk, outcomes, strict=True) if o.ok and n.ok]
        bad = [o.source_id for (n, _), o in zip(chunk, outcomes, strict=True) if not o.ok and n.ok]
        with warehouse.connect() as con:
            bookkeeping.log_attempts(con, log_rows)
            bookkeeping.set_writeback(con, flow.name, ok, "ok")
            bookkeeping.set_writeback(con, flow.name, bad, "failed")
        written += sum(o.ok for o in outcomes)
        failed += sum(not o.ok for o in outcomes)
    return written, failed
