"""Deletion detection: staged rows of records deleted at the source get `_deleted_at`.

Rows are marked, never removed: the audit shows what was deleted and what it was linked to,
and zsync never propagates a delete of a master record (README, "Deletions"). Two ways to learn of a
deletion, one per vendor:

- NetSuite reports deletions (`getDeleted`, by record type and deletion time), so it is read
  incrementally from a high-water mark in `zsync.cursors`, with the usual overlap window;
- Zuora has no deleted-records feed, so the ids of an object are listed whole (ZOQL
  `select Id`, 2000 per page, or Object Query with `fields[]=id`, 99 per page, for what ZOQL
  does not serve: defs/zuora/deletions.py) and compared with the staged table: a staged id
  Zuora no longer lists was deleted. That costs a call per 2000 records of each object, so it
  is meant to run periodically, not on every sync of a large tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from zsync_assets.lib.cursors import read_cursor, write_cursor
from zsync_assets.lib.staging import DEFAULT_OVERLAP, DELETED_COLUMN, parse_timestamp
from zsync_assets.lib.warehouse import Warehouse, qualified, quote_ident, table_exists

NETSUITE_CURSOR = "netsuite.deleted"

# getDeleted record type -> the staged table holding that type.
NETSUITE_DELETED_TYPES: dict[str, str] = {
    "customer": "netsuite.customers",
    "nonInventorySaleItem": "netsuite.items",
    "serviceSaleItem": "netsuite.items",
    "invoice": "netsuite.invoices",
    "salesOrder": "netsuite.sales_orders",
    "creditMemo": "netsuite.credit_memos",
    "customerPayment": "netsuite.customer_payments",
    "customerRefund": "netsuite.customer_refunds",
}

# Zuora objects whose ids are reconciled: the masters and documents the flows read.
# Transactions too: a synced one deleted in Zuora has its NetSuite counterpart reversed (the
# flows read `_deleted_at`; invoice item adjustments are ZOQL-only and cannot be listed here).
ZUORA_RECONCILED = (
    "accounts",
    "products",
    "product_rate_plans",
    "product_rate_plan_charges",
    "subscriptions",
    "invoices",
    "payments",
    "refunds",
    "credit_memos",
    "debit_memos",
)


@dataclass
class DeletionResult:
    reported: int = 0  # deletions the source reported / ids missing at the source
    marked: dict[str, int] = field(default_factory=dict)  # table -> rows newly marked
    restored: dict[str, int] = field(default_factory=dict)  # table -> rows listed again (mark cleared)
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not reconciled
    since: datetime | None = None

    def metadata(self) -> dict:
        return {
            "reported": self.reported,
            "newly_marked": sum(self.marked.values()),
            "marked_by_table": self.marked,
            "restored_by_table": self.restored,
            "skipped": self.skipped,
            "since": self.since.isoformat() if self.since else "everything",
        }


@dataclass
class NetSuiteDeleted:
    """What getDeleted reported, read and not yet marked (`read_netsuite_deletions`)."""

    result: DeletionResult
    mark: datetime | None  # the cursor when the read started
    high_water: datetime | None
    by_table: dict[str, dict[str, datetime]] = field(default_factory=dict)


def detect_netsuite_deletions(
    warehouse: Warehouse,
    get_deleted: Callable[[list[str], datetime | None], Iterable[Sequence[Mapping[str, Any]]]],
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> DeletionResult:
    """Mark staged NetSuite rows whose record getDeleted reports; `get_deleted(types, since)` is
    the client's. The mark moves only after every page was read and written."""
    return mark_netsuite_deletions(warehouse, read_netsuite_deletions(warehouse, get_deleted, overlap=overlap))


