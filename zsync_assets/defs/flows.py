"""The flow assets (`plan/<flow>`, `push/<flow>`) for the directions the config enables."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from zsync_assets.config import current_config
from zsync_assets.defs.checks import PUSH_CHECKS
from zsync_assets.engine.assets import flow_assets
from zsync_assets.engine.sink import Sink
from zsync_assets.flows import configured_flows


@contextmanager
def open_sink(system: str, context: dg.AssetExecutionContext) -> Iterator[Sink]:
    """The vendor side of a push, built from the step's resources (clients are per process)."""
    if system == "netsuite":
        from zsync_assets.targets.netsuite import NetSuiteSink

        client = context.resources.netsuite.get_client()
        try:
            yield NetSuiteSink(client)
        finally:
            getattr(client, "close", lambda: None)()
    else:
        from zsync_assets.config import current_config
        from zsync_assets.targets.zuora import ZuoraSink

        with context.resources.zuora.get_client() as client:
            yield ZuoraSink(client, invoice_settlement=current_config().invoice_settlement)


def payload_check(system: str):
    """The target's plan-time field rules (lengths, numbers: `targets/field_rules.py`)."""
    from zsync_assets.targets.field_rules import CHECKS

    return CHECKS.get(system)


defs = dg.Definitions(
    assets=list(flow_assets(configured_flows(current_config()), open_sink, payload_check, PUSH_CHECKS))
)
