"""subscriptions end to end: NetSuite sales orders -> Zuora subscriptions through both sandboxes.

Sales orders are entered through SuiteTalk for customers and items zsync synced first; every
assertion reads Zuora (`GET /v1/subscriptions/{key}`, Object Query), NetSuite (the sales order
record) or zsync's own tables.
"""

from __future__ import annotations

import polars as pl

from zsync_assets.flows.subscriptions import AMENDMENT_REASON, SUBSCRIPTION_FIELD
from zsync_assets_tests.fixtures.sales_orders import add_sales_order, add_sales_orders, linked_items, sales_order_ids
from zsync_assets_tests.fixtures.sync_env import crash_after_write
from zsync_assets_tests.test_zuora_sandbox_conformance import Conformance

# Each test runs customers + items once, then only the subscriptions assets (staging what they read,
# plan, push): the masters' own re-runs are covered by test_sync_customers_items.py.


def _subscription(env, key: str) -> dict:
    with env.zuora_api() as api:
        response = api.get(f"/v1/subscriptions/{key}")
        assert response.status_code == 200, response.text
        return response.json()


def _links(env) -> dict[str, str]:
    return dict(env.links("subscriptions").select("source_id", "target_id").iter_rows())


def _account_of(env, customer_id: str) -> str:
    links = env.links("customers")
    return next(
        s if system == "zuora" else t
        for system, s, t in links.select("source_system", "source_id", "target_id").iter_rows()
        if customer_id in (s, t)
    )


def _reason(env, source_id: str) -> str:
    return env.plan("subscriptions").filter(pl.col("source_id") == source_id)["reason"].item()


def test_orders_become_subscriptions_numbers_go_back_a_rerun_sends_nothing_and_a_change_is_blocked(sync_env):
    env = sync_env
    env.run(["customers", "items"])
    orders = add_sales_orders(env, count=2)
    netsuite_item = env.netsuite_records("item", itemId="Premium Support")[0]["internalId"]
    unsynced = add_sales_order(env, orders[0].customer_id, [(netsuite_item, 1.0, 500.0)])
    env.run(["subscriptions"])

    assert sales_order_ids(env, "create") == {o.internal_id for o in orders}
    assert "'Premium Support'" in _reason(env, unsynced.internal_id)
    assert "not synced from Zuora" in _reason(env, unsynced.internal_id)
    # The seeded orders belong to NetSuite-born customers, which Zuora-master mode never syncs.
    seeded = sales_order_ids(env, "blocked") - {unsynced.internal_id}
    assert seeded and all("is not synced to Zuora yet" in _reason(env, s) for s in seeded)

    items = linked_items(env)
    links = _links(env)
    for order in orders:
        number = links[order.internal_id]
        subscription = _subscription(env, number)
        assert subscription["subscriptionNumber"] == number
        assert subscription["accountId"] == _account_of(env, order.customer_id)
        assert (subscription["SalesOrder__NS"], subscription["IntegrationId__NS"]) == (order.tran_id, order.internal_id)
        with env.netsuite_client() as client:
            record = client.get("salesOrder", internal_id=order.internal_id)
        assert subscription["contractEffectiveDate"] == record["tranDate"].date().isoformat()  # no timezone shift
        assert record["customFieldList"][SUBSCRIPTION_FIELD] == number  # write-back
        plans = {p["productRatePlanId"]: p for p in subscription["ratePlans"]}
        assert set(plans) == {items["Platform Fee"]["plan_id"], items["Per Seat"]["plan_id"]}
        charges = {c["productRatePlanChargeId"]: c for p in plans.values() for c in p["ratePlanCharges"]}
        seats = charges[items["Per Seat"]["charge_id"]]
        assert (seats["quantity"], seats["price"]) == (order.lines[2]["quantity"], 12.5)
        assert charges[items["Platform Fee"]["charge_id"]]["price"] == 99.0

    before = env.write_calls()
    env.run(["subscriptions"])
    assert env.write_calls() == before, "an unchanged sales order must not cause a single write request"
    assert env.plan_counts("subscriptions")["create"] == env.plan_counts("subscriptions")["update"] == 0

    # More seats on the order after its subscription exists: an amendment, which zsync does not make.
    changed = orders[0]
    with env.netsuite_client() as client:
        (result,) = client.update_list(
            "salesOrder",
            [
                {
                    "internalId": changed.internal_id,
                    "itemList": {
                        "item": [
                            {
                                "item": {"internalId": line["item_id"]},
                                "quantity": line["quantity"] + 3,
                                "rate": f"{line['rate']:.2f}",
                            }
                            for line in changed.lines
                        ]
                    },
                }
            ],
        )
    assert result.ok, result
    before = env.write_calls()
    env.run(["subscriptions"])
    assert _reason(env, changed.internal_id) == AMENDMENT_REASON
    assert env.write_calls()["zuora"] == before["zuora"]
    assert len(env.zuora_records("subscriptions", IntegrationId__NS=changed.internal_id)) == 1


