"""What the memo and adjustment flows share: links, NetSuite transaction fields, echo rules.

These flows handle a few records per account and month, so they map row by row (plain dicts)
after the lookups are built; every helper here is pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import EXTERNAL_ID_PREFIX
from zsync_assets.flows.mapping.common import lookup, table, with_columns_if_missing
from zsync_assets.flows.mapping.netsuite_fields import (
    LINE_ID_FIELD,
    ORIGIN_FIELD,
    ORIGIN_ZUORA,
    TRANSACTION_ZUORA_ID_FIELD,
    ZUORA_TYPE_FIELD,
)


def records(tables: Mapping[str, pl.DataFrame], name: str, columns: list[str]) -> list[dict[str, Any]]:
    """A staged table as dicts with at least `columns` (vendors omit fields nobody ever set)."""
    return with_columns_if_missing(table(tables, name), columns).to_dicts()


def linked(tables: Mapping[str, pl.DataFrame], flow: str, *, reverse: bool = False) -> dict[str, str]:
    """zsync.links of one flow: source id -> target id (`reverse`: target id -> source id)."""
    links = table(tables, "zsync.links")
    if links.is_empty():
        return {}
    pairs = (
        links.filter(pl.col("flow") == flow)
        .select(pl.col("source_id").cast(pl.Utf8), pl.col("target_id").cast(pl.Utf8))
        .iter_rows()
    )
    return {t: s for s, t in pairs} if reverse else dict(pairs)


def netsuite_targets(tables: Mapping[str, pl.DataFrame]) -> set[str]:
    """Internal ids of every NetSuite record some flow wrote (any flow whose target is NetSuite)."""
    links = table(tables, "zsync.links")
    if links.is_empty():
        return set()
    return set(links.filter(pl.col("target_system") == "netsuite")["target_id"].cast(pl.Utf8).to_list())


def customer_by_account(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """Zuora account id -> NetSuite customer id, whichever side is the customer master."""
    links = table(tables, "zsync.links")
    if links.is_empty():
        return {}
    out: dict[str, str] = {}
    for source_system, source, target in (
        links.filter(pl.col("flow") == "customers").select("source_system", "source_id", "target_id").iter_rows()
    ):
        zuora, netsuite = (source, target) if source_system == "zuora" else (target, source)
        out[str(zuora)] = str(netsuite)
    return out


def currency_ids(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """ISO code (lower case) -> NetSuite currency internal id."""
    return lookup(table(tables, "netsuite.currencies"), ["symbol", "name"])


def tax_item_id(tables: Mapping[str, pl.DataFrame], config: Config) -> str | None:
    """The NetSuite tax item for memo tax. Zuora memo items carry a tax amount but no tax code
    (their taxation items are not staged), so memos use `default_tax_item`."""
    return lookup(table(tables, "netsuite.tax_items"), ["item_id", "display_name"]).get(
        (config.default_tax_item or "").strip().lower()
    )


def day_text(value: Any) -> str | None:
    """A business date as `YYYY-MM-DD` (dates, ISO text and timestamps alike)."""
    return str(value)[:10] if value is not None else None


def netsuite_day(value: Any) -> str | None:
    """A Zuora business date as NetSuite's dateTime at midnight without an offset, so the date
    stays the same whatever the NetSuite account's time zone (README, "Time zones")."""
    day = day_text(value)
    return f"{day}T00:00:00" if day else None


def money(value: Any) -> float:
    return round(float(value or 0.0), 2)


def ref(internal_id: str | None) -> dict | None:
    return {"internalId": str(internal_id)} if internal_id else None


def body_fields(zuora_id: str, zuora_type: str) -> dict[str, str]:
    """Header custom fields of a transaction zsync writes from a Zuora document."""
    return {TRANSACTION_ZUORA_ID_FIELD: zuora_id, ZUORA_TYPE_FIELD: zuora_type, ORIGIN_FIELD: ORIGIN_ZUORA}


def line(item_id: str | None, amount: float, description: str | None, zuora_item_id: str) -> dict:
    """One NetSuite item line (quantity 1: a memo credits or charges an amount, not units)."""
    return {
        "item": ref(item_id),
        "quantity": 1.0,
        "amount": money(amount),
        "description": description,
        "customFieldList": {LINE_ID_FIELD: zuora_item_id},
    }


def applications(apply_list: str | None) -> list[tuple[str, float, str | None]]:
    """A staged NetSuite `apply_list` (JSON) -> (document internal id, amount, refNum) applied."""
    if not apply_list:
        return []
    data = json.loads(apply_list)
    entries = data.get("apply", []) if isinstance(data, dict) else data
    entries = entries if isinstance(entries, list) else [entries]
    return [
        (str(e["doc"]), money(e.get("amount")), e.get("refNum"))
        for e in entries
        if e.get("apply", True) and e.get("doc") is not None and money(e.get("amount")) > 0
    ]


def item_lines(item_list: str | None) -> list[dict]:
    """A staged NetSuite `item_list` (JSON) -> its lines."""
    if not item_list:
        return []
    data = json.loads(item_list)
    entries = data.get("item", []) if isinstance(data, dict) else data
    return entries if isinstance(entries, list) else [entries]


def born_in_netsuite(record: Mapping[str, Any], written_by_zsync: set[str]) -> bool:
    """True for a NetSuite transaction people entered; False for one zsync wrote (echo
    prevention: zsync's externalId prefix, the origin field, or a link of any flow)."""
    external = str(record.get("external_id") or "")
    origin = str(record.get(ORIGIN_FIELD) or "").upper()
    return not (
        external.startswith(EXTERNAL_ID_PREFIX)
        or origin == ORIGIN_ZUORA
        or str(record.get("internal_id")) in written_by_zsync
    )


def frame(rows: list[dict]) -> pl.DataFrame:
    """Mapped rows as the engine's frame (one row per source record)."""
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema={"source_id": pl.Utf8})
