"""The record types the sandbox knows: XSD type, key fields, references and required fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from zsync_assets.sandbox.netsuite.schema import ACCOUNTING, CUSTOMERS, RELATIONSHIPS, SALES, clark

ITEM_TYPES = ("nonInventorySaleItem", "serviceSaleItem")
TRANSACTION_TYPES = ("invoice", "salesOrder", "customerPayment", "customerRefund", "creditMemo")

# NetSuite's documented maximum for Item Name/Number (itemId); longer names fail the write.
ITEM_ID_MAX = 60


@dataclass(frozen=True)
class RecordKind:
    record_type: str  # the RecordType enum value, e.g. "customer"
    xsd_type: str  # Clark name of the XSD complex type
    key_space: str  # externalId uniqueness scope (items share one id space in NetSuite)
    name_field: str | None  # shown as RecordRef <name>; unique for customers and items
    required: tuple[str, ...] = ()
    refs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> allowed record types
    line_refs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # on itemList lines
    custom_prefix: str = ""  # custom fields applying to this record start with this prefix
    created_field: str | None = "createdDate"  # server-maintained timestamps (absent on reference records)
    modified_field: str | None = "lastModifiedDate"

    @property
    def is_transaction(self) -> bool:
        return self.record_type in TRANSACTION_TYPES

    @property
    def id_space(self) -> str:
        """Which internal-id counter numbers this record type.

        NetSuite counts internal ids per record type, except where one search spans several
        types by one `internalId` criterion: TransactionSearchBasic and ItemSearchBasic
        (platform.common.xsd) find any transaction / any item by id, so every transaction type
        shares one counter and every item type another. Customer 1 and subsidiary 1 coexist.
        """
        if self.is_transaction:
            return "transaction"
        return "item" if self.key_space == "item" else self.record_type

    def required_for(self, data: dict) -> tuple[str, ...]:
        """Required fields of this record: a customer needs companyName, but an individual
        (`isPerson`) needs firstName and lastName instead (NetSuite's customer form rules)."""
        if self.record_type != "customer":
            return self.required
        person = str(data.get("isPerson")).lower() in ("true", "1")
        return self.required + (("firstName", "lastName") if person else ("companyName",))


_ENTITY_REFS = {"subsidiary": ("subsidiary",), "currency": ("currency",), "terms": ("term",)}


class _Timestamps(TypedDict):
    created_field: str | None
    modified_field: str | None


_NO_TIMESTAMPS: _Timestamps = {"created_field": None, "modified_field": None}
# A sales tax item may also be an item line of its own (legacy tax: tax charged as a line).
_LINE_REFS = {"item": ITEM_TYPES + ("salesTaxItem",), "taxCode": ("salesTaxItem",)}

KINDS: dict[str, RecordKind] = {
    k.record_type: k
    for k in [
        RecordKind(
            "customer",
            clark(RELATIONSHIPS, "Customer"),
            "customer",
            "entityId",
            required=("subsidiary",),  # + companyName, or firstName/lastName: required_for
            refs={"parent": ("customer",), **_ENTITY_REFS},
            custom_prefix="custentity",
            created_field="dateCreated",
        ),
        RecordKind(
            "nonInventorySaleItem",
            clark(ACCOUNTING, "NonInventorySaleItem"),
            "item",
            "itemId",
            required=("itemId", "incomeAccount"),
            refs={"incomeAccount": ("account",)},
            custom_prefix="custitem",
        ),
        RecordKind(
            "serviceSaleItem",
            clark(ACCOUNTING, "ServiceSaleItem"),
            "item",
            "itemId",
            required=("itemId", "incomeAccount"),
            refs={"incomeAccount": ("account",)},
            custom_prefix="custitem",
        ),
        RecordKind(
            "invoice",
            clark(SALES, "Invoice"),
            "invoice",
            "tranId",
            required=("entity", "itemList"),
            refs={"entity": ("customer",), "createdFrom": ("salesOrder",), **_ENTITY_REFS},
            line_refs=_LINE_REFS,
            custom_prefix="custbody",
        ),
        RecordKind(
            "salesOrder",
            clark(SALES, "SalesOrder"),
            "salesOrder",
            "tranId",
            required=("entity", "itemList"),
            refs={"entity": ("customer",), **_ENTITY_REFS},
            line_refs=_LINE_REFS,
            custom_prefix="custbody",
        ),
        RecordKind(
            "customerPayment",
            clark(CUSTOMERS, "CustomerPayment"),
            "customerPayment",
            "tranId",
            required=("customer", "payment"),
            refs={"customer": ("customer",), **_ENTITY_REFS},
            custom_prefix="custbody",
        ),
        RecordKind(
            "customerRefund",
            clark(CUSTOMERS, "CustomerRefund"),
            "customerRefund",
            "tranId",
            required=("customer", "applyList"),
            refs={"customer": ("customer",), **_ENTITY_REFS},
            custom_prefix="custbody",
        ),
        RecordKind(
            "creditMemo",
            clark(CUSTOMERS, "CreditMemo"),
            "creditMemo",
            "tranId",
            required=("entity", "itemList"),
            refs={"entity": ("customer",), "createdFrom": ("invoice",), **_ENTITY_REFS},
            line_refs=_LINE_REFS,
            custom_prefix="custbody",
        ),
        RecordKind(
            "subsidiary",
            clark(ACCOUNTING, "Subsidiary"),
            "subsidiary",
            "name",
            required=("name", "currency"),
            refs={"parent": ("subsidiary",), "currency": ("currency",)},
            **_NO_TIMESTAMPS,
        ),
        RecordKind(
            "currency", clark(ACCOUNTING, "Currency"), "currency", "name", required=("name", "symbol"), **_NO_TIMESTAMPS
        ),
        RecordKind("term", clark(ACCOUNTING, "Term"), "term", "name", required=("name",), **_NO_TIMESTAMPS),
        RecordKind(
            "account",
            clark(ACCOUNTING, "Account"),
            "account",
            "acctName",
            required=("acctName", "acctType"),
            refs={"currency": ("currency",)},
            **_NO_TIMESTAMPS,
        ),
        RecordKind(
            "salesTaxItem",
            clark(ACCOUNTING, "SalesTaxItem"),
            "item",
            "itemId",
            required=("itemId", "rate"),
            **_NO_TIMESTAMPS,
        ),
    ]
}
KIND_BY_XSD = {k.xsd_type: k for k in KINDS.values()}

# Custom fields that exist in the seeded account (README "NetSuite custom fields"): script id -> value type.
CUSTOM_FIELDS: dict[str, str] = {
    "custentity_zsync_zuora_id": "StringCustomFieldRef",
    "custentity_zsync_send_to_zuora": "BooleanCustomFieldRef",
    "custentity_zsync_status": "StringCustomFieldRef",
    "custitem_zsync_zuora_id": "StringCustomFieldRef",
    "custbody_zsync_zuora_id": "StringCustomFieldRef",
    "custbody_zsync_zuora_type": "StringCustomFieldRef",
    "custbody_zsync_origin": "StringCustomFieldRef",
    "custbody_zsync_sync_date": "DateCustomFieldRef",
    "custbody_zsync_subscription": "StringCustomFieldRef",
    "custbody_zsync_status": "StringCustomFieldRef",
    "custcol_zsync_zuora_item_id": "StringCustomFieldRef",
}

# Transaction and item `type` values of the search enums (TransactionSearchBasic / ItemSearchBasic).
SEARCH_TYPE_VALUES = {
    "_invoice": "invoice",
    "_salesOrder": "salesOrder",
    "_customerPayment": "customerPayment",
    "_customerRefund": "customerRefund",
    "_creditMemo": "creditMemo",
    "_nonInventoryItem": "nonInventorySaleItem",
    "_service": "serviceSaleItem",
}


def record_name(kind: RecordKind, data: dict) -> str | None:
    if kind.record_type == "customer":
        return data.get("companyName") or data.get("entityId")
    return data.get(kind.name_field) if kind.name_field else None
