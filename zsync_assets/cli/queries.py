"""`zsync sql` and `zsync audit`: reading the warehouse (never writing it)."""

from __future__ import annotations

import click

from zsync_assets.cli.output import emit, format_option


@click.command()
@click.argument("query")
@format_option
def sql(query: str, fmt: str) -> None:
    """Run one SQL query against the staging warehouse (opened read-only) and print the result."""
    import duckdb

    from zsync_assets.cli.errors import OperatorError
    from zsync_assets.lib.warehouse import Warehouse

    warehouse = Warehouse()
    if not warehouse.path.exists():
        raise OperatorError(f"no warehouse at {warehouse.path} yet; run `make demo` (or set ZSYNC_DB)")
    # Read-only: ad-hoc SQL must never change links, logs or staged data (DuckDB refuses writes).
    with warehouse.connect(read_only=True) as con:
        try:
            relation = con.sql(query)
            result = relation.pl() if relation is not None else None
        except duckdb.Error as exc:
            text = " ".join(str(exc).split())
            if "read-only" in text.lower():
                raise OperatorError(
                    f"zsync sql opens the warehouse read-only; this statement writes. ({text})"
                ) from None
            raise OperatorError(f"SQL: {text}") from None
    if result is None:
        click.echo("ok (no result)")
    else:
        emit(result, fmt)


@click.command()
@click.argument("view", required=False)
@format_option
def audit(view: str | None, fmt: str) -> None:
    """Refresh the audit.* views; print the status summary, or VIEW (e.g. failures, unlinked)."""
    from zsync_assets.audit.views import VIEWS, refresh
    from zsync_assets.lib.warehouse import Warehouse

    if view and view.removeprefix("audit.") not in VIEWS:
        raise click.BadParameter(f"one of {', '.join(VIEWS)}", param_hint="VIEW")
    warehouse = Warehouse()
    refresh(warehouse)
    emit(warehouse.query(f"select * from audit.{(view or 'sync_summary').removeprefix('audit.')}"), fmt)
