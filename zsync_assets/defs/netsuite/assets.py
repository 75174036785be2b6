"""NetSuite staging: one asset per record family, each an incremental copy into `netsuite.<name>`,
all staged side by side (defs/staging.py) in one step with Zuora's (`staging`, defs/stage_all.py).

Adding a record family is one `NetSuiteStaged(...)` line and its declared columns in
`columns.py`. Extraction semantics live in
`zsync_assets/lib/staging.py`; record flattening in `rows.py`; this module only says how to ask
NetSuite for "changed since" (a basic search on `lastModifiedDate`, `onOrAfter` keeps the
boundary record). Reference lists without `lastModifiedDate` in their search (subsidiaries,
terms, accounts, tax items; currencies come from `getAll`) are re-read whole: they are small.

Why a re-run is harmless: a run reads records modified at or after the high-water mark minus
the overlap window and upserts them by internalId; transaction lines are replaced per
transaction. `searchMoreWithId` re-runs the search for every page, so a record modified while
paging can drop out of this run — the overlap window and the next run pick it up. Reads only,
so Dagster may retry the step too.
"""

from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dagster as dg
import polars as pl

from zsync_assets.clients.netsuite import NetSuiteClient, NetSuiteResource
from zsync_assets.clients.netsuite.interface import UNREAD
from zsync_assets.defs.connections import NETSUITE_CONNECTION, staging_overlap
from zsync_assets.defs.netsuite.columns import COLUMNS
from zsync_assets.defs.netsuite.rows import line_rows, record_row
from zsync_assets.defs.staging import TableJob, staged_side_by_side
from zsync_assets.engine.assets import refuse_other_instance
from zsync_assets.engine.catalog import OWNERS, staged_table_metadata, table_key, version_of
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.staging import (
    DIGEST,
    StagedObject,
    Window,
    digest_salt,
    ensure_staged_table,
    records_frame,
    stage,
    text_digest,
)
from zsync_assets.lib.warehouse import Warehouse, append, qualified, row_count

SYSTEM = "netsuite"
RECORD_READER = "zsync_assets.clients.netsuite.record_reader"
UPDATED = "last_modified_date"  # flattened `lastModifiedDate`


@dataclass(frozen=True)
class NetSuiteStaged:
    name: str  # table `netsuite.<name>` and asset key `netsuite/<name>`
    search: str | None  # basic search (`customer` -> CustomerSearchBasic); None: getAll
    criteria: dict[str, Any] = field(default_factory=dict)
    incremental: bool = True  # the search has lastModifiedDate
    get_all: str | None = None  # GetAllRecordType, when `search` is None
    lines: str | None = None  # sublist staged as `netsuite.<line_table>`
    line_table: str | None = None

    @property
    def obj(self) -> StagedObject:
        return StagedObject(SYSTEM, self.name, UPDATED, key="internal_id", columns=COLUMNS[self.name])


def _transactions(name: str, tran_type: str, lines: str, line_table: str) -> NetSuiteStaged:
    return NetSuiteStaged(
        name,
        "transaction",
        {"type": {"operator": "anyOf", "searchValue": [tran_type]}},
        lines=lines,
        line_table=line_table,
    )


STAGED = [
    NetSuiteStaged("customers", "customer"),
    # Items zsync creates: NonInventorySaleItem and ServiceSaleItem (`record_type` tells them apart).
    NetSuiteStaged("items", "item", {"type": {"operator": "anyOf", "searchValue": ["_nonInventoryItem", "_service"]}}),
    _transactions("invoices", "_invoice", "itemList", "invoice_lines"),
    _transactions("sales_orders", "_salesOrder", "itemList", "sales_order_lines"),
    _transactions("credit_memos", "_creditMemo", "itemList", "credit_memo_lines"),
    _transactions("customer_payments", "_customerPayment", "applyList", "customer_payment_lines"),
    _transactions("customer_refunds", "_customerRefund", "applyList", "customer_refund_lines"),
    NetSuiteStaged("subsidiaries", "subsidiary", incremental=False),
    NetSuiteStaged("currencies", None, incremental=False, get_all="currency"),
    NetSuiteStaged("terms", "term", incremental=False),
    NetSuiteStaged("accounts", "account", incremental=False),
    NetSuiteStaged("tax_items", "salesTaxItem", incremental=False),
]


def replace_lines(warehouse: Warehouse, table: str, transaction_ids: list[str], rows: list[dict]) -> int:
    """Replace every line of these transactions (a line removed in NetSuite disappears here too)."""
    if not transaction_ids:
        return 0
    columns = COLUMNS[table.partition(".")[2]]
    frame = records_frame(rows, columns, table) if rows else pl.DataFrame()
    with warehouse.connect() as con:
        con.execute("begin transaction")
        try:
            ensure_staged_table(con, table, columns)
            con.execute(
                f"delete from {qualified(table)} where transaction_internal_id in (select unnest(?::varchar[]))",
                [transaction_ids],
            )
            written = append(con, table, frame)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return written


