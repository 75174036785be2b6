"""One Zuora tenant binds to one NetSuite account (README, "Instance binding").

The first push records each system's tenant / account id in `zsync.instance`; a later push
that finds a different id stops before writing anything: pushing a warehouse full of links
into the wrong account would create (or worse, update) the wrong records.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from zsync_assets.engine.bookkeeping import now
from zsync_assets.lib.warehouse import Warehouse, forget_since_attach, table_exists


class InstanceMismatch(RuntimeError):
    pass


DDL = """
create schema if not exists zsync;
create table if not exists zsync.instance (
    system varchar primary key,   -- 'zuora' | 'netsuite'
    instance_id varchar not null, -- Zuora tenant id (token scope) / NetSuite account id
    bound_at timestamptz not null
);
"""


def bind(con: duckdb.DuckDBPyConnection, system: str, instance_id: str) -> None:
    """Record the binding on first use; refuse a different instance afterwards."""
    _bind_all(con, {system: instance_id})


def _bind_all(con: duckdb.DuckDBPyConnection, ids: Mapping[str, str]) -> None:
    # One read of the bindings for all systems: a push binds both of its sinks' systems, and each
    # statement on the file costs 1-2 ms of CPU.
    con.execute(DDL)
    bound = dict(con.execute("select system, instance_id from zsync.instance").fetchall())
    for system, instance_id in ids.items():
        if system not in bound:
            con.execute("insert into zsync.instance values (?, ?, ?)", [system, instance_id, now()])
        elif bound[system] != instance_id:
            raise InstanceMismatch(
                f"this warehouse is bound to {system} {bound[system]!r}, but the configured credentials "
                f"reach {system} {instance_id!r}; nothing was written. If the switch is deliberate (e.g. a "
                f"refreshed sandbox), run `zsync rebind --yes` to forget the binding and the links."
            )


def bind_instances(warehouse: Warehouse, ids: Mapping[str, str]) -> None:
    """`bind` each system's instance id (look the ids up BEFORE: this opens DuckDB).

    Staging calls it too: records staged from another account would overwrite this account's
    rows (same internal ids) and move its high-water marks, so a mismatch stops before reading."""
    with warehouse.connect() as con:
        _bind_all(con, ids)


STAGED_SCHEMAS = ("zuora", "netsuite")


def rebind(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the binding, every link and everything staged: the next run stages the newly
    configured instances from scratch and matches records afresh. Staged rows of the old
    instance would otherwise stay (and collide on ids); `zsync.push_log` stays as history."""
    con.execute(DDL)
    con.execute("delete from zsync.instance")
    if table_exists(con, "zsync.links"):
        con.execute("delete from zsync.links")
    if table_exists(con, "zsync.cursors"):
        con.execute("delete from zsync.cursors")
    for schema in STAGED_SCHEMAS:
        con.execute(f"drop schema if exists {schema} cascade")
    forget_since_attach(con)  # the staged tables are made anew by the next staging
