"""What the payment and refund flows share: counterpart ids across flows, echo markers, dates.

Echo prevention: a record zsync created on one side must never come back as a
new source record of the opposite flow. Three markers say "zsync made this", any one is enough:
`zsync.links` (the record is the target of a link), the vendor origin field (Zuora
`Origin__NS`, NetSuite `custbody_zsync_origin`) and, in NetSuite, the `zsync:` externalId.

zuora_settlements.py builds on these the Zuora -> NetSuite half every settlement flow shares.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import polars as pl

from zsync_assets.engine.flow import EXTERNAL_ID_PREFIX
from zsync_assets.flows.mapping.common import (
    lookup,
    table,
    with_columns_if_missing,
)
from zsync_assets.flows.mapping.netsuite_fields import (
    ORIGIN_FIELD,
    ORIGIN_ZUORA,
    TRANSACTION_ZUORA_ID_FIELD,
    ZUORA_TYPE_FIELD,
)

ORIGIN_NS_NETSUITE = "NetSuite"  # Zuora Origin__NS of documents born in NetSuite
CAME_FROM_NETSUITE = "came from NetSuite: not sent back"
CAME_FROM_ZUORA = "created by zsync from Zuora: not sent back"
DELETED = "_deleted_at"  # set on staged rows of records deleted at the source (lib/deletions.py)


def links_of(tables: Mapping[str, pl.DataFrame], flows: Iterable[str]) -> pl.DataFrame:
    links = table(tables, "zsync.links")
    if links.is_empty():
        return pl.DataFrame(schema={"source_system": pl.Utf8, "source_id": pl.Utf8, "target_id": pl.Utf8})
    return links.filter(pl.col("flow").is_in(list(flows))).select(
        pl.col("source_system").cast(pl.Utf8), pl.col("source_id").cast(pl.Utf8), pl.col("target_id").cast(pl.Utf8)
    )


def zuora_to_netsuite(tables: Mapping[str, pl.DataFrame], flows: Iterable[str]) -> dict[str, str]:
    """Zuora id -> NetSuite internal id of every record these flows linked, whichever way each ran
    (a payment born in NetSuite is linked by `netsuite_payments`, one born in Zuora by `payments`)."""
    from_zuora = pl.col("source_system") == "zuora"
    return dict(
        links_of(tables, flows)
        .select(
            pl.when(from_zuora).then("source_id").otherwise("target_id"),
            pl.when(from_zuora).then("target_id").otherwise("source_id"),
        )
        .iter_rows()
    )


def netsuite_to_zuora(tables: Mapping[str, pl.DataFrame], flows: Iterable[str]) -> dict[str, str]:
    return {ns: z for z, ns in zuora_to_netsuite(tables, flows).items()}


def created_by(tables: Mapping[str, pl.DataFrame], flows: Iterable[str]) -> list[str]:
    """Ids of the records these flows created on their target side."""
    return links_of(tables, flows)["target_id"].to_list()


def netsuite_currency_ids(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """ISO code (or name), lower case -> NetSuite currency internal id."""
    return lookup(table(tables, "netsuite.currencies"), ["symbol", "name"])


def iso_currency_codes(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """NetSuite currency internal id -> ISO code (the currency record's `symbol`)."""
    return {v: k.upper() for k, v in lookup(table(tables, "netsuite.currencies"), ["symbol"]).items()}


def born_in_zuora(created: list[str]) -> pl.Expr:
    """A staged NetSuite transaction zsync created from a Zuora document (echo prevention)."""
    return (
        pl.col("external_id").str.starts_with(EXTERNAL_ID_PREFIX).fill_null(False)
        | (pl.col(ORIGIN_FIELD).str.to_uppercase() == ORIGIN_ZUORA).fill_null(False)
        | pl.col("internal_id").is_in(pl.Series(created, dtype=pl.Utf8).implode())
    )


def born_in_netsuite(created: list[str]) -> pl.Expr:
    """A staged Zuora document zsync created from a NetSuite transaction (echo prevention)."""
    return (pl.col("origin__ns").str.to_lowercase() == ORIGIN_NS_NETSUITE.lower()).fill_null(False) | pl.col(
        "id"
    ).is_in(pl.Series(created, dtype=pl.Utf8).implode())


def business_date(expr: pl.Expr) -> pl.Expr:
    """A business date (date, ISO text or timestamp) as a polars Date, no time zone applied."""
    return expr.cast(pl.Utf8).str.slice(0, 10).str.to_date(strict=False)


def netsuite_date(day: pl.Expr) -> pl.Expr:
    """NetSuite's dateTime at midnight without an offset: Zuora's 2024-03-01 stays 2024-03-01."""
    return pl.when(day.is_not_null()).then(day.cast(pl.Utf8) + "T00:00:00")


def before_cutover(day: pl.Expr, cutover, what: str) -> pl.Expr:  # noqa: ANN001  (date | None)
    """A skip reason for documents dated before the configured cutover date, else null."""
    if cutover is None:
        return pl.lit(None, pl.Utf8)
    return pl.when(day < cutover).then(
        pl.format(f"{what} date {{}} is before the cutover date {cutover}", day.cast(pl.Utf8))
    )


def body_fields(zuora_id: pl.Expr, zuora_type: str) -> pl.Expr:
    """NetSuite body custom fields of a document born in Zuora (flows/mapping/netsuite_fields.py)."""
    return pl.struct(
        zuora_id.alias(TRANSACTION_ZUORA_ID_FIELD),
        pl.lit(zuora_type).alias(ZUORA_TYPE_FIELD),
        pl.lit(ORIGIN_ZUORA).alias(ORIGIN_FIELD),
    ).alias("customFieldList")


def apply_lists(
    applications: pl.DataFrame,
    owner: str,
    missing_reason: pl.Expr,
    missing_flow: pl.Expr | None = None,
    missing_id: pl.Expr | None = None,
) -> pl.DataFrame:
    """Per owner document: NetSuite `applyList` lines and the reason it cannot be written yet.

    `applications` has the owner id column, `doc` (NetSuite internal id of the document applied
    to, null when unlinked) and `amount`; `missing_reason` names an unlinked document, and
    `missing_flow` / `missing_id` the flow and source id of the first one (`apply_blocked_by_*`)."""
    missing_flow = pl.lit(None, pl.Utf8) if missing_flow is None else missing_flow
    missing_id = pl.lit(None, pl.Utf8) if missing_id is None else missing_id
    return (
        applications.sort(owner, "doc")
        .group_by(owner, maintain_order=True)
        .agg(
            pl.struct(pl.col("doc").cast(pl.Int64), pl.lit(True).alias("apply"), pl.col("amount").round(2))
            .filter(pl.col("doc").is_not_null())
            .alias("apply"),
            pl.when(pl.col("doc").is_null()).then(missing_reason).drop_nulls().alias("missing"),
            pl.when(pl.col("doc").is_null()).then(missing_flow).drop_nulls().first().alias("apply_blocked_by_flow"),
            pl.when(pl.col("doc").is_null()).then(missing_id).drop_nulls().first().alias("apply_blocked_by_id"),
            pl.col("amount").sum().round(2).alias("applied"),
        )
        .with_columns(
            apply_blocked=pl.when(pl.col("missing").list.len() > 0).then(pl.col("missing").list.join("; ")),
            applyList=pl.when(pl.col("apply").list.len() > 0).then(pl.struct("apply")),
        )
        .drop("missing", "apply")
    )


_NS_LINE_COLUMNS = ["transaction_internal_id", "apply", "doc", "amount", "ref_num"]


def netsuite_applications(tables: Mapping[str, pl.DataFrame], lines_table: str) -> pl.DataFrame:
    """Applied apply-list lines of staged NetSuite transactions: owner, doc (text), ref_num, amount."""
    lines = with_columns_if_missing(table(tables, lines_table), _NS_LINE_COLUMNS)
    return (
        lines.select(
            pl.col("transaction_internal_id").cast(pl.Utf8).alias("owner"),
            pl.col("doc").cast(pl.Utf8),
            pl.col("ref_num").cast(pl.Utf8),
            pl.col("amount").cast(pl.Float64),
            pl.col("apply").cast(pl.Utf8).str.to_lowercase().is_in(["true", "t", "1"]).alias("applied"),
        )
        .filter(pl.col("applied") & (pl.col("amount") > 0))
        .drop("applied")
    )


def netsuite_documents(tables: Mapping[str, pl.DataFrame], name: str, columns: list[str]) -> pl.DataFrame:
    """Staged NetSuite transaction headers: text columns, amounts as floats, `day` = tranDate,
    `deleted` (getDeleted reported it: `netsuite/deletions` set `_deleted_at`)."""
    frame = with_columns_if_missing(table(tables, name), [*columns, DELETED])
    text = [c for c in columns if c not in ("payment", "total", "tran_date", DELETED)]
    return frame.select(
        *[pl.col(c).cast(pl.Utf8) for c in text],
        *[pl.col(c).cast(pl.Float64) for c in ("payment", "total") if c in columns],
        business_date(pl.col("tran_date")).alias("day"),
        pl.col(DELETED).is_not_null().alias("deleted"),
    )


def fixed_fields_changed(
    tables: Mapping[str, pl.DataFrame], flow: str, mapped: pl.DataFrame, fields: tuple[str, ...]
) -> pl.Series:
    """Per mapped row: which of `fields` (fixed once the Zuora document exists) differ from
    what was sent, as a blocking reason; null when none did or the record was never sent."""
    links = table(tables, "zsync.links")
    sent: dict[str, dict] = {}
    if not links.is_empty() and "payload" in links.columns:
        for sid, body in links.filter(pl.col("flow") == flow).select("source_id", "payload").iter_rows():
            sent[str(sid)] = json.loads(body) if body else {}
    reasons = []
    for payload in mapped.select("source_id", *fields).to_dicts():
        old = sent.get(payload["source_id"])
        changed = [f for f in fields if old is not None and old.get(f) != payload.get(f)]
        reasons.append(
            f"{', '.join(changed)} changed in NetSuite after the document reached Zuora, where it cannot change: "
            "reverse it in Zuora by hand"
            if changed
            else None
        )
    return pl.Series(reasons, dtype=pl.Utf8)


def netsuite_reversal(kind: str, echo: pl.Expr) -> pl.Expr:
    """Why a NetSuite transaction's Zuora counterpart must be canceled: it was deleted in NetSuite
    (`netsuite/deletions`, getDeleted), never one zsync created there. Over `deleted`."""
    return pl.when(~echo & pl.col("deleted")).then(pl.lit(f"{kind} was deleted in NetSuite"))


def live_refunds(
    tables: Mapping[str, pl.DataFrame], flows: Iterable[str], owner: str, applications: pl.DataFrame
) -> dict[str, list[str]]:
    """Document id -> the refunds of it whose counterpart (links of `flows`) still stands.

    A refund is applied against its payment (credit memo) in both systems, so neither system lets
    that document go first: NetSuite refuses to delete a record with dependent records, Zuora
    to cancel a payment with refunds. `applications` has `owner` (the document) and `refund`."""
    links = table(tables, "zsync.links")
    if links.is_empty() or applications.is_empty():
        return {}
    live = links.filter(pl.col("flow").is_in(list(flows)))
    if "reversed_at" in live.columns:
        live = live.filter(pl.col("reversed_at").is_null())
    standing = set(live["source_id"].cast(pl.Utf8).to_list())
    out: dict[str, list[str]] = {}
    for doc, refund in applications.select(pl.col(owner).cast(pl.Utf8), pl.col("refund").cast(pl.Utf8)).iter_rows():
        if doc and refund in standing:
            out.setdefault(doc, []).append(refund)
    return out
