"""`zsync check`: the custom fields the configured flows need, asked of both systems."""

from __future__ import annotations

import click

from zsync_assets.cli.preflight import check_custom_fields


@click.command("check")
def check() -> None:
    """Check that Zuora and NetSuite have the custom fields the configured flows need.

    Exit code 0: all present; 1: some are missing (listed, with how to create them);
    2: a system could not be asked.
    """
    from zsync_assets.clients.netsuite import NetSuiteResource
    from zsync_assets.clients.zuora import ZuoraResource
    from zsync_assets.config import current_config
    from zsync_assets.flows import configured_flows

    flows = configured_flows(current_config())
    # Resolved like Dagster resolves them (dg.EnvVar): the secrets never pass through here as text.
    # A few quick attempts: an operator waits for the answer, and a system that is down says so.
    zuora = ZuoraResource.from_env(max_attempts=3, backoff_max_s=2.0).process_config_and_initialize()
    netsuite = NetSuiteResource.from_env().model_copy(update={"max_attempts": 3}).process_config_and_initialize()
    report = check_custom_fields(zuora, netsuite, flows)
    click.echo(f"zsync check: {report.checked} custom fields needed by the flows {', '.join(f.name for f in flows)}")
    for system, why in report.unreachable.items():
        click.echo(f"  {system}: cannot be reached: {why}")
    for missing in report.missing:
        click.echo(f"  MISSING {missing.system} {missing.owner}.{missing.name} (flows: {', '.join(missing.flows)})")
        click.echo(f"      create: {missing.how_to_create()}")
    if not report.missing and not report.unreachable:
        click.echo("  all present in Zuora and NetSuite")
    raise SystemExit(2 if report.unreachable else 1 if report.missing else 0)
