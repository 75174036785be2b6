"""The staging warehouse: one DuckDB file, opened briefly and never across a network call.

DuckDB lets a single process open a database file for writing, and while it does no other
process can open it at all, readers included (https://duckdb.org/docs/current/connect/concurrency).
Dagster runs steps in several processes and people run ad-hoc SQL against the same file, so
every caller opens the file for one short unit of work through `Warehouse.connect()`, which
retries while another process holds the lock and then fails with a message saying so. The
unit of work attaches the file to an in-memory DuckDB instance that the process keeps, and
detaches it after (`_SPARE` below says why).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

DEFAULT_DB_PATH = "data/zsync.duckdb"


class WarehouseLocked(RuntimeError):
    """Another process kept the DuckDB file locked for longer than we were willing to wait."""


def default_db_path() -> str:
    return os.environ.get("ZSYNC_DB", DEFAULT_DB_PATH)


CATALOG = "warehouse"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """`zuora.accounts` -> `"zuora"."accounts"`."""
    schema, _, name = table.partition(".")
    if not name:
        raise ValueError(f"table name {table!r} must be schema-qualified, e.g. zuora.accounts")
    return f"{quote_ident(schema)}.{quote_ident(name)}"


_IN_PROCESS: dict[str, threading.RLock] = {}
_IN_PROCESS_GUARD = threading.Lock()


def _process_lock(path: Path) -> threading.RLock:
    """DuckDB refuses a second attach of the same file within one process (ResourceInUse) instead
    of waiting; threads of one process (push workers, in-process runs) take turns here."""
    with _IN_PROCESS_GUARD:
        return _IN_PROCESS.setdefault(str(path.resolve()), threading.RLock())


# Inside a sync (the Dagster resource) the file is kept attached this long after its last use,
# then detached (ZSYNC_DUCKDB_IDLE_S overrides; 0 detaches at once, as plain `Warehouse` does).
# A sync's steps use the file a couple of hundred times back to back, each attach costs ~3 ms of
# CPU (catalog, WAL); another process waiting for the file (its `connect` retries for
# `lock_timeout_s`) gets it at most this much later than before.
IDLE_CLOSE_S = 1.0


# The file is attached to an in-memory DuckDB instance, and an instance outlives its attachments:
# a new instance (`duckdb.connect()`) costs ~20 ms of CPU, ten times the attach, and a sync opens
# the file hundreds of times. Detaching releases the file's lock as closing did, so other
# processes take the file between our units of work exactly as before. An instance is lent to one
# path at a time (the catalog is always named `warehouse`), so its instance-wide settings are
# touched by that path's one unit of work at a time (the process lock); the spares are the
# instances with nothing attached, at most as many as paths were ever attached at once.
_SPARE: list[duckdb.DuckDBPyConnection] = []  # under _IN_PROCESS_GUARD


# What was made sure of in the file since it was attached, by instance (`first_since_attach`).
_SINCE_ATTACH: dict[int, set[str]] = {}


def first_since_attach(con: duckdb.DuckDBPyConnection, what: str) -> bool:
    """Whether `what` is asked about for the first time since `con`'s file was attached (and
    note that it was). For schema set-up (`create table if not exists ...`: 2-3 ms of CPU in
    statements, asked before most reads of a push): what one unit of work made stays made while
    the file is attached, since no other process can open it meanwhile (a caller of this process
    that drops it again says so: `forget_since_attach`). Always True for a connection
    `Warehouse` did not lend."""
    done = _SINCE_ATTACH.get(id(con))
    if done is None:
        return True
    if what in done:
        return False
    done.add(what)
    return True


def forget_since_attach(con: duckdb.DuckDBPyConnection) -> None:
    """After dropping what was made sure of (`zsync rebind` drops the staged schemas): everything
    is made sure of again, as after a new attachment."""
    if id(con) in _SINCE_ATTACH:
        _SINCE_ATTACH[id(con)] = set()


def _close(instance: duckdb.DuckDBPyConnection) -> None:
    _SINCE_ATTACH.pop(id(instance), None)
    instance.close()


# DuckDB draws a progress bar on stdout for a statement that runs past `progress_bar_time` (2 s):
# on a loaded machine one came out ahead of `zsync demo --format json`'s document, which no
# longer parsed. zsync's output is its own: on every connection the bar is off and never printed
# (setting `progress_bar_time` turns the bar back on; it stays unprinted). Settings of the
# connection, which DuckDB refuses as options at connect.
def _lend_instance() -> duckdb.DuckDBPyConnection:
    with _IN_PROCESS_GUARD:
        if _SPARE:
            return _SPARE.pop()
    instance = duckdb.connect()
    instance.execute("set enable_progress_bar = false")
    instance.execute("set enable_progress_bar_print = false")
    return instance


def _detach(instance: duckdb.DuckDBPyConnection) -> None:
    """Release the file (DuckDB checkpoints it on detach) and keep the instance for the next one."""
    # A unit of work may have left a transaction open: closing the connection rolled it back, and
    # a detach inside it would only take effect at its commit, the file still held. (DuckDB raises
    # when none is open, the usual case.)
    _SINCE_ATTACH.pop(id(instance), None)
    with suppress(duckdb.TransactionException):
        instance.execute("rollback")
    try:
        instance.execute("use memory")  # DuckDB refuses to detach the default catalog
        instance.execute(f"detach {CATALOG}")
    except duckdb.Error:
        _close(instance)  # releases the file all the same; the instance is not reused
        return
    except BaseException:
        _close(instance)
        raise
    with _IN_PROCESS_GUARD:
        _SPARE.append(instance)


@dataclass
class _Idle:
    instance: duckdb.DuckDBPyConnection  # with the file attached, no unit of work on it
    read_only: bool
    timer: threading.Timer


_IDLE: dict[str, _Idle] = {}  # resolved path -> the instance keeping it attached; under the file's process lock


def _idle_close_s(default: float) -> float:
    value = os.environ.get("ZSYNC_DUCKDB_IDLE_S")
    return float(value) if value else default


def _close_if_still_idle(path: Path, instance: duckdb.DuckDBPyConnection) -> None:
    with _process_lock(path):
        idle = _IDLE.get(str(path.resolve()))
        if idle is not None and idle.instance is instance:
            del _IDLE[str(path.resolve())]
            _detach(instance)


def close_idle(path: str | os.PathLike | None = None) -> None:
    """Detach the kept-attached file `path` (every path when None) now: before handing the file
    to another process that does not wait for it."""
    for key in [k for k in list(_IDLE) if path is None or k == str(Path(path).resolve())]:
        with _process_lock(Path(key)):
            idle = _IDLE.pop(key, None)
            if idle is not None:
                idle.timer.cancel()
                _detach(idle.instance)


class Warehouse:
    """Short-lived access to the DuckDB staging file at `path`."""

    def __init__(
        self, path: str | os.PathLike | None = None, *, lock_timeout_s: float | None = None, keep_open_s: float = 0.0
    ):
        self.path = Path(path or default_db_path())
        self.keep_open_s = keep_open_s  # see IDLE_CLOSE_S
        # ZSYNC_LOCK_TIMEOUT_S: how long to wait for another process's hold on the file.
        self.lock_timeout_s = (
            lock_timeout_s if lock_timeout_s is not None else float(os.environ.get("ZSYNC_LOCK_TIMEOUT_S") or 60.0)
        )

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file for one unit of work; waits (with jitter) while another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        retrying = Retrying(
            retry=retry_if_exception(_is_lock_conflict),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            stop=stop_after_delay(self.lock_timeout_s),
            reraise=True,
        )
        with _process_lock(self.path):
            key = str(self.path.resolve())
            idle = _IDLE.pop(key, None)
            if idle is not None:
                idle.timer.cancel()
                if idle.read_only != read_only:
                    _detach(idle.instance)
                    idle = None
            try:
                instance = idle.instance if idle is not None else retrying(self._attach, read_only)
            except duckdb.IOException as exc:
                if not _is_lock_conflict(exc):
                    raise
                raise WarehouseLocked(
                    f"{self.path} stayed locked by another process for {self.lock_timeout_s:.0f}s "
                    f"(DuckDB allows one process at a time). Close any open SQL session on it "
                    f"(duckdb CLI, notebook) and run again. DuckDB said: {exc}"
                ) from exc
            # The instance is the unit of work's connection, as the kept-open connection was
            # (a cursor of its own would cost 0.5 ms of CPU per unit of work).
            try:
                yield instance
            except BaseException:
                # A failed unit of work may leave the instance in any state (an open transaction,
                # a setting not reset): closing it detaches the file; the next one starts anew.
                _close(instance)
                raise
            keep = _idle_close_s(self.keep_open_s)
            if keep <= 0:
                _detach(instance)
                return
            timer = threading.Timer(keep, _close_if_still_idle, (self.path, instance))
            timer.daemon = True
            _IDLE[key] = _Idle(instance, read_only, timer)
            timer.start()

    def _attach(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        # Attached under a fixed alias: opened directly, the file's catalog would be named
        # after the file ("zsync"), and DuckDB rejects `zsync.links` as ambiguous between
        # that catalog and the `zsync` schema.
        instance = _lend_instance()
        try:
            mode = " (READ_ONLY)" if read_only else ""
            instance.execute(f"attach {_sql_string(str(self.path))} as {CATALOG}{mode}")
        except BaseException:
            with _IN_PROCESS_GUARD:
                _SPARE.append(instance)  # nothing attached: a lock conflict leaves it clean
            raise
        try:
            instance.execute(f"use {CATALOG}")
        except BaseException:
            _close(instance)
            raise
        _SINCE_ATTACH[id(instance)] = set()
        return instance

    def query(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        with self.connect() as con:
            return con.sql(sql, params=params).pl() if params else con.sql(sql).pl()

    def table_exists(self, table: str) -> bool:
        with self.connect() as con:
            return _table_exists(con, table)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | None = None):
    """The first column of the first row, or None.

    DuckDB 2.0 keeps an `execute()` result open until it is fetched to the end, and refuses any
    other statement on that connection meanwhile, so never stop at `fetchone()`.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, _, name = table.partition(".")
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, name],
        )
    )


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return _table_exists(con, table)


