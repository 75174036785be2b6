"""What every benchmark needs: sandboxes on loopback, zsync's own clients pointed at them, fault
rules, a scratch warehouse, a stopwatch and a plain-text table.

The benchmarks wire things the way `zsync_assets_tests/fixtures/sync_env.py` does (real
sandboxes, real clients, a fresh DuckDB file), without pytest.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.netsuite.resource import sandbox_endpoint_url, sandbox_wsdl_url
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox import defaults
from zsync_assets.sandbox.runner import ServerThread, start_sandbox


@dataclass
class Sandbox:
    """A running sandbox and its admin API (`/__sandbox/faults`, `/__sandbox/stats`)."""

    name: str
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url

    def set_faults(self, *rules: dict[str, Any], seed: int = 7) -> None:
        httpx.post(f"{self.url}/__sandbox/faults", json={"rules": list(rules), "seed": seed}).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/__sandbox/faults").raise_for_status()

    def stats(self) -> dict[str, int]:
        return httpx.get(f"{self.url}/__sandbox/stats").json()

    def reset_stats(self) -> None:
        httpx.post(f"{self.url}/__sandbox/stats/reset").raise_for_status()


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory; ZSYNC_BENCH_KEEP=1 keeps it for a look afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"zsync-{prefix}-"))
    try:
        yield path
    finally:
        if not os.environ.get("ZSYNC_BENCH_KEEP"):
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        else:
            print(f"(kept {path})")


@contextmanager
def sandbox(name: str, data_dir: Path, *, size: int, seed: int = defaults.DEFAULT_SEED,
            **settings: Any) -> Iterator[Sandbox]:
    server = start_sandbox(name, data_dir / name, size=size, seed=seed, **settings)
    try:
        yield Sandbox(name, server)
    finally:
        server.stop()


def zuora_resource(box: Sandbox) -> ZuoraResource:
    # Short backoff caps: a benchmark measures the connector, not a minute-long Retry-After.
    return ZuoraResource(base_url=box.url, client_id=defaults.ZUORA_CLIENT_ID,
                         client_secret=defaults.ZUORA_CLIENT_SECRET, backoff_base_s=0.1, backoff_max_s=1.0)


def netsuite_resource(box: Sandbox, lock_dir: Path, *, concurrency: int = 5) -> NetSuiteResource:
    return NetSuiteResource(wsdl_url=sandbox_wsdl_url(box.url), endpoint_url=sandbox_endpoint_url(box.url),
                            lock_dir=str(lock_dir), concurrency=concurrency, backoff_s=0.05)


def fresh_warehouse(directory: Path, name: str) -> Warehouse:
    path = directory / f"{name}.duckdb"
    path.unlink(missing_ok=True)
    return Warehouse(path)


@dataclass
class Stopwatch:
    """`with watch("mapping"): ...` adds the elapsed seconds under that name."""

    laps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.laps[name] = self.laps.get(name, 0.0) + time.perf_counter() - start


def per_second(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(title: str, rows: Sequence[dict[str, Any]], note: str = "") -> None:
    """A Markdown table (pasteable into the README as is)."""
    print(f"\n### {title}\n")
    if not rows:
        print("(no rows)")
        return
    columns = list(rows[0])
    cells = [[_cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) + " |")
    if note:
        print(f"\n{note}")
