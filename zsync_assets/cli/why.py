"""`zsync why KEY`: why a record did or did not sync, as a chain, in one screen.

KEY: a Zuora or NetSuite id, a document number (`INV00000094`, a NetSuite tranId), an account
number or name. Exit code 0: found, and nothing it names is blocked or failed; 1: a record it
names is blocked or failed; 2: nothing matches KEY (or a usage/configuration error).
"""

from __future__ import annotations

import click

from zsync_assets.audit.why import Answer, Explanation
from zsync_assets.cli.errors import EXIT_FOUND_PROBLEMS, OperatorError
from zsync_assets.cli.output import csv_text, format_option, json_text, table_text, wrapped

STEP_COLUMNS = ["step", "state", "at", "detail"]


def _title(e: Explanation, depth: int) -> str:
    name = e.label or e.source_id
    lead = "blocked by: " if depth else ""
    return f"{lead}{e.flow} {name}: {e.status or 'no status'}"


def _chain(e: Explanation) -> list[tuple[int, Explanation]]:
    chain: list[tuple[int, Explanation]] = []
    depth = 0
    current: Explanation | None = e
    while current is not None:
        chain.append((depth, current))
        depth, current = depth + 1, current.blocked_by
    return chain


def answer_text(answer: Answer) -> str:
    parts = []
    for e in answer.explanations:
        for depth, link in _chain(e):
            planned = next((s["detail"] for s in link.steps if s["step"] == "plan"), None)
            # the status step repeats the plan's reason most of the time: said once is enough
            steps = [
                {**s, "detail": "(the plan's reason)"}
                if s["step"] == "status" and s["detail"] == planned and planned
                else s
                for s in link.steps
            ]
            parts.append(wrapped(_title(link, depth)) + "\n" + table_text(steps, STEP_COLUMNS))
    for hit in answer.unlinked:
        keys = ", ".join(f"{k} {v}" for k, v in hit["keys"].items())
        parts.append(wrapped(f"{hit['table']} {hit['id']}" + (f" ({keys})" if keys else "") + f": {hit['issue']}"))
    return "\n\n".join(parts)


def _csv_rows(answer: Answer) -> list[dict]:
    return [
        {"subject": i, "depth": depth, "flow": link.flow, "source_id": link.source_id, "label": link.label, **step}
        for i, e in enumerate(answer.explanations)
        for depth, link in _chain(e)
        for step in link.steps
    ]


@click.command("why")
@click.argument("key")
@format_option
@click.pass_context
def why_command(ctx: click.Context, key: str, fmt: str) -> None:
    """Explain one record: its source row, plan, push attempts, link, and what blocks it.

    KEY: a document number (INV00000094, a NetSuite tranId), an account number or name, or a
    Zuora or NetSuite id. Exit code 0: nothing it names is blocked or failed; 1: something is;
    2: nothing matches KEY.
    """
    from zsync_assets.audit.views import configured_sides
    from zsync_assets.audit.why import explain
    from zsync_assets.lib.warehouse import Warehouse

    warehouse = Warehouse()
    if not warehouse.path.exists():
        raise OperatorError(f"no warehouse at {warehouse.path} yet; run `zsync demo` (or set ZSYNC_DB)")
    answer = explain(warehouse, key, configured_sides())
    if not answer.explanations and not answer.unlinked:
        raise OperatorError(
            f"no record matches {key!r}: not an id, document number, account number or name in "
            "the staged tables, links or plans; `zsync audit sync_status` lists every record"
        )
    if fmt == "json":
        click.echo(
            json_text(
                {"key": answer.key, "records": [e.as_dict() for e in answer.explanations], "unlinked": answer.unlinked}
            )
        )
    elif fmt == "csv":
        click.echo(csv_text(_csv_rows(answer), ["subject", "depth", "flow", "source_id", "label", *STEP_COLUMNS]))
    else:
        click.echo(answer_text(answer))
    ctx.exit(EXIT_FOUND_PROBLEMS if answer.problem else 0)
