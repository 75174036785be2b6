"""Small polars helpers the mapping functions share: optional columns, references, names."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from zsync_assets.engine.flow import LINK_REF
from zsync_assets.flows.mapping.countries import to_netsuite_country

if TYPE_CHECKING:
    # A dtype is an instance (pl.List(pl.Utf8)) or a class (pl.Utf8); polars accepts both.
    from polars._typing import PolarsDataType


def table(tables: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    return tables.get(name, pl.DataFrame())


def col(frame: pl.DataFrame, name: str, dtype: PolarsDataType = pl.Utf8) -> pl.Expr:
    """The column if staged, else nulls: vendors omit custom fields nobody ever set."""
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)


def with_columns_if_missing(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return frame.with_columns([pl.lit(None, pl.Utf8).alias(n) for n in names if n not in frame.columns])


def ref(internal_id: pl.Expr) -> pl.Expr:
    """A NetSuite-style record reference `{internalId}`; null when the id is null."""
    return pl.when(internal_id.is_not_null()).then(pl.struct(internal_id.alias("internalId")))


def lookup(reference: pl.DataFrame, key_cols: list[str], value_col: str = "internal_id") -> dict[str, str]:
    """Case-insensitive text -> id map over one or more key columns of a staged reference table."""
    out: dict[str, str] = {}
    if reference.is_empty() or value_col not in reference.columns:
        return out
    for key in key_cols:
        if key in reference.columns:
            for k, v in reference.select(
                pl.col(key).cast(pl.Utf8).alias("k"), pl.col(value_col).cast(pl.Utf8).alias("v")
            ).iter_rows():
                if k is not None and v is not None:
                    out.setdefault(k.strip().lower(), v)
    return out


def resolve(expr: pl.Expr, mapping: Mapping[str, str | None]) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.Utf8)


def record_name(key: str | None, name: str | None, record_id: str | None) -> str:
    """How reasons name a record for people: human keys first, the id last, e.g.
    `A00000012 (Acme, 8a8a...)`; just the id when there is nothing else."""
    extra = ", ".join(str(v) for v in (name, record_id) if v)
    if key:
        return f"{key} ({extra})" if extra else str(key)
    return f"{name} ({record_id})" if name and record_id else str(name or record_id or "?")


def record_name_expr(key: pl.Expr, name: pl.Expr, record_id: pl.Expr) -> pl.Expr:
    """`record_name` as a polars expression over three text columns."""
    extra = pl.concat_str([name, record_id], separator=", ", ignore_nulls=True)
    return (
        pl.when(key.is_not_null())
        .then(pl.format("{} ({})", key, extra))
        .when(name.is_not_null())
        .then(pl.format("{} ({})", name, record_id))
        .otherwise(record_id)
    )


def account_names(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """Zuora account id -> `A00000012 (Acme, <id>)`, from `zuora.accounts` (declare it)."""
    accounts = with_columns_if_missing(table(tables, "zuora.accounts"), ["id", "account_number", "name"])
    return {
        str(i): record_name(n, name, str(i))
        for i, n, name in accounts.select("id", "account_number", "name").iter_rows()
        if i is not None
    }


def named(ids: pl.Expr, names: dict[str, str]) -> pl.Expr:
    """Ids replaced by their `record_name` where known, else left as the id."""
    return ids.replace_strict(names, default=ids, return_dtype=pl.Utf8)


def header_blocked(otherwise: pl.Expr, accounts: dict[str, str]) -> pl.Expr:
    """Why a Zuora document can't go to NetSuite yet because of its header (over `customer_id`,
    `account_id`, `currency_id`, `currency`), else `otherwise` (its lines' or applications' reason).
    `accounts`: `account_names(tables)`, so the reason names the account by number and name."""
    return (
        pl.when(pl.col("customer_id").is_null())
        .then(
            pl.format(
                "account {} is not synced yet (flow customers)", named(pl.col("account_id"), accounts).fill_null("?")
            )
        )
        .when(pl.col("currency_id").is_null())
        .then(pl.format("no NetSuite currency with ISO code '{}'", pl.col("currency").fill_null("")))
        .otherwise(otherwise)
    )


def header_blocked_by() -> tuple[pl.Expr, pl.Expr]:
    """`_blocked_by_flow`, `_blocked_by_id` of `header_blocked`: the account, when it is the cause."""
    unsynced = pl.col("customer_id").is_null() & pl.col("account_id").is_not_null()
    return (
        pl.when(unsynced).then(pl.lit("customers")).alias("_blocked_by_flow"),
        pl.when(unsynced).then(pl.col("account_id")).alias("_blocked_by_id"),
    )


def link_ref(flow: str, source_id: str) -> dict:
    """A payload value meaning "the target id of record `source_id` of `flow`" (engine/flow.py)."""
    return {LINK_REF: {"flow": flow, "source_id": source_id}}


def bounded_name(name: str, unique_key: str, limit: int) -> str:
    """`name` if it fits, else a deterministic cut plus a short hash of `unique_key` (stable across runs)."""
    if len(name) <= limit:
        return name
    suffix = "~" + hashlib.sha1(unique_key.encode()).hexdigest()[:6]
    return name[: limit - len(suffix)].rstrip() + suffix


def by_distinct_value(expr: pl.Expr, convert: Callable[[Any], str | None]) -> pl.Expr:
    """`convert` applied once per DISTINCT value of the column, then mapped with `replace_strict`:
    a million accounts have a few hundred countries, and two million invoice lines a few hundred
    rates, so Python runs a few hundred times, not a million (map_elements cost the customers plan
    most of its time, and the invoices plan 1.5 s of CPU per million lines)."""

    def batch(values: pl.Series) -> pl.Series:
        table = {v: convert(v) for v in values.drop_nulls().unique().to_list()}
        return values.replace_strict(table, default=None, return_dtype=pl.Utf8)

    return expr.map_batches(batch, return_dtype=pl.Utf8, is_elementwise=True)


def netsuite_country(country: pl.Expr) -> pl.Expr:
    """Zuora country name or ISO code -> NetSuite `Country` value (`United States` -> `_unitedStates`);
    null when NetSuite has no such country (`countries.py`): block the record, naming the value."""
    return by_distinct_value(country.cast(pl.Utf8), to_netsuite_country)
