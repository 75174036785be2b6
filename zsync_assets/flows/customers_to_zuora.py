"""customers (customer_master: netsuite): NetSuite Customer -> Zuora Account (+ bill-to / sold-to
contacts); the other direction, the default, is customers.py. Only the configured one exists in
the asset graph.

NetSuite -> Zuora: customers with `custentity_zsync_send_to_zuora` checked become Zuora
accounts with bill-to / sold-to contacts; `IntegrationId__NS` on the account and
`custentity_zsync_zuora_id` on the customer link them both ways.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.common import link_ref, lookup, record_name, table, with_columns_if_missing
from zsync_assets.flows.mapping.netsuite_fields import CUSTOMER_ZUORA_ID_FIELD

SEND_TO_ZUORA_FIELD = "custentity_zsync_send_to_zuora"


def _first_address(addressbook: str | None, flag: str) -> dict:
    """The staged `addressbook_list` JSON -> the address flagged default billing / shipping."""
    if not addressbook:
        return {}
    data = json.loads(addressbook)
    entries = data.get("addressbook", data) if isinstance(data, dict) else data
    entries = entries if isinstance(entries, list) else [entries]
    chosen = next((e for e in entries if e.get(flag)), entries[0] if entries else {})
    return chosen.get("addressbookAddress") or {}


def _zuora_country(code: str | None) -> str | None:
    """NetSuite `_unitedStates` -> Zuora `United States`."""
    if not code:
        return None
    words, word = [], ""
    for ch in code.lstrip("_"):
        if ch.isupper() and word:
            words.append(word)
            word = ""
        word += ch
    words.append(word)
    return " ".join(w[:1].upper() + w[1:] for w in words if w)


def _zuora_contact(row: dict, flag: str) -> dict | None:
    address = _first_address(row.get("addressbook_list"), flag)
    company = row.get("company_name") or row.get("entity_id")
    return {
        k: v
        for k, v in {
            "firstName": row.get("first_name") or company,
            "lastName": row.get("last_name") or company,
            "workEmail": row.get("email"),
            "workPhone": row.get("phone"),
            "address1": address.get("addr1"),
            "address2": address.get("addr2"),
            "city": address.get("city"),
            "state": address.get("state"),
            "zipCode": address.get("zip"),
            "country": _zuora_country(address.get("country")),
        }.items()
        if v is not None
    }


def accounts_from_netsuite_customers(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    customers = with_columns_if_missing(
        table(tables, "netsuite.customers"),
        [
            "internal_id",
            "entity_id",
            "company_name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "currency_name",
            "currency_internal_id",
            "terms_name",
            "is_inactive",
            "addressbook_list",
            "parent_internal_id",
            CUSTOMER_ZUORA_ID_FIELD,
            SEND_TO_ZUORA_FIELD,
        ],
    )
    currency_codes = {v: k for k, v in lookup(table(tables, "netsuite.currencies"), ["symbol"]).items()}
    accounts = table(tables, "zuora.accounts")
    by_integration_id = (
        lookup(accounts, ["integration_id__ns"], "id") if "integration_id__ns" in accounts.columns else {}
    )
    by_number = lookup(accounts, ["account_number"], "id")
    rows = []
    for c in customers.to_dicts():
        send = str(c.get(SEND_TO_ZUORA_FIELD)).lower() in ("true", "t", "1", "yes")
        currency = currency_codes.get(str(c.get("currency_internal_id")))
        currency = currency.upper() if currency else None
        match_id = (
            c.get(CUSTOMER_ZUORA_ID_FIELD)
            or by_integration_id.get(str(c["internal_id"]).lower())
            or by_number.get(str(c.get("entity_id") or "").lower())
        )
        parent = str(c["parent_internal_id"]) if c.get("parent_internal_id") else None
        how = (
            CUSTOMER_ZUORA_ID_FIELD
            if c.get(CUSTOMER_ZUORA_ID_FIELD)
            else "IntegrationId__NS"
            if by_integration_id.get(str(c["internal_id"]).lower())
            else "same account number as the entityId"
            if match_id
            else None
        )
        rows.append(
            {
                "source_id": str(c["internal_id"]),
                "name": c.get("company_name")
                or " ".join(filter(None, [c.get("first_name"), c.get("last_name")]))
                or c.get("entity_id"),
                "accountNumber": c.get("entity_id"),
                "currency": currency,
                "paymentTerm": c.get("terms_name"),
                "billToContact": _zuora_contact(c, "defaultBilling"),
                "soldToContact": _zuora_contact(c, "defaultShipping"),
                "IntegrationId__NS": str(c["internal_id"]),
                # Zuora needs the parent's account id, which a parent created in this same run does
                # not have at plan time: a link reference, filled in by push after the parent lands.
                "parentId": link_ref("customers", parent) if parent else None,
                "_after": parent,
                "_skip": None if send else f"{SEND_TO_ZUORA_FIELD} is not checked",
                "_blocked": None
                if currency
                else f"no ISO code for NetSuite currency '{c.get('currency_name') or c.get('currency_internal_id')}'",
                "_match_target_id": match_id,
                "_match": how,
                "_label": record_name(c.get("entity_id"), c.get("company_name"), str(c["internal_id"])),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema={"source_id": pl.Utf8})


CUSTOMERS_TO_ZUORA = Flow(
    name="customers",
    source_system="netsuite",
    target_system="zuora",
    target_record_type="Account",
    source_tables=("netsuite.customers",),
    reference_tables=("netsuite.currencies", "zuora.accounts"),
    mapping=accounts_from_netsuite_customers,
    write_back=WriteBack("customer", field=CUSTOMER_ZUORA_ID_FIELD),
    custom_fields=CustomFields(
        {"Account": ("IntegrationId__NS",)}, (CUSTOMER_ZUORA_ID_FIELD, SEND_TO_ZUORA_FIELD, "custentity_zsync_status")
    ),
    enabled=lambda config: config.customer_master == "netsuite",
    description="NetSuite customers flagged send-to-Zuora -> Zuora accounts (customer_master: netsuite)",
)
