"""Which Zuora accounts never go to NetSuite, and why: the customers flow skips them, and every
transaction flow skips their documents with the same reason instead of showing them blocked,
waiting for a customer that will never come.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from zsync_assets.config import Config
from zsync_assets.flows.mapping.common import account_names, named, table, with_columns_if_missing


def left_out_reason() -> pl.Expr:
    """Why an account is never sent (over zuora.accounts' `status`, `syncto_net_suite__ns`)."""
    status = pl.col("status")
    return (
        pl.when(pl.col("syncto_net_suite__ns").str.to_lowercase() == "no")
        .then(pl.lit("SynctoNetSuite__NS is No"))
        .when(~status.is_in(["Active", "Canceled"]))
        .then(pl.format("account is {}", status.fill_null("without a status")))
    )


def accounts_left_out(tables: Mapping[str, pl.DataFrame], config: Config) -> dict[str, str]:
    """Zuora account id -> why the customers flow never sends it, so that transaction flows skip
    that account's documents with the reason instead of showing them blocked, waiting forever."""
    if config.customer_master != "zuora":
        return {}
    accounts = with_columns_if_missing(table(tables, "zuora.accounts"), ["id", "status", "syncto_net_suite__ns"])
    links = table(tables, "zsync.links")
    synced = set(links.filter(pl.col("flow") == "customers")["source_id"]) if not links.is_empty() else set()
    reasons = accounts.select(
        pl.col("id").cast(pl.Utf8),
        pl.coalesce(
            left_out_reason(),
            pl.when(pl.col("status") == "Canceled").then(pl.lit("account is Canceled and was never synced")),
        ).alias("reason"),
    ).filter(pl.col("reason").is_not_null() & ~pl.col("id").is_in(list(synced)))
    return dict(reasons.iter_rows())


def account_left_out(tables: Mapping[str, pl.DataFrame], config: Config, account_id: pl.Expr) -> pl.Expr:
    """Skip reason for a transaction of an account the customers flow never sends, else null."""
    reason = account_id.replace_strict(accounts_left_out(tables, config), default=None, return_dtype=pl.Utf8)
    names = account_names(tables)
    return pl.when(reason.is_not_null()).then(
        pl.format("account {} is not synced to NetSuite: {}", named(account_id, names), reason)
    )
