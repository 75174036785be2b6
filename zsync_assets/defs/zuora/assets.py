"""Zuora staging: one asset per object, each an incremental copy into `zuora.<object>`, all
staged side by side (defs/staging.py) in one step with NetSuite's (`staging`, defs/stage_all.py).

Adding an object is one line in `OBJECT_QUERY_OBJECTS` (or one `ZoqlObject` in `ZOQL_OBJECTS`
for the few objects Zuora serves only through ZOQL) and its declared columns in `columns.py`.
Extraction semantics live in
`zsync_assets/lib/staging.py`; this module only says how to ask Zuora for "changed since".

Why a re-run is harmless: every run asks for records updated at or after the stored high-water
mark minus an overlap window, and upserts them by Zuora id; re-reading a record rewrites the same
row, and the mark only moves after the whole extract was written. These are reads, so Dagster may
retry the step too.
"""

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import dagster as dg

from zsync_assets.clients.zuora import (
    ZuoraClient,
    ZuoraResource,
    object_query_timestamp,
    zoql_timestamp,
)
from zsync_assets.config import current_config
from zsync_assets.defs.connections import ZUORA_CONNECTION, staging_overlap
from zsync_assets.defs.staging import TableJob, staged_side_by_side
from zsync_assets.defs.zuora.columns import COLUMNS
from zsync_assets.engine.assets import refuse_other_instance
from zsync_assets.engine.catalog import OWNERS, staged_table_metadata, table_key, version_of
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.staging import StagedObject, Window, stage
from zsync_assets.lib.warehouse import Warehouse

SYSTEM = "zuora"

# Object Query objects, snake_case (the URL uses Zuora's hyphenated names). Every one of them
# carries `updatedDate`, which Object Query can filter on.
OBJECT_QUERY_OBJECTS = [
    "accounts",
    "contacts",
    "products",
    "product_rate_plans",
    "product_rate_plan_charges",
    "subscriptions",
    "invoices",
    "invoice_items",
    "taxation_items",
    "payments",
    "payment_applications",
    "refunds",
    "refund_applications",  # names the payment (or credit memo) each refund refunds
    "credit_memos",
    "credit_memo_items",
    "credit_memo_applications",  # the invoices / debit memos each credit memo was applied to
    "debit_memos",
    "debit_memo_items",
]


# Objects a tenant has only with Invoice Settlement (credit and debit memos are part of the
# feature), and only without it (Zuora, "Invoice Settlement API impacts": once it is enabled the
# operations specific to InvoiceItemAdjustment are deprecated, and credit memos replace them).
# Staging never asks a tenant for what it lacks (`in_tenant`): the table is kept, empty, and no
# call is spent on it, nor can a call the tenant refuses fail the run.
SETTLEMENT_OBJECTS = frozenset(
    {"credit_memos", "credit_memo_items", "credit_memo_applications", "debit_memos", "debit_memo_items"}
)
NOT_WITH_SETTLEMENT_OBJECTS = frozenset({"invoice_item_adjustments"})


def in_tenant(name: str, invoice_settlement: bool) -> bool:
    """Whether a tenant with (or without) Invoice Settlement has the object `name` (snake_case)."""
    return name not in (NOT_WITH_SETTLEMENT_OBJECTS if invoice_settlement else SETTLEMENT_OBJECTS)


def _nothing(window: Window) -> Iterable[list[dict]]:
    return iter(())


# The ZOQL name of the Object Query objects ZOQL also serves (Zuora's SOAP object model), for the
# probe that slices a window of many pages (`ZuoraClient.query_window`). The others are read
# with one cursor.
ZOQL_NAMES = {
    "accounts": "Account",
    "contacts": "Contact",
    "products": "Product",
    "product_rate_plans": "ProductRatePlan",
    "product_rate_plan_charges": "ProductRatePlanCharge",
    "subscriptions": "Subscription",
    "invoices": "Invoice",
    "invoice_items": "InvoiceItem",
    "taxation_items": "TaxationItem",
    "payments": "Payment",
    "refunds": "Refund",
}


@dataclass(frozen=True)
class ZoqlObject:
    """An object read through ZOQL, which has no `select *`: the fields are named."""

    name: str  # snake_case table name
    zoql_name: str  # ZOQL object name, e.g. "InvoiceItemAdjustment"
    fields: tuple[str, ...]  # PascalCase ZOQL field names; must include Id and UpdatedDate


