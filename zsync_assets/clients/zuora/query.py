"""Zuora's read APIs as the client pages them: Object Query, ZOQL, describe, filter timestamps.

Vendor facts (developer.zuora.com): Object Query pages hold at most 99 records and continue
with `cursor=<nextPage>`; ZOQL pages hold at most 2000 records and continue with `queryMore`;
`GET /v1/describe/{object}` answers an XML document. The functions here only shape requests
and read answers; sending, authenticating and retrying are the client's (`client.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from lxml import etree

OBJECT_QUERY_MAX_PAGE = 99  # Zuora rejects pageSize > 99 on Object Query
ZOQL_MAX_BATCH = 2000  # Zuora caps a ZOQL query/queryMore page at 2000 records


def object_query_timestamp(moment: datetime) -> str:
    """A UTC timestamp as Object Query filters take it: `2024-05-01T12:30:00Z`.

    Truncated to the second (downwards), so a `GE` filter never excludes the boundary record.
    """
    if moment.tzinfo is None:
        raise ValueError("filter timestamps must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zoql_timestamp(moment: datetime) -> str:
    """A UTC timestamp as a ZOQL literal with an explicit offset (a bare one means tenant time)."""
    if moment.tzinfo is None:
        raise ValueError("filter timestamps must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def object_query_pages(
    get: Callable[[str, list[tuple[str, Any]]], Any],
    object_name: str,
    *,
    filters: Iterable[str],
    page_size: int,
    expand: Iterable[str],
    fields: Iterable[str],
) -> Generator[list[dict[str, Any]], None, None]:
    """Pages of an Object Query list, each fetched with `get(path, params)`."""
    if not 1 <= page_size <= OBJECT_QUERY_MAX_PAGE:
        raise ValueError(f"Object Query pageSize must be 1..{OBJECT_QUERY_MAX_PAGE}, got {page_size}")
    path = "/object-query/" + object_name.replace("_", "-")
    base: list[tuple[str, Any]] = [("pageSize", page_size)]
    base += [("filter[]", f) for f in filters]
    base += [("expand[]", e) for e in expand]
    base += [("fields[]", f) for f in fields]  # only these fields per record (e.g. `id` for id lists)
    cursor: str | None = None
    while True:
        body = get(path, base + ([("cursor", cursor)] if cursor else [])) or {}
        yield list(body.get("data") or [])
        cursor = body.get("nextPage")
        if not cursor:
            return


def zoql_pages(
    post: Callable[[str, dict[str, Any]], Any], query: str, batch_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Pages of a ZOQL query, each fetched with `post(path, json_body)`."""
    if not 1 <= batch_size <= ZOQL_MAX_BATCH:
        raise ValueError(f"ZOQL batchSize must be 1..{ZOQL_MAX_BATCH}, got {batch_size}")
    conf = {"batchSize": batch_size}
    body = post("/v1/action/query", {"queryString": query, "conf": conf}) or {}
    while True:
        yield list(body.get("records") or [])
        locator = body.get("queryLocator")
        if body.get("done", True) or not locator:
            return
        body = post("/v1/action/queryMore", {"queryLocator": locator, "conf": conf}) or {}


def field_names(document: str) -> list[str]:
    """The field API names in a describe document (entities left unresolved: it is a server's text)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(document.encode("utf-8"), parser)
    return [name.text.strip() for name in root.iterfind("fields/field/name") if name.text]
