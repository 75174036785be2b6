"""Applications (payment/credit memo -> invoice, refund -> payment/credit memo) and balances.

NetSuite keeps `amountRemaining` on invoices and credit memos and `unapplied` on payments; a
write that applies more than a document still owes fails with USER_ERROR. Applications live
in their own table so every balance is recomputed from them, never drifted by hand.
"""

from __future__ import annotations

from zsync_assets.sandbox.netsuite.errors import RecordError
from zsync_assets.sandbox.netsuite.records import KINDS, TRANSACTION_TYPES, RecordKind
from zsync_assets.sandbox.netsuite.store import Store

# source record type -> record types its applyList may point at
APPLIES_TO = {
    "customerPayment": ("invoice",),
    "creditMemo": ("invoice",),
    "customerRefund": ("customerPayment", "creditMemo"),
}


def available(store: Store, doc: dict, *, excluding_source: int | None = None) -> float:
    """What a document can still have applied to it."""
    data, doc_id = doc["data"], doc["internal_id"]
    owed = data.get("total", 0.0) if doc["record_type"] != "customerPayment" else data.get("payment", 0.0)
    if doc["record_type"] in ("customerPayment", "creditMemo"):
        owed -= store.applied_from(doc_id)  # what it already pays off itself
    return round(owed - store.applied_to(doc_id, excluding_source=excluding_source), 2)


def apply(store: Store, kind: RecordKind, internal_id: int, data: dict, stamp: str) -> None:
    """Validate and record this record's applyList, then refresh every balance it touches."""
    targets = APPLIES_TO.get(kind.record_type)
    if targets is None:
        if kind.record_type == "invoice" and store.applied_to(internal_id) > data.get("total", 0.0) + 0.005:
            raise RecordError("USER_ERROR", "The invoice total is less than the payments already applied to it.")
        refresh(store, [internal_id], stamp)
        return
    customer = (data.get("customer") or data.get("entity") or {}).get("internalId")
    before = store.docs_of(internal_id)
    applications: list[tuple[int, float]] = []
    for number, line in enumerate((data.get("applyList") or {}).get("apply", []), start=1):
        if not line.get("apply", True):
            continue
        doc = store.get(line.get("doc", 0), targets)
        if doc is None:
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid apply line {number} doc reference key {line.get('doc')}.")
        doc_customer = (doc["data"].get("entity") or doc["data"].get("customer") or {}).get("internalId")
        if doc_customer != customer:
            raise RecordError("USER_ERROR", f"Apply line {number}: document {line['doc']} belongs to another customer.")
        open_amount = available(store, doc, excluding_source=internal_id)
        amount = line.get("amount", open_amount)
        if amount <= 0 or amount > open_amount + 0.005:
            raise RecordError(
                "USER_ERROR",
                f"Apply line {number}: amount {amount} is more than the {open_amount} "
                f"remaining on document {line['doc']}.",
            )
        line.update(
            apply=True,
            amount=round(amount, 2),
            due=open_amount,
            total=doc["data"].get("total"),
            refNum=doc["data"].get("tranId"),
            type=doc["record_type"],
        )
        applications.append((doc["internal_id"], round(amount, 2)))
    applied = round(sum(a for _, a in applications), 2)
    if kind.record_type == "customerRefund":
        if not applications:
            raise RecordError("USER_ERROR", "A refund must be applied to a payment or credit memo.")
        data["total"] = applied
    else:
        capacity = data.get("payment", 0.0) if kind.record_type == "customerPayment" else data.get("total", 0.0)
        capacity -= store.applied_to(internal_id)  # refunds already taken from it
        if applied > capacity + 0.005:
            raise RecordError(
                "USER_ERROR", f"The total applied ({applied}) is more than the amount available ({capacity})."
            )
    store.set_applications(internal_id, applications)
    store.save(kind.record_type, internal_id, data, data.get(kind.name_field))
    refresh(store, sorted(set(before) | {d for d, _ in applications} | {internal_id}), stamp)


def refresh(store: Store, doc_ids: list[int], stamp: str) -> None:
    """Recompute the server-maintained balance fields of these documents."""
    for doc_id in doc_ids:
        doc = store.get(doc_id, TRANSACTION_TYPES)  # applications link transactions only
        if doc is None:
            continue
        kind, data = KINDS[doc["record_type"]], doc["data"]
        received = store.applied_to(doc_id)
        own = store.applied_from(doc_id)
        if kind.record_type == "invoice":
            data["amountPaid"] = round(received, 2)
            data["amountRemaining"] = round(data.get("total", 0.0) - received, 2)
            data["status"] = "Paid In Full" if data["amountRemaining"] <= 0.005 else "Open"
        elif kind.record_type == "customerPayment":
            data["total"] = data.get("payment", 0.0)
            data["applied"] = round(own, 2)
            data["unapplied"] = round(data.get("payment", 0.0) - own - received, 2)
            data["status"] = "Deposited"
        elif kind.record_type == "creditMemo":
            data["applied"] = round(own, 2)
            data["amountRemaining"] = data["unapplied"] = round(data.get("total", 0.0) - own - received, 2)
            data["status"] = "Fully Applied" if data["amountRemaining"] <= 0.005 else "Open"
        elif kind.record_type == "customerRefund":
            data["status"] = "Refunded"
        elif kind.record_type == "salesOrder":
            data.setdefault("orderStatus", "_pendingFulfillment")
            data["status"] = "Pending Fulfillment"
        else:
            continue
        if kind.modified_field:
            data[kind.modified_field] = stamp
        store.save(kind.record_type, doc_id, data, data.get(kind.name_field))
