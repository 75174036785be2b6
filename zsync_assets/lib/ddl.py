"""zsync's `create ... if not exists` DDL, run once per DuckDB connection.

Each such statement is a catalog transaction (2-3 ms of CPU for the bookkeeping tables), and a
run's steps ensured the same tables about forty times on the one connection the warehouse keeps
open between them (lib/warehouse.py `IDLE_CLOSE_S`). Once per connection, not per process: a
connection to another file, or to a file replaced meanwhile, is another connection, and zsync
never drops its own tables (`zsync rebind` drops only the staged schemas, engine/instance.py).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import duckdb

_DONE: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, set[str]] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def ensure_once(
    con: duckdb.DuckDBPyConnection, name: str, apply: Callable[[duckdb.DuckDBPyConnection], object]
) -> None:
    """Run `apply(con)` (idempotent DDL, known as `name`) unless it already ran on `con`."""
    with _GUARD:
        if name in _DONE.get(con, ()):
            return
    apply(con)
    with _GUARD:
        _DONE.setdefault(con, set()).add(name)
