"""`PUT /v1/credit-memos/{creditMemoKey}/apply` (PUT_ApplyCreditMemo): Invoice Settlement's way
to settle an invoice or a debit memo with credit.

Body `ApplyCreditMemoType` (`invoices[]` / `debitMemos[]` of `{invoiceId | debitMemoId, amount}`,
`effectiveDate`), answer `GETCreditMemoType`, both in
`zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`. What Zuora documents ("Application of
credit memos to invoices and debit memos", docs.zuora.com): only a Posted memo applies, fully
or partly, to one or more Posted invoices and debit memos of its account, at most 1,000 per
call, never more than the memo's unapplied amount nor a document's balance. Effects kept here:
one `CreditMemoApplication` per document (Object Query `credit-memo-applications`), the memo's
`appliedAmount` up and `balance` (its unapplied amount) and its items' `unappliedAmount` down,
the invoice's `creditMemoAmount` up and `balance` down, the debit memo's `balance` down, the
account's totals refreshed. The whole call applies or nothing does (one transaction).
Item-level amounts (`items[]`) are not modelled: such a call is refused, not half-applied.
"""

from __future__ import annotations

import uuid
from typing import Any

from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, MISSING_REQUIRED, RULE, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, today
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.memos import MEMOS, memo_body
from zsync_assets.sandbox.zuora.records import get_record, refresh_account, refresh_invoice

MAX_DOCUMENTS = 1000
# Request list -> (stored object, id field, number field, what people call it).
TARGETS = {
    "invoices": ("invoices", "invoiceId", "invoiceNumber", "invoice"),
    "debitMemos": ("debit-memos", "debitMemoId", "memoNumber", "debit memo"),
}


def _targets(store, memo: dict[str, Any], body: dict[str, Any]) -> list[tuple[str, dict, float]]:  # noqa: ANN001
    """(request list, document, amount) per requested application, each checked."""
    wanted = []
    for key, (obj, id_field, number_field, label) in TARGETS.items():
        for n, entry in enumerate(body.get(key) or []):
            if entry.get(id_field) in (None, "") or entry.get("amount") is None:
                raise ApiError(400, MISSING_REQUIRED, f"{key}[{n}]: {id_field} and amount are required")
            if entry.get("items"):
                raise ApiError(400, UNSUPPORTED, "this sandbox applies credit memos to whole documents, not items")
            doc = get_record(store, obj, str(entry[id_field]), number_field)
            number = doc.get(number_field)
            if doc["accountId"] != memo["accountId"] or doc.get("status") != "Posted":
                raise ApiError(400, RULE, f"{label} {number} is not a Posted {label} of the credit memo's account")
            amount = ledger.money(float(entry["amount"]), memo["currency"])
            if amount <= 0:
                raise ApiError(400, INVALID_VALUE, f"{key}[{n}].amount must be greater than 0")
            if amount > doc["balance"] + 0.001:
                raise ApiError(
                    400, RULE, f"the amount applied to {label} {number} exceeds its balance {doc['balance']}"
                )
            wanted.append((key, doc, amount))
    if not wanted:
        raise ApiError(400, MISSING_REQUIRED, "invoices or debitMemos is required")
    if len(wanted) > MAX_DOCUMENTS:
        raise ApiError(400, RULE, f"a credit memo applies to at most {MAX_DOCUMENTS} invoices and debit memos per call")
    return wanted


def _spend_items(store, memo_id: str, amount: float, currency: str) -> None:  # noqa: ANN001
    """Take `amount` off the memo items' unapplied amounts, first item first."""
    for item in sorted(store.find("credit-memo-items", creditMemoId=memo_id), key=lambda i: i["id"]):
        take = min(amount, item.get("unappliedAmount") or 0.0)
        if take > 0:
            store.update(
                "credit-memo-items",
                item["id"],
                {"unappliedAmount": ledger.money(item["unappliedAmount"] - take, currency)},
            )
            amount = ledger.money(amount - take, currency)


def apply_credit_memo(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    obj = MEMOS["credit"][0]
    memo = get_record(store, obj, call.path_params["memo_key"], "memoNumber")
    if memo["status"] != "Posted":
        raise ApiError(400, RULE, f"credit memo {memo['memoNumber']} is {memo['status']}; only a Posted one applies")
    day = a_date(body.get("effectiveDate") or today(), "effectiveDate")
    wanted = _targets(store, memo, body)
    total = ledger.money(sum(amount for _, _, amount in wanted), memo["currency"])
    if total > memo["balance"] + 0.001:
        raise ApiError(
            400, RULE, f"the amount applied ({total}) exceeds the credit memo's unapplied amount {memo['balance']}"
        )
    group = uuid.uuid4().hex
    with store.transaction():
        for key, doc, amount in wanted:
            obj_name, id_field, number_field, label = TARGETS[key]
            doc = store.existing(obj_name, doc["id"])  # the same document twice in one call: its balance now
            if amount > doc["balance"] + 0.001:
                raise ApiError(400, RULE, f"the amounts applied to {label} {doc[number_field]} exceed its balance")
            store.insert(
                "credit-memo-applications",
                {
                    "creditMemoId": memo["id"],
                    "accountId": memo["accountId"],
                    id_field: doc["id"],
                    "amount": amount,
                    "effectiveDate": day,
                    "applicationGroupId": group,
                },
            )
            if obj_name == "invoices":
                store.update(
                    "invoices",
                    doc["id"],
                    {"creditMemoAmount": ledger.money((doc.get("creditMemoAmount") or 0.0) + amount, doc["currency"])},
                )
                refresh_invoice(store, doc["id"])
            else:
                store.update(
                    "debit-memos", doc["id"], {"balance": ledger.money(doc["balance"] - amount, doc["currency"])}
                )
        _spend_items(store, memo["id"], total, memo["currency"])
        memo = store.update(
            obj,
            memo["id"],
            {
                "appliedAmount": ledger.money((memo.get("appliedAmount") or 0.0) + total, memo["currency"]),
                "balance": ledger.money(memo["balance"] - total, memo["currency"]),
            },
        )
        account = refresh_account(store, memo["accountId"])
    return 200, memo_body("credit", memo, account)
