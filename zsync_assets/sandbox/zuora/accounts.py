"""Accounts, the "Accounts" section of Zuora's API reference: `POST /v1/accounts` (POST_Account),
`PUT /v1/accounts/{account-key}` (PUT_Account), `DELETE /v1/accounts/{account-key}`
(DELETE_Account), in `zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`.

Every write bumps the record's `updatedDate` (Store.update/insert), which is what incremental
readers key on; bodies are validated and rejected with Zuora's v1 error body. An account is
canceled through `POST /v1/action/update` (actions.py): this `PUT` has no status field.
"""

from __future__ import annotations

import uuid
from typing import Any

from zsync_assets.sandbox.zuora.countries import zuora_country
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, UNKNOWN_FIELD, ApiError
from zsync_assets.sandbox.zuora.fields import custom_fields, require
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.model import OBJECTS
from zsync_assets.sandbox.zuora.records import find_account
from zsync_assets.sandbox.zuora.store import Store

CONTACT_FIELDS = {
    "firstName",
    "lastName",
    "nickname",
    "workEmail",
    "personalEmail",
    "workPhone",
    "address1",
    "address2",
    "city",
    "state",
    "country",
    "county",
    "taxRegion",
}
# The compact spec's POSTAccountType leaves `name` unbounded, but Zuora caps an account name at
# 255 characters, as the spec's other account schemas say (`CreateOrderNewAccount`, `AccountData`).
MAX_ACCOUNT_NAME = 255


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
    account = store.insert(
        "accounts",
        {
            "accountNumber": number,
            "name": body["name"],
            "currency": body["currency"],
            "status": "Active",
            "balance": 0.0,
            "totalInvoiceBalance": 0.0,
            "creditBalance": 0.0,
            "unappliedBalance": 0.0,
            "totalDebitMemoBalance": 0.0,
            "unappliedCreditMemoAmount": 0.0,
            "autoPay": bool(body.get("autoPay")),
            "billCycleDay": body.get("billCycleDay", 1),
            "paymentTerm": body.get("paymentTerm", "Due Upon Receipt"),
            "batch": body.get("batch", "Batch1"),
            "parentId": body.get("parentId"),
            "crmId": body.get("crmId"),
            "notes": body.get("notes"),
            "purchaseOrderNumber": body.get("purchaseOrderNumber"),
            "invoiceDeliveryPrefsEmail": body.get("invoiceDeliveryPrefsEmail", False),
            "invoiceDeliveryPrefsPrint": body.get("invoiceDeliveryPrefsPrint", False),
            **custom_fields("accounts", body),
        },
    )
    bill_to = _contact(store, account["id"], body["billToContact"], "billToContact.")
    sold_to = (
        _contact(store, account["id"], body["soldToContact"], "soldToContact.")
        if body.get("soldToContact")
        else bill_to
    )
    store.update("accounts", account["id"], {"billToId": bill_to["id"], "soldToId": sold_to["id"]})
    return 200, {
        "success": True,
        "accountId": account["id"],
        "accountNumber": number,
        "billToContactId": bill_to["id"],
        "soldToContactId": sold_to["id"],
    }


def update_account(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    account = find_account(store, call.path_params["account_key"])
    simple = {
        "name",
        "notes",
        "crmId",
        "autoPay",
        "batch",
        "billCycleDay",
        "paymentTerm",
        "purchaseOrderNumber",
        "invoiceDeliveryPrefsEmail",
        "invoiceDeliveryPrefsPrint",
        "parentId",
    }
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
