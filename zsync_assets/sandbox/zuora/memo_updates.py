"""`PUT /v1/credit-memos/{creditMemoKey}` and `PUT /v1/debit-memos/{debitMemoKey}` (PUTCreditMemoType /
PUTDebitMemoType): a posted memo keeps its items and amounts; its comment, reason code and
custom fields (`IntegrationId__NS`, ...) change. The memo's `updatedDate` moves, so staging
picks the edit up."""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora.billing import MEMOS, _get, _memo_body
from zsync_assets.sandbox.zuora.errors import UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.writes import custom_fields

# Request field -> stored field (the debit memo stores its comment as `comments`).
_EDITABLE = {"credit": {"comment": "comment", "reasonCode": "reasonCode"},
             "debit": {"comment": "comments", "reasonCode": "reasonCode"}}
# Invoice item adjustment fields `/v1/action/update` may change (the rest is fixed once processed).
ADJUSTMENT_EDITABLE = ("comment", "reasonCode")


def update_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        memo = _get(store, obj, call.path_params["memo_key"], "memoNumber")
        unknown = sorted(k for k in body if k not in _EDITABLE[kind] and "__" not in k)
        if unknown:
            raise ApiError(400, UNSUPPORTED, f"this sandbox updates a {kind} memo's comment, reason code and custom "
                                             f"fields, not {', '.join(unknown)}")
        changes = {_EDITABLE[kind][k]: v for k, v in body.items() if k in _EDITABLE[kind]}
        memo = store.update(obj, memo["id"], {**changes, **custom_fields(obj, body)})
        return 200, _memo_body(kind, memo, store.existing("accounts", memo["accountId"]))

    return handler
