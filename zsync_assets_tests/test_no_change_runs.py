"""A run with nothing new costs nothing beyond asking both systems what changed: each plan step
keeps its stored plan (none of its inputs changed), each push step builds no client and makes
no call, and nothing is written anywhere. An edit anywhere a plan reads brings the work back
(every plan reads `zsync.links`, so a push re-plans the flows after it: conservative on purpose)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from zsync_assets.engine import plan_state
from zsync_assets.engine.catalog import plan_key, push_key
from zsync_assets.sandbox.netsuite.service import WRITE_OPS
from zsync_assets_tests.fixtures.sync_env import assets_for
from zsync_assets_tests.test_sync_invoices import TAX_ITEMS

FLOWS = ["customers", "items", "invoices"]


def _metadata(result, key: dg.AssetKey) -> dict:
    return {
        k: v.value for k, v in result.asset_materializations_for_node(key.to_python_identifier())[0].metadata.items()
    }


def _settle(env, flows: list[str] = FLOWS) -> None:
    """Sync until a run plans nothing to send (write-backs are staged back by the run after)."""
    for _ in range(3):
        env.run(flows)
        if all(env.plan_counts(f)["create"] == env.plan_counts(f)["update"] == 0 for f in flows):
            return
    raise AssertionError({f: env.plan_counts(f) for f in flows})


def test_a_run_with_nothing_new_keeps_every_plan_and_pushes_nothing(make_sync_env):
    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS)
    _settle(env)
    env.run(FLOWS)  # the run after a settled one may still see the last write-backs staged
    writes, stats = env.write_calls(), env.netsuite.stats()

    result = env.run(FLOWS)

    assert env.write_calls() == writes
    for flow in FLOWS:
        assert _metadata(result, plan_key(flow))["unchanged_inputs"] is True, flow
        assert _metadata(result, push_key(flow))["nothing_to_do"] is True, flow
    after = env.netsuite.stats()
    # Only the reads of staging and the connection check: no write, and no lookup (getList).
    called = {op for op in after if after[op] != stats.get(op)}
    assert not called & (set(WRITE_OPS) | {"getList"}), called


def _blocker_states_compared(monkeypatch) -> list[str]:
    """The flows whose stored plan `plan_state.unchanged` compared down to the states of the
    records it waits for, as it does."""
    compared: list[str] = []
    read = plan_state.read_blocker_states

    def spied(con, plan, flow_name):  # noqa: ANN001, ANN202 - the spied function's own
        compared.append(flow_name)
        return read(con, plan, flow_name)

    monkeypatch.setattr(plan_state, "read_blocker_states", spied)
    return compared


def test_an_edit_brings_back_exactly_the_plans_that_read_it(make_sync_env, monkeypatch):
    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS)
    _settle(env)
    env.run(FLOWS)
    compared = _blocker_states_compared(monkeypatch)
    linked = env.links("customers").filter(pl.col("source_system") == "zuora")["source_id"].to_list()
    account = linked[len(linked) // 2]

    # A field no customers mapping reads (Flow.columns): staged, and the plan stands.
    env.update_account(account, notes="read by no flow")
    result = env.run(FLOWS)
    notes = env.query(f"select notes from zuora.accounts where id = '{account}'")["notes"].to_list()
    assert notes == ["read by no flow"]
    assert _metadata(result, plan_key("customers"))["unchanged_inputs"] is True
    kept = [f for f in FLOWS if _metadata(result, plan_key(f))["unchanged_inputs"] is True]
    assert sorted(compared) == sorted(kept)  # each kept plan was compared down to its blockers
    compared.clear()

    env.update_account(account, name="Renamed while nothing else changed")

    result = env.run(FLOWS)

    customers = _metadata(result, plan_key("customers"))
    assert customers["unchanged_inputs"] is False and customers["to_update"] == 1
    assert _metadata(result, push_key("customers"))["succeeded"] == 1
    # Later plans read the links the customers push just changed, so they plan again, and find
    # nothing to send: their pushes make no call.
    assert _metadata(result, plan_key("items"))["to_update"] == 0
    assert _metadata(result, push_key("items"))["nothing_to_do"] is True
    assert env.plan("customers").filter(pl.col("action") == "update")["source_id"].to_list() == [account]
    # A plan whose own inputs changed is made again without reading what it waits for first.
    assert compared == []


def test_a_plan_waiting_on_another_flows_record_follows_that_records_state(make_sync_env):
    """A blocked reason ends with the state of the record it waits for, read from the other flow's
    plan (engine/blockers.py). A change that re-plans only that flow (here: the NetSuite tax item
    a blocked invoice needs appears) must re-plan the flow waiting on it in the same run, though
    none of the waiting flow's own inputs changed."""
    tax_item = "JP Consumption Tax 10"
    flows = ["customers", "items", "invoices", "payments"]
    env = make_sync_env(tax_item_by_tax_code={**TAX_ITEMS, "CT-JP": tax_item})
    _settle(env, flows)
    blocked_reason = "no NetSuite tax item for Zuora tax code 'CT-JP'"
    invoices = env.plan("invoices").filter(
        (pl.col("action") == "blocked") & pl.col("reason").str.contains(blocked_reason, literal=True)
    )
    waiting = env.plan("payments").filter(
        (pl.col("action") == "blocked")
        & (pl.col("blocked_by_flow") == "invoices")
        & pl.col("blocked_by_id").is_in(invoices["source_id"].to_list())
    )
    assert waiting.height > 0, env.plan("payments").select("source_id", "action", "reason").to_dicts()
    assert waiting["reason"].str.contains(f"it is blocked: {blocked_reason}", literal=True).all(), waiting["reason"]

    with env.netsuite_client() as client:
        (added,) = client.add_list("salesTaxItem", [{"itemId": tax_item, "displayName": tax_item, "rate": "10%"}])
    assert added.ok, added
    # Staging and plans only, as when the plan assets are materialized from the UI: the invoices
    # are not pushed, so no link changes and nothing the payments plan reads of its own changes.
    chosen = [f for f in env.flows if f.name in flows]
    planning = [a for a in assets_for(chosen) if not any(k.path[0] == "push" for k in a.keys)]
    result = dg.materialize(planning, resources=env.resources())

    assert _metadata(result, plan_key("invoices"))["unchanged_inputs"] is False
    invoice_actions = dict(env.plan("invoices").select("source_id", "action").iter_rows())
    payments = env.plan("payments").filter(pl.col("source_id").is_in(waiting["source_id"].to_list()))
    assert payments.height == waiting.height
    for payment in payments.iter_rows(named=True):
        assert invoice_actions[payment["blocked_by_id"]] == "create", payment
        assert payment["action"] == "blocked", payment
        assert payment["reason"].endswith("it is planned for create and not pushed yet"), payment
        assert blocked_reason not in payment["reason"], payment
