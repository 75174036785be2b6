"""Both sandboxes in a process of their own, so that the CPU and memory the benchmark measures in
its own process are zsync's alone; seeded at a size, with the latency model set over HTTP.

The latency model is what makes batching matter as on the real services: every call waits a
fixed time (a fault rule's `latency_ms` on every route) and every record a NetSuite call carries
adds `netsuite_per_record_ms` (the NetSuite sandbox's `latency_per_record_ms`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Latency:
    netsuite_call_ms: int = 300
    netsuite_per_record_ms: int = 20
    netsuite_concurrency: int = 5
    zuora_call_ms: int = 150
    zuora_concurrency: int = 40


@dataclass
class Sandboxes:
    zuora_url: str
    netsuite_url: str
    pid: int | None = None  # the process serving both, when the benchmark started it

    def cpu_s(self) -> float | None:
        """CPU seconds the sandboxes' process has used so far (Linux /proc), None when unknown.
        The benchmark shares the machine with them: their CPU is time zsync cannot have."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, TypeError):
            return None
        # utime and stime, fields 14 and 15 of proc(5); [0] here is field 3 (state).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, Counter]:
        """Requests per route (Zuora `METHOD /path`, NetSuite SOAP operation) so far."""
        return {
            name: Counter(
                {k: v for k, v in httpx.get(f"{url}/__sandbox/stats", timeout=30).json().items() if isinstance(v, int)}
            )
            for name, url in (("zuora", self.zuora_url), ("netsuite", self.netsuite_url))
        }

    def set_latency(self, latency: Latency) -> None:
        for url, ms in ((self.zuora_url, latency.zuora_call_ms), (self.netsuite_url, latency.netsuite_call_ms)):
            httpx.post(
                f"{url}/__sandbox/faults", json={"rules": [{"route": "*", "latency_ms": ms}]}, timeout=30
            ).raise_for_status()

    def env(self) -> dict[str, str]:
        """What points zsync's resources at these sandboxes (instead of the default ports)."""
        from zsync_assets.clients.netsuite.resource import (
            sandbox_endpoint_url,
            sandbox_wsdl_url,
        )
        from zsync_assets.sandbox import defaults

        return {
            "ZUORA_BASE_URL": self.zuora_url,
            "ZUORA_CLIENT_ID": defaults.ZUORA_CLIENT_ID,
            "ZUORA_CLIENT_SECRET": defaults.ZUORA_CLIENT_SECRET,
            "NETSUITE_WSDL_URL": sandbox_wsdl_url(self.netsuite_url),
            "NETSUITE_ENDPOINT_URL": sandbox_endpoint_url(self.netsuite_url),
        }


@contextmanager
def running(data_dir: Path, *, accounts: int, months: int, latency: Latency) -> Iterator[Sandboxes]:
    """Start both sandboxes (seeded on first start) in a child process; stopped on exit. The Zuora
    tenant has Invoice Settlement when zsync's config says so, as a real tenant would."""
    from zsync_assets.config import current_config

    spec = {
        "invoice_settlement": current_config().invoice_settlement,
        "data_dir": str(data_dir),
        "accounts": accounts,
        "months": months,
        "per_record_ms": latency.netsuite_per_record_ms,
        "netsuite_concurrency": latency.netsuite_concurrency,
        "zuora_concurrency": latency.zuora_concurrency,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "zsync_assets.bench.sandboxes", json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None and proc.stdin is not None  # both are pipes (PIPE above)
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark sandboxes failed to start (see the output above)")
        urls = json.loads(line)
        boxes = Sandboxes(urls["zuora"], urls["netsuite"], proc.pid)
        boxes.set_latency(latency)
        yield boxes
    finally:
        proc.stdin.close()  # the child stops when its stdin closes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _serve(spec: dict) -> None:
    from zsync_assets.sandbox.runner import start_sandbox

    data_dir = Path(spec["data_dir"])
    zuora = start_sandbox(
        "zuora",
        data_dir / "zuora",
        size=spec["accounts"],
        months=spec["months"],
        concurrency_limit=spec["zuora_concurrency"],
        rate_limit_per_minute=1_000_000,
        invoice_settlement=spec["invoice_settlement"],
    )
    netsuite = start_sandbox(
        "netsuite",
        data_dir / "netsuite",
        size=spec["accounts"],
        latency_per_record_ms=spec["per_record_ms"],
        concurrency_limit=spec["netsuite_concurrency"],
    )
    print(json.dumps({"zuora": zuora.url, "netsuite": netsuite.url}), flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes our stdin (or dies)
    finally:
        zuora.stop()
        netsuite.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
