"""NetSuite documents from Zuora credit and debit memos (flows `credit_memos`, `debit_memos`).

One NetSuite line per memo item on the item linked to its charge, for the amount without
tax; the item's tax as its own line on the memo tax item (`default_tax_item`), because tax
collected for an authority must not land on a revenue item's income account. Totals equal
Zuora's `totalAmount`. Only Posted memos: a Draft can still change or be deleted in Zuora.
A credit memo is applied in NetSuite to the linked invoices (a debit memo's too: it is a
NetSuite invoice) for what Zuora's credit memo applications say, also when Zuora applies it
after it was synced (the NetSuite memo is updated); an application to a document zsync has not
synced blocks the memo, naming it.
Write-back: the memo gets `IntegrationId__NS`, `IntegrationStatus__NS`, `SyncDate__NS`
(`PUT /v1/credit-memos/{key}` / `/v1/debit-memos/{key}`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Literal

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.common import account_names, record_name, table, with_columns_if_missing
from zsync_assets.flows.mapping.custom_fields import DOCUMENT, LINES, ZUORA_WRITE_BACK
from zsync_assets.flows.mapping.memos import (
    body_fields,
    currency_ids,
    customer_by_account,
    frame,
    line,
    linked,
    money,
    netsuite_day,
    records,
    ref,
    tax_item_id,
)
from zsync_assets.flows.mapping.settlement import live_refunds

MemoKind = Literal["credit", "debit"]
TAX_LINE_SUFFIX = ":tax"

_MEMO_COLUMNS = [
    "id",
    "account_id",
    "memo_number",
    "memo_date",
    "due_date",
    "status",
    "currency",
    "total_amount",
    "reason_code",
    "comment",
    "comments",
    "_deleted_at",
]
_APPLICATION_COLUMNS = ["credit_memo_id", "invoice_id", "debit_memo_id", "amount"]
_ITEM_COLUMNS = [
    "id",
    "credit_memo_id",
    "debit_memo_id",
    "amount",
    "amount_without_tax",
    "tax_amount",
    "charge_name",
    "product_rate_plan_charge_id",
    "service_start_date",
]


def _lines(items: list[dict], synced_items: dict[str, str], tax_item: str | None) -> tuple[list[dict], str | None]:
    """(NetSuite item lines, why they cannot be written yet) for one memo's items."""
    lines, blocked = [], None
    for item in sorted(items, key=lambda i: (str(i["service_start_date"]), i["charge_name"] or "", i["id"])):
        charge = str(item["product_rate_plan_charge_id"])
        netsuite_item = synced_items.get(charge)
        tax = money(item["tax_amount"])
        net = (
            money(item["amount_without_tax"]) if item["amount_without_tax"] is not None else money(item["amount"]) - tax
        )
        lines.append(line(netsuite_item, net, item["charge_name"], item["id"]))
        if tax:
            lines.append(
                line(tax_item, tax, f"Tax on {item['charge_name'] or 'memo item'}", item["id"] + TAX_LINE_SUFFIX)
            )
        if blocked is None and netsuite_item is None:
            blocked = (
                f"charge {charge} ('{item['charge_name'] or ''}') of memo item {item['id']} "
                "is not synced yet (flow items)"
            )
        if blocked is None and tax and tax_item is None:
            blocked = (
                f"memo item {item['id']} carries tax {tax} but no NetSuite tax item is set for memos "
                "(set default_tax_item)"
            )
    return lines, blocked or (None if lines else "memo has no items")


