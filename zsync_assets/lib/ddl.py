"""zsync's `create ... if not exists` DDL, run once per attachment of the warehouse file.

Each such statement is a catalog transaction (2-3 ms of CPU for the bookkeeping tables), and a
run's steps ensured the same tables about forty times. Once per attachment, not per connection
or process: `Warehouse` lends a process's DuckDB instances to one unit of work after another and
attaches the file anew each time (lib/warehouse.py), possibly another file or one replaced
meanwhile, so what was made is remembered only while the file stays attached
(`first_since_attach`); zsync never drops its own tables (`zsync rebind` drops only the staged
schemas, engine/instance.py).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from zsync_assets.lib.warehouse import first_since_attach


def ensure_once(
    con: duckdb.DuckDBPyConnection, name: str, apply: Callable[[duckdb.DuckDBPyConnection], object]
) -> None:
    """Run `apply(con)` (idempotent DDL, known as `name`) unless it already ran since the file
    was attached to `con`; always on a connection `Warehouse` did not lend."""
    if first_since_attach(con, name):
        apply(con)
