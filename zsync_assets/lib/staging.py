"""Incremental staging of one source object into one DuckDB table, the same way for both vendors.

A staged object is declared in a few lines (`StagedObject`); the vendor-specific part is only
the `fetch` callable that yields pages of records changed since a timestamp. Edge semantics:

- the high-water mark is the largest source-updated timestamp seen (UTC, never a date);
- a run asks for records updated at or after the start of its window, `since`, because both
  vendors' page cursors can miss rows that change while a query is being paged, a change can
  become visible to queries a little after the time it is stamped with, and timestamps at the
  boundary may share a second; rows are upserted by id, so a re-read is harmless;
- the window starts `overlap` before the source's clock at the start of the previous query, not
  before the newest record. The newest record is often zsync's own write or write-back (the push
  runs after staging), so a window hung on it re-read the last push on every run, however long
  ago it was. Every change stamped before the previous query started, less `overlap`, was
  visible to that query, so it was staged then or got a newer stamp since (see `window_start`);
- the mark only moves after every page was fetched and written, so a failed run re-fetches.
- a record read again exactly as it was staged is not written again (`StagedDigests`): each
  staged row keeps a digest of the source record it was made from (`_digest`), salted with the
  code that makes rows of records. The overlap re-reads the last push's records on every run for
  `overlap` after it; at 1,000 accounts making rows of them again and writing them was most of
  zsync's CPU in such a run. A row marked deleted is written again (that clears the mark).

Every staged table has declared columns (`StagedObject.columns`, DuckDB types): its first
staging creates the table with them even when the source returned nothing, and every page is
cast to them. So "not staged yet" means only that a table's staging never ran, and a mapping
always gets a typed frame: an empty NetSuite account or a tenant without tax is just empty.
Columns the source returns beyond the declared ones are typed by their values and added.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from zsync_assets.lib.cursors import Cursor, read_cursor_state, write_cursor
from zsync_assets.lib.ddl import ensure_once
from zsync_assets.lib.warehouse import (
    Warehouse,
    qualified,
    quote_ident,
    scalar,
    table_columns,
    table_exists,
    upsert,
)

DEFAULT_OVERLAP = timedelta(minutes=5)
_FLUSH_ROWS = 5000

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


# Cached: asked for every key of every staged record (38,000 times, a quarter of a second of CPU,
# in a 40-account no-change run), of a few hundred distinct names.
@lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """`updatedDate` -> `updated_date`; `IntegrationId__NS` -> `integration_id__ns`."""
    head, sep, tail = name.partition("__")
    head = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", head).lower()
    return head + (sep + tail.lower() if sep else "")


# Declared column types (DuckDB's names) and the polars types a page is cast to.
COLUMN_TYPES: dict[str, pl.DataType] = {
    "TEXT": pl.Utf8(),
    "BIGINT": pl.Int64(),
    "DOUBLE": pl.Float64(),
    "BOOLEAN": pl.Boolean(),
    "DATE": pl.Date(),
    "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
}
STAGED_AT = "_staged_at"
DIGEST = "_digest"
# Staged rows of records deleted at the source are marked, never removed (lib/deletions.py).
DELETED_COLUMN = "_deleted_at"


@dataclass(frozen=True)
class StagedObject:
    """One source object staged into `<system>.<name>`."""

    system: str  # "zuora" | "netsuite"; also the DuckDB schema and the asset key prefix
    name: str  # snake_case: "product_rate_plans"; the table and the asset key's last part
    updated_field: str  # source field holding the record's last-modified time, e.g. "updatedDate"
    key: str = "id"  # source field that identifies a record, e.g. "id" or "internalId"
    description: str = ""
    # The declared schema: snake_case column -> type (a COLUMN_TYPES key).
    columns: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

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
    rows_unchanged: int = 0  # read again exactly as staged: not written
    pages: int = 0
    table_rows: int = 0
    since: datetime | None = None
    high_water: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "rows_fetched": self.rows_fetched,
            "rows_upserted": self.rows_upserted,
            "rows_unchanged": self.rows_unchanged,
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
            casts.append(pl.col(name).map_elements(parse_timestamp, return_dtype=pl.Datetime("us", "UTC")))
    return frame.with_columns(casts) if casts else frame


class StagingTypeError(ValueError):
    """A value the source sent does not fit its column's declared type."""


