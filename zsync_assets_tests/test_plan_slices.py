"""A plan made a slice of records at a time (engine/planning.py `_Slicing`, `Flow.slice_by`) is
the plan made at once, row for row and column for column: the same actions, reasons, payloads,
hashes, waves and blocks, including what one slice cannot see alone (a child whose parent lies
in another slice: orphans and waves, settled over the written plan).

On real DuckDB files: the customers of `zsync bench`'s arrangement with parents made to be sent,
blocked and orphaned; the invoices of a real sync through both sandboxes.
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

import zsync_assets.engine.planning as planning
from zsync_assets.bench.plan_phase import arrange_customers
from zsync_assets.config import Config, current_config
from zsync_assets.defs.flows import payload_check
from zsync_assets.engine.flow import Flow
from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE
from zsync_assets.lib.warehouse import Warehouse

ACCOUNTS = 3_000


def _plan_both_ways(
    monkeypatch: pytest.MonkeyPatch, source: Path, flow: Flow, config: Config, slice_rows: int
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The plan table made at once and in slices of `slice_rows`, each on its own copy of the
    warehouse at `source`, sorted by source id; and how many slices were read."""
    slices_read: list[int] = []
    in_slice = planning._in_slice

    def counting(flow, table, part, slices):  # noqa: ANN001, ANN202 - the spied function's
        slices_read.append(part)
        return in_slice(flow, table, part, slices)

    monkeypatch.setattr(planning, "_in_slice", counting)
    plans = []
    for name, rows in (("whole", 10**9), ("sliced", slice_rows)):
        copy = source.with_name(f"{name}.duckdb")
        shutil.copy(source, copy)
        monkeypatch.setattr(planning, "_SLICE_ROWS", rows)
        planning.plan_flow(flow, Warehouse(copy), config, check=payload_check(flow.target_system))
        plans.append(Warehouse(copy).query(f"select * from {flow.plan_table} order by source_id"))
    return plans[0], plans[1], len(set(slices_read))


def test_customers_planned_in_slices_are_the_plan_made_at_once(warehouse_path, monkeypatch):
    warehouse = Warehouse(warehouse_path)
    arrange_customers(warehouse, ACCOUNTS, Config())
    children = warehouse.query("select id, parent_id from zuora.accounts where parent_id is not null order by id")
    assert children.height >= 40, "the arrangement has too few child accounts to test parents"
    # Children renamed (sendable), and their parents unlinked: every other such parent is new
    # (the child follows it, wave 1), the rest also get an unknown currency (blocked: the child
    # is an orphan, blocked naming it).
    to_create = children["parent_id"].to_list()[0::4]
    to_block = children["parent_id"].to_list()[1::4]
    with warehouse.connect() as con:
        con.execute("update zuora.accounts set name = name || ' Group' where parent_id is not null")
        con.execute(
            "delete from zsync.links where flow = 'customers' and source_id in (select unnest($ids::varchar[]))",
            {"ids": to_create + to_block},
        )
        con.execute(
            "update zuora.accounts set currency = 'XTS' where id in (select unnest($ids::varchar[]))",
            {"ids": to_block},
        )

    whole, sliced, slices = _plan_both_ways(monkeypatch, warehouse_path, CUSTOMERS_TO_NETSUITE, Config(), 700)

    assert slices >= 4
    assert whole.height == ACCOUNTS
    # The cases a slice alone gets wrong are in the plan (else the comparison proves little).
    orphans = whole.filter(pl.col("action") == "blocked", pl.col("after").is_in(to_block))
    assert orphans.height == len(to_block), orphans.select("source_id", "action", "reason").to_dicts()
    assert orphans["reason"].str.contains("is not synced").all()
    assert set(to_create) <= set(whole.filter(pl.col("wave") == 1)["after"])
    assert whole.filter(pl.col("action") == "update").height > 0
    assert whole.filter(pl.col("action") == "skip").height > 0
    assert sliced.equals(whole), _differences(whole, sliced)


def test_invoices_planned_in_slices_are_the_plan_made_at_once(make_sync_env, monkeypatch):
    env = make_sync_env(tax_item_by_tax_code={"SALES": "CA State Tax", "VAT-DE": "DE VAT 19"})
    env.run(["customers", "items", "invoices"])
    synced = dict(env.links("invoices").select("source_id", "target_id").iter_rows())
    # Half of the synced invoices forgotten, so that the plan creates them again; the rest skip,
    # as do drafts and canceled invoices, and the JPY and GBP invoices stay blocked (their tax
    # codes have no NetSuite tax item).
    with env.warehouse.connect() as con:
        con.execute("delete from zsync.links where flow = 'invoices' and hash(source_id) % 2 = 0")
    flow = next(f for f in env.flows if f.name == "invoices")

    whole, sliced, slices = _plan_both_ways(monkeypatch, env.warehouse_path, flow, current_config(), 5)

    assert slices >= 4
    assert {"create", "blocked", "skip"} <= set(whole["action"]), whole["action"].value_counts().to_dicts()
    assert whole["payload"].is_not_null().sum() > 0
    assert sliced.equals(whole), _differences(whole, sliced)

    # Pushed from a plan made in slices, through the real sandboxes (the run's plan step is in
    # this process): every forgotten invoice is upserted onto the NetSuite invoice it had (its
    # externalId), none twice, nothing fails.
    monkeypatch.setattr(planning, "_SLICE_ROWS", 5)
    sliced_plans: list[str] = []
    plan_in_slices = planning._Slicing.plan

    def spied(self, *args):  # noqa: ANN001, ANN002, ANN202 - the spied method's
        sliced_plans.append(self.flow.name)
        return plan_in_slices(self, *args)

    monkeypatch.setattr(planning._Slicing, "plan", spied)
    env.run(["customers", "items", "invoices"])
    assert "invoices" in sliced_plans
    assert env.query("select * from zsync.push_log where flow = 'invoices' and status = 'failed'").is_empty()
    assert dict(env.links("invoices").select("source_id", "target_id").iter_rows()) == synced
    assert len(synced) >= 10


