"""Search and getAll replies read without zeep (clients/netsuite/record_reader.py) give exactly
the records zeep's reading gives (`record_dict`), for every record family zsync stages; a reply
the reader does not fully know (a fault, broken XML) goes to zeep, which judges it as before."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from zeep.exceptions import Fault, TransportError

from zsync_assets.clients.netsuite.client import SoapNetSuiteClient
from zsync_assets.clients.netsuite.interface import UNREAD
from zsync_assets.clients.netsuite.record_reader import page_from_zeep
from zsync_assets.clients.netsuite.resource import NetSuiteResource
from zsync_assets.defs.netsuite.assets import STAGED
from zsync_assets_tests.test_netsuite_client import VENDOR, _invoice

READ_OPERATIONS = ("search", "searchMoreWithId", "getAll")


def _exactly(value: Any) -> Any:
    """A value with its key order, types and time zone objects spelt out: `==` alone would let a
    float pass for an int, or a timezone for the tzinfo zeep gives."""
    if isinstance(value, dict):
        return [(k, _exactly(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_exactly(v) for v in value]
    if isinstance(value, datetime):
        return repr(value), type(value.tzinfo).__name__
    return type(value).__name__, value


def _client(wsdl_url: str, endpoint_url: str, tmp_path: Path) -> SoapNetSuiteClient:
    client = NetSuiteResource(wsdl_url=wsdl_url, endpoint_url=endpoint_url, lock_dir=str(tmp_path / "l")).get_client()
    assert isinstance(client, SoapNetSuiteClient)
    return client


def _zeeps_page(client: SoapNetSuiteClient, operation: str, content: bytes):
    binding = client.zeep.service._binding
    reply = httpx.Response(200, content=content, headers={"content-type": "text/xml; charset=utf-8"})
    return page_from_zeep(binding.process_reply(client.zeep, binding.get(operation), reply).body)


def _by_name(records: list[dict], **equals: str) -> str:
    [found] = [r["internalId"] for r in records if all(r.get(k) == v for k, v in equals.items())]
    return found


def _records_as_zsync_writes_them(client: SoapNetSuiteClient) -> None:
    """A customer, an item and an invoice shaped as the flows write them: custom fields of each
    kind the account has (text, check box, date), lines with their own custom fields, rev rec
    dates, a parent. The seeded account has the other families (payments, refunds, memos...)."""

    def search(search_type: str, **criteria: Any) -> list[dict]:
        return [r for page in client.search(search_type, criteria) for r in page]

    subsidiary = _by_name(search("subsidiary"), name="US Inc")
    income = _by_name(search("account"), acctNumber="4000")
    [parent] = search("customer")[:1]
    customer = {
        "externalId": "zsync-reads-customer",
        "companyName": "Lesen & Schreiben GmbH ü",
        "subsidiary": {"internalId": subsidiary},
        "parent": {"internalId": parent["internalId"]},
        "addressbookList": {
            "addressbook": [{"defaultBilling": True, "addressbookAddress": {"country": "_germany", "city": "Köln"}}]
        },
        "customFieldList": {"custentity_zsync_zuora_id": "8a8reads", "custentity_zsync_send_to_zuora": False},
    }
    item = {
        "externalId": "zsync-reads-item",
        "itemId": "Reads Plan",
        "incomeAccount": {"internalId": income},
        "subsidiaryList": {"recordRef": [{"internalId": subsidiary}]},
        "customFieldList": {"custitem_zsync_zuora_id": "prpc-reads"},
    }
    [customer_id] = [r.internal_id for r in client.add_list("customer", [customer])]
    [item_id] = [r.internal_id for r in client.add_list("nonInventorySaleItem", [item])]
    invoice = _invoice(1)  # as zsync writes it, on this customer and item
    invoice["entity"] = {"internalId": customer_id}
    invoice["itemList"]["item"][0]["item"] = {"internalId": item_id}
    written = client.add_list("invoice", [invoice])
    assert [r.ok for r in written] == [True], written


def test_every_staged_family_reads_the_same_without_zeep(netsuite_sandbox, tmp_path):
    client = _client(netsuite_sandbox.wsdl_url, netsuite_sandbox.endpoint_url, tmp_path)
    _records_as_zsync_writes_them(client)
    replies: list[tuple[str, bytes]] = []
    send = client.http.post

    def recording_post(*args: Any, **kwargs: Any) -> httpx.Response:
        response = send(*args, **kwargs)
        if kwargs["headers"]["SOAPAction"] in READ_OPERATIONS:
            replies.append((kwargs["headers"]["SOAPAction"], response.content))
        return response

    client.http.post = recording_post  # type: ignore[method-assign]
    read: dict[str, list[dict]] = {}
    for spec in STAGED:  # as staging asks, in pages of 5 so that searchMoreWithId is read too
        start = len(replies)
        if spec.search is None:
            records = client.get_all(spec.get_all or spec.name)
        else:
            records = [r for page in client.search(spec.search, spec.criteria, page_size=5) for r in page]
        assert records, f"{spec.name}: the account has none, so nothing would be compared"
        zeeps = [_zeeps_page(client, operation, content) for operation, content in replies[start:]]
        assert _exactly(records) == _exactly([r for page in zeeps for r in page.records]), spec.name
        for (operation, content), zeep_page in zip(replies[start:], zeeps, strict=True):
            page = client.record_reader.read_reply(content)
            assert page is not None, f"{spec.name}: the {operation} reply went to zeep"
            assert (page.total_pages, page.search_id) == (zeep_page.total_pages, zeep_page.search_id)
        read[spec.name] = records
    assert {op for op, _ in replies} == set(READ_OPERATIONS)
    assert {r["recordType"] for r in read["items"]} == {"nonInventorySaleItem", "serviceSaleItem"}
    [invoice] = [r for r in read["invoices"] if r.get("externalId") == "zuora-inv-1"]
    assert invoice["customFieldList"]["custbody_zsync_sync_date"] == datetime(2026, 1, 5, tzinfo=UTC)
    assert invoice["itemList"]["item"][0]["customFieldList"] == {"custcol_zsync_zuora_item_id": "ii-1"}
    [customer] = [r for r in read["customers"] if r.get("externalId") == "zsync-reads-customer"]
    assert customer["customFieldList"]["custentity_zsync_send_to_zuora"] is False


def test_records_the_caller_has_seen_are_left_unread_in_their_places(netsuite_sandbox, tmp_path):
    """`seen` gets each record's stamp and own XML; a record it knows comes as a stub with the
    fields a pager and staging read of it (id, stamp), where the record was; the others as read
    before."""
    client = _client(netsuite_sandbox.wsdl_url, netsuite_sandbox.endpoint_url, tmp_path)
    replies: list[bytes] = []
    send = client.http.post

    def recording_post(*args: Any, **kwargs: Any) -> httpx.Response:
        response = send(*args, **kwargs)
        replies.append(response.content)
        return response

    client.http.post = recording_post  # type: ignore[method-assign]
    criteria = next(spec.criteria for spec in STAGED if spec.name == "invoices")
    records = [r for page in client.search("transaction", criteria, page_size=5) for r in page]
    known = {r["internalId"] for r in records if int(r["internalId"]) % 2 == 0}
    assert known and len(known) < len(records), "the account needs invoices of both kinds"
    asked: dict[str, bytes] = {}
    stamps: dict[str, Any] = {}

    def seen(internal_id: str, modified: Any, xml: bytes) -> bool:
        asked[internal_id], stamps[internal_id] = xml, modified
        return internal_id in known

    pages = [client.record_reader.read_reply(content, seen) for content in replies]
    again = [r for page in pages if page is not None for r in page.records]
    assert pages and None not in pages
    assert [r["internalId"] for r in again] == [r["internalId"] for r in records]
    for record, read in zip(records, again, strict=True):
        if record["internalId"] in known:
            assert read == {
                "internalId": record["internalId"],
                "lastModifiedDate": record["lastModifiedDate"],
                UNREAD: True,
            }
        else:
            assert _exactly(read) == _exactly(record)
    assert set(asked) == {r["internalId"] for r in records}
    assert stamps == {r["internalId"]: r["lastModifiedDate"] for r in records}
    assert all(isinstance(stamp, datetime) for stamp in stamps.values())
    for internal_id, xml in asked.items():  # the record element itself, namespaces declared
        element = etree.fromstring(xml)
        assert (etree.QName(element).localname, element.get("internalId")) == ("record", internal_id)
        assert xml.rstrip().endswith(b">")


# A search reply as NetSuite sends it (one subsidiary), and what a proxy or a fault makes of it.
REPLY = b"""<?xml version='1.0' encoding='UTF-8'?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>
<searchResponse xmlns="urn:messages_2023_2.platform.webservices.netsuite.com">
<platformCore:searchResult xmlns:platformCore="urn:core_2023_2.platform.webservices.netsuite.com">
<platformCore:status isSuccess="true"/><platformCore:totalRecords>1</platformCore:totalRecords>
<platformCore:totalPages>1</platformCore:totalPages><platformCore:recordList>
<platformCore:record internalId="2" xsi:type="listAcct:Subsidiary"
 xmlns:listAcct="urn:accounting_2023_2.lists.webservices.netsuite.com">
