"""subscriptions: NetSuite SalesOrder (+ lines) -> Zuora Subscription (`POST /v1/subscriptions`).

Which sales orders: approved ones (NetSuite `orderStatus` past approval and not closed or
cancelled), dated on/after `cutover_date`, not created by zsync, whose customer and every line
item are linked (`zsync.links` of the customers and items flows). An order waiting for its
customer or an item is `blocked`, naming it; the other cases are `skip` with the reason.

The payload: `accountKey` = the linked Zuora account (the customers link read in either
direction, so both `customer_master` settings work), `contractEffectiveDate` = tranDate as a
date (no timezone shift), term settings from `subscription_terms`, and one
`subscribeToRatePlans` entry per Zuora plan of the lines' linked charges. Subscribing a plan
subscribes all of its charges (Zuora), so lines of one plan share one entry, with a
`chargeOverrides` item per line, so that the subscription bills what the line is worth (the
sales order is the contract; the catalog price is not staged): see `charge_override` for each
charge model. A line whose value a charge model cannot take (tiers, an unknown model) blocks
the order, naming the line. A charge on two lines subscribes its plan twice.
`SalesOrder__NS` = tranId and `IntegrationId__NS` = the internal id (Zuora's
NetSuite-connector fields, spelled as its spec declares them), so an unanswered create is found
by a lookup before any re-create.

The link's target is the subscription NUMBER, not its id: every amendment makes a new
subscription version with a new id in Zuora, while the number stays, and every
`/v1/subscriptions/{subscription-key}` route takes it. It is written back to the sales order's
`custbody_zsync_subscription`.

After the create, only `SalesOrder__NS` follows the sales order (a custom field Zuora updates
in place, without a new version). Any other change (customer, date, lines, terms) would need an
amendment, which zsync does not make: the order is `blocked` with `AMENDMENT_REASON`, never
re-created.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import EXTERNAL_ID_PREFIX, CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.charge_overrides import charge_override
from zsync_assets.flows.mapping.common import lookup, table, with_columns_if_missing
from zsync_assets.flows.mapping.netsuite_fields import ORIGIN_FIELD, ORIGIN_ZUORA

SUBSCRIPTION_FIELD = "custbody_zsync_subscription"
AMENDMENT_REASON = "sales order changed after its subscription was created; amendments are not synced"
# Fields that may follow a later change of the sales order: custom fields, which
# `PUT /v1/subscriptions/{number}/customFields` changes without a new subscription version.
UPDATABLE_FIELDS = ("SalesOrder__NS",)
# SuiteTalk SalesOrderOrderStatus values of an approved, live order.
APPROVED_STATUSES = (
    "_pendingFulfillment",
    "_partiallyFulfilled",
    "_pendingBillingPartFulfilled",
    "_pendingBilling",
    "_fullyBilled",
)
_ORDER_COLUMNS = [
    "internal_id",
    "tran_id",
    "tran_date",
    "order_status",
    "status",
    "entity_internal_id",
    "entity_name",
    "currency_internal_id",
    "external_id",
    SUBSCRIPTION_FIELD,
    ORIGIN_FIELD,
]
_LINE_COLUMNS = ["transaction_internal_id", "item_internal_id", "item_name", "quantity", "rate", "amount", "line"]
_CHARGE_COLUMNS = ["id", "product_rate_plan_id", "name", "charge_type", "charge_model", "default_quantity"]


def _counterparts(links: pl.DataFrame, flow: str) -> dict[str, str]:
    """NetSuite internal id -> Zuora id over a flow's links, whichever side was the source."""
    if links.is_empty():
        return {}
    out = {}
    for source_system, source_id, target_id in (
        links.filter(pl.col("flow") == flow).select("source_system", "source_id", "target_id").iter_rows()
    ):
        ns_id, zuora_id = (source_id, target_id) if source_system == "netsuite" else (target_id, source_id)
        out[str(ns_id)] = str(zuora_id)
    return out


