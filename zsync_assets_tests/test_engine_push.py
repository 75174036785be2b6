"""Push semantics against an in-memory target that follows the Sink contract (engine-only:
the vendor sinks are exercised end to end against the sandboxes in test_flows_e2e.py)."""

import threading

import polars as pl
import pytest

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.flow import Flow, WriteBack
from zsync_assets.engine.instance import InstanceMismatch
from zsync_assets.engine.plan import build_plan
from zsync_assets.engine.push import push_flow
from zsync_assets.engine.sink import Outcome
from zsync_assets.flows.mapping.common import link_ref
from zsync_assets.lib.failure import Failure
from zsync_assets.lib.warehouse import Warehouse, replace_table

FLOW = Flow(
    name="widgets",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="widget",
    source_tables=(),
    mapping=lambda tables, config: pl.DataFrame(),
    write_back=WriteBack("Widget"),
)


class MemoryTarget:
    """Keyed by external id like NetSuite upsert; can reject, or commit and then 'crash'.

    Thread-safe (the engine sends up to `parallel` batches at once). With `await_overlap`, a
    write waits (up to `overlap_timeout_s`) until that many writes are in flight, so overlap is observed on a
    loaded machine instead of left to thread scheduling; `peak` records the most seen."""

    system = "netsuite"

    def __init__(self, account="ACCT1", parallel=3, await_overlap=1, overlap_timeout_s=1.0):
        self.account, self.records, self.writes, self.reject, self.crash_after_commit = account, {}, 0, {}, False
        self.notices = []
        self.parallel, self.await_overlap, self.overlap_timeout_s = parallel, await_overlap, overlap_timeout_s
        self.in_flight = self.peak = 0
        self.events: list[tuple[str, frozenset]] = []  # ("start" | "end", source ids), in order
        self.cond = threading.Condition()

    def instance_id(self):
        return self.account

    def batch_size(self, config, action):
        return 2

    def parallel_batches(self, config):
        return self.parallel

    def write(self, records):
        with self.cond:
            self.writes += 1
        out = self._overlapping(frozenset(r.source_id for r in records), lambda: [self._write_one(r) for r in records])
        if self.crash_after_commit:
            raise ConnectionError("connection dropped after commit")
        return out

    def _overlapping(self, ids, call):
        with self.cond:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.events.append(("start", ids))
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.in_flight >= self.await_overlap, timeout=self.overlap_timeout_s)
        try:
            with self.cond:
                return call()
        finally:
            with self.cond:
                self.in_flight -= 1
                self.events.append(("end", ids))

    def _write_one(self, rec):
        if rec.source_id in self.reject:
            return Outcome.failed(rec.source_id, self.reject[rec.source_id])
        target = rec.target_id or self.records.get(rec.external_id, {}).get("id") or f"T{len(self.records) + 1}"
        self.records[rec.external_id] = {"id": target, **rec.payload}
        return Outcome(rec.source_id, True, target)

    def lookup(self, records):
        return {r.source_id: self.records[r.external_id]["id"] for r in records if r.external_id in self.records}

    def write_back(self, write_back, notices):
        def tell():
            self.notices.extend(notices)
            return [
                Outcome.failed(n.source_id, self.reject[n.source_id])
                if n.source_id in self.reject
                else Outcome(n.source_id, True)
                for n in notices
            ]

        return self._overlapping(frozenset(n.source_id for n in notices), tell)

    def reverse(self, records):
        raise NotImplementedError("the in-memory sink reverses nothing")


class MemorySource(MemoryTarget):
    system = "zuora"


def plan_and_store(warehouse, frame):
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        plan = build_plan(
            FLOW,
            frame,
            bookkeeping.read_links(con, FLOW.name),
            bookkeeping.read_last_attempts(con, FLOW.name),
            bookkeeping.read_requeued(con, FLOW.name)["source_id"].to_list(),
        )
        replace_table(con, FLOW.plan_table, plan)
    return plan


def source(names, parent=None):
    return pl.DataFrame(
        {"source_id": [f"s{i}" for i in range(len(names))], "name": names, "_after": parent or [None] * len(names)}
    )


@pytest.fixture
def warehouse(warehouse_path):
    return Warehouse(warehouse_path)


def run(warehouse, target, src, frame):
    plan_and_store(warehouse, frame)
    return push_flow(FLOW, warehouse, target, Config(), source_sink=src)


