"""Zuora staging against the sandbox: paging under change, incremental re-runs, faults, the assets."""

from collections.abc import Iterator

import dagster as dg
import pytest

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.defs.stage_all import staging_step
from zsync_assets.defs.zuora.assets import (
    NOT_WITH_SETTLEMENT_OBJECTS,
    SETTLEMENT_OBJECTS,
    STAGED,
    object_query_fetch,
    zuora_staging,
    zuora_staging_step,
)
from zsync_assets.engine.catalog import system_key, table_key
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.staging import DEFAULT_OVERLAP, StagedObject, StageResult, parse_timestamp, stage
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.fixtures.zuora_client import connect

ACCOUNTS = StagedObject("zuora", "accounts", "updatedDate")


def run_stage(
    sandbox, warehouse: Warehouse, obj: StagedObject = ACCOUNTS, parallel: int = 1, **settings
) -> StageResult:
    with connect(sandbox, **settings) as client:
        return stage(warehouse, obj, object_query_fetch(client, obj, parallel))


def in_sandbox(sandbox, name: str) -> dict[str, object]:
    """id -> updated timestamp of every record the sandbox holds now."""
    with connect(sandbox) as client:
        return {r["id"]: parse_timestamp(r["updatedDate"]) for p in client.query_objects(name) for r in p}


def in_table(warehouse: Warehouse, table: str) -> dict[str, object]:
    frame = warehouse.query(f"select id, updated_date from {table}")
    return dict(zip(frame["id"].to_list(), frame["updated_date"].to_list(), strict=True))


def rename(sandbox, account_id: str, name: str) -> None:
    with connect(sandbox) as client:
        client.put(f"/v1/accounts/{account_id}", {"name": name})


@pytest.mark.parametrize("parallel", [1, 4], ids=["one cursor", "slices"])
def test_records_updated_mid_extraction_are_not_skipped(make_zuora_sandbox, warehouse_path, parallel):
    sandbox = make_zuora_sandbox(size=10)
    warehouse = Warehouse(warehouse_path)
    before = in_sandbox(sandbox, "accounts")
    touched: list[str] = []

    def fetch_and_edit(window) -> Iterator[list[dict]]:
        with connect(sandbox, object_query_page_size=3) as client:
            for number, page in enumerate(object_query_fetch(client, ACCOUNTS, parallel)(window)):
                yield page
                if number == 0:  # between pages: change one record already read, one not yet read
                    unseen = sorted(set(before) - {r["id"] for r in page})[-1]
                    for account_id in (page[0]["id"], unseen):
                        rename(sandbox, account_id, f"renamed mid-extraction {account_id[:6]}")
                        touched.append(account_id)

    first = stage(warehouse, ACCOUNTS, fetch_and_edit)
    assert first.pages >= 4
    assert set(before) - set(touched) <= set(in_table(warehouse, "zuora.accounts"))

    # The next incremental run picks up whatever changed while the first one was paging.
    run_stage(sandbox, warehouse, parallel=parallel)
    assert in_table(warehouse, "zuora.accounts") == in_sandbox(sandbox, "accounts")
    names = warehouse.query("select id, name from zuora.accounts where name like 'renamed mid%'")
    assert sorted(names["id"].to_list()) == sorted(touched)


def test_incremental_rerun_reads_only_the_overlap_and_picks_up_a_change(zuora_sandbox, warehouse_path):
    warehouse = Warehouse(warehouse_path)
    first = run_stage(zuora_sandbox, warehouse)
    assert first.since is None and first.rows_fetched == first.table_rows > 0

    staged = in_table(warehouse, "zuora.accounts")
    second = run_stage(zuora_sandbox, warehouse)
    assert second.since == first.high_water - DEFAULT_OVERLAP
    # The filter is truncated to the second, downwards; the seed's records are months old.
    floor = second.since.replace(microsecond=0)
    in_overlap = [t for t in in_sandbox(zuora_sandbox, "accounts").values() if t >= floor]
    assert second.rows_fetched == len(in_overlap) < first.rows_fetched
    assert second.high_water == first.high_water
    assert in_table(warehouse, "zuora.accounts") == staged

    account_id = sorted(in_table(warehouse, "zuora.accounts"))[0]
    rename(zuora_sandbox, account_id, "changed after the first run")
    third = run_stage(zuora_sandbox, warehouse)
    assert third.high_water > first.high_water
    row = warehouse.query(f"select name from zuora.accounts where id = '{account_id}'")
    assert row["name"].to_list() == ["changed after the first run"]
    assert in_table(warehouse, "zuora.accounts") == in_sandbox(zuora_sandbox, "accounts")


def test_rows_staged_before_digests_are_written_once_more_then_skipped(zuora_sandbox, warehouse_path):
    """A table staged by a zsync that kept no `_digest` has nothing to compare: a record read again
    is written once more (with its digest), and read again after that it is skipped."""
    warehouse = Warehouse(warehouse_path)
    run_stage(zuora_sandbox, warehouse)
    account_id = sorted(in_table(warehouse, "zuora.accounts"))[-1]
    rename(zuora_sandbox, account_id, "renamed, inside the next window")
    run_stage(zuora_sandbox, warehouse)
    with warehouse.connect() as con:
        con.execute("alter table zuora.accounts drop column _digest")  # as an older zsync left it

    upgraded = run_stage(zuora_sandbox, warehouse)
    settled = run_stage(zuora_sandbox, warehouse)

    assert upgraded.rows_fetched >= 1 and (upgraded.rows_upserted, upgraded.rows_unchanged) == (
        upgraded.rows_fetched,
        0,
    )
    assert settled.rows_fetched == upgraded.rows_fetched
    assert (settled.rows_upserted, settled.rows_unchanged) == (0, settled.rows_fetched)
    assert in_table(warehouse, "zuora.accounts") == in_sandbox(zuora_sandbox, "accounts")


