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
@click.option(
    "--data-dir",
    default=defaults.DEFAULT_DATA_DIR,
    show_default=True,
    envvar="ZSYNC_SANDBOX_DATA",
    type=click.Path(file_okay=False, path_type=Path),
    help="All sandbox state lives here and survives restarts (also the demo's settings file).",
)
@click.option(
    "--seed",
    default=defaults.DEFAULT_SEED,
    show_default=True,
    help="Seed for the generated tenant (used only when the data dir is empty).",
)
@click.option(
    "--size",
    default=defaults.DEFAULT_SIZE,
    show_default=True,
    help="Number of customer accounts to seed; 0 = empty tenant.",
)
@click.option(
    "--validate-requests/--no-validate-requests",
    default=True,
    show_default=True,
    help="Refuse Zuora requests that break Zuora's OpenAPI document, as Zuora does (about 3 s at start).",
)
@click.option(
    "--invoice-settlement/--no-invoice-settlement",
    default=None,
    help="Whether the Zuora tenant has Invoice Settlement (without it Zuora refuses the v1 payment, "
    "refund and memo routes). Default: what zsync's config says (`zsync demo --settlement` sets it).",
)
def sandbox(
    zuora_port: int,
    netsuite_port: int,
    data_dir: Path,
    seed: int,
    size: int,
    validate_requests: bool,
    invoice_settlement: bool | None,
) -> None:
    """Run the Zuora and NetSuite sandboxes on loopback until interrupted."""
    from zsync_assets.sandbox.runner import serve_forever

    if invoice_settlement is None:
        invoice_settlement = _configured_settlement()

    # uvicorn runs in threads here, so SIGTERM must become a clean shutdown ourselves.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    serve_forever(
        data_dir,
        {"zuora": zuora_port, "netsuite": netsuite_port},
        seed=seed,
        size=size,
        settings={"zuora": {"validate_requests": validate_requests, "invoice_settlement": invoice_settlement}},
    )


def _require_tenant_settlement(wanted: bool) -> None:
    """A running Zuora sandbox was started for a tenant with or without Invoice Settlement; the
    demo's settings may since say otherwise (`zsync demo --settlement` after a plain demo)."""
    import httpx

    from zsync_assets.sandbox import defaults

    running = httpx.get(f"{defaults.zuora_url()}/__sandbox/tenant", timeout=10).json()["invoice_settlement"]
    if running != wanted:
        state = {True: "with", False: "without"}
        raise click.ClickException(
            f"the running Zuora sandbox is a tenant {state[running]} Invoice Settlement, and this demo "
            f"wants one {state[wanted]} it: stop `zsync sandbox` (Ctrl-C) and run the demo again"
        )


def _configured_settlement() -> bool:
    """The tenant's Invoice Settlement as zsync's config says (the demo's settings sit above
    zsync.yaml): the sandbox tenant must be the tenant zsync is configured for."""
    from zsync_assets.config import ConfigError, current_config

    try:
        return current_config().invoice_settlement
    except ConfigError:
        return False  # zsync's own commands will name the bad config; the default tenant meanwhile


def _uses_real_tenants() -> bool:
    from zsync_assets.config import uses_sandboxes

    return not uses_sandboxes()