def test_push_links_writes_back_and_a_second_run_sends_nothing(warehouse):
    target, src = MemoryTarget(), MemorySource()
    first = run(warehouse, target, src, source(["a", "b", "c"], [None, "s0", "s1"]))
    assert (first.succeeded, first.written_back) == (3, 3)
    writes = target.writes
    second = run(warehouse, target, src, source(["a", "b", "c"], [None, "s0", "s1"]))
    assert second.sent == 0 and target.writes == writes
    third = run(warehouse, target, src, source(["a", "B", "c"], [None, "s0", "s1"]))
    assert (third.sent, target.records["zsync:widgets:s1"]["name"]) == (1, "B")


def test_a_data_error_is_logged_not_resent_while_unchanged_and_lands_after_a_fix(warehouse):
    target, src = MemoryTarget(), MemorySource()
    target.reject = {"s1": Failure("data", "INVALID_KEY_OR_REF", "nope")}
    result = run(warehouse, target, src, source(["a", "b"]))
    assert (result.succeeded, result.failed, result.errors) == (1, 1, {"INVALID_KEY_OR_REF": 1})
    target.reject = {}
    plan = plan_and_store(warehouse, source(["a", "b"]))
    assert plan.filter(pl.col("source_id") == "s1")["action"].item() == "blocked"
    assert push_flow(FLOW, warehouse, target, Config()).sent == 0
    fixed = run(warehouse, target, src, source(["a", "b fixed"]))
    assert fixed.succeeded == 1 and "zsync:widgets:s1" in target.records


def test_a_transient_error_is_resent(warehouse):
    target = MemoryTarget()
    target.reject = {"s0": Failure("transient", "WS_REQUEST_BLOCKED", "busy")}
    run(warehouse, target, None, source(["a"]))
    target.reject = {}
    assert run(warehouse, target, None, source(["a"])).succeeded == 1


def test_commit_then_crash_is_resolved_by_lookup_leaving_one_record_and_a_link(warehouse):
    target = MemoryTarget()
    target.crash_after_commit = True
    with pytest.raises(ConnectionError):
        run(warehouse, target, None, source(["a"]))
    target.crash_after_commit = False
    plan = plan_and_store(warehouse, source(["a"]))
    assert plan["needs_lookup"].item() is True
    result = push_flow(FLOW, warehouse, target, Config())
    assert (result.resolved_by_lookup, result.succeeded, len(target.records)) == (1, 1, 1)
    assert warehouse.query("select target_id from zsync.links")["target_id"].to_list() == ["T1"]


def test_a_child_of_a_failed_parent_is_deferred(warehouse):
    target = MemoryTarget()
    target.reject = {"s0": Failure("data", "USER_ERROR", "nope")}
    result = run(warehouse, target, None, source(["p", "c"], [None, "s0"]))
    assert (result.failed, result.deferred, len(target.records)) == (1, 1, 0)


def test_a_different_target_account_is_refused_before_writing(warehouse):
    run(warehouse, MemoryTarget("ACCT1"), None, source(["a"]))
    other = MemoryTarget("ACCT2")
    with pytest.raises(InstanceMismatch, match="zsync rebind --yes"):
        run(warehouse, other, None, source(["changed"]))
    assert other.writes == 0


def with_parent_refs(frame: pl.DataFrame) -> pl.DataFrame:
    """A `parent` payload field holding a link reference to the `_after` record (Zuora's parentId)."""
    refs = [link_ref(FLOW.name, p) if p else None for p in frame["_after"].to_list()]
    return frame.with_columns(parent=pl.Series(refs))


def test_a_link_reference_is_filled_with_the_parent_created_earlier_in_the_same_push(warehouse):
    target = MemoryTarget()
    frame = with_parent_refs(source(["p", "c", "g"], [None, "s0", "s1"]))
    run(warehouse, target, None, frame)
    ids = {k: v["id"] for k, v in target.records.items()}
    assert target.records["zsync:widgets:s1"]["parent"] == ids["zsync:widgets:s0"]
    assert target.records["zsync:widgets:s2"]["parent"] == ids["zsync:widgets:s1"]
    # the plan hashed the reference, not the id: nothing to send on the next run
    assert run(warehouse, target, None, frame).sent == 0


def test_an_unresolvable_link_reference_defers_the_record(warehouse):
    target = MemoryTarget()
    frame = with_parent_refs(source(["c"], ["s9"])).with_columns(_after=pl.lit(None, pl.Utf8))
    result = run(warehouse, target, None, frame)
    assert (result.sent, result.deferred, target.records) == (0, 1, {})


