"""payments: Zuora Payment <-> NetSuite CustomerPayment, applied to the linked invoices.

Zuora -> NetSuite (`payments`, always on): Processed payments dated on/after `cutover_date`
become customer payments of the linked customer, for the full payment amount, applied to each
linked invoice (debit memo) as Zuora applied them; what Zuora left unapplied stays unapplied in
NetSuite too, so a later refund of it can be applied against the NetSuite payment. An
application to an invoice zsync has not synced blocks the payment, naming the invoice: paying
only part of it would leave both systems' balances different. Write-back: `IntegrationId__NS`,
`IntegrationStatus__NS`, `SyncDate__NS` on the Zuora payment (Zuora's PaymentObjectNSFields).

NetSuite -> Zuora (`netsuite_payments`, only with `payments_ns_to_zuora: true`): customer
payments entered in NetSuite and applied to invoices that came from Zuora become Zuora
payments (`POST /v1/payments` with `invoices: [{invoiceId, amount}]`; targets/zuora.py turns
that into an action call in a tenant without Invoice Settlement, which then needs the config's
`zuora_payment_method_id`: until it is set each payment is blocked, naming it), carrying
`Origin__NS = NetSuite`, `IntegrationId__NS` = the NetSuite internal id (crash lookup) and
`Transaction__NS` = the NetSuite tranId (Zuora's connector mapping). A processed Zuora payment
cannot change its amount or applications: a NetSuite payment changed that way after it reached
Zuora is blocked with the reason; only its `__NS` fields are updated. Write-back:
`custbody_zsync_zuora_id` on the NetSuite payment.

Echo prevention: neither direction ever takes a document the other one created (see
`flows/mapping/settlement.py` for the three markers).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, WriteBack
from zsync_assets.flows.mapping.common import record_name_expr, ref, table, with_columns_if_missing
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
    live_refunds,
    netsuite_applications,
    netsuite_date,
    netsuite_documents,
    netsuite_reversal,
    netsuite_to_zuora,
)
from zsync_assets.flows.mapping.zuora_settlements import AppliedTo, ZuoraSettlement, zuora_settlements

TO_NETSUITE, TO_ZUORA = "payments", "netsuite_payments"
# The refund flows (flows/refunds.py imports this module, so their names are repeated here).
REFUNDS_TO_NETSUITE_FLOW, REFUNDS_TO_ZUORA_FLOW = "refunds", "netsuite_refunds"
# A tenant without Invoice Settlement takes a payment only with a payment method (config.py).
NO_PAYMENT_METHOD = (
    "Zuora without Invoice Settlement needs a payment method for a payment: set "
    "`zuora_payment_method_id` in zsync.yaml to one of the tenant's external payment methods"
)
# The fields of a processed Zuora payment that cannot change.
ZUORA_FIXED_FIELDS = ("accountId", "amount", "currency", "effectiveDate", "invoices")

ZUORA_PAYMENTS = ZuoraSettlement(
    kind="payment",
    documents="zuora.payments",
    number_column="payment_number",
    date_column="effective_date",
    applications="zuora.payment_applications",
    owner_column="payment_id",
    applied_to=(
        AppliedTo("invoice_id", "invoice", ("invoices",)),
        AppliedTo("debit_memo_id", "debit memo", ("debit_memos",)),
    ),
    opposite_flow=TO_ZUORA,
)


def customer_payments_from_zuora(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    frame = zuora_settlements(tables, config, ZUORA_PAYMENTS)
    refunds = live_refunds(
        tables,
        [REFUNDS_TO_NETSUITE_FLOW],
        "payment_id",
        with_columns_if_missing(table(tables, "zuora.refund_applications"), ["payment_id", "refund_id"]).rename(
            {"refund_id": "refund"}
        ),
    )
    return frame.with_columns(_reverse_blocked=_refunds_first(refunds, REFUNDS_TO_NETSUITE_FLOW)).select(
        pl.col("id").alias("source_id"),
        ref(pl.col("customer_id")).alias("customer"),
        ref(pl.col("currency_id")).alias("currency"),
        pl.col("amount").round(2).alias("payment"),
        netsuite_date(pl.col("day")).alias("tranDate"),
        pl.col("number").alias("tranId"),
        pl.coalesce("comment", "number").alias("memo"),
        pl.col("applyList"),
        body_fields(pl.col("id"), "PAYMENT"),
        "_skip",
        "_blocked",
        "_blocked_by_flow",
        "_blocked_by_id",
        record_name_expr(pl.col("number"), pl.lit(None, pl.Utf8), pl.col("id")).alias("_label"),
        "_reverse",
        "_reverse_blocked",
    )


def _refunds_first(refunds: dict[str, list[str]], flow: str) -> pl.Expr:
    """A payment's reversal waits for the reversal of its refunds: neither NetSuite (dependent
    records) nor Zuora (a payment with refunds) lets the payment go first. Over `id`."""
    waiting = {
        doc: f"its refund(s) {', '.join(sorted(ids))} still stand in the target: they are reversed "
        f"first (flow {flow}), then this payment"
        for doc, ids in refunds.items()
    }
    return pl.col("id").replace_strict(waiting, default=None, return_dtype=pl.Utf8)


_NS_PAYMENT_COLUMNS = [
    "internal_id",
    "external_id",
    "customer_internal_id",
    "currency_internal_id",
    "payment",
    "tran_date",
    "tran_id",
    "memo",
    ORIGIN_FIELD,
]


def zuora_payments_from_netsuite(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    payments = netsuite_documents(tables, "netsuite.customer_payments", _NS_PAYMENT_COLUMNS)
    refunds = live_refunds(
        tables,
        [REFUNDS_TO_ZUORA_FLOW],
        "doc",
        netsuite_applications(tables, "netsuite.customer_refund_lines").rename({"owner": "refund"}),
    )
    invoices = netsuite_to_zuora(tables, ["invoices"])
    lines = netsuite_applications(tables, "netsuite.customer_payment_lines").with_columns(
        zuora_invoice=pl.col("doc").replace_strict(invoices, default=None, return_dtype=pl.Utf8)
    )
    per_payment = (
        lines.sort("owner", "zuora_invoice")
        .group_by("owner", maintain_order=True)
        .agg(
            pl.struct(pl.col("zuora_invoice").alias("invoiceId"), pl.col("amount").round(2))
            .filter(pl.col("zuora_invoice").is_not_null())
            .alias("invoices"),
            pl.format("{} ({})", pl.col("doc"), pl.col("ref_num").fill_null("?"))
            .filter(pl.col("zuora_invoice").is_null())
            .alias("not_from_zuora"),
        )
    )
    frame = payments.join(per_payment, left_on="internal_id", right_on="owner", how="left").with_columns(
        account_id=pl.col("customer_internal_id").replace_strict(
            netsuite_to_zuora(tables, ["customers"]), default=None, return_dtype=pl.Utf8
        ),
        currency=pl.col("currency_internal_id").replace_strict(
            iso_currency_codes(tables), default=None, return_dtype=pl.Utf8
        ),
        linked_invoices=pl.col("invoices").list.len().fill_null(0),
        other_docs=pl.col("not_from_zuora").list.len().fill_null(0),
    )
    echo = born_in_zuora(created_by(tables, [TO_NETSUITE]))
    skip = (
        pl.when(echo)
        .then(pl.lit(CAME_FROM_ZUORA))
        .when(pl.col("linked_invoices") == 0)
        .then(pl.lit("applied to no invoice that came from Zuora: stays in NetSuite"))
        .otherwise(before_cutover(pl.col("day"), config.cutover_date, "payment"))
    )
    blocked = (
        pl.when(pl.col("other_docs") > 0)
        .then(
            pl.format(
                "also applied to NetSuite invoice(s) {} that are not in Zuora", pl.col("not_from_zuora").list.join(", ")
            )
        )
        .when(pl.col("account_id").is_null())
        .then(
            pl.format("customer {} is not synced yet (flow customers)", pl.col("customer_internal_id").fill_null("?"))
        )
        .when(pl.col("currency").is_null())
        .then(pl.format("no ISO code for NetSuite currency {}", pl.col("currency_internal_id").fill_null("?")))
        .when(pl.lit(not config.invoice_settlement and config.zuora_payment_method_id is None))
        .then(pl.lit(NO_PAYMENT_METHOD))
    )
    method = config.zuora_payment_method_id
    mapped = frame.select(
        pl.col("internal_id").alias("source_id"),
        pl.col("account_id").alias("accountId"),
        pl.col("payment").round(2).alias("amount"),
        pl.col("currency"),
        pl.col("day").cast(pl.Utf8).alias("effectiveDate"),
        pl.lit("External").alias("type"),
        *([pl.lit(method).alias("paymentMethodId")] if method else []),
        pl.when(pl.col("linked_invoices") > 0).then(pl.col("invoices")).alias("invoices"),
        pl.col("memo").alias("comment"),
        pl.col("tran_id").alias("Transaction__NS"),
        pl.lit(ORIGIN_NS_NETSUITE).alias("Origin__NS"),
        pl.col("internal_id").alias("IntegrationId__NS"),
        skip.alias("_skip"),
        blocked.alias("_blocked"),
        netsuite_reversal("customer payment", echo).alias("_reverse"),
        pl.col("internal_id")
        .replace_strict(
            {
                doc: f"its refund(s) {', '.join(sorted(ids))} still stand in Zuora: they are canceled first "
                f"(flow {REFUNDS_TO_ZUORA_FLOW}), then this payment"
                for doc, ids in refunds.items()
            },
            default=None,
            return_dtype=pl.Utf8,
        )
        .alias("_reverse_blocked"),
    )
    fixed = fixed_fields_changed(tables, TO_ZUORA, mapped, ZUORA_FIXED_FIELDS)
    return mapped.with_columns(_blocked=pl.coalesce(fixed, pl.col("_blocked")))


PAYMENTS_TO_NETSUITE = Flow(
    name=TO_NETSUITE,
    source_system="zuora",
    target_system="netsuite",
    target_record_type="customerPayment",
    source_tables=("zuora.payments", "zuora.payment_applications"),
    reference_tables=(
        "netsuite.currencies",
        "zuora.accounts",
        "zuora.refund_applications",
    ),  # accounts: skip reasons, names
    mapping=customer_payments_from_zuora,
    depends_on=("customers", "invoices"),
    waits_for=("zuora/deletions",),
    write_back=WriteBack("Payment"),
    custom_fields=CustomFields({"Payment": (*ZUORA_WRITE_BACK, "Origin__NS")}, DOCUMENT),
    description="Zuora processed payments -> NetSuite customer payments applied to the linked invoices",
)

PAYMENTS_TO_ZUORA = Flow(
    name=TO_ZUORA,
    source_system="netsuite",
    target_system="zuora",
    target_record_type="Payment",
    source_tables=("netsuite.customer_payments", "netsuite.customer_payment_lines"),
    # customer_refund_lines is staged by the netsuite/customer_refunds asset (defs/netsuite/assets.py):
    # naming that table too makes this plan wait for it (a line table is no asset of its own).
    reference_tables=("netsuite.currencies", "netsuite.customer_refunds", "netsuite.customer_refund_lines"),
    mapping=zuora_payments_from_netsuite,
    depends_on=("customers", "invoices", TO_NETSUITE),  # see TO_NETSUITE's links first: no echo
    waits_for=("netsuite/deletions",),
    write_back=WriteBack("customerPayment", field=TRANSACTION_ZUORA_ID_FIELD),
    custom_fields=CustomFields({"Payment": ("IntegrationId__NS", "Origin__NS", "Transaction__NS")}, FROM_NETSUITE),
    enabled=lambda config: config.payments_ns_to_zuora,
    description="NetSuite customer payments on invoices from Zuora -> Zuora payments (payments_ns_to_zuora)",
)