def _start_sandboxes_for_demo() -> subprocess.Popen | None:
    """Start `zsync sandbox` in the background unless the sandboxes already answer."""
    from zsync_assets.sandbox.runner import load_app_factory, port_is_open

    wanted = [n for n in SANDBOXES if load_app_factory(n) is not None]
    ports = {name: port for name, (_, port) in SANDBOXES.items() if name in wanted}
    if all(port_is_open(p) for p in ports.values()):
        _require_tenant_settlement(_configured_settlement())
        click.echo("sandboxes already running; using them")
        return None
    # Without request checks: the demo sends zsync's own requests, which the test suite checks
    # against Zuora's OpenAPI document, and parsing that document would delay every start.
    settlement = "--invoice-settlement" if _configured_settlement() else "--no-invoice-settlement"
    proc = subprocess.Popen([sys.executable, "-m", "zsync_assets.cli", "sandbox", "--no-validate-requests", settlement])
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
        "where run_id = ? and status <> 'started' group by all order by all",
        [run_id],
    )
    click.echo(f"\nwrites in this run ({summary['records'].sum() if summary.height else 0} records):")
    for flow, action, status, n in summary.iter_rows():
        click.echo(f"  {flow:<22} {action:<10} {status:<10} {n:>6}")


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
@click.option(
    "--settlement",
    is_flag=True,
    help="The Invoice Settlement variant: credit and debit memos flow instead of invoice item adjustments.",
)
@format_option
def demo(job_name: str, settlement: bool, fmt: str) -> None:
    """Start the sandboxes (unless real credentials are set), sync, act as users, sync again, show the status.

    Against the sandboxes the demo runs in two passes. The first syncs everything. Then it acts
    as users would, through the vendors' APIs: a NetSuite payment, refund and credit memo on
    invoices the first pass created there, two NetSuite sales orders on customers and items that
    came from Zuora, a canceled Zuora payment and a rev-rec date on a synced invoice (each once:
    a re-run finds them). The second pass syncs those. Its settings (`--settlement`, the
    NetSuite-born payments) are kept beside the sandbox data, so every later command sees them.

    Exit code 0 when the runs completed, also with blocked records: the demo tenant holds some on
    purpose, and the status screen shows them and why; 1 when a run failed; 2 usage,
    configuration, credential or connection error.
    """
    from zsync_assets.config import current_config, talks_to_sandboxes, write_demo_settings

    sandboxes = talks_to_sandboxes()
    if sandboxes:
        # Before the first read of the config: every later command reads the same file.
        written = write_demo_settings(settlement)
        if fmt == "table":
            click.echo(f"demo settings (every command reads them while it talks to these sandboxes): {written}")
    elif settlement:
        raise click.UsageError(
            "--settlement sets up the sandbox tenant; with real credentials set "
            "`invoice_settlement` in zsync.yaml instead"
        )
    config = current_config()  # a bad zsync.yaml is one line now, not a failed step later
    with _stop_on_sigterm(), _sandboxes(start=not _uses_real_tenants()):
        if not sandboxes:  # a real tenant: sync once, never act as its users
            _run(job_name, fmt)
            return
        _run(job_name, fmt, title="pass 1: sync", show_status=False)
        _act_as_users(
            netsuite_payments=config.payments_ns_to_zuora, netsuite_credit_memos=not config.invoice_settlement, fmt=fmt
        )
        _run(job_name, fmt, title="pass 2: sync what the users did")


def _act_as_users(*, netsuite_payments: bool, netsuite_credit_memos: bool, fmt: str) -> None:
    from zsync_assets.cli.demo_users import act_as_users
    from zsync_assets.cli.users import Tenants, UserActionFailed
    from zsync_assets.clients.zuora import ZuoraResource
    from zsync_assets.config import current_config
    from zsync_assets.defs.netsuite.resources import netsuite_resource

    tenants = Tenants(
        Warehouse(), ZuoraResource.from_env(resolve=True), netsuite_resource(current_config(), resolve=True)
    )
    try:
        done = act_as_users(tenants, netsuite_payments=netsuite_payments, netsuite_credit_memos=netsuite_credit_memos)
    except UserActionFailed as exc:
        raise click.ClickException(f"acting as a user in the sandboxes failed: {exc}") from None
    if fmt == "table":
        click.echo("\nusers at work, through the vendors' APIs:")
        for line in done:
            click.echo(f"  {line}")


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
    with _stop_on_sigterm(), _sandboxes(start=False):
        status = _run(job_name, fmt)
    # `_run` returns a status whenever it shows one, which it always does here (or it raised).
    ctx.exit(EXIT_FOUND_PROBLEMS if status is None or status.problems else 0)


@contextmanager
def _sandboxes(*, start: bool) -> Iterator[None]:
    """The sandboxes for the whole demo (both passes), stopped on the way out if started here."""
    proc = _start_sandboxes_for_demo() if start else None
    try:
        yield
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; every write so far is recorded, a re-run continues") from None
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _run(job_name: str, fmt: str, *, title: str = "", show_status: bool = True) -> Status | None:
    """Run the job once; print its writes and (with `show_status`) the status screen."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path("data/dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    # The sandbox pair's settings (its tax-code mapping) come from the config layers every
    # command reads (config.py), not from this process's environment.
    if fmt == "table" and title:
        click.echo(f"\n{title}")
    _check_vendors()
    from zsync_assets.definitions import defs

    job = defs().resolve_job_def(job_name)
    with _dagster_instance(home) as instance, _progress_lines():
        # INFO, not the default DEBUG: one line per step result instead of every engine event.
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    if fmt == "table":
        _print_push_summary(result.run_id)
    if not (show_status or not result.success):
        return None
    status = load_status()
    if fmt == "table":
        click.echo(f"\nzsync status ({Warehouse().path}):\n")
    print_status(status, fmt)
    if not result.success:
        raise click.ClickException(f"job {job_name} failed; see the log above or the Dagster UI")
    if fmt == "table":
        click.echo(
            f"\njob {job_name} completed (run {result.run_id}); `zsync status` shows this again, "
            "`make ui` shows the run in Dagster"
        )
    return status
