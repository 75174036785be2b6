"""Sensors that start one flow's run when its source changed: one cheap question per tick.

- `new_zuora_invoices` -> job `sync_invoices` (stage invoices, items and tax, plan, push):
  an Object Query on invoices updated after the cursor, one page of at most 10 rows.
- `new_netsuite_sales_orders` -> job `sync_subscriptions` (stage sales orders and their lines,
  plan, push): a transaction search for sales orders modified after the cursor, one page of
  NetSuite's minimum size (5). A new order, an approval and any edit move `lastModifiedDate`.

Neither needs every changed record, only to know there is one: the run it requests stages
incrementally from the warehouse's own high-water marks (zsync.cursors), so everything changed
since the last sync comes along. The cursor is the newest source timestamp seen (a UTC instant,
ISO 8601); the run key is derived from it, so a re-evaluated tick never starts the same run twice.

Both jobs run in one process (`in_process_executor`): a handful of steps, where the multiprocess
executor's start-up of a process per step (about 6 s each on a loaded 2-core machine,
deploy/README.md) would be most of the latency. Their runs carry the tag `zsync/flow`, which
deploy/dagster.yaml limits to one run per flow at a time.

Note: zsync's own write-back (`IntegrationStatus__NS` on the invoice, the subscription number on
the sales order) updates the records it synced, so one sync is followed by one more run that
finds nothing to send.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.netsuite.interface import MIN_PAGE_SIZE
from zsync_assets.clients.zuora import ZuoraResource, object_query_timestamp
from zsync_assets.config import current_config
from zsync_assets.defs.connections import NETSUITE_CONNECTION, ZUORA_CONNECTION
from zsync_assets.engine.assets import plan_key, push_key, table_key
from zsync_assets.engine.flow import Flow
from zsync_assets.flows import configured_flows
from zsync_assets.lib.staging import parse_timestamp

POLL_PAGE_SIZE = 10
# A posted invoice reaches NetSuite within a minute: at most this long until the tick that sees
# it, then a sync_invoices run (measured in the README, "Scheduling").
INVOICE_POLL_SECONDS = 20
SALES_ORDER_POLL_SECONDS = 60


def flow_job(flow: Flow, connection: dg.AssetKey, description: str) -> dg.UnresolvedAssetJobDefinition:
    """Stage the flow's source tables, then plan and push it, in one process."""
    return dg.define_asset_job(
        f"sync_{flow.name}",
        selection=dg.AssetSelection.assets(
            connection, *[table_key(t) for t in flow.source_tables], plan_key(flow.name), push_key(flow.name)
        ),
        executor_def=dg.in_process_executor,
        tags={"zsync/flow": flow.name},
        description=description,
    )


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def newest_invoice_update(zuora: ZuoraResource, since: datetime | None) -> datetime | None:
    """The latest `updatedDate` of an invoice changed after `since` (the first such page), or None."""
    # Object Query filters are whole seconds, so `GT` can return records of the cursor's own
    # second again; those are not new.
    filters = [f"updatedDate.GT:{object_query_timestamp(since)}"] if since else []
    with zuora.get_client() as client:
        pages = client.query_objects("invoices", filters=filters, page_size=POLL_PAGE_SIZE)
        try:
            for page in pages:
                newer = [m for m in (_moment(r["updatedDate"]) for r in page) if since is None or m > since]
                if newer:
                    return max(newer)
        finally:
            pages.close()
    return None


def newest_sales_order_change(netsuite: NetSuiteResource, since: datetime | None) -> datetime | None:
    """The latest `lastModifiedDate` among the first page of sales orders modified after `since`.

    NetSuite compares dateTimes as instants whatever offset they are written with (the account's
    time zone), so a UTC cursor is right across daylight-saving changes. One `search` call: the
    page's records all qualify, and any one of them is reason enough for a run."""
    criteria: dict = {"type": {"operator": "anyOf", "searchValue": ["_salesOrder"]}}
    if since is not None:
        criteria["lastModifiedDate"] = {"operator": "after", "searchValue": since}
    client = netsuite.get_client()
    try:
        pages = client.search("transaction", criteria, page_size=MIN_PAGE_SIZE)
        try:
            first = next(pages, [])
        finally:
            pages.close()
    finally:
        client.close()
    moments = [m for m in (parse_timestamp(r.get("lastModifiedDate")) for r in first) if m is not None]
    newer = [m for m in moments if since is None or m > since]
    return max(newer) if newer else None


def _result(newest: datetime | None, cursor: str | None, what: str, run_key: str) -> dg.SensorResult | dg.SkipReason:
    if newest is None:
        return dg.SkipReason(f"no {what} after {cursor or 'the beginning'}")
    moment = newest.astimezone(UTC).isoformat()
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"{run_key}-{moment}")], cursor=moment)


_flows = {flow.name: flow for flow in configured_flows(current_config())}
jobs: list[dg.UnresolvedAssetJobDefinition] = []
sensors: list[dg.SensorDefinition] = []

if "invoices" in _flows:
    sync_invoices = flow_job(
        _flows["invoices"],
        ZUORA_CONNECTION,
        "Stage Zuora invoices, invoice items and taxation items, then plan and push "
        "`invoices` to NetSuite. Started by the sensor new_zuora_invoices.",
    )

    @dg.sensor(
        job=sync_invoices,
        minimum_interval_seconds=INVOICE_POLL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Every {INVOICE_POLL_SECONDS} s, asks Zuora for invoices updated since the "
        "last one seen (one Object Query page) and starts sync_invoices when there is one.",
    )
    def new_zuora_invoices(
        context: dg.SensorEvaluationContext, zuora: ZuoraResource
    ) -> dg.SensorResult | dg.SkipReason:
        since = _moment(context.cursor) if context.cursor else None
        return _result(newest_invoice_update(zuora, since), context.cursor, "Zuora invoice updated", "invoices-updated")

    jobs.append(sync_invoices)
    sensors.append(new_zuora_invoices)

if "subscriptions" in _flows:
    sync_subscriptions = flow_job(
        _flows["subscriptions"],
        NETSUITE_CONNECTION,
        "Stage NetSuite sales orders and their lines, then plan and push "
        "`subscriptions` to Zuora. Started by the sensor new_netsuite_sales_orders.",
    )

    @dg.sensor(
        job=sync_subscriptions,
        minimum_interval_seconds=SALES_ORDER_POLL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Every {SALES_ORDER_POLL_SECONDS} s, asks NetSuite for sales orders created, "
        "approved or edited since the last one seen (one search page) and starts "
        "sync_subscriptions when there is one.",
    )
    def new_netsuite_sales_orders(
        context: dg.SensorEvaluationContext, netsuite: NetSuiteResource
    ) -> dg.SensorResult | dg.SkipReason:
        since = _moment(context.cursor) if context.cursor else None
        return _result(
            newest_sales_order_change(netsuite, since),
            context.cursor,
            "NetSuite sales order modified",
            "sales-orders-modified",
        )

    jobs.append(sync_subscriptions)
    sensors.append(new_netsuite_sales_orders)

defs = dg.Definitions(jobs=jobs, sensors=sensors)
