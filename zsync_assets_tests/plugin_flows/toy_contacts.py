"""toy_contacts: every Zuora contact becomes a NetSuite individual customer (`isPerson`).

A toy, written as a new flow is (README "Adding a flow"): this one file, registered as a plugin
by zsync_assets_tests/test_adding_a_flow.py only, and its fixture in
zsync_assets_tests/flow_fixtures/toy_contacts.py. It reads tables zsync stages already and
writes a record type NetSuite already takes, so it needs nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.flow import Flow
from zsync_assets.flows.mapping.common import record_name_expr, ref, table, with_columns_if_missing

_CONTACT_COLUMNS = ["id", "account_id", "first_name", "last_name", "work_email", "work_phone"]


def individuals_from_zuora_contacts(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame:
    contacts = with_columns_if_missing(table(tables, "zuora.contacts"), _CONTACT_COLUMNS)
    subsidiaries = table(tables, "netsuite.subsidiaries")
    # NetSuite requires a subsidiary on a customer (OneWorld); the toy takes the first one.
    first = (
        str(subsidiaries.sort(pl.col("internal_id").cast(pl.Int64, strict=False))["internal_id"][0])
        if not subsidiaries.is_empty()
        else None
    )
    return contacts.select([pl.col(c).cast(pl.Utf8) for c in _CONTACT_COLUMNS]).select(
        pl.col("id").alias("source_id"),
        pl.lit(True).alias("isPerson"),
        pl.col("first_name").alias("firstName"),
        pl.col("last_name").alias("lastName"),
        pl.col("work_email").alias("email"),
        pl.col("work_phone").alias("phone"),
        ref(pl.lit(first, pl.Utf8)).alias("subsidiary"),
        pl.when(pl.lit(first, pl.Utf8).is_null()).then(pl.lit("no NetSuite subsidiary is staged")).alias("_blocked"),
        record_name_expr(
            pl.lit(None, pl.Utf8),
            pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True),
            pl.col("id"),
        ).alias("_label"),
    )


TOY_CONTACTS = Flow(
    name="toy_contacts",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="customer",
    source_tables=("zuora.contacts",),
    reference_tables=("netsuite.subsidiaries",),
    mapping=individuals_from_zuora_contacts,
    description="Zuora contacts -> NetSuite individual customers (a test's plugin flow)",
)
