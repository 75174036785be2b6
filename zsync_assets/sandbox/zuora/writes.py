"""Write endpoints for customers and the catalog: accounts, products, rate plans, charges, subscriptions.

Every write bumps the record's `updatedDate` (Store.update/insert), which is what incremental
readers key on; bodies are validated and rejected with Zuora's v1 error body.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

from starlette.routing import Route

from zsync_assets.sandbox.zuora.countries import zuora_country
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, MISSING_REQUIRED, NOT_FOUND, UNKNOWN_FIELD, ApiError
from zsync_assets.sandbox.zuora.gateway import Call, Gateway
from zsync_assets.sandbox.zuora.model import OBJECTS
from zsync_assets.sandbox.zuora.store import Store

CONTACT_FIELDS = {"firstName", "lastName", "nickname", "workEmail", "personalEmail", "workPhone", "address1",
                  "address2", "city", "state", "country", "county", "taxRegion"}
# The compact spec's POSTAccountType leaves `name` unbounded, but Zuora caps an account name at
# 255 characters, as the spec's other account schemas say (`CreateOrderNewAccount`, `AccountData`).
MAX_ACCOUNT_NAME = 255


def require(body: dict[str, Any], *names: str, where: str = "") -> None:
    for name in names:
        if body.get(name) in (None, "", []):
            raise ApiError(400, MISSING_REQUIRED, f"{where}{name} is required")


def custom_fields(obj: str, body: dict[str, Any]) -> dict[str, Any]:
    """Custom fields (`*__NS`, `*__c`) the object has in this tenant; another one is refused, as
    Zuora refuses a field it does not know (category 21, "unknown field in request")."""
    out = {}
    for key, value in body.items():
        if "__" in key:
            if not OBJECTS[obj].has(key):
                raise ApiError(400, UNKNOWN_FIELD, f"Unknown field in request: '{key}' is not a field of "
                                                   f"{OBJECTS[obj].zoql} in this tenant")
            out[key] = value
    return out


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def a_date(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ApiError(400, INVALID_VALUE, f"{name} must be a date (yyyy-mm-dd), got '{value}'") from None


def a_number(value: Any, name: str) -> float:
    """A JSON number, or a numeric string where the spec types an amount as one (tax items):
    anything else, NaN and infinities included, is refused like Zuora refuses it."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ApiError(400, INVALID_VALUE, f"{name} must be a number, got {json.dumps(value)[:40]}")
    return number


def find_account(store: Store, key: str | None) -> dict[str, Any]:
    """By id or account number, like Zuora's `account-key`."""
    account = store.get("accounts", key or "") or next(iter(store.find("accounts", accountNumber=key)), None)
    if account is None:
        raise ApiError(404, NOT_FOUND, f"account '{key}' does not exist")
    return account


def _contact_fields(data: dict[str, Any], where: str) -> dict[str, Any]:
    fields = {k: v for k, v in data.items() if k in CONTACT_FIELDS}
    if fields.get("country") not in (None, ""):
        fields["country"] = zuora_country(fields["country"], f"{where}country")
    if data.get("zipCode"):
        fields["postalCode"] = data["zipCode"]
    return fields


def _contact(store: Store, account_id: str, data: dict[str, Any], where: str) -> dict[str, Any]:
    require(data, "firstName", "lastName", where=where)
    return store.insert("contacts", {"accountId": account_id, **_contact_fields(data, where)})


def _account_name(name: Any) -> None:
    if len(str(name)) > MAX_ACCOUNT_NAME:
        raise ApiError(400, INVALID_VALUE, f"name is longer than {MAX_ACCOUNT_NAME} characters ({len(str(name))})")


def create_account(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "name", "currency", "billToContact")
    _account_name(body["name"])
    if body["currency"] not in ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF"):
        raise ApiError(400, INVALID_VALUE, f"currency '{body['currency']}' is not enabled in this tenant")
    if body.get("parentId"):
        find_account(store, body["parentId"])
    number = body.get("accountNumber") or f"A{store.next_number('account'):08d}"
    if store.find("accounts", accountNumber=number):
        raise ApiError(400, INVALID_VALUE, f"account number '{number}' already exists")
    account = store.insert("accounts", {
        "accountNumber": number, "name": body["name"], "currency": body["currency"], "status": "Active",
        "balance": 0.0, "totalInvoiceBalance": 0.0, "creditBalance": 0.0, "unappliedBalance": 0.0,
        "totalDebitMemoBalance": 0.0, "unappliedCreditMemoAmount": 0.0, "autoPay": bool(body.get("autoPay")),
        "billCycleDay": body.get("billCycleDay", 1), "paymentTerm": body.get("paymentTerm", "Due Upon Receipt"),
        "batch": body.get("batch", "Batch1"), "parentId": body.get("parentId"), "crmId": body.get("crmId"),
        "notes": body.get("notes"), "purchaseOrderNumber": body.get("purchaseOrderNumber"),
        "invoiceDeliveryPrefsEmail": body.get("invoiceDeliveryPrefsEmail", False),
        "invoiceDeliveryPrefsPrint": body.get("invoiceDeliveryPrefsPrint", False),
        **custom_fields("accounts", body)})
    bill_to = _contact(store, account["id"], body["billToContact"], "billToContact.")
    sold_to = _contact(store, account["id"], body["soldToContact"], "soldToContact.") if body.get("soldToContact") \
        else bill_to
    store.update("accounts", account["id"], {"billToId": bill_to["id"], "soldToId": sold_to["id"]})
    return 200, {"success": True, "accountId": account["id"], "accountNumber": number,
                 "billToContactId": bill_to["id"], "soldToContactId": sold_to["id"]}


