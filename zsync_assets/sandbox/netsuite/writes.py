"""add / update / upsert / delete of one record, with NetSuite's per-record status codes.

Each record is its own SQLite transaction, so a list call commits the good records and
reports the bad ones (DUP_ENTITY, INVALID_KEY_OR_REF, USER_ERROR, RCRD_DSNT_EXIST).
Totals, balances and timestamps are the server's: values a client sends for them are ignored.
A record type the sandbox does not implement is answered as NetSuite answers a record type whose
feature the account lacks: a per-record FEATURE_DISABLED status (the code is in
`zsync_assets/vendor/netsuite-suitetalk/2023_2/xsd/platform.faultTypes.xsd`).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.netsuite import balances, periods
from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.errors import RecordError
from zsync_assets.sandbox.netsuite.merge import merge
from zsync_assets.sandbox.netsuite.records import (
    CUSTOM_FIELDS,
    ITEM_ID_MAX,
    KIND_BY_XSD,
    KINDS,
    RecordKind,
    record_name,
)
from zsync_assets.sandbox.netsuite.schema import CORE, RECORD_REF, TYPE_KEY
from zsync_assets.sandbox.netsuite.store import Store

SERVER_FIELDS = {
    "createdDate",
    "dateCreated",
    "lastModifiedDate",
    "total",
    "subTotal",
    "taxTotal",
    "amountRemaining",
    "amountPaid",
    "applied",
    "unapplied",
    "status",
}
TRAN_PREFIX = {
    "invoice": "INV",
    "salesOrder": "SO",
    "customerPayment": "PYMT",
    "customerRefund": "RFND",
    "creditMemo": "CM",
}


def base_ref(kind: RecordKind, internal_id: int, data: dict) -> dict:
    ref = {TYPE_KEY: RECORD_REF, "internalId": str(internal_id), "type": kind.record_type}
    if data.get("externalId"):
        ref["externalId"] = data["externalId"]
    return ref


def feature_disabled(record_type: str) -> RecordError:
    return RecordError(
        "FEATURE_DISABLED",
        f"The feature required to access {record_type} records is not enabled "
        f"in this account (the sandbox implements {', '.join(sorted(KINDS))}).",
    )


def kind_of(record: dict) -> RecordKind:
    kind = KIND_BY_XSD.get(record.get(TYPE_KEY, ""))
    if kind is None:
        local = record.get(TYPE_KEY, "").rsplit("}", 1)[-1]
        raise feature_disabled(local[:1].lower() + local[1:])
    return kind


def kind_named(record_type: str | None) -> RecordKind:
    """The kind of a RecordRef `type` (a RecordType value, checked by the vendor XSD; optional
    there, but get and delete cannot find a record without it)."""
    if not record_type:
        raise RecordError("RCRD_TYPE_REQD", "The record type is required (RecordRef type).")
    kind = KINDS.get(record_type)
    if kind is None:
        raise feature_disabled(record_type)
    return kind


class RecordWriter:
    def __init__(self, store: Store, clock: AccountClock):
        self.store = store
        self.clock = clock

    # ---- operations -------------------------------------------------------------------------
    def add(self, record: dict) -> dict:
        kind = kind_of(record)
        data = {k: v for k, v in self.clock.normalize(record).items() if k not in SERVER_FIELDS and k != "internalId"}
        with self.store.transaction():
            self._check_unique(kind, data, None)
            internal_id = self.store.next_id(kind.record_type)
            if kind.record_type == "customer" and not data.get("entityId"):
                data["entityId"] = f"CUS{internal_id}"  # auto-generated entity numbers
            if kind.is_transaction and not data.get("tranId"):
                data["tranId"] = f"{TRAN_PREFIX[kind.record_type]}{internal_id}"
            self._check_unique(kind, data, None)
            stamp = self.clock.stamp()
            if kind.created_field:
                data[kind.created_field] = stamp
            data = self._prepare(kind, data, internal_id, stamp)
            self.store.insert(kind.record_type, internal_id, kind.key_space, data, data.get(kind.name_field))
            balances.apply(self.store, kind, internal_id, data, stamp)
        return base_ref(kind, internal_id, data)

    def update(self, record: dict) -> dict:
        kind = kind_of(record)
        record = self.clock.normalize(record)
        with self.store.transaction():
            existing = self._find(kind, record)
            if existing is None:
                key = record.get("internalId") or record.get("externalId")
                raise RecordError("RCRD_DSNT_EXIST", f"That record does not exist. {kind.record_type} {key}")
            internal_id = existing["internal_id"]
            data = merge(existing["data"], {k: v for k, v in record.items() if k not in SERVER_FIELDS})
            data.pop("internalId", None)
            self._check_unique(kind, data, internal_id)
            stamp = self.clock.stamp()
            data = self._prepare(kind, data, internal_id, stamp)
            self.store.save(kind.record_type, internal_id, data, data.get(kind.name_field))
            balances.apply(self.store, kind, internal_id, data, stamp)
        return base_ref(kind, internal_id, data)

    def upsert(self, record: dict) -> dict:
        kind = kind_of(record)
        if not record.get("externalId"):
            raise RecordError("USER_ERROR", "upsert needs an externalId on every record.")
        with self.store.transaction():  # re-entrant: find + write are one unit
            existing = self.store.by_external_id(kind.key_space, record["externalId"])
            if existing and existing["record_type"] != kind.record_type:
                raise RecordError("DUP_ENTITY", f"externalId {record['externalId']} belongs to another record type.")
            if existing:
                return self.update({**record, "internalId": str(existing["internal_id"])})
            return self.add(record)

    def delete(self, ref: dict) -> dict:
        kind = kind_named(ref.get("type"))
        with self.store.transaction():
            existing = self._find(kind, ref)
            if existing is None:
                raise RecordError("RCRD_DSNT_EXIST", "That record does not exist.")
            internal_id = existing["internal_id"]
            # Applications link transactions only (balances.APPLIES_TO); other ids are another space.
            docs = self.store.docs_of(internal_id) if kind.is_transaction else []
            if kind.is_transaction and self.store.has_dependents(internal_id):
                raise RecordError("USER_ERROR", "This record cannot be deleted because it has dependent records.")
            refusal = (
                periods.closed_period_refusal(self.store, self.clock, existing["data"]) if kind.is_transaction else None
            )
            if refusal:
                raise RecordError(periods.CLOSED_PERIOD_CODE, refusal)
            stamp = self.clock.stamp()
            self.store.delete(kind.record_type, internal_id, stamp)
            balances.refresh(self.store, docs, stamp)
        return base_ref(kind, internal_id, existing["data"])

    # ---- checks -----------------------------------------------------------------------------
    def _find(self, kind: RecordKind, ref: dict) -> dict | None:
        if ref.get("internalId"):
            return self.store.get(ref["internalId"], (kind.record_type,))
        if ref.get("externalId"):
            found = self.store.by_external_id(kind.key_space, ref["externalId"])
            return found if found and found["record_type"] == kind.record_type else None
        raise RecordError("USER_ERROR", "The record needs an internalId or externalId.")

    def _check_unique(self, kind: RecordKind, data: dict, internal_id: int | None) -> None:
        ext = data.get("externalId")
        if ext:
            other = self.store.by_external_id(kind.key_space, ext)
            if other and other["internal_id"] != internal_id:
                raise RecordError("DUP_ENTITY", f"A record with externalId {ext} already exists.")
        # Customer entityId and item names are unique in an account.
        if kind.record_type == "customer" or kind.key_space == "item":
            name = data.get(kind.name_field)
            other = self.store.by_name(kind.key_space, name) if name else None
            if other and other["internal_id"] != internal_id:
                raise RecordError("DUP_ENTITY", f"This entity already exists: {kind.name_field} {name!r}.")

    def _prepare(self, kind: RecordKind, data: dict, internal_id: int, stamp: str) -> dict:
        for name in kind.required_for(data):
            if data.get(name) in (None, "", [], {}):
                raise RecordError("USER_ERROR", f"Please enter value(s) for: {name}")
        if kind.key_space == "item" and len(data.get("itemId", "")) > ITEM_ID_MAX:
            raise RecordError(
                "USER_ERROR",
                f"The field itemId contained more than the maximum number ( {ITEM_ID_MAX} ) of characters allowed.",
            )
        for field, allowed in kind.refs.items():
            if field in data:
                data[field] = self.resolve(data[field], allowed, field)
        if "subsidiaryList" in data:
            refs = data["subsidiaryList"].get("recordRef", [])
            data["subsidiaryList"]["recordRef"] = [self.resolve(r, ("subsidiary",), "subsidiaryList") for r in refs]
        check_custom_fields(data.get("customFieldList"), kind.custom_prefix)
        if "itemList" in data:
            self._prepare_lines(kind, data)
        if kind.record_type in ("customerPayment", "creditMemo", "customerRefund", "invoice", "salesOrder"):
            self._inherit_from_customer(kind, data)
        if kind.modified_field:
            data[kind.modified_field] = stamp
        return data

    def _prepare_lines(self, kind: RecordKind, data: dict) -> None:
        lines = data["itemList"].get("item", [])
        if not lines:
            raise RecordError("USER_ERROR", "You must enter at least one line item for this transaction.")
        total = 0.0
        for number, line in enumerate(lines, start=1):
            line["line"] = number
            for field, allowed in kind.line_refs.items():
                if field in line:
                    line[field] = self.resolve(line[field], allowed, f"item line {number} {field}")
            if "item" not in line:
                raise RecordError("USER_ERROR", f"Please enter value(s) for: item (line {number})")
            check_custom_fields(line.get("customFieldList"), "custcol")
            line["amount"] = line_amount(line, number)
            total += line["amount"]
        data["total"] = round(total, 2)
        data["subTotal"] = data["total"]

    def _inherit_from_customer(self, kind: RecordKind, data: dict) -> None:
        ref = data.get("entity") or data.get("customer")
        customer = self.store.get(ref["internalId"], "customer") if ref else None
        if not customer:
            return
        for field in ("currency", "subsidiary"):
            if field not in data and field in customer["data"]:
                data[field] = customer["data"][field]
        if kind.record_type in ("invoice", "creditMemo", "customerRefund", "salesOrder", "customerPayment"):
            # A business date: today in the account's zone (clock.py), at midnight there.
            data.setdefault("tranDate", self.clock.midnight(self.clock.today()))

    def resolve(self, ref: Any, allowed: tuple[str, ...], field: str) -> dict:
        """Every RecordRef must point at an existing record of an allowed type (INVALID_KEY_OR_REF)."""
        if not isinstance(ref, dict):
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid {field} reference key {ref}.")
        types = allowed
        if ref.get("type"):
            types = tuple(t for t in allowed if t == ref["type"])
        found = None
        if ref.get("internalId"):
            found = self.store.get(ref["internalId"], types)
            key = ref["internalId"]
        elif ref.get("externalId"):
            key = ref["externalId"]
            for t in types:
                hit = self.store.by_external_id(KINDS[t].key_space, key)
                if hit and hit["record_type"] in types:
                    found = hit
                    break
        else:
            key = ref.get("name", "")
        if found is None:
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid {field} reference key {key}.")
        resolved = {TYPE_KEY: RECORD_REF, "internalId": str(found["internal_id"])}
        name = record_name(KINDS[found["record_type"]], found["data"])
        if name:
            resolved["name"] = name
        return resolved


def line_amount(line: dict, number: int) -> float:
    """amount = quantity x rate; NetSuite rejects a line whose amount says otherwise."""
    quantity = line.get("quantity")
    rate = line.get("rate")
    try:
        rate_value = float(rate) if rate not in (None, "") else None
    except ValueError:
        raise RecordError("USER_ERROR", f"Line {number}: invalid rate {rate!r}.") from None
    amount = line.get("amount")
    if amount is None:
        if rate_value is None:
            raise RecordError("USER_ERROR", f"Please enter value(s) for: amount (line {number})")
        return round((1 if quantity is None else quantity) * rate_value, 2)
    if rate_value is not None and quantity is not None and abs(round(quantity * rate_value, 2) - amount) > 0.005:
        raise RecordError(
            "USER_ERROR", f"Line {number}: amount {amount} does not equal quantity {quantity} x rate {rate}."
        )
    if rate_value is None and quantity:
        line["rate"] = f"{amount / quantity:.2f}"
    return round(float(amount), 2)


def check_custom_fields(custom: dict | None, prefix: str) -> None:
    for field in (custom or {}).get("customField", []):
        script_id = field.get("scriptId", "")
        expected = CUSTOM_FIELDS.get(script_id)
        if expected is None or not script_id.startswith(prefix):
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid custom field reference: {script_id or field}.")
        if field.get(TYPE_KEY) != f"{{{CORE}}}{expected}":
            raise RecordError("USER_ERROR", f"Custom field {script_id} needs a {expected}.")
