"""`netsuite/deletions`: staged NetSuite rows of records deleted in NetSuite get `_deleted_at`.

Why a re-run is harmless: getDeleted is read from a high-water mark minus an overlap window, and
marking an already-marked row changes nothing. Reads only (plus the warehouse), so Dagster may
retry the step.
"""

from typing import Any

import dagster as dg

from zsync_assets.audit import views as audit
from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.engine.assets import refuse_other_instance, table_key
from zsync_assets.engine.catalog import OWNERS, source_version, system_key
from zsync_assets.lib.deletions import (
    NETSUITE_DELETED_TYPES,
    NetSuiteDeleted,
    mark_netsuite_deletions,
    read_netsuite_deletions,
)
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse


@dg.asset(
    key=system_key("netsuite", "deletions"),
    group_name="netsuite",
    kinds={"netsuite", "duckdb"},
    owners=OWNERS,
    code_version=source_version(__name__, "zsync_assets.lib.deletions"),
    deps=[table_key(t) for t in sorted(set(NETSUITE_DELETED_TYPES.values()))],
    description="Records deleted in NetSuite (getDeleted since the last run): their staged rows get "
    "`_deleted_at`; rows are kept and nothing is deleted elsewhere. Shown in `audit.unlinked`.",
)
def netsuite_deletions(netsuite: NetSuiteResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata=detect_in_netsuite(netsuite, warehouse.get()))


def detect_in_netsuite(netsuite: NetSuiteResource, store: Warehouse) -> dict[str, Any]:
    """Mark the staged rows of records getDeleted reports; the asset's metadata."""
    return marked_in_netsuite(store, read_in_netsuite(netsuite, store))


def read_in_netsuite(netsuite: NetSuiteResource, store: Warehouse) -> NetSuiteDeleted:
    """What getDeleted reports since the cursor, not marked yet (lib/deletions.py says why it
    may be read while NetSuite's tables are staged)."""
    client = netsuite.get_client()
    try:
        refuse_other_instance(store, "netsuite", str(client.account_id))
        return read_netsuite_deletions(store, client.get_deleted)
    finally:
        client.close()


def marked_in_netsuite(store: Warehouse, deleted: NetSuiteDeleted) -> dict[str, Any]:
    """Mark what `read_in_netsuite` read, once NetSuite's tables are staged; the metadata."""
    result = mark_netsuite_deletions(store, deleted)
    audit.refresh(store)
    return {k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in result.metadata().items()}


# Empty on purpose: sync_all detects NetSuite deletions in its `staging` step, getDeleted read
# alongside NetSuite's tables and marked once they are staged (defs/stage_all.py); a Definitions
# object here keeps Dagster from loading `netsuite_deletions` too. Tests materialize
# `netsuite_deletions` on its own.
defs = dg.Definitions()
