"""deploy/dagster.yaml, run for real (README "Beyond one machine", deploy/README.md).

The steps deploy/README.md gives an operator, in order, against a real PostgreSQL server
(fixtures/postgres.py) and both sandboxes: `dagster instance migrate`, the pool limits with
`dagster instance concurrency set`, `dagster-daemon run`, `dagster job launch -j sync_all`. The
queued run coordinator only queues the launch; the daemon dequeues and launches it. Then the run
and its events are read back from PostgreSQL, and the pushes from the warehouse.

The run uses the in-process executor (`execution: config: in_process`) to stay within CI's
budget on 2 cores: with the multiprocess executor every step is a process of its own, about 6 s
of start-up each here (deploy/README.md, what `deploy/check.sh`, the hand-run variant, showed).
PostgreSQL's server binaries come from Debian's package, which `make test` installs when absent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from zsync_assets.cli.sandboxes import start_sandboxes
from zsync_assets.config import REPO_ROOT, write_demo_settings
from zsync_assets.sandbox.runner import free_port
from zsync_assets_tests.fixtures.postgres import Postgres

BIN = Path(sys.prefix) / "bin"
POOLS = {"netsuite_api": 1, "zuora_api": 1}


@dataclass
class Deployment:
    postgres: Postgres
    env: dict[str, str]
    run_id: str
    status: str | None  # None: no status within the deadline
    daemon_log: Path


def _dagster(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / "dagster"), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


@pytest.fixture(scope="module")
def deployment(postgres: Postgres, tmp_path_factory) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("deploy")
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    sandboxes = start_sandboxes(free_port(), free_port(), data_dir=work / "sandbox", size=8)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZUORA_", "NETSUITE_", "PYTEST_"))}
    # The demo's settings for this pair of tenants, kept beside their data as `zsync demo` keeps them.
    env.update(
        DAGSTER_HOME=str(home),
        ZSYNC_DB=str(work / "warehouse" / "zsync.duckdb"),
        **postgres.environ(),
        **sandboxes.env,
        ZSYNC_SANDBOX_DATA=str(work / "sandbox"),
    )
    write_demo_settings(False, env)
    daemon_log = work / "daemon.log"
    daemon = None
    try:
        _dagster(env, "instance", "migrate")
        for pool, limit in POOLS.items():
            _dagster(env, "instance", "concurrency", "set", pool, str(limit))
        with daemon_log.open("w") as log:
            daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _dagster(
            env,
            "job",
            "launch",
            "-w",
            "workspace.yaml",
            "-j",
            "sync_all",
            "--config-json",
            json.dumps({"execution": {"config": {"in_process": {}}}}),
        )
        [(run_id,)] = postgres.query("select run_id from runs where pipeline_name = 'sync_all'")
        status, deadline = None, time.monotonic() + 900
        while time.monotonic() < deadline:
            [(status,)] = postgres.query("select status from runs where run_id = %s", run_id)
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            assert daemon.poll() is None, daemon_log.read_text()[-3000:]
            time.sleep(2)
        yield Deployment(postgres, env, run_id, status, daemon_log)
    finally:
        if daemon is not None and daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        sandboxes.stop()


def test_sync_all_queued_and_run_by_the_daemon_is_recorded_in_postgresql(deployment):
    pg = deployment.postgres
    assert deployment.status == "SUCCESS", deployment.daemon_log.read_text()[-3000:]
    [(job, status)] = pg.query("select pipeline_name, status from runs where run_id = %s", deployment.run_id)
    assert (job, status) == ("sync_all", "SUCCESS")
    events = dict(
        pg.query(
            "select dagster_event_type, count(*) from event_logs where run_id = %s "
            "and dagster_event_type is not null group by 1",
            deployment.run_id,
        )
    )
    # Queued by `dagster job launch`, started by the daemon (run-level events keep their legacy names).
    assert events["PIPELINE_ENQUEUED"] == events["PIPELINE_STARTING"] == events["PIPELINE_SUCCESS"] == 1
    assert "STEP_FAILURE" not in events
    from zsync_assets.definitions import defs

    # Every asset of sync_all materialized in the daemon's run. Its environment turns on the demo's
    # NetSuite-born payment flows (sandbox/defaults.py DEMO_SETTINGS), so its job holds more assets
    # than this process's definitions: a superset, not an equal count.
    job_assets = {key.to_string() for key in defs().resolve_job_def("sync_all").asset_layer.selected_asset_keys}
    in_run = {
        row[0]
        for row in pg.query(
            "select distinct asset_key from event_logs where run_id = %s "
            "and dagster_event_type = 'ASSET_MATERIALIZATION'",
            deployment.run_id,
        )
    }
    assert job_assets <= in_run, sorted(job_assets - in_run)
    # Every push step evaluated its flow's three checks, and invoice_amounts_match ran.
    pushes = [key for key in in_run if key.startswith('["push"')]
    assert events["ASSET_CHECK_EVALUATION"] == 3 * len(pushes) + 1, (events, pushes)
    materialized = {row[0] for row in pg.query("select asset_key from asset_keys")}
    assert '["push", "push_invoices"]' in materialized and '["zuora", "zuora_invoices"]' in materialized


def test_the_pool_limits_live_in_postgresql_and_the_pushes_reached_the_sandboxes(deployment):
    pools = dict(deployment.postgres.query('select concurrency_key, "limit" from concurrency_limits'))
    assert {pool: pools.get(pool) for pool in POOLS} == POOLS
    from zsync_assets.lib.warehouse import Warehouse

    pushed = dict(
        Warehouse(deployment.env["ZSYNC_DB"])
        .query("select flow, count(*) as n from zsync.push_log where status = 'succeeded' group by flow")
        .iter_rows()
    )
    assert pushed.get("customers", 0) > 0 and pushed.get("invoices", 0) > 0, pushed
