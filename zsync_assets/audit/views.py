"""The `audit.*` views: what people query to see where every record stands, and why.

Views, not tables: they read zsync's bookkeeping (`zsync.plan_<flow>`, `zsync.push_log`,
`zsync.links`) and the staged tables live, so they are never stale in their data. Their SQL is
built from the tables that exist when `refresh_views` runs (a flow's plan table appears on its
first plan, `zuora.invoices` on its first staging), so they are rebuilt after every push (the
flow checks do it), by the deletion assets, and by `zsync audit`. An input that does not exist
yet is replaced by an empty stand-in with the same columns, so every view always exists.

Views are bound in the DuckDB catalog they live in, so they work whatever alias a session
attaches the file under (`warehouse` in zsync, the file name in a plain `duckdb` session).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb

from zsync_assets.audit.reversals import manual_actions_sql
from zsync_assets.audit.sql import (
    blocked_sql,
    deleted_records_sql,
    expired_items_sql,
    failures_sql,
    flows_sql,
    plans_sql,
    reconciliation_sql,
    sync_status_sql,
    sync_summary_sql,
    unlinked_sql,
)
from zsync_assets.engine.bookkeeping import ensure_tables
from zsync_assets.engine.flow import Flow
from zsync_assets.lib.warehouse import Warehouse, qualified

SCHEMA = "audit"
STAGED_SCHEMAS = ("zuora", "netsuite")


@dataclass(frozen=True)
class FlowSides:
    """Which system a flow reads from and writes to (its name is the `flow` of links/push_log), and
    where each side's records are staged: the source records its plan reads, and the target
    records it writes (several tables when some rows write another record type). Used to find
    records with no counterpart, links whose target disappeared, and records deleted at the source."""

    flow: str
    source_system: str
    target_system: str
    source_table: str | None = None
    target_tables: tuple[str, ...] = ()


# A human label for a staged record: the first of these columns the table has.
LABEL_COLUMNS = (
    "name",
    "company_name",
    "entity_id",
    "item_id",
    "invoice_number",
    "tran_id",
    "account_number",
    "payment_number",
    "refund_number",
    "memo_number",
    "number",
)

VIEWS = (
    "flows",
    "plans",
    "deleted_records",
    "sync_status",
    "sync_summary",
    "failures",
    "blocked",
    "unlinked",
    "reconciliation",
    "expired_items",
    "manual_actions",
)


@dataclass(frozen=True)
class StagedTable:
    table: str
    key: str  # Zuora `id`, NetSuite `internal_id`
    label: str | None
    deletable: bool  # has `_deleted_at` (deletion detection ran on it)
    staged_at: bool  # has `_staged_at`


class Catalog:
    """What exists in the warehouse right now (tables and their columns)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        rows = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name in ('zsync', 'zuora', 'netsuite')"
        ).fetchall()
        self.columns: dict[str, set[str]] = {}
        for schema, table, column in rows:
            self.columns.setdefault(f"{schema}.{table}", set()).add(column)

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and set(columns) <= self.columns[table]

    def plan_tables(self) -> dict[str, str]:
        """flow -> `zsync.plan_<flow>`."""
        return {t.removeprefix("zsync.plan_"): t for t in sorted(self.columns) if t.startswith("zsync.plan_")}

    def staged(self, table: str | None) -> StagedTable | None:
        if not table or table not in self.columns:
            return None
        cols = self.columns[table]
        key = "id" if "id" in cols else "internal_id" if "internal_id" in cols else None
        if key is None:
            return None
        label = next((c for c in LABEL_COLUMNS if c in cols), None)
        return StagedTable(table, key, label, "_deleted_at" in cols, "_staged_at" in cols)

    def staged_tables(self) -> list[StagedTable]:
        tables = (self.staged(t) for t in sorted(self.columns) if t.split(".")[0] in STAGED_SCHEMAS)
        return [t for t in tables if t is not None]


def flow_sides(flows: Iterable[Flow]) -> list[FlowSides]:
    """`FlowSides` from engine `Flow` declarations: the source table is the first one the flow
    reads, the target tables are where each record type it writes is staged."""
    from zsync_assets.targets import staged_table

    sides = []
    for f in flows:
        targets = (staged_table(f.target_system, t) for t in f.target_record_types)
        sides.append(
            FlowSides(
                f.name,
                f.source_system,
                f.target_system,
                f.source_tables[0],
                tuple(dict.fromkeys(t for t in targets if t)),
            )
        )
    return sides


def _with_tables(side: FlowSides) -> FlowSides:
    """A side named without its tables (seen only in links, or built by hand) gets those of the
    declared flow of that name and direction."""
    if side.source_table or side.target_tables:
        return side
    from zsync_assets.flows import all_flows

    declared = [f for f in all_flows() if (f.name, f.source_system) == (side.flow, side.source_system)]
    return flow_sides(declared)[0] if declared else side


