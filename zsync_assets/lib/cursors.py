"""High-water marks of incremental staging (`zsync.cursors`): per staged table, the largest
source-updated UTC timestamp staged so far. A mark is a UTC instant, never a date or a wall
clock (README, "Staging" and "Time zones").
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from zsync_assets.lib.warehouse import scalar

_CURSORS_DDL = """
create schema if not exists zsync;
create table if not exists zsync.cursors (
    name varchar primary key,      -- e.g. 'zuora.accounts'
    high_water timestamptz not null, -- the largest source-updated timestamp staged so far (UTC)
    updated_at timestamptz not null
);
"""


def read_cursor(con: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    con.execute(_CURSORS_DDL)
    value = scalar(con, "select high_water from zsync.cursors where name = ?", [name])
    return value.astimezone(UTC) if value else None


def write_cursor(con: duckdb.DuckDBPyConnection, name: str, high_water: datetime) -> None:
    if high_water.tzinfo is None:
        raise ValueError("cursors are UTC timestamps; got a naive datetime")
    con.execute(_CURSORS_DDL)
    con.execute(
        "insert or replace into zsync.cursors values (?, ?, ?)",
        [name, high_water.astimezone(UTC), datetime.now(UTC)],
    )
