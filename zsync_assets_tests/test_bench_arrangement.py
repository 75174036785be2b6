"""The plan phase of `zsync bench` plans the state its docstring describes (bench/plan_phase.py
`arrange_customers`): of the synthetic accounts, every 20th never synced (create), the synced
ones renamed since (update), the rest unchanged (skip). Figures of a bench whose arrangement
drifted would compare unlike work between runs.

Small (2,000 accounts instead of a million), on a real DuckDB file, through `plan_flow`.
"""

from __future__ import annotations

from zsync_assets.bench.plan_phase import arrange_customers
from zsync_assets.config import Config
from zsync_assets.defs.flows import payload_check
from zsync_assets.engine.planning import plan_flow
from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE
from zsync_assets.lib.warehouse import Warehouse

ACCOUNTS = 2_000


def test_the_customers_arrangement_plans_as_described(warehouse_path):
    warehouse = Warehouse(warehouse_path)
    arrange_customers(warehouse, ACCOUNTS, Config())

    result = plan_flow(CUSTOMERS_TO_NETSUITE, warehouse, Config(), check=payload_check("netsuite"))

    never_synced = {i for i in range(ACCOUNTS) if i % 20 == 19}
    renamed = {i for i in range(ACCOUNTS) if i % 19 == 18} - never_synced
    index = {row["source_id"]: int(row["source_id"][-23:]) for row in result.plan.iter_rows(named=True)}
    by_action = {
        action: {index[s] for s in result.plan.filter(result.plan["action"] == action)["source_id"]}
        for action in ("create", "update", "skip", "blocked")
    }
    assert by_action["create"] == never_synced
    assert by_action["update"] == renamed
    assert by_action["skip"] == set(range(ACCOUNTS)) - never_synced - renamed
    assert by_action["blocked"] == set()