def update_account(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    account = find_account(store, call.path_params["account_key"])
    simple = {"name", "notes", "crmId", "autoPay", "batch", "billCycleDay", "paymentTerm", "purchaseOrderNumber",
              "invoiceDeliveryPrefsEmail", "invoiceDeliveryPrefsPrint", "parentId"}
    changes = {k: v for k, v in body.items() if k in simple}
    if "name" in changes:
        _account_name(changes["name"])
    if changes.get("parentId"):
        find_account(store, changes["parentId"])
    changes.update(custom_fields("accounts", body))
    for role, id_field in (("billToContact", "billToId"), ("soldToContact", "soldToId")):
        if isinstance(body.get(role), dict):
            contact_id = account[id_field]
            store.update("contacts", contact_id, _contact_fields(body[role], f"{role}."))
    if "status" in body:
        raise ApiError(400, UNKNOWN_FIELD, "status cannot be changed with this call")
    store.update("accounts", account["id"], changes)
    return 200, {"success": True}


def delete_account(call: Call) -> tuple[int, Any]:
    """`DELETE /v1/accounts/{account-key}` (DELETE_Account). Zuora deletes only a Canceled
    account, asynchronously (`jobStatus: Pending`), together with the records that belong to it;
    the sandbox deletes at once, so the next read no longer lists any of them."""
    store = call.store
    account = find_account(store, call.path_params["account_key"])
    if account.get("status") != "Canceled":
        raise ApiError(400, INVALID_VALUE, f"account '{account['id']}' must be Canceled before it can be deleted")
    with store.transaction():
        for obj, type_ in OBJECTS.items():
            if "accountId" in type_.types:
                for record in store.find(obj, accountId=account["id"]):
                    store.delete(obj, record["id"])
        store.delete("accounts", account["id"])
    return 200, {"success": True, "id": account["id"], "jobId": uuid.uuid4().hex, "jobStatus": "Pending"}


def _proxy_create(obj: str, required: tuple[str, ...], mapping: dict[str, str], number: tuple[str, str] | None,
                  parent: tuple[str, str] | None = None):
    """`POST /v1/object/<type>` (CRUD "proxy" calls): PascalCase fields in, `{Id, Success}` out."""

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        require(body, *required)
        if parent and store.get(parent[1], body[parent[0]]) is None:
            raise ApiError(404, NOT_FOUND, f"{parent[0]} '{body[parent[0]]}' does not exist")
        record = {target: body[source] for source, target in mapping.items() if source in body}
        for field in ("effectiveStartDate", "effectiveEndDate"):
            if field in record:
                record[field] = a_date(record[field], field)
        if number and not record.get(number[0]):
            record[number[0]] = number[1] % store.next_number(obj)
        record = store.insert(obj, {**record, **custom_fields(obj, body)})
        return 200, {"Id": record["id"], "Success": True}

    return handler


create_product = _proxy_create(
    "products", ("Name", "EffectiveStartDate", "EffectiveEndDate"),
    {"Name": "name", "SKU": "sKU", "Category": "category", "ProductNumber": "productNumber",
     "EffectiveStartDate": "effectiveStartDate", "EffectiveEndDate": "effectiveEndDate",
     "AllowFeatureChanges": "allowFeatureChanges"}, ("productNumber", "PC-%08d"))
create_rate_plan = _proxy_create(
    "product-rate-plans", ("Name", "ProductId"),
    {"Name": "name", "ProductId": "productId", "ProductRatePlanNumber": "productRatePlanNumber",
     "EffectiveStartDate": "effectiveStartDate", "EffectiveEndDate": "effectiveEndDate"},
    ("productRatePlanNumber", "PRP-%08d"), parent=("ProductId", "products"))
create_charge = _proxy_create(
    "product-rate-plan-charges", ("Name", "ProductRatePlanId", "ChargeModel", "ChargeType", "BillingPeriod",
                                  "TriggerEvent", "BillCycleType", "ProductRatePlanChargeTierData"),
    {"Name": "name", "ProductRatePlanId": "productRatePlanId", "ChargeModel": "chargeModel",
     "ChargeType": "chargeType", "BillingPeriod": "billingPeriod", "BillingTiming": "billingTiming",
     "TriggerEvent": "triggerEvent", "EndDateCondition": "endDateCondition", "AccountingCode": "accountingCode",
     "UOM": "uOM", "DefaultQuantity": "defaultQuantity", "ListPriceBase": "listPriceBase",
     "DeferredRevenueAccount": "deferredRevenueAccount", "RecognizedRevenueAccount": "recognizedRevenueAccount",
     "RevenueRecognitionRuleName": "revenueRecognitionRuleName"},
    ("productRatePlanChargeNumber", "PRPC-%08d"), parent=("ProductRatePlanId", "product-rate-plans"))


def _proxy_update(obj: str, mapping: dict[str, str]):
    """`PUT /v1/object/<type>/{id}` (CRUD "proxy" update): PascalCase fields and custom fields
    (`IntegrationId__NS`, ...: how Zuora's NetSuite connector writes back), `{Id, Success}` out."""

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        record_id = call.path_params["id"]
        if store.get(obj, record_id) is None:
            raise ApiError(404, NOT_FOUND, f"{OBJECTS[obj].zoql} '{record_id}' does not exist")
        changes = {target: body[source] for source, target in mapping.items() if source in body}
        store.update(obj, record_id, {**changes, **custom_fields(obj, body)})
        return 200, {"Id": record_id, "Success": True}

    return handler


update_charge = _proxy_update(
    "product-rate-plan-charges",
    {"Name": "name", "AccountingCode": "accountingCode", "UOM": "uOM", "DefaultQuantity": "defaultQuantity",
     "DeferredRevenueAccount": "deferredRevenueAccount", "RecognizedRevenueAccount": "recognizedRevenueAccount"})


def create_subscription(call: Call) -> tuple[int, Any]:
    from zsync_assets.sandbox.zuora.subscriptions import store_rate_plans, validate_rate_plans

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
    subscription = store.insert("subscriptions", {
        "accountId": account["id"], "invoiceOwnerId": account["id"], "name": number, "status": "Active",
        "version": 1, "isLatestVersion": True, "termType": body["termType"], "initialTerm": body.get("initialTerm"),
        "initialTermPeriodType": body.get("initialTermPeriodType", "Month"), "currentTerm": body.get("initialTerm"),
        "currentTermPeriodType": body.get("initialTermPeriodType", "Month"), "renewalTerm": body.get("renewalTerm"),
        "renewalTermPeriodType": body.get("renewalTermPeriodType", "Month"), "autoRenew": body.get("autoRenew", False),
        "contractEffectiveDate": start, "serviceActivationDate": body.get("serviceActivationDate", start),
        "subscriptionStartDate": start, "termStartDate": body.get("termStartDate", start),
        "currency": account["currency"], "notes": body.get("notes"), **custom_fields("subscriptions", body)})
    store_rate_plans(store, subscription, body["subscribeToRatePlans"])
    return 200, {"success": True, "subscriptionId": subscription["id"], "subscriptionNumber": number}


def write_routes(gateway: Gateway) -> list[Route]:
    from zsync_assets.sandbox.zuora.actions import billing_routes
    from zsync_assets.sandbox.zuora.subscriptions import get_subscription, update_custom_fields

    return [
        gateway.route("POST", "/v1/accounts", create_account, write=True),
        gateway.route("PUT", "/v1/accounts/{account_key}", update_account, write=True),
        gateway.route("DELETE", "/v1/accounts/{account_key}", delete_account, write=True),
        gateway.route("POST", "/v1/object/product", create_product, write=True),
        gateway.route("POST", "/v1/object/product-rate-plan", create_rate_plan, write=True),
        gateway.route("POST", "/v1/object/product-rate-plan-charge", create_charge, write=True),
        gateway.route("PUT", "/v1/object/product-rate-plan-charge/{id}", update_charge, write=True),
        gateway.route("POST", "/v1/subscriptions", create_subscription, write=True),
        gateway.route("GET", "/v1/subscriptions/{subscription_key}", get_subscription),
        gateway.route("PUT", "/v1/subscriptions/{subscription_number}/customFields", update_custom_fields, write=True),
        *billing_routes(gateway),
    ]
