"""Staging throughput: every `zuora/*` and `netsuite/*` object through zsync's real clients and
`lib/staging.stage` into a scratch DuckDB, against the sandboxes on loopback.

Scenarios per system: a first full extract; the same with 50 ms injected latency on every
request; the same with a burst of 429s (NetSuite: concurrency-limit faults) at the start;
and an incremental re-run on the first warehouse (only the overlap window is re-read).

    .venv/bin/python -m benchmarks.bench_staging --zuora-size 400 --netsuite-size 200
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from benchmarks.harness import (
    Sandbox, fresh_warehouse, netsuite_resource, per_second, print_table, sandbox, scratch_dir, zuora_resource,
)
from zsync_assets.defs.netsuite.assets import STAGED as NETSUITE_STAGED
from zsync_assets.defs.netsuite.assets import fetch_pages
from zsync_assets.defs.zuora.assets import STAGED as ZUORA_STAGED
from zsync_assets.lib.staging import stage
from zsync_assets.lib.warehouse import Warehouse


@dataclass
class Staged:
    rows: int
    pages: int
    calls: int
    retries: int
    seconds: float


# One pass over a system's objects: name -> Staged.
StageAll = Callable[[Warehouse], dict[str, Staged]]


def zuora_pass(box: Sandbox) -> StageAll:
    def run(warehouse: Warehouse) -> dict[str, Staged]:
        out = {}
        with zuora_resource(box).get_client() as client:
            for obj, fetcher, _api in ZUORA_STAGED:
                calls, retries = sum(client.calls.values()), sum(client.retries.values())
                start = time.perf_counter()
                result = stage(warehouse, obj, fetcher(client, obj))
                out[obj.name] = Staged(result.rows_fetched, result.pages, sum(client.calls.values()) - calls,
                                       sum(client.retries.values()) - retries, time.perf_counter() - start)
        return out

    return run


def netsuite_pass(box: Sandbox, lock_dir: Path) -> StageAll:
    def run(warehouse: Warehouse) -> dict[str, Staged]:
        out = {}
        client = netsuite_resource(box, lock_dir).get_client()
        try:
            for spec in NETSUITE_STAGED:
                calls, retries = sum(client.calls.values()), sum(client.retries.values())
                start = time.perf_counter()
                result = stage(warehouse, spec.obj, fetch_pages(client, spec, warehouse, {"line_rows": 0}))
                out[spec.name] = Staged(result.rows_fetched, result.pages, sum(client.calls.values()) - calls,
                                        sum(client.retries.values()) - retries, time.perf_counter() - start)
        finally:
            client.close()
        return out

    return run


def scenarios(box: Sandbox, run: StageAll, work: Path, burst: int, latency_ms: int) -> list[dict]:
    """Run the four scenarios and fold them into one row per object."""
    baseline_wh = fresh_warehouse(work, f"{box.name}-baseline")
    baseline = run(baseline_wh)
    incremental = run(baseline_wh)  # same warehouse: cursors set, only the overlap is re-read

    box.set_faults({"route": "*", "latency_ms": latency_ms})
    slow = run(fresh_warehouse(work, f"{box.name}-latency"))
    box.set_faults({"route": "*", "burst_429": burst})
    limited = run(fresh_warehouse(work, f"{box.name}-429"))
    box.clear_faults()

    rows = []
    for name, b in baseline.items():
        rows.append({
            "object": name, "rows": b.rows, "pages": b.pages, "calls": b.calls, "s": b.seconds,
            "rows/s": per_second(b.rows, b.seconds),
            f"+{latency_ms}ms: s": slow[name].seconds,
            "429 burst: retries": limited[name].retries, "429 burst: s": limited[name].seconds,
            "re-run: rows": incremental[name].rows, "re-run: s": incremental[name].seconds,
        })
    total = {"object": "**total**"}
    for key in rows[0]:
        if key != "object":
            total[key] = sum(r[key] for r in rows)
    total["rows/s"] = per_second(total["rows"], total["s"])
    return [*rows, total]


@click.command()
@click.option("--zuora-size", default=400, show_default=True, help="Zuora sandbox accounts")
@click.option("--netsuite-size", default=200, show_default=True, help="NetSuite sandbox size")
@click.option("--latency-ms", default=50, show_default=True, help="injected latency per request")
@click.option("--burst", default=6, show_default=True, help="429 / governance answers before calls succeed")
def main(zuora_size: int, netsuite_size: int, latency_ms: int, burst: int) -> None:
    with scratch_dir("bench-staging") as work:
        with sandbox("zuora", work, size=zuora_size) as box:
            rows = scenarios(box, zuora_pass(box), work, burst, latency_ms)
        print_table(f"Zuora staging, sandbox size {zuora_size}", rows,
                    f"429 burst: the next {burst} requests on any route answer 429; "
                    "re-run: incremental on the first warehouse (overlap window only).")
        with sandbox("netsuite", work, size=netsuite_size) as box:
            rows = scenarios(box, netsuite_pass(box, work / "locks"), work, burst, latency_ms)
        print_table(f"NetSuite staging, sandbox size {netsuite_size}", rows,
                    f"429 burst: the next {burst} SOAP requests answer a concurrency-limit fault "
                    "(WS_REQUEST_BLOCKED).")


if __name__ == "__main__":
    main()