def read_netsuite_deletions(
    warehouse: Warehouse,
    get_deleted: Callable[[list[str], datetime | None], Iterable[Sequence[Mapping[str, Any]]]],
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> NetSuiteDeleted:
    """Every page getDeleted reports since the cursor, less the overlap; nothing is written.

    It may be read while NetSuite's tables are being staged, if the marks are made only after
    they are (`mark_netsuite_deletions`): a record deleted before the read is reported now and its
    row, if staging wrote one, is there to mark; one deleted after the read is reported to the
    next run, whose window starts before it (the cursor only moves to a deletion seen here)."""
    with warehouse.connect() as con:
        mark = read_cursor(con, NETSUITE_CURSOR)
    deleted = NetSuiteDeleted(DeletionResult(since=mark - overlap if mark else None), mark, mark)
    for page in get_deleted(list(NETSUITE_DELETED_TYPES), deleted.result.since):
        for record in page:
            table = NETSUITE_DELETED_TYPES.get(str(record.get("type")))
            when = parse_timestamp(record.get("deletedDate")) or datetime.now(UTC)
            deleted.result.reported += 1
            if table and record.get("internalId"):
                deleted.by_table.setdefault(table, {})[str(record["internalId"])] = when
            deleted.high_water = when if deleted.high_water is None else max(deleted.high_water, when)
    return deleted


def mark_netsuite_deletions(warehouse: Warehouse, deleted: NetSuiteDeleted) -> DeletionResult:
    """Mark the staged rows of what `read_netsuite_deletions` read, then move the cursor."""
    result = deleted.result
    with warehouse.connect() as con:
        for table, rows in deleted.by_table.items():
            result.marked[table] = mark_deleted(con, table, "internal_id", rows)
        if deleted.high_water and deleted.high_water != deleted.mark:
            write_cursor(con, NETSUITE_CURSOR, deleted.high_water)
    return result


def _staged_ids(warehouse: Warehouse, table: str) -> set[str] | None:
    with warehouse.connect() as con:
        if not table_exists(con, table):
            return None
        rows = con.execute(f"select cast({quote_ident('id')} as varchar) from {qualified(table)}").fetchall()
    return {r[0] for r in rows}


def detect_zuora_deletions(
    warehouse: Warehouse,
    list_ids: Callable[[str], Iterable[str]],
    objects: Iterable[str] = ZUORA_RECONCILED,
    *,
    concurrency: int = 1,
) -> DeletionResult:
    """Mark staged Zuora rows whose id Zuora no longer lists; `list_ids(object)` lists them all,
    up to `concurrency` objects at once (each object's pages follow one another: a cursor).

    Ids are listed after staging (the asset depends on the staging assets), and after the staged
    ids were read, so a record created meanwhile is simply not staged yet; one listed again (a
    mark that turned out wrong) is cleared."""
    result = DeletionResult()
    staged_by_table: dict[str, set[str]] = {}
    for name in objects:
        table = f"zuora.{name}"
        staged_ids = _staged_ids(warehouse, table)
        if staged_ids is None:
            result.skipped[table] = "not staged yet"
        else:
            staged_by_table[name] = staged_ids
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(staged_by_table) or 1))) as pool:
        names = list(staged_by_table)
        listed = dict(zip(names, pool.map(lambda name: {str(i) for i in list_ids(name)}, names), strict=True))
    for name, staged in staged_by_table.items():
        table = f"zuora.{name}"
        present = listed[name]
        if staged and not present:
            # An empty listing of a non-empty table is far likelier a permission or API problem
            # than every record being deleted: refuse rather than mark everything.
            result.skipped[table] = "Zuora listed no ids at all; nothing marked"
            continue
        missing = staged - present
        now = datetime.now(UTC)
        result.reported += len(missing)
        with warehouse.connect() as con:
            result.marked[table] = mark_deleted(con, table, "id", dict.fromkeys(missing, now))
            result.restored[table] = unmark_deleted(con, table, "id", staged & present)
    return result


def mark_deleted(con: duckdb.DuckDBPyConnection, table: str, key: str, deleted: Mapping[str, datetime]) -> int:
    """Set `_deleted_at` on staged rows of records deleted at the source (id -> when).

    The row stays: people see what was deleted and what it was linked to, and nothing in zsync
    propagates a delete of a master record. Returns how many staged rows were newly marked."""
    if not deleted or not table_exists(con, table):
        return 0
    target, column = qualified(table), quote_ident(DELETED_COLUMN)
    con.execute(f"alter table {target} add column if not exists {column} timestamptz")
    ids = list(deleted)
    before = con.execute(
        f"select count(*) from {target} where {column} is null and cast({quote_ident(key)} as varchar) "
        "in (select unnest(?::varchar[]))",
        [ids],
    ).fetchall()[0][0]
    con.executemany(
        f"update {target} set {column} = ? where cast({quote_ident(key)} as varchar) = ? and {column} is null",
        [[when, record_id] for record_id, when in deleted.items()],
    )
    return int(before)


def unmark_deleted(con: duckdb.DuckDBPyConnection, table: str, key: str, present: Iterable[str]) -> int:
    """Clear `_deleted_at` on rows whose record the source lists again."""
    ids = list(present)
    if not ids or not table_exists(con, table):
        return 0
    target, column = qualified(table), quote_ident(DELETED_COLUMN)
    con.execute(f"alter table {target} add column if not exists {column} timestamptz")
    where = f"{column} is not null and cast({quote_ident(key)} as varchar) in (select unnest(?::varchar[]))"
    count = con.execute(f"select count(*) from {target} where {where}", [ids]).fetchall()[0][0]
    if count:
        con.execute(f"update {target} set {column} = null where {where}", [ids])
    return int(count)
