"""From a posted Zuora invoice to its NetSuite invoice, through the sensor, as an operator runs it.

Starts `python -m zsync_assets.ui` (what `make ui` runs: the sandboxes and `dg dev` with its
daemon) on free ports with a scratch DAGSTER_HOME and warehouse, syncs once from the UI
(`sync_all`), turns the sensor `new_zuora_invoices` on and waits until its runs are done. Then,
`--invoices` times: posts an invoice in Zuora (`POST /v1/invoices`, status Posted) for a synced
account and charge, and polls NetSuite (SuiteTalk `get` by the externalId zsync gives it) until
the invoice is there. Prints one row per invoice: seconds from post to NetSuite.

    .venv/bin/python -m benchmarks.bench_sensor_latency --invoices 3
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date

import click
import httpx

from benchmarks.harness import print_table, scratch_dir
from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.config import REPO_ROOT
from zsync_assets.defs.sensors import INVOICE_POLL_SECONDS
from zsync_assets.sandbox.process import client_env
from zsync_assets.sandbox.runner import free_port

LOCATION = {"repositoryLocationName": "zsync", "repositoryName": "__repository__"}


class Ui:
    def __init__(self, url: str):
        self.url = url

    def graphql(self, query: str, **variables) -> dict:
        body = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60).json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]

    def runs(self, status: str) -> int:
        data = self.graphql("query($s: [RunStatus!]) { runsOrError(filter: {statuses: $s}) { ... on Runs { count } } }",
                            s=[status])
        return data["runsOrError"]["count"]

    def wait_idle(self, timeout_s: float = 600) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(self.runs(s) for s in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")):
                return
            time.sleep(1)
        raise TimeoutError("runs still going")


@click.command()
@click.option("--invoices", default=3, show_default=True, help="invoices to post, one after the other")
@click.option("--size", default=8, show_default=True, help="accounts in the seeded Zuora sandbox")
def main(invoices: int, size: int) -> None:
    with scratch_dir("sensor-latency") as work:
        _run(work, invoices, size)


def _run(work, invoices: int, size: int) -> None:
    ports = {"ui": free_port(), "zuora": free_port(), "netsuite": free_port()}
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "data" / "dagster_home" / "dagster.yaml", home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZUORA_", "NETSUITE_"))}
    env.update(DAGSTER_HOME=str(home), ZSYNC_DB=str(work / "zsync.duckdb"))
    proc = subprocess.Popen([sys.executable, "-m", "zsync_assets.ui", "--port", str(ports["ui"]), "--zuora-port",
                             str(ports["zuora"]), "--netsuite-port", str(ports["netsuite"]), "--sandbox-data-dir",
                             str(work / "sandbox"), "--sandbox-size", str(size)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ui = Ui(f"http://127.0.0.1:{ports['ui']}")
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{ui.url}/server_info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        ui.graphql("""mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename } }""",
                   p={"selector": {**LOCATION, "jobName": "sync_all"},
                      "runConfigData": {"execution": {"config": {"in_process": {}}}}})
        ui.wait_idle()
        ui.graphql("mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }",
                   s={**LOCATION, "sensorName": "new_zuora_invoices"})
        time.sleep(25)  # the first tick requests a run for what changed before (the write-back)
        ui.wait_idle()
        rows = [_one_invoice(ui, client_env(ports["zuora"], ports["netsuite"])) for _ in range(invoices)]
        print_table("Posted Zuora invoice -> NetSuite invoice, through new_zuora_invoices", rows,
                    note=f"sensor interval {INVOICE_POLL_SECONDS} s; sync_invoices in one process")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _one_invoice(ui: Ui, sandbox_env: dict[str, str]) -> dict:
    zuora = ZuoraResource(base_url=sandbox_env["ZUORA_BASE_URL"], client_id=sandbox_env["ZUORA_CLIENT_ID"],
                          client_secret=sandbox_env["ZUORA_CLIENT_SECRET"])
    netsuite = NetSuiteResource(wsdl_url=sandbox_env["NETSUITE_WSDL_URL"],
                                endpoint_url=sandbox_env["NETSUITE_ENDPOINT_URL"])
    with zuora.get_client() as client:
        # A synced account and a synced charge: zsync wrote their NetSuite ids back.
        account = next(r for page in client.query_objects("accounts", filters=["IntegrationId__NS.NE:null"])
                       for r in page if r.get("currency") == "USD")
        charge = next(r for page in client.query_objects("product_rate_plan_charges",
                                                         filters=["IntegrationId__NS.NE:null"]) for r in page)
    with httpx.Client(base_url=sandbox_env["ZUORA_BASE_URL"]) as api:
        token = api.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "client_id": sandbox_env["ZUORA_CLIENT_ID"],
                                               "client_secret": sandbox_env["ZUORA_CLIENT_SECRET"]}).json()
        posted_at = time.monotonic()
        invoice = api.post("/v1/invoices", headers={"Authorization": f"Bearer {token['access_token']}"}, json={
            "accountId": account["id"], "invoiceDate": date.today().isoformat(), "status": "Posted",
            "invoiceItems": [{"amount": 123.45, "serviceStartDate": date.today().isoformat(),
                              "productRatePlanChargeId": charge["id"]}]}).json()
    client = netsuite.get_client()
    try:
        while time.monotonic() - posted_at < 600:
            if client.get("invoice", external_id=f"zsync:invoices:{invoice['id']}"):
                return {"invoice": invoice["invoiceNumber"], "posted -> in NetSuite, s": round(
                    time.monotonic() - posted_at, 1)}
            time.sleep(1)
    finally:
        client.close()
    return {"invoice": invoice["invoiceNumber"], "posted -> in NetSuite, s": "not within 600 s"}


if __name__ == "__main__":
    main()