_TRUE, _FALSE = {"true", "t", "1", "yes", "y"}, {"false", "f", "0", "no", "n", ""}


def _as_declared(frame: pl.DataFrame, name: str, type_name: str, table: str) -> pl.Series:
    series, target = frame[name], COLUMN_TYPES[type_name]
    if series.dtype == target:
        return series
    try:
        if series.dtype in (pl.Utf8, pl.Null) and target == pl.Date:
            return series.cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d")
        if target == pl.Datetime("us", "UTC"):
            return series.map_elements(parse_timestamp, return_dtype=target, skip_nulls=True)
        if series.dtype == pl.Utf8 and target == pl.Boolean:
            lowered = series.str.strip_chars().str.to_lowercase()
            bad = lowered.drop_nulls().filter(~lowered.drop_nulls().is_in(list(_TRUE | _FALSE)))
            if not bad.is_empty():
                raise ValueError(f"not a boolean: {bad[0]!r}")
            return lowered.is_in(list(_TRUE)).set(lowered.is_null(), None)
        return series.cast(target, strict=True)
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        sample = series.drop_nulls().head(3).to_list()
        raise StagingTypeError(
            f"{table}.{name}: the source sent values that are not {type_name} (e.g. {sample!r}): {exc}"
        ) from None


def records_frame(
    records: Sequence[Mapping[str, Any]], columns: Mapping[str, str] | None = None, table: str = ""
) -> pl.DataFrame:
    """Vendor records (camelCase keys) as a frame with snake_case columns: declared `columns` cast
    to their type (and present even when no record has them), others typed by their values."""
    rows = [{snake_case(k): _cell(v) for k, v in r.items()} for r in records]
    declared = dict(columns or {})
    if not rows:
        return pl.DataFrame(schema={name: COLUMN_TYPES[kind] for name, kind in declared.items()})
    frame = pl.DataFrame(rows, infer_schema_length=None)
    undeclared = [c for c in frame.columns if c not in declared]
    if undeclared:
        frame = frame.with_columns(_typed(frame.select(undeclared)).get_columns())
    return frame.with_columns(
        [_as_declared(frame, name, kind, table).alias(name) for name, kind in declared.items() if name in frame.columns]
        + [pl.lit(None, COLUMN_TYPES[kind]).alias(name) for name, kind in declared.items() if name not in frame.columns]
    )


def ensure_staged_table(con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str]) -> None:
    """Create `table` with its declared columns (and `_staged_at`) if it is new, and add any
    declared column an older table lacks. An existing column keeps its type unless it is text
    that a declared type was learnt for later (then it is converted, as staging would have).
    Once per attachment of the file for the same declaration (lib/ddl.py): three catalog
    statements per staged table and run otherwise."""
    declared = json.dumps(sorted(columns.items()))
    ensure_once(con, f"staged table {table} {declared}", lambda c: _ensure_staged_table(c, table, columns))


def _ensure_staged_table(con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str]) -> None:
    schema = table.partition(".")[0]
    con.execute(f"create schema if not exists {quote_ident(schema)}")
    wanted = {**columns, STAGED_AT: "TIMESTAMPTZ"}
    if not table_exists(con, table):
        cols = ", ".join(f"{quote_ident(c)} {t.replace('TEXT', 'VARCHAR')}" for c, t in wanted.items())
        con.execute(f"create table if not exists {qualified(table)} ({cols})")
        return
    existing = dict(con.execute(f"select column_name, column_type from (describe {qualified(table)})").fetchall())
    for name, kind in wanted.items():
        duck = kind.replace("TEXT", "VARCHAR").replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")
        if name not in existing:
            con.execute(f"alter table {qualified(table)} add column {quote_ident(name)} {duck}")
        elif existing[name] != duck and existing[name] == "VARCHAR":
            # Values that don't convert stay text: nothing is lost, the mapping casts.
            with suppress(duckdb.Error):
                con.execute(f"alter table {qualified(table)} alter {quote_ident(name)} type {duck}")