def rate_plans_from_lines(lines: list[dict], charges: Mapping[str, dict]) -> list[dict[str, Any]]:
    """`subscribeToRatePlans`: one entry per plan, a charge override per line; a charge that
    appears again opens a second entry of its plan (Zuora subscribes a plan as a whole)."""
    entries: list[dict[str, Any]] = []
    for line in lines:
        charge = charges[line["charge_id"]]
        plan_id = charge["product_rate_plan_id"]
        entry = next(
            (
                e
                for e in entries
                if e["productRatePlanId"] == plan_id
                and all(o["productRatePlanChargeId"] != charge["id"] for o in e["chargeOverrides"])
            ),
            None,
        )
        if entry is None:
            entry = {"productRatePlanId": plan_id, "chargeOverrides": []}
            entries.append(entry)
        entry["chargeOverrides"].append(charge_override(line, charge)[0])
    for entry in entries:
        entry["chargeOverrides"] = [o for o in entry["chargeOverrides"] if len(o) > 1]
        if not entry["chargeOverrides"]:
            del entry["chargeOverrides"]
    return entries


def unbillable_lines(lines: list[dict], charges: Mapping[str, dict]) -> str | None:
    """Why Zuora could not bill these lines as the sales order says (see `charge_override`)."""
    reasons = [reason for line in lines if (reason := charge_override(line, charges[line["charge_id"]])[1])]
    return "; ".join(reasons) or None


def _terms(config: Config) -> dict[str, Any]:
    terms = config.subscription_terms
    if terms.term_type == "EVERGREEN":
        return {"termType": "EVERGREEN"}
    return {
        "termType": "TERMED",
        "initialTerm": terms.initial_term,
        "initialTermPeriodType": terms.term_period_type,
        "renewalTerm": terms.renewal_term,
        "renewalTermPeriodType": terms.term_period_type,
        "autoRenew": terms.auto_renew,
    }


def _without_updatable(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in UPDATABLE_FIELDS and v is not None}


def _skip_reason(order: dict, config: Config) -> str | None:
    external_id = str(order.get("external_id") or "")
    if external_id.startswith(EXTERNAL_ID_PREFIX) or str(order.get(ORIGIN_FIELD) or "").upper() == ORIGIN_ZUORA:
        return "created by zsync from Zuora; not sent back"
    status = order.get("order_status") or order.get("status")
    if status not in APPROVED_STATUSES:
        return f"sales order is {order.get('status') or status or 'without a status'}"
    tran_date = order.get("tran_date")
    if config.cutover_date and tran_date and tran_date < config.cutover_date:
        return f"dated {tran_date}, before cutover_date {config.cutover_date}"
    return None


def _blocked_reason(order: dict, account_id: str | None, lines: list[dict], charges: Mapping[str, dict]) -> str | None:
    if account_id is None:
        return (
            f"customer '{order.get('entity_name') or ''}' ({order.get('entity_internal_id')}) "
            "is not synced to Zuora yet"
        )
    unsynced = [
        f"'{line.get('item_name') or ''}' ({line.get('item_internal_id')}) on line {line.get('line')}"
        for line in lines
        if line["charge_id"] is None
    ]
    if unsynced:
        return f"item {', '.join(unsynced)} not synced from Zuora (no items link)"
    unstaged = [line["charge_id"] for line in lines if line["charge_id"] not in charges]
    if unstaged:
        return f"Zuora charge {', '.join(unstaged)} is not staged"
    if not lines:
        return "sales order has no item lines"
    return None


