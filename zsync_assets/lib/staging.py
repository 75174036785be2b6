"""Incremental staging of one source object into one DuckDB table, the same way for both vendors.

A staged object is declared in a few lines (`StagedObject`); the vendor-specific part is only
the `fetch` callable that yields pages of records changed since a timestamp. Edge semantics:

- the high-water mark is the largest source-updated timestamp seen (UTC, never a date);
- the next run asks for records updated at or after `high_water - overlap`, because both
  vendors' page cursors can miss rows that change while a query is being paged and because
  timestamps at the boundary may share a second; rows are upserted by id, so the overlap is
  harmless;
- the mark only moves after every page was fetched and written, so a failed run re-fetches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from zsync_assets.lib.warehouse import Warehouse, read_cursor, row_count, upsert, write_cursor

DEFAULT_OVERLAP = timedelta(minutes=5)
_FLUSH_ROWS = 5000

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def snake_case(name: str) -> str:
    """`updatedDate` -> `updated_date`; `IntegrationId__NS` -> `integration_id__ns`."""
    head, sep, tail = name.partition("__")
    head = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", head).lower()
    return head + (sep + tail.lower() if sep else "")


@dataclass(frozen=True)
class StagedObject:
    """One source object staged into `<system>.<name>`."""

    system: str  # "zuora" | "netsuite"; also the DuckDB schema and the asset key prefix
    name: str  # snake_case: "product_rate_plans"; the table and the asset key's last part
    updated_field: str  # source field holding the record's last-modified time, e.g. "updatedDate"
    key: str = "id"  # source field that identifies a record, e.g. "id" or "internalId"
    description: str = ""

    @property
    def table(self) -> str:
        return f"{self.system}.{self.name}"

    @property
    def key_column(self) -> str:
        return snake_case(self.key)

    @property
    def updated_column(self) -> str:
        return snake_case(self.updated_field)


@dataclass
class StageResult:
    rows_fetched: int = 0
    rows_upserted: int = 0
    pages: int = 0
    table_rows: int = 0
    since: datetime | None = None
    high_water: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "rows_fetched": self.rows_fetched,
            "rows_upserted": self.rows_upserted,
            "pages": self.pages,
            "table_rows": self.table_rows,
            "since": self.since.isoformat() if self.since else "full extract",
            "high_water": self.high_water.isoformat() if self.high_water else "none",
            **self.extra,
        }


def parse_timestamp(value: Any) -> datetime | None:
    """A vendor timestamp (ISO 8601, with or without offset; naive means UTC) as aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _cell(value: Any) -> Any:
    # Nested values (addresses, lines, refs) are kept as JSON text: queryable with DuckDB's
    # json functions, and they never make two pages disagree on a column's type.
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    return value


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns that hold only ISO dates/timestamps become Date / UTC Datetime."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype != pl.Utf8:
            continue
        values = frame[name].drop_nulls()
        if values.is_empty():
            continue
        if values.str.contains(_DATE.pattern).all():
            casts.append(pl.col(name).str.to_date("%Y-%m-%d", strict=False))
        elif values.str.contains(_DATETIME.pattern).all():
            casts.append(
                pl.col(name).map_elements(parse_timestamp, return_dtype=pl.Datetime("us", "UTC"))
            )
    return frame.with_columns(casts) if casts else frame


def records_frame(records: list[Mapping[str, Any]]) -> pl.DataFrame:
    """Vendor records (camelCase keys) as a frame with snake_case columns and light typing."""
    rows = [{snake_case(k): _cell(v) for k, v in r.items()} for r in records]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return _typed(frame)


def stage(
    warehouse: Warehouse,
    obj: StagedObject,
    fetch: Callable[[datetime | None], Iterable[list[Mapping[str, Any]]]],
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> StageResult:
    """Fetch records changed since the high-water mark and upsert them into `obj.table`.

    `fetch(since)` yields pages (lists of vendor records); `since` is None on the first run.
    The DuckDB file is opened only between pages, never while a page is being fetched.
    """
    result = StageResult()
    with warehouse.connect() as con:
        mark = read_cursor(con, obj.table)
    result.since = mark - overlap if mark else None
    high_water = mark
    buffered: list[Mapping[str, Any]] = []

    def flush() -> None:
        if not buffered:
            return
        frame = records_frame(buffered).with_columns(_staged_at=pl.lit(datetime.now(UTC)))
        with warehouse.connect() as con:
            result.rows_upserted += upsert(con, obj.table, frame, key=obj.key_column)
        buffered.clear()

    for page in fetch(result.since):
        result.pages += 1
        result.rows_fetched += len(page)
        for record in page:
            updated = parse_timestamp(record.get(obj.updated_field))
            if updated and (high_water is None or updated > high_water):
                high_water = updated
        buffered.extend(page)
        if len(buffered) >= _FLUSH_ROWS:
            flush()
    flush()
    with warehouse.connect() as con:
        if high_water and high_water != mark:
            write_cursor(con, obj.table, high_water)
        result.table_rows = row_count(con, obj.table)
    result.high_water = high_water
    return result
