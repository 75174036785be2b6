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
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from zsync_assets.config import FieldOverrides

if TYPE_CHECKING:
    # A dtype is an instance (pl.List(pl.Utf8)) or a class (pl.Utf8); polars accepts both.
    from polars._typing import PolarsDataType

_SCALARS = (
    pl.Utf8,
    pl.Boolean,
    pl.Float64,
    pl.Float32,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
)


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


def _supported(dtype: PolarsDataType) -> bool:
    if isinstance(dtype, pl.Struct):
        return all(_supported(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        return _supported(dtype.inner)
    return dtype == pl.Null or any(dtype == s for s in _SCALARS)


# Text is escaped with literal replacements (memchr-fast, and skipped for a column that needs
# none) instead of polars' JSON writer: the five characters json.dumps escapes in ordinary text.
# Any other control character (json.dumps writes \\b, \\f, \\u00xx) sends its row to
# `reference_json` (the "odd" rows).
_TEXT_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_NEEDS_ESCAPE = r'[\\"\n\r\t]'
_RARE_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_ANY_ESCAPE = r'[\\"\x00-\x1f]'
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_LIST_BY_POSITION = 4  # lists at most this long are encoded position by position, longer ones exploded

Encoded = tuple[pl.Series, pl.Series | None]  # (prefix + JSON text, or null where omitted; odd rows or None)


def _key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False) + ":"


def _scalar(values: pl.Series, prefix: str) -> Encoded:
    """`prefix` + the value's JSON, in one `concat_str` (every `+` would be one more string column)."""
    dtype, v = values.dtype, pl.col("v")
    odd = None
    if dtype == pl.Utf8:
        # One scan decides for most columns: no character to escape, so no odd row either.
        if values.str.contains(_ANY_ESCAPE).any():
            if values.str.contains(_NEEDS_ESCAPE).any():
                for raw, escaped in _TEXT_ESCAPES:
                    v = v.str.replace_all(raw, escaped, literal=True)
            odd = pl.col("v").str.contains(_RARE_CONTROL).fill_null(False)
        text = pl.concat_str([pl.lit(prefix + '"'), v, pl.lit('"')])
    elif dtype == pl.Boolean:
        text = pl.when(v).then(pl.lit(prefix + "true")).when(~v).then(pl.lit(prefix + "false"))
    elif any(dtype == t for t in _INTEGERS):
        text = pl.concat_str([pl.lit(prefix), v.cast(pl.Utf8)])
    else:  # floats: polars' JSON writer prints them like Python, but for the odd ones
        x = v.cast(pl.Float64)  # Python sees a Float32 as the double it widens to
        text = pl.when(x.is_not_null()).then(
            pl.concat_str([pl.lit(prefix), pl.struct(x.alias("v")).struct.json_encode().str.slice(5).str.head(-1)])
        )
        odd = (~x.is_finite() | ((x != 0) & (x.abs() < 1e-4))).fill_null(False)
    frame = values.to_frame("v").select(text.alias("text"), *([odd.alias("odd")] if odd is not None else []))
    return frame["text"], (frame["odd"] if odd is not None else None)


def _any(masks: list[pl.Series | None]) -> pl.Series | None:
    present = [m for m in masks if m is not None]
    if not present:
        return None
    return (
        pl.DataFrame([m.alias(f"m{i}") for i, m in enumerate(present)])
        .select(pl.any_horizontal(pl.all()).fill_null(False))
        .to_series()
    )


def _members(parts: list[tuple[str, Encoded]]) -> pl.Expr:
    """The members of an object, sorted by key, omitted ones left out: `"a":1,"b":"x"`."""
    ordered = [f"p{i}" for i, _ in sorted(enumerate(parts), key=lambda ip: ip[1][0])]
    return pl.concat_str([pl.col(c) for c in ordered], separator=",", ignore_nulls=True) if ordered else pl.lit("")


def _encode(values: pl.Series, prefix: str = "", *, in_list: bool = False) -> Encoded:
    """`prefix` + JSON text of each value, or null where it is omitted (null, or an object left
    empty outside a list: `_without_nulls` drops `{}` members but keeps `{}` list elements).

    Eager and bottom-up: every nested value is encoded exactly once (an expression tree rebuilds
    a struct's fields once per reference: 2^depth times for the customers' addressbook)."""
    dtype = values.dtype
    if dtype == pl.Null:
        return pl.Series(values.name, [None] * len(values), dtype=pl.Utf8), None
    if isinstance(dtype, pl.Struct):
        fields = values.struct.unnest()
        parts = [(f.name, _encode(fields.to_series(i), _key(f.name))) for i, f in enumerate(dtype.fields)]
        frame = pl.DataFrame(
            [e[0].alias(f"p{i}") for i, (_, e) in enumerate(parts)] + [values.is_null().alias("null")]
        ).with_columns(inner=_members(parts))
        # A null struct's fields may hold anything: the struct's own validity decides.
        keep = ~pl.col("null") if in_list else ~pl.col("null") & (pl.col("inner") != "")
        text = frame.select(pl.when(keep).then(pl.concat_str([pl.lit(prefix + "{"), pl.col("inner"), pl.lit("}")])))
        return text.to_series(), _any([e[1] for _, e in parts])
    if isinstance(dtype, pl.List):
        return _encode_list(values, prefix)
    return _scalar(values, prefix)


def _encode_list(values: pl.Series, prefix: str) -> Encoded:
    """`[a,b]` of the elements' JSON, null elements left out (as `_without_nulls` does)."""
    is_null = values.is_null()
    width = values.list.len().max() or 0
    assert isinstance(width, int)  # the longest list's length (Series.max is typed for any dtype)
    if width <= _LIST_BY_POSITION:
        parts = [_encode(values.list.get(i, null_on_oob=True), in_list=True) for i in range(width)]
        frame = pl.DataFrame([t.alias(f"e{i}") for i, (t, _) in enumerate(parts)] + [is_null.alias("null")])
        items = (
            pl.concat_str([pl.col(f"e{i}") for i in range(width)], separator=",", ignore_nulls=True)
            if parts
            else pl.lit("")
        )
        text = frame.select(
            pl.when(~pl.col("null")).then(pl.concat_str([pl.lit(prefix + "["), items.fill_null(""), pl.lit("]")]))
        )
        return text.to_series(), _any([o for _, o in parts])
    # Long lists (invoice lines): every element encoded once, then put back into lists with the
    # column's own offsets (a group_by of the elements by row cost more than encoding them).
    elements, odd = _encode(values.explode(empty_as_null=False, keep_nulls=False), in_list=True)
    lengths = values.list.len().fill_null(0).cast(pl.Int64)
    offsets = pl.concat([pl.Series([0], dtype=pl.Int64), lengths.cum_sum()]).to_arrow()
    frame = pl.DataFrame(
        {
            "null": is_null,
            "text": _listed(offsets, elements).list.join(",", ignore_nulls=True),
            "odd": _listed(offsets, odd).list.any() if odd is not None else pl.Series([False] * len(values)),
        }
    )
    result = frame.select(
        pl.when(~pl.col("null")).then(pl.concat_str([pl.lit(prefix + "["), pl.col("text"), pl.lit("]")]))
    )
    return result.to_series(), (frame["odd"] if odd is not None else None)


def _listed(offsets: pa.Array, flat: pl.Series) -> pl.Series:
    """`flat` cut into lists at `offsets` (Arrow's list layout: row i is flat[offsets[i]:offsets[i+1]])."""
    listed = pa.LargeListArray.from_arrays(offsets, flat.to_arrow(compat_level=pl.CompatLevel.newest()))
    return pl.Series(pl.from_arrow(listed))


# Rows encoded at a time: the encoder holds every leaf's text for the rows it encodes (a million
# customers: ~1 GB on top of the payloads), and a row's text depends on that row alone.
_ENCODE_ROWS = 200_000


def payload_json(mapped: pl.DataFrame, overrides: FieldOverrides | None = None) -> pl.Series:
    """The canonical JSON text of every row's payload, as a Utf8 series named `payload`."""
    if mapped.height > _ENCODE_ROWS:
        return pl.concat(
            [
                _payload_json(mapped.slice(start, _ENCODE_ROWS), overrides)
                for start in range(0, mapped.height, _ENCODE_ROWS)
            ]
        )
    return _payload_json(mapped, overrides)


def _payload_json(mapped: pl.DataFrame, overrides: FieldOverrides | None) -> pl.Series:
    columns = payload_columns(mapped)
    if not all(_supported(mapped.schema[c]) for c in columns):
        return pl.Series("payload", reference_json(mapped, overrides), dtype=pl.Utf8)
    # Which columns land under which key (renames move a value; the moved one wins), then
    # constants, exactly in the order `payloads` applies them.
    sources: dict[str, list[str]] = {c: [c] for c in columns}
    constants: dict[str, str] = {}
    if overrides:
        for old, new in overrides.renames.items():
            if old in sources:
                sources[new] = sources.pop(old) + sources.get(new, [])
        for key, value in overrides.constants.items():
            sources.pop(key, None)
            constants[key] = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    encoded = {c: _encode(mapped[c], _key(key)) for key, cols in sources.items() for c in cols}
    members = [
        (
            key,
            pl.coalesce([pl.col(f"c{columns.index(c)}") for c in cols])
            if len(cols) > 1
            else pl.col(f"c{columns.index(cols[0])}"),
        )
        for key, cols in sources.items()
    ]
    members += [(key, pl.lit(_key(key) + text)) for key, text in constants.items()]
    frame = mapped.select("source_id").with_columns(
        [text.alias(f"c{columns.index(c)}") for c, (text, _) in encoded.items()]
    )
    ordered = [e for _, e in sorted(members, key=lambda m: m[0])]
    body_expr = (
        pl.concat_str(
            [pl.lit("{"), pl.concat_str(ordered, separator=",", ignore_nulls=True).fill_null(""), pl.lit("}")]
        )
        if ordered
        else pl.lit("{}")
    )
    # with_columns, not select: a payload of constants only is a literal, which select would
    # return as a single row.
    body = frame.with_columns(body_expr.alias("payload"))["payload"]
    odd = _any([o for _, o in encoded.values()])
    if odd is not None:
        rows = odd.arg_true()
        if len(rows):
            body = body.scatter(rows, reference_json(mapped[rows], overrides))
    return body


@lru_cache(maxsize=1)
def _encoder_stamp() -> str:
    """This module's source: an edit of it may change the text made of the same values, so a
    digest taken before the edit matches nothing after it and every payload is encoded again."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def payload_digest(mapped: pl.DataFrame, overrides: FieldOverrides | None = None) -> pl.Series:
    """A 64-bit digest of each row's payload columns (the values, before any text is made), named
    `input_digest`. Equal digests of one record under one salt mean equal payload text, so a plan
    need not encode a record whose digest and synced hash it already knows: hashing the values
    costs a fifteenth of encoding them (a million customers: 0.25 s against 3.6 s, `zsync bench`).

    The salt, folded into the seed: polars' version (`hash_rows` is stable within one version
    only, its docs say), the payload columns' names and dtypes (the hash reads values, not names),
    the field overrides and this encoder's source. A record's digest is only ever compared with
    the same record's previous one, so a false match needs a 64-bit collision between two states
    of one record. It hashes every element of a list and every field of a struct; it does not
    tell 0.0 from -0.0 (the same amount: such a record keeps the text it was synced with)."""
    columns = payload_columns(mapped)
    salt = json.dumps(
        [
            pl.__version__,
            _encoder_stamp(),
            [(c, str(mapped.schema[c])) for c in columns],
            overrides.model_dump(mode="json") if overrides else None,
        ],
        default=str,
    )
    seed = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big")
    if not columns:
        return pl.Series("input_digest", [seed] * mapped.height, dtype=pl.UInt64)
    return mapped.select(columns).hash_rows(seed=seed).alias("input_digest")


def hash_series(body: pl.Series, known: pl.Series | None = None) -> pl.Series:
    """sha256 of each text (first 32 hex digits). hashlib, not `pl.hash`: the latter is not
    stable across polars versions, and links keep these hashes across upgrades. `known`: a hash
    already computed for that very text (null where there is none), kept instead of hashing again."""
    if known is None:
        return _hashed(body).alias("payload_hash")
    todo = known.is_null().arg_true()
    return known.cast(pl.Utf8).scatter(todo, _hashed(body.gather(todo))).alias("payload_hash")


# Texts hashed at a time: each slice becomes Python strings to hash, and the payloads of 324k
# invoices (3 KB each, with their lines) at once were a gigabyte of them.
_HASH_ROWS = 50_000


def _hashed(texts: pl.Series) -> pl.Series:
    hashes = [
        payload_hash(text)
        for start in range(0, len(texts), _HASH_ROWS)
        for text in texts.slice(start, _HASH_ROWS).to_list()
    ]
    return pl.Series(hashes, dtype=pl.Utf8)
