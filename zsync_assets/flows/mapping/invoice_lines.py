"""NetSuite transaction lines from Zuora invoice items and taxation items (pure polars).

One line per invoice item, in service-date order: proration credits and discounts are their
own (negative) lines, exactly as Zuora bills them, so the NetSuite total equals the Zuora
amount. Tax follows as one line per taxation item whose `item` is a NetSuite sales tax item:
tax is collected for the authority, so it must not land on a revenue item's income account.
`custcol_zsync_zuora_item_id` carries the Zuora invoice item (or taxation item) id per line.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.flows.mapping.common import by_distinct_value, lookup, ref, resolve, table, with_columns_if_missing
from zsync_assets.flows.mapping.netsuite_fields import LINE_ID_FIELD

# NetSuite rejects a line whose amount differs from quantity x rate by a cent or more (rounded
# to 2 places); a rate with 8 decimals keeps usage lines (0.002 per call) exact.
RATE_DECIMALS = 8

ITEM_COLUMNS = [
    "id",
    "invoice_id",
    "product_rate_plan_charge_id",
    "charge_name",
    "quantity",
    "charge_amount",
    "service_start_date",
    "service_end_date",
    "rev_rec_start_date",
]
TAX_COLUMNS = ["id", "invoice_item_id", "name", "jurisdiction", "tax_amount", "tax_rate", "tax_code"]


def business_date(expr: pl.Expr) -> pl.Expr:
    """A Zuora business date (date, ISO text or timestamp) as a polars Date, no zone applied."""
    return expr.cast(pl.Utf8).str.slice(0, 10).str.to_date(strict=False)


def netsuite_date(expr: pl.Expr) -> pl.Expr:
    """A business date as NetSuite's dateTime at midnight without an offset: Zuora's invoice date
    2024-03-01 stays 2024-03-01 in NetSuite whatever the account's time zone (README, "Time zones")."""
    return pl.when(expr.is_not_null()).then(expr.cast(pl.Utf8) + "T00:00:00")


def _rate_text(value: float | None) -> str | None:
    if value is None:
        return None
    text = f"{value:.{RATE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def linked_ids(tables: Mapping[str, pl.DataFrame], flow: str) -> dict[str, str]:
    """Source id -> target id of every record `flow` has synced (zsync.links)."""
    links = table(tables, "zsync.links")
    if links.is_empty():
        return {}
    rows = links.filter(pl.col("flow") == flow).select(
        pl.col("source_id").cast(pl.Utf8), pl.col("target_id").cast(pl.Utf8)
    )
    return dict(rows.iter_rows())


def _line(
    amount: pl.Expr,
    quantity: pl.Expr,
    item_id: pl.Expr,
    description: pl.Expr,
    rev_start: pl.Expr,
    rev_end: pl.Expr,
    zuora_id: pl.Expr,
) -> list[pl.Expr]:
    rate = (amount / quantity).round(RATE_DECIMALS)
    exact = ((rate * quantity).round(2) - amount).abs() < 0.005
    usable = quantity.is_not_null() & (quantity != 0)
    return [
        ref(item_id).alias("item"),
        pl.when(usable).then(quantity).alias("quantity"),
        by_distinct_value(pl.when(usable & exact).then(rate), _rate_text).alias("rate"),
        amount.alias("amount"),
        description.alias("description"),
        rev_start.alias("revRecStartDate"),
        rev_end.alias("revRecEndDate"),
        pl.struct(zuora_id.alias(LINE_ID_FIELD)).alias("customFieldList"),
    ]


def invoice_lines(tables: Mapping[str, pl.DataFrame], config: Config, signs: pl.DataFrame) -> pl.DataFrame:
    """Per invoice id: `item` (the itemList lines), `total`, and `line_blocked` (the first line
    that cannot be written yet, in plain words, else null).

    `signs` (invoice_id, sign): -1 for an invoice that becomes a credit memo, whose lines carry
    the opposite sign (a credit memo line of 100 credits the customer 100)."""
    charge_links = linked_ids(tables, "items")
    items = (
        with_columns_if_missing(table(tables, "zuora.invoice_items"), ITEM_COLUMNS)
        .select(
            pl.col("id").cast(pl.Utf8).alias("line_id"),
            pl.col("invoice_id").cast(pl.Utf8),
            pl.col("product_rate_plan_charge_id").cast(pl.Utf8).alias("charge_id"),
            pl.col("charge_name").cast(pl.Utf8),
            pl.col("quantity").cast(pl.Float64),
            pl.col("charge_amount").cast(pl.Float64),
            business_date(pl.col("service_start_date")).alias("start"),
            business_date(pl.col("service_end_date")).alias("end"),
            business_date(pl.col("rev_rec_start_date")).alias("rev_rec_start"),
        )
        .join(signs, on="invoice_id", how="inner")
    )
    items = items.with_columns(
        item_ref=pl.col("charge_id").replace_strict(charge_links, default=None, return_dtype=pl.Utf8),
        amount=(pl.col("charge_amount") * pl.col("sign")).round(2),
    )
    item_lines = items.select(
        "invoice_id",
        pl.lit(0).alias("kind"),
        pl.col("start").alias("order_date"),
        pl.col("charge_name").alias("order_name"),
        "line_id",
        *_line(
            pl.col("amount"),
            pl.col("quantity"),
            pl.col("item_ref"),
            pl.col("charge_name"),
            # Rev rec dates only once Zuora has them (the trigger may come later, e.g. on
            # customer acceptance); the recognition period ends with the service period.
            netsuite_date(pl.col("rev_rec_start")),
            netsuite_date(pl.when(pl.col("rev_rec_start").is_not_null()).then(pl.col("end"))),
            pl.col("line_id"),
        ),
        pl.when(pl.col("item_ref").is_null())
        .then(
            pl.format(
                "charge {} ('{}') of invoice item {} is not synced yet (flow items)",
                pl.col("charge_id").fill_null("?"),
                pl.col("charge_name").fill_null(""),
                pl.col("line_id"),
            )
        )
        .alias("line_blocked"),
        pl.when(pl.col("item_ref").is_null()).then(pl.col("charge_id")).alias("line_blocked_by"),  # flow items
    )
    return _grouped(pl.concat([item_lines, _tax_lines(tables, config, items)], how="vertical_relaxed"))


