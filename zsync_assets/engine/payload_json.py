"""Canonical payload JSON and its hash, built column-wise with polars instead of row by row.

The contract (engine/plan.py, engine/flow.py): null fields are OMITTED, recursively (an object
left empty by that is omitted too, except as a list element); keys are sorted; separators are
`,` and `:`; text is not ASCII-escaped. `zsync.links.payload_hash` stores sha256 of exactly
that text, so this module must produce byte for byte what `reference_json` (the per-row
`json.dumps(sort_keys=True)` implementation it replaced) produces, or every linked record would
look changed after an upgrade. `test_engine_plan` pins a sample and checks both paths agree.

How: every column is encoded by a polars expression that yields its JSON text or null (omitted);
an object is `concat_str` of its sorted `"key":value` fragments with nulls skipped. Scalars go
through polars' own JSON writer, whose output equals Python's `json.dumps(ensure_ascii=False)`
for text (same escapes, lowercase `\\u00xx`), integers, booleans and floats EXCEPT non-finite
ones and magnitudes below 1e-4 (polars writes `0.00001` / `3e-7`, Python `1e-05` / `3e-07`):
rows holding such a float anywhere are re-encoded by `reference_json`. A frame with a dtype the
fast path does not cover (dates, decimals, binaries...) goes through `reference_json` whole.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import polars as pl

from zsync_assets.config import FieldOverrides

_SCALARS = (pl.Utf8, pl.Boolean, pl.Float64, pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64,
            pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _without_nulls(value: Any) -> Any:
    """Null fields are omitted, recursively: zsync never writes a null over a target value."""
    if isinstance(value, dict):
        cleaned = {k: _without_nulls(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in cleaned.items() if v != {} and v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def canonical_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def payload_hash(payload_json: str) -> str:
    return hashlib.sha256(payload_json.encode()).hexdigest()[:32]


def payload_columns(mapped: pl.DataFrame) -> list[str]:
    return [c for c in mapped.columns if c != "source_id" and not c.startswith("_")]


def payloads(mapped: pl.DataFrame, overrides: FieldOverrides | None = None) -> list[dict[str, Any]]:
    """The target payload per row as dicts: non-control columns, nulls omitted, overrides applied."""
    columns = payload_columns(mapped)
    result = []
    for row in mapped.select(columns).to_dicts() if columns else [{}] * mapped.height:
        payload = _without_nulls(row)
        if overrides:
            for old, new in overrides.renames.items():
                if old in payload:
                    payload[new] = payload.pop(old)
            payload.update(overrides.constants)
        result.append(payload)
    return result


def reference_json(mapped: pl.DataFrame, overrides: FieldOverrides | None = None) -> list[str]:
    """The per-row implementation: the definition of the canonical text, and the fallback."""
    return [canonical_json(p) for p in payloads(mapped, overrides)]


# --- the column-wise encoder -------------------------------------------------------------------

def _supported(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Struct):
        return all(_supported(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        return _supported(dtype.inner)
    return dtype == pl.Null or any(dtype == s for s in _SCALARS)


def _scalar(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Float32:
        # Python sees a Float32 as the double it widens to (0.1f -> 0.10000000149011612).
        expr = expr.cast(pl.Float64)
    # `{"v":<text>}` -> `<text>`: polars' JSON writer escapes exactly like json.dumps.
    text = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(expr.is_not_null()).then(text)


def _encode(expr: pl.Expr, dtype: pl.DataType, *, in_list: bool = False) -> pl.Expr:
    """JSON text of `expr`, or null where the value is omitted (null, or an object left empty
    outside a list: `_without_nulls` drops `{}` members but keeps `{}` list elements)."""
    if dtype == pl.Null:
        return pl.lit(None, pl.Utf8)
    if isinstance(dtype, pl.Struct):
        body = _object([(f.name, _encode(expr.struct.field(f.name), f.dtype)) for f in dtype.fields])
        keep = expr.is_not_null() if in_list else expr.is_not_null() & (body != "{}")
        return pl.when(keep).then(body)
    if isinstance(dtype, pl.List):
        items = expr.list.eval(_encode(pl.element(), dtype.inner, in_list=True)).list.drop_nulls()
        return pl.when(expr.is_not_null()).then(pl.lit("[") + items.list.join(",") + pl.lit("]"))
    return _scalar(expr, dtype)


def _object(fragments: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """`{"k":v,...}` from (key, JSON-or-null) pairs; keys sorted like `json.dumps(sort_keys=True)`."""
    parts = [pl.lit(json.dumps(k, ensure_ascii=False) + ":") + v for k, v in sorted(fragments, key=lambda kv: kv[0])]
    if not parts:
        return pl.lit("{}")
    return pl.lit("{") + pl.concat_str(parts, separator=",", ignore_nulls=True) + pl.lit("}")


def _odd_float(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """True where a float somewhere in the value prints differently in polars and Python."""
    if isinstance(dtype, pl.Struct):
        parts = [p for f in dtype.fields if (p := _odd_float(expr.struct.field(f.name), f.dtype)) is not None]
        return pl.any_horizontal(parts).fill_null(False) if parts else None
    if isinstance(dtype, pl.List):
        inner = _odd_float(pl.element(), dtype.inner)
        return None if inner is None else expr.list.eval(inner).list.any().fill_null(False)
    if dtype in (pl.Float64, pl.Float32):
        x = expr.cast(pl.Float64)
        return (~x.is_finite() | ((x != 0) & (x.abs() < 1e-4))).fill_null(False)
    return None


def _fragments(mapped: pl.DataFrame, overrides: FieldOverrides | None) -> dict[str, pl.Expr]:
    frags = {c: _encode(pl.col(c), mapped.schema[c]) for c in payload_columns(mapped)}
    if overrides:
        for old, new in overrides.renames.items():  # in order, like `payloads`
            if old in frags:
                moved = frags.pop(old)
                frags[new] = pl.coalesce(moved, frags[new]) if new in frags else moved
        for key, value in overrides.constants.items():
            frags[key] = pl.lit(json.dumps(value, sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":"), default=str))
    return frags


def payload_json(mapped: pl.DataFrame, overrides: FieldOverrides | None = None) -> pl.Series:
    """The canonical JSON text of every row's payload, as a Utf8 series named `payload`."""
    columns = payload_columns(mapped)
    if not all(_supported(mapped.schema[c]) for c in columns):
        return pl.Series("payload", reference_json(mapped, overrides), dtype=pl.Utf8)
    # with_columns, not select: when no column reaches the payload (every field null or only
    # constants) the expression is a literal, which select would return as a single row.
    body = mapped.with_columns(_object(list(_fragments(mapped, overrides).items())).alias("payload"))["payload"]
    odd = [e for c in columns if (e := _odd_float(pl.col(c), mapped.schema[c])) is not None]
    if odd:
        rows = mapped.select(pl.any_horizontal(odd).arg_true()).to_series()
        if len(rows):
            body = body.scatter(rows, reference_json(mapped[rows], overrides))
    return body


def hash_series(body: pl.Series) -> pl.Series:
    """sha256 of each text (first 32 hex digits). hashlib, not `pl.hash`: the latter is not
    stable across polars versions, and links keep these hashes across upgrades."""
    return pl.Series("payload_hash", [payload_hash(b) for b in body.to_list()], dtype=pl.Utf8)
