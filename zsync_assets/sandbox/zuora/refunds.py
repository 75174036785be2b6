"""Refunds, the "Refunds" section of Zuora's API reference (a refund is created from its payment:
`POST /v1/payments/{paymentKey}/refunds`, payments.py).

- `PUT /v1/refunds/{refundKey}` (PUT_UpdateRefund): a processed refund keeps its amounts, date
  and applications; only descriptive fields and custom fields (`IntegrationId__NS`, ...) change.
- `PUT /v1/refunds/{refundKey}/cancel` (PUT_CancelRefund, GETRefundType): a Processed External
  refund; the money goes back to the payment's unapplied amount.
- `DELETE /v1/refunds/{refundKey}` (DELETE_Refund): "a refund with the Canceled or Error status".

The compact spec has no descriptions, so the quoted rules are Zuora's documentation
(docs.zuora.com).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora.errors import RULE, ApiError
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.records import (
    CANCELED,
    get_record,
    refresh_account,
    refresh_payment,
    require_cancelable,
    update_processed,
)
from zsync_assets.sandbox.zuora.store import now_iso

# GETRefundType fields the sandbox answers with.
REFUND_FIELDS = (
    "id",
    "accountId",
    "amount",
    "comment",
    "methodType",
    "reasonCode",
    "refundDate",
    "status",
    "type",
    "createdDate",
    "createdById",
    "updatedDate",
    "updatedById",
)


def refund_body(refund: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: refund[k] for k in REFUND_FIELDS if refund.get(k) is not None},
        "number": refund["refundNumber"],
        "success": True,
    }


def standing_refunds(store, payment_id: str) -> list[dict[str, Any]]:  # noqa: ANN001
    """The refunds of a payment that are not canceled."""
    refunds = (store.get("refunds", a["refundId"]) for a in store.find("refund-applications", paymentId=payment_id))
    return [r for r in refunds if r is not None and r.get("status") != CANCELED]


def update_refund(call: Call) -> tuple[int, Any]:
    refund = update_processed(call, "refunds", "refund_key", "refundNumber")
    return 200, refund_body(refund)


def cancel_refund(call: Call) -> tuple[int, Any]:
    store = call.store
    refund = cancel(store, get_record(store, "refunds", call.path_params["refund_key"], "refundNumber"))
    return 200, {**refund_body(refund), "cancelledOn": now_iso()}


def cancel(store, refund: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """Cancel a refund by Zuora's rules: `PUT /v1/refunds/{key}/cancel` and, in a tenant without
    Invoice Settlement, an update to `Status: Canceled` (ProxyModifyRefund)."""
    require_cancelable("refund", refund, refund["refundNumber"])
    with store.transaction():
        refund = store.update("refunds", refund["id"], {"status": CANCELED})
        for application in store.find("refund-applications", refundId=refund["id"]):
            if application.get("paymentId"):
                refresh_payment(store, application["paymentId"])
        refresh_account(store, refund["accountId"])
    return refund


def delete_refund(call: Call) -> tuple[int, Any]:
    store = call.store
    delete(store, get_record(store, "refunds", call.path_params["refund_key"], "refundNumber"))
    return 200, {"success": True}


def delete(store, refund: dict[str, Any]) -> None:  # noqa: ANN001
    """`DELETE /v1/refunds/{key}` and, without Invoice Settlement, an action call's delete()."""
    if refund["status"] not in (CANCELED, "Error"):
        raise ApiError(
            400,
            RULE,
            f"refund {refund['refundNumber']} is {refund['status']}: only a refund with the "
            "Canceled or Error status can be deleted",
        )
    with store.transaction():
        for application in store.find("refund-applications", refundId=refund["id"]):
            store.delete("refund-applications", application["id"])
        store.delete("refunds", refund["id"])
