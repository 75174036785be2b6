"""The `zsync` command: run the sandboxes, run the demo sync, inspect plans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from zsync_assets.sandbox import SANDBOXES, defaults


@click.group()
def main() -> None:
    """zsync: Zuora <-> NetSuite sync as a Dagster asset graph over DuckDB."""


@main.command()
@click.option("--zuora-port", default=defaults.ZUORA_PORT, show_default=True)
@click.option("--netsuite-port", default=defaults.NETSUITE_PORT, show_default=True)
@click.option("--data-dir", default=defaults.DEFAULT_DATA_DIR, show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="All sandbox state lives here and survives restarts.")
@click.option("--seed", default=defaults.DEFAULT_SEED, show_default=True,
              help="Seed for the generated tenant (used only when the data dir is empty).")
@click.option("--size", default=defaults.DEFAULT_SIZE, show_default=True,
              help="Number of customer accounts to seed; 0 = empty tenant.")
@click.option("--validate-requests/--no-validate-requests", default=True, show_default=True,
              help="Refuse Zuora requests that break Zuora's OpenAPI document, as Zuora does (about 3 s at start).")
def sandbox(zuora_port: int, netsuite_port: int, data_dir: Path, seed: int, size: int, validate_requests: bool) -> None:
    """Run the Zuora and NetSuite sandboxes on loopback until interrupted."""
    from zsync_assets.sandbox.runner import serve_forever

    # uvicorn runs in threads here, so SIGTERM must become a clean shutdown ourselves.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    serve_forever(data_dir, {"zuora": zuora_port, "netsuite": netsuite_port}, seed=seed, size=size,
                  settings={"zuora": {"validate_requests": validate_requests}})


def _uses_real_tenants() -> bool:
    return bool(os.environ.get("ZUORA_CLIENT_ID") or os.environ.get("NETSUITE_ACCOUNT_ID"))


def _start_sandboxes_for_demo() -> subprocess.Popen | None:
    """Start `zsync sandbox` in the background unless the sandboxes already answer."""
    from zsync_assets.sandbox.runner import load_app_factory, port_is_open

    wanted = [n for n in SANDBOXES if load_app_factory(n) is not None]
    ports = {name: port for name, (_, port) in SANDBOXES.items() if name in wanted}
    if all(port_is_open(p) for p in ports.values()):
        click.echo("sandboxes already running; using them")
        return None
    # Without request checks: the demo sends zsync's own requests, which the test suite checks
    # against Zuora's OpenAPI document, and parsing that document would delay every start.
    proc = subprocess.Popen([sys.executable, "-m", "zsync_assets.cli", "sandbox", "--no-validate-requests"])
    deadline = time.monotonic() + 120
    while not all(port_is_open(p) for p in ports.values()):
        if proc.poll() is not None:
            raise click.ClickException("the sandboxes failed to start (see the output above)")
        if time.monotonic() > deadline:
            proc.terminate()
            raise click.ClickException("the sandboxes did not start within 120 s")
        time.sleep(0.2)
    return proc


def _print_row_counts() -> None:
    from zsync_assets.lib.warehouse import Warehouse, row_count

    warehouse = Warehouse()
    tables = warehouse.query(
        "select table_schema || '.' || table_name as t from information_schema.tables "
        "where table_catalog = current_database() "
        "and table_schema in ('zuora', 'netsuite', 'zsync') order by 1"
    )["t"].to_list()
    click.echo(f"\nrows per table in {warehouse.path}:")
    with warehouse.connect(read_only=True) as con:
        for table in tables:
            n = row_count(con, table)
            click.echo(f"  {table:<40} {n:>8}")


def _print_push_summary(run_id: str) -> None:
    from zsync_assets.lib.warehouse import Warehouse

    warehouse = Warehouse()
    if not warehouse.table_exists("zsync.push_log"):
        return
    summary = warehouse.query(
        "select flow, action, status, count(*) as records from zsync.push_log "
        "where run_id = ? and status <> 'started' group by all order by all", [run_id])
    click.echo(f"\nwrites in this run ({summary['records'].sum() if summary.height else 0} records):")
    for flow, action, status, n in summary.iter_rows():
        click.echo(f"  {flow:<16} {action:<10} {status:<10} {n:>6}")


@main.command()
@click.option("--job", "job_name", default="sync_all", show_default=True)
def demo(job_name: str) -> None:
    """Start the sandboxes (unless real credentials are set) and run the main job once."""
    import dagster as dg

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path("data/dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    proc = None
    if not _uses_real_tenants():
        for name, value in defaults.DEMO_CONFIG.items():
            os.environ.setdefault(name, value)
        proc = _start_sandboxes_for_demo()
    try:
        from zsync_assets.definitions import defs

        job = defs().resolve_job_def(job_name)
        with dg.DagsterInstance.get() as instance:
            # INFO, not the default DEBUG: one line per step result instead of every engine event.
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
        _print_row_counts()
        _print_push_summary(result.run_id)
        if not result.success:
            raise click.ClickException(f"job {job_name} failed; see the log above or the Dagster UI")
        click.echo(f"\njob {job_name} succeeded (run {result.run_id}); `make ui` shows it in Dagster")
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


@main.command()
@click.argument("query")
def sql(query: str) -> None:
    """Run one SQL query against the staging warehouse and print the result."""
    import polars as pl

    from zsync_assets.lib.warehouse import Warehouse

    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60):
        click.echo(Warehouse().query(query))


@main.command()
@click.argument("view", required=False)
def audit(view: str | None) -> None:
    """Refresh the audit.* views; print the status summary, or VIEW (e.g. failures, unlinked)."""
    import polars as pl

    from zsync_assets.lib.audit import VIEWS, refresh
    from zsync_assets.lib.warehouse import Warehouse

    if view and view.removeprefix("audit.") not in VIEWS:
        raise click.BadParameter(f"one of {', '.join(VIEWS)}", param_hint="VIEW")
    warehouse = Warehouse()
    refresh(warehouse)
    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60):
        click.echo(warehouse.query(f"select * from audit.{(view or 'sync_summary').removeprefix('audit.')}"))


from zsync_assets.engine.commands import COMMANDS  # noqa: E402  (plan, requeue, rebind)
from zsync_assets.lib.preflight import check  # noqa: E402

for _command in (*COMMANDS, check):
    main.add_command(_command)

if __name__ == "__main__":
    main()