def _storable(frame: pl.DataFrame) -> pl.DataFrame:
    # An all-null column has polars dtype Null, which DuckDB stores as type "NULL" and then
    # cannot widen; store it as text so a later page with values still fits.
    nulls = [name for name, dtype in frame.schema.items() if dtype == pl.Null]
    return frame.with_columns(pl.col(nulls).cast(pl.Utf8)) if nulls else frame


def table_columns(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> dict[str, list[str]]:
    """The columns of each of `tables` that exists, in their order, in one catalog query."""
    rows = con.execute(
        # duckdb_columns(), not information_schema.columns (a view over it): 30% less per call
        "select schema_name || '.' || table_name, column_name from duckdb_columns() "
        "where database_name = current_database() "
        "and schema_name || '.' || table_name in (select unnest(?::varchar[])) order by column_index",
        [list(tables)],
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def _create_or_widen(con: duckdb.DuckDBPyConnection, table: str, incoming: Sequence[str]) -> None:
    """Make `table` exist with at least the columns of the registered `_zsync_incoming` (named
    `incoming`). One catalog query when it has them all, the usual case (a describe of each side
    cost two more statements on every staged page)."""
    target = qualified(table)
    existing = set(table_columns(con, [table]).get(table, ()))
    if not existing:  # a table has at least one column: it does not exist
        con.execute(f"create table {target} as select * from _zsync_incoming limit 0")
        return
    if set(incoming) <= existing:
        return
    for column, col_type in con.execute(
        "select column_name, column_type from (describe select * from _zsync_incoming)"
    ).fetchall():
        if column not in existing:
            con.execute(f"alter table {target} add column {quote_ident(column)} {col_type}")


def upsert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, key: str | Sequence[str] = "id") -> int:
    """Insert or replace `frame`'s rows in `table` by `key`; creates the table and adds new columns.

    Delete-then-insert inside one transaction instead of a primary key, so staged tables can
    gain columns over time (a vendor adds a field) without a rebuild. Returns rows written.
    """
    if frame.is_empty():
        return 0
    keys = [key] if isinstance(key, str) else list(key)
    frame = _storable(frame).unique(subset=keys, keep="last", maintain_order=True)
    schema = table.partition(".")[0]
    target = qualified(table)
    con.execute(f"create schema if not exists {quote_ident(schema)}")
    con.register("_zsync_incoming", frame)
    try:
        con.execute("begin transaction")
        _create_or_widen(con, table, frame.columns)
        match = " and ".join(f"t.{quote_ident(k)} = i.{quote_ident(k)}" for k in keys)
        con.execute(f"delete from {target} t where exists (select 1 from _zsync_incoming i where {match})")
        con.execute(f"insert into {target} by name select * from _zsync_incoming")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_zsync_incoming")
    return frame.height


def append(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append rows (for append-only logs); creates the table and adds new columns as needed."""
    if frame.is_empty():
        return 0
    frame = _storable(frame)
    schema = table.partition(".")[0]
    target = qualified(table)
    con.execute(f"create schema if not exists {quote_ident(schema)}")
    con.register("_zsync_incoming", frame)
    try:
        _create_or_widen(con, table, frame.columns)
        con.execute(f"insert into {target} by name select * from _zsync_incoming")
    finally:
        con.unregister("_zsync_incoming")
    return frame.height


def _arrow_slices(frame: pl.DataFrame, rows: int) -> pa.RecordBatchReader:
    """`frame` as one Arrow stream, converted `rows` rows at a time as DuckDB reads it."""
    batches = (
        batch for start in range(0, frame.height, rows) for batch in frame.slice(start, rows).to_arrow().to_batches()
    )
    return pa.RecordBatchReader.from_batches(frame.slice(0, 0).to_arrow().schema, batches)


def replace_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    *,
    slice_rows: int | None = None,
    append: bool = False,
) -> int:
    """Replace a whole table (plans are rewritten on every run), in one statement; `append`: add
    the rows to the table instead (it has the frame's columns).

    `slice_rows`: hand the frame over that many rows at a time. DuckDB reads a polars frame
    through a copy in Arrow; sliced, only one slice is copied at a time, and the table is still
    made by one `create table as` (appending slices in a transaction instead held every appended
    row in memory until the commit: 2 GB for a million-row plan, `zsync bench`)."""
    schema = table.partition(".")[0]
    con.execute(f"create schema if not exists {quote_ident(schema)}")
    storable = _storable(frame)
    con.register("_zsync_incoming", _arrow_slices(storable, slice_rows) if slice_rows else storable)
    try:
        if append:
            con.execute(f"insert into {qualified(table)} by name select * from _zsync_incoming")
        else:
            con.execute(f"create or replace table {qualified(table)} as select * from _zsync_incoming")
    finally:
        con.unregister("_zsync_incoming")
    return frame.height


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    if not _table_exists(con, table):
        return 0
    return int(scalar(con, f"select count(*) from {qualified(table)}"))
