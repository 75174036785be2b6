"""netsuite_credit_memos: NetSuite CreditMemo entered by people -> Zuora InvoiceItemAdjustment,
when `invoice_settlement: false` (the NetSuite -> Zuora half of the two-way `adjustments`).

- Only credit memos people entered: one zsync wrote (externalId `zsync:...`,
  `custbody_zsync_origin` = ZUORA, or the target of any flow's link) is never sent back.
- Zuora adjusts one invoice at a time, so the credit memo must be applied to exactly ONE
  invoice that `invoices` synced, and in full (an unapplied remainder has no place on a Zuora
  invoice); otherwise it is blocked, saying why. Applied to zero or several invoices: blocked.
- The adjusted invoice item: the Zuora item, on that invoice, of the charge linked (flow
  `items`) to the credit memo lines' NetSuite item. Lines on several invoice items: blocked
  (one adjustment adjusts one invoice item; split the credit memo in NetSuite).
- Created with `POST /v1/action/create` (type InvoiceItemAdjustment, Type Credit, SourceType
  InvoiceDetail; no dedicated v1 route: zsync_assets/vendor/zuora-openapi/README.md);
  `IntegrationId__NS` = the credit memo's internal id, so an unanswered create is found again
  (ZOQL) instead of re-sent. Zuora cannot
  change a processed adjustment's amount, invoice or item: a credit memo edited that way after
  it was sent is blocked with the reason; a changed memo text updates the adjustment's Comment.
- Write-back: the credit memo gets `custbody_zsync_zuora_id` = the adjustment id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.custom_fields import FROM_NETSUITE
from zsync_assets.flows.mapping.memos import (
    ORIGIN_FIELD,
    applications,
    born_in_netsuite,
    day_text,
    frame,
    item_lines,
    linked,
    money,
    netsuite_targets,
    records,
)
from zsync_assets.flows.mapping.netsuite_fields import TRANSACTION_ZUORA_ID_FIELD

NETSUITE_CREDIT_MEMOS_FLOW = "netsuite_credit_memos"
_MEMO_COLUMNS = [
    "internal_id",
    "external_id",
    "tran_id",
    "tran_date",
    "status",
    "total",
    "apply_list",
    "item_list",
    "memo",
    ORIGIN_FIELD,
    "_deleted_at",
]


def _invoice_item(
    memo: dict, invoice_id: str, charges: dict[str, str], items_by_invoice: dict[str, list[dict]]
) -> tuple[str | None, str | None]:
    """(Zuora invoice item id, why not) for the credit memo's lines on this Zuora invoice."""
    on_invoice = items_by_invoice.get(invoice_id, [])
    chosen: set[str] = set()
    for entry in item_lines(memo["item_list"]):
        netsuite_item = str((entry.get("item") or {}).get("internalId") or "")
        charge = charges.get(netsuite_item)
        if charge is None:
            return None, f"NetSuite item {netsuite_item or '?'} is not a synced Zuora charge (flow items)"
        matches = [i for i in on_invoice if i["product_rate_plan_charge_id"] == charge]
        if not matches:
            return None, f"the invoice has no Zuora item of charge {charge} (NetSuite item {netsuite_item})"
        # A charge billed twice on one invoice (a proration credit next to the charge): the largest line.
        chosen.add(max(matches, key=lambda i: i["charge_amount"] or 0)["id"])
    if not chosen:
        return None, "credit memo has no item lines"
    if len(chosen) > 1:
        return None, (
            f"lines credit {len(chosen)} Zuora invoice items; one adjustment adjusts one "
            "invoice item: split the credit memo in NetSuite"
        )
    return chosen.pop(), None


def _changed_after_sync(memo_name: str, row: dict, adjustment: dict | None) -> str | None:
    """Why a synced credit memo's new amount/invoice/item cannot reach its Zuora adjustment."""
    if adjustment is None or row["InvoiceId"] is None:
        return None
    was = (adjustment["invoice_id"], adjustment["source_id"], money(adjustment["amount"]))
    now = (row["InvoiceId"], row["SourceId"], row["Amount"])
    if was == now:
        return None
    number = adjustment["adjustment_number"] or adjustment["id"]
    return (
        f"credit memo {memo_name} changed after it became Zuora adjustment {number} "
        f"({was[2]} on invoice item {was[1]}; now {now[2]} on {now[1]}): Zuora cannot change a processed "
        "adjustment; cancel it in Zuora and enter a new credit memo"
    )


def _skip_reason(memo: dict, name: str, written: set[str]) -> str | None:
    if not born_in_netsuite(memo, written):
        return f"credit memo {name} was written by zsync: not sent back"
    if "void" in str(memo["status"] or "").lower():
        return f"credit memo {name} is {memo['status']}"
    return None


