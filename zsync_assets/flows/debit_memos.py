"""debit_memos: Zuora Posted DebitMemo (+ items) -> NetSuite Invoice marked as a debit memo,
when `invoice_settlement: true`.

NetSuite has no debit memo record: a debit memo is what the customer owes, so it is an
Invoice with `custbody_zsync_zuora_type` = DEBIT_MEMO (saved searches and reports tell them
apart by it). A dedicated custom form can be set per account with
`field_overrides: {debit_memos: {constants: {customForm: {internalId: "<form id>"}}}}`
(SuiteTalk's Invoice has `customForm`). Drafts are skipped. Lines: `flows/mapping/zuora_memos.py`.
"""

from __future__ import annotations

from zsync_assets.flows.mapping.zuora_memos import zuora_memo_flow

DEBIT_MEMOS = zuora_memo_flow(
    "debit",
    "invoice",
    "Zuora posted debit memos -> NetSuite invoices marked DEBIT_MEMO (invoice_settlement: true)",
)
