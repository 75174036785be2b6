"""SIGTERM (what `kill`, systemd and Kubernetes send) stops zsync promptly and leaves nothing
half-written: the sandboxes shut down, and an interrupted sync is finished by the next run with
no duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from zsync_assets.sandbox.runner import free_port, port_is_open
from zsync_assets_tests.fixtures.sync_env import credentials_env

STOP_WITHIN_S = 10


def _zsync(*args: str, env: dict[str, str], cwd) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen(
        [sys.executable, "-m", "zsync_assets.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_zsync_sandbox_stops_on_sigterm(tmp_path):
    ports = free_port(), free_port()
    proc = _zsync(
        "sandbox",
        "--zuora-port",
        str(ports[0]),
        "--netsuite-port",
        str(ports[1]),
        "--data-dir",
        str(tmp_path / "sandbox"),
        "--size",
        "2",
        env={},
        cwd=tmp_path,
    )
    assert proc.stdout is not None  # a pipe (_zsync)
    for line in proc.stdout:
        if "sandboxes ready" in line:
            break
    assert all(port_is_open(p) for p in ports)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=STOP_WITHIN_S)
    assert not any(port_is_open(p) for p in ports)


def test_zsync_demo_stops_on_sigterm_mid_push_and_the_next_run_finishes_the_job(make_sync_env, tmp_path):
    env = make_sync_env(zuora_size=6, netsuite_size=0)
    z, n = env.zuora, env.netsuite
    env.netsuite.set_faults([{"route": "up*List", "latency_ms": 30_000}])  # a push that takes long
    run_env = {
        **credentials_env(z, n),
        "ZSYNC_DB": str(env.warehouse_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    demo = _zsync("demo", env=run_env, cwd=tmp_path)
    assert demo.stdout is not None  # a pipe (_zsync)
    deadline = time.monotonic() + 300
    while n.stats().get("upsertList", 0) == 0:  # wait until the first NetSuite write is in flight
        assert demo.poll() is None, demo.stdout.read()[-3000:]
        assert time.monotonic() < deadline, "the demo never reached its first push"
        time.sleep(0.2)
    stopped_at = time.monotonic()
    demo.send_signal(signal.SIGTERM)
    output, _ = demo.communicate(timeout=STOP_WITHIN_S + 20)
    assert time.monotonic() - stopped_at < STOP_WITHIN_S, "zsync demo ignored SIGTERM"
    assert demo.returncode != 0
    assert "interrupted" in output, output[-2000:]

    # Nothing half-written: the warehouse opens and its bookkeeping is whole.
    assert env.query("select count(*) as n from zsync.push_log")["n"][0] >= 0
    env.netsuite.clear_faults()
    assert env.run().success
    linked = env.links("customers").height
    assert linked > 0 and len(env.netsuite_records("customer")) == linked  # no duplicate
