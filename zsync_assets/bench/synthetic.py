"""Synthetic staged tables in the shapes zsync's staging writes (snake_case columns), built with
polars expressions so that a million rows take about a second.

Only what the customers flow reads: `zuora.accounts` + `zuora.contacts` (Zuora -> NetSuite)
and `netsuite.customers` flagged send-to-Zuora (NetSuite -> Zuora), plus the NetSuite
reference lists the mapping resolves names against. The ids look like the vendors' (32-hex
Zuora ids, numeric NetSuite internal ids) and never collide with sandbox-seeded ones.
"""

from __future__ import annotations

import polars as pl

from zsync_assets.flows.customers_to_zuora import SEND_TO_ZUORA_FIELD
from zsync_assets.lib.warehouse import Warehouse, replace_table

CURRENCIES = ["USD", "EUR", "GBP"]
_STATES = ["CA", "NY", "TX", "WA", "MA"]


def zuora_id(index: pl.Expr, kind: str) -> pl.Expr:
    """`8a8b...` style 32-character ids, distinct per kind ("a" accounts, "c" contacts)."""
    return pl.lit(f"8a8bench{kind}") + index.cast(pl.Utf8).str.zfill(32 - 9)


def zuora_accounts(n: int, *, parent_every: int = 50) -> pl.DataFrame:
    """`n` Active accounts; every `parent_every`-th one is the child of the account before it."""
    i = pl.int_range(n, dtype=pl.Int64)
    return pl.select(
        id=zuora_id(i, "a"),
        account_number=pl.lit("BA-") + i.cast(pl.Utf8).str.zfill(8),
        name=pl.lit("Bench Customer ") + i.cast(pl.Utf8),
        currency=pl.lit(pl.Series(CURRENCIES)).gather(i % len(CURRENCIES)),
        status=pl.lit("Active"),
        parent_id=pl.when(i % parent_every == parent_every - 1).then(zuora_id(i - 1, "a")),
        bill_to_id=zuora_id(i, "c"),
        sold_to_id=zuora_id(i, "c"),
        payment_term=pl.lit("Net 30"),
        integration_id__ns=pl.lit(None, pl.Utf8),
        syncto_net_suite__ns=pl.lit("Yes"),
        subsidiary__ns=pl.lit(None, pl.Utf8),
        customer_type__ns=pl.lit(None, pl.Utf8),
        updated_date=pl.lit("2026-01-01T00:00:00Z"),
    )


def zuora_contacts(n: int) -> pl.DataFrame:
    i = pl.int_range(n, dtype=pl.Int64)
    return pl.select(
        id=zuora_id(i, "c"),
        first_name=pl.lit("Ada"),
        last_name=pl.lit("Lovelace ") + i.cast(pl.Utf8),
        work_email=pl.lit("billing+") + i.cast(pl.Utf8) + pl.lit("@example.com"),
        work_phone=pl.lit("+1 555 ") + (i % 10_000).cast(pl.Utf8).str.zfill(4),
        address1=(i % 900 + 100).cast(pl.Utf8) + pl.lit(" Market St"),
        address2=pl.lit(None, pl.Utf8),
        city=pl.lit("San Francisco"),
        state=pl.lit(pl.Series(_STATES)).gather(i % len(_STATES)),
        postal_code=pl.lit("94105"),
        country=pl.lit("United States"),
    )


def netsuite_customers(n: int, currency_ids: list[str], *, first_id: int = 900_000) -> pl.DataFrame:
    """`n` NetSuite customers with the send-to-Zuora box checked, as NetSuite staging stores them."""
    i = pl.int_range(n, dtype=pl.Int64)
    address = pl.concat_str(
        pl.lit('{"addressbook":[{"defaultBilling":true,"defaultShipping":true,"addressbookAddress":{"addr1":"'),
        (i % 900 + 100).cast(pl.Utf8),
        pl.lit(' Main St","city":"Austin","state":"TX","zip":"78701","country":"_unitedStates"}}]}'),
    )
    return pl.select(
        internal_id=(i + first_id).cast(pl.Utf8),
        entity_id=pl.lit("NS-BENCH-") + i.cast(pl.Utf8).str.zfill(7),
        company_name=pl.lit("Bench NetSuite Customer ") + i.cast(pl.Utf8),
        email=pl.lit("ap+") + i.cast(pl.Utf8) + pl.lit("@example.net"),
        phone=pl.lit("+1 512 555 0100"),
        currency_internal_id=pl.lit(pl.Series(currency_ids)).gather(i % len(currency_ids)),
        is_inactive=pl.lit(False),
        addressbook_list=address,
    ).with_columns(pl.lit(True).alias(SEND_TO_ZUORA_FIELD))


def netsuite_reference() -> dict[str, pl.DataFrame]:
    """Subsidiaries, currencies and terms as NetSuite staging stores them (internal ids as text)."""
    return {
        "netsuite.subsidiaries": pl.DataFrame({"internal_id": ["1", "2"], "name": ["Parent Company", "Europe BV"]}),
        "netsuite.currencies": pl.DataFrame(
            {"internal_id": ["1", "2", "3"], "symbol": CURRENCIES, "name": ["US Dollar", "Euro", "British pound"]}
        ),
        "netsuite.terms": pl.DataFrame({"internal_id": ["1", "2"], "name": ["Net 30", "Due on receipt"]}),
        "netsuite.customers": pl.DataFrame(
            schema={"internal_id": pl.Utf8, "entity_id": pl.Utf8, "external_id": pl.Utf8}
        ),
    }


def write_tables(warehouse: Warehouse, tables: dict[str, pl.DataFrame]) -> None:
    with warehouse.connect() as con:
        for name, frame in tables.items():
            replace_table(con, name, frame)
