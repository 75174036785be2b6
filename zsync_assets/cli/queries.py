"""`zsync sql` and `zsync audit`: reading the warehouse (never writing it)."""

from __future__ import annotations

import click

@click.command()
@click.argument("query")
def sql(query: str) -> None:
    """Run one SQL query against the staging warehouse (opened read-only) and print the result."""
    import duckdb
    import polars as pl

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
                raise OperatorError("zsync sql opens the warehouse read-only; this statement writes. "
                                    f"({text})") from None
            raise OperatorError(f"SQL: {text}") from None
    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60):
        click.echo(result if result is not None else "ok (no result)")


@click.command()
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


