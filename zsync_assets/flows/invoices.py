"""invoices: Zuora Posted Invoice (+ invoice items + taxation items) -> NetSuite Invoice.

- Only Posted invoices dated on/after `cutover_date`; a Draft one is skipped ("invoice is Draft").
- The account must be synced by `customers` and every item's charge by `items`, else the
  invoice is blocked, naming the missing record; it lands on the run after they sync.
- Lines: see `flows/mapping/invoice_lines.py` (items, proration credits, discounts, tax).
  `itemList` is sent with `replaceAll`, NetSuite's rule for sublists on update: the submitted
  lines replace the old ones, so a rev rec date added later in Zuora rewrites the lines
  instead of appending a second copy of them.
- A negative invoice (amount < 0) becomes a NetSuite credit memo (NEGATIVE_INVOICE).
- A Canceled invoice that was synced is reversed by a credit memo created from the NetSuite
  invoice and applied to it in full (source id `<invoice id>:reversal`). Why not void or
  delete: SuiteTalk has no void operation, a delete destroys the audit trail, and a credit
  memo posts in the period of the cancellation (the invoice's period may be closed), which is
  how accountants reverse a customer invoice. A Canceled invoice never synced is skipped.
- Write-back: the Zuora invoice gets `IntegrationId__NS`, `IntegrationStatus__NS`, `SyncDate__NS`.
  `custbody_zsync_sync_date` is stamped by the NetSuite sink at write time: a timestamp in the
  payload would change its hash on every run.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, SliceBy, WriteBack
from zsync_assets.flows.mapping.accounts import account_left_out
from zsync_assets.flows.mapping.common import (
    account_names,
    header_blocked,
    header_blocked_by,
    lookup,
    record_name_expr,
    ref,
    resolve,
    table,
    with_columns_if_missing,
)
from zsync_assets.flows.mapping.custom_fields import DOCUMENT, LINES, ZUORA_WRITE_BACK
from zsync_assets.flows.mapping.invoice_lines import (
    ITEM_COLUMNS,
    TAX_COLUMNS,
    business_date,
    invoice_lines,
    linked_ids,
    netsuite_date,
)
from zsync_assets.flows.mapping.netsuite_fields import (
    ORIGIN_FIELD,
    ORIGIN_ZUORA,
    TRANSACTION_ZUORA_ID_FIELD,
    ZUORA_TYPE_FIELD,
)

REVERSAL_SUFFIX = ":reversal"

_INVOICE_COLUMNS = ["id", "account_id", "invoice_number", "invoice_date", "due_date", "status", "currency", "amount"]


def _body_fields(zuora_type: pl.Expr) -> pl.Expr:
    return pl.struct(
        pl.col("id").alias(TRANSACTION_ZUORA_ID_FIELD),
        zuora_type.alias(ZUORA_TYPE_FIELD),
        pl.lit(ORIGIN_ZUORA).alias(ORIGIN_FIELD),
    ).alias("customFieldList")


def _skip_reason(config: Config, linked: pl.Expr) -> pl.Expr:
    status, day = pl.col("status"), pl.col("day")
    reason = (
        pl.when(status == "Canceled")
        .then(
            pl.when(linked)
            .then(pl.format("invoice is Canceled: reversed by {}{}", pl.col("id"), pl.lit(REVERSAL_SUFFIX)))
            .otherwise(pl.lit("invoice is Canceled and was never synced: nothing to reverse"))
        )
        .when(status != "Posted")
        .then(pl.format("invoice is {}", status.fill_null("without a status")))
    )
    if config.cutover_date:
        reason = reason.when(day < config.cutover_date).then(
            pl.format(
                "invoice date {} is before the cutover date {}", day.cast(pl.Utf8), pl.lit(str(config.cutover_date))
            )
        )
    return reason.when(pl.col("item").is_null()).then(pl.lit("invoice has no items"))


def _customers(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """Zuora account id -> NetSuite customer id, whichever side is the customer master."""
    links = table(tables, "zsync.links")
    if links.is_empty():
        return {}
    links = links.filter(pl.col("flow") == "customers")
    from_zuora = links.filter(pl.col("source_system") == "zuora").select("source_id", "target_id")
    from_netsuite = links.filter(pl.col("source_system") == "netsuite").select(
        pl.col("target_id").alias("source_id"), pl.col("source_id").alias("target_id")
    )
    return dict(pl.concat([from_zuora, from_netsuite]).cast(pl.Utf8).iter_rows())


def _blocked_by() -> list[pl.Expr]:
    """`_blocked_by_flow` / `_blocked_by_id`: the account when the header blocks, else the charge
    of the first blocked line (same order as `header_blocked`)."""
    by_flow, by_id = header_blocked_by()
    header_ok = pl.col("customer_id").is_not_null() & pl.col("currency_id").is_not_null()
    line = pl.col("line_blocked_by")
    return [
        pl.when(header_ok)
        .then(pl.when(line.is_not_null()).then(pl.lit("items")))
        .otherwise(by_flow)
        .alias("_blocked_by_flow"),
        pl.when(header_ok).then(line).otherwise(by_id).alias("_blocked_by_id"),
    ]


def invoices_from_zuora(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    invoices = with_columns_if_missing(table(tables, "zuora.invoices"), _INVOICE_COLUMNS).select(
        *[pl.col(c).cast(pl.Utf8) for c in ["id", "account_id", "invoice_number", "status", "currency"]],
        business_date(pl.col("invoice_date")).alias("day"),
        business_date(pl.col("due_date")).alias("due"),
        pl.col("amount").cast(pl.Float64),
    )
    customers = _customers(tables)
    synced = linked_ids(tables, "invoices")
    currencies = lookup(table(tables, "netsuite.currencies"), ["symbol", "name"])
    signs = invoices.select(
        pl.col("id").alias("invoice_id"), pl.when(pl.col("amount") < 0).then(-1).otherwise(1).alias("sign")
    )
    frame = invoices.join(invoice_lines(tables, config, signs), left_on="id", right_on="invoice_id", how="left")
    frame = frame.with_columns(
        customer_id=pl.col("account_id").replace_strict(customers, default=None, return_dtype=pl.Utf8),
        currency_id=resolve(pl.col("currency"), currencies),
        synced_as=pl.col("id").replace_strict(synced, default=None, return_dtype=pl.Utf8),
        credit=(pl.col("amount") < 0).fill_null(False),
    )
    blocked = header_blocked(pl.col("line_blocked"), account_names(tables))
    header = [
        ref(pl.col("customer_id")).alias("entity"),
        ref(pl.col("currency_id")).alias("currency"),
    ]
    documents = frame.select(
        pl.col("id").alias("source_id"),
        *header,
        netsuite_date(pl.col("day")).alias("tranDate"),
        pl.col("invoice_number").alias("tranId"),
        pl.when(~pl.col("credit")).then(netsuite_date(pl.col("due"))).alias("dueDate"),
        pl.col("invoice_number").alias("memo"),
        pl.when(pl.col("item").is_not_null())
        .then(pl.struct("item", pl.lit(True).alias("replaceAll")))
        .alias("itemList"),
        _body_fields(pl.when(pl.col("credit")).then(pl.lit("NEGATIVE_INVOICE")).otherwise(pl.lit("INVOICE"))),
        pl.when(pl.col("credit")).then(pl.lit("creditMemo")).otherwise(pl.lit("invoice")).alias("_record_type"),
        pl.coalesce(
            _skip_reason(config, pl.col("synced_as").is_not_null()),
            account_left_out(tables, config, pl.col("account_id")),
        ).alias("_skip"),
        blocked.alias("_blocked"),
        *_blocked_by(),
        record_name_expr(pl.col("invoice_number"), pl.lit(None, pl.Utf8), pl.col("id")).alias("_label"),
    )
    return pl.concat([documents, _reversals(frame)], how="diagonal_relaxed")


def _reversals(frame: pl.DataFrame) -> pl.DataFrame:
    """A credit memo per Canceled invoice that reached NetSuite, created from it and applied to
    it in full (NetSuite's `createdFrom` + `applyList`), so its amount remaining goes to zero."""
    canceled = frame.filter((pl.col("status") == "Canceled") & pl.col("synced_as").is_not_null())
    return canceled.select(
        (pl.col("id") + REVERSAL_SUFFIX).alias("source_id"),
        ref(pl.col("customer_id")).alias("entity"),
        ref(pl.col("currency_id")).alias("currency"),
        ref(pl.col("synced_as")).alias("createdFrom"),
        pl.format("Reversal of canceled Zuora invoice {}", pl.col("invoice_number")).alias("memo"),
        pl.struct("item", pl.lit(True).alias("replaceAll")).alias("itemList"),
        pl.struct(
            pl.concat_list(
                pl.struct(
                    pl.col("synced_as").cast(pl.Int64).alias("doc"),
                    pl.lit(True).alias("apply"),
                    pl.col("total").alias("amount"),
                )
            ).alias("apply")
        ).alias("applyList"),
        _body_fields(pl.lit("INVOICE")),
        pl.lit("creditMemo").alias("_record_type"),
        pl.when(pl.col("credit"))
        .then(
            pl.format(
                "canceled negative invoice {} was synced as NetSuite credit memo {}: a credit memo cannot be "
                "applied to a credit memo, reverse it in NetSuite by hand",
                pl.col("invoice_number"),
                pl.col("synced_as"),
            )
        )
        .alias("_blocked"),
    )


INVOICES = Flow(
    name="invoices",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="invoice",  # per row from `_record_type`: creditMemo for negative / reversals
    also_writes=("creditMemo",),
    source_tables=("zuora.invoices", "zuora.invoice_items", "zuora.taxation_items"),
    # zuora.accounts: an account the customers flow never sends skips its invoices (with why),
    # and reasons name accounts by number and name
    reference_tables=("netsuite.currencies", "netsuite.tax_items", "zuora.accounts"),
    mapping=invoices_from_zuora,
    columns={
        "zuora.invoices": tuple(_INVOICE_COLUMNS),
        "zuora.invoice_items": tuple(ITEM_COLUMNS),
        "zuora.taxation_items": tuple(TAX_COLUMNS),
    },
    # An invoice's rows are its own and its lines' (reversals and discounts name their invoice's).
    slice_by={
        "zuora.invoices": SliceBy("id"),
        "zuora.invoice_items": SliceBy("invoice_id"),
        "zuora.taxation_items": SliceBy("invoice_item_id", parent="zuora.invoice_items"),
    },
    depends_on=("customers", "items"),
    write_back=WriteBack("Invoice"),
    custom_fields=CustomFields({"Invoice": ZUORA_WRITE_BACK}, (*DOCUMENT, *LINES)),
    description="Zuora posted invoices (items, tax) -> NetSuite invoices; negative ones and reversals -> credit memos",
)
