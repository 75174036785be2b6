"""refunds: Zuora Refund <-> NetSuite CustomerRefund, applied against the refunded payment.

Zuora -> NetSuite (`refunds`): Processed refunds dated on/after `cutover_date` become
customer refunds applied to the NetSuite payment (or credit memo) that the Zuora refund
application names. Zuora refunds only money that is not applied to invoices, and the payments
flow keeps that unapplied part unapplied in NetSuite, so the refund fits there too. A refund of
a payment (credit memo) zsync has not synced is blocked, naming it. Write-back to the Zuora
refund: `IntegrationId__NS`, `IntegrationStatus__NS`, `SyncDate__NS` (RefundObjectNSFields).

NetSuite -> Zuora (`netsuite_refunds`, with `payments_ns_to_zuora: true`): a customer refund
entered in NetSuite against ONE payment that exists in Zuora becomes
`POST /v1/payments/{paymentId}/refunds` (a Zuora refund belongs to one payment), with
`Origin__NS = NetSuite` and `IntegrationId__NS` = the NetSuite internal id. Write-back:
`custbody_zsync_zuora_id` on the NetSuite refund. Echo prevention as for payments.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.common import record_name_expr, ref
from zsync_assets.flows.mapping.custom_fields import DOCUMENT, FROM_NETSUITE, ZUORA_WRITE_BACK
from zsync_assets.flows.mapping.netsuite_fields import TRANSACTION_ZUORA_ID_FIELD
from zsync_assets.flows.mapping.settlement import (
    CAME_FROM_ZUORA,
    ORIGIN_FIELD,
    ORIGIN_NS_NETSUITE,
    before_cutover,
    body_fields,
    born_in_zuora,
    created_by,
    fixed_fields_changed,
    iso_currency_codes,
    netsuite_applications,
    netsuite_date,
    netsuite_documents,
    netsuite_reversal,
    netsuite_to_zuora,
)
from zsync_assets.flows.mapping.zuora_settlements import AppliedTo, ZuoraSettlement, zuora_settlements
from zsync_assets.flows.payments import TO_NETSUITE as PAYMENTS
from zsync_assets.flows.payments import TO_ZUORA as NETSUITE_PAYMENTS

TO_NETSUITE, TO_ZUORA = "refunds", "netsuite_refunds"
PAYMENT_FLOWS = (PAYMENTS, NETSUITE_PAYMENTS)
# The fields of a processed Zuora refund that cannot change.
ZUORA_FIXED_FIELDS = ("paymentId", "totalAmount", "refundDate")

ZUORA_REFUNDS = ZuoraSettlement(
    kind="refund",
    documents="zuora.refunds",
    number_column="refund_number",
    date_column="refund_date",
    applications="zuora.refund_applications",
    owner_column="refund_id",
    applied_to=(
        AppliedTo("payment_id", "payment", PAYMENT_FLOWS),
        AppliedTo("credit_memo_id", "credit memo", ("credit_memos",)),
    ),
    opposite_flow=TO_ZUORA,
)


def customer_refunds_from_zuora(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    frame = zuora_settlements(tables, config, ZUORA_REFUNDS).with_columns(
        _blocked=pl.coalesce(
            "_blocked",
            pl.when(pl.col("applyList").is_null()).then(
                pl.lit("no refund application names the refunded payment or credit memo")
            ),
        )
    )
    return frame.select(
        pl.col("id").alias("source_id"),
        ref(pl.col("customer_id")).alias("customer"),
        ref(pl.col("currency_id")).alias("currency"),
        netsuite_date(pl.col("day")).alias("tranDate"),
        pl.coalesce("comment", "number").alias("memo"),
        pl.col("number").alias("tranId"),
        pl.col("applyList"),
        body_fields(pl.col("id"), "REFUND"),
        "_skip",
        "_blocked",
        "_blocked_by_flow",
        "_blocked_by_id",
        record_name_expr(pl.col("number"), pl.lit(None, pl.Utf8), pl.col("id")).alias("_label"),
        "_reverse",
    )


_NS_REFUND_COLUMNS = [
    "internal_id",
    "external_id",
    "customer_internal_id",
    "currency_internal_id",
    "total",
    "tran_date",
    "tran_id",
    "memo",
    ORIGIN_FIELD,
]


def zuora_refunds_from_netsuite(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    refunds = netsuite_documents(tables, "netsuite.customer_refunds", _NS_REFUND_COLUMNS)
    payments = netsuite_to_zuora(tables, PAYMENT_FLOWS)
    per_refund = (
        netsuite_applications(tables, "netsuite.customer_refund_lines")
        .group_by("owner")
        .agg(
            pl.col("doc").sort().alias("docs"),
            pl.col("amount").sum().round(2).alias("applied"),
        )
        .with_columns(doc=pl.when(pl.col("docs").list.len() == 1).then(pl.col("docs").list.first()))
    )
    frame = refunds.join(per_refund, left_on="internal_id", right_on="owner", how="left").with_columns(
        payment_id=pl.col("doc").replace_strict(payments, default=None, return_dtype=pl.Utf8),
        currency=pl.col("currency_internal_id").replace_strict(
            iso_currency_codes(tables), default=None, return_dtype=pl.Utf8
        ),
    )
    echo = born_in_zuora(created_by(tables, [TO_NETSUITE]))
    skip = (
        pl.when(echo)
        .then(pl.lit(CAME_FROM_ZUORA))
        .otherwise(before_cutover(pl.col("day"), config.cutover_date, "refund"))
    )
    blocked = (
        pl.when(pl.col("docs").list.len().fill_null(0) != 1)
        .then(
            pl.format(
                "applied to {} documents ({}); a Zuora refund refunds exactly one payment",
                pl.col("docs").list.len().fill_null(0),
                pl.col("docs").list.join(", ").fill_null(""),
            )
        )
        .when(pl.col("payment_id").is_null())
        .then(
            pl.format(
                "refunds NetSuite document {}, which is not a payment synced with Zuora (flows {})",
                pl.col("doc"),
                pl.lit(" / ".join(PAYMENT_FLOWS)),
            )
        )
        .when(pl.col("currency").is_null())
        .then(pl.format("no ISO code for NetSuite currency {}", pl.col("currency_internal_id").fill_null("?")))
    )
    mapped = frame.select(
        pl.col("internal_id").alias("source_id"),
        pl.col("payment_id").alias("paymentId"),  # a path parameter: the sink puts it in the URL
        pl.coalesce("applied", "total").round(2).alias("totalAmount"),
        pl.col("day").cast(pl.Utf8).alias("refundDate"),
        pl.lit("External").alias("type"),
        pl.col("memo").alias("comment"),
        pl.lit(ORIGIN_NS_NETSUITE).alias("Origin__NS"),
        pl.col("internal_id").alias("IntegrationId__NS"),
        skip.alias("_skip"),
        blocked.alias("_blocked"),
        netsuite_reversal("customer refund", echo).alias("_reverse"),
    )
    fixed = fixed_fields_changed(tables, TO_ZUORA, mapped, ZUORA_FIXED_FIELDS)
    return mapped.with_columns(_blocked=pl.coalesce(fixed, pl.col("_blocked")))


REFUNDS_TO_NETSUITE = Flow(
    name=TO_NETSUITE,
    source_system="zuora",
    target_system="netsuite",
    target_record_type="customerRefund",
    source_tables=("zuora.refunds", "zuora.refund_applications"),
    reference_tables=("netsuite.currencies", "zuora.accounts"),  # accounts: skip reasons, names
    mapping=customer_refunds_from_zuora,
    depends_on=(PAYMENTS,),
    waits_for=("zuora/deletions",),
    write_back=WriteBack("Refund"),
    custom_fields=CustomFields({"Refund": (*ZUORA_WRITE_BACK, "Origin__NS")}, DOCUMENT),
    description="Zuora processed refunds -> NetSuite customer refunds applied to the linked payment",
)

REFUNDS_TO_ZUORA = Flow(
    name=TO_ZUORA,
    source_system="netsuite",
    target_system="zuora",
    target_record_type="Refund",
    source_tables=("netsuite.customer_refunds", "netsuite.customer_refund_lines"),
    reference_tables=("netsuite.currencies",),
    mapping=zuora_refunds_from_netsuite,
    depends_on=(PAYMENTS, NETSUITE_PAYMENTS, TO_NETSUITE),
    waits_for=("netsuite/deletions",),
    write_back=WriteBack("customerRefund", field=TRANSACTION_ZUORA_ID_FIELD),
    custom_fields=CustomFields({"Refund": ("IntegrationId__NS", "Origin__NS")}, FROM_NETSUITE),
    enabled=lambda config: config.payments_ns_to_zuora,
    description="NetSuite customer refunds of payments in Zuora -> Zuora refunds (payments_ns_to_zuora)",
)
