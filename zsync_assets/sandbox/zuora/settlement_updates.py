"""`PUT /v1/payments/{paymentKey}` and `PUT /v1/refunds/{refundKey}` (PUT_UpdatePayment,
PUT_UpdateRefund): a processed payment or refund keeps its amounts, date and applications;
only descriptive fields and custom fields (`IntegrationId__NS`, `Origin__NS`, ...) change."""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora.billing import _get, _payment_body, find_account
from zsync_assets.sandbox.zuora.errors import UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.writes import custom_fields

# The request schemas' descriptive fields the sandbox stores (UpdatePaymentType / PUTRefundType).
_EDITABLE = {"payments": ("comment", "referenceId"), "refunds": ("comment", "reasonCode")}
_REFUND_FIELDS = ("id", "accountId", "amount", "comment", "methodType", "reasonCode", "refundDate", "status", "type",
                  "createdDate", "createdById", "updatedDate", "updatedById")


def _update(call: Call, obj: str, key: str, number_field: str) -> dict[str, Any]:
    body, store = call.json(), call.store
    record = _get(store, obj, call.path_params[key], number_field)
    unknown = sorted(k for k in body if k not in _EDITABLE[obj] and "__" not in k)
    if unknown:
        raise ApiError(400, UNSUPPORTED, f"a processed {obj[:-1]} keeps its amounts and applications; this sandbox "
                                         f"updates {', '.join(_EDITABLE[obj])} and custom fields, not {', '.join(unknown)}")
    changes = {k: v for k, v in body.items() if k in _EDITABLE[obj]}
    return store.update(obj, record["id"], {**changes, **custom_fields(obj, body)})


def update_payment(call: Call) -> tuple[int, Any]:
    payment = _update(call, "payments", "payment_key", "paymentNumber")
    return 200, _payment_body(payment, find_account(call.store, payment["accountId"]))


def update_refund(call: Call) -> tuple[int, Any]:
    refund = _update(call, "refunds", "refund_key", "refundNumber")
    return 200, {**{k: refund[k] for k in _REFUND_FIELDS if refund.get(k) is not None},
                 "number": refund["refundNumber"], "success": True}