def _tax_lines(tables: Mapping[str, pl.DataFrame], config: Config, items: pl.DataFrame) -> pl.DataFrame:
    tax_items = table(tables, "netsuite.tax_items")
    by_name = lookup(tax_items, ["item_id", "display_name"])
    configured = {
        code.strip().lower(): by_name.get(name.strip().lower()) for code, name in config.tax_item_by_tax_code.items()
    }
    default = by_name.get((config.default_tax_item or "").strip().lower())
    taxes = (
        with_columns_if_missing(table(tables, "zuora.taxation_items"), TAX_COLUMNS)
        .select(
            pl.col("id").cast(pl.Utf8).alias("tax_id"),
            pl.col("invoice_item_id").cast(pl.Utf8),
            pl.col("name").cast(pl.Utf8),
            pl.col("jurisdiction").cast(pl.Utf8),
            pl.col("tax_amount").cast(pl.Float64),
            pl.col("tax_rate").cast(pl.Float64),
            pl.col("tax_code").cast(pl.Utf8),
        )
        .join(
            items.select("line_id", "invoice_id", "sign", "start", "charge_name"),
            left_on="invoice_item_id",
            right_on="line_id",
            how="inner",
        )
    )
    taxes = taxes.filter(pl.col("tax_amount").fill_null(0) != 0).with_columns(
        tax_item=pl.coalesce(
            resolve(pl.col("tax_code"), configured),
            resolve(pl.col("tax_code"), by_name),
            resolve(pl.col("name"), by_name),
            pl.lit(default, pl.Utf8),
        ),
        amount=(pl.col("tax_amount") * pl.col("sign")).round(2),
    )
    description = pl.format(
        "{} ({} {}%)",
        pl.col("name").fill_null("tax"),
        pl.col("jurisdiction").fill_null(""),
        pl.col("tax_rate").round(4).cast(pl.Utf8).fill_null("?"),
    )
    return taxes.select(
        "invoice_id",
        pl.lit(1).alias("kind"),
        pl.col("start").alias("order_date"),
        pl.col("charge_name").alias("order_name"),
        pl.col("tax_id").alias("line_id"),
        *_line(
            pl.col("amount"),
            pl.lit(1.0),
            pl.col("tax_item"),
            description,
            pl.lit(None, pl.Utf8),
            pl.lit(None, pl.Utf8),
            pl.col("tax_id"),
        ),
        pl.when(pl.col("tax_item").is_null())
        .then(
            pl.format(
                "no NetSuite tax item for Zuora tax code '{}' (set tax_item_by_tax_code or default_tax_item)",
                pl.col("tax_code").fill_null(""),
            )
        )
        .alias("line_blocked"),
        pl.lit(None, pl.Utf8).alias("line_blocked_by"),
    )


def _grouped(lines: pl.DataFrame) -> pl.DataFrame:
    fields = [
        "item",
        "quantity",
        "rate",
        "amount",
        "description",
        "revRecStartDate",
        "revRecEndDate",
        "customFieldList",
    ]
    # Sorted by the lines' order alone: `group_by(maintain_order=True)` keeps that order within
    # each invoice, and the groups' own order does not matter (they are joined to the invoices).
    # The invoice id as a first key cost a third of the sort (two million lines, `zsync bench`).
    return (
        lines.sort(["kind", "order_date", "order_name", "line_id"], nulls_last=True)
        .group_by("invoice_id", maintain_order=True)
        .agg(
            pl.struct(fields).alias("item"),
            pl.col("amount").sum().round(2).alias("total"),
            pl.col("line_blocked").drop_nulls().first().alias("line_blocked"),
            # the charge (flow items) the first blocked line waits for; null for a tax line
            pl.col("line_blocked_by").filter(pl.col("line_blocked").is_not_null()).first().alias("line_blocked_by"),
        )
    )
