"""High-water marks of incremental staging (`zsync.cursors`): per staged table, the largest
source-updated UTC timestamp staged so far, and what staging knows of the source's clock (its
window, lib/staging.py). A mark is a UTC instant, never a date or a wall clock (README, "Staging"
and "Time zones").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from zsync_assets.lib.ddl import ensure_once

_CURSORS_DDL = """
create schema if not exists zsync;
create table if not exists zsync.cursors (
    name varchar primary key,      -- e.g. 'zuora.accounts'
    high_water timestamptz not null, -- the largest source-updated timestamp staged so far (UTC)
    updated_at timestamptz not null
);
-- Staging's window (lib/staging.py): when this machine first saw the high-water record, and
-- the source time before which every change is known to be staged. Older warehouses lack them.
alter table zsync.cursors add column if not exists seen_at timestamptz;
alter table zsync.cursors add column if not exists covered timestamptz;
"""


@dataclass(frozen=True)
class Cursor:
    """A staged table's high-water mark, and what staging knows about the source clock."""

    high_water: datetime
    # This machine's clock when the record at `high_water` was first staged: the source's clock
    # had reached `high_water` by then, and has run on since.
    seen_at: datetime | None = None
    # Every record the source changed before this source time is staged in its latest state.
    covered: datetime | None = None


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value else None


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_once(con, "zsync.cursors", lambda c: c.execute(_CURSORS_DDL))


def read_cursor_state(con: duckdb.DuckDBPyConnection, name: str) -> Cursor | None:
    _ensure_table(con)
    rows = con.execute("select high_water, seen_at, covered from zsync.cursors where name = ?", [name]).fetchall()
    if not rows:
        return None
    high_water, seen_at, covered = rows[0]
    return Cursor(high_water.astimezone(UTC), _utc(seen_at), _utc(covered))


def read_cursor(con: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    state = read_cursor_state(con, name)
    return state.high_water if state else None


def write_cursor(
    con: duckdb.DuckDBPyConnection,
    name: str,
    high_water: datetime,
    *,
    seen_at: datetime | None = None,
    covered: datetime | None = None,
) -> None:
    if any(v is not None and v.tzinfo is None for v in (high_water, seen_at, covered)):
        raise ValueError("cursors are UTC timestamps; got a naive datetime")
    _ensure_table(con)
    con.execute(
        "insert or replace into zsync.cursors (name, high_water, updated_at, seen_at, covered) values (?, ?, ?, ?, ?)",
        [name, high_water.astimezone(UTC), datetime.now(UTC), _utc(seen_at), _utc(covered)],
    )
