"""ZOQL over REST: `POST /v1/action/query` and `POST /v1/action/queryMore`.

Zuora keeps some objects out of Object Query (InvoiceItemAdjustment among them), so clients
read them with ZOQL: `select <Fields> from <Object> where <cond> and <cond>`, at most 2000
records per page, `queryLocator` for the next page. ZOQL field names are PascalCase and
match case-insensitively. This parser covers what connectors send: comparisons
(=, !=, >, >=, <, <=) joined by `and`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.filters import condition, field_of
from zsync_assets.sandbox.zuora.model import BY_ZOQL, ObjectType
from zsync_assets.sandbox.zuora.store import Store

MAX_BATCH = 2000
_QUERY = re.compile(
    r"^\s*select\s+(?P<fields>.+?)\s+from\s+(?P<object>\w+)(?:\s+where\s+(?P<where>.+?))?\s*$", re.I | re.S
)
_COND = re.compile(r"^\s*(?P<field>\w+)\s*(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>'(?:[^'\\]|\\.)*'|[^\s']+)\s*$", re.S)
_OPS = {"=": "EQ", "!=": "NE", ">": "GT", ">=": "GE", "<": "LT", "<=": "LE"}


def _pascal(field: str) -> str:
    return field[0].upper() + field[1:]


def _parse(query: str) -> tuple[ObjectType, list[str], str, list[Any]]:
    match = _QUERY.match(query or "")
    if not match:
        raise ApiError(400, INVALID_VALUE, "queryString must read: select <fields> from <object> [where ...]")
    obj = BY_ZOQL.get(match["object"].lower())
    if obj is None:
        raise ApiError(400, INVALID_VALUE, f"invalid ZOQL object '{match['object']}'")
    fields = [field_of(obj, f.strip()) for f in match["fields"].split(",")]
    where, params = "", []
    if match["where"]:
        if re.search(r"\s+or\s+", match["where"], re.I):
            raise ApiError(400, UNSUPPORTED, "this sandbox's ZOQL supports 'and' only")
        for part in re.split(r"\s+and\s+", match["where"], flags=re.I):
            cond = _COND.match(part)
            if not cond:
                raise ApiError(400, INVALID_VALUE, f"cannot parse condition '{part.strip()}'")
            raw = cond["value"]
            value = None if raw.lower() == "null" else raw[1:-1].replace("\\'", "'") if raw.startswith("'") else raw
            sql, values = condition(obj, cond["field"], _OPS[cond["op"]], value)
            where += sql
            params += values
    return obj, fields, where, params


def _page(store: Store, query: str, batch: int, after: str) -> dict[str, Any]:
    obj, fields, where, params = _parse(query)
    rows = store.select(obj.path, where + " and id > ?", [*params, after], limit=batch + 1)
    page = rows[:batch]
    records = [{_pascal(f): r[f] for f in fields if r.get(f) is not None} for r in page]
    body: dict[str, Any] = {"records": records, "size": len(records), "done": len(rows) <= batch}
    if not body["done"]:
        state = {"q": query, "b": batch, "a": page[-1]["id"]}
        body["queryLocator"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    return body


def query(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    batch = int((request.get("conf") or {}).get("batchSize") or MAX_BATCH)
    if not 1 <= batch <= MAX_BATCH:
        raise ApiError(400, INVALID_VALUE, f"batchSize must be between 1 and {MAX_BATCH}")
    return _page(store, request.get("queryString", ""), batch, "")


def query_more(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(request.get("queryLocator") or ""))
    except ValueError:
        raise ApiError(400, INVALID_VALUE, "invalid queryLocator") from None
    return _page(store, state["q"], state["b"], state["a"])
