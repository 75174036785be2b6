"""What the billing sections share about stored records.

A record is found by id or by number (Zuora's `{invoiceKey}`, `{paymentKey}`, `{account-key}`
path parameters take either). After a write, the derived amounts of the documents it touched
are refreshed from the store through ledger.py, inside the request's transaction, so an
invoice's balance, a payment's unapplied amount and an account's totals never drift. A
processed payment or refund keeps its amounts, date and applications (PUT_UpdatePayment,
PUT_UpdateRefund): only descriptive and custom fields change, and it is canceled by one rule.
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.errors import NOT_FOUND, RULE, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.fields import custom_fields
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.model import BY_ZOQL
from zsync_assets.sandbox.zuora.store import Store

CANCELED = "Canceled"  # Payment, Refund, CreditMemo, DebitMemo status (GETARPaymentType et al.)
# The request schemas' descriptive fields the sandbox stores (UpdatePaymentType / PUTRefundType).
PROCESSED_EDITABLE = {"payments": ("comment", "referenceId"), "refunds": ("comment", "reasonCode")}
BY_ZOQL_NAME = {o.path: o.zoql for o in BY_ZOQL.values()}


def find_account(store: Store, key: str | None) -> dict[str, Any]:
    """By id or account number, like Zuora's `account-key`."""
    account = store.get("accounts", key or "") or next(iter(store.find("accounts", accountNumber=key)), None)
    if account is None:
        raise ApiError(404, NOT_FOUND, f"account '{key}' does not exist")
    return account


def get_record(store: Store, obj: str, key: str, number_field: str | None = None) -> dict[str, Any]:
    record = store.get(obj, key) or (next(iter(store.find(obj, **{number_field: key})), None) if number_field else None)
    if record is None:
        raise ApiError(404, NOT_FOUND, f"{BY_ZOQL_NAME.get(obj, obj)} '{key}' does not exist")
    return record


def refresh_invoice(store: Store, invoice_id: str) -> dict[str, Any]:
    invoice = store.existing("invoices", invoice_id)
    items = store.find("invoice-items", invoiceId=invoice_id)
    taxes = [t for item in items for t in store.find("taxation-items", invoiceItemId=item["id"])]
    changes = ledger.invoice_amounts(
        invoice,
        items,
        taxes,
        store.find("payment-applications", invoiceId=invoice_id),
        store.find("invoice-item-adjustments", invoiceId=invoice_id),
    )
    return store.update("invoices", invoice_id, changes)


def refresh_payment(store: Store, payment_id: str) -> dict[str, Any]:
    payment = store.existing("payments", payment_id)
    # A canceled refund gives its money back to the payment's unapplied amount (refunds.py).
    refunds = [
        a
        for a in store.find("refund-applications", paymentId=payment_id)
        if (store.get("refunds", a["refundId"]) or {}).get("status") != "Canceled"
    ]
    changes = ledger.payment_amounts(payment, store.find("payment-applications", paymentId=payment_id), refunds)
    return store.update("payments", payment_id, changes)


def refresh_account(store: Store, account_id: str) -> dict[str, Any]:
    account = store.existing("accounts", account_id)
    changes = ledger.account_amounts(
        account, *(store.find(o, accountId=account_id) for o in ("invoices", "debit-memos", "credit-memos", "payments"))
    )
    return store.update("accounts", account_id, changes)


def require_cancelable(kind: str, document: dict[str, Any], number: str, advice: str = "") -> None:
    """Zuora cancels only a Processed, External payment or refund (PUT_CancelPayment /
    PUT_CancelRefund); anything else is refused with the rule it breaks."""
    if document["status"] != "Processed":
        raise ApiError(400, RULE, f"{kind} {number} is {document['status']}; only a Processed {kind} can be canceled")
    if document.get("type") != "External":
        raise ApiError(
            400, RULE, f"{kind} {number} is {document.get('type')}: only External {kind}s can be canceled{advice}"
        )


def update_processed(call: Call, obj: str, key: str, number_field: str) -> dict[str, Any]:
    body, store = call.json(), call.store
    record = get_record(store, obj, call.path_params[key], number_field)
    unknown = sorted(k for k in body if k not in PROCESSED_EDITABLE[obj] and "__" not in k)
    if unknown:
        raise ApiError(
            400,
            UNSUPPORTED,
            f"a processed {obj[:-1]} keeps its amounts and applications; this sandbox "
            f"updates {', '.join(PROCESSED_EDITABLE[obj])} and custom fields, "
            f"not {', '.join(unknown)}",
        )
    changes = {k: v for k, v in body.items() if k in PROCESSED_EDITABLE[obj]}
    return store.update(obj, record["id"], {**changes, **custom_fields(obj, body)})
