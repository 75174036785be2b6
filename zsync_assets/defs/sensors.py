"""New Zuora invoices start the invoice path: stage invoices (+ items, taxation items), plan, push.

The sensor asks Zuora one cheap question per tick: an Object Query on invoices updated after
the cursor, a page of at most 10 rows. It does not need every new invoice, only to know that
there is one: the run it requests stages incrementally from the warehouse's own high-water
mark (zsync.cursors), so everything changed since the last sync comes along. The cursor is
the newest `updatedDate` seen (UTC ISO 8601); the run key is derived from it, so a re-evaluated
tick never starts the same run twice.

Note: zsync's own write-back (`IntegrationStatus__NS`, ...) updates the invoices it synced, so
one sync is followed by one more run that finds nothing to send.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from zsync_assets.clients.zuora import ZuoraResource, object_query_timestamp
from zsync_assets.defs.connections import ZUORA_CONNECTION
from zsync_assets.engine.assets import plan_key, push_key, table_key
from zsync_assets.flows.invoices import INVOICES

POLL_PAGE_SIZE = 10
# Issue 10: a posted invoice reaches NetSuite within 60 s. The wait for the next tick is at most
# this interval, and `sync_invoices` takes about 10 s (`zsync bench`, invoice_latency); a tick is
# one Object Query of 10 rows, 120 an hour, far below Zuora's request limits.
POLL_INTERVAL_S = 30

sync_invoices = dg.define_asset_job(
    "sync_invoices",
    selection=dg.AssetSelection.assets(ZUORA_CONNECTION, *[table_key(t) for t in INVOICES.source_tables],
                                       plan_key(INVOICES.name), push_key(INVOICES.name)),
    description="Stage Zuora invoices, invoice items and taxation items, then plan and push `invoices`.",
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


@dg.sensor(job=sync_invoices, minimum_interval_seconds=POLL_INTERVAL_S, default_status=dg.DefaultSensorStatus.STOPPED)
def new_zuora_invoices(context: dg.SensorEvaluationContext, zuora: ZuoraResource) -> dg.SensorResult | dg.SkipReason:
    since = _moment(context.cursor) if context.cursor else None
    newest = newest_invoice_update(zuora, since)
    if newest is None:
        return dg.SkipReason(f"no Zuora invoice updated after {context.cursor or 'the beginning'}")
    cursor = newest.isoformat()
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"invoices-updated-{cursor}")], cursor=cursor)


defs = dg.Definitions(jobs=[sync_invoices], sensors=[new_zuora_invoices])