<listAcct:name>US Inc</listAcct:name><listAcct:isInactive>false</listAcct:isInactive>
</platformCore:record></platformCore:recordList></platformCore:searchResult></searchResponse>
</soapenv:Body></soapenv:Envelope>"""
FAULT = b"""<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<soapenv:Fault><faultcode>soapenv:Server.userException</faultcode>
<faultstring>Only 5 request(s) may be made at once.</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""


def test_a_fault_or_a_broken_reply_is_left_to_zeep_which_judges_it(tmp_path):
    client = _client(str(VENDOR / "netsuite.wsdl"), "http://127.0.0.1:9/", tmp_path)
    page = client.record_reader.read_reply(REPLY)
    assert page is not None and page == _zeeps_page(client, "search", REPLY)
    assert page.records == [{"name": "US Inc", "isInactive": False, "internalId": "2", "recordType": "subsidiary"}]
    for reply, zeep_raises in ((REPLY[: len(REPLY) // 2], TransportError), (FAULT, Fault)):
        assert client.record_reader.read_reply(reply) is None
        with pytest.raises(zeep_raises):
            _zeeps_page(client, "search", reply)


def test_seen_leaves_a_record_unread_and_a_reply_it_cannot_read_to_zeep(tmp_path):
    client = _client(str(VENDOR / "netsuite.wsdl"), "http://127.0.0.1:9/", tmp_path)
    page = client.record_reader.read_reply(REPLY, lambda internal_id, modified, xml: internal_id == "2")
    assert page is not None and page.records == [{"internalId": "2", "lastModifiedDate": None, UNREAD: True}]
    # A fault is still zeep's to judge; a failure of the caller's own is raised as it is.
    assert client.record_reader.read_reply(FAULT, lambda internal_id, modified, xml: True) is None

    def failing(internal_id: str, modified: Any, xml: bytes) -> bool:
        raise OSError("the warehouse is gone")

    with pytest.raises(OSError, match="the warehouse is gone"):
        client.record_reader.read_reply(REPLY, failing)
