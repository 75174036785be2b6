"""What each vendor's schema can hold, checked on the planned payload before anything is sent.

A value a target cannot hold (a name over its length limit, text where it wants a number)
fails at the vendor, and on NetSuite a value its XSD refuses faults the whole list call: 99
good records would wait for one bad one. The plan therefore blocks the one record, naming the
field, the value and the limit, so it is fixed at the source; push still splits a batch the
vendor refuses as a whole (engine/push.py `write_isolating`) for what no rule here foresaw.

The rules are per field name, wherever the field sits in the payload (a customer's
`addressbookList.addressbook[].addressbookAddress.addr1` is checked as `addr1`).

Vendor facts:
- NetSuite field lengths, from NetSuite's record field limits (Customer and address fields as
  its CSV import templates list them): companyName, entityId, addressee and attention 83;
  addr1 / addr2 / addr3 150; city 50; itemId 60 (also enforced by the NetSuite sandbox).
- NetSuite amounts and quantities are `xsd:double` in the SuiteTalk 2023_2 schema
  (`zsync_assets/vendor/netsuite-suitetalk/2023_2/xsd/transactions.sales.xsd`).
- Zuora: an account `name` holds at most 255 characters (`maxLength` on the account create
  schema in `zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import polars as pl

from zsync_assets.engine.flow import PayloadCheck

if TYPE_CHECKING:
    # A dtype is an instance (pl.List(pl.Utf8)) or a class (pl.Utf8); polars accepts both.
    from polars._typing import PolarsDataType

NETSUITE_MAX_LENGTH = {
    "companyName": 83,
    "entityId": 83,
    "addressee": 83,
    "attention": 83,
    "addr1": 150,
    "addr2": 150,
    "addr3": 150,
    "city": 50,
    "itemId": 60,
}
NETSUITE_NUMBERS = frozenset({"amount", "quantity", "payment", "total", "exchangeRate", "creditLimit"})
ZUORA_MAX_LENGTH = {"name": 255}
MAX_LENGTH = {"netsuite": NETSUITE_MAX_LENGTH, "zuora": ZUORA_MAX_LENGTH}
NUMBERS: dict[str, frozenset[str]] = {"netsuite": NETSUITE_NUMBERS, "zuora": frozenset()}
VENDOR = {"netsuite": "NetSuite", "zuora": "Zuora"}

Leaf = tuple[str, pl.Expr, "PolarsDataType"]  # (dotted path, expression over the frame, leaf dtype)


def _leaves(expr: pl.Expr, dtype: PolarsDataType, path: str, in_list: bool) -> list[Leaf]:
    """Every scalar leaf of a payload column, as (path, expression, dtype). Values inside lists
    come back as lists (one entry per element), so a check can look at each of them."""
    if isinstance(dtype, pl.Struct):
        out: list[Leaf] = []
        for f in dtype.fields:
            sub = expr.list.eval(pl.element().struct.field(f.name)) if in_list else expr.struct.field(f.name)
            out += _leaves(sub, f.dtype, f"{path}.{f.name}", in_list)
        return out
    if isinstance(dtype, pl.List):
        flat = expr.list.eval(pl.element().explode()) if in_list else expr
        return _leaves(flat, dtype.inner, f"{path}[]", True)
    return [(path, expr, dtype)]


def _problem(
    path: str,
    expr: pl.Expr,
    dtype: PolarsDataType,
    in_list: bool,
    vendor: str,
    max_length: Mapping[str, int],
    numbers: frozenset[str],
) -> pl.Expr | None:
    name = path.rsplit(".", 1)[-1].removesuffix("[]")
    values = expr if not in_list else expr.list.eval(pl.element().drop_nulls())
    if name in max_length and dtype == pl.Utf8:
        limit = max_length[name]
        too_long = (
            values.list.eval(pl.element().filter(pl.element().str.len_chars() > limit)).list.first()
            if in_list
            else pl.when(values.str.len_chars() > limit).then(values)
        )
        return pl.when(too_long.is_not_null()).then(
            pl.format(
                "{} is {} characters; {} allows {}: '{}'",
                pl.lit(path),
                too_long.str.len_chars(),
                pl.lit(vendor),
                pl.lit(limit),
                too_long.str.slice(0, 40) + pl.lit("..."),
            )
        )
    if name in numbers and dtype == pl.Utf8:
        not_number = (
            values.list.eval(pl.element().filter(pl.element().cast(pl.Float64, strict=False).is_null())).list.first()
            if in_list
            else pl.when(values.is_not_null() & values.cast(pl.Float64, strict=False).is_null()).then(values)
        )
        return pl.when(not_number.is_not_null()).then(
            pl.format("{} must be a number for {}, got '{}'", pl.lit(path), pl.lit(vendor), not_number)
        )
    return None


def payload_check(system: str) -> PayloadCheck:
    """The plan-time check of one target system (see `engine.flow.PayloadCheck`)."""
    vendor, max_length, numbers = VENDOR[system], MAX_LENGTH[system], NUMBERS[system]

    def check(mapped: pl.DataFrame) -> pl.Expr | None:
        problems = []
        for column, dtype in mapped.schema.items():
            if column.startswith("_") or column == "source_id":
                continue
            for path, expr, leaf_dtype in _leaves(pl.col(column), dtype, column, False):
                in_list = "[]" in path
                found = _problem(path, expr, leaf_dtype, in_list, vendor, max_length, numbers)
                if found is not None:
                    problems.append(found)
        return pl.coalesce(problems) if problems else None

    return check


CHECKS: dict[str, Callable[[pl.DataFrame], pl.Expr | None]] = {s: payload_check(s) for s in VENDOR}
