"""Subscriptions, the "Subscriptions" section of Zuora's API reference: the create, the rate
plans a subscription holds, and `GET` by key.

Shapes follow Zuora's spec: `POST /v1/subscriptions` (POST_Subscription) `subscribeToRatePlans[]`
(`POSTSrpCreateType`: `productRatePlanId`, `chargeOverrides[]` with `productRatePlanChargeId`,
`quantity`, `price`), `GET /v1/subscriptions/{subscription-key}` (GET_SubscriptionsByKey,
`GETSubscriptionByKeyWithSuccess`: `ratePlans[]` with `ratePlanCharges[]`). A subscription key is
its number or the id of one of its versions, as in Zuora. Rate plans are kept in a private store
object: Object Query has no rate plan object in this sandbox. The custom-field update is filed
under "Orders" in the reference (orders.py).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, NOT_FOUND, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, custom_fields, require
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.model import OBJECTS
from zsync_assets.sandbox.zuora.records import find_account
from zsync_assets.sandbox.zuora.store import Store, new_id, now_iso

RATE_PLANS = "subscription-rate-plans"  # not an Object Query object: only GET by key shows them
QUANTITY_MODELS = ("Per Unit Pricing", "Volume Pricing", "Tiered Pricing", "Tiered with Overage Pricing")
# A discount charge's value: an amount off or a percentage off (POSTScCreateType overrides).
DISCOUNT_OVERRIDES = {"discountAmount": "Discount-Fixed Amount", "discountPercentage": "Discount-Percentage"}


def _charge_overrides(store: Store, plan: dict[str, Any], overrides: list[dict[str, Any]]) -> dict[str, dict]:
    by_charge: dict[str, dict] = {}
    for override in overrides:
        charge_id = override.get("productRatePlanChargeId")
        charge = store.get("product-rate-plan-charges", charge_id or "")
        if charge is None or charge["productRatePlanId"] != plan["id"]:
            raise ApiError(
                400,
                INVALID_VALUE,
                f"product rate plan charge '{charge_id}' is not a charge of product rate plan '{plan['id']}'",
            )
        if override.get("quantity") is not None and charge["chargeModel"] not in QUANTITY_MODELS:
            raise ApiError(
                400, INVALID_VALUE, f"quantity cannot be set on a {charge['chargeModel']} charge ('{charge['name']}')"
            )
        for field, model in DISCOUNT_OVERRIDES.items():
            if override.get(field) is not None and charge["chargeModel"] != model:
                raise ApiError(
                    400,
                    INVALID_VALUE,
                    f"{field} cannot be set on a {charge['chargeModel']} charge ('{charge['name']}')",
                )
        by_charge[charge["id"]] = override
    return by_charge


def validate_rate_plans(store: Store, plans: list[dict[str, Any]]) -> None:
    """Reject the whole create before anything is written (Zuora creates all or nothing)."""
    for entry in plans:
        plan = store.get("product-rate-plans", entry.get("productRatePlanId") or "")
        if plan is None:
            raise ApiError(404, NOT_FOUND, f"product rate plan '{entry.get('productRatePlanId')}' does not exist")
        _charge_overrides(store, plan, entry.get("chargeOverrides") or [])


def store_rate_plans(store: Store, subscription: dict[str, Any], plans: list[dict[str, Any]]) -> None:
    """Every charge of each subscribed plan becomes a rate plan charge; overrides set quantity/price."""
    rows = []
    for entry in plans:
        plan = store.existing("product-rate-plans", entry["productRatePlanId"])
        product = store.get("products", plan["productId"]) or {}
        overrides = _charge_overrides(store, plan, entry.get("chargeOverrides") or [])
        charges = []
        for charge in store.find("product-rate-plan-charges", productRatePlanId=plan["id"]):
            override = overrides.get(charge["id"], {})
            charges.append(
                {
                    k: v
                    for k, v in {
                        "id": new_id(),
                        "productRatePlanChargeId": charge["id"],
                        "name": charge["name"],
                        "number": f"C-{new_id()[:8].upper()}",
                        "type": charge["chargeType"],
                        "model": charge["chargeModel"],
                        "uom": charge.get("uOM"),
                        "currency": subscription["currency"],
                        "quantity": override.get("quantity", charge.get("defaultQuantity")),
                        "price": override.get("price"),
                        **{field: override[field] for field in DISCOUNT_OVERRIDES if override.get(field) is not None},
                        "effectiveStartDate": subscription["contractEffectiveDate"],
                    }.items()
                    if v is not None
                }
            )  # the spec types these fields without `nullable`
        rows.append(
            {
                "id": new_id(),
                "updatedDate": now_iso(),
                "subscriptionId": subscription["id"],
                "productRatePlanId": plan["id"],
                "ratePlanName": plan["name"],
                "productId": product.get("id"),
                "productName": product.get("name"),
                "productSku": product.get("sKU"),
                "ratePlanCharges": charges,
            }
        )
    store.insert_many(RATE_PLANS, rows)


def create_subscription(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "accountKey", "contractEffectiveDate", "termType", "subscribeToRatePlans")
    if body["termType"] not in ("TERMED", "EVERGREEN"):
        raise ApiError(400, INVALID_VALUE, "termType must be TERMED or EVERGREEN")
    if body["termType"] == "TERMED":
        require(body, "initialTerm", "renewalTerm")
    account = find_account(store, body["accountKey"])
    validate_rate_plans(store, body["subscribeToRatePlans"])
    start = a_date(body["contractEffectiveDate"], "contractEffectiveDate")
    number = body.get("subscriptionNumber") or f"A-S{store.next_number('subscription'):08d}"
    subscription = store.insert(
        "subscriptions",
        {
            "accountId": account["id"],
            "invoiceOwnerId": account["id"],
            "name": number,
            "status": "Active",
            "version": 1,
            "isLatestVersion": True,
            "termType": body["termType"],
            "initialTerm": body.get("initialTerm"),
            "initialTermPeriodType": body.get("initialTermPeriodType", "Month"),
            "currentTerm": body.get("initialTerm"),
            "currentTermPeriodType": body.get("initialTermPeriodType", "Month"),
            "renewalTerm": body.get("renewalTerm"),
            "renewalTermPeriodType": body.get("renewalTermPeriodType", "Month"),
            "autoRenew": body.get("autoRenew", False),
            "contractEffectiveDate": start,
            "serviceActivationDate": body.get("serviceActivationDate", start),
            "subscriptionStartDate": start,
            "termStartDate": body.get("termStartDate", start),
            "currency": account["currency"],
            "notes": body.get("notes"),
            **custom_fields("subscriptions", body),
        },
    )
    store_rate_plans(store, subscription, body["subscribeToRatePlans"])
    return 200, {"success": True, "subscriptionId": subscription["id"], "subscriptionNumber": number}


def find_subscription(store: Store, key: str) -> dict[str, Any]:
    """The latest version, by subscription number or by the id of any version."""
    by_id = store.get("subscriptions", key)
    number = by_id["name"] if by_id else key
    versions = store.find("subscriptions", name=number)
    latest = [v for v in versions if v.get("isLatestVersion")] or versions
    if not latest:
        raise ApiError(404, NOT_FOUND, f"subscription '{key}' does not exist", object_code=500003)
    return max(latest, key=lambda v: v.get("version") or 0)


def get_subscription(call: Call) -> tuple[int, Any]:
    store = call.store
    subscription = find_subscription(store, call.path_params["subscription_key"])
    account = store.get("accounts", subscription["accountId"]) or {}
    plans = [
        {k: v for k, v in p.items() if k not in ("updatedDate", "subscriptionId")}
        for p in store.find(RATE_PLANS, subscriptionId=subscription["id"])
    ]
    custom = {k: v for k, v in subscription.items() if "__" in k and v is not None and OBJECTS["subscriptions"].has(k)}
    body = {
        "success": True,
        "id": subscription["id"],
        "subscriptionNumber": subscription["name"],
        "accountId": account.get("id"),
        "accountNumber": account.get("accountNumber"),
        "accountName": account.get("name"),
        "invoiceOwnerAccountId": subscription["invoiceOwnerId"],
        "status": subscription["status"],
        "version": subscription["version"],
        "isLatestVersion": subscription["isLatestVersion"],
        "termType": subscription["termType"],
        "initialTerm": subscription["initialTerm"],
        "initialTermPeriodType": subscription["initialTermPeriodType"],
        "currentTerm": subscription["currentTerm"],
        "currentTermPeriodType": subscription["currentTermPeriodType"],
        "renewalTerm": subscription["renewalTerm"],
        "renewalTermPeriodType": subscription["renewalTermPeriodType"],
        "autoRenew": subscription["autoRenew"],
        "contractEffectiveDate": subscription["contractEffectiveDate"],
        "serviceActivationDate": subscription["serviceActivationDate"],
        "subscriptionStartDate": subscription["subscriptionStartDate"],
        "termStartDate": subscription["termStartDate"],
        "currency": subscription["currency"],
        "notes": subscription.get("notes"),
        "ratePlans": plans,
        **custom,
    }
    return 200, {k: v for k, v in body.items() if v is not None}
