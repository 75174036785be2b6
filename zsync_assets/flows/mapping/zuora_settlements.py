"""What the Zuora -> NetSuite payment and refund flows share: a Zuora document and its
applications, as staged, made into a NetSuite document's header and `applyList`, with the skip,
block and reversal reasons each of them gives (settlement.py holds the markers and helpers both
directions use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from zsync_assets.config import Config
from zsync_assets.flows.mapping.accounts import account_left_out
from zsync_assets.flows.mapping.common import (
    account_names,
    header_blocked,
    header_blocked_by,
    resolve,
    table,
    with_columns_if_missing,
)
from zsync_assets.flows.mapping.settlement import (
    CAME_FROM_NETSUITE,
    DELETED,
    apply_lists,
    before_cutover,
    born_in_netsuite,
    business_date,
    created_by,
    netsuite_currency_ids,
    zuora_to_netsuite,
)


@dataclass(frozen=True)
class AppliedTo:
    """A kind of document a Zuora application can name, and the flows that link it to NetSuite."""

    column: str  # application column holding the Zuora id, e.g. "invoice_id"
    label: str  # "invoice"
    flows: tuple[str, ...]  # ("invoices",)


@dataclass(frozen=True)
class ZuoraSettlement:
    """A Zuora payment-like document (payment, refund) and its applications, as staged."""

    kind: str  # "payment" | "refund": used in reasons
    documents: str  # "zuora.payments"
    number_column: str  # "payment_number"
    date_column: str  # "effective_date"
    applications: str  # "zuora.payment_applications"
    owner_column: str  # "payment_id"
    applied_to: tuple[AppliedTo, ...]
    opposite_flow: str  # the NetSuite -> Zuora flow whose creations must not come back


def zuora_settlements(tables: Mapping[str, pl.DataFrame], config: Config, spec: ZuoraSettlement) -> pl.DataFrame:
    """Per Zuora document: id, number, comment, amount, day, the NetSuite `customer_id`,
    `currency_id` and `applyList` (each application's document resolved through the links),
    and `_skip` / `_blocked` with the reasons every Zuora -> NetSuite settlement flow shares."""
    columns = [
        "id",
        "account_id",
        spec.number_column,
        "amount",
        "currency",
        spec.date_column,
        "status",
        "comment",
        "origin__ns",
        DELETED,
    ]
    documents = with_columns_if_missing(table(tables, spec.documents), columns).select(
        *[pl.col(c).cast(pl.Utf8) for c in ["id", "account_id", "currency", "status", "comment", "origin__ns"]],
        pl.col(spec.number_column).cast(pl.Utf8).alias("number"),
        pl.col("amount").cast(pl.Float64),
        business_date(pl.col(spec.date_column)).alias("day"),
        pl.col(DELETED).is_not_null().alias("deleted"),
    )
    targets = [t.column for t in spec.applied_to]
    applications = (
        with_columns_if_missing(table(tables, spec.applications), [spec.owner_column, "apply_amount", *targets])
        .select(
            pl.col(spec.owner_column).cast(pl.Utf8).alias("owner"),
            *[pl.col(c).cast(pl.Utf8) for c in targets],
            pl.col("apply_amount").cast(pl.Float64).alias("amount"),
        )
        .filter(pl.col("amount") > 0)
        .with_columns(
            doc=pl.coalesce(
                [
                    pl.col(t.column).replace_strict(
                        zuora_to_netsuite(tables, t.flows), default=None, return_dtype=pl.Utf8
                    )
                    for t in spec.applied_to
                ]
            )
        )
    )
    unlinked, unlinked_flow, unlinked_id = pl.lit(None, pl.Utf8), pl.lit(None, pl.Utf8), pl.lit(None, pl.Utf8)
    for t in reversed(spec.applied_to):
        present = pl.col(t.column).is_not_null()
        unlinked = (
            pl.when(present)
            .then(pl.format(f"{t.label} {{}} is not synced (flow {t.flows[0]})", pl.col(t.column)))
            .otherwise(unlinked)
        )
        unlinked_flow = pl.when(present).then(pl.lit(t.flows[0])).otherwise(unlinked_flow)
        unlinked_id = pl.when(present).then(pl.col(t.column)).otherwise(unlinked_id)
    frame = documents.join(
        apply_lists(applications, "owner", unlinked, unlinked_flow, unlinked_id),
        left_on="id",
        right_on="owner",
        how="left",
    ).with_columns(
        customer_id=pl.col("account_id").replace_strict(
            zuora_to_netsuite(tables, ["customers"]), default=None, return_dtype=pl.Utf8
        ),
        currency_id=resolve(pl.col("currency"), netsuite_currency_ids(tables)),
    )
    echo = born_in_netsuite(created_by(tables, [spec.opposite_flow]))
    skip = (
        pl.when(echo)
        .then(pl.lit(CAME_FROM_NETSUITE))
        .when(pl.col("status") != "Processed")
        .then(pl.format(f"{spec.kind} is {{}}", pl.col("status")))
        .otherwise(
            pl.coalesce(
                before_cutover(pl.col("day"), config.cutover_date, spec.kind),
                account_left_out(tables, config, pl.col("account_id")),
            )
        )
    )
    blocked = header_blocked(pl.col("apply_blocked"), account_names(tables))
    by_flow, by_id = header_blocked_by()
    header_ok = pl.col("customer_id").is_not_null() & pl.col("currency_id").is_not_null()
    return frame.with_columns(
        pl.when(header_ok).then(pl.col("apply_blocked_by_flow")).otherwise(by_flow).alias("_blocked_by_flow"),
        pl.when(header_ok).then(pl.col("apply_blocked_by_id")).otherwise(by_id).alias("_blocked_by_id"),
        _skip=skip,
        _blocked=blocked,
        _reverse=zuora_reversal(spec.kind, echo),
    )


def zuora_reversal(kind: str, echo: pl.Expr) -> pl.Expr:
    """Why a Zuora document's NetSuite counterpart must be reversed: it was deleted in Zuora
    (`zuora/deletions` marked its staged row), or canceled; never one that came from NetSuite
    (the opposite flow owns it). Over `status` and `deleted`."""
    return (
        pl.when(echo)
        .then(None)
        .when(pl.col("deleted"))
        .then(pl.lit(f"{kind} was deleted in Zuora"))
        .when(pl.col("status") == "Canceled")
        .then(pl.lit(f"{kind} was canceled in Zuora"))
    )
