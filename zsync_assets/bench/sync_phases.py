"""The sync phases of `zsync bench`, each a real Dagster job run of the product against the
sandboxes: the initial full sync, a no-change re-sync, a re-sync after 1% of the records
changed, and the latency of one new posted Zuora invoice until NetSuite has it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl

from zsync_assets.bench.floor import api_floor_s, push_step, write_back_per_call
from zsync_assets.bench.measure import Phase, measured
from zsync_assets.bench.sandboxes import Latency, Sandboxes
from zsync_assets.defs.sensors import INVOICE_POLL_SECONDS
from zsync_assets.lib.warehouse import Warehouse


@dataclass
class SyncBench:
    boxes: Sandboxes
    warehouse: Warehouse
    latency: Latency
    flow_order: list[str]
    push_steps: dict[str, dict[str, float]] = field(default_factory=dict)  # flow -> of the last job run

    def run_job(self, name: str) -> str:
        from zsync_assets.definitions import defs

        job = defs().resolve_job_def(name)
        result = job.execute_in_process(
            raise_on_error=False, run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        )
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
            raise RuntimeError(f"job {name} failed at {failed}")
        # What each push step measured of itself (engine/assets.py): its wall and CPU seconds.
        self.push_steps = {}
        for event in result.get_asset_materialization_events():
            materialization = event.step_materialization_data.materialization
            key, metadata = materialization.asset_key.path, materialization.metadata
            if key[0] == "push" and "push_wall_s" in metadata:
                wall, cpu = metadata["push_wall_s"].value, metadata["push_cpu_s"].value
                assert isinstance(wall, float) and isinstance(cpu, float)  # MetadataValue.float
                self.push_steps[key[-1].removeprefix("push_")] = {"push_wall_s": wall, "push_cpu_s": cpu}
        return result.run_id

    def phase(self, name: str, job: str = "sync_all", before: Callable[[], Any] | None = None) -> dict[str, Any]:
        """One job run, measured; writes per flow from `zsync.push_log` of that run."""
        if before is not None:
            before()
        with measured(self.boxes.stats, self.boxes.cpu_s) as phase:
            run_id = self.run_job(job)
        return self._figures(name, phase, run_id)

    def _figures(self, name: str, phase: Phase, run_id: str) -> dict[str, Any]:
        rows = self.warehouse.query(
            "select flow, action, count(*) as n from zsync.push_log where run_id = ? and status <> 'started' "
            "and action in ('create', 'update', 'writeback') group by all",
            [run_id],
        )
        from zsync_assets.config import current_config
        from zsync_assets.flows import configured_flows

        config = current_config()
        settlement = config.invoice_settlement
        flows = {f.name: f for f in configured_flows(config)}
        writes: dict[str, dict[str, int]] = {}
        stages = []
        for flow in [flows[f] for f in self.flow_order if f in flows]:
            mine = rows.filter(pl.col("flow") == flow.name)
            pushed = int(mine.filter(pl.col("action") != "writeback")["n"].sum())
            written_back = int(mine.filter(pl.col("action") == "writeback")["n"].sum())
            if pushed or written_back:
                writes[flow.name] = {"pushed": pushed, "written_back": written_back}
            stages += [
                (flow.name, flow.target_system, pushed, 1),
                (flow.name, flow.source_system, written_back, write_back_per_call(flow, settlement)),
            ]
        floor = api_floor_s(stages, phase.api_calls, self.latency)
        push_steps = [
            push_step(flows[flow_name], counts, self.push_steps.get(flow_name, {}), self.latency, settlement)
            for flow_name, counts in writes.items()
        ]
        records = sum(w["pushed"] for w in writes.values())
        figures = phase.figures()
        figures.update(
            phase=name,
            writes=writes,
            records_pushed=records,
            write_calls={
                s: sum(n for op, n in calls.items() if _is_write(s, op)) for s, calls in phase.api_calls.items()
            },
            records_per_s=round(records / phase.wall_s, 1) if phase.wall_s else 0.0,
            api_floor_s=round(floor, 3),
            ratio_to_api_floor=round(phase.wall_s / floor, 3) if floor else None,
            cpu_ms_per_pushed_record=round(phase.cpu_s * 1000 / records, 3) if records else None,
            push_steps=push_steps,
        )
        return figures

    # --- arranging changes, the way a user would (vendor APIs) ------------------------------
    def change_accounts(self, share: float) -> int:
        """Rename `share` of the active Zuora accounts zsync synced (an edit NetSuite must get)."""
        ids = self.warehouse.query(
            "select source_id from zsync.links where flow = 'customers' and source_system = 'zuora' order by source_id"
        )["source_id"].to_list()
        chosen = ids[:: max(1, round(1 / share))][: max(1, math.ceil(len(ids) * share))]
        with self._zuora() as api:
            for account_id in chosen:
                response = api.put(
                    f"/v1/accounts/{account_id}",
                    json={"name": f"Renamed by zsync bench {datetime.now(UTC):%H%M%S} {account_id[-6:]}"},
                )
                response.raise_for_status()
        return len(chosen)

    def invoice_latency(self) -> dict[str, Any]:
        """Post one invoice through the Zuora API on a synced account and charge, run
        `sync_invoices`, and time until NetSuite answers a `get` of it."""
        account, charge = self._synced_account_and_charge()
        with self._zuora() as api:
            posted_at = time.perf_counter()
            invoice = api.post(
                "/v1/invoices",
                json={
                    "accountId": account,
                    "invoiceDate": datetime.now(UTC).date().isoformat(),
                    "status": "Posted",
                    "invoiceItems": [
                        {
                            "amount": 100,
                            "serviceStartDate": datetime.now(UTC).date().isoformat(),
                            "productRatePlanChargeId": charge,
                        }
                    ],
                },
            ).json()
        with measured(self.boxes.stats, self.boxes.cpu_s) as phase:
            run_id = self.run_job("sync_invoices")
        target = self.warehouse.query(
            "select target_id from zsync.links where flow = 'invoices' and source_id = ?", [invoice["id"]]
        )
        if target.is_empty():
            raise RuntimeError(f"invoice {invoice['id']} did not reach NetSuite: {self._plan_reason(invoice['id'])}")
        self._netsuite_get("invoice", target["target_id"][0])
        latency_s = time.perf_counter() - posted_at
        figures = self._figures("invoice_latency", phase, run_id)
        figures["invoice_latency_s"] = round(latency_s, 3)
        # The job runs at once here; under the sensor it starts up to one poll interval later.
        figures["sensor_interval_s"] = INVOICE_POLL_SECONDS
        figures["invoice_latency_worst_s"] = round(latency_s + INVOICE_POLL_SECONDS, 3)
        return figures

    def _plan_reason(self, source_id: str) -> str:
        plan = self.warehouse.query("select action, reason from zsync.plan_invoices where source_id = ?", [source_id])
        return str(plan.to_dicts())

    def _synced_account_and_charge(self) -> tuple[str, str]:
        account = self.warehouse.query(
            "select l.source_id from zsync.links l join zuora.accounts a on a.id = l.source_id "
            "where l.flow = 'customers' and a.currency = 'USD' and a.status = 'Active' order by 1 limit 1"
        ).item()
        charge = self.warehouse.query(
            "select l.source_id from zsync.links l join zuora.product_rate_plan_charges c on c.id = l.source_id "
            "where l.flow = 'items' and c.charge_type = 'Recurring' order by 1 limit 1"
        ).item()
        return account, charge

    def _zuora(self) -> httpx.Client:
        from zsync_assets.sandbox import defaults

        token = httpx.post(
            f"{self.boxes.zuora_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": defaults.ZUORA_CLIENT_ID,
                "client_secret": defaults.ZUORA_CLIENT_SECRET,
            },
            timeout=30,
        ).json()["access_token"]
        return httpx.Client(base_url=self.boxes.zuora_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def _netsuite_get(self, record_type: str, internal_id: str) -> dict | None:
        from zsync_assets.config import current_config
        from zsync_assets.defs.netsuite.resources import netsuite_resource

        client = netsuite_resource(current_config(), resolve=True).get_client()
        try:
            return client.get(record_type, internal_id=internal_id)
        finally:
            getattr(client, "close", lambda: None)()


def _is_write(system: str, op: str) -> bool:
    from zsync_assets.bench.floor import NETSUITE_WRITE_OPS

    if system == "netsuite":
        return op in NETSUITE_WRITE_OPS
    return op.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE") and op not in (
        "POST /oauth/token",
        "POST /v1/action/query",
        "POST /v1/action/queryMore",
    )
