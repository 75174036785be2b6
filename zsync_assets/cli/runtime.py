"""`zsync sandbox` and `zsync demo`: the embedded vendors, and one sync against them."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from zsync_assets.audit.status import Status
from zsync_assets.cli.errors import EXIT_FOUND_PROBLEMS
from zsync_assets.cli.output import format_option
from zsync_assets.cli.status import load_status, print_status
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox import SANDBOXES, defaults


@click.command()
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
    from zsync_assets.config import uses_sandboxes

    return not uses_sandboxes()


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


def _check_vendors() -> None:
    """Reach both vendors before the job starts: a dead host or a refused credential is one line
    and exit code 2 here (cli/errors.py), not a failed step per asset."""
    from zsync_assets.clients.zuora import ZuoraResource
    from zsync_assets.config import current_config
    from zsync_assets.defs.connections import reach_netsuite, reach_zuora
    from zsync_assets.defs.netsuite.resources import netsuite_resource

    reach_zuora(ZuoraResource.from_env(resolve=True))
    reach_netsuite(netsuite_resource(current_config(), resolve=True))


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM stops the demo like Ctrl-C: Dagster ends the run at the next step boundary it can,
    each DuckDB write is one transaction, and the sandboxes are stopped on the way out."""
    def interrupt(signum, frame):  # noqa: ANN001, ARG001 - signal handler signature
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dagster_instance(home: Path):
    """The DAGSTER_HOME instance, its SQLite storage created under a file lock: two runs starting
    on a fresh DAGSTER_HOME would otherwise race to create the same tables."""
    import dagster as dg
    from filelock import FileLock

    with FileLock(str(home / ".zsync-instance.lock")):
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)
        instance.event_log_storage.get_latest_materialization_events([])
        return instance


class _EchoProgress(logging.Handler):
    """Progress lines (a staged page, a pushed batch) on the terminal while the job runs."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"  ... {record.getMessage()}", err=True)


@contextmanager
def _progress_lines() -> Iterator[None]:
    from zsync_assets.lib.staging import PROGRESS

    handler, level = _EchoProgress(), PROGRESS.level
    PROGRESS.addHandler(handler)
    PROGRESS.setLevel(logging.INFO)
    try:
        yield
    finally:
        PROGRESS.removeHandler(handler)
        PROGRESS.setLevel(level)


@click.command()
@click.option("--job", "job_name", default="sync_all", show_default=True)
@click.option("--settlement", is_flag=True,
              help="The Invoice Settlement variant: credit and debit memos flow instead of invoice item adjustments.")
@format_option
def demo(job_name: str, settlement: bool, fmt: str) -> None:
    """Start the sandboxes (unless real credentials are set), run the main job once, show the status.

    Exit code 0 when the run completed, also with blocked records: the demo tenant holds some on
    purpose, and the status screen shows them and why; 1 when the run failed; 2 usage,
    configuration, credential or connection error.
    """
    from zsync_assets.config import current_config

    sandboxes = not _uses_real_tenants()
    if settlement:
        # The seeded Zuora tenant has memos either way; the setting decides which flows exist.
        os.environ["ZSYNC_INVOICE_SETTLEMENT"] = "true"
    if sandboxes:
        # Before the first read of the config: the job's steps read the same (cached) values.
        for name, value in {**defaults.DEMO_CONFIG, **(defaults.DEMO_SETTLEMENT_CONFIG if settlement else {})}.items():
            os.environ.setdefault(name, value)
    current_config()  # a bad zsync.yaml is one line now, not a failed step later
    with _stop_on_sigterm():
        _run(job_name, fmt, start_sandboxes=sandboxes)


@click.command("sync")
@click.option("--job", "job_name", default="sync_all", show_default=True)
@format_option
@click.pass_context
def sync_command(ctx: click.Context, job_name: str, fmt: str) -> None:
    """Run the main job once against the configured systems and show the status (for schedulers).

    With no credentials set it talks to the sandboxes, which must be running (`zsync sandbox`).
    Exit code 0: everything synced (nothing blocked or failed); 1: the run failed, or some record
    is blocked or failed; 2: usage, configuration, credential or connection error.
    """
    from zsync_assets.config import current_config

    current_config()
    with _stop_on_sigterm():
        status = _run(job_name, fmt, start_sandboxes=False)
    ctx.exit(EXIT_FOUND_PROBLEMS if status.problems else 0)


def _run(job_name: str, fmt: str, *, start_sandboxes: bool) -> Status:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path("data/dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    # The sandbox pair's settings (its tax-code mapping) come from the config layers every
    # command reads (config.py), not from this process's environment.
    proc = _start_sandboxes_for_demo() if start_sandboxes else None
    try:
        _check_vendors()
        from zsync_assets.definitions import defs

        job = defs().resolve_job_def(job_name)
        with _dagster_instance(home) as instance, _progress_lines():
            # INFO, not the default DEBUG: one line per step result instead of every engine event.
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
        if fmt == "table":
            _print_push_summary(result.run_id)
        status = load_status()
        if fmt == "table":
            click.echo(f"\nzsync status ({Warehouse().path}):\n")
        print_status(status, fmt)
        if not result.success:
            raise click.ClickException(f"job {job_name} failed; see the log above or the Dagster UI")
        if fmt == "table":
            click.echo(f"\njob {job_name} completed (run {result.run_id}); `zsync status` shows this again, "
                       "`make ui` shows the run in Dagster")
        return status
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; every write so far is recorded, a re-run continues") from None
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
