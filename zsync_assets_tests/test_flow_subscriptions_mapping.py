"""The subscriptions mapping, pure: staged frames in, one row per sales order out (no server, no DB)."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from zsync_assets.config import parse_config
from zsync_assets.engine.plan import build_plan, payloads
from zsync_assets.flows.mapping.charge_overrides import charge_override
from zsync_assets.flows.subscriptions import (
    AMENDMENT_REASON,
    SUBSCRIPTIONS,
    rate_plans_from_lines,
    subscriptions_from_sales_orders,
    unbillable_lines,
)

CHARGES = {
    "c-fee": {
        "id": "c-fee",
        "product_rate_plan_id": "p-base",
        "name": "Platform Fee",
        "charge_type": "Recurring",
        "charge_model": "Flat Fee Pricing",
        "default_quantity": 1.0,
    },
    "c-onb": {
        "id": "c-onb",
        "product_rate_plan_id": "p-base",
        "name": "Onboarding",
        "charge_type": "OneTime",
        "charge_model": "Flat Fee Pricing",
        "default_quantity": 1.0,
    },
    "c-seat": {
        "id": "c-seat",
        "product_rate_plan_id": "p-seat",
        "name": "Per Seat",
        "charge_type": "Recurring",
        "charge_model": "Per Unit Pricing",
        "default_quantity": 1.0,
    },
    "c-api": {
        "id": "c-api",
        "product_rate_plan_id": "p-api",
        "name": "API Calls",
        "charge_type": "Usage",
        "charge_model": "Per Unit Pricing",
        "default_quantity": 1.0,
    },
    "c-disc": {
        "id": "c-disc",
        "product_rate_plan_id": "p-disc",
        "name": "Loyalty 10%",
        "charge_type": "Recurring",
        "charge_model": "Discount-Percentage",
        "default_quantity": 1.0,
    },
}
ITEM_OF = {"c-fee": "101", "c-onb": "102", "c-seat": "103", "c-api": "104", "c-disc": "105"}


def _links(customer_direction: str = "zuora", extra: list[dict] | None = None) -> pl.DataFrame:
    customer = (
        {"flow": "customers", "source_system": "zuora", "source_id": "acc-1", "target_id": "30"}
        if customer_direction == "zuora"
        else {"flow": "customers", "source_system": "netsuite", "source_id": "30", "target_id": "acc-1"}
    )
    rows = [customer] + [
        {"flow": "items", "source_system": "zuora", "source_id": c, "target_id": i} for c, i in ITEM_OF.items()
    ]
    rows = [{**r, "payload": None, "payload_hash": None} for r in rows] + (extra or [])
    return pl.DataFrame(
        rows,
        schema={
            "flow": pl.Utf8,
            "source_system": pl.Utf8,
            "source_id": pl.Utf8,
            "target_id": pl.Utf8,
            "payload": pl.Utf8,
            "payload_hash": pl.Utf8,
        },
    )


def _tables(orders: list[dict], lines: list[dict], links: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    base = {
        "internal_id": "50",
        "tran_id": "SO50",
        "tran_date": date(2026, 3, 1),
        "order_status": "_pendingFulfillment",
        "status": "Pending Fulfillment",
        "entity_internal_id": "30",
        "entity_name": "Acme KK 1",
    }
    return {
        "netsuite.sales_orders": pl.DataFrame([{**base, **o} for o in orders]),
        "netsuite.sales_order_lines": pl.DataFrame(
            lines,
            schema={
                "transaction_internal_id": pl.Utf8,
                "item_internal_id": pl.Utf8,
                "item_name": pl.Utf8,
                "quantity": pl.Float64,
                "rate": pl.Utf8,
                "line": pl.Int64,
            },
        ),
        "zuora.product_rate_plan_charges": pl.DataFrame(list(CHARGES.values())),
        "zsync.links": _links() if links is None else links,
    }


def _line(so: str, item: str, qty: float = 1.0, rate: str = "10.00", line: int = 1, name: str = "x") -> dict:
    return {
        "transaction_internal_id": so,
        "item_internal_id": item,
        "item_name": name,
        "quantity": qty,
        "rate": rate,
        "line": line,
    }


def _rows(tables: dict, **config) -> dict[str, dict]:
    mapped = subscriptions_from_sales_orders(tables, parse_config(config))
    bodies = payloads(mapped)
    return {r["source_id"]: {**r, "payload": p} for r, p in zip(mapped.to_dicts(), bodies, strict=True)}


def test_lines_of_one_plan_share_an_entry_and_overrides_follow_the_charge_model():
    lines = [
        {"charge_id": "c-fee", "quantity": 1.0, "rate": "99.00"},
        {"charge_id": "c-onb", "quantity": 1.0, "rate": "500.00"},
        {"charge_id": "c-seat", "quantity": 5.0, "rate": "12.50"},
        {"charge_id": "c-api", "quantity": 1000.0, "rate": "0.01"},
        {"charge_id": "c-disc", "quantity": 1.0, "rate": "-10%"},
        {"charge_id": "c-seat", "quantity": 1.0, "rate": "12.50"},
    ]
    assert rate_plans_from_lines(lines, CHARGES) == [
        {
            "productRatePlanId": "p-base",
            "chargeOverrides": [
                {"productRatePlanChargeId": "c-fee", "price": 99.0},
                {"productRatePlanChargeId": "c-onb", "price": 500.0},
            ],
        },
        {
            "productRatePlanId": "p-seat",
            "chargeOverrides": [{"productRatePlanChargeId": "c-seat", "quantity": 5.0, "price": 12.5}],
        },
        # usage has no quantity to subscribe; a percentage discount takes the line's percentage
        {"productRatePlanId": "p-api", "chargeOverrides": [{"productRatePlanChargeId": "c-api", "price": 0.01}]},
        {
            "productRatePlanId": "p-disc",
            "chargeOverrides": [{"productRatePlanChargeId": "c-disc", "discountPercentage": 10.0}],
        },
        # the same charge again: a second subscription of its plan; default quantity is not sent
        {"productRatePlanId": "p-seat", "chargeOverrides": [{"productRatePlanChargeId": "c-seat", "price": 12.5}]},
    ]


def test_payload_account_from_the_customer_link_in_either_direction_and_tran_date_as_a_date():
    lines = [_line("50", "103", 3.0, "20.00")]
    for direction in ("zuora", "netsuite"):
        (row,) = _rows(_tables([{}], lines, _links(direction))).values()
        assert row["_blocked"] is None and row["_skip"] is None
        assert row["payload"] == {
            "accountKey": "acc-1",
            "contractEffectiveDate": "2026-03-01",
            "termType": "TERMED",
            "initialTerm": 12,
            "initialTermPeriodType": "Month",
            "renewalTerm": 12,
            "renewalTermPeriodType": "Month",
            "autoRenew": True,
            "subscribeToRatePlans": [
                {
                    "productRatePlanId": "p-seat",
                    "chargeOverrides": [{"productRatePlanChargeId": "c-seat", "quantity": 3.0, "price": 20.0}],
                }
            ],
            "SalesOrder__NS": "SO50",
            "IntegrationId__NS": "50",
        }
    (row,) = _rows(_tables([{}], lines), subscription_terms={"term_type": "EVERGREEN"}).values()
    assert "initialTerm" not in row["payload"] and row["payload"]["termType"] == "EVERGREEN"


def test_unlinked_customer_or_item_blocks_naming_it():
    rows = _rows(
        _tables(
            [{}, {"internal_id": "51", "entity_internal_id": "31", "entity_name": "Globex"}],
            [_line("50", "103"), _line("50", "27", name="Premium Support", line=2), _line("51", "103")],
        )
    )
    assert rows["50"]["_blocked"] == "item 'Premium Support' (27) on line 2 not synced from Zuora (no items link)"
    assert rows["51"]["_blocked"] == "customer 'Globex' (31) is not synced to Zuora yet"


def test_skips_unapproved_closed_pre_cutover_and_zsync_born_orders():
    orders = [
        {"internal_id": "60", "order_status": "_pendingApproval", "status": "Pending Approval"},
        {"internal_id": "61", "order_status": "_closed", "status": "Closed"},
        {"internal_id": "62", "tran_date": date(2023, 12, 31)},
        {"internal_id": "63", "external_id": "zsync:subscriptions:x"},
        {"internal_id": "64", "order_status": "_pendingBilling", "status": "Pending Billing"},
    ]
    rows = _rows(_tables(orders, [_line(o["internal_id"], "103") for o in orders]), cutover_date="2024-01-01")
    assert rows["60"]["_skip"] == "sales order is Pending Approval"
    assert rows["61"]["_skip"] == "sales order is Closed"
    assert rows["62"]["_skip"] == "dated 2023-12-31, before cutover_date 2024-01-01"
    assert rows["63"]["_skip"] == "created by zsync from Zuora; not sent back"
    assert rows["64"]["_skip"] is None


def test_after_the_create_only_the_order_number_follows_anything_else_is_blocked_not_recreated():
    tables = _tables([{}], [_line("50", "103", 3.0, "20.00")])
    (row,) = _rows(tables).values()
    synced = {
        "flow": "subscriptions",
        "source_system": "netsuite",
        "source_id": "50",
        "target_id": "A-S00000001",
        "payload": json.dumps(row["payload"]),
        "payload_hash": "h",
    }
    links = _links(extra=[synced])

    def plan(tran_id: str, quantity: float) -> dict:
        mapped = subscriptions_from_sales_orders(
            _tables([{"tran_id": tran_id}], [_line("50", "103", quantity, "20.00")], links), parse_config({})
        )
        flow_links = links.filter(pl.col("flow") == "subscriptions")
        return build_plan(SUBSCRIPTIONS, mapped, flow_links).row(0, named=True)

    renumbered = plan("SO50-B", 3.0)
    assert (renumbered["action"], renumbered["target_id"], renumbered["changed_fields"]) == (
        "update",
        "A-S00000001",
        ["SalesOrder__NS"],
    )
    more_seats = plan("SO50", 4.0)
    assert (more_seats["action"], more_seats["reason"]) == ("blocked", AMENDMENT_REASON)


# Every charge model the mapping knows, for a line of 3 at 50.00 (worth 150.00): the override
# (what Zuora then bills a period), or, as text, why the line blocks its order.
def _charge(model: str, charge_type: str = "Recurring", default_quantity: float = 1.0) -> dict:
    return {
        "id": "c-x",
        "product_rate_plan_id": "p-x",
        "name": "X",
        "charge_type": charge_type,
        "charge_model": model,
        "default_quantity": default_quantity,
    }


QTY_3_AT_50 = [
    (_charge("Flat Fee Pricing"), "50.00", {"price": 150.0}),
    (_charge("Flat Fee Pricing", "OneTime"), "50.00", {"price": 150.0}),
    (_charge("Per Unit Pricing"), "50.00", {"quantity": 3.0, "price": 50.0}),
    # the charge's default quantity is 3 already: only the price is needed
    (_charge("Per Unit Pricing", default_quantity=3.0), "50.00", {"price": 50.0}),
    # usage bills what is used at the unit price; the line's quantity is an estimate
    (_charge("Per Unit Pricing", "Usage"), "50.00", {"price": 50.0}),
    (_charge("Discount-Fixed Amount"), "-50.00", {"discountAmount": 150.0}),
    (_charge("Discount-Percentage"), "-10%", {"discountPercentage": 10.0}),
    (_charge("Discount-Percentage"), "-50.00", "is a percentage discount; the line gives an amount"),
    (_charge("Discount-Fixed Amount"), "50.00", "charges money instead of taking it off"),
    (_charge("Discount-Fixed Amount"), "-10%", "the line gives a percentage"),
    (_charge("Tiered Pricing"), "50.00", "prices by tier (Tiered Pricing)"),
    (_charge("Volume Pricing"), "50.00", "prices by tier (Volume Pricing)"),
    (_charge("Tiered with Overage Pricing"), "50.00", "prices by tier (Tiered with Overage Pricing)"),
    (_charge("Overage Pricing", "Usage"), "50.00", "prices by tier (Overage Pricing)"),
    (_charge("Delivery Pricing"), "50.00", "has charge model Delivery Pricing, which zsync does not map"),
]


def test_a_line_of_three_bills_what_the_order_says_or_blocks_naming_the_line_for_every_charge_model():
    for charge, rate, expected in QTY_3_AT_50:
        line = {"charge_id": "c-x", "quantity": 3.0, "rate": rate, "line": 2, "item_name": "Widget"}
        override, reason = charge_override(line, charge)
        case = (charge["charge_model"], charge["charge_type"], rate)
        if isinstance(expected, str):
            assert reason and reason.startswith(f"line 2 ('Widget', 3 x {rate}") and expected in reason, (case, reason)
            assert unbillable_lines([line], {"c-x": charge}) == reason
        else:
            assert reason is None and override == {"productRatePlanChargeId": "c-x", **expected}, case
            assert unbillable_lines([line], {"c-x": charge}) is None


def test_netsuites_own_line_amount_wins_over_quantity_times_rate():
    line = {"charge_id": "c-x", "quantity": 3.0, "rate": "33.33", "amount": 100.0, "line": 1, "item_name": "Fee"}
    assert charge_override(line, _charge("Flat Fee Pricing")) == (
        {"productRatePlanChargeId": "c-x", "price": 100.0},
        None,
    )


def test_a_tiered_line_blocks_a_new_order_but_not_one_whose_subscription_exists():
    charges = pl.DataFrame(
        [*CHARGES.values(), {**_charge("Tiered Pricing"), "id": "c-tier", "product_rate_plan_id": "p-t"}]
    )
    tables = {
        **_tables(
            [{}],
            [_line("50", "106", 3.0, "50.00", name="Seats (tiered)")],
            _links(
                extra=[
                    {
                        "flow": "items",
                        "source_system": "zuora",
                        "source_id": "c-tier",
                        "target_id": "106",
                        "payload": None,
                        "payload_hash": None,
                    }
                ]
            ),
        ),
        "zuora.product_rate_plan_charges": charges,
    }
    (row,) = _rows(tables).values()
    assert row["_blocked"] == (
        "line 1 ('Seats (tiered)', 3 x 50.00 = 150.00): Zuora charge 'X' prices by tier "
        "(Tiered Pricing), which one line rate cannot set: create this subscription in Zuora"
    )
    # Created before this check (the override then carried the quantity only): left alone, not blocked.
    sent = {
        "accountKey": "acc-1",
        "contractEffectiveDate": "2026-03-01",
        "termType": "TERMED",
        "initialTerm": 12,
        "initialTermPeriodType": "Month",
        "renewalTerm": 12,
        "renewalTermPeriodType": "Month",
        "autoRenew": True,
        "subscribeToRatePlans": [
            {"productRatePlanId": "p-t", "chargeOverrides": [{"productRatePlanChargeId": "c-tier", "quantity": 3.0}]}
        ],
        "SalesOrder__NS": "SO50",
        "IntegrationId__NS": "50",
    }
    synced = {
        "flow": "subscriptions",
        "source_system": "netsuite",
        "source_id": "50",
        "target_id": "A-S1",
        "payload": json.dumps(sent),
        "payload_hash": "h",
    }
    tables["zsync.links"] = pl.concat([tables["zsync.links"], _links(extra=[synced]).tail(1)])
    (row,) = _rows(tables).values()
    assert row["_blocked"] is None and row["payload"] == sent
