"""NetSuite records (client dicts) as flat warehouse rows the engine can join on. Pure functions.

- `internalId` / `externalId` -> `internal_id` / `external_id`; scalar fields snake_cased;
- RecordRefs (`{"internalId", "name"}`) -> `<field>_internal_id`, `<field>_name`;
- `customFieldList` -> one column per scriptId (a select value gives `<scriptId>` = its
  internalId and `<scriptId>_name`);
- sublists and other nested values -> JSON text columns (`item_list`, `addressbook_list`...);
- timestamps -> ISO text in UTC (typed by staging); NetSuite business dates (`tranDate`,
  `dueDate`, rev rec dates...) travel as dateTime at midnight in the account's time zone,
  so they keep the date as NetSuite wrote it — converting to UTC first could move the day.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from zsync_assets.lib.staging import snake_case

BUSINESS_DATES = frozenset(
    {
        "tranDate",
        "dueDate",
        "revRecStartDate",
        "revRecEndDate",
        "shipDate",
        "startDate",
        "endDate",
        "saleEffectiveDate",
        "tranIdDate",
    }
)
_REF_KEYS = frozenset({"internalId", "externalId", "name", "type", "typeId"})


def _is_ref(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and set(value) <= _REF_KEYS
        and ("internalId" in value or "externalId" in value or "name" in value)
    )


def _scalar(field: str, value: Any) -> Any:
    if isinstance(value, datetime):
        if field in BUSINESS_DATES:
            return value.date().isoformat()
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: _scalar("", v), sort_keys=True, ensure_ascii=False)


def record_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One level of a record (a header, or one line) as flat columns; `record_type` says
    which NetSuite type a header was (items mix two)."""
    row: dict[str, Any] = {}
    for field, value in record.items():
        if field == "customFieldList" and isinstance(value, Mapping):
            for script_id, custom in value.items():
                column = script_id.lower()
                if _is_ref(custom):
                    row[column] = custom.get("internalId")
                    row[f"{column}_name"] = custom.get("name")
                elif isinstance(custom, list | dict):
                    row[column] = _json(custom)
                else:
                    row[column] = _scalar(field, custom)
            continue
        column = snake_case(field)
        if _is_ref(value):
            row[f"{column}_internal_id"] = value.get("internalId")
            row[f"{column}_name"] = value.get("name")
        elif isinstance(value, Mapping | list):
            row[column] = _json(value)
        else:
            row[column] = _scalar(field, value)
    return row


def line_rows(record: Mapping[str, Any], sublist: str) -> list[dict[str, Any]]:
    """Lines of `sublist` (`itemList` -> `item`, `applyList` -> `apply`) as rows keyed by
    (`transaction_internal_id`, `line`); `line` is NetSuite's line number, else the position."""
    container = record.get(sublist) or {}
    entries = next(iter(container.values()), []) if isinstance(container, Mapping) else container
    rows = []
    for position, entry in enumerate(entries or [], start=1):
        if not isinstance(entry, Mapping):
            continue
        row = {"transaction_internal_id": record.get("internalId")}
        row.update(record_row(entry))
        row["line"] = int(entry.get("line") or position)
        rows.append(row)
    return rows