def _reversal(memo: dict, name: str, written: set[str]) -> str | None:
    """A credit memo people entered and then deleted (getDeleted) or voided in NetSuite no longer
    credits its invoice there: the Zuora adjustment made from it is canceled."""
    if not born_in_netsuite(memo, written):
        return None
    if memo["_deleted_at"] is not None:
        return f"credit memo {name} was deleted in NetSuite"
    if "void" in str(memo["status"] or "").lower():
        return f"credit memo {name} was voided in NetSuite"
    return None


def adjustments_from_netsuite_credit_memos(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    zuora_invoice_of = linked(tables, "invoices", reverse=True)  # NetSuite invoice -> Zuora invoice
    charges = linked(tables, "items", reverse=True)  # NetSuite item -> Zuora charge
    items_by_invoice: dict[str, list[dict]] = {}
    for item in records(
        tables, "zuora.invoice_items", ["id", "invoice_id", "product_rate_plan_charge_id", "charge_amount"]
    ):
        items_by_invoice.setdefault(item["invoice_id"], []).append(item)
    written = netsuite_targets(tables)
    made = linked(tables, NETSUITE_CREDIT_MEMOS_FLOW)  # NetSuite credit memo -> Zuora adjustment
    adjustments = {
        a["id"]: a
        for a in records(
            tables, "zuora.invoice_item_adjustments", ["id", "invoice_id", "source_id", "amount", "adjustment_number"]
        )
    }
    rows = []
    for memo in records(tables, "netsuite.credit_memos", _MEMO_COLUMNS):
        name = memo["tran_id"] or memo["internal_id"]
        applied = applications(memo["apply_list"])
        synced = [(doc, amount, ref) for doc, amount, ref in applied if doc in zuora_invoice_of]
        invoice_id = zuora_invoice_of.get(applied[0][0]) if len(applied) == 1 else None
        item_id, why_not = _invoice_item(memo, invoice_id, charges, items_by_invoice) if invoice_id else (None, None)
        amount = applied[0][1] if len(applied) == 1 else 0.0
        unapplied = money(money(memo["total"]) - amount)
        blocked: str | None
        if not applied:
            blocked = f"credit memo {name} is applied to no invoice; zsync needs exactly one synced invoice"
        elif len(applied) > 1:
            blocked = (
                f"credit memo {name} is applied to {len(applied)} invoices "
                f"({', '.join(str(r or d) for d, _, r in applied)}); a Zuora adjustment adjusts exactly one "
                f"invoice ({len(synced)} of them synced)"
            )
        elif invoice_id is None:
            blocked = (
                f"credit memo {name} is applied to invoice {applied[0][2] or applied[0][0]}, which zsync did not sync"
            )
        elif unapplied > 0:
            blocked = f"credit memo {name} has {unapplied} unapplied; apply it in full to the invoice"
        else:
            blocked = why_not
        row: dict[str, Any] = {
            "source_id": str(memo["internal_id"]),
            "InvoiceId": invoice_id,
            "SourceId": item_id,
            "SourceType": "InvoiceDetail",
            "Type": "Credit",
            "Amount": amount,
            "AdjustmentDate": day_text(memo["tran_date"]),
            "Comment": f"NetSuite credit memo {name}" + (f": {memo['memo']}" if memo.get("memo") else ""),
            "IntegrationId__NS": str(memo["internal_id"]),
            "_skip": _skip_reason(memo, name, written),
            "_reverse": _reversal(memo, name, written),
        }
        row["_blocked"] = blocked or _changed_after_sync(name, row, adjustments.get(made.get(row["source_id"], "")))
        rows.append(row)
    return frame(rows)


NETSUITE_CREDIT_MEMOS = Flow(
    name=NETSUITE_CREDIT_MEMOS_FLOW,
    source_system="netsuite",
    target_system="zuora",
    target_record_type="InvoiceItemAdjustment",
    source_tables=("netsuite.credit_memos",),
    reference_tables=("zuora.invoice_items", "zuora.invoice_item_adjustments"),
    mapping=adjustments_from_netsuite_credit_memos,
    depends_on=("invoices", "adjustments"),
    waits_for=("netsuite/deletions",),
    write_back=WriteBack("creditMemo", field=TRANSACTION_ZUORA_ID_FIELD),
    custom_fields=CustomFields({"InvoiceItemAdjustment": ("IntegrationId__NS",)}, FROM_NETSUITE),
    enabled=lambda config: not config.invoice_settlement,
    description="NetSuite credit memos people entered, applied to one synced invoice -> Zuora invoice item "
    "adjustments; invoice_settlement: false",
)