# One line per staged page, for a terminal watching a long step (`zsync demo` prints this logger;
# a Dagster run does not capture it unless `python_logs` in dagster.yaml names it).
PROGRESS = logging.getLogger("zsync.progress")


def window_start(cursor: Cursor | None, overlap: timedelta) -> datetime | None:
    """The source time a run reads changes from: `cursor.covered` (every change stamped before it
    is staged already), or `high_water - overlap` if that is later (a warehouse from before
    `covered` was kept has only this). None: a full extract.

    Vendor timestamps and query filters have whole seconds (Zuora's Object Query and ZOQL filters,
    NetSuite's `dateTime`), so the window starts at the whole second: a change stamped in the
    boundary second is read again, never skipped.
    """
    if cursor is None:
        return None
    start = cursor.high_water - overlap
    if cursor.covered is not None:
        start = max(start, cursor.covered)
    return start.replace(microsecond=0)


def clock_floor(cursor: Cursor | None, asked_at: datetime) -> datetime | None:
    """The least the source's clock can read at `asked_at` (this machine's clock); None before
    the first mark.

    The source's clock had reached `high_water` by `seen_at` (that record was on a page then) and
    has run on since. Only the source's own timestamps and durations on this machine's clock are
    added up, so the two clocks may disagree by any amount. A change stamped before a query
    starts, less `overlap` (the time a vendor may take to make a stamped change visible to
    queries), is on that query's pages, or it changed again while the query was paged and was
    stamped later: so `clock_floor - overlap` is the next `covered`.
    """
    if cursor is None or cursor.seen_at is None:
        return None
    return cursor.high_water + max(asked_at - cursor.seen_at, timedelta(0))


@lru_cache(maxsize=64)
def digest_salt(obj: StagedObject, *modules: str) -> bytes:
    """What a staged row depends on besides its record: this module's code (records_frame), the
    code of `modules` (a system's own rows, e.g. defs/netsuite/rows.py) and the declared columns.
    An upgrade that changes any of them changes every digest, so each record is written anew."""
    sources = [Path(__file__).read_bytes()] + [Path(sys.modules[m].__file__ or "").read_bytes() for m in modules]
    return hashlib.sha256(b"\0".join([*sources, json.dumps(sorted(obj.columns.items())).encode()])).digest()


def text_digest(text: bytes, salt: bytes) -> str:
    """A digest of a record as the vendor sent it, before it is read (`Window.holds`)."""
    return hashlib.blake2b(salt + text, digest_size=16).hexdigest()


