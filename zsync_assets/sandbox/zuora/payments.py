"""Payments, the "Payments" section of Zuora's API reference.

- `POST /v1/payments` (POST_CreatePayment), applied to invoices as the body's `invoices[]` say.
- `POST /v1/payments/{paymentKey}/refunds` (POST_RefundPayment): Zuora refunds only the unapplied
  part of a payment.
- `PUT /v1/payments/{paymentKey}` (PUT_UpdatePayment): a processed payment keeps its amounts,
  date and applications; only descriptive fields and custom fields (`IntegrationId__NS`,
  `Origin__NS`, ...) change.
- `PUT /v1/payments/{paymentKey}/cancel` (PUT_CancelPayment, answers GETARPaymentType): only a
  Processed payment, only an External one ("You can only cancel the payments that are in
  External payment type"; an Electronic one is voided or refunded), never on a Canceled account
  ("payment cancellation is not allowed on this account"). The payment is canceled as of its own
  date: its applications stop counting (`paymentApplicationStatus: Cancelled`, the enum of
  `ExpandedPaymentApplication`), so the invoices it paid owe that money again. A payment with a
  refund that still stands cannot be canceled here (the refund took money out of it: cancel the
  refund first).
- `DELETE /v1/payments/{paymentKey}` (DELETE_Payment, CommonResponse): "Only payments with the
  Cancelled status can be deleted".

All of them exist only in a tenant with Invoice Settlement (app.py `NOT_WITHOUT_SETTLEMENT`);
without it the same payments and refunds are made through the action calls (actions.py), which
share `new_payment`, `new_refund` and `cancel` with these routes.

Operations of `zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`; the compact spec has no
descriptions, so the quoted rules are Zuora's documentation (docs.zuora.com).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.defaults import EXTERNAL_PAYMENT_METHODS
from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, RULE, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, a_number, custom_fields, require, today
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.records import (
    CANCELED,
    find_account,
    get_record,
    refresh_account,
    refresh_invoice,
    refresh_payment,
    require_cancelable,
    update_processed,
)
from zsync_assets.sandbox.zuora.refunds import refund_body, standing_refunds
from zsync_assets.sandbox.zuora.store import Store, now_iso

APPLICATION_CANCELLED = "Cancelled"  # ExpandedPaymentApplication.paymentApplicationStatus


def payment_body(payment: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "id",
        "accountId",
        "amount",
        "appliedAmount",
        "unappliedAmount",
        "refundAmount",
        "currency",
        "effectiveDate",
        "status",
        "type",
        "comment",
        "referenceId",
        "gatewayState",
        "createdDate",
        "createdById",
        "updatedDate",
        "updatedById",
    )
    return {
        **{k: payment[k] for k in keep if payment.get(k) is not None},
        "number": payment["paymentNumber"],
        "accountNumber": account["accountNumber"],
        "creditBalanceAmount": 0.0,
        "success": True,
    }


def create_payment(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "amount", "currency", "type")
    account = find_account(store, body.get("accountId") or body.get("accountNumber"))
    if body["currency"] != account["currency"]:
        raise ApiError(
            400, INVALID_VALUE, f"payment currency {body['currency']} differs from the account's {account['currency']}"
        )
    applications = body.get("invoices") or []
    for n, application in enumerate(applications):
        require(application, "invoiceId", "amount", where=f"invoices[{n}].")
    payment = new_payment(
        store,
        account,
        amount=body["amount"],
        kind=body["type"],
        day=body.get("effectiveDate", today()),
        payment_method=body.get("paymentMethodId"),
        applications=[(a["invoiceId"], a["amount"], f"invoices[{n}].amount") for n, a in enumerate(applications)],
        fields={"comment": body.get("comment"), "referenceId": body.get("referenceId")},
        custom=custom_fields("payments", body),
    )
    return 200, payment_body(payment, account)


def new_payment(
    store: Store,
    account: dict[str, Any],
    *,
    amount: Any,
    kind: str,
    day: Any,
    payment_method: str | None,
    applications: list[tuple[str, Any, str]],
    fields: dict[str, Any],
    custom: dict[str, Any],
) -> dict[str, Any]:
    """A processed payment of `account`, applied to (invoice key, amount, field name) as listed:
    what `POST /v1/payments` and an action call's `create` of a Payment share."""
    if kind not in ("External", "Electronic"):
        raise ApiError(400, INVALID_VALUE, "type must be External or Electronic")
    if payment_method is not None and payment_method not in EXTERNAL_PAYMENT_METHODS.values():
        raise ApiError(400, INVALID_VALUE, f"payment method '{payment_method}' does not exist in this tenant")
    amount = ledger.money(a_number(amount, "amount"), account["currency"])
    if sum(a_number(applied, name) for _, applied, name in applications) > amount + 0.001:
        raise ApiError(400, RULE, "the amounts applied to invoices exceed the payment amount")
    day = a_date(day, "effectiveDate")
    payment = store.insert(
        "payments",
        {
            "accountId": account["id"],
            "paymentNumber": f"P-{store.next_number('payment'):08d}",
            "amount": amount,
            "currency": account["currency"],
            "effectiveDate": day,
            "status": "Processed",
            "type": kind,
            "source": "API",
            "gatewayState": "NotSubmitted",
            "paymentMethodId": payment_method,
            "appliedAmount": 0.0,
            "refundAmount": 0.0,
            "unappliedAmount": amount,
            **fields,
            **custom,
        },
    )
    for invoice_key, applied, name in applications:
        invoice = get_record(store, "invoices", invoice_key, "invoiceNumber")
        if invoice["accountId"] != account["id"] or invoice["status"] != "Posted":
            raise ApiError(400, RULE, f"invoice {invoice['invoiceNumber']} is not a Posted invoice of this account")
        apply = ledger.money(a_number(applied, name), account["currency"])
        if apply > invoice["balance"] + 0.001:
            raise ApiError(
                400, RULE, f"the amount applied to {invoice['invoiceNumber']} exceeds its balance {invoice['balance']}"
            )
        store.insert(
            "payment-applications",
            {
                "paymentId": payment["id"],
                "invoiceId": invoice["id"],
                "accountId": account["id"],
                "applyAmount": apply,
                "effectiveDate": day,
                "paymentApplicationStatus": "Processed",
            },
        )
        refresh_invoice(store, invoice["id"])
    payment = refresh_payment(store, payment["id"])
    refresh_account(store, account["id"])
    return payment