ZOQL_OBJECTS = [
    # Invoice item adjustments have no Object Query endpoint (Zuora serves them via ZOQL and
    # the SOAP-style actions only); fields as named by Zuora's InvoiceItemAdjustment object.
    ZoqlObject(
        "invoice_item_adjustments",
        "InvoiceItemAdjustment",
        (
            "Id",
            "AccountId",
            "InvoiceId",
            "InvoiceNumber",
            "InvoiceItemName",
            "SourceId",
            "SourceType",
            "Type",
            "Amount",
            "AdjustmentDate",
            "AdjustmentNumber",
            "ReasonCode",
            "Comment",
            "Status",
            "ServiceStartDate",
            "ServiceEndDate",
            "CreatedById",
            "CreatedDate",
            "UpdatedById",
            "UpdatedDate",
            "IntegrationId__NS",
            "IntegrationStatus__NS",
            "SyncDate__NS",
        ),
    ),
]

ZOQL_FIELDS = {z.name: z.fields for z in ZOQL_OBJECTS}

# Objects Zuora lists only with a `filter[]` (the OpenAPI document marks it required on
# `GET /object-query/invoice-items`, and Zuora answers 400 without one): a full extract of
# them filters on an updatedDate before any record can exist.
FILTER_REQUIRED = frozenset({"invoice_items"})
BEFORE_ANY_RECORD = datetime(2000, 1, 1, tzinfo=UTC)

Fetch = Callable[[Window], Iterable[list[dict]]]


def object_query_fetch(client: ZuoraClient, obj: StagedObject, parallel: int = 1) -> Fetch:
    """`parallel`: how many slices of a window of many pages may be read at once (1: one cursor)."""

    def fetch(window: Window) -> Iterable[list[dict]]:
        since = window.since
        if since is None and obj.name in FILTER_REQUIRED:
            since = BEFORE_ANY_RECORD
        if parallel > 1 and obj.name in ZOQL_NAMES:
            return client.query_window(
                obj.name, obj.updated_field, since, zoql_object=ZOQL_NAMES[obj.name], parallel=parallel
            )
        # Zuora filter syntax: `filter[]=<field>.<OP>:<value>`; GE keeps the boundary record.
        filters = [f"{obj.updated_field}.GE:{object_query_timestamp(since)}"] if since else []
        return client.query_objects(obj.name, filters=filters)

    return fetch


def zoql_fetch(zobj: ZoqlObject) -> Callable[..., Fetch]:
    def bind(client: ZuoraClient, obj: StagedObject, parallel: int = 1) -> Fetch:  # 2000 a page: one cursor
        def fetch(window: Window) -> Iterable[list[dict]]:
            query = f"select {', '.join(zobj.fields)} from {zobj.zoql_name}"
            if window.since:
                query += f" where {obj.updated_field} >= '{zoql_timestamp(window.since)}'"
            return client.zoql(query)

        return fetch

    return bind


def zuora_spec(obj: StagedObject, api: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        table_key(obj.table),
        group_name=SYSTEM,
        kinds={"zuora", "duckdb"},
        owners=OWNERS,
        # The declaration is the definition: columns, key, cursor field and the API it is read with.
        code_version=version_of(obj, sorted(obj.columns.items()), api, ZOQL_FIELDS.get(obj.name, ())),
        description=obj.description
        or f"Zuora {obj.name.replace('_', ' ')}, staged incrementally into "
        f"`{obj.table}` ({api}, by `{obj.updated_field}`).",
        metadata={**staged_table_metadata(obj.table, obj.columns), "key": obj.key_column, "source_api": api},
        # No Dagster retry on top: the client retries each call (counted once, in one place), and
        # a dead host fails `zuora/connection` first.
        deps=[ZUORA_CONNECTION],
    )


