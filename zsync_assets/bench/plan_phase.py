"""The plan phase of `zsync bench`: `engine/planning.plan_flow` (DuckDB read -> mapping -> payload
JSON -> hash -> classify -> write) over about 1,000,000 staged rows, for a master flow and a
transaction flow, each in a scratch warehouse of its own.

- customers: synthetic Zuora accounts + contacts (`synthetic.py`), links and the last plan as
  after an earlier sync: 90% unchanged, 5% renamed since, 5% never synced;
- invoices: the invoices, items and tax lines the sync phases staged, copied with new ids until
  the invoice items reach the row count (the first copy keeps its ids, so those invoices are
  linked and skip), planned against the same customer and item links.
"""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from zsync_assets.bench import synthetic
from zsync_assets.bench.measure import measured
from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.payload_json import payload_hash, payload_json
from zsync_assets.engine.planning import plan_flow
from zsync_assets.lib.warehouse import Warehouse

_ID_COLUMNS = ("id", "invoice_id", "invoice_item_id", "invoice_number")


def arrange_customers(warehouse: Warehouse, rows: int, config: Config) -> None:
    """The state a plan meets on the sync after an earlier one: 95% of the accounts synced (links
    with the payload sent) and planned (the earlier sync's plan, made before the edits), then 5%
    of the synced accounts renamed in Zuora since; the 5% never synced are new."""
    from zsync_assets.defs.flows import payload_check
    from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE as flow

    tables = {
        "zuora.accounts": synthetic.zuora_accounts(rows),
        "zuora.contacts": synthetic.zuora_contacts(rows),
        **synthetic.netsuite_reference(),
    }
    synthetic.write_tables(warehouse, tables)
    mapped = flow.mapping({**tables, "zsync.links": pl.DataFrame()}, config)
    synced = mapped.select("source_id").with_columns(payload=payload_json(mapped)).filter(_never_synced.not_())
    links = synced.with_columns(
        flow=pl.lit(flow.name),
        source_system=pl.lit("zuora"),
        target_system=pl.lit("netsuite"),
        target_id=(pl.int_range(pl.len()) + 1_000).cast(pl.Utf8),
        origin=pl.lit("zuora"),
        payload_hash=pl.col("payload").map_elements(payload_hash, return_dtype=pl.Utf8),
        synced_at=pl.lit(bookkeeping.now()),
        writeback_status=pl.lit("ok"),
    )
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        con.register("_bench_links", links)
        con.execute("insert into zsync.links by name select * from _bench_links")
        con.unregister("_bench_links")
    del mapped, synced, links
    plan_flow(flow, warehouse, config, check=payload_check(flow.target_system))
    with warehouse.connect() as con:
        # the account's index is the digits of its synthetic id (synthetic.zuora_id)
        index = "cast(right(id, 23) as bigint)"
        con.execute(f"update zuora.accounts set name = name || ' Ltd' where {index} % 19 = 18 and {index} % 20 != 19")


# The accounts the earlier sync did not reach: every 20th, by the index in its synthetic id (the
# mapped rows' order is the join's, not the accounts').
_never_synced = pl.col("source_id").str.slice(-23).cast(pl.Int64) % 20 == 19


def arrange_invoices(warehouse: Warehouse, source: Path, rows: int) -> None:
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        con.execute(f"attach '{source}' as src (read_only)")
        items = con.execute("select count(*) from src.zuora.invoice_items").fetchall()[0][0]
        copies = max(1, math.ceil(rows / max(1, items)))
        for schema, table in (("zuora", "invoices"), ("zuora", "invoice_items"), ("zuora", "taxation_items")):
            columns = [r[0] for r in con.execute(f"select column_name from (describe src.{schema}.{table})").fetchall()]
            renamed = ", ".join(
                f"case when c = 0 then {col} else {col} || '~' || c end as {col}"
                for col in columns
                if col in _ID_COLUMNS
            )
            con.execute(f"create schema if not exists {schema}")
            con.execute(
                f"create table {schema}.{table} as select * replace ({renamed}) "
                f"from src.{schema}.{table}, (select range as c from range({copies}))"
            )
        # The reference tables the invoices flow declares, as staged (the accounts for the names and
        # left-out reasons of the invoices' accounts).
        for table in ("netsuite.currencies", "netsuite.tax_items", "zuora.accounts"):
            con.execute(
                f"create schema if not exists {table.split('.')[0]}; create table {table} as select * from src.{table}"
            )
        con.execute(
            "insert into zsync.links select * from src.zsync.links where flow in ('customers', 'items', 'invoices')"
        )
        con.execute("detach src")


def plan_phase(flow_name: str, warehouse: Warehouse, config: Config) -> dict[str, Any]:
    """The plan measured in a process of its own: this one holds what arranging the rows left in
    its allocators (a plan and two million synthetic rows), which a plan in it would count as its
    own peak RSS. The child measures only `plan_flow`, not its start-up."""
    from zsync_assets.flows import configured_flows

    flow = next(f for f in configured_flows(config) if f.name == flow_name)
    staged = {t: warehouse.query(f"select count(*) as n from {t}").item() for t in flow.source_tables}
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        figures = pool.submit(_measured_plan, flow_name, str(warehouse.path), config).result()
    figures.update(
        flow=flow_name,
        staged_rows=staged,
        rows_per_s=round(max(staged.values()) / figures["wall_s"]) if figures["wall_s"] else 0,
    )
    return figures


def _measured_plan(flow_name: str, path: str, config: Config) -> dict[str, Any]:
    from zsync_assets.defs.flows import payload_check
    from zsync_assets.flows import configured_flows

    flow = next(f for f in configured_flows(config) if f.name == flow_name)
    with measured() as phase:
        result = plan_flow(flow, Warehouse(path), config, check=payload_check(flow.target_system))
    figures = phase.figures()
    figures.pop("api_calls")
    figures.update(plan_rows=result.plan.height, actions=result.counts)
    return figures