def refund_payment(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "totalAmount", "type")
    payment = get_record(store, "payments", call.path_params["payment_key"], "paymentNumber")
    refund = new_refund(
        store,
        payment,
        amount=body["totalAmount"],
        kind=body["type"],
        day=body.get("refundDate", today()),
        fields={
            "methodType": body.get("methodType", "Other"),
            "reasonCode": body.get("reasonCode"),
            "comment": body.get("comment"),
        },
        custom=custom_fields("refunds", body),
    )
    return 200, {**refund_body(refund), "paymentId": payment["id"]}


def new_refund(
    store: Store,
    payment: dict[str, Any],
    *,
    amount: Any,
    kind: str,
    day: Any,
    fields: dict[str, Any],
    custom: dict[str, Any],
) -> dict[str, Any]:
    """A processed refund of `payment`: what `POST /v1/payments/{key}/refunds` and an action
    call's `create` of a Refund share."""
    amount = ledger.money(a_number(amount, "amount"), payment["currency"])
    if amount <= 0 or amount > payment["unappliedAmount"] + 0.001:
        # Zuora refunds only the unapplied part; applied money must be unapplied first.
        raise ApiError(
            400, RULE, f"the refund amount {amount} exceeds the payment's unapplied amount {payment['unappliedAmount']}"
        )
    day = a_date(day, "refundDate")
    refund = store.insert(
        "refunds",
        {
            "accountId": payment["accountId"],
            "refundNumber": f"R-{store.next_number('refund'):08d}",
            "amount": amount,
            "currency": payment["currency"],
            "refundDate": day,
            "status": "Processed",
            "type": kind,
            "sourceType": "Payment",
            **fields,
            **custom,
        },
    )
    store.insert(
        "refund-applications",
        {
            "accountId": payment["accountId"],
            "refundId": refund["id"],
            "paymentId": payment["id"],
            "applyAmount": amount,
            "effectiveDate": day,
        },
    )
    refresh_payment(store, payment["id"])
    refresh_account(store, payment["accountId"])
    return refund


def update_payment(call: Call) -> tuple[int, Any]:
    payment = update_processed(call, "payments", "payment_key", "paymentNumber")
    return 200, payment_body(payment, find_account(call.store, payment["accountId"]))


def cancel_payment(call: Call) -> tuple[int, Any]:
    store = call.store
    payment = cancel(store, get_record(store, "payments", call.path_params["payment_key"], "paymentNumber"))
    account = find_account(store, payment["accountId"])
    return 200, {**payment_body(payment, account), "cancelledOn": payment["cancelledOn"]}


def cancel(store: Store, payment: dict[str, Any]) -> dict[str, Any]:
    """Cancel a payment by Zuora's rules: `PUT /v1/payments/{key}/cancel` and, in a tenant without
    Invoice Settlement, an update to `Status: Canceled` (ProxyModifyPayment)."""
    number = payment["paymentNumber"]
    require_cancelable("payment", payment, number, "; void or refund an electronic payment")
    account = find_account(store, payment["accountId"])
    if account["status"] == "Canceled":
        raise ApiError(
            400,
            RULE,
            f"account {account['accountNumber']} is Canceled: payment cancellation is not "
            "allowed on this account; reactivate it first",
        )
    refunds = standing_refunds(store, payment["id"])
    if refunds:
        raise ApiError(
            400,
            RULE,
            f"payment {number} has refunds ({', '.join(r['refundNumber'] for r in refunds)}); "
            "cancel them before canceling the payment",
        )
    with store.transaction():
        applications = store.find("payment-applications", paymentId=payment["id"])
        for application in applications:
            store.update("payment-applications", application["id"], {"paymentApplicationStatus": APPLICATION_CANCELLED})
        store.update("payments", payment["id"], {"status": CANCELED, "cancelledOn": now_iso()})
        for invoice_id in sorted({a["invoiceId"] for a in applications if a.get("invoiceId")}):
            refresh_invoice(store, invoice_id)
        payment = refresh_payment(store, payment["id"])
        refresh_account(store, payment["accountId"])
    return payment


def delete_payment(call: Call) -> tuple[int, Any]:
    store = call.store
    delete(store, get_record(store, "payments", call.path_params["payment_key"], "paymentNumber"))
    return 200, {"success": True}


def delete(store: Store, payment: dict[str, Any]) -> None:
    """`DELETE /v1/payments/{key}` and, without Invoice Settlement, an action call's delete()."""
    if payment["status"] != CANCELED:
        raise ApiError(
            400,
            RULE,
            f"payment {payment['paymentNumber']} is {payment['status']}: only payments with "
            "the Cancelled status can be deleted",
        )
    with store.transaction():
        for application in store.find("payment-applications", paymentId=payment["id"]):
            store.delete("payment-applications", application["id"])
        store.delete("payments", payment["id"])
        refresh_account(store, payment["accountId"])
