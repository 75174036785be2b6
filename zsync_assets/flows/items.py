"""items: Zuora ProductRatePlanCharge (with its plan and product) -> NetSuite sale item.

Record type: the charge's `ItemType__NS` when set, else `item_type_by_charge_type` from the
config (Recurring / OneTime / Usage). Only charges whose product AND plan are effective today
are created; an expired one is skipped with the reason, and one that was synced before and
expired since is left as it is in NetSuite (the plan says so). NetSuite caps an item's
name/number (`itemId`) at 60 characters, so a longer "product : plan : charge" name is cut
deterministically and suffixed with a short hash of the charge id (stable across runs,
unique per charge). The Zuora charge id goes to `custitem_zsync_zuora_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from zsync_assets.config import CHARGE_TYPES, Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.common import bounded_name, lookup, ref, resolve, table, with_columns_if_missing
from zsync_assets.flows.mapping.custom_fields import ZUORA_WRITE_BACK
from zsync_assets.flows.mapping.netsuite_fields import ITEM_ZUORA_ID_FIELD

ITEM_ID_MAX = 60  # NetSuite "Item Name/Number" field length
RECORD_TYPES = {"NonInventorySaleItem": "nonInventorySaleItem", "ServiceSaleItem": "serviceSaleItem"}


def _record_type(item_type_ns: str | None, charge_type: str | None, config: Config) -> str:
    text = (item_type_ns or "").lower().replace(" ", "").replace("-", "")
    if "service" in text:
        return RECORD_TYPES["ServiceSaleItem"]
    if "inventory" in text:
        return RECORD_TYPES["NonInventorySaleItem"]
    configured = (
        config.item_type_by_charge_type.get(charge_type, "ServiceSaleItem")
        if charge_type in CHARGE_TYPES
        else "ServiceSaleItem"
    )
    return RECORD_TYPES[configured]


def _not_effective(prefix: str, what: str, today: date) -> pl.Expr:
    start, end, name = (
        pl.col(f"{prefix}effective_start_date"),
        pl.col(f"{prefix}effective_end_date"),
        pl.col(f"{prefix}name"),
    )
    return (
        pl.when(end.is_not_null() & (end < today))
        .then(pl.format(f"{what} '{{}}' expired on {{}}", name, end.cast(pl.Utf8)))
        .when(start.is_not_null() & (start > today))
        .then(pl.format(f"{what} '{{}}' is effective only from {{}}", name, start.cast(pl.Utf8)))
    )


def _dated(frame: pl.DataFrame, prefix: str, columns: list[str]) -> pl.DataFrame:
    frame = with_columns_if_missing(frame, columns)
    casts = [
        pl.col(c).cast(pl.Utf8).str.slice(0, 10).str.to_date(strict=False) if "date" in c else pl.col(c).cast(pl.Utf8)
        for c in columns
    ]
    return frame.select([e.alias(prefix + c) for e, c in zip(casts, columns, strict=True)])


def items_from_zuora_charges(
    tables: Mapping[str, pl.DataFrame], config: Config, today: date | None = None
) -> pl.DataFrame:
    today = today or date.today()
    charges = with_columns_if_missing(
        table(tables, "zuora.product_rate_plan_charges"),
        ["id", "name", "charge_type", "accounting_code", "product_rate_plan_id", "item_type__ns"],
    )
    plans = _dated(
        table(tables, "zuora.product_rate_plans"),
        "plan_",
        ["id", "name", "product_id", "effective_start_date", "effective_end_date"],
    )
    products = _dated(
        table(tables, "zuora.products"), "product_", ["id", "name", "sku", "effective_start_date", "effective_end_date"]
    )
    accounts = table(tables, "netsuite.accounts")
    if {"acct_number", "acct_name"} <= set(accounts.columns):
        # NetSuite displays an account as "<number> <name>"; finance teams often use that as the
        # Zuora accounting code, so it resolves like the bare number or the bare name.
        accounts = accounts.with_columns(acct_display=pl.concat_str(["acct_number", "acct_name"], separator=" "))
    by_account_name = lookup(accounts, ["acct_name", "acct_number", "acct_display", "name"])
    configured = {
        code.lower(): by_account_name.get(name.strip().lower())
        for code, name in config.income_account_by_accounting_code.items()
    }
    default_account = by_account_name.get((config.default_income_account or "").strip().lower())
    items = table(tables, "netsuite.items")
    by_zuora_id = lookup(items, [ITEM_ZUORA_ID_FIELD]) if ITEM_ZUORA_ID_FIELD in items.columns else {}
    by_item_id = lookup(items, ["item_id"])

    frame = (
        charges.select(
            [
                pl.col(c).cast(pl.Utf8)
                for c in ["id", "name", "charge_type", "accounting_code", "product_rate_plan_id", "item_type__ns"]
            ]
        )
        .join(plans, left_on="product_rate_plan_id", right_on="plan_id", how="left", coalesce=False)
        .join(products, left_on="plan_product_id", right_on="product_id", how="left", coalesce=False)
    )
    full_names = [
        " : ".join(filter(None, (p, pl_, c)))
        for p, pl_, c in frame.select("product_name", "plan_name", "name").iter_rows()
    ]
    item_ids = [bounded_name(n, cid, ITEM_ID_MAX) for n, cid in zip(full_names, frame["id"], strict=True)]
    record_types = [_record_type(t, ct, config) for t, ct in frame.select("item_type__ns", "charge_type").iter_rows()]
    frame = frame.with_columns(
        item_id=pl.Series(item_ids, dtype=pl.Utf8),
        full_name=pl.Series(full_names, dtype=pl.Utf8),
        record_type=pl.Series(record_types, dtype=pl.Utf8),
        income_account_id=pl.coalesce(
            pl.col("accounting_code").str.to_lowercase().replace_strict(configured, default=None, return_dtype=pl.Utf8),
            resolve(pl.col("accounting_code"), by_account_name),
            pl.lit(default_account, pl.Utf8),
        ),
    ).with_columns(
        match_zuora=pl.col("id").str.to_lowercase().replace_strict(by_zuora_id, default=None, return_dtype=pl.Utf8),
        match_item=pl.col("item_id").str.to_lowercase().replace_strict(by_item_id, default=None, return_dtype=pl.Utf8),
    )
    return frame.select(
        pl.col("id").alias("source_id"),
        pl.col("item_id").alias("itemId"),
        pl.col("name").alias("displayName"),
        ref(pl.col("income_account_id")).alias("incomeAccount"),
        pl.struct(pl.col("id").alias(ITEM_ZUORA_ID_FIELD)).alias("customFieldList"),
        pl.col("record_type").alias("_record_type"),
        pl.when(pl.col("product_id").is_null())
        .then(pl.lit("charge has no staged plan/product"))
        .otherwise(pl.coalesce(_not_effective("product_", "product", today), _not_effective("plan_", "plan", today)))
        .alias("_skip"),
        pl.when(pl.col("income_account_id").is_null())
        .then(pl.format("no NetSuite income account for accounting code '{}'", pl.col("accounting_code").fill_null("")))
        .alias("_blocked"),
        pl.coalesce("match_zuora", "match_item").alias("_match_target_id"),
        pl.when(pl.col("match_zuora").is_not_null())
        .then(pl.lit(ITEM_ZUORA_ID_FIELD))
        .when(pl.col("match_item").is_not_null())
        .then(pl.lit("same itemId"))
        .alias("_match"),
        pl.format("'{}' ({})", pl.col("full_name"), pl.col("id")).alias("_label"),
    )


ITEMS = Flow(
    name="items",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="serviceSaleItem",  # per row from `_record_type`
    also_writes=("nonInventorySaleItem",),
    source_tables=("zuora.product_rate_plan_charges", "zuora.product_rate_plans", "zuora.products"),
    reference_tables=("netsuite.accounts", "netsuite.items"),
    mapping=items_from_zuora_charges,
    external_id_prefix="items",
    depends_on=("customers",),  # masters first (README, "What it syncs"): customers -> items -> transactions
    write_back=WriteBack("ProductRatePlanCharge"),
    custom_fields=CustomFields({"ProductRatePlanCharge": (*ZUORA_WRITE_BACK, "ItemType__NS")}, (ITEM_ZUORA_ID_FIELD,)),
    description="Zuora product rate plan charges effective today -> NetSuite sale items",
)
