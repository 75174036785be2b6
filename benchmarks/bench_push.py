"""Push throughput through the engine and the vendor sinks, against sandboxes with API latency.

NetSuite: N synthetic Zuora accounts (staged tables as staging writes them; NetSuite's
subsidiaries/currencies/terms/customers staged from the sandbox for real) are planned and
pushed by `engine/push.push_flow` through `NetSuiteSink` to a NetSuite sandbox answering each
call after `--call-ms` plus `--record-ms` per record, at client concurrency 1 / 5 / 10 with the
sandbox's account concurrency limit set to the same value. For comparison, the same records
are also sent straight through `NetSuiteClient.upsert_list` (which splits a list into
vendor-size chunks and sends `concurrency` of them at once). Each row starts from a fresh
sandbox and warehouse, so every record is a create.

Zuora: N synthetic NetSuite customers flagged send-to-Zuora are pushed by the engine through
`ZuoraSink` (one `POST /v1/accounts` per record, with an Idempotency-Key) to a Zuora sandbox
with `--call-ms` latency on that route.

Write-back to the source is left out (the synthetic source records do not exist in the
source sandbox); records/s is for the target writes and their bookkeeping in DuckDB.

    .venv/bin/python -m benchmarks.bench_push --records 2000 --zuora-records 100
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import httpx

from benchmarks import synthetic
from benchmarks.harness import (
    Sandbox, fresh_warehouse, netsuite_resource, per_second, print_table, sandbox, scratch_dir, zuora_resource,
)
from zsync_assets.config import Config
from zsync_assets.defs.netsuite.assets import STAGED as NETSUITE_STAGED
from zsync_assets.defs.netsuite.assets import fetch_pages
from zsync_assets.defs.zuora.assets import STAGED as ZUORA_STAGED
from zsync_assets.engine.push import PushResult, push_flow
from zsync_assets.engine.runner import plan_flow
from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE, CUSTOMERS_TO_ZUORA
from zsync_assets.lib.staging import stage
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.targets.netsuite import NetSuiteSink
from zsync_assets.targets.zuora import ZuoraSink


def stage_netsuite_reference(box: Sandbox, warehouse: Warehouse, lock_dir: Path) -> None:
    client = netsuite_resource(box, lock_dir).get_client()
    try:
        for spec in NETSUITE_STAGED:
            if f"netsuite.{spec.name}" in CUSTOMERS_TO_NETSUITE.reference_tables:
                stage(warehouse, spec.obj, fetch_pages(client, spec, warehouse, {"line_rows": 0}))
    finally:
        client.close()


def engine_push(flow, warehouse: Warehouse, sink: Any, config: Config) -> tuple[PushResult, float, int]:
    """Plan, then time the push alone; returns (result, seconds, records planned)."""
    planned = plan_flow(flow, warehouse, config).counts
    start = time.perf_counter()
    result = push_flow(flow, warehouse, sink, config)
    return result, time.perf_counter() - start, planned["create"] + planned["update"]


def peak_in_flight(box: Sandbox) -> int:
    return httpx.get(f"{box.url}/").json()["peak_in_flight"]


def netsuite_row(mode: str, concurrency: int, seconds: float, sent: int, ok: int, client: Any,
                 box: Sandbox) -> dict:
    limit = httpx.get(f"{box.url}/").json()["concurrency_limit"]
    return {"target": "NetSuite", "path": mode, "concurrency": concurrency, "account limit": limit,
            "records": sent, "ok": ok,
            "s": seconds, "records/s": per_second(ok, seconds), "calls": sum(client.calls.values()),
            "governance retries": sum(client.retries.values()), "peak in flight": peak_in_flight(box)}


def netsuite_push(work: Path, n: int, concurrency: int, call_ms: int, record_ms: float, config: Config,
                  direct: bool, account_limit: int | None = None) -> dict:
    account_limit = account_limit or concurrency
    tag = f"ns-{concurrency}-{account_limit}-{'direct' if direct else 'engine'}"
    with sandbox("netsuite", work / tag, size=20, concurrency_limit=account_limit,
                 latency_per_record_ms=record_ms) as box:
        warehouse = fresh_warehouse(work, tag)
        synthetic.write_tables(warehouse, {"zuora.accounts": synthetic.zuora_accounts(n),
                                           "zuora.contacts": synthetic.zuora_contacts(n)})
        stage_netsuite_reference(box, warehouse, work / "locks")
        box.set_faults({"route": "upsertList", "latency_ms": call_ms})
        client = netsuite_resource(box, work / "locks", concurrency=concurrency).get_client()
        try:
            if direct:
                plan = plan_flow(CUSTOMERS_TO_NETSUITE, warehouse, config).plan
                records = [{**json.loads(p), "externalId": e}
                           for p, e in plan.select("payload", "external_id").iter_rows()]
                start = time.perf_counter()
                results = client.upsert_list("customer", records)
                seconds = time.perf_counter() - start
                return netsuite_row("client.upsert_list", concurrency, seconds, len(records),
                                    sum(r.ok for r in results), client, box)
            result, seconds, _ = engine_push(CUSTOMERS_TO_NETSUITE, warehouse, NetSuiteSink(client), config)
            return netsuite_row("engine push_flow", concurrency, seconds, result.sent, result.succeeded, client, box)
        finally:
            client.close()


def zuora_push(work: Path, n: int, call_ms: int, config: Config) -> dict:
    with sandbox("zuora", work / "zuora", size=20) as box:
        warehouse = fresh_warehouse(work, "zuora-push")
        reference = synthetic.netsuite_reference()["netsuite.currencies"]
        synthetic.write_tables(warehouse, {
            "netsuite.customers": synthetic.netsuite_customers(n, reference["internal_id"].to_list()),
            "netsuite.currencies": reference})
        with zuora_resource(box).get_client() as client:
            accounts = next(s for s in ZUORA_STAGED if s[0].name == "accounts")
            stage(warehouse, accounts[0], accounts[1](client, accounts[0]))
        box.set_faults({"route": "POST /v1/accounts", "latency_ms": call_ms})
        with zuora_resource(box).get_client() as client:
            result, seconds, _ = engine_push(CUSTOMERS_TO_ZUORA, warehouse, ZuoraSink(client), config)
            calls, retries = sum(client.calls.values()), sum(client.retries.values())
    return {"target": "Zuora", "path": "engine push_flow", "concurrency": config.zuora_concurrency, "account limit": 40,
            "records": result.sent,
            "ok": result.succeeded, "s": seconds, "records/s": per_second(result.succeeded, seconds),
            "calls": calls, "governance retries": retries, "peak in flight": "-"}


@click.command()
@click.option("--records", default=2000, show_default=True, help="customers pushed to NetSuite")
@click.option("--oversubscribe/--no-oversubscribe", default=True, show_default=True,
              help="add a row with client concurrency above the account limit (governance faults)")
@click.option("--zuora-records", default=100, show_default=True, help="customers pushed to Zuora")
@click.option("--call-ms", default=100, show_default=True, help="sandbox latency per write call")
@click.option("--record-ms", default=2.0, show_default=True, help="NetSuite sandbox latency per record")
@click.option("--concurrency", "levels", multiple=True, type=int, default=(1, 5, 10), show_default=True)
def main(records: int, oversubscribe: bool, zuora_records: int, call_ms: int, record_ms: float, levels: tuple[int, ...]) -> None:
    config = Config()
    rows: list[dict] = []
    with scratch_dir("bench-push") as work:
        for concurrency in levels:
            # The client alone at concurrency 1 sends exactly what the engine sends: not repeated.
            for direct in (False, True) if concurrency > 1 else (False,):
                rows.append(netsuite_push(work, records, concurrency, call_ms, record_ms, config, direct))
                print(f"NetSuite c={concurrency} {'direct' if direct else 'engine'}: {rows[-1]['s']:.1f}s",
                      flush=True)
        if oversubscribe:
            # A client configured above the account's licence: the governance faults and retries.
            rows.append(netsuite_push(work, records, 2 * max(levels), call_ms, record_ms, config, True,
                                      account_limit=max(levels) // 2 or 1))
        if zuora_records:
            rows.append(zuora_push(work, zuora_records, call_ms, config))
    print_table("Push (customers)", rows,
                f"Sandbox latency: {call_ms} ms per write call" + f" + {record_ms:g} ms per record (NetSuite); "
                "account limit: the sandbox's concurrency limit. 'calls': SOAP/HTTP requests the "
                "client sent, retries included; 'governance retries': re-sent after WS_REQUEST_BLOCKED / 429.")


if __name__ == "__main__":
    main()
