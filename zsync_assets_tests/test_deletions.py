"""Deletion detection through real sockets: NetSuite getDeleted (sandbox + client), Zuora id
reconciliation (Object Query ids vs the staged table), `_deleted_at` on staged rows, the audit.

zsync never propagates a delete of a master record: the tests check that the other system's
record is untouched after a full run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx
import polars as pl
from lxml import etree

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.defs.checks import flow_checks
from zsync_assets.defs.netsuite.deletions import netsuite_deletions
from zsync_assets.defs.stage_all import staging_step
from zsync_assets.defs.zuora.deletions import all_ids, zuora_deletions
from zsync_assets.engine.catalog import system_key, table_key
from zsync_assets.lib.deletions import NETSUITE_CURSOR
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.fixtures.vendor_xsd import VENDOR_WSDL
from zsync_assets_tests.fixtures.zuora_client import connect


def _add_customers(client, names: list[str]) -> list[str]:
    subsidiary = next(r["internalId"] for page in client.search("subsidiary", {}) for r in page)
    records = [
        {"companyName": n, "entityId": n, "externalId": f"test:{n}", "subsidiary": {"internalId": subsidiary}}
        for n in names
    ]
    results = client.add_list("customer", records)
    assert all(r.ok for r in results), results
    return [r.internal_id for r in results]


def _delete(client, record_type: str, ids: list[str]) -> None:
    """The `delete` operation, one record per call (what a user deleting records in NetSuite does)."""
    for internal_id in ids:
        response = client.call("delete", baseRef=client.schema.record_ref(record_type, internal_id)).writeResponse
        assert response.status.isSuccess, response.status


def test_get_deleted_pages_filters_by_type_and_date(make_sync_env):
    env = make_sync_env(netsuite_size=2)
    env.netsuite.stop()
    env.netsuite.settings["deleted_page_size"] = 2
    env.netsuite.start()
    with env.netsuite_client() as client:
        ids = _add_customers(client, ["Gone 1", "Gone 2", "Gone 3"])
        before = datetime.now(UTC) - timedelta(seconds=1)
        _delete(client, "customer", ids)
        pages = list(client.get_deleted("customer"))
        assert [len(p) for p in pages] == [2, 1]  # 2 per page: two getDeleted calls
        found = [r for p in pages for r in p]
        assert {r["internalId"] for r in found} == set(ids)
        assert {r["type"] for r in found} == {"customer"} and {r["externalId"] for r in found} == {
            "test:Gone 1",
            "test:Gone 2",
            "test:Gone 3",
        }
        assert all(isinstance(r["deletedDate"], datetime) and r["deletedDate"] >= before for r in found)
        assert [r for p in client.get_deleted("customer", datetime.now(UTC) + timedelta(minutes=1)) for r in p] == []
        assert [r for p in client.get_deleted(["invoice", "serviceSaleItem"]) for r in p] == []
    assert env.netsuite.stats().get("getDeleted", 0) >= 4


def test_get_deleted_request_and_response_follow_the_vendor_schema(netsuite_sandbox, vendor_xsd):
    client, _ = netsuite_sandbox.zeep_service(VENDOR_WSDL)  # the vendor's WSDL builds the request
    core = "{urn:core_2023_2.platform.webservices.netsuite.com}"
    flt = client.get_type(f"{core}GetDeletedFilter")(
        deletedDate={"operator": "onOrAfter", "searchValue": datetime(2020, 1, 1, tzinfo=UTC)},
        type={"operator": "anyOf", "searchValue": ["customer", "invoice"]},
    )
    envelope = client.create_message(
        client.service,
        "getDeleted",
        getDeletedFilter=flt,
        pageIndex=1,
        _soapheaders={"tokenPassport": netsuite_sandbox.passport()},
    )
    vendor_xsd.assert_envelope_valid(envelope)
    response = httpx.post(
        netsuite_sandbox.endpoint_url,
        content=etree.tostring(envelope),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "getDeleted"},
    )
    assert response.status_code == 200, response.text
    vendor_xsd.assert_envelope_valid(response.content)
    assert b"getDeletedResult" in response.content and b'isSuccess="true"' in response.content


def test_a_customer_deleted_in_netsuite_is_marked_shown_and_never_deleted_in_zuora(sync_env):
    env = sync_env
    env.run(["customers"])
    env.run(["customers"])  # stages the customers the first run created
    source_id, target_id = next(iter(env.links("customers").select("source_id", "target_id").iter_rows()))
    with env.netsuite_client() as client:
        _delete(client, "customer", [target_id])

    result = dg.materialize([netsuite_deletions], resources=env.resources())
    assert result.success
    metadata = result.asset_materializations_for_node("netsuite__netsuite_deletions")[0].metadata
    assert metadata["newly_marked"].value == 1
    row = env.query(f"select _deleted_at from netsuite.customers where internal_id = '{target_id}'")
    assert row.height == 1 and row["_deleted_at"][0] is not None  # kept, marked

    unlinked = env.query("select * from audit.unlinked where issue = 'deleted in netsuite'")
    assert unlinked.select("record_id", "linked_to").rows() == [(target_id, source_id)]
    assert env.query("select count(*) as n from audit.deleted_records")["n"][0] == 1
    *_, links_resolve = flow_checks("customers")
    check = links_resolve(warehouse=WarehouseResource(path=str(env.warehouse_path)))
    assert not check.passed and check.metadata["first_records"].value[0]["target_id"] == target_id

    # Incremental: a second detection reads from the stored mark and marks nothing new.
    assert env.query(f"select count(*) as n from zsync.cursors where name = '{NETSUITE_CURSOR}'")["n"][0] == 1
    again = dg.materialize([netsuite_deletions], resources=env.resources())
    assert again.asset_materializations_for_node("netsuite__netsuite_deletions")[0].metadata["newly_marked"].value == 0

    # A full run afterwards: the Zuora account still exists, still active.
    env.run(["customers"])
    account = env.zuora_account(source_id)
    assert account["id"] == source_id and account["status"] == "Active"


def test_an_account_deleted_in_zuora_is_marked_by_id_reconciliation_and_the_netsuite_customer_stays(sync_env):
    env = sync_env
    gone = env.create_account(name="Short-lived Ltd", accountNumber="GONE-1")
    env.run(["customers"])
    customer_id = dict(env.links("customers").select("source_id", "target_id").iter_rows())[gone]
    env.zuora_action_update("Account", Id=gone, Status="Canceled")
    with env.zuora_api() as api:
        # Any account but the one just canceled (picked by its state, never by position).
        active = next(r["id"] for r in env.zuora_records("accounts", status="Active") if r["id"] != gone)
        refused = api.delete(f"/v1/accounts/{active}")
        assert refused.status_code == 400  # Zuora deletes only Canceled accounts
        response = api.delete(f"/v1/accounts/{gone}")
        assert response.status_code == 200 and response.json()["success"] and response.json()["jobStatus"] == "Pending"
    assert gone not in {r["id"] for r in env.zuora_records("accounts")}

    result = dg.materialize([zuora_deletions], resources=env.resources())
    assert result.success
    metadata = result.asset_materializations_for_node("zuora__zuora_deletions")[0].metadata
    assert metadata["marked_by_table"].value["zuora.accounts"] == 1
    marked = env.query("select id from zuora.accounts where _deleted_at is not null")["id"].to_list()
    assert marked == [gone]
    status = env.query(f"select status, source_deleted_at from audit.sync_status where source_id = '{gone}'")
    assert status["source_deleted_at"][0] is not None
    unlinked = env.query(f"select side, issue, linked_to from audit.unlinked where record_id = '{gone}'")
    assert unlinked.rows() == [("source", "deleted at the source", customer_id)]

    env.run(["customers"])
    customer = env.netsuite_customer(customer_id)  # never deleted in NetSuite
    assert customer is not None and customer["internalId"] == customer_id
    assert env.query("select count(*) as n from zuora.accounts where _deleted_at is not null")["n"][0] == 1


def test_zuora_id_reconciliation_refuses_an_empty_listing_and_clears_a_wrong_mark(warehouse_path):
    from zsync_assets.lib.deletions import detect_zuora_deletions
    from zsync_assets.lib.warehouse import Warehouse, upsert

    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        upsert(con, "zuora.accounts", pl.DataFrame({"id": ["a1", "a2", "a3"], "name": ["A", "B", "C"]}))
    result = detect_zuora_deletions(warehouse, lambda name: [], objects=["accounts", "invoices"])
    assert result.skipped == {
        "zuora.accounts": "Zuora listed no ids at all; nothing marked",
        "zuora.invoices": "not staged yet",
    }
    detect_zuora_deletions(warehouse, lambda name: ["a1"], objects=["accounts"])
    assert warehouse.query("select id from zuora.accounts where _deleted_at is not null order by id")[
        "id"
    ].to_list() == ["a2", "a3"]
    result = detect_zuora_deletions(warehouse, lambda name: ["a1", "a2"], objects=["accounts"])
    assert result.restored == {"zuora.accounts": 1} and result.marked == {"zuora.accounts": 0}
    assert warehouse.query("select id from zuora.accounts where _deleted_at is not null")["id"].to_list() == ["a3"]


def test_sync_alls_staging_step_marks_a_netsuite_deletion_read_alongside_the_tables(
    netsuite_sandbox, warehouse_path, tmp_path
):
    # In sync_all, getDeleted is read while NetSuite's tables are staged and marked after them.
    netsuite = NetSuiteResource(
        wsdl_url=netsuite_sandbox.wsdl_url, endpoint_url=netsuite_sandbox.endpoint_url, lock_dir=str(tmp_path / "l")
    )
    resources = {"zuora": ZuoraResource(), "netsuite": netsuite, "warehouse": WarehouseResource()}
    deletions = system_key("netsuite", "deletions")
    step = staging_step({table_key("netsuite.customers"), deletions})  # Zuora is never asked
    client = netsuite.get_client()
    [gone] = _add_customers(client, ["Gone Soon GmbH"])
    assert dg.materialize([step], resources=resources).success
    _delete(client, "customer", [gone])

    result = dg.materialize([step], resources=resources)
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == deletions]
    assert event.materialization.metadata["newly_marked"].value == 1
    marked = Warehouse(warehouse_path).query("select internal_id from netsuite.customers where _deleted_at is not null")
    assert marked["internal_id"].to_list() == [gone]


def test_ids_are_listed_with_object_query_when_zoql_is_refused(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=12)
    with connect(sandbox, object_query_page_size=5) as client:
        by_zoql = set(all_ids(client, "accounts"))
        sandbox.set_faults([{"route": "POST /v1/action/query", "error_rate": 1.0, "error_status": 400}])
        by_object_query = set(all_ids(client, "accounts"))
        calls = dict(client.calls)
    assert len(by_zoql) == 12 and by_object_query == by_zoql
    assert calls["GET /object-query/accounts"] == 3  # 12 ids, 5 a page, after ZOQL was refused
