"""The `zsync` command: sandboxes, the demo sync, plans, the warehouse, operator handles.

Expected failures (configuration, credentials, an unreachable host, bad input) are one line
and exit code 2 (`errors.py`); `zsync --debug ...` shows tracebacks.
"""

from __future__ import annotations

import click

from zsync_assets.cli.bench import bench, bench_report
from zsync_assets.cli.check import check
from zsync_assets.cli.errors import ZsyncGroup
from zsync_assets.cli.queries import audit, sql
from zsync_assets.cli.records import plan_command, rebind_command, requeue_command
from zsync_assets.cli.runtime import demo, sandbox, sync_command
from zsync_assets.cli.settings import config_command
from zsync_assets.cli.status import status_command
from zsync_assets.cli.why import why_command


@click.group(cls=ZsyncGroup)
@click.version_option(package_name="zsync", prog_name="zsync")
@click.option("--debug", is_flag=True, help="Show the full traceback of any failure.")
def main(debug: bool) -> None:
    """zsync: Zuora <-> NetSuite sync as a Dagster asset graph over DuckDB."""


for _command in (
    sandbox,
    demo,
    sync_command,
    status_command,
    why_command,
    config_command,
    check,
    plan_command,
    sql,
    audit,
    requeue_command,
    rebind_command,
    bench,
    bench_report,
):
    main.add_command(_command)