def record_digest(record: Mapping[str, Any], salt: bytes) -> str | None:
    """A digest of one source record as read (every field, nested ones included), or None for
    one that cannot be digested (it is then always written).

    Of its pickle: equal pickles are equal records, so a digest never calls a changed record
    unchanged. The reverse may fail (the same record read with its fields in another order),
    which costs one write. Pickling is C code: `json.dumps(sort_keys=True)` of an invoice-shaped
    record (40 fields, 20 lines of 14, dates) took 261 µs against 41 µs, here."""
    try:
        data = pickle.dumps(record, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return text_digest(data, salt)


def stamped_since(since: datetime | None) -> datetime | None:
    """A stamp below any a fetch from `since` returns: a vendor's filter may round its bound
    down (Zuora's Object Query filters compare whole seconds), so a minute earlier. A row stamped
    lower that the fetch returns after all is only written again, never taken as unchanged."""
    return since - timedelta(minutes=1) if since is not None else None


class StagedDigests:
    """The `_digest` of each live staged row of a table that a window can read again: those
    stamped at or after `since`, the lower bound the fetch asked with (None: every row). Read
    once per staging, on the first page that needs them: a query per page waited each time for
    the warehouse, which the tables staging side by side take in turn (at 1,000 accounts a page
    of invoices read again waited 0.2-0.6 s for its lookup). A record whose staged row is stamped
    before `since` has a newer stamp now, so it changed: leaving that row out decides nothing."""

    def __init__(self, warehouse: Warehouse, obj: StagedObject, since: datetime | None):
        self.warehouse, self.obj, self.since = warehouse, obj, since
        self._by_key: dict[str, str] | None = None
        self._reading = threading.Lock()  # a fetch may ask from the threads its pages are read in

    def unchanged(self, digests: Mapping[str, str | None]) -> set[str]:
        """The keys of `digests` (record key -> `record_digest`) whose staged row was made from
        the same record and is not marked deleted: writing them again would change nothing."""
        wanted = {key: digest for key, digest in digests.items() if digest is not None}
        if not wanted:
            return set()
        with self._reading:
            if self._by_key is None:
                self._by_key = self._read()
        return {key for key, digest in wanted.items() if self._by_key.get(key) == digest}

    def _read(self) -> dict[str, str]:
        table, obj = self.obj.table, self.obj
        with self.warehouse.connect() as con:
            columns = set(table_columns(con, [table]).get(table, []))
            if DIGEST not in columns:
                return {}  # staged before digests were kept: every row is written once more
            where = [f"{DIGEST} is not null"]
            if DELETED_COLUMN in columns:
                where.append(f"{quote_ident(DELETED_COLUMN)} is null")
            params: list[Any] = []
            if self.since is not None and obj.updated_column in columns:
                where.append(f"{quote_ident(obj.updated_column)} >= ?")
                params.append(self.since)
            rows = con.execute(
                f"select cast({quote_ident(obj.key_column)} as varchar), {DIGEST} from {qualified(table)} "
                f"where {' and '.join(where)}",
                params,
            ).fetchall()
        return dict(rows)


@dataclass(frozen=True)
class Window:
    """One staging's read of a table, as its fetch gets it: `since`, the lower bound to ask the
    vendor with (None: a first, full extract), and what `sift` needs to leave out the records
    read again as they are staged. A fetch that writes something of each record itself (NetSuite
    writes a transaction's lines while its page is in hand) sifts first, with this, so a record
    read again writes nothing; the rows it yields then carry their `_digest`, and `stage` takes
    them as sifted."""

    since: datetime | None
    mark: datetime | None  # the staged high-water mark (None: none yet)
    staged: StagedDigests | None  # None: nothing is staged to compare with

    def sift(
        self,
        obj: StagedObject,
        records: Sequence[Mapping[str, Any]],
        salt: bytes,
        fields: tuple[str, str] | None = None,
    ) -> tuple[dict[str, str | None], set[str]]:
        """The digest of each of `records` by key, and the keys of those staged as they are. Only
        a record stamped at or before the mark can be (a staged row's stamp is at most the mark):
        the staged digests are compared for those alone, so a page of new changes needs none of
        them. `fields`: the records' key and stamp fields when they are not `obj`'s (records read
        before they are made into rows)."""
        key_field, stamp_field = fields or (obj.key, obj.updated_field)
        digests: dict[str, str | None] = {}
        candidates: dict[str, str | None] = {}
        for record in records:
            if record.get(key_field) is None:
                continue
            key, digest = str(record[key_field]), record_digest(record, salt)
            digests[key] = digest
            if self._may_be_staged(record.get(stamp_field)):
                candidates[key] = digest
        return digests, self.staged.unchanged(candidates) if self.staged is not None else set()

    def holds(self, key: str, digest: str, stamp: Any) -> bool:
        """Whether the record `key`, stamped `stamp`, is staged, live, from a record with this
        digest: a fetch that digests what the vendor sends before reading it (NetSuite's record
        XML) asks with this. A record stamped after the mark is not asked about, as in `sift`."""
        return self.staged is not None and self._may_be_staged(stamp) and key in self.staged.unchanged({key: digest})

    def _may_be_staged(self, stamp: Any) -> bool:
        # A staged row's stamp is at most the mark, so a record stamped after it changed since.
        parsed = parse_timestamp(stamp)
        return self.mark is None or parsed is None or parsed <= self.mark


def nothing_staged(con: duckdb.DuckDBPyConnection, table: str, cursor: Cursor | None) -> bool:
    """No row of `table` can be read again as staged: a first extract into an empty table (a
    reset cursor over staged rows still compares them)."""
    return cursor is None and not scalar(con, f"select exists (select 1 from {qualified(table)})")


def _changed_only(obj: StagedObject, page: Sequence[Mapping[str, Any]], window: Window) -> list:
    """The records of `page` not staged as they are, each with its `_digest`. A page whose rows
    carry one already was sifted by its fetch (NetSuite's, before it writes their lines)."""
    if not page or DIGEST in page[0]:
        return list(page)
    digests, same = window.sift(obj, page, digest_salt(obj))
    return [
        {**r, DIGEST: digests.get(str(r[obj.key]))} if r.get(obj.key) is not None else {**r, DIGEST: None}
        for r in page
        if r.get(obj.key) is None or str(r[obj.key]) not in same
    ]


def stage(
    warehouse: Warehouse,
    obj: StagedObject,
    fetch: Callable[[Window], Iterable[Sequence[Mapping[str, Any]]]],
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    reads_since: bool = True,
) -> StageResult:
    """Fetch records changed since the start of the window and upsert them into `obj.table`.

    `fetch(window)` yields pages (lists of vendor records) changed since `window.since`, which is
    None on the first run; `reads_since=False`: the fetch reads every record whatever its stamp
    (a NetSuite list read whole), so a record read again is compared with its staged row however
    old. The DuckDB file is opened only between pages, never while a page is being fetched.
    """
    result = StageResult()
    with warehouse.connect() as con:
        ensure_staged_table(con, obj.table, obj.columns)  # exists from the first staging on, empty or not
        cursor = read_cursor_state(con, obj.table)
        look_up = not nothing_staged(con, obj.table, cursor)
    mark = cursor.high_water if cursor else None
    asked_at = datetime.now(UTC)  # before the first request: the query starts after this
    result.since = window_start(cursor, overlap)
    floor = clock_floor(cursor, asked_at)
    high_water = mark
    buffered: list[Mapping[str, Any]] = []
    staged = StagedDigests(warehouse, obj, stamped_since(result.since) if reads_since else None) if look_up else None
    window = Window(result.since, mark, staged)

    def flush() -> None:
        if not buffered:
            return
        frame = records_frame(buffered, obj.columns, obj.table).with_columns(pl.lit(datetime.now(UTC)).alias(STAGED_AT))
        with warehouse.connect() as con:
            result.rows_upserted += upsert(con, obj.table, frame, key=obj.key_column)
        buffered.clear()

    for page in fetch(window):
        result.pages += 1
        result.rows_fetched += len(page)
        PROGRESS.info("staging %s: page %d, %d record(s) so far", obj.table, result.pages, result.rows_fetched)
        for record in page:
            updated = parse_timestamp(record.get(obj.updated_field))
            if updated and (high_water is None or updated > high_water):
                high_water = updated
        changed = _changed_only(obj, page, window)
        result.rows_unchanged += len(page) - len(changed)
        buffered.extend(changed)
        if len(buffered) >= _FLUSH_ROWS:
            flush()
    flush()
    with warehouse.connect() as con:
        if high_water:
            # A new mark was on a page by now; an old one keeps the moment it was first seen.
            seen_at = cursor.seen_at if cursor and high_water == mark and cursor.seen_at else datetime.now(UTC)
            covered = max(
                (c for c in (cursor.covered if cursor else None, floor - overlap if floor else None) if c), default=None
            )
            write_cursor(con, obj.table, high_water, seen_at=seen_at, covered=covered)
        result.table_rows = int(scalar(con, f"select count(*) from {qualified(obj.table)}"))  # ensured above
    result.high_water = high_water
    return result
