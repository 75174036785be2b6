"""customers: Zuora Account (+ bill-to / sold-to contacts) -> NetSuite Customer.

Direction from `customer_master`; only the configured one exists in the asset graph (NetSuite ->
Zuora: customers_to_zuora.py).

Zuora -> NetSuite (default): only Active accounts whose `SynctoNetSuite__NS` is not "No";
a Canceled account that was synced becomes `isInactive`; nothing is ever deleted; null values
are omitted from the payload (engine rule), so a value set in NetSuite is never blanked.
Per-account overrides: `Subsidiary__NS` (NetSuite internal id or name) and
`CustomerType__NS` ("Individual" -> isPerson). SuiteTalk 2023_2's Customer has no class /
department / location fields, so `Class__NS` / `Department__NS` / `Location__NS` are left for
the transaction flows, where NetSuite has them.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import CustomFields, Flow, SliceBy, WriteBack
from zsync_assets.flows.mapping.accounts import left_out_reason
from zsync_assets.flows.mapping.common import (
    lookup,
    netsuite_country,
    record_name_expr,
    ref,
    resolve,
    table,
    with_columns_if_missing,
)
from zsync_assets.flows.mapping.custom_fields import ZUORA_WRITE_BACK
from zsync_assets.flows.mapping.netsuite_fields import CUSTOMER_ZUORA_ID_FIELD

# NetSuite's Customer companyName holds 83 characters (targets/field_rules.py); a longer Zuora
# account name is cut at a word boundary, marked with an ellipsis, and kept whole in `comments`,
# rather than blocking the customer (and every invoice and payment of it) on its legal name.
COMPANY_NAME_MAX = 83

_ACCOUNT_COLUMNS = [
    "id",
    "account_number",
    "name",
    "currency",
    "status",
    "parent_id",
    "bill_to_id",
    "sold_to_id",
    "payment_term",
    "integration_id__ns",
    "syncto_net_suite__ns",
    "subsidiary__ns",
    "customer_type__ns",
]
_CONTACT_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "work_email",
    "work_phone",
    "address1",
    "address2",
    "city",
    "state",
    "postal_code",
    "country",
]


def _address(prefix: str) -> pl.Expr:
    c = lambda name: pl.col(f"{prefix}{name}")  # noqa: E731
    return pl.when(c("id").is_not_null()).then(
        pl.struct(
            netsuite_country(c("country")).alias("country"),
            pl.concat_str([c("first_name"), c("last_name")], separator=" ", ignore_nulls=True).alias("addressee"),
            c("work_phone").alias("addrPhone"),
            c("address1").alias("addr1"),
            c("address2").alias("addr2"),
            c("city").alias("city"),
            c("state").alias("state"),
            c("postal_code").alias("zip"),
        )
    )


def _bounded_company_name(name: pl.Expr) -> pl.Expr:
    cut = name.str.slice(0, COMPANY_NAME_MAX - 1).str.replace(r"\s+\S*$", "").str.strip_chars(" ,.;:-")
    return pl.when(name.str.len_chars() > COMPANY_NAME_MAX).then(cut + pl.lit("…")).otherwise(name)


def _unknown_country(prefix: str) -> pl.Expr:
    country = pl.col(f"{prefix}country")
    return country.str.strip_chars().ne("") & netsuite_country(country).is_null()


def _unknown_country_reason(prefix: str, role: str) -> pl.Expr:
    return pl.format(
        "{} contact {}: country '{}' is not a value of NetSuite's Country list "
        "(addressbookAddress.country); correct it in Zuora",
        pl.lit(role),
        pl.col(f"{prefix}id"),
        pl.col(f"{prefix}country"),
    )


def _addressbook() -> pl.Expr:
    same = pl.col("bill_to_id") == pl.col("sold_to_id")
    billing = pl.when(pl.col("bill_id").is_not_null()).then(
        pl.struct(
            pl.lit(True).alias("defaultBilling"),
            pl.when(same.fill_null(False)).then(pl.lit(True)).alias("defaultShipping"),
            pl.lit("Bill To").alias("label"),
            _address("bill_").alias("addressbookAddress"),
        )
    )
    shipping = pl.when(pl.col("sold_id").is_not_null() & ~same.fill_null(False)).then(
        pl.struct(
            pl.lit(None, pl.Boolean).alias("defaultBilling"),
            pl.lit(True).alias("defaultShipping"),
            pl.lit("Sold To").alias("label"),
            _address("sold_").alias("addressbookAddress"),
        )
    )
    has_billing = pl.col("bill_id").is_not_null()
    has_shipping = pl.col("sold_id").is_not_null() & ~same.fill_null(False)
    # The list is [billing, shipping] without the absent ones. Built by case with `concat_arr`:
    # polars' `concat_list` (and `list.drop_nulls`) of structs costs ~10 µs a row, `concat_arr`
    # a few hundred ns (at 1M accounts that is most of the plan's time).
    entries = (
        pl.when(has_billing & has_shipping)
        .then(pl.concat_arr([billing, shipping]).arr.to_list())
        .when(has_billing)
        .then(pl.concat_arr([billing]).arr.to_list())
        .when(has_shipping)
        .then(pl.concat_arr([shipping]).arr.to_list())
    )
    return pl.when(entries.is_not_null()).then(pl.struct(entries.alias("addressbook")))


def _contacts(tables: Mapping[str, pl.DataFrame], prefix: str) -> pl.DataFrame:
    contacts = with_columns_if_missing(table(tables, "zuora.contacts"), _CONTACT_COLUMNS)
    return contacts.select([pl.col(c).cast(pl.Utf8).alias(prefix + c) for c in _CONTACT_COLUMNS])


def customers_from_zuora_accounts(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    accounts = with_columns_if_missing(table(tables, "zuora.accounts"), _ACCOUNT_COLUMNS)
    customers = table(tables, "netsuite.customers")
    currencies = lookup(table(tables, "netsuite.currencies"), ["symbol", "name"])
    subsidiaries = lookup(table(tables, "netsuite.subsidiaries"), ["name", "internal_id"])
    terms = lookup(table(tables, "netsuite.terms"), ["name"])
    by_zuora_id = lookup(customers, [CUSTOMER_ZUORA_ID_FIELD]) if CUSTOMER_ZUORA_ID_FIELD in customers.columns else {}
    by_entity_id = lookup(customers, ["entity_id"])
    by_external_id = lookup(customers, ["external_id"])
    first_subsidiary = (
        str(
            table(tables, "netsuite.subsidiaries").sort(pl.col("internal_id").cast(pl.Int64, strict=False))[
                "internal_id"
            ][0]
        )
        if subsidiaries
        else None
    )

    # Lazy up to the select: polars then never holds the joined accounts and contacts as a frame
    # of their own beside the payload columns (a million accounts: 0.15 GB less peak, `zsync bench`).
    frame = (
        accounts.lazy()
        .select([pl.col(c).cast(pl.Utf8) for c in _ACCOUNT_COLUMNS])
        .join(_contacts(tables, "bill_").lazy(), left_on="bill_to_id", right_on="bill_id", how="left", coalesce=False)
        .join(_contacts(tables, "sold_").lazy(), left_on="sold_to_id", right_on="sold_id", how="left", coalesce=False)
    )
    subsidiary_name = pl.coalesce(
        pl.col("subsidiary__ns"),
        pl.col("currency").replace_strict(config.subsidiary_by_currency, default=None, return_dtype=pl.Utf8),
        pl.lit(config.default_subsidiary, pl.Utf8),
    )
    is_person = pl.col("customer_type__ns").str.to_lowercase() == "individual"
    frame = frame.with_columns(
        subsidiary_id=pl.when(subsidiary_name.is_null())
        .then(pl.lit(first_subsidiary, pl.Utf8))
        # Subsidiary__NS usually holds the NetSuite internal id (that is what Zuora's own
        # connector writes); a bare number goes through as is and NetSuite validates it.
        .when(subsidiary_name.str.contains(r"^\d+$"))
        .then(subsidiary_name)
        .otherwise(resolve(subsidiary_name, subsidiaries)),
        subsidiary_name=subsidiary_name,
        currency_id=resolve(pl.col("currency"), currencies),
        terms_id=pl.coalesce(
            resolve(pl.col("payment_term"), terms), resolve(pl.lit(config.default_terms, pl.Utf8), terms)
        ),
        match_zuora_id=pl.col("id").str.to_lowercase().replace_strict(by_zuora_id, default=None, return_dtype=pl.Utf8),
        match_entity=pl.col("account_number")
        .str.to_lowercase()
        .replace_strict(by_entity_id, default=None, return_dtype=pl.Utf8),
        match_external=CUSTOMERS_TO_NETSUITE.external_ids(pl.col("id"))
        .str.to_lowercase()
        .replace_strict(by_external_id, default=None, return_dtype=pl.Utf8),
    )
    status = pl.col("status")
    return frame.select(
        pl.col("id").alias("source_id"),
        pl.col("account_number").alias("entityId"),
        pl.when(~is_person.fill_null(False)).then(_bounded_company_name(pl.col("name"))).alias("companyName"),
        pl.when(pl.col("name").str.len_chars() > COMPANY_NAME_MAX)
        .then(pl.format("Name in Zuora: {}", pl.col("name")))
        .alias("comments"),
        pl.when(is_person).then(pl.lit(True)).alias("isPerson"),
        pl.when(is_person).then(pl.coalesce("bill_first_name", "name")).alias("firstName"),
        pl.when(is_person).then(pl.coalesce("bill_last_name", "name")).alias("lastName"),
        pl.col("bill_work_email").alias("email"),
        pl.col("bill_work_phone").alias("phone"),
        # Always by the parent's deterministic externalId (zsync sets it on every customer it
        # creates or matches): a parent landing earlier in this run is found by it, and the
        # payload stays the same once the parent is linked (an internalId here would change the
        # child's payload hash on the next run and cause a needless update).
        pl.when(pl.col("parent_id").is_not_null())
        .then(pl.struct(CUSTOMERS_TO_NETSUITE.external_ids(pl.col("parent_id")).alias("externalId")))
        .alias("parent"),
        ref(pl.col("subsidiary_id")).alias("subsidiary"),
        ref(pl.col("currency_id")).alias("currency"),
        ref(pl.col("terms_id")).alias("terms"),
        pl.when(status == "Canceled").then(pl.lit(True)).alias("isInactive"),
        _addressbook().alias("addressbookList"),
        pl.struct(pl.col("id").alias(CUSTOMER_ZUORA_ID_FIELD)).alias("customFieldList"),
        # control columns
        left_out_reason().alias("_skip"),
        pl.when(status == "Canceled").then(pl.lit("account is Canceled and was never synced")).alias("_only_if_linked"),
        pl.when(pl.col("currency_id").is_null())
        .then(pl.format("no NetSuite currency with ISO code '{}'", pl.col("currency").fill_null("")))
        .when(pl.col("subsidiary_id").is_null())
        .then(pl.format("no NetSuite subsidiary named '{}'", pl.col("subsidiary_name").fill_null("")))
        .when(_unknown_country("bill_"))
        .then(_unknown_country_reason("bill_", "bill-to"))
        .when(_unknown_country("sold_"))
        .then(_unknown_country_reason("sold_", "sold-to"))
        .alias("_blocked"),
        pl.coalesce("integration_id__ns", "match_external", "match_zuora_id", "match_entity").alias("_match_target_id"),
        pl.when(pl.col("integration_id__ns").is_not_null())
        .then(pl.lit("IntegrationId__NS"))
        .when(pl.col("match_external").is_not_null())
        .then(pl.lit("externalId"))
        .when(pl.col("match_zuora_id").is_not_null())
        .then(pl.lit(CUSTOMER_ZUORA_ID_FIELD))
        .when(pl.col("match_entity").is_not_null())
        .then(pl.lit("same entityId as the account number"))
        .alias("_match"),
        pl.col("parent_id").alias("_after"),
        record_name_expr(pl.col("account_number"), pl.col("name"), pl.col("id")).alias("_label"),
    ).collect()


CUSTOMERS_TO_NETSUITE = Flow(
    name="customers",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="customer",
    source_tables=("zuora.accounts", "zuora.contacts"),
    reference_tables=("netsuite.customers", "netsuite.subsidiaries", "netsuite.currencies", "netsuite.terms"),
    mapping=customers_from_zuora_accounts,
    columns={"zuora.accounts": tuple(_ACCOUNT_COLUMNS), "zuora.contacts": tuple(_CONTACT_COLUMNS)},
    # A customer reads its account and the account's bill-to and sold-to contacts (its parent
    # only by id: `_after`, settled over the whole plan).
    slice_by={
        "zuora.accounts": SliceBy("id"),
        "zuora.contacts": SliceBy("id", parent="zuora.accounts", parent_columns=("bill_to_id", "sold_to_id")),
    },
    write_back=WriteBack("Account"),
    custom_fields=CustomFields(
        {"Account": (*ZUORA_WRITE_BACK, "SynctoNetSuite__NS", "Subsidiary__NS", "CustomerType__NS")},
        (CUSTOMER_ZUORA_ID_FIELD,),
    ),
    enabled=lambda config: config.customer_master == "zuora",
    description="Zuora accounts -> NetSuite customers (customer_master: zuora)",
)
