"""`staging`: the one step that stages both systems, every Zuora object and NetSuite record
family side by side (defs/staging.py), each system up to its own concurrency.

Why one step for both: the in-process executor runs steps one after another, so with a step per
system NetSuite's reads (12 searches at 5 at a time) and Zuora's (19 queries at 40 at a time)
waited for each other on every run, also when nothing had changed: the slower system's reads
could have hidden the other's. Each table keeps its asset key, code version and metadata, the
step is subsettable (`sync_invoices` stages the few tables its flow reads), and a table that
fails is named while the others are staged; then the step fails, so nothing downstream of an
incomplete staging runs (the plans read both systems). Tests and scripts that stage one system
build its own step (`zuora_staging_step`, `netsuite_staging_step`) from the same definitions.
"""

from collections.abc import Iterator
from collections.abc import Set as AbstractSet

import dagster as dg

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.config import current_config
from zsync_assets.defs.netsuite.assets import netsuite_jobs, netsuite_specs
from zsync_assets.defs.staging import staged_together
from zsync_assets.defs.zuora.assets import zuora_jobs, zuora_specs
from zsync_assets.lib.resources import WarehouseResource


def staging_step(only: AbstractSet[dg.AssetKey] | None = None) -> dg.AssetsDefinition:
    """Both systems' staging, over every table or only those in `only`."""
    zuora_chosen, zuora_asset_specs = zuora_specs(only)
    netsuite_chosen, netsuite_asset_specs = netsuite_specs(only)

    @dg.multi_asset(name="staging", specs=[*zuora_asset_specs, *netsuite_asset_specs], can_subset=True)
    def _stage(
        context: dg.AssetExecutionContext,
        zuora: ZuoraResource,
        netsuite: NetSuiteResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.MaterializeResult]:
        """The selected tables of both systems, side by side: Zuora's up to `zuora_concurrency`
        requests at once, NetSuite's up to the account's concurrency (its request slots hold that
        limit across threads and processes, clients/netsuite/governance.py)."""
        store, selected = warehouse.get(), context.selected_asset_keys
        systems = [
            ("zuora", zuora_jobs(zuora, store, selected, zuora_chosen), current_config().zuora_concurrency),
            ("netsuite", netsuite_jobs(netsuite, store, selected, netsuite_chosen), netsuite.concurrency),
        ]
        yield from staged_together(systems)

    return _stage


staging = staging_step()

defs = dg.Definitions(assets=[staging])
