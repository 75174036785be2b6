"""credit_memos: Zuora Posted CreditMemo (+ items, its application to an invoice) -> NetSuite
CreditMemo, when `invoice_settlement: true` (Invoice Settlement replaces invoice item
adjustments with credit memos in Zuora).

Drafts are skipped with their status. Lines: `flows/mapping/zuora_memos.py`. A credit memo
Zuora applied to an invoice is applied to the linked NetSuite invoice for the same amount; an
unapplied one stays open credit in NetSuite too. `custbody_zsync_zuora_type` = CREDIT_MEMO.
"""

from __future__ import annotations

from zsync_assets.flows.mapping.zuora_memos import zuora_memo_flow

CREDIT_MEMOS = zuora_memo_flow(
    "credit", "creditMemo",
    "Zuora posted credit memos -> NetSuite credit memos (invoice_settlement: true)",
)
