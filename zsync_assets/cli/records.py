"""`zsync plan`, `zsync requeue`, `zsync rebind`: the operator's handles on the engine.

`zsync plan` plans from what is already staged (run `zsync demo` or the Dagster job to stage):
it must be safe to run at any time, so it calls neither vendor and writes nothing to either
system; with `--save` it also refreshes `zsync.plan_<flow>` in the warehouse.
"""

import json

import click
import polars as pl

from zsync_assets.cli.errors import EXIT_FOUND_PROBLEMS, OperatorError
from zsync_assets.cli.output import csv_text, format_option, json_text, table_text
from zsync_assets.config import current_config
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.instance import rebind as forget_binding
from zsync_assets.engine.planning import plan_flow
from zsync_assets.flows import configured_flows
from zsync_assets.lib.warehouse import Warehouse, qualified, table_exists
from zsync_assets.targets.field_rules import CHECKS


def _flows(name: str | None):
    flows = configured_flows(current_config())
    chosen = [f for f in flows if name in (None, f.name)]
    if not chosen:
        raise OperatorError(f"no configured flow {name!r}; configured: {', '.join(f.name for f in flows)}")
    return chosen


def _plan_rows(flow_name: str, plan: pl.DataFrame, limit: int | None) -> list[dict]:
    """What a person reads of a plan: per action the first `limit` rows (all with None), with the
    fields a create/update sends or changes, and the reason of every blocked or skipped row."""
    rows = []
    for action in ("create", "update", "blocked", "skip"):
        chosen = plan.filter(pl.col("action") == action)
        for row in (chosen if limit is None else chosen.head(limit)).iter_rows(named=True):
            if action == "update":
                detail = "changes " + ", ".join(row["changed_fields"] or [])
            elif action == "create":
                detail = "sends " + ", ".join(json.loads(row["payload"]))
            else:
                detail = row["reason"] or ""
            match = f" [matched by {row['match']}]" if row["match"] else ""
            rows.append(
                {
                    "flow": flow_name,
                    "action": action,
                    "source_id": row["source_id"],
                    "label": row.get("label"),
                    "detail": detail + match,
                }
            )
    return rows


@click.command("plan")
@click.argument("flow", required=False)
@click.option("--limit", default=20, show_default=True, help="Rows shown per action (table format; json/csv list all).")
@click.option("--save/--no-save", default=False, help="Also write zsync.plan_<flow> (default: dry run).")
@format_option
@click.pass_context
def plan_command(ctx: click.Context, flow: str | None, limit: int, save: bool, fmt: str) -> None:
    """Show what a push would do, from what is staged; writes nothing to Zuora or NetSuite.

    Exit code 0: nothing blocked; 1: some record is blocked (the reasons are listed); 2: usage
    or configuration error, or a table the plan needs was never staged.
    """
    warehouse = Warehouse()
    results = {}
    for f in _flows(flow):
        result = plan_flow(f, warehouse, current_config(), write=save, check=CHECKS.get(f.target_system))
        if result.missing_tables:
            raise OperatorError(f"{f.name}: {result.not_staged}")
        results[f] = result
    blocked = sum(r.counts["blocked"] for r in results.values())
    if fmt == "json":
        click.echo(
            json_text(
                [
                    {
                        "flow": f.name,
                        "direction": f"{f.source_system} -> {f.target_system}",
                        "counts": r.counts,
                        "records": _plan_rows(f.name, r.plan, None),
                    }
                    for f, r in results.items()
                ]
            )
        )
    elif fmt == "csv":
        click.echo(
            csv_text(
                [row for f, r in results.items() for row in _plan_rows(f.name, r.plan, None)],
                ["flow", "action", "source_id", "label", "detail"],
            )
        )
    else:
        for f, r in results.items():
            counts = ", ".join(f"{n} {a}" for a, n in r.counts.items())
            click.echo(f"\n== {f.name} ({f.source_system} -> {f.target_system}): {counts}")
            rows = _plan_rows(f.name, r.plan, limit)
            if rows:
                click.echo(table_text(rows, ["action", "source_id", "label", "detail"]))
    ctx.exit(EXIT_FOUND_PROBLEMS if blocked else 0)


@click.command("requeue")
@click.argument("flow")
@click.argument("source_ids", nargs=-1, required=True)
def requeue_command(flow: str, source_ids: tuple[str, ...]) -> None:
    """Send records again on the next push: after a data error, or as synced (over a hand edit)."""
    (chosen,) = _flows(flow)
    warehouse = Warehouse()
    with warehouse.connect(read_only=True) as con:
        unknown = sorted(set(source_ids) - _known_ids(con, chosen)) if warehouse.path.exists() else list(source_ids)
    if unknown:
        raise OperatorError(
            f"flow {flow} knows no record {', '.join(unknown)} (not in {chosen.plan_table}, zsync.links or "
            f"zsync.push_log); nothing was re-queued. `zsync plan {flow}` lists its records"
        )
    with warehouse.connect() as con:
        bookkeeping.requeue(con, flow, list(source_ids))
    click.echo(f"re-queued {len(source_ids)} record(s) of {flow}; the next plan/push sends them")


def _known_ids(con, flow) -> set[str]:  # noqa: ANN001 - a DuckDB connection
    """Source ids this flow has planned, linked or tried to write."""
    sources = [
        f"select source_id from {table}" + (" where flow = $flow" if table.startswith("zsync.") else "")
        for table in ("zsync.links", "zsync.push_log")
        if table_exists(con, table)
    ]
    if table_exists(con, flow.plan_table):
        sources.append(f"select source_id from {qualified(flow.plan_table)}")
    if not sources:
        return set()
    query = " union ".join(sources)
    rows = con.sql(query, params={"flow": flow.name} if "$flow" in query else None).fetchall()
    return {r[0] for r in rows}


@click.command("rebind")
@click.option("--yes", is_flag=True, help="Confirm: forget the tenant/account binding, all links and all staged data.")
def rebind_command(yes: bool) -> None:
    """Bind this warehouse to other Zuora / NetSuite instances (forgets links and staged data)."""
    if not yes:
        raise OperatorError("rebinding forgets every link and all staged data; run `zsync rebind --yes` to confirm")
    with Warehouse().connect() as con:
        forget_binding(con)
    click.echo("binding, links and staged data forgotten; the next run stages and binds the configured instances")


COMMANDS = [plan_command, requeue_command, rebind_command]