@pytest.mark.parametrize("parallel", [1, 4], ids=["one cursor", "slices"])
@pytest.mark.parametrize("name", ["accounts", "invoices"])
def test_a_429_storm_and_5xx_leave_the_same_staged_table(make_zuora_sandbox, tmp_path, name, parallel):
    sandbox = make_zuora_sandbox(size=10)
    obj = StagedObject("zuora", name, "updatedDate")
    calm, stormy = Warehouse(tmp_path / "calm.duckdb"), Warehouse(tmp_path / "stormy.duckdb")
    run_stage(sandbox, calm, obj, object_query_page_size=5)

    sandbox.set_faults(
        [
            {"route": f"GET /object-query/{name}", "burst_429": 4},
            {"route": f"GET /object-query/{name}", "error_rate": 0.3, "error_status": 503},
        ],
        seed=7,
    )
    with connect(sandbox, object_query_page_size=5, max_attempts=10) as client:
        result = stage(stormy, obj, object_query_fetch(client, obj, parallel))
        assert sum(client.retries.values()) >= 4
    assert result.table_rows > 0
    columns = "* exclude (_staged_at)"
    assert calm.query(f"select {columns} from zuora.{name} order by id").equals(
        stormy.query(f"select {columns} from zuora.{name} order by id")
    )


@pytest.mark.parametrize("settlement", [False, True], ids=["without settlement", "with settlement"])
def test_materializing_every_zuora_asset_populates_every_table_the_tenant_has(
    zuora_sandbox, warehouse_path, monkeypatch, settlement
):
    """The sandbox's seed holds every object, memos and adjustments alike, so what a tenant lacks
    (memos without Invoice Settlement, adjustments with it) is known not to be read by the table
    staying empty, not by the sandbox having none."""
    monkeypatch.setenv("ZSYNC_INVOICE_SETTLEMENT", str(settlement).lower())
    zuora = ZuoraResource(
        base_url=zuora_sandbox.url, client_id=zuora_sandbox.client_id, client_secret=zuora_sandbox.client_secret
    )
    result = dg.materialize(
        [zuora_staging], resources={"zuora": zuora, "warehouse": WarehouseResource(path=str(warehouse_path))}
    )
    assert result.success
    warehouse = Warehouse(warehouse_path)
    lacking = NOT_WITH_SETTLEMENT_OBJECTS if settlement else SETTLEMENT_OBJECTS
    assert lacking and lacking < {obj.name for obj, _, _ in STAGED}
    for obj, _, _ in STAGED:
        rows = warehouse.query(f"select count(*) as n from {obj.table}")["n"][0]
        (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == table_key(obj.table)]
        metadata = event.materialization.metadata
        if obj.name in lacking:
            assert (rows, metadata["api_calls"].value) == (0, 0), obj.table
            assert "Invoice Settlement" in metadata["not_read"].value
            continue
        assert rows > 0, obj.table
        assert metadata["rows_fetched"].value == metadata["table_rows"].value > 0
        assert metadata["api_calls"].value >= metadata["pages"].value >= 1


def test_a_failing_object_fails_the_step_by_name_after_every_other_table_is_staged(
    zuora_sandbox, warehouse_path, monkeypatch
):
    monkeypatch.setenv("ZSYNC_INVOICE_SETTLEMENT", "true")  # the tenant's: its debit memos are read
    zuora = ZuoraResource(
        base_url=zuora_sandbox.url, client_id=zuora_sandbox.client_id, client_secret=zuora_sandbox.client_secret
    )
    # sync_all's one step for both systems, over Zuora's tables: NetSuite is never asked.
    resources = {
        "zuora": zuora,
        "netsuite": NetSuiteResource(),
        "warehouse": WarehouseResource(path=str(warehouse_path)),
    }
    deletions = system_key("zuora", "deletions")  # waits for every Zuora table: not run here
    both_systems = staging_step({table_key(obj.table) for obj, _, _ in STAGED} | {deletions})

    @dg.asset(deps=[table_key("zuora.accounts")])
    def reads_accounts() -> None:
        """Stands for a plan: it must not run on a half-staged system."""

    # Zuora refuses every debit memo query (a 400 is not retried); the other objects answer.
    zuora_sandbox.set_faults([{"route": "GET /object-query/debit-memos", "error_rate": 1.0, "error_status": 400}])
    result = dg.materialize([both_systems, reads_accounts], resources=resources, raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "staging"
    message = failure.step_failure_data.error.message
    assert "zuora.debit_memos" in message and "400" in message, message
    others = {table_key(obj.table) for obj, _, _ in STAGED if obj.name != "debit_memos"}
    assert {e.asset_key for e in result.get_asset_materialization_events()} == others
    warehouse = Warehouse(warehouse_path)
    marked = set(warehouse.query("select name from zsync.cursors")["name"])
    # A cursor marks what was read; the adjustments a settlement tenant lacks are not.
    assert marked == {
        obj.table for obj, _, _ in STAGED if obj.name != "debit_memos" and obj.name not in NOT_WITH_SETTLEMENT_OBJECTS
    }
    assert "reads_accounts" not in {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}

    # Zuora answers again: the next run stages the table that failed, from the beginning.
    zuora_sandbox.clear_faults()
    again = dg.materialize([zuora_staging_step({table_key("zuora.debit_memos")})], resources=resources)
    assert again.success
    [event] = again.get_asset_materialization_events()
    assert event.asset_key == table_key("zuora.debit_memos")
    assert event.materialization.metadata["since"].value == "full extract"
    assert warehouse.query("select count(*) as n from zuora.debit_memos")["n"][0] > 0