def test_commit_then_drop_and_a_crash_after_the_call_leave_exactly_one_subscription(sync_env):
    env = sync_env
    env.run(["customers", "items"])
    (dropped,) = add_sales_orders(env, count=1)
    env.zuora.set_faults([{"route": "POST /v1/subscriptions", "commit_then_drop": 1}])
    env.run(["subscriptions"])
    env.zuora.clear_faults()
    # The create committed and its answer was lost; the retry carried the same Idempotency-Key,
    # so Zuora replayed the first answer instead of creating a second subscription.
    stats = env.zuora.stats()
    assert stats["POST /v1/subscriptions"] == stats["writes:POST /v1/subscriptions"] + 1
    (subscription,) = env.zuora_records("subscriptions", IntegrationId__NS=dropped.internal_id)
    assert _links(env)[dropped.internal_id] == subscription["name"]

    (crashed,) = add_sales_orders(env, count=1)
    result = env.run(["subscriptions"], sinks=crash_after_write("zuora"), raise_on_error=False)
    assert not result.success
    assert len(env.zuora_records("subscriptions", IntegrationId__NS=crashed.internal_id)) == 1
    assert crashed.internal_id not in _links(env)

    env.run(["subscriptions"])  # the unanswered create is looked up by IntegrationId__NS, not sent again
    (subscription,) = env.zuora_records("subscriptions", IntegrationId__NS=crashed.internal_id)
    assert _links(env)[crashed.internal_id] == subscription["name"]
    with env.netsuite_client() as client:
        record = client.get("salesOrder", internal_id=crashed.internal_id)
    assert record["customFieldList"][SUBSCRIPTION_FIELD] == subscription["name"]


def test_netsuite_master_orders_of_flagged_customers_become_subscriptions(make_sync_env):
    env = make_sync_env(customer_master="netsuite")
    env.run(["customers", "items"])
    items = linked_items(env)
    customer_id = env.links("customers")["source_id"][0]  # a NetSuite customer now a Zuora account
    order = add_sales_order(env, customer_id, [(items["Per Seat"]["item_id"], 3.0, 20.0)])
    env.run(["subscriptions"])

    number = _links(env)[order.internal_id]
    subscription = _subscription(env, number)
    assert (
        subscription["accountId"]
        == env.links("customers").filter(pl.col("source_id") == customer_id)["target_id"].item()
    )
    (plan,) = subscription["ratePlans"]
    assert plan["productRatePlanId"] == items["Per Seat"]["plan_id"]
    # The seeded orders' customers are synced here, their NetSuite-born items are not.
    assert all("not synced from Zuora" in _reason(env, s) for s in sales_order_ids(env, "blocked"))


def test_subscription_routes_answer_in_the_vendor_shapes(zuora_spec, zuora_sandbox):
    """The sandbox routes this flow added validate against Zuora's published 200 schemas, and a
    rate plan charge of another plan is refused like Zuora refuses it."""
    conformance = Conformance(zuora_spec)
    with zuora_sandbox.client() as client:
        charges = client.get("/object-query/product-rate-plan-charges", params={"pageSize": 99}).json()["data"]
        seat = next(c for c in charges if c["name"] == "Per Seat")
        other = next(c for c in charges if c["productRatePlanId"] != seat["productRatePlanId"])
        account = client.get("/object-query/accounts", params={"pageSize": 1}).json()["data"][0]
        body = {
            "accountKey": account["id"],
            "contractEffectiveDate": "2026-03-01",
            "termType": "EVERGREEN",
            "renewalTerm": 0,  # POSTSubscriptionType requires it, evergreen or not
            "subscribeToRatePlans": [
                {
                    "productRatePlanId": seat["productRatePlanId"],
                    "chargeOverrides": [{"productRatePlanChargeId": seat["id"], "quantity": 4, "price": 9.5}],
                }
            ],
        }
        created = client.post("/v1/subscriptions", json=body).json()
        conformance.check("POST", "/v1/subscriptions", created)
        wrong = {
            **body,
            "subscribeToRatePlans": [
                {
                    "productRatePlanId": seat["productRatePlanId"],
                    "chargeOverrides": [{"productRatePlanChargeId": other["id"]}],
                }
            ],
        }
        assert client.post("/v1/subscriptions", json=wrong).status_code == 400

        updated = client.put(
            f"/v1/subscriptions/{created['subscriptionNumber']}/customFields",
            json={"customFields": {"SalesOrder__NS": "SO-1"}},
        )
        assert updated.status_code == 200, updated.text
        conformance.check("PUT", "/v1/subscriptions/{subscriptionNumber}/customFields", updated.json())
        for key in (created["subscriptionNumber"], created["subscriptionId"]):
            got = client.get(f"/v1/subscriptions/{key}").json()
            conformance.check("GET", "/v1/subscriptions/{subscription-key}", got)
            assert got["SalesOrder__NS"] == "SO-1"
            (charge,) = [
                c for p in got["ratePlans"] for c in p["ratePlanCharges"] if c["productRatePlanChargeId"] == seat["id"]
            ]
            assert (charge["quantity"], charge["price"]) == (4, 9.5)
        assert client.get("/v1/subscriptions/A-S99999999").status_code == 404

        # A discount's value travels as discountPercentage / discountAmount, only on a discount charge.
        loyalty = next(c for c in charges if c["chargeModel"] == "Discount-Percentage")
        discounted = {
            **body,
            "subscribeToRatePlans": [
                {
                    "productRatePlanId": loyalty["productRatePlanId"],
                    "chargeOverrides": [{"productRatePlanChargeId": loyalty["id"], "discountPercentage": 15}],
                }
            ],
        }
        created = client.post("/v1/subscriptions", json=discounted).json()
        got = client.get(f"/v1/subscriptions/{created['subscriptionNumber']}").json()
        conformance.check("GET", "/v1/subscriptions/{subscription-key}", got)
        assert [c["discountPercentage"] for p in got["ratePlans"] for c in p["ratePlanCharges"]] == [15]
        misplaced = {
            **body,
            "subscribeToRatePlans": [
                {
                    "productRatePlanId": seat["productRatePlanId"],
                    "chargeOverrides": [{"productRatePlanChargeId": seat["id"], "discountAmount": 5}],
                }
            ],
        }
        assert client.post("/v1/subscriptions", json=misplaced).status_code == 400


