"""Every declared flow gets these end-to-end checks for free (the singer-sdk / dlt idea):

1. the first run lands every planned create and logs no failure;
2. a second run over unchanged data sends not one write request to either system;
3. editing one source record, the way a user would, yields exactly one update;
4. canceling or deleting one synced transaction at its source, the way a user would, yields
   exactly one reversal (engine/reversals.py), and a run after it sends nothing.

A new flow needs at most three lines here: a config variant that enables it (if none of
`CONFIG_VARIANTS` does), an edit for its main source table (if `SOURCE_EDITS` lacks it) and
how a user undoes one such record (`SOURCE_REVERSALS`, None for masters); the test fails with a
message saying which one is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pytest

from zsync_assets.cli.users import set_rev_rec_date
from zsync_assets.config import parse_config
from zsync_assets.engine.flow import Flow
from zsync_assets.flows import all_flows
from zsync_assets_tests.fixtures.memos import add_netsuite_credit_memo, add_zuora_memo, add_zuora_memos, comment_adjustment
from zsync_assets_tests.fixtures.sales_orders import add_sales_orders
from zsync_assets_tests.fixtures.settlements import add_netsuite_payment, add_netsuite_refund

# Configs tried in order; a flow is tested under the first one that enables it.
CONFIG_VARIANTS: list[dict] = [{}, {"customer_master": "netsuite"}, {"invoice_settlement": True},
                                {"payments_ns_to_zuora": True}]


@dataclass(frozen=True)
class SourceEdit:
    """How a user changes one record of a source table, and which linked records show the change."""

    shows_in: Callable[[dict], bool]  # the record's last written payload -> will the edit change it?
    apply: Callable[..., None]  # (env, source id) -> None, through the source system's API


def _rename_account(env, account_id: str) -> None:
    env.update_account(account_id, name=f"Edited {account_id[:8]}")


def _rename_charge(env, charge_id: str) -> None:
    # The CRUD update of a charge takes its billing definition along (ProxyModifyProductRatePlanCharge
    # requires it), so a user renaming one sends what the charge already has.
    with env.zuora_api() as api:
        charge = api.get(f"/object-query/product-rate-plan-charges/{charge_id}").json()
        body = {"Name": f"Edited {charge_id[:8]}", "ProductRatePlanId": charge["productRatePlanId"],
                "ChargeModel": charge["chargeModel"], "BillingPeriod": charge.get("billingPeriod") or "Month",
                "TriggerEvent": charge["triggerEvent"], "BillCycleType": "DefaultFromCustomer",
                "UseDiscountSpecificAccountingCode": False,
                "ProductRatePlanChargeTierData": {"ProductRatePlanChargeTier": [{"Currency": "USD", "Price": 1}]}}
        response = api.put(f"/v1/object/product-rate-plan-charge/{charge_id}", json=body)
        assert response.status_code == 200 and response.json()["Success"], response.text


def _rename_customer(env, customer_id: str) -> None:
    with env.netsuite_client() as client:
        (result,) = client.update_list("customer", [{"internalId": customer_id, "companyName": "Edited in NetSuite"}])
    assert result.ok, result


def _renumber_sales_order(env, order_id: str) -> None:
    # The one sales order change a synced subscription follows (SalesOrder__NS); others are amendments.
    with env.netsuite_client() as client:
        (result,) = client.update_list("salesOrder", [{"internalId": order_id, "tranId": f"SO-EDITED-{order_id}"}])
    assert result.ok, result


def _comment(kind: str):
    # PUT_UpdatePayment / PUT_UpdateRefund: a processed document's comment can still change.
    def apply(env, document_id: str) -> None:
        with env.zuora_api() as api:
            response = api.put(f"/v1/{kind}/{document_id}", json={"comment": f"Edited {document_id[:8]}"})
            assert response.status_code == 200 and response.json()["success"], response.text
    return apply


def _memo(record_type: str):
    def apply(env, internal_id: str) -> None:
        with env.netsuite_client() as client:
            (result,) = client.update_list(record_type, [{"internalId": internal_id, "memo": "Edited in NetSuite"}])
        assert result.ok, result
    return apply


SOURCE_EDITS: dict[str, SourceEdit] = {
    "zuora.payments": SourceEdit(lambda payload: True, _comment("payments")),
    "zuora.refunds": SourceEdit(lambda payload: True, _comment("refunds")),
    "netsuite.customer_payments": SourceEdit(lambda payload: True, _memo("customerPayment")),
    "netsuite.customer_refunds": SourceEdit(lambda payload: True, _memo("customerRefund")),
    "zuora.accounts": SourceEdit(lambda payload: "companyName" in payload, _rename_account),
    "zuora.product_rate_plan_charges": SourceEdit(lambda payload: True, _rename_charge),
    "netsuite.customers": SourceEdit(lambda payload: True, _rename_customer),
    "zuora.invoices": SourceEdit(lambda payload: "itemList" in payload, set_rev_rec_date),
    "netsuite.sales_orders": SourceEdit(lambda payload: True, _renumber_sales_order),
    "zuora.invoice_item_adjustments": SourceEdit(lambda payload: True, comment_adjustment),
    "netsuite.credit_memos": SourceEdit(lambda payload: True, _memo("creditMemo")),
    "zuora.credit_memos": SourceEdit(lambda payload: True, _comment("credit-memos")),
    "zuora.debit_memos": SourceEdit(lambda payload: True, _comment("debit-memos")),
}

def _cancel_in_zuora(kind: str):
    # Zuora's cancel routes (PUT /v1/{payments,refunds}/{key}/cancel); a Posted memo is unposted
    # first, as Zuora cancels only a Draft one, and back in Draft it is reversed already. Zuora
    # refuses some (a payment with refunds, an applied memo): False, and another is tried.
    def apply(env, document_id: str) -> bool:
        steps = ["unpost", "cancel"] if kind.endswith("memos") else ["cancel"]
        with env.zuora_api() as api:
            for step in steps:
                response = api.put(f"/v1/{kind}/{document_id}/{step}")
                if response.status_code != 200 or not response.json().get("success", True):
                    return step != steps[0]
        return True
    return apply


def _cancel_adjustment(env, adjustment_id: str) -> bool:
    with env.zuora_api() as api:
        response = api.post("/v1/action/update", json={"type": "InvoiceItemAdjustment",
                                                        "objects": [{"Id": adjustment_id, "Status": "Canceled"}]})
    return response.status_code == 200 and response.json()[0]["Success"]


def _delete_in_netsuite(record_type: str):
    # NetSuite refuses to delete a transaction others depend on (a payment with a refund): False.
    def apply(env, internal_id: str) -> bool:
        with env.netsuite_client() as client:
            (result,) = client.delete_list(record_type, [internal_id])
        return result.ok
    return apply


# How a user undoes one synced transaction of a source table: (env, source id) -> whether the
# source system allowed it. None: the table's records are never reversed (zsync never deletes a
# master record; a canceled invoice is credited, not deleted: test_sync_invoices).
SOURCE_REVERSALS: dict[str, Callable[..., bool] | None] = {
    "zuora.accounts": None,
    "zuora.product_rate_plan_charges": None,
    "netsuite.customers": None,
    "zuora.invoices": None,
    "netsuite.sales_orders": None,
    "zuora.payments": _cancel_in_zuora("payments"),
    "zuora.refunds": _cancel_in_zuora("refunds"),
    "zuora.invoice_item_adjustments": _cancel_adjustment,
    "zuora.credit_memos": _cancel_in_zuora("credit-memos"),
    "zuora.debit_memos": _cancel_in_zuora("debit-memos"),
    "netsuite.customer_payments": _delete_in_netsuite("customerPayment"),
    "netsuite.customer_refunds": _delete_in_netsuite("customerRefund"),
    "netsuite.credit_memos": _delete_in_netsuite("creditMemo"),
}

# Source records a seed cannot hold because they reference what zsync creates first (a sales
# order selling a synced item): flow -> arrange(env), called after one run of its dependencies.
ARRANGE: dict[str, Callable[..., object]] = {
    "subscriptions": lambda env: add_sales_orders(env, count=2),
    "netsuite_payments": add_netsuite_payment,
    "netsuite_refunds": lambda env: add_netsuite_refund(env, add_netsuite_payment(env, unapplied=10.0)["payment_id"], 10.0),
}


# Settings a flow needs on top of its variant to sync the seeded data (vendor names the
# sandboxes cannot share, e.g. which NetSuite tax item Zuora's tax codes post to).
FLOW_SETTINGS: dict[str, dict] = {"invoices": {"default_tax_item": "CA State Tax"}}
# Memo flows: memos made on synced accounts / invoices; memo tax posts to default_tax_item.
ARRANGE.update({"netsuite_credit_memos": add_netsuite_credit_memo,
                # + a posted memo applied nowhere: the one a user can unpost and cancel (Zuora
                # refuses an applied one), for the reversal step
                "credit_memos": lambda env: [*add_zuora_memos(env, "credit"), add_zuora_memo(env, "credit")],
                "debit_memos": lambda env: add_zuora_memos(env, "debit")})
FLOW_SETTINGS.update({flow: {"default_tax_item": "CA State Tax"}
                      for flow in ("adjustments", "netsuite_credit_memos", "credit_memos", "debit_memos")})
FLOW_SETTINGS.update({flow: FLOW_SETTINGS["invoices"]  # these settle synced invoices
                      for flow in ("payments", "netsuite_payments", "refunds", "netsuite_refunds")})


def _config_for(flow: Flow) -> dict:
    for variant in CONFIG_VARIANTS:
        if flow.enabled(parse_config(variant)):
            return variant
    raise AssertionError(f"no CONFIG_VARIANTS entry enables flow {flow.name!r} ({flow.description}); add one")


def _with_dependencies(flow: Flow, flows: list[Flow]) -> list[str]:
    by_name = {f.name: f for f in flows}
    names, todo = [], [flow.name]
    while todo:
        name = todo.pop()
        if name not in names:
            names.append(name)
            todo.extend(by_name[name].depends_on)
    return names


@pytest.mark.parametrize("flow", all_flows(), ids=lambda f: f"{f.name}:{f.source_system}->{f.target_system}")
def test_every_flow_reruns_silently_and_turns_one_edit_into_one_update(flow: Flow, make_sync_env):
    edit = SOURCE_EDITS.get(flow.source_tables[0])
    assert edit, f"no SOURCE_EDITS entry for {flow.source_tables[0]!r}: say how a user edits one such record"
    assert flow.source_tables[0] in SOURCE_REVERSALS, (
        f"no SOURCE_REVERSALS entry for {flow.source_tables[0]!r}: say how a user cancels one (None: never)")
    env = make_sync_env(**_config_for(flow), **FLOW_SETTINGS.get(flow.name, {}))
    names = _with_dependencies(flow, env.flows)
    if flow.name in ARRANGE:
        env.run(names[1:])
        ARRANGE[flow.name](env)

    env.run(names)
    created = set(env.plan(flow.name).filter(pl.col("action") == "create")["source_id"])
    assert created, f"the seeded tenant gives {flow.name} nothing to create"
    assert set(env.links(flow.name)["source_id"]) >= created
    failures = env.query(f"select source_id, error_code, message from zsync.push_log "
                         f"where flow = '{flow.name}' and status = 'failed'")
    assert failures.is_empty(), failures.to_dicts()

    before = env.write_calls()
    env.run(names)
    assert env.write_calls() == before
    counts = env.plan_counts(flow.name)
    assert counts["create"] == counts["update"] == 0, counts

    candidates = [r["source_id"] for r in env.links(flow.name).iter_rows(named=True)
                  if edit.shows_in(json.loads(r["payload"]))]
    assert candidates, f"no linked {flow.name} record shows an edit of {flow.source_tables[0]}"
    edited = candidates[0]
    edit.apply(env, edited)
    before = env.write_calls()
    env.run(names)

    plan = env.plan(flow.name)
    assert plan.filter(pl.col("action").is_in(["create", "update"]))["source_id"].to_list() == [edited]
    assert plan.filter(pl.col("source_id") == edited)["action"].item() == "update"
    updates = env.query(f"select source_id, target_id from zsync.push_log where flow = '{flow.name}' "
                        f"and action = 'update' and status = 'succeeded'")
    assert updates.to_dicts() == [{"source_id": edited, "target_id": env.links(flow.name)
                                   .filter(pl.col("source_id") == edited)["target_id"].item()}]
    assert env.write_calls()[flow.target_system] > before[flow.target_system]

    undo = SOURCE_REVERSALS[flow.source_tables[0]]
    if undo is None:
        return
    linked = sorted(env.links(flow.name)["source_id"])
    undone = next((source_id for source_id in linked if undo(env, source_id)), None)
    assert undone, f"the source system let no linked {flow.name} record be canceled or deleted: {linked}"
    env.run(names)
    plan = env.plan(flow.name)
    assert plan.filter(pl.col("action") == "reverse")["source_id"].to_list() == [undone]
    reversals = env.query(f"select source_id from zsync.push_log where flow = '{flow.name}' "
                          f"and action = 'reverse' and status = 'succeeded'")["source_id"].to_list()
    assert reversals == [undone]
    assert env.links(flow.name).filter(pl.col("source_id") == undone)["reversed_at"].item() is not None

    before = env.write_calls()
    env.run(names)
    assert env.write_calls() == before
    assert env.plan_counts(flow.name).get("reverse", 0) == 0
