"""`zsync bench`: the product's one benchmark (zsync_assets/bench/), figures as JSON and Markdown."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import click
import yaml


@click.command("bench")
@click.option("--accounts", default=300, show_default=True, help="Zuora accounts seeded (NetSuite scales with it).")
@click.option("--months", default=6, show_default=True, help="Monthly bill runs per account.")
@click.option(
    "--no-change-at",
    "no_change_sizes",
    multiple=True,
    type=int,
    default=(40,),
    show_default=True,
    help="More tenant sizes (accounts) to measure the no-change re-syncs at; repeat for several.",
)
@click.option("--plan-rows", default=1_000_000, show_default=True, help="Staged rows for the plan phase (0: skip).")
@click.option("--netsuite-call-ms", default=300, show_default=True)
@click.option("--netsuite-record-ms", default=20, show_default=True)
@click.option("--netsuite-concurrency", default=5, show_default=True)
@click.option("--zuora-call-ms", default=150, show_default=True)
@click.option("--zuora-concurrency", default=40, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write every figure here.")
@click.option("--keep", is_flag=True, help="Keep the scratch directory (sandboxes, warehouses) and print its path.")
def bench(
    accounts: int,
    months: int,
    no_change_sizes: tuple[int, ...],
    plan_rows: int,
    netsuite_call_ms: int,
    netsuite_record_ms: int,
    netsuite_concurrency: int,
    zuora_call_ms: int,
    zuora_concurrency: int,
    json_path: Path | None,
    keep: bool,
) -> None:
    """Seed both sandboxes, then measure: full sync, two no-change re-syncs, re-sync after 1%
    changed, a new invoice's way to NetSuite, and a plan of --plan-rows staged rows per flow."""
    from zsync_assets.bench.report import markdown
    from zsync_assets.bench.run import run_bench
    from zsync_assets.bench.sandboxes import Latency

    latency = Latency(netsuite_call_ms, netsuite_record_ms, netsuite_concurrency, zuora_call_ms, zuora_concurrency)
    work = Path(tempfile.mkdtemp(prefix="zsync-bench-"))
    saved = dict(os.environ)
    try:
        config = work / "zsync.yaml"
        from zsync_assets.config import SANDBOX_CONFIG_PATH

        config.write_text(
            yaml.safe_dump(
                {
                    "tax_item_by_tax_code": yaml.safe_load(SANDBOX_CONFIG_PATH.read_text())["tax_item_by_tax_code"],
                    "netsuite_concurrency": netsuite_concurrency,
                    "zuora_concurrency": zuora_concurrency,
                }
            )
        )
        os.environ.update(ZSYNC_CONFIG=str(config), DAGSTER_HOME=str(work / "dagster_home"))
        (work / "dagster_home").mkdir()
        figures = run_bench(
            work,
            accounts=accounts,
            months=months,
            no_change_sizes=no_change_sizes,
            plan_rows=plan_rows,
            latency=latency,
            log=lambda m: click.echo(m, err=True),
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if keep:
            click.echo(f"kept {work}", err=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        click.echo(f"figures in {json_path}", err=True)
    click.echo(markdown(figures))


@click.command("bench-report")
@click.argument("json_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bench_report(json_path: Path) -> None:
    """Print the README's benchmark tables from a `zsync bench --json` file."""
    from zsync_assets.bench.report import markdown

    click.echo(markdown(json.loads(json_path.read_text())))
