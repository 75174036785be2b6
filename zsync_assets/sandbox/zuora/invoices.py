"""Invoices, the "Invoices" section of Zuora's API reference: `POST /v1/invoices`
(POST_StandaloneInvoice), `POST /v1/invoices/bulk-post` (POST_PostInvoices),
`PUT /v1/invoices/{invoiceKey}` (PUT_UpdateInvoice).

Each write keeps the derived amounts true (records.refresh_*, ledger.py) inside the request's
transaction. An invoice is canceled through `POST /v1/action/update` with `Status: Canceled`
(actions.py).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, NOT_FOUND, RULE, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, a_number, custom_fields, require
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.records import find_account, get_record, refresh_account, refresh_invoice
from zsync_assets.sandbox.zuora.store import SANDBOX_USER_ID, Store, now_iso


def create_invoice(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "invoiceDate")
    account = find_account(store, body.get("accountId") or body.get("accountNumber"))
    status = body.get("status", "Draft")
    if status not in ("Draft", "Posted"):
        raise ApiError(400, INVALID_VALUE, "status must be Draft or Posted")
    day = a_date(body["invoiceDate"], "invoiceDate")
    items = body.get("invoiceItems") or []
    if not items:
        raise ApiError(400, RULE, "an invoice needs at least one invoice item")
    invoice = store.insert(
        "invoices",
        {
            "accountId": account["id"],
            "invoiceNumber": body.get("invoiceNumber") or f"INV{store.next_number('invoice'):08d}",
            "invoiceDate": day,
            "targetDate": day,
            "dueDate": a_date(body.get("dueDate", day), "dueDate"),
            "status": "Draft",
            "currency": account["currency"],
            "source": "API",
            "sourceType": "Standalone",
            "comments": body.get("comments"),
            "creditMemoAmount": 0.0,
            "refundAmount": 0.0,
            "creditBalanceAdjustmentAmount": 0.0,
            "reversed": False,
            **custom_fields("invoices", body),
        },
    )
    for n, item in enumerate(items):
        require(item, "amount", "serviceStartDate", where=f"invoiceItems[{n}].")
        charge = store.get("product-rate-plan-charges", item.get("productRatePlanChargeId") or "")
        if item.get("productRatePlanChargeId") and charge is None:
            raise ApiError(
                404, NOT_FOUND, f"product rate plan charge '{item['productRatePlanChargeId']}' does not exist"
            )
        amount = ledger.money(a_number(item["amount"], f"invoiceItems[{n}].amount"), account["currency"])
        quantity = a_number(item.get("quantity", 1), f"invoiceItems[{n}].quantity")
        record = store.insert(
            "invoice-items",
            {
                "invoiceId": invoice["id"],
                "accountId": account["id"],
                "chargeName": item.get("chargeName") or (charge or {}).get("name"),
                "productRatePlanChargeId": item.get("productRatePlanChargeId"),
                "productRatePlanId": (charge or {}).get("productRatePlanId"),
                "chargeAmount": amount,
                "quantity": quantity,
                "unitPrice": a_number(
                    item.get("unitPrice", amount / quantity if quantity else amount), f"invoiceItems[{n}].unitPrice"
                ),
                "uOM": item.get("uom"),
                "sKU": item.get("sku"),
                "processingType": "0",
                "balance": amount,
                "serviceStartDate": a_date(item["serviceStartDate"], "serviceStartDate"),
                "serviceEndDate": a_date(item.get("serviceEndDate", item["serviceStartDate"]), "serviceEndDate"),
                "chargeDate": now_iso(),
                "sourceItemType": "ProductRatePlanCharge",
                "accountingCode": item.get("accountingCode"),
            },
        )
        for tax in item.get("taxItems") or []:
            require(tax, "taxAmount", "name", where=f"invoiceItems[{n}].taxItems.")
            store.insert(
                "taxation-items",
                {
                    "invoiceItemId": record["id"],
                    "name": tax["name"],
                    "taxAmount": a_number(tax["taxAmount"], "taxAmount"),
                    "jurisdiction": tax.get("jurisdiction"),
                    "taxCode": tax.get("taxCode"),
                    "taxRate": tax.get("taxRate"),
                    "taxRateType": tax.get("taxRateType", "Percentage"),
                    "taxMode": tax.get("taxMode", "TaxExclusive"),
                    "taxDate": tax.get("taxDate", day),
                    "taxableAmount": amount,
                    "exemptAmount": 0.0,
                    "creditAmount": 0.0,
                    "paymentAmount": 0.0,
                    "balance": a_number(tax["taxAmount"], "taxAmount"),
                },
            )
    if status == "Posted":
        _post_invoice(store, invoice["id"])
    invoice = refresh_invoice(store, invoice["id"])
    refresh_account(store, account["id"])
    return 200, {**{k: v for k, v in invoice.items() if v is not None and "__" not in k}, "success": True}


def _post_invoice(store: Store, invoice_id: str) -> None:
    invoice = get_record(store, "invoices", invoice_id, "invoiceNumber")
    if invoice["status"] != "Draft":
        raise ApiError(
            400, RULE, f"invoice {invoice['invoiceNumber']} is {invoice['status']}, only Draft can be posted"
        )
    store.update("invoices", invoice["id"], {"status": "Posted", "postedBy": SANDBOX_USER_ID, "postedDate": now_iso()})


def bulk_post(call: Call) -> tuple[int, Any]:
    results = []
    for entry in call.json().get("invoices") or []:
        try:
            with call.store.transaction():  # one bad invoice does not undo the others
                _post_invoice(call.store, entry.get("id", ""))
                invoice = refresh_invoice(call.store, call.store.existing("invoices", entry["id"])["id"])
                refresh_account(call.store, invoice["accountId"])
            results.append({"id": entry["id"], "success": True})
        except ApiError as err:
            results.append(
                {"id": entry.get("id"), "success": False, "reasons": [{"code": err.code, "message": err.message}]}
            )
    return 200, {"invoices": results, "success": True}


def update_invoice(call: Call) -> tuple[int, Any]:
    """`PUT /v1/invoices/{invoiceKey}`: on a Posted invoice only comments and custom fields
    (`IntegrationId__NS`, ...) change here; the amounts belong to Zuora's bill run."""
    body, store = call.json(), call.store
    invoice = get_record(store, "invoices", call.path_params["invoice_key"], "invoiceNumber")
    unknown = sorted(k for k in body if k != "comments" and "__" not in k)
    if unknown:
        raise ApiError(
            400,
            UNSUPPORTED,
            f"this sandbox updates only comments and custom fields of an invoice, not {', '.join(unknown)}",
        )
    changes = {k: v for k, v in body.items() if k == "comments"}
    invoice = store.update("invoices", invoice["id"], {**changes, **custom_fields("invoices", body)})
    return 200, {**{k: v for k, v in invoice.items() if v is not None and "__" not in k}, "success": True}
