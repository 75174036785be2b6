"""Comparisons on record fields, shared by Object Query `filter[]` and the ZOQL WHERE clause.

Values are typed by the field's declared type, and date-times are normalised to the store's
UTC form so string order is time order (a filter written with a `-08:00` offset or `Z` finds
the same rows).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, UNKNOWN_FIELD, ApiError
from zsync_assets.sandbox.zuora.model import ObjectType
from zsync_assets.sandbox.zuora.store import now_iso

SQL_OPS = {"EQ": "=", "NE": "!=", "GT": ">", "GE": ">=", "LT": "<", "LE": "<="}


def _bad_value(field: str, raw: str, kind: str) -> ApiError:
    return ApiError(400, INVALID_VALUE, f"invalid value '{raw}' for {kind} field '{field}'")


def coerce(obj: ObjectType, field: str, raw: str) -> Any:
    kind = obj.types[field]
    try:
        if kind == "n":
            return float(raw)
        if kind == "i":
            return int(raw)
        if kind == "b":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return 1 if raw.lower() == "true" else 0  # SQLite's json_extract gives booleans as 0/1
        if kind == "t":
            # An unencoded '+' in a query string arrives as a space.
            parsed = datetime.fromisoformat(raw.strip().replace(" ", "+") if "T" in raw else raw.strip())
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)  # the sandbox tenant's time zone is UTC
            return now_iso(parsed)
        if kind == "d":
            return date.fromisoformat(raw[:10]).isoformat()
    except ValueError:
        raise _bad_value(
            field, raw, {"n": "number", "i": "integer", "b": "boolean", "t": "date-time", "d": "date"}[kind]
        ) from None
    return raw


def field_of(obj: ObjectType, name: str) -> str:
    field = obj.canonical(name)
    if field is None:
        raise ApiError(400, UNKNOWN_FIELD, f"unknown field '{name}' on {obj.zoql}")
    return field


# Fields that are columns of their own in the records table (store.py); the rest is in the document.
_OWN_COLUMNS = {"id": "id", "updatedDate": "updated_date"}


def _column(field: str) -> str:
    return _OWN_COLUMNS.get(field) or f"json_extract(data, '$.\"{field}\"')"


def condition(obj: ObjectType, name: str, op: str, raw: str | None) -> tuple[str, list[Any]]:
    """SQL for `<field> <op> <value>` on the records table; `raw=None` means null."""
    field = field_of(obj, name)
    column = _column(field)
    if raw is None:
        if op not in ("EQ", "NE"):
            raise ApiError(400, INVALID_VALUE, f"null can only be compared with EQ or NE ('{name}')")
        return f" and {column} is {'not ' if op == 'NE' else ''}null", []
    value = coerce(obj, field, raw)
    if op == "NE":  # Zuora's NE keeps records where the field is empty
        return f" and ({column} is null or {column} != ?)", [value]
    return f" and {column} {SQL_OPS[op]} ?", [value]


def in_condition(obj: ObjectType, name: str, raw: str) -> tuple[str, list[Any]]:
    """SQL for Object Query's `<field>.IN:[a,b]`: the records whose field is one of the values
    (Zuora's filter docs: "IN specifies a list of values that will be returned",
    `name.IN:[Amy,Bella]`)."""
    field = field_of(obj, name)
    if not (raw.startswith("[") and raw.endswith("]")) or not raw[1:-1].strip():
        raise ApiError(400, INVALID_VALUE, f"invalid value '{raw}' for IN on '{name}': expected [value,value,...]")
    values = [coerce(obj, field, v.strip()) for v in raw[1:-1].split(",")]
    return f" and {_column(field)} in ({', '.join('?' * len(values))})", values