def _credit_applications(tables: Mapping[str, pl.DataFrame]) -> dict[str, list[tuple[str, str, float]]]:
    """Credit memo id -> [(kind, Zuora id, amount)] of what Zuora applied it to (Object Query
    `credit-memo-applications`; one memo may settle several invoices and debit memos)."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for row in records(tables, "zuora.credit_memo_applications", _APPLICATION_COLUMNS):
        kind, doc = ("invoice", row["invoice_id"]) if row["invoice_id"] else ("debit memo", row["debit_memo_id"])
        if doc and money(row["amount"]) > 0:
            out.setdefault(str(row["credit_memo_id"]), []).append((kind, str(doc), money(row["amount"])))
    return out


def _apply_list(
    applied: list[tuple[str, str, float]], synced: Mapping[str, Mapping[str, str]]
) -> tuple[dict | None, str | None]:
    """(NetSuite `applyList` on the linked invoices, why it cannot be written yet). A debit memo
    is a NetSuite invoice too (flow debit_memos)."""
    amounts: dict[str, float] = {}
    for kind, doc, amount in applied:
        netsuite = synced[kind].get(doc)
        if netsuite is None:
            flow = "invoices" if kind == "invoice" else "debit_memos"
            return None, f"applied to {kind} {doc}, which is not synced yet (flow {flow})"
        amounts[netsuite] = money(amounts.get(netsuite, 0.0) + amount)
    lines = [{"doc": int(doc), "apply": True, "amount": amount} for doc, amount in sorted(amounts.items())]
    return ({"apply": lines} if lines else None), None


def netsuite_documents_from_zuora_memos(
    tables: Mapping[str, pl.DataFrame], config: Config, kind: MemoKind
) -> pl.DataFrame:
    parent = f"{kind}_memo_id"
    items_by_memo: dict[str, list[dict]] = {}
    for item in records(tables, f"zuora.{kind}_memo_items", _ITEM_COLUMNS):
        items_by_memo.setdefault(str(item[parent]), []).append(item)
    customers, currencies = customer_by_account(tables), currency_ids(tables)
    accounts = account_names(tables)
    synced_items = linked(tables, "items")
    synced_documents = {"invoice": linked(tables, "invoices"), "debit memo": linked(tables, "debit_memos")}
    applied_to = _credit_applications(tables) if kind == "credit" else {}
    tax_item = tax_item_id(tables, config)
    label = f"{kind} memo"
    synced = linked(tables, f"{kind}_memos")
    refunded = _standing_refunds(tables) if kind == "credit" else {}
    rows = []
    for memo in records(tables, f"zuora.{kind}_memos", _MEMO_COLUMNS):
        customer = customers.get(str(memo["account_id"]))
        currency = currencies.get(str(memo["currency"] or "").lower())
        lines, lines_blocked = _lines(items_by_memo.get(str(memo["id"]), []), synced_items, tax_item)
        apply_list, apply_blocked = _apply_list(applied_to.get(str(memo["id"]), []), synced_documents)
        row = {
            "source_id": memo["id"],
            "entity": ref(customer),
            "currency": ref(currency),
            "tranDate": netsuite_day(memo["memo_date"]),
            "tranId": memo["memo_number"],
            "memo": f"Zuora {label} {memo['memo_number']}"
            + (f" ({memo['reason_code']})" if memo["reason_code"] else "")
            + (f": {comment}" if (comment := memo["comment"] or memo["comments"]) else ""),
            "itemList": {"item": lines, "replaceAll": True} if lines else None,
            "customFieldList": body_fields(memo["id"], f"{kind.upper()}_MEMO"),
            "_skip": None if memo["status"] == "Posted" else f"{label} is {memo['status'] or 'without a status'}",
            "_blocked_by_flow": "customers" if customer is None else None,
            "_blocked_by_id": memo["account_id"] if customer is None else None,
            "_label": record_name(memo["memo_number"], None, memo["id"]),
            "_blocked": (
                f"account {accounts.get(str(memo['account_id']), memo['account_id'])} is not synced yet "
                "(flow customers)"
                if customer is None
                else f"no NetSuite currency with ISO code '{memo['currency'] or ''}'"
                if currency is None
                else apply_blocked or lines_blocked
            ),
        }
        row["_reverse"] = _reversal(label, memo, str(memo["id"]) in synced)
        if str(memo["id"]) in refunded:
            row["_reverse_blocked"] = (
                f"its refund(s) {', '.join(refunded[str(memo['id'])])} still stand in NetSuite: "
                "they are reversed first (flow refunds)"
            )
        if kind == "debit":
            row["dueDate"] = netsuite_day(memo["due_date"])
        elif apply_list:
            # What Zuora applied this credit memo to, the same amounts applied in NetSuite.
            row["applyList"] = apply_list
        rows.append(row)
    return frame(rows)


def _reversal(label: str, memo: dict, synced: bool) -> str | None:
    """Why the memo's NetSuite counterpart goes: canceled or deleted in Zuora, or unposted back to
    Draft after it synced (Zuora cancels only a Draft memo, so a posted one is unposted first, and
    a Draft counts in no balance; posted again, it is created afresh)."""
    if memo["_deleted_at"] is not None:
        return f"{label} was deleted in Zuora"
    if memo["status"] == "Canceled":
        return f"{label} was canceled in Zuora"
    if memo["status"] == "Draft" and synced:
        return f"{label} was unposted in Zuora (back to Draft)"
    return None


def _standing_refunds(tables: Mapping[str, pl.DataFrame]) -> dict[str, list[str]]:
    """Credit memo id -> its refunds whose NetSuite counterpart stands (they go first)."""
    applications = with_columns_if_missing(table(tables, "zuora.refund_applications"), ["credit_memo_id", "refund_id"])
    return live_refunds(tables, ["refunds"], "credit_memo_id", applications.rename({"refund_id": "refund"}))


def zuora_memo_flow(kind: MemoKind, target_record_type: str, description: str) -> Flow:
    """The `credit_memos` / `debit_memos` flow: Zuora -> NetSuite, only with Invoice Settlement."""
    return Flow(
        name=f"{kind}_memos",
        source_system="zuora",
        target_system="netsuite",
        target_record_type=target_record_type,
        source_tables=(f"zuora.{kind}_memos", f"zuora.{kind}_memo_items")
        + (("zuora.credit_memo_applications",) if kind == "credit" else ()),
        reference_tables=("netsuite.currencies", "netsuite.tax_items", "zuora.accounts")
        + (("zuora.refund_applications",) if kind == "credit" else ()),
        mapping=partial(netsuite_documents_from_zuora_memos, kind=kind),
        waits_for=("zuora/deletions",),
        # a credit memo may be applied to a debit memo: that NetSuite invoice must exist first
        depends_on=("customers", "items", "invoices") + (("debit_memos",) if kind == "credit" else ()),
        write_back=WriteBack(f"{kind.capitalize()}Memo"),
        custom_fields=CustomFields({f"{kind.capitalize()}Memo": ZUORA_WRITE_BACK}, (*DOCUMENT, *LINES)),
        enabled=lambda config: config.invoice_settlement,
        description=description,
    )
