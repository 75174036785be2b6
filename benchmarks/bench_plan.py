"""The plan step at scale: customers mapping + classification against links on synthetic staged
data, where 90% of the source rows are unchanged since the last sync, 5% changed, 5% new.

Stages are timed the way `engine/runner.plan_flow` runs them: read the staged tables and links
from DuckDB into polars, map (`flows/customers.customers_from_zuora_accounts`), build payloads
and hash them, classify (`engine/plan.build_plan`, which includes the hashing; "classify" is
its total minus the hash stage timed on its own), write `zsync.plan_customers`. The last
column runs `plan_flow` end to end as a cross-check.

    .venv/bin/python -m benchmarks.bench_plan --rows 10000 --rows 100000   # add --rows 1000000 for the big one
"""

from __future__ import annotations

import time

import click
import polars as pl

from benchmarks import synthetic
from benchmarks.harness import Stopwatch, fresh_warehouse, per_second, print_table, scratch_dir
from zsync_assets.config import Config
from zsync_assets.engine import links as store
from zsync_assets.engine.payload_json import hash_series, payload_json
from zsync_assets.engine.plan import build_plan, payload_hash, plan_counts
from zsync_assets.engine.runner import plan_flow
from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE as FLOW
from zsync_assets.lib.warehouse import Warehouse, qualified, replace_table


def arrange(warehouse: Warehouse, n: int, config: Config) -> None:
    """Staged accounts/contacts and links as after an earlier sync: 90% same, 5% edited, 5% new."""
    tables = {"zuora.accounts": synthetic.zuora_accounts(n), "zuora.contacts": synthetic.zuora_contacts(n),
              **synthetic.netsuite_reference()}
    synthetic.write_tables(warehouse, tables)
    mapped = FLOW.mapping(tables, config)
    bodies = payload_json(mapped)
    i = pl.int_range(pl.len())
    synced = mapped.select("source_id").with_columns(payload=bodies).filter(i % 20 != 19)  # 5% never synced
    edited = (pl.int_range(pl.len()) % 19 == 18)  # of the synced, about 5% of all rows changed since
    synced = synced.with_columns(
        payload=pl.when(edited).then(pl.col("payload").map_elements(synthetic.changed, return_dtype=pl.Utf8))
        .otherwise(pl.col("payload")))
    links = synced.with_columns(
        flow=pl.lit(FLOW.name), source_system=pl.lit("zuora"), target_system=pl.lit("netsuite"),
        target_id=(pl.int_range(pl.len()) + 1_000).cast(pl.Utf8), origin=pl.lit("zuora"),
        payload_hash=pl.col("payload").map_elements(payload_hash, return_dtype=pl.Utf8),
        synced_at=pl.lit(store.now()), writeback_status=pl.lit("ok"))
    with warehouse.connect() as con:
        store.ensure_tables(con)
        con.register("_bench_links", links)
        con.execute("insert into zsync.links by name select * from _bench_links")
        con.unregister("_bench_links")


def timed_plan(warehouse: Warehouse, config: Config) -> tuple[dict[str, float], dict[str, int]]:
    watch = Stopwatch()
    with watch("read DuckDB"), warehouse.connect() as con:
        tables = {t: con.sql(f"select * from {qualified(t)}").pl() for t in FLOW.tables}
        tables["zsync.links"] = store.read_links(con)
        links = store.read_links(con, FLOW.name)
        attempts = store.read_last_attempts(con, FLOW.name)
    with watch("mapping"):
        mapped = FLOW.mapping(tables, config)
    with watch("payload + hash"):
        _ = hash_series(payload_json(mapped))
    with watch("build_plan"):
        plan = build_plan(FLOW, mapped, links, attempts)
    with watch("write DuckDB"), warehouse.connect() as con:
        replace_table(con, FLOW.plan_table, plan)
    laps = dict(watch.laps)
    laps["build_plan"] -= laps["payload + hash"]
    order = ("read DuckDB", "mapping", "payload + hash", "build_plan", "write DuckDB")
    return {("classify" if k == "build_plan" else k): laps[k] for k in order}, plan_counts(plan)


@click.command()
@click.option("--rows", "sizes", multiple=True, type=int, default=(10_000, 100_000), show_default=True,
              help="source rows (accounts); repeat for several sizes (1,000,000 takes about 5 minutes)")
def main(sizes: tuple[int, ...]) -> None:
    config = Config()
    table = []
    with scratch_dir("bench-plan") as work:
        for n in sizes:
            warehouse = fresh_warehouse(work, f"plan-{n}")
            start = time.perf_counter()
            arrange(warehouse, n, config)
            setup = time.perf_counter() - start
            laps, counts = timed_plan(warehouse, config)
            start = time.perf_counter()
            plan_flow(FLOW, warehouse, config)
            end_to_end = time.perf_counter() - start
            total = sum(laps.values())
            table.append({"source rows": n, **{f"{k} s": v for k, v in laps.items()}, "total s": total,
                          "rows/s": per_second(n, total), "plan_flow s": end_to_end,
                          "create/update/skip/blocked": "/".join(str(counts[a]) for a in
                                                                 ("create", "update", "skip", "blocked")),
                          "setup s": setup})
            print(f"{n:,} rows done in {total:.1f}s", flush=True)
    print_table("Plan step (customers, Zuora -> NetSuite)", table,
                "Columns in pipeline order; 'classify' = build_plan minus the hash stage; 'setup' writes the "
                "synthetic staged tables and links (not part of a plan).")


if __name__ == "__main__":
    main()
