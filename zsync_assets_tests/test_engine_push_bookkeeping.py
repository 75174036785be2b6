"""Bookkeeping off the send path: every `started` row of a wave is durable before its first vendor
call, results are written in bulk (DuckDB opens do not grow with the number of batches), and a
batch the push never sent is retried without a lookup."""

from __future__ import annotations

import pytest

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping_writer
from zsync_assets.engine.push import push_flow
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.test_engine_push import FLOW, MemoryTarget, plan_and_store, source


@pytest.fixture
def warehouse(warehouse_path) -> Warehouse:
    return Warehouse(warehouse_path)


class _Watching(MemoryTarget):
    """Reads the push log at its first call, as a crash right then would leave it."""

    def __init__(self, warehouse: Warehouse, **kwargs):
        super().__init__(**kwargs)
        self.warehouse, self.started_at_first_call = warehouse, None

    def write(self, records):
        if self.started_at_first_call is None:
            with self.warehouse.connect() as con:
                self.started_at_first_call = con.execute(
                    "select count(*) from zsync.push_log where status = 'started'"
                ).fetchall()[0][0]
        return super().write(records)


def test_every_started_row_of_a_wave_is_written_before_its_first_call(warehouse):
    target = _Watching(warehouse, parallel=2)
    plan_and_store(warehouse, source([f"r{i:02}" for i in range(9)]))  # 5 batches of 2
    result = push_flow(FLOW, warehouse, target, Config())
    assert result.succeeded == 9
    assert target.started_at_first_call == 9


def test_duckdb_opens_do_not_grow_with_the_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(bookkeeping_writer, "FLUSH_S", 3600.0)  # flushes by time would depend on this machine's speed
    opens = []
    real = Warehouse.connect

    def counting(self, **kwargs):
        opens.append(1)
        return real(self, **kwargs)

    def pushed(n: int) -> int:
        warehouse = Warehouse(tmp_path / f"{n}.duckdb")  # creates only, like the other count
        plan_and_store(warehouse, source([f"n{i:03}" for i in range(n)]))
        opens.clear()
        monkeypatch.setattr(Warehouse, "connect", counting)
        try:
            assert push_flow(FLOW, warehouse, MemoryTarget(parallel=3), Config()).succeeded == n
        finally:
            monkeypatch.setattr(Warehouse, "connect", real)
        return len(opens)

    assert pushed(4) == pushed(40)  # 2 batches vs 20 batches: the same opens


def test_a_batch_never_sent_is_retried_without_a_lookup(warehouse, monkeypatch):
    class CrashOnce(MemoryTarget):
        def write(self, records):
            if not self.writes:
                self.writes += 1
                raise ConnectionError("connection dropped after commit")
            return super().write(records)

    monkeypatch.setattr(bookkeeping_writer, "FLUSH_S", 0.0)
    names = [f"s{i}" for i in range(6)]
    plan_and_store(warehouse, source(names))  # 3 batches of 2, one at a time
    with pytest.raises(ConnectionError):
        push_flow(FLOW, warehouse, CrashOnce(parallel=1), Config())
    log = warehouse.query(
        "select source_id, status, error_code, error_class from zsync.push_log "
        "where status <> 'started' order by source_id"
    )
    assert log.to_dicts() == [
        {"source_id": n, "status": "failed", "error_code": "NOT_SENT", "error_class": "transient"} for n in names[2:]
    ]
    plan = plan_and_store(warehouse, source(names))
    lookup = dict(plan.select("source_id", "needs_lookup").iter_rows())
    assert lookup == {**dict.fromkeys(names[:2], True), **dict.fromkeys(names[2:], False)}
