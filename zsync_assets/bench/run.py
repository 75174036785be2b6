"""The order of `zsync bench`: sync phases on the main tenant, no-change runs at other sizes,
then the plan phase over about `plan_rows` staged rows per flow."""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from zsync_assets.bench import sandboxes
from zsync_assets.bench.plan_phase import (
    arrange_customers,
    arrange_invoices,
    plan_phase,
)
from zsync_assets.bench.sync_phases import SyncBench
from zsync_assets.lib.warehouse import Warehouse

FLOW_ORDER = [
    "customers",
    "items",
    "subscriptions",
    "invoices",
    "payments",
    "adjustments",
    "netsuite_credit_memos",
    "credit_memos",
    "debit_memos",
    "refunds",
]


def machine() -> dict[str, Any]:
    memory = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        None,
    )
    # The CPU by name and clock: the same commit's figures differed by 1.5-1.8x between two days'
    # machines of the same kind here, so figures compare only with the CPU they name.
    cpuinfo = Path("/proc/cpuinfo")
    facts = dict(
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition(":") for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        )
        if key.strip() in ("model name", "cpu MHz")
    )
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": f"{facts.get('model name', '?')} at {facts.get('cpu MHz', '?')} MHz",
        "cpus": os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "polars": version("polars"),
        "duckdb": version("duckdb"),
        "dagster": version("dagster"),
        "zeep": version("zeep"),
        "lxml": version("lxml"),
        "httpx": version("httpx"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "at": datetime.now(UTC).isoformat(),
    }


def _tenant(work: Path, name: str, accounts: int, months: int, latency: sandboxes.Latency):
    data = work / name
    data.mkdir()
    os.environ["ZSYNC_DB"] = str(data / "zsync.duckdb")
    return data, sandboxes.running(data / "sandbox", accounts=accounts, months=months, latency=latency)


def _no_change_twice(bench: SyncBench, accounts: int) -> list[dict[str, Any]]:
    """Two re-syncs with nothing changed by anyone. The first (`no_change`) follows a sync that
    pushed: the staged rows of what it wrote and wrote back, the links and the attempts changed,
    so it reads those records back and plans every flow again, and the checks look again. The
    second (`no_change_again`) finds its inputs as the first left them: it keeps every plan and
    finding. Both still re-read the sync's writes while they lie inside the staging overlap
    (lib/staging.py), as they do here, a few seconds after it."""
    return [
        {**bench.phase("no_change"), "accounts": accounts},
        {**bench.phase("no_change_again"), "accounts": accounts},
    ]


def run_bench(
    work: Path,
    *,
    accounts: int,
    months: int,
    no_change_sizes: tuple[int, ...],
    plan_rows: int,
    latency: sandboxes.Latency,
    log: Callable[[str], None],
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "machine": machine(),
        "settings": {"accounts": accounts, "months": months, "plan_rows": plan_rows, "latency": vars(latency)},
        "phases": [],
        "plans": [],
    }
    data, boxes_cm = _tenant(work, "main", accounts, months, latency)
    with boxes_cm as boxes:
        os.environ.update(boxes.env())
        bench = SyncBench(boxes, Warehouse(data / "zsync.duckdb"), latency, FLOW_ORDER)
        log(f"full sync of {accounts} accounts x {months} months ...")
        figures["phases"].append({**bench.phase("full"), "accounts": accounts})
        log("no-change re-sync, twice ...")
        figures["phases"] += _no_change_twice(bench, accounts)
        changed = bench.change_accounts(0.01)
        log(f"re-sync after {changed} accounts changed ...")
        figures["phases"].append(
            {**bench.phase("one_percent_changed"), "accounts": accounts, "records_changed": changed}
        )
        log("a new posted invoice -> NetSuite ...")
        figures["phases"].append({**bench.invoice_latency(), "accounts": accounts})
    main_warehouse = data / "zsync.duckdb"
    for size in no_change_sizes:
        extra, boxes_cm = _tenant(work, f"size-{size}", size, months, latency)
        with boxes_cm as boxes:
            os.environ.update(boxes.env())
            bench = SyncBench(boxes, Warehouse(extra / "zsync.duckdb"), latency, FLOW_ORDER)
            log(f"{size} accounts: full sync (setup), then a no-change re-sync, twice ...")
            bench.phase("full")
            figures["phases"] += _no_change_twice(bench, size)
    if plan_rows:
        from zsync_assets.config import current_config

        config = current_config()
        for flow in ("customers", "invoices"):
            warehouse = Warehouse(work / f"plan-{flow}.duckdb")
            log(f"plan of {plan_rows:,} staged rows: {flow} (arranging) ...")
            if flow == "customers":
                arrange_customers(warehouse, plan_rows, config)
            else:
                arrange_invoices(warehouse, main_warehouse, plan_rows)
            figures["plans"].append(plan_phase(flow, warehouse, config))
            shutil.rmtree(warehouse.path, ignore_errors=True) if warehouse.path.is_dir() else warehouse.path.unlink()
    figures["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return figures
