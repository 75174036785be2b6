"""NetSuite staging: the record-to-row flattening (pure), and the staging assets run
against the NetSuite sandbox through real sockets."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta, timezone

import dagster as dg
import polars as pl
from lxml import etree

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.netsuite.record_reader import RecordReader
from zsync_assets.defs.netsuite.assets import STAGED, netsuite_staging_assets
from zsync_assets.defs.netsuite.rows import line_rows, record_row
from zsync_assets.engine.catalog import table_key
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.test_netsuite_client import VENDOR

PACIFIC = timezone(timedelta(hours=-8))
BERLIN = timezone(timedelta(hours=1))

INVOICE = {
    "recordType": "invoice",
    "internalId": "501",
    "externalId": "zuora-inv-8a81",
    "tranId": "INV-501",
    "tranDate": datetime(2026, 3, 1, tzinfo=BERLIN),
    "lastModifiedDate": datetime(2026, 3, 2, 9, 30, tzinfo=PACIFIC),
    "entity": {"internalId": "77", "name": "Acmé GmbH"},
    "currency": {"internalId": "2", "name": "EUR"},
    "subsidiary": {"internalId": "1"},
    "total": 118.5,
    "amountRemaining": 18.5,
    "isInactive": False,
    "customFieldList": {
        "custbody_zsync_zuora_id": "8a81",
        "custbody_zsync_origin": "ZUORA",
        "custbody_zsync_zuora_type": {"internalId": "1", "name": "INVOICE"},
    },
    "itemList": {
        "item": [
            {
                "line": 1,
                "item": {"internalId": "9", "name": "Pro plan"},
                "quantity": 1.0,
                "rate": "100.00",
                "amount": 100.0,
                "revRecStartDate": datetime(2026, 3, 1, tzinfo=BERLIN),
                "revRecEndDate": datetime(2026, 3, 31, tzinfo=BERLIN),
                "customFieldList": {"custcol_zsync_zuora_item_id": "ii-1"},
            },
            {
                "line": 2,
                "item": {"internalId": "12", "name": "Proration credit"},
                "amount": -1.5,
                "customFieldList": {"custcol_zsync_zuora_item_id": "ii-2"},
            },
            {"item": {"internalId": "30", "name": "Tax"}, "amount": 20.0},
        ]
    },
}


def test_header_row_has_ids_refs_custom_fields_and_json_sublists():
    row = record_row(INVOICE)
    assert row["internal_id"] == "501" and row["external_id"] == "zuora-inv-8a81"
    assert row["record_type"] == "invoice" and row["tran_id"] == "INV-501"
    assert (row["entity_internal_id"], row["entity_name"]) == ("77", "Acmé GmbH")
    assert row["currency_internal_id"] == "2" and row["subsidiary_internal_id"] == "1"
    assert row["subsidiary_name"] is None
    assert row["total"] == 118.5 and row["amount_remaining"] == 18.5 and row["is_inactive"] is False
    assert row["custbody_zsync_zuora_id"] == "8a81" and row["custbody_zsync_origin"] == "ZUORA"
    assert (row["custbody_zsync_zuora_type"], row["custbody_zsync_zuora_type_name"]) == ("1", "INVOICE")
    assert json.loads(row["item_list"])["item"][0]["customFieldList"] == {"custcol_zsync_zuora_item_id": "ii-1"}
    assert "customFieldList" not in row and "item_list_internal_id" not in row


def test_timestamps_become_utc_but_business_dates_keep_the_netsuite_day():
    row = record_row(INVOICE)
    assert row["last_modified_date"] == "2026-03-02T17:30:00+00:00"
    # Midnight 1 March in Berlin is 28 February in UTC; the invoice date must stay 1 March.
    assert row["tran_date"] == "2026-03-01"


def test_lines_are_keyed_by_transaction_and_line_number():
    lines = line_rows(INVOICE, "itemList")
    assert [(r["transaction_internal_id"], r["line"]) for r in lines] == [("501", 1), ("501", 2), ("501", 3)]
    first = lines[0]
    assert first["item_internal_id"] == "9" and first["item_name"] == "Pro plan"
    assert (first["quantity"], first["rate"], first["amount"]) == (1.0, "100.00", 100.0)
    assert (first["rev_rec_start_date"], first["rev_rec_end_date"]) == ("2026-03-01", "2026-03-31")
    assert [r.get("custcol_zsync_zuora_item_id") for r in lines] == ["ii-1", "ii-2", None]
    assert line_rows({"internalId": "1"}, "itemList") == []


def test_apply_lines_of_a_payment():
    payment = {
        "internalId": "900",
        "applyList": {
            "apply": [
                {"doc": 501, "apply": True, "amount": 100.0, "type": "Invoice", "line": 0},
                {"doc": 502, "apply": False, "amount": 0.0},
            ]
        },
    }
    lines = line_rows(payment, "applyList")
    assert [(r["doc"], r["apply"], r["amount"]) for r in lines] == [(501, True, 100.0), (502, False, 0.0)]
    assert [r["line"] for r in lines] == [1, 2]  # line 0 is not a line number: the position is used


def _vendor_enum(name: str) -> set[str]:
    values = set()
    for xsd in (VENDOR / "xsd").glob("*Types.xsd"):
        for simple in etree.parse(str(xsd)).getroot().iter("{http://www.w3.org/2001/XMLSchema}simpleType"):
            if simple.get("name") == name:
                values |= {e.attrib["value"] for e in simple.iter("{http://www.w3.org/2001/XMLSchema}enumeration")}
    return values


def test_staged_search_types_are_vendor_enum_values():
    # searchValue is xsd:string in the schema, so XSD validation cannot catch a wrong enum value.
    enums = {"item": _vendor_enum("ItemType"), "transaction": _vendor_enum("TransactionType")}
    for spec in STAGED:
        wanted = spec.criteria.get("type", {}).get("searchValue", [])
        assert set(wanted) <= enums.get(spec.search, set()), spec.name


# -- the staging assets against the NetSuite sandbox, through real sockets ------------------


def _metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == table_key(f"netsuite.{name}")]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _records_read(monkeypatch) -> list[str]:
    """The internalIds of the records the client reads into dicts from here on (a spy on the
    reader: each is still read as it would be)."""
    read: list[str] = []
    complex_ = RecordReader._complex

    def counting(self, node, declared, *, record=False):  # noqa: ANN001, ANN202 - the reader's own
        if record:
            read.append(node.get("internalId"))
        return complex_(self, node, declared, record=record)

    monkeypatch.setattr(RecordReader, "_complex", counting)
    return read


def test_staging_assets_stage_every_family_and_a_rerun_fetches_only_the_overlap(
    netsuite_sandbox, warehouse_path, tmp_path, monkeypatch
):
    sandbox = netsuite_sandbox
    netsuite = NetSuiteResource(
        wsdl_url=sandbox.wsdl_url, endpoint_url=sandbox.endpoint_url, lock_dir=str(tmp_path / "locks")
    )
    resources = {"netsuite": netsuite, "warehouse": WarehouseResource()}
    first = dg.materialize(netsuite_staging_assets, resources=resources)
    assert first.success
    warehouse = Warehouse(warehouse_path)
    for spec in STAGED:
        assert _metadata(first, spec.name)["table_rows"] > 0, spec.name
    invoices = warehouse.query("select * from netsuite.invoices")
    assert {
        "internal_id",
        "entity_internal_id",
        "currency_internal_id",
        "tran_date",
        "total",
        "last_modified_date",
        "item_list",
    } <= set(invoices.columns)
    assert invoices.schema["tran_date"] == pl.Date
    lines = warehouse.query("select * from netsuite.invoice_lines")
    assert {"transaction_internal_id", "line", "item_internal_id", "amount"} <= set(lines.columns)
    assert set(lines["transaction_internal_id"]) == set(invoices["internal_id"])
    items = warehouse.query("select distinct record_type from netsuite.items")
    assert set(items["record_type"]) <= {"nonInventorySaleItem", "serviceSaleItem"}

    read = _records_read(monkeypatch)
    second = dg.materialize(netsuite_staging_assets, resources=resources)
    for spec in STAGED:
        meta = _metadata(second, spec.name)
        assert meta["table_rows"] == _metadata(first, spec.name)["table_rows"], spec.name
        if spec.incremental:
            since = meta["since"]
            assert since != "full extract"
            in_overlap = warehouse.query(
                f"select count(*) as n from netsuite.{spec.name} where last_modified_date >= ?::timestamptz", [since]
            )["n"][0]
            assert meta["rows_fetched"] == in_overlap, spec.name  # nothing older is read again
            # ...and what is read again as staged is not made into rows or written again
            assert (meta["rows_unchanged"], meta["rows_upserted"]) == (in_overlap, 0), spec.name
        else:  # read whole: each record is compared with its staged row, however old
            assert meta["rows_fetched"] > 0, spec.name
            assert (meta["rows_unchanged"], meta["rows_upserted"]) == (meta["rows_fetched"], 0), spec.name
    # A record read again as staged is not even read into a dict (its XML is digested instead).
    assert sum(_metadata(second, spec.name)["rows_unchanged"] for spec in STAGED) > 0
    assert read == []
    lines_before = warehouse.query("select * exclude (_staged_at) from netsuite.invoice_lines order by all")
    assert _metadata(second, "invoices")["rows_fetched"] > 0
    assert _metadata(second, "invoices")["rows_unchanged"] == _metadata(second, "invoices")["rows_fetched"]

    # One invoice edited in NetSuite: it and its lines are written again, the others are not.
    edited = warehouse.query("select internal_id from netsuite.invoices order by total desc limit 1").item()
    with closing(netsuite.get_client()) as client:
        [outcome] = client.update_list("invoice", [{"internalId": edited, "memo": "edited in NetSuite"}])
        assert outcome.ok, outcome
    third = dg.materialize(netsuite_staging_assets, resources=resources)

    meta = _metadata(third, "invoices")
    assert meta["rows_upserted"] == 1 and meta["rows_unchanged"] == meta["rows_fetched"] - 1
    assert read == [edited]  # of every family's records read again, only the edited one is read
    assert warehouse.query(f"select memo from netsuite.invoices where internal_id = '{edited}'").item() == (
        "edited in NetSuite"
    )
    edited_lines = lines_before.filter(pl.col("transaction_internal_id") == edited).height
    assert edited_lines > 0 and _metadata(third, "invoice_lines")["line_rows_written"] == edited_lines
    assert warehouse.query("select * exclude (_staged_at) from netsuite.invoice_lines order by all").equals(
        lines_before
    )
