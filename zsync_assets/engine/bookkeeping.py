"""zsync's own bookkeeping tables: links, the append-only push log, re-queues, instance binding.

- `zsync.links`: one row per synced source record and flow: which target record it is, the
  hash (and the JSON) of the payload last written, where the record was born (`origin`, for
  echo prevention), whether the source has learnt the link (`writeback_status`) and whether
  the counterpart was reversed since (`reversed_at`, `reversal`: engine/reversals.py).
- `zsync.push_log`: append-only; a `started` row BEFORE every vendor call and a result row
  after it. A `started` row with no result is a call whose outcome nobody saw (crash,
  dropped connection): the next push looks the record up on the target before re-sending.
- `zsync.requeue`: records an operator asked to send again despite a data error.

bookkeeping_rows.py builds the rows every writer appends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import polars as pl

from zsync_assets.lib.ddl import ensure_once
from zsync_assets.lib.warehouse import quote_ident, upsert

DDL = """
create schema if not exists zsync;
create table if not exists zsync.links (
    flow varchar not null,
    source_system varchar not null,
    source_id varchar not null,
    target_system varchar not null,
    target_id varchar not null,
    origin varchar not null,            -- 'zuora' | 'netsuite': where the record was born
    payload_hash varchar,               -- hash of the payload last written (null: matched, never written)
    payload varchar,                    -- that payload as JSON, to show changed fields
    synced_at timestamptz not null,
    writeback_status varchar,           -- null: not needed; 'pending' | 'ok' | 'failed'
    writeback_at timestamptz,
    reversed_at timestamptz,            -- the counterpart was reversed then (source canceled or deleted)
    reversal varchar,                   -- why, in words
    primary key (flow, source_id)
);
create table if not exists zsync.push_log (
    run_id varchar,
    flow varchar not null,
    source_id varchar not null,
    action varchar not null,            -- create | update | lookup | writeback | reverse
    status varchar not null,            -- started | succeeded | failed
    error_code varchar,
    error_class varchar,                -- transient | data | unknown: the client's verdict
    message varchar,
    target_id varchar,
    attempt_key varchar,                -- NetSuite externalId / Zuora Idempotency-Key
    payload_hash varchar,
    "at" timestamptz not null
);
create table if not exists zsync.migrations (
    name varchar primary key,
    applied_at timestamptz not null
);
create table if not exists zsync.requeue (
    flow varchar not null,
    source_id varchar not null,
    requested_at timestamptz not null,
    primary key (flow, source_id)
);
"""

# `reversed_at` / `reversal` are written null by every upsert: a link (re)written by a create or
# an update names a live counterpart (DuckDB's `insert or replace` keeps columns it is not given).
LINK_COLUMNS = (
    "flow",
    "source_system",
    "source_id",
    "target_system",
    "target_id",
    "origin",
    "payload_hash",
    "payload",
    "synced_at",
    "writeback_status",
    "writeback_at",
    "reversed_at",
    "reversal",
)
ATTEMPT_ACTIONS = ("create", "update", "lookup")


# Columns added to a table after its first release. A warehouse written by an older zsync gets
# them in place wherever the tables are ensured (`add column if not exists`: about 1 ms when
# present), so every reader — plans, pushes, audit views, checks — can rely on them.
ADDED_COLUMNS = (
    ("zsync.links", "reversed_at", "timestamptz"),
    ("zsync.links", "reversal", "varchar"),
)


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    for table, column, kind in ADDED_COLUMNS:
        con.execute(f"alter table {table} add column if not exists {column} {kind}")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The bookkeeping tables with every added column, made sure of once per attachment of the
    file (lib/ddl.py): a push asks 4-5 times."""
    ensure_once(con, "zsync bookkeeping tables", _create_tables)


# One-off data fixes for warehouses written by older zsync versions, each applied once.
MIGRATIONS = {
    # Before failures carried the client's verdict, a whole NetSuite request that failed was
    # logged as `ZSYNC_REQUEST_FAILED:<code>` and filed as a data error, whatever the code
    # (governance, HTTP 503, UNEXPECTED_ERROR): those records waited for a source change that
    # never came. A whole request failing says nothing about one record: send them again.
    "2026-11-request-failures-are-transient": """
        update zsync.push_log set error_class = 'transient'
        where error_class = 'data' and error_code like 'ZSYNC_REQUEST_FAILED:%'
    """,
}


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations this warehouse has not had yet; returns their names. Every plan step
    asks; once per attachment of the file (lib/ddl.py), as the tables they fix are ensured."""
    applied: list[str] = []
    ensure_once(con, "zsync migrations", lambda c: applied.extend(_apply_migrations(c)))
    return applied


def _apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    ensure_tables(con)
    done = {r[0] for r in con.execute("select name from zsync.migrations").fetchall()}
    applied = []
    for name, sql in MIGRATIONS.items():
        if name in done:
            continue
        con.execute("begin transaction")
        try:
            con.execute(sql)
            con.execute("insert into zsync.migrations values (?, ?)", [name, now()])
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        applied.append(name)
    return applied


def now() -> datetime:
    return datetime.now(UTC)


def read_links(
    con: duckdb.DuckDBPyConnection,
    flow: str | None = None,
    columns: Sequence[str] | None = None,
    ids: str | None = None,
) -> pl.DataFrame:
    """Every link, or `flow`'s; `columns` of them, or all; `ids`: only those whose source id a
    relation of that name (a registered frame with `source_id`) lists."""
    ensure_tables(con)
    selected = ", ".join(f"l.{quote_ident(c)}" for c in columns) if columns else "l.*"
    wanted = f" semi join {quote_ident(ids)} i on l.source_id = i.source_id" if ids else ""
    if flow is None:
        return con.sql(f"select {selected} from zsync.links l{wanted}").pl()
    return con.sql(f"select {selected} from zsync.links l{wanted} where l.flow = $flow", params={"flow": flow}).pl()


_LAST_ATTEMPTS = """
    select * exclude (rn) from (
        select *, row_number() over (
            partition by source_id
            order by "at" desc, case status when 'started' then 1 else 0 end
        ) as rn
        from zsync.push_log
        where flow = $flow and action in ('create', 'update', 'lookup')
    ) where rn = 1