def fetch_pages(client: NetSuiteClient, spec: NetSuiteStaged, warehouse: Warehouse, counts: dict[str, int]):
    def fetch(window: Window) -> Iterable[list[dict]]:
        return _pages(client, spec, warehouse, counts, window)

    return fetch


def reads_since(spec: NetSuiteStaged) -> bool:
    """Whether the table is read by its stamp: a search without the stamp criterion, or a list
    read whole, returns every record, however old."""
    return spec.search is not None and spec.incremental


def _pages(
    client: NetSuiteClient, spec: NetSuiteStaged, warehouse: Warehouse, counts: dict[str, int], window: Window
) -> Iterator[list[dict]]:
    # A record read again as staged keeps its row and its lines (lib/staging.py `Window`). Its
    # digest is of its XML as the reply carries it, so the client leaves such a record unread
    # (interface.RecordSeen): reading them into dicts was most of zsync's CPU in a run inside the
    # overlap after a push (`zsync bench`, 1,000 accounts). The salt holds the code that reads
    # the XML and makes rows, so the same XML read by changed code is read and written again.
    salt = digest_salt(spec.obj, line_rows.__module__, RECORD_READER)
    read_as: dict[str, str] = {}  # internalId -> digest of the XML, asked from the pages' threads

    def seen(internal_id: str, modified: Any, xml: bytes) -> bool:
        read_as[internal_id] = digest = text_digest(xml, salt)
        return window.holds(internal_id, digest, modified)

    if spec.search is None:
        source: Iterable[list[dict]] = [client.get_all(spec.get_all or spec.name, seen=seen)]
    else:
        criteria = dict(spec.criteria)
        if reads_since(spec) and window.since is not None:
            criteria["lastModifiedDate"] = {"operator": "onOrAfter", "searchValue": window.since}
        source = client.search(spec.search, criteria, seen=seen)
    for page in source:
        unread = sum(1 for r in page if r.get(UNREAD))
        page = [r for r in page if not r.get(UNREAD)]
        # A reply the client read with zeep instead (record_reader.py) came without its XML:
        # those records are digested as read, and sifted here, before their lines are written.
        digests, same = window.sift(
            spec.obj,
            [r for r in page if str(r.get("internalId")) not in read_as],
            salt,
            ("internalId", "lastModifiedDate"),
        )
        counts["unchanged"] += unread + len(same)
        page = [r for r in page if str(r.get("internalId")) not in same]
        if spec.lines and spec.line_table:
            # Written while the page is in hand, before staging moves the high-water mark.
            rows = [row for record in page for row in line_rows(record, spec.lines)]
            ids = [r["internalId"] for r in page if r.get("internalId")]
            counts["line_rows"] += replace_lines(warehouse, f"{SYSTEM}.{spec.line_table}", ids, rows)
        yield [
            {**record_row(record), DIGEST: read_as.get(key, digests.get(key))}
            for record in page
            for key in (str(record.get("internalId")),)
        ]


def _spec(
    table: str, description: str, deps: list[dg.AssetKey], version: str, metadata: dict[str, object]
) -> dg.AssetSpec:
    name = table.partition(".")[2]
    return dg.AssetSpec(
        table_key(table),
        group_name=SYSTEM,
        kinds={"netsuite", "duckdb"},
        owners=OWNERS,
        description=description,
        deps=deps,
        code_version=version,
        metadata={**staged_table_metadata(table, COLUMNS[name]), **metadata},
    )


def family_specs(spec: NetSuiteStaged) -> list[dg.AssetSpec]:
    """A record family's table, and its line table when it has one (written by the same job,
    with its own row count: `netsuite/netsuite_invoice_lines`)."""
    obj = spec.obj
    how = f"{spec.search} search" if spec.search else f"getAll({spec.get_all})"
    incremental = f", by `{UPDATED}`" if spec.incremental else ", re-read whole"
    version = version_of(spec, sorted(obj.columns.items()), sorted(COLUMNS.get(spec.line_table or "", {}).items()))
    line_table = f"{SYSTEM}.{spec.line_table}" if spec.line_table else None
    specs = [
        _spec(
            obj.table,
            f"NetSuite {spec.name.replace('_', ' ')}, staged into `{obj.table}` ({how}{incremental})"
            + (f"; their `{spec.lines}` lines go to `{line_table}`." if line_table else "."),
            # No Dagster retry on top: the client retries each call (counted once, in one
            # place), and a dead host fails `netsuite/connection` first.
            [NETSUITE_CONNECTION],
            version,
            {"key": obj.key_column, "incremental": spec.incremental},
        )
    ]
    if line_table:
        specs.append(
            _spec(
                line_table,
                f"The `{spec.lines}` lines of the NetSuite {spec.name.replace('_', ' ')} "
                f"in `{obj.table}`, one row per line, replaced per transaction when it is staged.",
                [NETSUITE_CONNECTION],
                version,
                {"key": "transaction_internal_id, line"},
            )
        )
    return specs


