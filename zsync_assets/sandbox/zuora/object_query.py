"""Object Query: `GET /object-query/<objects>` and `GET /object-query/<objects>/{key}`.

Paging order is the record id, and the cursor carries the last id served plus the query, so
a record that changes between pages keeps its place: no other record moves, none is skipped
or served twice. A record updated mid-paging is served with whatever values it has when its
page is read; the caller's next incremental run (filter on updatedDate with an overlap) sees
its new updatedDate again.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, NOT_FOUND, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.filters import condition, field_of, in_condition
from zsync_assets.sandbox.zuora.model import OBJECTS, ObjectType
from zsync_assets.sandbox.zuora.store import Store

MAX_PAGE_SIZE = 99  # the spec: pageSize minimum 1, maximum 99, default 10
DEFAULT_PAGE_SIZE = 10
_FILTER = re.compile(r"^(?P<field>[A-Za-z0-9_]+)\.(?P<op>EQ|NE|GT|GE|LT|LE|IN):(?P<value>.*)$", re.S)
# expand[] values this sandbox serves, per object: (expand name, output key, id field on the record)
EXPANDS = {
    "accounts": {"billto": ("billTo", "billToId"), "soldto": ("soldTo", "soldToId")},
}


def _encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise ApiError(400, INVALID_VALUE, "invalid cursor") from None


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, INVALID_VALUE, f"pageSize must be an integer, got '{raw}'") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, INVALID_VALUE, f"pageSize must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return size


def where_clause(obj: ObjectType, filters: list[str]) -> tuple[str, list[Any]]:
    sql, params = "", []
    for raw in filters:
        match = _FILTER.match(raw)
        if not match:
            raise ApiError(
                400, INVALID_VALUE, f"invalid filter '{raw}': expected <field>.<EQ|NE|GT|GE|LT|LE|IN>:<value>"
            )
        value = match["value"]
        if match["op"] == "IN":
            part, values = in_condition(obj, match["field"], value)
        else:
            part, values = condition(obj, match["field"], match["op"], None if value == "null" else value)
        sql += part
        params += values
    return sql, params


def shape(
    store: Store, obj: ObjectType, record: dict[str, Any], fields: list[str], expand: list[str], include_nulls: bool
) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if (k in fields or not fields) and (k not in obj.types or obj.has(k))}
    if fields:
        out["id"] = record["id"]
    for name in expand:
        key, id_field = EXPANDS[obj.path][name]
        related = store.get("contacts", record[id_field]) if record.get(id_field) else None
        out[key] = _drop_nulls(related) if related and not include_nulls else related
    return out if include_nulls else _drop_nulls(out)


def _drop_nulls(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def _options(obj: ObjectType, query) -> tuple[list[str], list[str], bool]:  # noqa: ANN001
    fields = [field_of(obj, f) for raw in query.getlist("fields[]") for f in raw.split(",") if f]
    expand = [e.lower() for raw in query.getlist("expand[]") for e in raw.split(",") if e]
    for name in expand:
        if name not in EXPANDS.get(obj.path, {}):
            raise ApiError(400, UNSUPPORTED, f"expand[] value '{name}' is not supported on {obj.path}")
    return fields, expand, query.get("includeNullFields", "false").lower() == "true"


def list_records(store: Store, obj: ObjectType, query) -> dict[str, Any]:  # noqa: ANN001
    if query.get("cursor"):
        state = _decode_cursor(query["cursor"])
        if state.get("o") != obj.path:
            raise ApiError(400, INVALID_VALUE, "cursor belongs to another object")
    else:
        state = {"o": obj.path, "f": query.getlist("filter[]"), "a": ""}
    size = _page_size(query.get("pageSize"))
    fields, expand, include_nulls = _options(obj, query)
    where, params = where_clause(obj, state["f"])
    rows = store.select(obj.path, where + " and id > ?", [*params, state["a"]], limit=size + 1)
    page = rows[:size]
    body: dict[str, Any] = {"data": [shape(store, obj, r, fields, expand, include_nulls) for r in page]}
    if len(rows) > size:
        body["nextPage"] = _encode_cursor({**state, "a": page[-1]["id"]})
    return body


NUMBER_FIELDS = {
    "accounts": "accountNumber",
    "invoices": "invoiceNumber",
    "payments": "paymentNumber",
    "refunds": "refundNumber",
    "credit-memos": "memoNumber",
    "debit-memos": "memoNumber",
    "subscriptions": "name",
}


def get_record(store: Store, obj: ObjectType, key: str, query) -> dict[str, Any]:  # noqa: ANN001
    """By id, or by the object's number (account number, invoice number, ...) like Zuora keys."""
    record = store.get(obj.path, key)
    if record is None and obj.path in NUMBER_FIELDS:
        found = store.find(obj.path, **{NUMBER_FIELDS[obj.path]: key})
        record = found[0] if found else None
    if record is None:
        raise ApiError(404, NOT_FOUND, f"{obj.zoql} '{key}' not found")
    fields, expand, include_nulls = _options(obj, query)
    return shape(store, obj, record, fields, expand, include_nulls)


assert all(path in OBJECTS for path in NUMBER_FIELDS)
