"""Push semantics against an in-memory target that follows the Sink contract (engine-only:
the vendor sinks are exercised end to end against the sandboxes in test_flows_e2e.py)."""

import polars as pl
import pytest

from zsync_assets.config import Config
from zsync_assets.engine import links as store
from zsync_assets.engine.flow import Flow, WriteBack
from zsync_assets.engine.instance import InstanceMismatch
from zsync_assets.engine.plan import build_plan
from zsync_assets.engine.push import push_flow
from zsync_assets.engine.sink import Outcome
from zsync_assets.flows.mapping.common import link_ref
from zsync_assets.lib.warehouse import Warehouse, replace_table

FLOW = Flow(name="widgets", source_system="zuora", target_system="netsuite", target_record_type="widget",
            source_tables=(), mapping=lambda t, c: t, write_back=WriteBack("Widget"))


class MemoryTarget:
    """Keyed by external id like NetSuite upsert; can reject, or commit and then 'crash'."""

    system = "netsuite"

    def __init__(self, account="ACCT1"):
        self.account, self.records, self.writes, self.reject, self.crash_after_commit = account, {}, 0, {}, False
        self.notices = []

    def instance_id(self):
        return self.account

    def batch_size(self, config, action):
        return 2

    def write(self, records):
        self.writes += 1
        out = []
        for rec in records:
            if rec.source_id in self.reject:
                out.append(Outcome(rec.source_id, False, code=self.reject[rec.source_id], message="nope"))
                continue
            target = rec.target_id or self.records.get(rec.external_id, {}).get("id") or f"T{len(self.records) + 1}"
            self.records[rec.external_id] = {"id": target, **rec.payload}
            out.append(Outcome(rec.source_id, True, target))
        if self.crash_after_commit:
            raise ConnectionError("connection dropped after commit")
        return out

    def lookup(self, records):
        return {r.source_id: self.records[r.external_id]["id"] for r in records if r.external_id in self.records}

    def write_back(self, record_type, notices):
        self.notices.extend(notices)
        return [Outcome(n.source_id, True) for n in notices]


class MemorySource(MemoryTarget):
    system = "zuora"


def plan_and_store(warehouse, frame):
    with warehouse.connect() as con:
        store.ensure_tables(con)
        plan = build_plan(FLOW, frame, store.read_links(con, FLOW.name), store.read_last_attempts(con, FLOW.name),
                          store.read_requeued(con, FLOW.name)["source_id"].to_list())
        replace_table(con, FLOW.plan_table, plan)
    return plan


def source(names, parent=None):
    return pl.DataFrame({"source_id": [f"s{i}" for i in range(len(names))], "name": names,
                         "_after": parent or [None] * len(names)})


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
    target.reject = {"s1": "INVALID_KEY_OR_REF"}
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
    target.reject = {"s0": "WS_REQUEST_BLOCKED"}
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
    target.reject = {"s0": "USER_ERROR"}
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
