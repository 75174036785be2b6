"""Reversal semantics of the engine against an in-memory target that follows the Sink contract
(the vendor sinks reverse through both sandboxes in test_sync_reversals.py).

A flow over a staged table `zuora.widgets` (id, name, status): a widget whose status is
Canceled must have its counterpart reversed. Each test plans through `plan_flow` (engine/planning.py,
which maps and classifies what is staged), then reverses and pushes like the push asset does.
"""

from __future__ import annotations

import polars as pl
import pytest

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.planning import plan_flow
from zsync_assets.engine.push import push_flow
from zsync_assets.engine.reverse_push import reverse_flow
from zsync_assets.engine.sink import Outcome
from zsync_assets.lib.failure import Failure
from zsync_assets.lib.warehouse import Warehouse, replace_table


def _widgets(tables, config) -> pl.DataFrame:
    widgets = tables["zuora.widgets"]
    return widgets.select(
        pl.col("id").alias("source_id"),
        "name",
        pl.when(pl.col("status") == "Canceled").then(pl.lit("widget was canceled")).alias("_reverse"),
        pl.col("waits").alias("_reverse_blocked"),
    )


FLOW = Flow(
    name="widgets",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="widget",
    source_tables=("zuora.widgets",),
    mapping=_widgets,
)


class Target:
    """Records by external id, like NetSuite upserts; `reverse` deletes by target id and answers
    a missing record as done (NetSuite's RCRD_DSNT_EXIST). It can refuse, or delete and then
    lose the answer (`crash_after_reverse`)."""

    system = "netsuite"

    def __init__(self):
        self.records: dict[str, dict] = {}  # external id -> {"id", ...}
        self.refuse: dict[str, Failure] = {}  # target id -> refusal
        self.crash_after_reverse = False
        self.writes = self.reversals = 0

    def instance_id(self):
        return "ACCT1"

    def batch_size(self, config, action):
        return 10

    def parallel_batches(self, config):
        return 1

    def write(self, records):
        self.writes += 1
        out = []
        for rec in records:
            target = (
                rec.target_id or self.records.get(rec.external_id, {}).get("id") or f"T{self.writes}-{rec.source_id}"
            )
            self.records[rec.external_id] = {"id": target, **rec.payload}
            out.append(Outcome(rec.source_id, True, target))
        return out

    def lookup(self, records):
        return {r.source_id: self.records[r.external_id]["id"] for r in records if r.external_id in self.records}

    def reverse(self, records):
        self.reversals += 1
        out = []
        for rec in records:
            if rec.target_id in self.refuse:
                out.append(Outcome.failed(rec.source_id, self.refuse[rec.target_id]))
                continue
            self.records = {k: v for k, v in self.records.items() if v["id"] != rec.target_id}
            out.append(Outcome(rec.source_id, True, rec.target_id))
        if self.crash_after_reverse:
            raise ConnectionError("connection dropped after the delete committed")
        return out

    def ids(self) -> set[str]:
        return {v["id"] for v in self.records.values()}


@pytest.fixture
def warehouse(warehouse_path):
    return Warehouse(warehouse_path)


def stage(warehouse, rows: list[tuple[str, str, str | None]]) -> None:
    """(id, status, why its reversal waits) per widget."""
    frame = pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"widget {r[0]}" for r in rows],
            "status": [r[1] for r in rows],
            "waits": [r[2] for r in rows],
        },
        schema={"id": pl.Utf8, "name": pl.Utf8, "status": pl.Utf8, "waits": pl.Utf8},
    )
    with warehouse.connect() as con:
        replace_table(con, "zuora.widgets", frame)


def sync(warehouse, target) -> tuple[pl.DataFrame, int, int]:
    """Plan, reverse, push: what plan/<flow> and push/<flow> do. Returns (plan, reversed, pushed)."""
    plan = plan_flow(FLOW, warehouse, Config()).plan
    reversed_ = reverse_flow(FLOW, warehouse, target, Config())
    pushed = push_flow(FLOW, warehouse, target, Config())
    return plan, reversed_.reversed, pushed.succeeded


def row(plan: pl.DataFrame, source_id: str) -> dict:
    return plan.filter(pl.col("source_id") == source_id).to_dicts()[0]


def links(warehouse) -> dict[str, dict]:
    with warehouse.connect() as con:
        return {r["source_id"]: r for r in bookkeeping.read_links(con, FLOW.name).to_dicts()}


def reverse_log(warehouse, source_id: str) -> list[tuple[str, str]]:
    return [
        (a, s)
        for a, s in warehouse.query(
            "select action, status from zsync.push_log where flow = 'widgets' and source_id = ? and action in "
            "('reverse', 'lookup') order by \"at\", case status when 'started' then 0 else 1 end",
            [source_id],
        ).iter_rows()
    ]