def subscriptions_from_sales_orders(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    orders = with_columns_if_missing(table(tables, "netsuite.sales_orders"), _ORDER_COLUMNS)
    order_lines = with_columns_if_missing(table(tables, "netsuite.sales_order_lines"), _LINE_COLUMNS)
    charges = {
        c["id"]: c
        for c in with_columns_if_missing(table(tables, "zuora.product_rate_plan_charges"), _CHARGE_COLUMNS)
        .select(_CHARGE_COLUMNS)
        .to_dicts()
    }
    links = table(tables, "zsync.links")
    account_of = _counterparts(links, "customers")
    charge_of = _counterparts(links, "items")
    synced = (
        {}
        if links.is_empty()
        else {
            s: json.loads(p)
            for s, p in links.filter(pl.col("flow") == "subscriptions").select("source_id", "payload").iter_rows()
            if p
        }
    )
    subscriptions = table(tables, "zuora.subscriptions")
    by_integration_id = (
        lookup(subscriptions, ["integration_id__ns"], "name") if "integration_id__ns" in subscriptions.columns else {}
    )

    lines_of: dict[str, list[dict]] = {}
    for line in order_lines.sort("transaction_internal_id", "line").to_dicts():
        line["charge_id"] = charge_of.get(str(line["item_internal_id"]))
        lines_of.setdefault(str(line["transaction_internal_id"]), []).append(line)

    rows = []
    for order in orders.to_dicts():
        so_id = str(order["internal_id"])
        lines = lines_of.get(so_id, [])
        account_id = account_of.get(str(order.get("entity_internal_id")))
        blocked = _blocked_reason(order, account_id, lines, charges)
        payload = (
            {}
            if blocked
            else {
                "accountKey": account_id,
                "contractEffectiveDate": str(order["tran_date"]) if order.get("tran_date") else None,
                **_terms(config),
                "subscribeToRatePlans": rate_plans_from_lines(lines, charges),
                "SalesOrder__NS": order.get("tran_id") or so_id,
                "IntegrationId__NS": so_id,
            }
        )
        match = order.get(SUBSCRIPTION_FIELD) or by_integration_id.get(so_id.lower())
        if not blocked and so_id in synced and _without_updatable(synced[so_id]) != _without_updatable(payload):
            blocked = AMENDMENT_REASON
        elif not blocked and so_id not in synced and not match:
            # Only before the create: an existing subscription is never re-created or amended.
            blocked = unbillable_lines(lines, charges)
        rows.append(
            {
                "source_id": so_id,
                "payload": payload,
                "_skip": _skip_reason(order, config),
                "_blocked": blocked,
                "_match_target_id": match,
                "_match": None
                if not match
                else SUBSCRIPTION_FIELD
                if order.get(SUBSCRIPTION_FIELD)
                else "IntegrationId__NS",
            }
        )
    return _frame(rows)


def _frame(rows: list[dict]) -> pl.DataFrame:
    """Payload dicts -> one column per field (the engine omits nulls, so absent fields stay absent)."""
    if not rows:
        return pl.DataFrame(schema={"source_id": pl.Utf8})
    fields = list(dict.fromkeys(k for r in rows for k in r["payload"]))
    flat = [
        {
            "source_id": r["source_id"],
            **{f: r["payload"].get(f) for f in fields},
            **{k: v for k, v in r.items() if k.startswith("_")},
        }
        for r in rows
    ]
    return pl.DataFrame(flat, infer_schema_length=None)


SUBSCRIPTIONS = Flow(
    name="subscriptions",
    source_system="netsuite",
    target_system="zuora",
    target_record_type="Subscription",
    source_tables=("netsuite.sales_orders", "netsuite.sales_order_lines"),
    reference_tables=("zuora.product_rate_plan_charges", "zuora.subscriptions"),
    mapping=subscriptions_from_sales_orders,
    depends_on=("customers", "items"),  # masters first (README, "What it syncs"): orders need both
    write_back=WriteBack("salesOrder", field=SUBSCRIPTION_FIELD),
    custom_fields=CustomFields(
        {"Subscription": ("IntegrationId__NS", "SalesOrder__NS")},
        (SUBSCRIPTION_FIELD, ORIGIN_FIELD, "custbody_zsync_status"),
    ),
    description="NetSuite approved sales orders -> Zuora subscriptions (number written back to the order)",
)