def configured_sides() -> list[FlowSides]:
    """The directions the current config enables (the flows in the asset graph)."""
    from zsync_assets.config import current_config
    from zsync_assets.flows import configured_flows

    return flow_sides(configured_flows(current_config()))


def declared_side(con: duckdb.DuckDBPyConnection, flow: str) -> FlowSides | None:
    """The sides of `flow`: the configured direction, else the one its links were made in."""
    return next((s for s in known_sides(con, configured_sides()) if s.flow == flow), None)


def known_sides(con: duckdb.DuckDBPyConnection, declared: Sequence[FlowSides]) -> list[FlowSides]:
    """Declared flows first; flows only seen in links (e.g. an earlier direction) after them."""
    sides = {s.flow: s for s in declared}
    for flow, source, target in con.execute(
        "select distinct flow, source_system, target_system from zsync.links order by all"
    ).fetchall():
        sides.setdefault(flow, FlowSides(flow, source, target))
    return [_with_tables(s) for s in sides.values()]


def _target_tables(catalog: Catalog, sides: Sequence[FlowSides]) -> dict[str, list[StagedTable]]:
    """flow -> the staged tables its targets may be in, for the flows whose every such table is
    staged: only then can a link's target be looked for."""
    found = {s.flow: [catalog.staged(t) for t in s.target_tables] for s in sides}
    return {flow: [t for t in tables if t is not None] for flow, tables in found.items() if tables and all(tables)}


def unlinked_targets_sql(catalog: Catalog, side: FlowSides) -> str:
    """The rows of `audit.unlinked` on `side`'s target side, as a query of that flow's tables
    alone. A check of one flow reads this instead of the view: DuckDB binds every flow's part of
    the view's union for each statement over it, ~100 ms against ~25 ms for one flow's part
    (`zsync bench`, 40 accounts, each push step's `broken_links`)."""
    target = catalog.staged(next(iter(side.target_tables), None))
    return unlinked_sql([side], {(side.flow, "target"): target}, _target_tables(catalog, [side]))


def refresh_views(con: duckdb.DuckDBPyConnection, flows: Sequence[FlowSides] = ()) -> list[str]:
    """(Re)create every `audit.*` view from what exists now; idempotent. Returns the view names."""
    ensure_tables(con)  # zsync.links / push_log / requeue: created empty if no push ran yet
    catalog = Catalog(con)
    sides = known_sides(con, flows)
    staged = {
        (s.flow, side): catalog.staged(table)
        for s in sides
        for side, table in (("source", s.source_table), ("target", next(iter(s.target_tables), None)))
    }
    targets = _target_tables(catalog, sides)
    con.execute(f"create schema if not exists {SCHEMA}")
    statements = {
        "flows": flows_sql(sides, staged),
        "plans": plans_sql(catalog.plan_tables()),
        "deleted_records": deleted_records_sql(catalog.staged_tables()),
        "sync_status": sync_status_sql(),
        "sync_summary": sync_summary_sql(),
        "failures": failures_sql(),
        "blocked": blocked_sql(),
        "unlinked": unlinked_sql(sides, staged, targets),
        "reconciliation": reconciliation_sql(catalog),
        "expired_items": expired_items_sql(catalog),
        "manual_actions": manual_actions_sql(),
    }
    # The flow checks refresh after every push, about 28 times in a run: re-creating eleven views
    # is a catalog write each time, and most of a run that changed nothing. Each view carries the
    # digest of the SQL it was made from, so an unchanged set is left as it is.
    digest = hashlib.sha256("\n".join(f"{n}: {statements[n]}" for n in VIEWS).encode()).hexdigest()
    current = con.execute(
        "select count(*) from duckdb_views() where database_name = current_database() and schema_name = ? "
        "and comment = ? and view_name in (select unnest(?::varchar[]))",
        [SCHEMA, digest, list(VIEWS)],
    ).fetchall()
    if current == [(len(VIEWS),)]:
        return [f"{SCHEMA}.{name}" for name in VIEWS]
    con.execute("begin transaction")
    try:
        for name in VIEWS:
            con.execute(f"create or replace view {qualified(f'{SCHEMA}.{name}')} as {statements[name]}")
            con.execute(f"comment on view {qualified(f'{SCHEMA}.{name}')} is '{digest}'")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return [f"{SCHEMA}.{name}" for name in VIEWS]


def refresh(warehouse: Warehouse, flows: Sequence[FlowSides] | None = None) -> list[str]:
    """Open the warehouse briefly and refresh the views (for the configured flows by default)."""
    sides = configured_sides() if flows is None else flows
    with warehouse.connect() as con:
        return refresh_views(con, sides)