def stage_family(
    netsuite: NetSuiteResource, store: Warehouse, spec: NetSuiteStaged, selected: AbstractSet[dg.AssetKey]
) -> list[dg.MaterializeResult]:
    """Stage one record family (and its lines) with a client of its own, so its calls are
    counted for its table alone; materializations of the selected keys only."""
    obj = spec.obj
    line_table = f"{SYSTEM}.{spec.line_table}" if spec.line_table else None
    counts = {"line_rows": 0, "unchanged": 0}
    with closing(netsuite.get_client()) as client:
        if line_table:  # the line table exists from the first staging on, like its header
            with store.connect() as con:
                ensure_staged_table(con, line_table, COLUMNS[spec.line_table or ""])
        result = stage(
            store,
            obj,
            fetch_pages(client, spec, store, counts),
            overlap=staging_overlap(),
            reads_since=reads_since(spec),
        )
        calls, retries = dict(client.calls), dict(client.retries)
    materialized: list[dg.MaterializeResult] = [
        dg.MaterializeResult(
            asset_key=table_key(obj.table),
            metadata={
                **{
                    k: dg.MetadataValue.int(v)
                    for k, v in (
                        ("rows_fetched", result.rows_fetched + counts["unchanged"]),
                        ("rows_upserted", result.rows_upserted),
                        ("rows_unchanged", counts["unchanged"]),
                        ("table_rows", result.table_rows),
                        ("dagster/row_count", result.table_rows),
                        ("pages", result.pages),
                        ("api_calls", sum(calls.values())),
                        ("api_retries", sum(retries.values())),
                    )
                },
                "api_calls_by_operation": dg.MetadataValue.json(calls),
                "since": dg.MetadataValue.text(result.since.isoformat() if result.since else "full extract"),
                "high_water": dg.MetadataValue.text(result.high_water.isoformat() if result.high_water else "none"),
                "table": dg.MetadataValue.text(obj.table),
            },
        )
    ]
    if line_table:
        with store.connect() as con:
            line_rows = row_count(con, line_table)
        materialized.append(
            dg.MaterializeResult(
                asset_key=table_key(line_table),
                metadata={
                    "line_rows_written": dg.MetadataValue.int(counts["line_rows"]),
                    "dagster/row_count": dg.MetadataValue.int(line_rows),
                    "table": dg.MetadataValue.text(line_table),
                },
            )
        )
    return [m for m in materialized if m.asset_key in selected]


def netsuite_jobs(
    netsuite: NetSuiteResource,
    store: Warehouse,
    selected: AbstractSet[dg.AssetKey],
    chosen: Sequence[NetSuiteStaged] = STAGED,
) -> dict[str, TableJob]:
    """The job of every record family in `chosen` with a selected table or line table (the lines
    come from the same search), after refusing another account's warehouse (zsync.instance)
    when there is any."""
    jobs: dict[str, TableJob] = {
        spec.obj.table: partial(stage_family, netsuite, store, spec, selected)
        for spec in chosen
        if any(s.key in selected for s in family_specs(spec))
    }
    if jobs:
        refuse_other_instance(store, SYSTEM, str(netsuite.account_id))
    return jobs


def netsuite_specs(only: AbstractSet[dg.AssetKey] | None = None) -> tuple[list[NetSuiteStaged], list[dg.AssetSpec]]:
    """The record families with a table in `only` (every one when None), and their asset specs."""
    chosen = [spec for spec in STAGED if only is None or any(s.key in only for s in family_specs(spec))]
    return chosen, [s for spec in chosen for s in family_specs(spec)]


def netsuite_staging_step(only: AbstractSet[dg.AssetKey] | None = None) -> dg.AssetsDefinition:
    """NetSuite's staging as a step of its own, over every record family or only those with a
    table in `only` (what a test or a script stages); `sync_all` stages both systems in one
    step (defs/stage_all.py) with the same asset definitions."""
    chosen, specs = netsuite_specs(only)

    @dg.multi_asset(name="netsuite_staging", specs=specs, can_subset=True)
    def _stage(
        context: dg.AssetExecutionContext, netsuite: NetSuiteResource, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        """The selected record families, side by side (defs/staging.py), up to the account's
        concurrency; the client's request slots hold that limit across threads and processes
        (clients/netsuite/governance.py)."""
        jobs = netsuite_jobs(netsuite, warehouse.get(), context.selected_asset_keys, chosen)
        yield from staged_side_by_side(SYSTEM, jobs, netsuite.concurrency)

    return _stage


netsuite_staging = netsuite_staging_step()
netsuite_staging_assets = [netsuite_staging]

# Empty on purpose: these tables are the assets of the one `staging` step of both systems
# (defs/stage_all.py); a Definitions object here keeps Dagster from loading `netsuite_staging` too.
defs = dg.Definitions()
