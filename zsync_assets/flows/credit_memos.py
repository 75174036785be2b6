"""credit_memos: Zuora Posted CreditMemo (+ items, its application to an invoice) -> NetSuite
CreditMemo, when `invoice_settlement: true` (Invoice Settlement replaces invoice item
adjustments with credit memos in Zuora).

Drafts are skipped with their status. Lines: `flows/mapping/zuora_memos.py`. A credit memo
Zuora applied to invoices or debit memos (`PUT /v1/credit-memos/{key}/apply`, staged from
Object Query `credit-memo-applications`) is applied to the linked NetSuite invoices for the
same amounts, also when the application comes after the sync; what is unapplied stays open
credit in NetSuite too. `custbody_zsync_zuora_type` = CREDIT_MEMO.
"""

from __future__ import annotations

from zsync_assets.flows.mapping.zuora_memos import zuora_memo_flow

CREDIT_MEMOS = zuora_memo_flow(
    "credit",
    "creditMemo",
    "Zuora posted credit memos -> NetSuite credit memos (invoice_settlement: true)",
)