def test_a_canceled_record_is_reversed_once_logged_and_linked_and_a_rerun_sends_nothing(warehouse):
    target = Target()
    stage(warehouse, [("a", "Active", None), ("b", "Active", None), ("c", "Canceled", None)])
    sync(warehouse, target)
    assert (
        row(plan_flow(FLOW, warehouse, Config()).plan, "c")["reason"] == "widget was canceled; it never "
        "synced: nothing to reverse"
    )
    kept = links(warehouse)["a"]["target_id"]
    gone = links(warehouse)["b"]["target_id"]

    stage(warehouse, [("a", "Active", None), ("b", "Canceled", None), ("c", "Canceled", None)])
    plan, reversed_, pushed = sync(warehouse, target)
    assert (row(plan, "b")["action"], row(plan, "b")["reason"], row(plan, "b")["target_id"]) == (
        "reverse",
        "widget was canceled",
        gone,
    )
    assert (reversed_, pushed) == (1, 0)
    assert target.ids() == {kept}
    assert reverse_log(warehouse, "b") == [("reverse", "started"), ("reverse", "succeeded")]
    link = links(warehouse)["b"]
    assert link["reversed_at"] is not None and link["reversal"] == "widget was canceled"
    assert link["target_id"] == gone  # which record it was stays known

    writes, reversals = target.writes, target.reversals
    plan, reversed_, pushed = sync(warehouse, target)
    assert (reversed_, pushed, target.writes, target.reversals) == (0, 0, writes, reversals)
    assert row(plan, "b")["action"] == "skip" and row(plan, "b")["reason"].startswith(
        "widget was canceled: reversed in netsuite on "
    )


def test_a_refused_reversal_waits_for_a_person_until_requeued(warehouse):
    target = Target()
    stage(warehouse, [("a", "Active", None)])
    sync(warehouse, target)
    target.refuse[links(warehouse)["a"]["target_id"]] = Failure("data", "CLOSED_TRAN_PRD", "closed period")
    stage(warehouse, [("a", "Canceled", None)])
    sync(warehouse, target)

    plan, reversed_, _ = sync(warehouse, target)
    assert reversed_ == 0 and target.reversals == 1  # refused once, not re-sent unchanged
    assert row(plan, "a")["action"] == "blocked" and row(plan, "a")["last_error_code"] == "CLOSED_TRAN_PRD"
    assert "refused to reverse" in row(plan, "a")["reason"] and "zsync requeue widgets a" in row(plan, "a")["reason"]

    target.refuse.clear()  # an accountant reopened the period
    with warehouse.connect() as con:
        bookkeeping.requeue(con, FLOW.name, ["a"])
    plan, reversed_, _ = sync(warehouse, target)
    assert row(plan, "a")["action"] == "reverse" and reversed_ == 1 and target.ids() == set()


def test_an_unanswered_reversal_is_sent_again_and_counts_as_done(warehouse):
    target = Target()
    stage(warehouse, [("a", "Active", None)])
    sync(warehouse, target)
    stage(warehouse, [("a", "Canceled", None)])
    target.crash_after_reverse = True
    plan_flow(FLOW, warehouse, Config())
    with pytest.raises(ConnectionError):
        reverse_flow(FLOW, warehouse, target, Config())
    assert target.ids() == set() and reverse_log(warehouse, "a") == [("reverse", "started")]
    assert links(warehouse)["a"]["reversed_at"] is None

    target.crash_after_reverse = False
    plan, reversed_, _ = sync(warehouse, target)
    assert "an earlier reversal got no answer" in row(plan, "a")["reason"]
    assert reversed_ == 1 and links(warehouse)["a"]["reversed_at"] is not None


def test_a_create_that_got_no_answer_is_looked_up_then_reversed(warehouse):
    target = Target()
    stage(warehouse, [("a", "Active", None)])
    plan_flow(FLOW, warehouse, Config())
    target.write = _lose_answer(target.write)
    with pytest.raises(ConnectionError):
        push_flow(FLOW, warehouse, target, Config())
    assert len(target.ids()) == 1 and "a" not in links(warehouse)

    stage(warehouse, [("a", "Canceled", None)])
    plan, reversed_, _ = sync(warehouse, target)
    assert row(plan, "a")["action"] == "reverse" and row(plan, "a")["needs_lookup"] is True
    assert reversed_ == 1 and target.ids() == set()
    assert reverse_log(warehouse, "a") == [("lookup", "succeeded"), ("reverse", "started"), ("reverse", "succeeded")]
    assert row(sync(warehouse, target)[0], "a")["action"] == "skip"


def _lose_answer(write):
    def wrapped(records):
        write(records)
        raise ConnectionError("the create committed; the answer was lost")

    return wrapped


def test_a_reversal_the_mapping_holds_back_is_blocked_with_its_reason(warehouse):
    target = Target()
    stage(warehouse, [("a", "Active", None)])
    sync(warehouse, target)
    stage(warehouse, [("a", "Canceled", "its refund r1 goes first")])
    plan, reversed_, _ = sync(warehouse, target)
    assert reversed_ == 0 and row(plan, "a")["action"] == "blocked"
    assert row(plan, "a")["reason"] == "widget was canceled; its reversal waits: its refund r1 goes first"
    stage(warehouse, [("a", "Canceled", None)])
    assert sync(warehouse, target)[1] == 1


def test_a_record_no_longer_to_be_reversed_is_created_afresh(warehouse):
    # e.g. a Zuora deletion mark that turned out wrong: the reversed link is no counterpart.
    target = Target()
    stage(warehouse, [("a", "Active", None)])
    sync(warehouse, target)
    first = links(warehouse)["a"]["target_id"]
    stage(warehouse, [("a", "Canceled", None)])
    sync(warehouse, target)
    stage(warehouse, [("a", "Active", None)])
    plan, _, pushed = sync(warehouse, target)
    assert row(plan, "a")["action"] == "create" and row(plan, "a")["target_id"] is None and pushed == 1
    link = links(warehouse)["a"]
    assert link["reversed_at"] is None and link["target_id"] in target.ids() and len(target.ids()) == 1
    assert first not in target.ids()