def push_log(warehouse):
    return warehouse.query("select source_id, status from zsync.push_log where action = 'create'")


def test_batches_of_a_wave_overlap_up_to_the_sinks_limit_with_every_record_accounted_for(warehouse):
    target = MemoryTarget(parallel=3, await_overlap=3)
    target.reject = {"s4": Failure("data", "USER_ERROR", "nope")}
    result = run(warehouse, target, None, source([f"n{i}" for i in range(12)]))
    assert target.peak == 3 and target.writes == 6  # 12 records, batches of 2, 3 at a time
    assert (result.sent, result.succeeded, result.failed, result.errors) == (12, 11, 1, {"USER_ERROR": 1})
    log = push_log(warehouse)
    assert log.filter(pl.col("status") == "started").height == 12
    assert sorted(log.filter(pl.col("status") != "started")["status"].to_list()) == ["failed"] + ["succeeded"] * 11
    links = warehouse.query("select source_id, target_id from zsync.links")
    assert links.height == 11 and links["target_id"].n_unique() == 11 and "s4" not in links["source_id"].to_list()
    assert run(warehouse, target, None, source([f"n{i}" for i in range(12)])).sent == 0


def test_a_sink_allowing_one_batch_never_gets_two_at_once(warehouse):
    # a second write at the same time would be waited for, and seen
    target = MemoryTarget(parallel=1, await_overlap=2, overlap_timeout_s=0.2)
    result = run(warehouse, target, None, source([f"n{i}" for i in range(6)]))
    assert (target.peak, target.writes, result.succeeded) == (1, 3, 6)


def test_a_wave_starts_after_every_batch_of_the_previous_wave_ended_and_uses_its_links(warehouse):
    target = MemoryTarget(parallel=4, await_overlap=2)
    target.reject = {"s1": Failure("data", "USER_ERROR", "nope")}
    parents = [f"p{i}" for i in range(8)]
    names = parents + [f"c{i}" for i in range(8)]
    after = [None] * 8 + [f"s{i}" for i in range(8)]
    frame = with_parent_refs(source(names, after))
    result = run(warehouse, target, None, frame)
    assert (result.succeeded, result.failed, result.deferred) == (14, 1, 1)  # s9's parent s1 failed
    children = {f"s{i}" for i in range(8, 16)}
    last_parent_end = max(i for i, (kind, ids) in enumerate(target.events) if kind == "end" and not ids & children)
    first_child_start = min(i for i, (kind, ids) in enumerate(target.events) if kind == "start" and ids & children)
    assert last_parent_end < first_child_start and target.peak >= 2
    ids = {k: v["id"] for k, v in target.records.items()}
    for i in (0, 2, 7):
        assert target.records[f"zsync:widgets:s{8 + i}"]["parent"] == ids[f"zsync:widgets:s{i}"]
    assert "zsync:widgets:s9" not in target.records


def test_a_crashing_batch_stops_the_push_and_leaves_its_records_for_lookup(warehouse):
    target = MemoryTarget(parallel=2)
    target.crash_after_commit = True
    with pytest.raises(ConnectionError):
        run(warehouse, target, None, source([f"n{i}" for i in range(4)]))
    target.crash_after_commit = False
    plan = plan_and_store(warehouse, source([f"n{i}" for i in range(4)]))
    assert plan["needs_lookup"].all()
    result = push_flow(FLOW, warehouse, target, Config())
    assert (result.resolved_by_lookup, result.succeeded, len(target.records)) == (4, 4, 4)


def test_write_backs_overlap_up_to_the_sources_limit_and_a_refused_one_is_told_again(warehouse):
    target, src = MemoryTarget(), MemorySource(parallel=3, await_overlap=3)
    src.reject = {"s4": Failure("transient", "HTTP_503", "busy")}
    names = [f"n{i}" for i in range(6)]  # 3 batches of 2: one round of 3 at once
    result = run(warehouse, target, src, source(names))
    assert (result.written_back, result.writeback_failed, src.peak) == (5, 1, 3)
    assert sorted(n.source_id for n in src.notices) == sorted(f"s{i}" for i in range(6))
    status = dict(warehouse.query("select source_id, writeback_status from zsync.links").iter_rows())
    assert status == {**{f"s{i}": "ok" for i in range(6)}, "s4": "failed"}
    src.reject, src.notices, src.await_overlap = {}, [], 1  # one notice left: nothing to overlap
    again = run(warehouse, target, src, source(names))
    assert (again.sent, again.written_back, [n.source_id for n in src.notices]) == (0, 1, ["s4"])
