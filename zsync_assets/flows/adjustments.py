"""adjustments: Zuora InvoiceItemAdjustment -> NetSuite, when `invoice_settlement: false`.

- Only Processed adjustments; a Canceled one is skipped with its status.
- Credit (lowers the invoice) -> a NetSuite CreditMemo applied to the linked NetSuite invoice
  (`applyList` doc = its internal id, amount = the adjustment), one line on the NetSuite item
  linked to the adjusted invoice item's charge, `custcol_zsync_zuora_item_id` = that invoice
  item. NetSuite's invoice `amountRemaining` then drops by the same amount as Zuora's balance.
- Charge (raises the invoice) -> a NetSuite Invoice for the charged amount, same customer,
  item and custom fields. Why not edit the original invoice: it may be paid or in a closed
  period, and rewriting its lines would be overwritten by the next `invoices` sync (which
  mirrors the Zuora invoice items, not their adjustments). A separate invoice keeps both
  totals right: what NetSuite says the customer owes = Zuora's invoice balance.
- `custbody_zsync_zuora_type` = INVOICE_ITEM_ADJUSTMENT either way.
- Tax adjustments (SourceType Tax) are blocked with the reason: the taxation item's NetSuite
  tax line has no item link to credit.
- Write-back: the adjustment gets `IntegrationId__NS` (the NetSuite document), status and date,
  through `/v1/action/update` (Zuora serves adjustments through the action calls only).
- Echo prevention: an adjustment zsync created from a NetSuite credit memo (flow
  `netsuite_credit_memos`, or `IntegrationId__NS` naming a credit memo people entered in
  NetSuite) is skipped, never sent back.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.accounts import accounts_left_out
from zsync_assets.flows.mapping.common import account_names, record_name
from zsync_assets.flows.mapping.custom_fields import DOCUMENT, LINES, ZUORA_WRITE_BACK
from zsync_assets.flows.mapping.memos import (
    body_fields,
    born_in_netsuite,
    currency_ids,
    customer_by_account,
    frame,
    line,
    linked,
    money,
    netsuite_day,
    netsuite_targets,
    records,
    ref,
)

ZUORA_TYPE = "INVOICE_ITEM_ADJUSTMENT"
FROM_NETSUITE_FLOW = "netsuite_credit_memos"

_ADJUSTMENT_COLUMNS = [
    "id",
    "account_id",
    "invoice_id",
    "invoice_number",
    "invoice_item_name",
    "source_id",
    "source_type",
    "type",
    "amount",
    "adjustment_date",
    "adjustment_number",
    "reason_code",
    "comment",
    "status",
    "integration_id__ns",
]


def _echo_reason(adjustment: dict, from_netsuite: dict[str, str], netsuite_born: set[str]) -> str | None:
    if adjustment["id"] in from_netsuite:
        return f"created by zsync from NetSuite credit memo {from_netsuite[adjustment['id']]}: not sent back"
    marker = str(adjustment.get("integration_id__ns") or "")
    if marker in netsuite_born:
        return f"entered in NetSuite as credit memo {marker} (IntegrationId__NS): not sent back"
    return None


def credit_memos_from_zuora_adjustments(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    invoices = {r["id"]: r for r in records(tables, "zuora.invoices", ["id", "currency", "amount"])}
    invoice_items = {r["id"]: r for r in records(tables, "zuora.invoice_items", ["id", "product_rate_plan_charge_id"])}
    synced_invoices, synced_items = linked(tables, "invoices"), linked(tables, "items")
    accounts = account_names(tables)
    left_out = accounts_left_out(tables, config)  # its invoices are skipped: so are their adjustments
    customers, currencies = customer_by_account(tables), currency_ids(tables)
    from_netsuite = linked(tables, FROM_NETSUITE_FLOW, reverse=True)  # Zuora adjustment -> NetSuite memo
    written = netsuite_targets(tables)
    netsuite_born = {
        str(r["internal_id"])
        for r in records(tables, "netsuite.credit_memos", ["internal_id", "external_id"])
        if born_in_netsuite(r, written)
    }
    rows = []
    for adj in records(tables, "zuora.invoice_item_adjustments", _ADJUSTMENT_COLUMNS):
        invoice = invoices.get(adj["invoice_id"]) or {}
        item = invoice_items.get(adj["source_id"]) or {}
        charge = item.get("product_rate_plan_charge_id")
        netsuite_invoice = synced_invoices.get(str(adj["invoice_id"]))
        customer = customers.get(str(adj["account_id"]))
        currency = currencies.get(str(invoice.get("currency") or "").lower())
        credit = adj["type"] == "Credit"
        amount = money(adj["amount"])
        label = f"{adj['type'] or ''} adjustment {adj['adjustment_number'] or adj['id']}"
        echo = _echo_reason(adj, from_netsuite, netsuite_born)
        rows.append(
            {
                "source_id": adj["id"],
                "entity": ref(customer),
                "currency": ref(currency),
                "tranDate": netsuite_day(adj["adjustment_date"]),
                "memo": f"Zuora {label} of invoice {adj['invoice_number']}"
                + (f" ({adj['reason_code']})" if adj.get("reason_code") else "")
                + (f": {adj['comment']}" if adj.get("comment") else ""),
                "itemList": {
                    "item": [line(synced_items.get(str(charge)), amount, adj["invoice_item_name"], adj["source_id"])],
                    "replaceAll": True,
                },
                "applyList": {"apply": [{"doc": int(netsuite_invoice), "apply": True, "amount": amount}]}
                if credit and netsuite_invoice
                else None,
                "customFieldList": body_fields(adj["id"], ZUORA_TYPE),
                "_record_type": "creditMemo" if credit else "invoice",
                "_skip": (
                    f"adjustment is {adj['status'] or 'without a status'}"
                    if adj["status"] != "Processed"
                    else echo or _account_left_out(adj, left_out, accounts)
                ),
                # A Canceled adjustment no longer moves its invoice's balance in Zuora: its NetSuite
                # credit memo (invoice) goes too. Never one that came from NetSuite.
                "_reverse": "adjustment was canceled in Zuora" if adj["status"] == "Canceled" and not echo else None,
                "_blocked": _blocked(adj, invoice, charge, netsuite_invoice, customer, synced_items, accounts),
                **_blocked_by(adj, netsuite_invoice, customer, charge, synced_items),
                "_label": record_name(adj["adjustment_number"], None, adj["id"]),
            }
        )
    return frame(rows)


def _account_left_out(adj: dict, left_out: dict[str, str], accounts: dict[str, str]) -> str | None:
    account = str(adj["account_id"])
    if account not in left_out:
        return None
    return f"account {accounts.get(account, account)} is not synced to NetSuite: {left_out[account]}"


def _blocked_by(
    adj: dict, netsuite_invoice: str | None, customer: str | None, charge: str | None, synced_items: dict[str, str]
) -> dict[str, str | None]:
    """The record of another flow `_blocked` waits for (in the same order of checks)."""
    flow, source_id = (
        ("invoices", adj["invoice_id"])
        if netsuite_invoice is None
        else ("customers", adj["account_id"])
        if customer is None
        else ("items", str(charge))
        if charge is not None and str(charge) not in synced_items
        else (None, None)
    )
    return {"_blocked_by_flow": flow, "_blocked_by_id": source_id}


def _blocked(
    adj: dict,
    invoice: dict,
    charge: str | None,
    netsuite_invoice: str | None,
    customer: str | None,
    synced_items: dict[str, str],
    accounts: dict[str, str],
) -> str | None:
    if adj["type"] not in ("Credit", "Charge"):
        return f"adjustment type '{adj['type']}' is neither Credit nor Charge"
    if adj["source_type"] != "InvoiceDetail":
        return (
            f"adjusts a {adj['source_type']} (taxation item): NetSuite tax lines have no linked item "
            "to credit; enter this tax adjustment in NetSuite by hand"
        )
    if netsuite_invoice is None:
        return f"invoice {adj['invoice_number'] or adj['invoice_id']} is not synced yet (flow invoices)"
    if (invoice.get("amount") or 0) < 0:
        return (
            f"invoice {adj['invoice_number']} is negative and became a NetSuite credit memo "
            f"{netsuite_invoice}: a credit memo cannot be applied to it"
        )
    if customer is None:
        return f"account {accounts.get(str(adj['account_id']), adj['account_id'])} is not synced yet (flow customers)"
    if charge is None:
        return f"invoice item {adj['source_id']} is not staged (zuora.invoice_items)"
    if str(charge) not in synced_items:
        return f"charge {charge} of invoice item {adj['source_id']} is not synced yet (flow items)"
    return None


ADJUSTMENTS = Flow(
    name="adjustments",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="creditMemo",  # per row from `_record_type`: invoice for Charge adjustments
    also_writes=("invoice",),
    source_tables=("zuora.invoice_item_adjustments",),
    reference_tables=(
        "zuora.invoices",
        "zuora.invoice_items",
        "netsuite.credit_memos",
        "netsuite.currencies",
        "zuora.accounts",
    ),  # accounts: reasons name them by number and name
    mapping=credit_memos_from_zuora_adjustments,
    depends_on=("invoices",),
    write_back=WriteBack("InvoiceItemAdjustment"),
    custom_fields=CustomFields({"InvoiceItemAdjustment": ZUORA_WRITE_BACK}, (*DOCUMENT, *LINES)),
    enabled=lambda config: not config.invoice_settlement,
    description="Zuora invoice item adjustments -> NetSuite credit memos applied to the invoice "
    "(Charge adjustments -> invoices); invoice_settlement: false",
)
