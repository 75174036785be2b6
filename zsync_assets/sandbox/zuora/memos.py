"""Credit and debit memos, the "Credit Memos" and "Debit Memos" sections of Zuora's API reference,
whose operations mirror each other (one handler per operation, for either kind).

- `POST /v1/credit-memos`, `POST /v1/debit-memos` (POST_CreditMemoFromPrpc,
  POST_DebitMemoFromPrpc): a memo from product rate plan charges, Draft unless `autoPost`.
- `PUT /v1/credit-memos/{key}/post`, `PUT /v1/debit-memos/{key}/post`: Draft to Posted.
- `PUT /v1/credit-memos/{creditMemoKey}`, `PUT /v1/debit-memos/{debitMemoKey}` (PUT_UpdateCreditMemo,
  PUT_DebitMemo): a posted memo keeps its items and amounts; its comment, reason code and custom
  fields (`IntegrationId__NS`, ...) change. The memo's `updatedDate` moves, so staging picks the
  edit up.
- `PUT /v1/credit-memos/{key}/unpost`, `PUT /v1/debit-memos/{key}/unpost` (PUT_UnpostCreditMemo,
  PUT_UnpostDebitMemo): a Posted memo back to Draft; not "if a credit memo has been applied or
  refunded", not a debit memo something was applied to.
- `PUT /v1/credit-memos/{key}/cancel`, `PUT /v1/debit-memos/{key}/cancel`: "You can cancel credit
  memos and debit memos only if ... the memos are in draft status. If the memos are posted, you
  are not allowed to cancel them": a synced (Posted) memo is unposted, then canceled.
- `DELETE /v1/credit-memos/{key}`, `DELETE /v1/debit-memos/{key}`: "Only credit memos with the
  Cancelled status can be deleted"; the same for debit memos.

Applying a credit memo (`PUT /v1/credit-memos/{key}/apply`) has rules of its own:
memo_applications.py. The quoted rules are Zuora's documentation (docs.zuora.com): the compact
spec in `zsync_assets/vendor/zuora-openapi/` has no descriptions.
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.errors import RULE, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, a_number, custom_fields, require, today
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.records import CANCELED, find_account, get_record, refresh_account
from zsync_assets.sandbox.zuora.store import SANDBOX_USER_ID, Store, now_iso

MEMOS = {
    "credit": ("credit-memos", "credit-memo-items", "creditMemoId", "CM%08d"),
    "debit": ("debit-memos", "debit-memo-items", "debitMemoId", "DM%08d"),
}
# Request field -> stored field (the debit memo stores its comment as `comments`).
_EDITABLE = {
    "credit": {"comment": "comment", "reasonCode": "reasonCode"},
    "debit": {"comment": "comments", "reasonCode": "reasonCode"},
}


def memo_body(kind: str, memo: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "id",
        "accountId",
        "currency",
        "status",
        "reasonCode",
        "taxAmount",
        "postedOn",
        "postedById",
        "createdDate",
        "createdById",
        "updatedDate",
        "updatedById",
    )
    body = {k: memo[k] for k in keep if memo.get(k) is not None}
    body.update(
        number=memo["memoNumber"],
        accountNumber=account["accountNumber"],
        amount=memo["totalAmount"],
        balance=memo["balance"],
        success=True,
    )
    if kind == "credit":
        body.update(
            creditMemoDate=memo["memoDate"],
            appliedAmount=memo.get("appliedAmount") or 0.0,
            refundAmount=memo.get("refundAmount") or 0.0,
            unappliedAmount=memo["balance"],
        )
    else:
        body.update(debitMemoDate=memo["memoDate"], dueDate=memo["dueDate"])
    return body


def create_memo(kind: str):
    obj, item_obj, parent_field, number = MEMOS[kind]

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        account = find_account(store, body.get("accountId") or body.get("accountNumber"))
        charges = body.get("charges") or []
        if not charges:
            raise ApiError(400, RULE, "a memo needs at least one charge")
        day = a_date(body.get("effectiveDate", today()), "effectiveDate")
        memo = store.insert(
            obj,
            {
                "accountId": account["id"],
                "memoNumber": body.get("number") or number % store.next_number(obj),
                "memoDate": day,
                "status": "Draft",
                "currency": account["currency"],
                "reasonCode": body.get("reasonCode"),
                "source": "API",
                "sourceType": "Standalone",
                "taxAmount": 0.0,
                **custom_fields(obj, body),
                **(
                    {"comment": body.get("comment"), "appliedAmount": 0.0, "refundAmount": 0.0}
                    if kind == "credit"
                    else {"comments": body.get("comment"), "dueDate": a_date(body.get("dueDate", day), "dueDate")}
                ),
            },
        )
        total = 0.0
        for n, charge in enumerate(charges):
            require(charge, "productRatePlanChargeId", "amount", where=f"charges[{n}].")
            prpc = get_record(store, "product-rate-plan-charges", charge["productRatePlanChargeId"])
            amount = ledger.money(a_number(charge["amount"], f"charges[{n}].amount"), account["currency"])
            total += amount
            store.insert(
                item_obj,
                {
                    parent_field: memo["id"],
                    "amount": amount,
                    "amountWithoutTax": amount,
                    "taxAmount": 0.0,
                    "chargeName": prpc["name"],
                    "productRatePlanChargeId": prpc["id"],
                    "quantity": a_number(charge.get("quantity", 1), f"charges[{n}].quantity"),
                    "unitPrice": amount,
                    "sourceItemType": "ProductRatePlanCharge",
                    "serviceStartDate": charge.get("serviceStartDate", day),
                    "serviceEndDate": charge.get("serviceEndDate", day),
                    **({"unappliedAmount": amount} if kind == "credit" else {"balance": amount}),
                },
            )
        total = ledger.money(total, account["currency"])
        memo = store.update(obj, memo["id"], {"totalAmount": total, "totalAmountWithoutTax": total, "balance": total})
        if body.get("autoPost"):
            memo = _post_memo(store, obj, memo["id"])
        refresh_account(store, account["id"])
        return 200, memo_body(kind, memo, account)

    return handler


def _post_memo(store: Store, obj: str, key: str) -> dict[str, Any]:
    memo = get_record(store, obj, key, "memoNumber")
    if memo["status"] != "Draft":
        raise ApiError(400, RULE, f"memo {memo['memoNumber']} is {memo['status']}, only Draft can be posted")
    return store.update(obj, memo["id"], {"status": "Posted", "postedOn": now_iso(), "postedById": SANDBOX_USER_ID})


def post_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        memo = _post_memo(call.store, obj, call.path_params["memo_key"])
        refresh_account(call.store, memo["accountId"])
        return 200, memo_body(kind, memo, call.store.existing("accounts", memo["accountId"]))

    return handler


def update_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        memo = get_record(store, obj, call.path_params["memo_key"], "memoNumber")
        unknown = sorted(k for k in body if k not in _EDITABLE[kind] and "__" not in k)
        if unknown:
            raise ApiError(
                400,
                UNSUPPORTED,
                f"this sandbox updates a {kind} memo's comment, reason code and custom "
                f"fields, not {', '.join(unknown)}",
            )
        changes = {_EDITABLE[kind][k]: v for k, v in body.items() if k in _EDITABLE[kind]}
        memo = store.update(obj, memo["id"], {**changes, **custom_fields(obj, body)})
        return 200, memo_body(kind, memo, store.existing("accounts", memo["accountId"]))

    return handler


def unpost_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        store = call.store
        memo = get_record(store, obj, call.path_params["memo_key"], "memoNumber")
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
        return 200, memo_body(kind, memo, account)

    return handler


def cancel_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        store = call.store
        memo = get_record(store, obj, call.path_params["memo_key"], "memoNumber")
        if memo["status"] != "Draft":
            raise ApiError(
                400,
                RULE,
                f"{kind} memo {memo['memoNumber']} is {memo['status']}: only a Draft memo can be "
                "canceled (unpost a Posted one first)",
            )
        with store.transaction():
            memo = store.update(obj, memo["id"], {"status": CANCELED})
            account = refresh_account(store, memo["accountId"])
        return 200, memo_body(kind, memo, account)

    return handler


def delete_memo(kind: str):
    obj, item_obj, parent_field, _ = MEMOS[kind]

    def handler(call: Call) -> tuple[int, Any]:
        store = call.store
        memo = get_record(store, obj, call.path_params["memo_key"], "memoNumber")
        if memo["status"] != CANCELED:
            raise ApiError(
                400,
                RULE,
                f"{kind} memo {memo['memoNumber']} is {memo['status']}: only {kind} memos with "
                "the Cancelled status can be deleted",
            )
        with store.transaction():
            for item in store.find(item_obj, **{parent_field: memo["id"]}):
                store.delete(item_obj, item["id"])
            store.delete(obj, memo["id"])
        return 200, {"success": True}

    return handler