"""


# The rejections of `$flow` not reported to the source yet (`read_unreported_rejections`).
UNREPORTED_REJECTIONS = f"""
    select last.source_id, last.attempt_key, last.error_code, last.message
    from ({_LAST_ATTEMPTS}) as last
    where last.status = 'failed' and last.error_class = 'data'
      and not exists (
          select 1 from zsync.push_log told
          where told.flow = $flow and told.action = 'writeback' and told.status = 'succeeded'
            and told.source_id = last.source_id and told.attempt_key = last.attempt_key)
"""


def read_last_attempts(
    con: duckdb.DuckDBPyConnection, flow: str, source_ids: Sequence[str] | None = None
) -> pl.DataFrame:
    """The latest write attempt row per source record (its `started` row if no result came), of
    every record of `flow` or of `source_ids`."""
    ensure_tables(con)
    if source_ids is None:
        return con.sql(_LAST_ATTEMPTS, params={"flow": flow}).pl()
    return con.sql(
        f"select * from ({_LAST_ATTEMPTS}) where source_id in (select unnest($ids::varchar[]))",
        params={"flow": flow, "ids": list(source_ids)},
    ).pl()


def read_unreported_rejections(con: duckdb.DuckDBPyConnection, flow: str, *, ensure: bool = True) -> pl.DataFrame:
    """Records whose latest attempt the target rejected (a DATA error) and whose source has not
    been told yet. Telling it is logged as a `writeback` row carrying the rejected attempt's key,
    so each rejection is reported once, and again only after a failed report. `ensure=False` as
    in `log_attempts`."""
    if ensure:
        ensure_tables(con)
    return con.sql(UNREPORTED_REJECTIONS + " order by last.source_id", params={"flow": flow}).pl()


def read_requeued(con: duckdb.DuckDBPyConnection, flow: str) -> pl.DataFrame:
    ensure_tables(con)
    return con.sql("select source_id, requested_at from zsync.requeue where flow = $flow", params={"flow": flow}).pl()


def requeue(con: duckdb.DuckDBPyConnection, flow: str, source_ids: list[str]) -> int:
    ensure_tables(con)
    frame = pl.DataFrame({"flow": flow, "source_id": source_ids, "requested_at": now()})
    return upsert(con, "zsync.requeue", frame, key=["flow", "source_id"])


_FOR_RECORDS = " where flow = ? and source_id in (select unnest(?::varchar[]))"


def clear_requeue(con: duckdb.DuckDBPyConnection, flow: str, source_ids: list[str]) -> None:
    if source_ids:
        con.execute("delete from zsync.requeue" + _FOR_RECORDS, [flow, source_ids])


def log_attempts(con: duckdb.DuckDBPyConnection, rows: list[dict], *, ensure: bool = True) -> None:
    """Append push-log rows (each a dict of the push_log columns; `at` defaults to now).
    `ensure=False` skips `ensure_tables` (3-4 ms of DDL), for a writer whose push ensured them."""
    if not rows:
        return
    if ensure:
        ensure_tables(con)
    stamp = now()
    frame = pl.DataFrame(
        [{"at": stamp, **row} for row in rows],
        schema={
            "run_id": pl.Utf8,
            "flow": pl.Utf8,
            "source_id": pl.Utf8,
            "action": pl.Utf8,
            "status": pl.Utf8,
            "error_code": pl.Utf8,
            "error_class": pl.Utf8,
            "message": pl.Utf8,
            "target_id": pl.Utf8,
            "attempt_key": pl.Utf8,
            "payload_hash": pl.Utf8,
            "at": pl.Datetime("us", "UTC"),
        },
    )
    con.register("_zsync_log", frame)
    try:
        con.execute("insert into zsync.push_log by name select * from _zsync_log")
    finally:
        con.unregister("_zsync_log")


def upsert_links(con: duckdb.DuckDBPyConnection, rows: list[dict], *, ensure: bool = True) -> None:
    if not rows:
        return
    if ensure:
        ensure_tables(con)
    frame = pl.DataFrame(
        [{c: row.get(c) for c in LINK_COLUMNS} for row in rows],
        schema={
            **{c: pl.Utf8 for c in LINK_COLUMNS},
            "synced_at": pl.Datetime("us", "UTC"),
            "writeback_at": pl.Datetime("us", "UTC"),
            "reversed_at": pl.Datetime("us", "UTC"),
        },
    )
    con.register("_zsync_links", frame)
    try:
        con.execute("insert or replace into zsync.links by name select * from _zsync_links")
    finally:
        con.unregister("_zsync_links")


def set_writeback(con: duckdb.DuckDBPyConnection, flow: str, source_ids: list[str], status: str) -> None:
    if source_ids:
        con.execute(
            "update zsync.links set writeback_status = ?, writeback_at = ?" + _FOR_RECORDS,
            [status, now(), flow, source_ids],
        )
