"""Derived amounts that Zuora keeps true on its documents, as pure functions.

Used by the seed (in memory) and by every write (from the store), so the two never disagree.
Rules modelled (Zuora Billing without Invoice Settlement unless memos are used):
- invoice amount = sum(item chargeAmount) + sum(taxation item taxAmount); discounts and
  proration credits are negative items;
- invoice balance = amount - payments applied - credit adjustments + charge adjustments
  - credit memo amount applied; a Canceled invoice owes nothing;
- a payment's unapplied amount = amount - applied - refunded (refunds come out of the
  unapplied part, Zuora rejects refunding money that is still applied to invoices).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW"}


def money(value: float, currency: str | None = None) -> float:
    digits = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return round(value + 0.0, digits) + 0.0


def _sum(rows: Iterable[dict[str, Any]], field: str) -> float:
    return sum(r.get(field) or 0.0 for r in rows)


def adjustment_effect(adjustment: dict[str, Any]) -> float:
    """How much an invoice item adjustment lowers the invoice balance (Credit +, Charge -)."""
    if adjustment.get("status") == "Canceled":
        return 0.0
    amount = adjustment.get("amount") or 0.0
    return amount if adjustment.get("type") == "Credit" else -amount


def invoice_amounts(
    invoice: dict[str, Any], items: list[dict], taxes: list[dict], applications: list[dict], adjustments: list[dict]
) -> dict[str, Any]:
    currency = invoice.get("currency")
    without_tax = money(_sum(items, "chargeAmount"), currency)
    tax = money(_sum(taxes, "taxAmount"), currency)
    amount = money(without_tax + tax, currency)
    paid = money(
        _sum([a for a in applications if a.get("paymentApplicationStatus") != "Cancelled"], "applyAmount"), currency
    )
    adjusted = money(sum(adjustment_effect(a) for a in adjustments), currency)
    credited = invoice.get("creditMemoAmount") or 0.0
    balance = 0.0 if invoice.get("status") == "Canceled" else money(amount - paid - adjusted - credited, currency)
    return {
        "amountWithoutTax": without_tax,
        "amount": amount,
        "paymentAmount": paid,
        "adjustmentAmount": adjusted,
        "balance": balance,
    }


def payment_amounts(payment: dict[str, Any], applications: list[dict], refunds: list[dict]) -> dict[str, Any]:
    currency = payment.get("currency")
    applied = money(
        _sum([a for a in applications if a.get("paymentApplicationStatus") != "Cancelled"], "applyAmount"), currency
    )
    refunded = money(_sum(refunds, "applyAmount"), currency)
    return {
        "appliedAmount": applied,
        "refundAmount": refunded,
        "unappliedAmount": money(payment["amount"] - applied - refunded, currency),
    }


def account_amounts(
    account: dict[str, Any],
    invoices: list[dict],
    debit_memos: list[dict],
    credit_memos: list[dict],
    payments: list[dict],
) -> dict[str, Any]:
    currency = account.get("currency")
    posted = [i for i in invoices if i.get("status") == "Posted"]
    invoice_balance = money(_sum(posted, "balance"), currency)
    debit_balance = money(_sum([d for d in debit_memos if d.get("status") == "Posted"], "balance"), currency)
    credit_unapplied = money(_sum([c for c in credit_memos if c.get("status") == "Posted"], "balance"), currency)
    unapplied_payments = money(
        _sum([p for p in payments if p.get("status") == "Processed"], "unappliedAmount"), currency
    )
    dates = [i["invoiceDate"] for i in posted if i.get("invoiceDate")]
    return {
        "totalInvoiceBalance": invoice_balance,
        "totalDebitMemoBalance": debit_balance,
        "unappliedCreditMemoAmount": credit_unapplied,
        "unappliedBalance": unapplied_payments,
        "creditBalance": 0.0,
        "balance": money(invoice_balance + debit_balance, currency),
        "lastInvoiceDate": max(dates) if dates else account.get("lastInvoiceDate"),
    }