def _differences(whole: pl.DataFrame, sliced: pl.DataFrame) -> list[dict]:
    if whole.height != sliced.height:
        return [{"rows": (whole.height, sliced.height)}]
    return [
        {"source_id": a["source_id"], column: (a[column], b[column])}
        for a, b in zip(whole.iter_rows(named=True), sliced.iter_rows(named=True), strict=True)
        for column in whole.columns
        if a[column] != b[column]
    ][:10]


def test_a_sliced_plan_cut_short_leaves_the_last_plan_whole(warehouse_path, monkeypatch):
    """A crash between two slices must leave no part of a plan where push or a reader would take
    it for the plan: the last plan stays as it was, with its stored fingerprint, until the
    next plan is whole; the next run plans again over what the crash left."""
    warehouse = Warehouse(warehouse_path)
    arrange_customers(warehouse, 1_000, Config())
    check = payload_check("netsuite")
    table = CUSTOMERS_TO_NETSUITE.plan_table
    planning.plan_flow(CUSTOMERS_TO_NETSUITE, warehouse, Config(), check=check)
    last = warehouse.query(f"select * from {table} order by source_id")
    fingerprint = warehouse.query("select fingerprint from zsync.planned_inputs where flow = 'customers'").item()
    # a change the next plan must show: a synced account renamed
    renamed = last.filter(pl.col("action") == "skip")["source_id"][0]
    with warehouse.connect() as con:
        con.execute("update zuora.accounts set name = 'Renamed Ltd' where id = ?", [renamed])
    monkeypatch.setattr(planning, "_SLICE_ROWS", 300)
    write = planning._write_plan
    writes: list[int] = []

    def crashing(con, table, plan, **kwargs):  # noqa: ANN001, ANN202 - the spied function's
        writes.append(plan.height)
        if len(writes) == 2:
            raise KeyboardInterrupt("killed between two slices")
        return write(con, table, plan, **kwargs)

    monkeypatch.setattr(planning, "_write_plan", crashing)
    with pytest.raises(KeyboardInterrupt):
        planning.plan_flow(CUSTOMERS_TO_NETSUITE, warehouse, Config(), check=check)

    assert warehouse.query(f"select * from {table} order by source_id").equals(last)
    stored = warehouse.query("select fingerprint from zsync.planned_inputs where flow = 'customers'").item()
    assert stored == fingerprint

    monkeypatch.setattr(planning, "_write_plan", write)
    again = planning.plan_flow(CUSTOMERS_TO_NETSUITE, warehouse, Config(), check=check, skip_unchanged=True)

    assert not again.unchanged
    assert again.plan.height == 1_000
    assert again.plan.filter(pl.col("source_id") == renamed)["action"].to_list() == ["update"]
    assert warehouse.query(f"select count(*) as n from {table}").item() == 1_000
    leftovers = warehouse.query("select table_name from duckdb_tables() where table_name like 'next_plan%'")
    assert leftovers.is_empty()


def test_two_sliced_plans_of_a_flow_at_once_leave_one_whole_plan(warehouse_path, monkeypatch):
    """Two runs may plan a flow at the same time; their slices must not mix in the next table
    (the sliced plans take turns). Two threads here, each writing slowly so that they overlap."""
    warehouse = Warehouse(warehouse_path)
    arrange_customers(warehouse, 1_000, Config())
    check = payload_check("netsuite")
    monkeypatch.setattr(planning, "_SLICE_ROWS", 300)
    write = planning._write_plan
    writing: list[int] = []

    def slow(con, table, plan, **kwargs):  # noqa: ANN001, ANN202 - the spied function's
        writing.append(threading.get_ident())
        write(con, table, plan, **kwargs)
        time.sleep(0.3)  # between two slices, outside the warehouse: the other may go on meanwhile

    monkeypatch.setattr(planning, "_write_plan", slow)
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda _: planning.plan_flow(CUSTOMERS_TO_NETSUITE, warehouse, Config(), check=check), range(2))
        )

    assert len(set(writing)) == 2, "both threads planned"
    assert [r.plan.height for r in results] == [1_000, 1_000]
    plan = warehouse.query(f"select source_id, action from {CUSTOMERS_TO_NETSUITE.plan_table}")
    assert plan.height == 1_000
    assert plan["source_id"].n_unique() == 1_000