def _tiered_charge(env) -> str:
    """A user adds a tiered product to the Zuora catalog (CRUD calls, like the product team would)."""
    with env.zuora_api() as api:

        def create(path: str, body: dict) -> str:
            response = api.post(path, json=body)
            assert response.status_code == 200 and response.json()["Success"], response.text
            return response.json()["Id"]

        product = create(
            "/v1/object/product",
            {"Name": "Storage", "EffectiveStartDate": "2020-01-01", "EffectiveEndDate": "2099-12-31"},
        )
        plan = create(
            "/v1/object/product-rate-plan",
            {
                "Name": "Storage Monthly",
                "ProductId": product,
                "EffectiveStartDate": "2020-01-01",
                "EffectiveEndDate": "2099-12-31",
            },
        )
        return create(
            "/v1/object/product-rate-plan-charge",
            {
                "Name": "Storage TB",
                "ProductRatePlanId": plan,
                "ChargeModel": "Tiered Pricing",
                "ChargeType": "Recurring",
                "BillingPeriod": "Month",
                "TriggerEvent": "ContractEffective",
                "BillCycleType": "DefaultFromCustomer",
                "AccountingCode": "4000 Subscription Revenue",
                "DefaultQuantity": 1,
                "UseDiscountSpecificAccountingCode": False,
                "ProductRatePlanChargeTierData": {
                    "ProductRatePlanChargeTier": [
                        {"Currency": "USD", "Price": 60, "StartingUnit": 0, "EndingUnit": 2},
                        {"Currency": "USD", "Price": 40, "StartingUnit": 2},
                    ]
                },
            },
        )


def test_a_line_of_three_is_billed_for_three_and_a_tiered_line_is_blocked_naming_it(sync_env):
    env = sync_env
    tiered = _tiered_charge(env)
    env.run(["customers", "items"])
    items = linked_items(env)
    assert items["Platform Fee"]["model"] == "Flat Fee Pricing" and items["Per Seat"]["model"] == "Per Unit Pricing"
    storage = next(i for i in items.values() if i["charge_id"] == tiered)
    customer = env.links("customers").filter(pl.col("source_system") == "zuora")["target_id"].sort()[0]
    order = add_sales_order(
        env, customer, [(items["Platform Fee"]["item_id"], 3.0, 50.0), (items["Per Seat"]["item_id"], 3.0, 20.0)]
    )
    blocked = add_sales_order(
        env, customer, [(items["Per Seat"]["item_id"], 3.0, 20.0), (storage["item_id"], 3.0, 50.0)]
    )
    env.run(["subscriptions"])

    subscription = _subscription(env, _links(env)[order.internal_id])
    charges = {c["productRatePlanChargeId"]: c for p in subscription["ratePlans"] for c in p["ratePlanCharges"]}
    fee, seats = charges[items["Platform Fee"]["charge_id"]], charges[items["Per Seat"]["charge_id"]]
    # A flat fee has no quantity in Zuora: its price is what the three units are worth.
    assert fee["model"] == "Flat Fee Pricing" and fee["price"] == 150.0 and fee["quantity"] == 1.0
    assert (seats["quantity"], seats["price"]) == (3.0, 20.0)
    with env.netsuite_client() as client:
        total = client.get("salesOrder", internal_id=order.internal_id)["total"]
    assert fee["price"] + seats["quantity"] * seats["price"] == total == 210.0  # what Zuora bills a period

    assert blocked.internal_id not in _links(env)
    assert _reason(env, blocked.internal_id).startswith("line 2 (") and "prices by tier (Tiered Pricing)" in _reason(
        env, blocked.internal_id
    )
    assert not env.zuora_records("subscriptions", IntegrationId__NS=blocked.internal_id)

    before = env.write_calls()
    env.run(["subscriptions"])
    assert env.write_calls() == before
