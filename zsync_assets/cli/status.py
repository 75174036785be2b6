"""`zsync status`: did everything sync, and if not, why not (one screen, from the warehouse).

Exit code 0: nothing blocked or failed; 1: some record is blocked or failed (the screen says
which reasons, `zsync why KEY` explains one record); 2: usage or configuration error, or no
warehouse yet.
"""

from __future__ import annotations

import click

from zsync_assets.audit.status import STATUSES, Status, cursor_summary, read_status
from zsync_assets.cli.errors import EXIT_FOUND_PROBLEMS, OperatorError
from zsync_assets.cli.output import csv_text, format_option, json_text, table_text, when, wrapped


def load_status() -> Status:
    from zsync_assets.audit.views import configured_sides
    from zsync_assets.lib.warehouse import Warehouse

    warehouse = Warehouse()
    if not warehouse.path.exists():
        raise OperatorError(f"no warehouse at {warehouse.path} yet; run `zsync demo` (or set ZSYNC_DB)")
    return read_status(warehouse, configured_sides())


def status_text(status: Status) -> str:
    parts = [table_text(status.flows, ["flow", "direction", *STATUSES], title="Records per flow")]
    if status.reasons:
        more = (
            f' ({status.more_reasons} more: zsync sql "select flow, status, reason, count(*) '
            "from audit.sync_status where status in ('blocked', 'failed') group by all order by 4 desc\")"
            if status.more_reasons
            else ""
        )
        parts.append(
            table_text(
                status.reasons,
                ["flow", "status", "records", "reason"],
                title=f"Top blocked and failed reasons, by root cause{more}",
            )
        )
    push = status.last_push
    parts.append(
        "Last push: "
        + (
            f"run {push['run_id']}, {when(push['started_at'])} .. {when(push['finished_at'])}: "
            f"{push['written']} written, {push['failed']} failed"
            if push
            else "none yet"
        )
    )
    if status.cursors:
        parts.append(table_text(cursor_summary(status.cursors), title="Staging marks (zsync.cursors)"))
    else:
        parts.append("Staging marks: nothing staged yet")
    bound = ", ".join(f"{i['system']} {i['instance_id']} (since {when(i['bound_at'])})" for i in status.instance)
    parts.append(f"Bound instance (zsync.instance): {bound or 'none yet (bound by the first push)'}")
    parts.append(
        f"{status.problems} record(s) blocked or failed: `zsync why KEY` explains one (a document number, account "
        "number or id), `zsync audit blocked` / `zsync audit failures` list them all"
        if status.problems
        else "Nothing blocked or failed."
    )
    return "\n\n".join(part if "\n" in part else wrapped(part) for part in parts)


def print_status(status: Status, fmt: str = "table") -> None:
    if fmt == "json":
        click.echo(json_text(status.as_dict()))
    elif fmt == "csv":
        click.echo(csv_text(status.flows, ["flow", "direction", *STATUSES]))
    else:
        click.echo(status_text(status))


@click.command("status")
@format_option
@click.pass_context
def status_command(ctx: click.Context, fmt: str) -> None:
    """Each flow's linked/pending/blocked/failed/skipped records, the top reasons, the last run.

    Exit code 0: nothing blocked or failed; 1: something is blocked or failed; 2: usage or
    configuration error.
    """
    status = load_status()
    print_status(status, fmt)
    ctx.exit(EXIT_FOUND_PROBLEMS if status.problems else 0)
