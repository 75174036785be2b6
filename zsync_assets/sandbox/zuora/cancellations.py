"""Canceling and deleting billing documents after the fact, with the rules Zuora applies.

Routes (operations of `zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`; the compact
spec has no descriptions, so the rules below are Zuora's documentation, docs.zuora.com):

- `PUT /v1/payments/{paymentKey}/cancel` (PUT_CancelPayment, answers GETARPaymentType): only a
  Processed payment, only an External one ("You can only cancel the payments that are in
  External payment type"; an Electronic one is voided or refunded), never on a Canceled account
  ("payment cancellation is not allowed on this account"). The payment is canceled as of its own
  date: its applications stop counting (`paymentApplicationStatus: Cancelled`, the enum of
  `ExpandedPaymentApplication`), so the invoices it paid owe that money again. A payment with a
  refund that still stands cannot be canceled here (the refund took money out of it: cancel the
  refund first).
- `DELETE /v1/payments/{paymentKey}` (DELETE_Payment, CommonResponse): "Only payments with the
  Cancelled status can be deleted". Zuora offers it only with Invoice Settlement; the sandbox
  does not model that tenant setting and always allows it.
- `PUT /v1/refunds/{refundKey}/cancel` (PUT_CancelRefund, GETRefundType): a Processed External
  refund; the money goes back to the payment's unapplied amount.
- `PUT /v1/credit-memos/{key}/unpost`, `PUT /v1/debit-memos/{key}/unpost` (PUT_UnpostCreditMemo,
  PUT_UnpostDebitMemo): a Posted memo back to Draft; not "if a credit memo has been applied or
  refunded", not a debit memo something was applied to.
- `PUT /v1/credit-memos/{key}/cancel`, `PUT /v1/debit-memos/{key}/cancel`: "You can cancel credit
  memos and debit memos only if ... the memos are in draft status. If the memos are posted, you
  are not allowed to cancel them": a synced (Posted) memo is unposted, then canceled.
- `DELETE /v1/refunds/{refundKey}` ("a refund with the Canceled or Error status"),
  `DELETE /v1/credit-memos/{key}`, `DELETE /v1/debit-memos/{key}` ("Only credit memos with the
  Cancelled status can be deleted"; the same for debit memos).

An invoice item adjustment is canceled through `POST /v1/action/update` with `Status: Canceled`
(actions.py): a Canceled adjustment no longer moves its invoice's balance (ledger.py).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from zsync_assets.sandbox.zuora.billing import (
    MEMOS,
    _get,
    _memo_body,
    _payment_body,
    find_account,
    refresh_account,
    refresh_invoice,
    refresh_payment,
)
from zsync_assets.sandbox.zuora.errors import RULE, ApiError
from zsync_assets.sandbox.zuora.gateway import Call, Gateway
from zsync_assets.sandbox.zuora.store import now_iso

CANCELED = "Canceled"  # Payment, Refund, CreditMemo, DebitMemo status (GETARPaymentType et al.)
APPLICATION_CANCELLED = "Cancelled"  # ExpandedPaymentApplication.paymentApplicationStatus


def standing_refunds(store, payment_id: str) -> list[dict[str, Any]]:  # noqa: ANN001
    """The refunds of a payment that are not canceled."""
    refunds = (store.get("refunds", a["refundId"]) for a in store.find("refund-applications", paymentId=payment_id))
    return [r for r in refunds if r is not None and r.get("status") != CANCELED]


def _require_cancelable(kind: str, document: dict[str, Any], number: str, advice: str = "") -> None:
    """Zuora cancels only a Processed, External payment or refund (PUT_CancelPayment /
    PUT_CancelRefund); anything else is refused with the rule it breaks."""
    if document["status"] != "Processed":
        raise ApiError(400, RULE, f"{kind} {number} is {document['status']}; only a Processed {kind} can be canceled")
    if document.get("type") != "External":
        raise ApiError(400, RULE, f"{kind} {number} is {document.get('type')}: only External {kind}s can be "
                                  f"canceled{advice}")


def cancel_payment(call: Call) -> tuple[int, Any]:
    store = call.store
    payment = _get(store, "payments", call.path_params["payment_key"], "paymentNumber")
    number = payment["paymentNumber"]
    _require_cancelable("payment", payment, number, "; void or refund an electronic payment")
    account = find_account(store, payment["accountId"])
    if account["status"] == "Canceled":
        raise ApiError(400, RULE, f"account {account['accountNumber']} is Canceled: payment cancellation is not "
                                  "allowed on this account; reactivate it first")
    refunds = standing_refunds(store, payment["id"])
    if refunds:
        raise ApiError(400, RULE, f"payment {number} has refunds ({', '.join(r['refundNumber'] for r in refunds)}); "
                                  "cancel them before canceling the payment")
    with store.transaction():
        applications = store.find("payment-applications", paymentId=payment["id"])
        for application in applications:
            store.update("payment-applications", application["id"],
                         {"paymentApplicationStatus": APPLICATION_CANCELLED})
        store.update("payments", payment["id"], {"status": CANCELED, "cancelledOn": now_iso()})
        for invoice_id in sorted({a["invoiceId"] for a in applications if a.get("invoiceId")}):
            refresh_invoice(store, invoice_id)
        payment = refresh_payment(store, payment["id"])
        account = refresh_account(store, payment["accountId"])
    return 200, {**_payment_body(payment, account), "cancelledOn": payment["cancelledOn"]}


def delete_payment(call: Call) -> tuple[int, Any]:
    store = call.store
    payment = _get(store, "payments", call.path_params["payment_key"], "paymentNumber")
    if payment["status"] != CANCELED:
        raise ApiError(400, RULE, f"payment {payment['paymentNumber']} is {payment['status']}: only payments with "
                                  "the Cancelled status can be deleted")
    with store.transaction():
        for application in store.find("payment-applications", paymentId=payment["id"]):
            store.delete("payment-applications", application["id"])
        store.delete("payments", payment["id"])
        refresh_account(store, payment["accountId"])
    return 200, {"success": True}


def delete_refund(call: Call) -> tuple[int, Any]:
    store = call.store
    refund = _get(store, "refunds", call.path_params["refund_key"], "refundNumber")
    if refund["status"] not in (CANCELED, "Error"):
        raise ApiError(400, RULE, f"refund {refund['refundNumber']} is {refund['status']}: only a refund with the "
                                  "Canceled or Error status can be deleted")
    with store.transaction():
        for application in store.find("refund-applications", refundId=refund["id"]):
            store.delete("refund-applications", application["id"])
        store.delete("refunds", refund["id"])
    return 200, {"success": True}


def delete_memo(kind: str):
    obj, item_obj, parent_field, _ = MEMOS[kind]

    def handler(call: Call) -> tuple[int, Any]:
        store = call.store
        memo = _get(store, obj, call.path_params["memo_key"], "memoNumber")
        if memo["status"] != CANCELED:
            raise ApiError(400, RULE, f"{kind} memo {memo['memoNumber']} is {memo['status']}: only {kind} memos with "
                                      "the Cancelled status can be deleted")
        with store.transaction():
            for item in store.find(item_obj, **{parent_field: memo["id"]}):
                store.delete(item_obj, item["id"])
            store.delete(obj, memo["id"])
        return 200, {"success": True}

    return handler


_REFUND_FIELDS = ("id", "accountId", "amount", "comment", "methodType", "reasonCode", "refundDate", "status", "type",
                  "createdDate", "createdById", "updatedDate", "updatedById")


def cancel_refund(call: Call) -> tuple[int, Any]:
    store = call.store
    refund = _get(store, "refunds", call.path_params["refund_key"], "refundNumber")
    number = refund["refundNumber"]
    _require_cancelable("refund", refund, number)
    with store.transaction():
        refund = store.update("refunds", refund["id"], {"status": CANCELED})
        for application in store.find("refund-applications", refundId=refund["id"]):
            if application.get("paymentId"):
                refresh_payment(store, application["paymentId"])
        refresh_account(store, refund["accountId"])
    return 200, {**{k: refund[k] for k in _REFUND_FIELDS if refund.get(k) is not None},
                 "number": number, "cancelledOn": now_iso(), "success": True}


def unpost_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        store = call.store
        memo = _get(store, obj, call.path_params["memo_key"], "memoNumber")
        number = memo["memoNumber"]
        if memo["status"] != "Posted":
            raise ApiError(400, RULE, f"{kind} memo {number} is {memo['status']}; only a Posted memo can be unposted")
        if kind == "credit" and ((memo.get("appliedAmount") or 0) > 0 or (memo.get("refundAmount") or 0) > 0):
            raise ApiError(400, RULE, f"credit memo {number} has been applied or refunded; unapply it first")
        if kind == "debit" and store.find("credit-memo-applications", debitMemoId=memo["id"]):
            raise ApiError(400, RULE, f"a credit memo has been applied to debit memo {number}; unapply it first")
        with store.transaction():
            memo = store.update(obj, memo["id"], {"status": "Draft", "postedOn": None, "postedById": None})
            account = refresh_account(store, memo["accountId"])
        return 200, _memo_body(kind, memo, account)

    return handler


def cancel_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        store = call.store
        memo = _get(store, obj, call.path_params["memo_key"], "memoNumber")
        if memo["status"] != "Draft":
            raise ApiError(400, RULE, f"{kind} memo {memo['memoNumber']} is {memo['status']}: only a Draft memo can be "
                                      "canceled (unpost a Posted one first)")
        with store.transaction():
            memo = store.update(obj, memo["id"], {"status": CANCELED})
            account = refresh_account(store, memo["accountId"])
        return 200, _memo_body(kind, memo, account)

    return handler


def cancellation_routes(gateway: Gateway) -> list[Route]:
    return [
        gateway.route("PUT", "/v1/payments/{payment_key}/cancel", cancel_payment, write=True),
        gateway.route("DELETE", "/v1/payments/{payment_key}", delete_payment, write=True),
        gateway.route("PUT", "/v1/refunds/{refund_key}/cancel", cancel_refund, write=True),
        gateway.route("DELETE", "/v1/refunds/{refund_key}", delete_refund, write=True),
        *(route for kind in ("credit", "debit") for route in (
            gateway.route("PUT", f"/v1/{kind}-memos/{{memo_key}}/unpost", unpost_memo(kind), write=True),
            gateway.route("PUT", f"/v1/{kind}-memos/{{memo_key}}/cancel", cancel_memo(kind), write=True),
            gateway.route("DELETE", f"/v1/{kind}-memos/{{memo_key}}", delete_memo(kind), write=True))),
    ]
