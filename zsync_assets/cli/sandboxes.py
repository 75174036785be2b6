"""Both sandboxes as one background process (`zsync sandbox`), for launchers and tests.

`start_sandboxes` starts them (or reuses sandboxes that already answer on those ports), waits
until both ports answer, and returns the environment that points zsync's clients at them;
`SandboxProcess.stop` ends the process it started, and only that one.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from zsync_assets.sandbox import defaults
from zsync_assets.sandbox.runner import port_is_open


def client_env(zuora_port: int, netsuite_port: int) -> dict[str, str]:
    """Variables that point zsync at sandboxes on these ports (none for the default ports, which
    the clients use when nothing is set). The credentials are the sandboxes' public ones."""
    if (zuora_port, netsuite_port) == (defaults.ZUORA_PORT, defaults.NETSUITE_PORT):
        return {}
    from zsync_assets.clients.netsuite.resource import sandbox_endpoint_url, sandbox_wsdl_url

    netsuite = defaults.netsuite_url(netsuite_port)
    return {
        "ZUORA_BASE_URL": defaults.zuora_url(zuora_port),
        "ZUORA_CLIENT_ID": defaults.ZUORA_CLIENT_ID,
        "ZUORA_CLIENT_SECRET": defaults.ZUORA_CLIENT_SECRET,
        "NETSUITE_WSDL_URL": sandbox_wsdl_url(netsuite),
        "NETSUITE_ENDPOINT_URL": sandbox_endpoint_url(netsuite),
    }


@dataclass
class SandboxProcess:
    zuora_port: int
    netsuite_port: int
    proc: subprocess.Popen | None  # None: they were running already, and are not ours to stop
    env: dict[str, str] = field(default_factory=dict)

    def terminate(self) -> None:
        """Ask the sandboxes to stop (SIGTERM is a clean shutdown in `zsync sandbox`)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.proc is None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_sandboxes(
    zuora_port: int = defaults.ZUORA_PORT,
    netsuite_port: int = defaults.NETSUITE_PORT,
    *,
    data_dir: Path | str = defaults.DEFAULT_DATA_DIR,
    size: int = defaults.DEFAULT_SIZE,
    validate_requests: bool = False,
    invoice_settlement: bool | None = None,
    timeout_s: float = 120.0,
) -> SandboxProcess:
    """`validate_requests=False` by default: parsing Zuora's OpenAPI document costs seconds at
    every start, and zsync's own requests are checked by the test suite (README, "The sandboxes").
    `size`: accounts to seed an empty `data_dir` with (a seeded one is reused as it is).
    `invoice_settlement`: the Zuora tenant's (None: what zsync's config says, `zsync sandbox`)."""
    env = client_env(zuora_port, netsuite_port)
    if port_is_open(zuora_port) and port_is_open(netsuite_port):
        return SandboxProcess(zuora_port, netsuite_port, None, env)
    command = [
        sys.executable,
        "-m",
        "zsync_assets.cli",
        "sandbox",
        "--zuora-port",
        str(zuora_port),
        "--netsuite-port",
        str(netsuite_port),
        "--data-dir",
        str(data_dir),
        "--size",
        str(size),
        "--validate-requests" if validate_requests else "--no-validate-requests",
        *(
            []
            if invoice_settlement is None
            else ["--invoice-settlement" if invoice_settlement else "--no-invoice-settlement"]
        ),
    ]
    proc = subprocess.Popen(command)
    started = SandboxProcess(zuora_port, netsuite_port, proc, env)
    deadline = time.monotonic() + timeout_s
    while not (port_is_open(zuora_port) and port_is_open(netsuite_port)):
        if proc.poll() is not None:
            raise RuntimeError("the sandboxes failed to start (see the output above)")
        if time.monotonic() > deadline:
            started.stop()
            raise RuntimeError(
                f"the sandboxes did not open ports {zuora_port} and {netsuite_port} within {timeout_s:.0f} s"
            )
        time.sleep(0.2)
    return started
