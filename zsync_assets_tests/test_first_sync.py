"""A first sync meets empty tables: an empty target account, a tenant without tax.

Staging that fetched nothing used to create no table; the plan then took the missing table for
"not staged yet", planned nothing, and the run succeeded with nothing sent. Every staged table
now exists (empty, typed) after its first staging, so these runs create everything at once.
"""

from __future__ import annotations

from zsync_assets.config import current_config
from zsync_assets.engine.planning import plan_flow


def _created_and_linked(env, flow: str) -> tuple[set[str], set[str]]:
    planned = set(
        env.query(f"select source_id from zsync.plan_{flow} where action in ('create', 'update')")["source_id"]
    )
    linked = set(env.links(flow)["source_id"])
    return planned, linked


def test_a_first_sync_into_an_account_with_only_reference_lists_creates_everything_in_one_run(make_sync_env):
    # Zuora: accounts, catalog, invoices without tax, payments. NetSuite: subsidiaries, currencies,
    # terms, accounts and tax items, and not one customer, item or transaction.
    env = make_sync_env(zuora_size=8, netsuite_size=0, zuora_settings={"taxes": False})
    assert env.zuora_records("taxation_items") == [], "the tenant must charge no tax"
    assert env.netsuite_records("customer") == [] and env.netsuite_records("transaction") == []

    result = env.run()
    assert result.success

    for flow in ("customers", "items", "invoices", "payments"):
        planned, linked = _created_and_linked(env, flow)
        assert planned, f"{flow}: nothing planned on a first sync"
        assert planned <= linked, f"{flow}: planned but not synced: {sorted(planned - linked)[:5]}"
    failed = env.query("select flow, source_id, error_code from zsync.push_log where status = 'failed'")
    assert failed.is_empty(), failed
    # What landed is in NetSuite: one customer per linked account, one invoice per linked invoice.
    assert len(env.netsuite_records("customer")) == env.links("customers").height
    staged = env.query("select count(*) as n from zuora.taxation_items")["n"][0]
    assert staged == 0  # the table exists, empty, and the invoices were not blocked waiting on it
    blocked = env.query("select reason from zsync.plan_invoices where action = 'blocked'")["reason"].to_list()
    assert not any("tax" in r for r in blocked), blocked

    before = env.write_calls()
    assert env.run().success
    assert env.write_calls() == before, "a second run must send nothing"


def test_a_first_sync_from_netsuite_into_a_tenant_without_accounts_creates_them(make_sync_env):
    env = make_sync_env(zuora_size=0, netsuite_size=8, customer_master="netsuite")
    assert env.zuora_records("accounts") == []
    flagged = [
        c
        for c in env.netsuite_records("customer")
        if (c.get("customFieldList") or {}).get("custentity_zsync_send_to_zuora") is True
    ]
    assert flagged, "the seeded NetSuite account must have customers flagged send-to-Zuora"

    assert env.run(["customers"]).success

    accounts = env.zuora_records("accounts")
    assert {a["IntegrationId__NS"] for a in accounts} == {c["internalId"] for c in flagged}
    assert env.links("customers").height == len(flagged)


def test_planning_before_staging_ever_ran_names_the_staging_assets(warehouse_path, monkeypatch):
    from zsync_assets.flows import configured_flows
    from zsync_assets.lib.warehouse import Warehouse

    flow = next(f for f in configured_flows(current_config()) if f.name == "invoices")
    result = plan_flow(flow, Warehouse(warehouse_path), current_config(), write=False)
    assert result.plan.is_empty()
    assert "zuora.taxation_items" in result.missing_tables
    assert "zuora/zuora_taxation_items" in result.not_staged and "never ran" in result.not_staged
