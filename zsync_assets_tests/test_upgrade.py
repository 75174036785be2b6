"""A warehouse written by the code before the performance work (fixtures/warehouse_before_perf)
plans to nothing after the upgrade: every linked record's payload hash still matches, so no
record is re-sent because the canonical JSON or the hash was rebuilt."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from zsync_assets.config import Config
from zsync_assets.defs.flows import payload_check
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.planning import plan_flow
from zsync_assets.flows import configured_flows
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.test_sync_invoices import TAX_ITEMS

FIXTURE = Path(__file__).parent / "fixtures" / "warehouse_before_perf"


@pytest.fixture
def old_warehouse(tmp_path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "zsync.duckdb")
    with warehouse.connect() as con:
        con.execute((FIXTURE / "schema.sql").read_text())
        con.execute((FIXTURE / "load.sql").read_text().replace("{dir}", str(FIXTURE)))
    return warehouse


def test_old_links_plan_to_nothing_after_the_upgrade(old_warehouse):
    config = Config(tax_item_by_tax_code=TAX_ITEMS)
    links = old_warehouse.query("select flow, source_id from zsync.links")
    linked_flows = set(links["flow"])
    assert {"customers", "items", "invoices", "payments"} <= linked_flows, linked_flows
    for flow in configured_flows(config):
        if flow.name not in linked_flows:
            continue
        plan = plan_flow(flow, old_warehouse, config, check=payload_check(flow.target_system)).plan
        linked = set(links.filter(pl.col("flow") == flow.name)["source_id"])
        rows = plan.filter(pl.col("source_id").is_in(list(linked)))
        assert rows.height == len(linked), flow.name
        assert rows.filter(pl.col("action").is_in(["create", "update"])).is_empty(), (
            flow.name,
            rows.filter(pl.col("action") != "skip").select("source_id", "action", "reason").to_dicts(),
        )
        assert plan.filter(pl.col("action").is_in(["create", "update"])).is_empty(), flow.name


def test_migrations_applied_once(old_warehouse):
    with old_warehouse.connect() as con:
        first = bookkeeping.migrate(con)
        again = bookkeeping.migrate(con)
    assert again == []
    assert set(first) <= set(bookkeeping.MIGRATIONS)
