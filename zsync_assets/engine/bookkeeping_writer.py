"""The one writer of a push's results: it buffers push-log rows, links, cleared re-queues and
write-back statuses, and appends them in one transaction per flush.

Vendor calls run in worker threads (sending.py) and only the calling thread writes here, so the
warehouse is opened once per flush instead of once per batch: a push of 10,000 records at 40
calls at once would otherwise open DuckDB and write (15-20 ms of CPU) for every batch, under the
file lock every other step of the run waits on. What a crash leaves unwritten is at most one
flush: `started` rows without a result, which the next plan looks up on the target
(engine/push.py), or write-back notices still `pending`, sent again (write-backs are idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from zsync_assets.engine import bookkeeping
from zsync_assets.lib.warehouse import Warehouse

FLUSH_ROWS = 2000  # result rows buffered before they are written...
FLUSH_S = 2.0  # ...or seconds since the last write: what a crash can leave to the next lookup


class ResultWriter:
    def __init__(self, warehouse: Warehouse, flow: str):
        self.warehouse, self.flow = warehouse, flow
        self.log_rows: list[dict] = []
        self.link_rows: list[dict] = []
        self.cleared: list[str] = []
        self.writeback: dict[str, list[str]] = {"ok": [], "failed": []}
        self.last = time.monotonic()

    def add(
        self,
        log_rows: Iterable[dict] = (),
        link_rows: Iterable[dict] = (),
        cleared: Iterable[str] = (),
        written_back: Iterable[str] = (),
        writeback_failed: Iterable[str] = (),
    ) -> None:
        """Buffer rows; `cleared` are records whose re-queue is done, `written_back` /
        `writeback_failed` links whose source took / refused the write-back."""
        self.log_rows += log_rows
        self.link_rows += link_rows
        self.cleared += cleared
        self.writeback["ok"] += written_back
        self.writeback["failed"] += writeback_failed
        if len(self.log_rows) >= FLUSH_ROWS or time.monotonic() - self.last >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.log_rows or self.link_rows or self.cleared or any(self.writeback.values()):
            with self.warehouse.connect() as con:
                con.execute("begin transaction")
                try:
                    # The push or write-back made sure of the tables when it read its work.
                    bookkeeping.log_attempts(con, self.log_rows, ensure=False)
                    bookkeeping.upsert_links(con, self.link_rows, ensure=False)
                    bookkeeping.clear_requeue(con, self.flow, self.cleared)
                    for status, source_ids in self.writeback.items():
                        bookkeeping.set_writeback(con, self.flow, source_ids, status)
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
        self.log_rows, self.link_rows, self.cleared = [], [], []
        self.writeback = {"ok": [], "failed": []}
        self.last = time.monotonic()
