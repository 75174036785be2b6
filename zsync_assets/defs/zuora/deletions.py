"""`zuora/deletions`: staged Zuora rows of records deleted in Zuora get `_deleted_at`.

Zuora has no deleted-records feed, so this lists every id of each reconciled object and
compares with the staged table (see lib/deletions.py). Ids are listed with ZOQL (`select Id from
Invoice`, 2000 a page) where Zuora serves the object there, else with Object Query
(`fields[]=id`, 99 a page): at 1,000 accounts the invoices' ids were 95 Object Query pages, one
after another, on every run. Why a re-run is harmless: it only reads Zuora and (un)marks staged
rows to match what Zuora lists.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from zsync_assets.audit import views as audit
from zsync_assets.clients.zuora import ZuoraClient, ZuoraError, ZuoraResource
from zsync_assets.config import current_config
from zsync_assets.defs.zuora.assets import ZOQL_NAMES, in_tenant
from zsync_assets.engine.assets import refuse_other_instance, table_key
from zsync_assets.engine.catalog import OWNERS, source_version, system_key
from zsync_assets.lib.deletions import ZUORA_RECONCILED, detect_zuora_deletions
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse


def all_ids(client: ZuoraClient, object_name: str) -> Iterator[str]:
    zoql_object = ZOQL_NAMES.get(object_name)
    if zoql_object is not None:
        try:
            for page in client.zoql(f"select Id from {zoql_object}"):
                yield from (str(record["Id"]) for record in page if record.get("Id"))
            return
        except ZuoraError as exc:
            # Retried already if it was transient. Listed again with Object Query: the ids
            # yielded so far come again, and the caller keeps a set.
            client.log.warning("listing %s ids with Object Query: ZOQL failed: %s", object_name, exc)
    for page in client.query_objects(object_name, fields=["id"]):
        yield from (str(record["id"]) for record in page if record.get("id"))


@dg.asset(
    key=system_key("zuora", "deletions"),
    group_name="zuora",
    kinds={"zuora", "duckdb"},
    owners=OWNERS,
    code_version=source_version(__name__, "zsync_assets.lib.deletions"),
    deps=[table_key(f"zuora.{name}") for name in ZUORA_RECONCILED],
    description="Records deleted in Zuora (ids Zuora no longer lists): their staged rows get "
    "`_deleted_at`; rows are kept and nothing is deleted in NetSuite. Shown in `audit.unlinked`.",
)
def zuora_deletions(zuora: ZuoraResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata=detect_in_zuora(zuora, warehouse.get()))


def detect_in_zuora(zuora: ZuoraResource, store: Warehouse) -> dict[str, Any]:
    """Mark the staged rows of records Zuora no longer lists; the asset's metadata."""
    with zuora.get_client() as client:
        refuse_other_instance(store, "zuora", client.instance_id)
        # Objects side by side, like staging: the client is shared by threads (clients/zuora/client.py).
        config = current_config()
        result = detect_zuora_deletions(
            store,
            lambda name: all_ids(client, name),
            [name for name in ZUORA_RECONCILED if in_tenant(name, config.invoice_settlement)],
            concurrency=config.zuora_concurrency,
        )
        calls = sum(client.calls.values())
    audit.refresh(store)
    metadata = {k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in result.metadata().items()}
    return {**metadata, "api_calls": calls}


# Empty on purpose: sync_all detects Zuora deletions in its `staging` step, as soon as Zuora's
# tables are staged (defs/stage_all.py); a Definitions object here keeps Dagster from loading
# `zuora_deletions` too. Tests materialize `zuora_deletions` on its own.
defs = dg.Definitions()
