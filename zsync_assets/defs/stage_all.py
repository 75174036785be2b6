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

from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import dagster as dg

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.config import current_config
from zsync_assets.defs.netsuite.assets import netsuite_jobs, netsuite_specs
from zsync_assets.defs.netsuite.deletions import marked_in_netsuite, netsuite_deletions, read_in_netsuite
from zsync_assets.defs.staging import SystemStaging, TableJob, staged_together
from zsync_assets.defs.zuora.assets import zuora_jobs, zuora_specs
from zsync_assets.defs.zuora.deletions import detect_in_zuora, zuora_deletions
from zsync_assets.lib.resources import WarehouseResource

# Each system's deletion detection, as an asset of the step (its key, deps and code version as
# declared in defs/<system>/deletions.py) and the job that materializes it.
_DELETIONS = {"zuora": next(iter(zuora_deletions.specs)), "netsuite": next(iter(netsuite_deletions.specs))}


def staging_step(only: AbstractSet[dg.AssetKey] | None = None) -> dg.AssetsDefinition:
    """Both systems' staging and deletion detection, over every table or only those in `only`."""
    zuora_chosen, zuora_asset_specs = zuora_specs(only)
    netsuite_chosen, netsuite_asset_specs = netsuite_specs(only)
    deletions = [spec for spec in _DELETIONS.values() if only is None or spec.key in only]

    @dg.multi_asset(name="staging", specs=[*zuora_asset_specs, *netsuite_asset_specs, *deletions], can_subset=True)
    def _stage(
        context: dg.AssetExecutionContext,
        zuora: ZuoraResource,
        netsuite: NetSuiteResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.MaterializeResult]:
        """The selected tables of both systems, side by side: Zuora's up to `zuora_concurrency`
        requests at once, NetSuite's up to the account's concurrency (its request slots hold that
        limit across threads and processes, clients/netsuite/governance.py). Zuora's deletion
        detection starts once its tables are staged, while NetSuite's may still be read; NetSuite's
        getDeleted is read alongside its tables, and its marks made once they are staged."""
        store, selected = warehouse.get(), context.selected_asset_keys

        def detect(system: str, run: Callable[[], dict[str, Any]]) -> dict[str, TableJob]:
            key = _DELETIONS[system].key
            if key not in selected:
                return {}
            return {key.to_user_string(): lambda: [dg.MaterializeResult(asset_key=key, metadata=run())]}

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netsuite-deleted") as early:
            # getDeleted is one call or a few: read it alongside NetSuite's tables, mark once they
            # are staged (lib/deletions.py `read_netsuite_deletions` says why that is safe).
            deleted = (
                early.submit(read_in_netsuite, netsuite, store) if _DELETIONS["netsuite"].key in selected else None
            )
            yield from staged_together(
                [
                    SystemStaging(
                        "zuora",
                        zuora_jobs(zuora, store, selected, zuora_chosen),
                        current_config().zuora_concurrency,
                        detect("zuora", partial(detect_in_zuora, zuora, store)),
                    ),
                    SystemStaging(
                        "netsuite",
                        netsuite_jobs(netsuite, store, selected, netsuite_chosen),
                        netsuite.concurrency,
                        detect("netsuite", lambda: marked_in_netsuite(store, deleted.result()) if deleted else {}),
                    ),
                ]
            )

    return _stage


staging = staging_step()

defs = dg.Definitions(assets=[staging])
