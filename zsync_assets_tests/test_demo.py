"""`zsync demo` end to end, as a new user runs it: every flow it enables does work.

Each variant (plain, `--settlement`) runs once, in a process of its own, against fresh sandboxes
in a temp dir: pass 1 syncs, the demo acts as users through the vendors' APIs (NetSuite payment,
refund, credit memo and sales orders on records pass 1 created; a canceled Zuora payment; a
rev-rec date), pass 2 syncs that. The tests then read what the demo left with other processes,
as an operator would the next morning.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from zsync_assets.cli.demo_users import act_as_users
from zsync_assets.cli.sandboxes import SandboxProcess, start_sandboxes
from zsync_assets.cli.users import Tenants
from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.config import REPO_ROOT
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox import defaults
from zsync_assets.sandbox.runner import free_port
from zsync_assets_tests.fixtures.sync_env import netsuite_write_calls, zuora_write_calls

# Accounts to seed: enough for every kind of seeded document (adjustments, refunds, credit and
# debit memos: sandbox/zuora/seed.py `customer`), small enough to keep both runs short.
SIZE = 16
COMMON_FLOWS = {
    "customers",
    "items",
    "invoices",
    "subscriptions",
    "payments",
    "netsuite_payments",
    "refunds",
    "netsuite_refunds",
}
FLOWS = {
    "plain": COMMON_FLOWS | {"adjustments", "netsuite_credit_memos"},
    "settlement": COMMON_FLOWS | {"credit_memos", "debit_memos"},
}


@dataclass
class Demo:
    variant: str
    work: Path
    env: dict[str, str]
    sandboxes: SandboxProcess
    status: dict  # the demo's own closing status, as `--format json` prints it
    writes_before_rerun: dict[str, int] | None = None

    def zsync(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "zsync_assets.cli", *args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def write_calls(self) -> dict[str, int]:
        zuora = httpx.get(f"{self.env['ZUORA_BASE_URL']}/__sandbox/stats").json()
        netsuite = httpx.get(f"{defaults.netsuite_url(self.sandboxes.netsuite_port)}/__sandbox/stats").json()
        return {"zuora": zuora_write_calls(zuora), "netsuite": netsuite_write_calls(netsuite)}

    def tenants(self) -> Tenants:
        return Tenants(
            Warehouse(self.env["ZSYNC_DB"]),
            ZuoraResource(
                base_url=self.env["ZUORA_BASE_URL"],
                client_id=self.env["ZUORA_CLIENT_ID"],
                client_secret=self.env["ZUORA_CLIENT_SECRET"],
            ),
            NetSuiteResource(
                wsdl_url=self.env["NETSUITE_WSDL_URL"],
                endpoint_url=self.env["NETSUITE_ENDPOINT_URL"],
                lock_dir=str(self.work / "locks"),
            ),
        )


@pytest.fixture(scope="module", params=sorted(FLOWS))
def demo(request, tmp_path_factory) -> Iterator[Demo]:
    variant = request.param
    work = tmp_path_factory.mktemp(f"demo-{variant}")
    home = work / "data" / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "data" / "dagster_home" / "dagster.yaml", home)  # what a clone has
    sandboxes = start_sandboxes(
        free_port(),
        free_port(),
        data_dir=work / "data" / "sandbox",
        size=SIZE,
        invoice_settlement=variant == "settlement",  # the tenant the demo's settings describe
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZUORA_", "NETSUITE_", "PYTEST_", "ZSYNC_"))}
    env.update(
        sandboxes.env,
        DAGSTER_HOME=str(home),
        ZSYNC_DB=str(work / "data" / "zsync.duckdb"),
        ZSYNC_SANDBOX_DATA=str(work / "data" / "sandbox"),
        ZSYNC_CACHE_DIR=os.environ["ZSYNC_CACHE_DIR"],
    )
    try:
        args = ["demo", "--format", "json", *(["--settlement"] if variant == "settlement" else [])]
        run = subprocess.run(
            [sys.executable, "-m", "zsync_assets.cli", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert run.returncode == 0, run.stderr[-4000:]
        yield Demo(variant, work, env, sandboxes, json.loads(run.stdout))
    finally:
        sandboxes.stop()


def _linked(status: dict) -> dict[str, int]:
    return {row["flow"]: row["linked"] for row in status["flows"]}


def test_every_flow_the_demo_enables_links_records(demo):
    linked = _linked(demo.status)
    assert set(linked) == FLOWS[demo.variant]
    assert {flow for flow, n in linked.items() if n == 0} == set(), linked


def test_status_in_another_process_lists_the_same_flows_and_counts(demo):
    # The demo's settings are kept beside the sandbox data, not in the demo's environment.
    later = demo.zsync("status", "--format", "json")
    assert later.returncode in (0, 1), later.stderr
    assert json.loads(later.stdout)["flows"] == demo.status["flows"]
    config = {row["key"]: row for row in json.loads(demo.zsync("config", "--format", "json").stdout)}
    expected = {
        "payments_ns_to_zuora": True,
        **(
            {"invoice_settlement": True, "default_tax_item": "CA State Tax"}
            if demo.variant == "settlement"
            else {"invoice_settlement": False}
        ),
    }
    for key, value in expected.items():
        assert config[key]["value"] == value, config[key]
    assert config["payments_ns_to_zuora"]["source"].startswith("demo settings")
    assert config["invoice_settlement"]["source"].startswith(
        "demo settings" if demo.variant == "settlement" else str(REPO_ROOT / "zsync.yaml")
    )


def test_the_users_second_visit_enters_nothing_again(demo):
    """What a re-run of the demo does between its passes: every action is found done, and no
    vendor receives a write."""
    before = demo.write_calls()
    done = act_as_users(demo.tenants(), netsuite_payments=True, netsuite_credit_memos=demo.variant == "plain")
    assert demo.write_calls() == before
    assert done and all("earlier demo" in line for line in done), done


def test_the_canceled_payment_is_reversed_and_the_rev_rec_date_reached_netsuite(demo):
    warehouse = Warehouse(demo.env["ZSYNC_DB"])
    reversed_ = warehouse.query(
        "select source_id from zsync.push_log where flow = 'payments' and action = 'reverse' and status = 'succeeded'"
    )
    assert reversed_.height == 1
    canceled = warehouse.query("select status from zuora.payments where id = ?", [reversed_["source_id"][0]])
    assert canceled["status"].to_list() == ["Canceled"]
    updated = warehouse.query(
        "select source_id from zsync.push_log where flow = 'invoices' and action = 'update' and status = 'succeeded'"
    )["source_id"].to_list()
    dated = warehouse.query(
        "select invoice_id from zuora.invoice_items it join zuora.invoices i on i.id = it.invoice_id "
        "where it.rev_rec_start_date = i.invoice_date + interval 14 day"
    )["invoice_id"].to_list()
    assert dated and set(dated) <= set(updated)