def stage_object(
    zuora: ZuoraResource,
    warehouse: Warehouse,
    obj: StagedObject,
    fetcher: Callable[..., Fetch],
    in_flight: threading.Semaphore | None = None,
) -> list[dg.MaterializeResult]:
    """Stage one object with a client of its own, so its calls are counted for its table alone
    (the OAuth token is shared by every client of the process, clients/zuora/client.py).
    `in_flight`: the requests the objects staged together may have in flight (their share of the
    tenant's concurrency); with it, a window of many pages is read in slices up to that many."""
    config = current_config()
    parallel = config.zuora_concurrency if in_flight is not None else 1
    present = in_tenant(obj.name, config.invoice_settlement)
    with zuora.get_client(in_flight) as client:
        fetch = fetcher(client, obj, parallel) if present else _nothing
        result = stage(warehouse, obj, fetch, overlap=staging_overlap())
        calls = dict(client.calls)
        retries = dict(client.retries)
    return [
        dg.MaterializeResult(
            asset_key=table_key(obj.table),
            metadata={
                "rows_fetched": dg.MetadataValue.int(result.rows_fetched),
                "rows_upserted": dg.MetadataValue.int(result.rows_upserted),
                "rows_unchanged": dg.MetadataValue.int(result.rows_unchanged),
                "table_rows": dg.MetadataValue.int(result.table_rows),
                "dagster/row_count": dg.MetadataValue.int(result.table_rows),
                "pages": dg.MetadataValue.int(result.pages),
                "api_calls": dg.MetadataValue.int(sum(calls.values())),
                "api_calls_by_route": dg.MetadataValue.json(calls),
                "api_retries": dg.MetadataValue.int(sum(retries.values())),
                "since": dg.MetadataValue.text(result.since.isoformat() if result.since else "full extract"),
                "high_water": dg.MetadataValue.text(result.high_water.isoformat() if result.high_water else "none"),
                "table": dg.MetadataValue.text(obj.table),
                **(
                    {}
                    if present
                    else {
                        "not_read": dg.MetadataValue.text(
                            "a tenant "
                            + ("with" if config.invoice_settlement else "without")
                            + " Invoice Settlement (config `invoice_settlement`) has none"
                        )
                    }
                ),
            },
        )
    ]


# (what is staged, how to fetch it, which Zuora API): one row per Zuora object.
STAGED = [
    (StagedObject(SYSTEM, name, "updatedDate", columns=COLUMNS[name]), object_query_fetch, "Object Query")
    for name in OBJECT_QUERY_OBJECTS
] + [
    (StagedObject(SYSTEM, z.name, "UpdatedDate", key="Id", columns=COLUMNS[z.name]), zoql_fetch(z), "ZOQL")
    for z in ZOQL_OBJECTS
]


Chosen = Sequence[tuple[StagedObject, Callable[..., Fetch], str]]


def zuora_jobs(
    zuora: ZuoraResource, store: Warehouse, selected: AbstractSet[dg.AssetKey], chosen: Chosen = STAGED
) -> dict[str, TableJob]:
    """The job of every object in `chosen` whose table is selected, after refusing another
    tenant's (or entity's) warehouse (zsync.instance) when there is any."""
    # One budget for every object staged together: `zuora_concurrency` requests in flight.
    in_flight = threading.BoundedSemaphore(current_config().zuora_concurrency)
    jobs: dict[str, TableJob] = {
        obj.table: partial(stage_object, zuora, store, obj, fetcher, in_flight)
        for obj, fetcher, _ in chosen
        if table_key(obj.table) in selected
    }
    if jobs:
        with zuora.get_client() as client:
            refuse_other_instance(store, SYSTEM, client.instance_id)
    return jobs


def zuora_specs(only: AbstractSet[dg.AssetKey] | None = None) -> tuple[Chosen, list[dg.AssetSpec]]:
    """The objects whose table is in `only` (every one when None), and their asset specs."""
    chosen = [(obj, fetcher, api) for obj, fetcher, api in STAGED if only is None or table_key(obj.table) in only]
    return chosen, [zuora_spec(obj, api) for obj, _, api in chosen]


def zuora_staging_step(only: AbstractSet[dg.AssetKey] | None = None) -> dg.AssetsDefinition:
    """Zuora's staging as a step of its own, over every object or only those whose keys are in
    `only` (what a test or a script stages); `sync_all` stages both systems in one step
    (defs/stage_all.py) with the same asset definitions."""
    chosen, specs = zuora_specs(only)

    @dg.multi_asset(name="zuora_staging", specs=specs, can_subset=True)
    def _stage(
        context: dg.AssetExecutionContext, zuora: ZuoraResource, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        """The selected Zuora objects, side by side (defs/staging.py), up to `zuora_concurrency`
        requests at once: the tenant's limit (40 by default) is shared with every other integration."""
        jobs = zuora_jobs(zuora, warehouse.get(), context.selected_asset_keys, chosen)
        yield from staged_side_by_side(SYSTEM, jobs, current_config().zuora_concurrency)

    return _stage


zuora_staging = zuora_staging_step()
zuora_staging_assets = [zuora_staging]

# Empty on purpose: these tables are the assets of the one `staging` step of both systems
# (defs/stage_all.py); a Definitions object here keeps Dagster from loading `zuora_staging` too.
defs = dg.Definitions()
