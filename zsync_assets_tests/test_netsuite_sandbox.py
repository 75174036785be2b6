"""The NetSuite SOAP sandbox through real sockets, with zeep as the client (the WSDL the sandbox
serves, or the vendor's file with the endpoint pointed at the sandbox: the same document)."""

from __future__ import annotations

import datetime
import functools
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport
from zeep.wsdl import Document

from zsync_assets_tests.fixtures.netsuite_sandbox import BINDING, _NoNetworkSession
from zsync_assets_tests.fixtures.vendor_xsd import VENDOR_WSDL

CORE = "urn:core_2023_2.platform.webservices.netsuite.com"
COMMON = "urn:common_2023_2.platform.webservices.netsuite.com"
REL = "urn:relationships_2023_2.lists.webservices.netsuite.com"
ACCT = "urn:accounting_2023_2.lists.webservices.netsuite.com"
SALES = "urn:sales_2023_2.transactions.webservices.netsuite.com"
CUST = "urn:customers_2023_2.transactions.webservices.netsuite.com"


@functools.cache
def vendor_document() -> Document:
    """The vendor WSDL parsed once per process (about a second); each Api gets its own client on it."""
    # zeep annotates `transport` as a class, but calls methods on it: it takes an instance.
    return Document(str(VENDOR_WSDL), Transport(session=_NoNetworkSession()))  # type: ignore[arg-type]


class Api:
    """zeep against the sandbox, signing a fresh passport per call and keeping the raw envelopes.

    `served=True` loads the WSDL from the sandbox's URL (and its XSDs from beside it); otherwise
    the vendor's file, which is the same document with NetSuite's address in it."""

    def __init__(self, sandbox, served: bool = False):
        self.sandbox = sandbox
        self.history = HistoryPlugin()
        wsdl = sandbox.wsdl_url if served else vendor_document()
        self.client = zeep.Client(wsdl, plugins=[self.history], transport=Transport(session=requests.Session()))
        self.service = self.client.create_service(BINDING, sandbox.endpoint_url)

    def t(self, ns: str, name: str):
        return self.client.get_type(f"{{{ns}}}{name}")

    def ref(self, internal_id=None, **kw):
        return self.t(CORE, "RecordRef")(internalId=internal_id, **kw)

    def call(self, op: str, *, headers: dict | None = None, **kwargs):
        soap_headers = {"tokenPassport": self.sandbox.passport(), **(headers or {})}
        return getattr(self.service, op)(**kwargs, _soapheaders=soap_headers).body

    @functools.cached_property
    def subsidiary_id(self) -> str:
        search = self.t(COMMON, "SubsidiarySearchBasic")(
            name=self.t(CORE, "SearchStringField")(operator="is", searchValue="US Inc")
        )
        [subsidiary] = self.call("search", searchRecord=search).searchResult.recordList.record
        return subsidiary.internalId

    def customer(self, external_id: str, name: str, **kw):
        return self.t(REL, "Customer")(
            externalId=external_id, companyName=name, subsidiary=self.ref(self.subsidiary_id), **kw
        )


def seeded_item(api: Api) -> str:
    """The seeded service item "Implementation Services", found by name."""
    search = api.t(COMMON, "ItemSearchBasic")(
        itemId=api.t(CORE, "SearchStringField")(operator="is", searchValue="Implementation Services")
    )
    [item] = api.call("search", searchRecord=search).searchResult.recordList.record
    return item.internalId


def currency_id(api: Api, symbol: str) -> str:
    currencies = api.call("getAll", record=api.t(CORE, "GetAllRecord")(recordType="currency")).getAllResult
    [found] = [c.internalId for c in currencies.recordList.record if c.symbol == symbol]
    return found


def test_wsdl_is_served_with_the_sandbox_endpoint(netsuite_sandbox):
    wsdl = httpx.get(netsuite_sandbox.wsdl_url)
    assert wsdl.status_code == 200
    root = etree.fromstring(wsdl.content)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")
    assert address == netsuite_sandbox.endpoint_url
    xsd = httpx.get(netsuite_sandbox.wsdl_url.rsplit("/", 1)[0] + "/xsd/platform.core.xsd")
    assert xsd.status_code == 200 and b"TokenPassport" in xsd.content
    assert httpx.get(netsuite_sandbox.wsdl_url.rsplit("/", 1)[0] + "/xsd/..%2Fnetsuite.wsdl").status_code == 404


@pytest.mark.parametrize("wsdl", ["served", "vendor"])
def test_customer_add_get_upsert_list_and_search(netsuite_sandbox, wsdl, vendor_xsd):
    api = Api(netsuite_sandbox, served=wsdl == "served")
    bool_field = api.t(CORE, "BooleanCustomFieldRef")(scriptId="custentity_zsync_send_to_zuora", value=True)
    added = api.call(
        "add", record=api.customer("zacc-1", "Ünïcode GmbH", customFieldList={"customField": [bool_field]})
    ).writeResponse
    assert added.status.isSuccess, added.status
    internal_id = added.baseRef.internalId
    got = api.call("get", baseRef=api.ref(internal_id, type="customer")).readResponse
    assert got.record.companyName == "Ünïcode GmbH" and got.record.externalId == "zacc-1"
    assert got.record.lastModifiedDate is not None and got.record.entityId

    upserted = api.call(
        "upsertList", record=[api.customer("zacc-1", "Renamed GmbH"), api.customer("zacc-2", "Second Ltd")]
    ).writeResponseList
    assert [r.status.isSuccess for r in upserted.writeResponse] == [True, True]
    assert upserted.writeResponse[0].baseRef.internalId == internal_id  # updated, not duplicated
    again = api.call("get", baseRef=api.ref(externalId="zacc-1", type="customer")).readResponse.record
    assert again.companyName == "Renamed GmbH"
    # custom fields merge by scriptId on update: the flag survives a rename
    assert again.customFieldList.customField[0].value is True

    search = api.t(COMMON, "CustomerSearchBasic")(
        externalId=api.t(CORE, "SearchMultiSelectField")(
            operator="anyOf", searchValue=[api.ref(externalId="zacc-1"), api.ref(externalId="zacc-2")]
        )
    )
    found = api.call("search", searchRecord=search).searchResult
    assert found.status.isSuccess and found.totalRecords == 2
    assert {r.externalId for r in found.recordList.record} == {"zacc-1", "zacc-2"}
    for envelope in (api.history.last_sent["envelope"], api.history.last_received["envelope"]):
        vendor_xsd.assert_envelope_valid(envelope)


def test_every_response_shape_validates_against_vendor_xsds(netsuite_sandbox, vendor_xsd):
    api = Api(netsuite_sandbox)
    received = []

    def call(op, **kw):
        body = api.call(op, **kw)
        received.append((op, api.history.last_received["envelope"]))
        return body

    call("getAll", record=api.t(CORE, "GetAllRecord")(recordType="currency"))
    prefs = {"searchPreferences": {"pageSize": 5, "bodyFieldsOnly": False}}
    for record_type in ("_invoice", "_customerPayment", "_creditMemo", "_customerRefund", "_salesOrder"):
        result = call(
            "search",
            headers=prefs,
            searchRecord=api.t(COMMON, "TransactionSearchBasic")(
                type=api.t(CORE, "SearchEnumMultiSelectField")(operator="anyOf", searchValue=[record_type])
            ),
        ).searchResult
        assert result.totalRecords > 0, record_type
    call("searchMoreWithId", searchId=result.searchId, pageIndex=1)
    for basic in (
        "CustomerSearchBasic",
        "ItemSearchBasic",
        "AccountSearchBasic",
        "SubsidiarySearchBasic",
        "TermSearchBasic",
        "SalesTaxItemSearchBasic",
    ):
        assert call("search", headers=prefs, searchRecord=api.t(COMMON, basic)()).searchResult.totalRecords > 0
    call("getList", baseRef=[api.ref(currency_id(api, "USD"), type="currency"), api.ref("999999", type="customer")])
    call("addList", record=[api.customer("v-1", "Valid Co"), api.customer("v-1", "Duplicate Co")])
    call("addList", record=[api.customer("v-2", "Second Co")])
    call("delete", baseRef=api.ref(externalId="v-1", type="customer"))
    call("deleteList", baseRef=[api.ref(externalId="v-2", type="customer"), api.ref("999999", type="customer")])
    for _op, envelope in received:
        vendor_xsd.assert_envelope_valid(envelope)


def test_transactions_lines_totals_and_applications(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    item = seeded_item(api)
    customer = api.call("add", record=api.customer("zacc-tx", "Ledger Co")).writeResponse.baseRef.internalId
    line = api.t(SALES, "InvoiceItem")
    lines = {
        "item": [
            line(
                item=api.ref(item),
                quantity=2,
                rate="100.00",
                amount=200.0,
                revRecStartDate="2026-01-01T00:00:00",
                revRecEndDate="2026-12-31T00:00:00",
                customFieldList={
                    "customField": [
                        api.t(CORE, "StringCustomFieldRef")(scriptId="custcol_zsync_zuora_item_id", value="zitem-1")
                    ]
                },
            ),
            line(item=api.ref(item), quantity=1, rate="-50.00"),
        ]
    }
    invoice = api.t(SALES, "Invoice")(externalId="zinv-1", entity=api.ref(customer), itemList=lines)
    inv_id = api.call("add", record=invoice).writeResponse.baseRef.internalId
    got = api.call("get", baseRef=api.ref(inv_id, type="invoice")).readResponse.record
    assert got.total == 150.0 and got.amountRemaining == 150.0
    assert [x.amount for x in got.itemList.item] == [200.0, -50.0]

    bad_line = {"item": [line(item=api.ref(item), quantity=2, rate="100.00", amount=150.0)]}
    wrong = api.call("add", record=api.t(SALES, "Invoice")(entity=api.ref(customer), itemList=bad_line))
    assert wrong.writeResponse.status.statusDetail[0].code == "USER_ERROR"

    apply = api.t(CUST, "CustomerPaymentApply")
    payment = api.t(CUST, "CustomerPayment")
    over = api.call(
        "add",
        record=payment(
            customer=api.ref(customer),
            payment=500.0,
            applyList={"apply": [apply(doc=int(inv_id), apply=True, amount=400.0)]},
        ),
    ).writeResponse
    assert over.status.statusDetail[0].code == "USER_ERROR"
    ok = api.call(
        "add",
        record=payment(
            customer=api.ref(customer),
            payment=100.0,
            applyList={"apply": [apply(doc=int(inv_id), apply=True, amount=100.0)]},
        ),
    ).writeResponse
    assert ok.status.isSuccess
    assert api.call("get", baseRef=api.ref(inv_id, type="invoice")).readResponse.record.amountRemaining == 50.0


def test_bad_passports_and_application_info_are_rejected(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    get = {"baseRef": api.ref(currency_id(api, "USD"), type="currency")}
    good = netsuite_sandbox.passport()
    assert api.service.get(**get, _soapheaders={"tokenPassport": good}).body.readResponse.status.isSuccess
    bad_signature = {**netsuite_sandbox.passport(), "signature": {"_value_1": "AAAA", "algorithm": "HMAC-SHA256"}}
    stale = netsuite_sandbox.passport(timestamp=int(time.time()) - 3600)
    other_account = {**netsuite_sandbox.passport(), "account": "OTHER"}
    for headers in (
        {"tokenPassport": good},  # the nonce was used above: single use, retries included
        {"tokenPassport": bad_signature},
        {"tokenPassport": stale},
        {"tokenPassport": other_account},
        {"tokenPassport": netsuite_sandbox.passport(), "applicationInfo": {"applicationId": "X"}},
        {},
    ):
        with pytest.raises(zeep.exceptions.Fault) as info:
            api.service.get(**get, _soapheaders=headers)
        assert info.value.detail.find(".//{*}invalidCredentialsFault") is not None, headers
        assert netsuite_sandbox.token_secret not in info.value.message


def test_list_partial_failure_commits_the_good_records(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    records = [
        api.customer("p-1", "Good One"),
        api.t(REL, "Customer")(externalId="p-2", companyName="Bad Ref", subsidiary=api.ref("999999")),
        api.t(REL, "Customer")(externalId="p-3", subsidiary=api.ref(api.subsidiary_id)),  # companyName missing
        api.customer("p-4", "Good Two"),
        api.customer("p-1", "Duplicate External Id"),
    ]
    result = api.call("addList", record=records).writeResponseList.writeResponse
    codes = [r.status.statusDetail[0].code if not r.status.isSuccess else "OK" for r in result]
    assert codes == ["OK", "INVALID_KEY_OR_REF", "USER_ERROR", "OK", "DUP_ENTITY"]
    assert "subsidiary" in result[1].status.statusDetail[0].message
    got = api.call("getList", baseRef=[api.ref(externalId=f"p-{i}", type="customer") for i in (1, 2, 4)])
    assert [r.status.isSuccess for r in got.readResponseList.readResponse] == [True, False, True]
    assert got.readResponseList.readResponse[1].status.statusDetail[0].code == "RCRD_DSNT_EXIST"
    stats = netsuite_sandbox.stats()
    assert stats["writes"] == 1 and stats["writes:addList"] == 1 and stats["records_written"] == 2


def test_over_limit_list_is_a_fault(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    with pytest.raises(zeep.exceptions.Fault) as info:
        api.call("upsertList", record=[api.customer(f"o-{i}", f"Over {i}") for i in range(101)])
    assert info.value.detail.find(".//{*}exceededRecordCountFault") is not None
    assert (
        api.call(
            "search",
            searchRecord=api.t(COMMON, "CustomerSearchBasic")(
                externalIdString=api.t(CORE, "SearchStringField")(operator="startsWith", searchValue="o-")
            ),
        ).searchResult.totalRecords
        == 0
    )


def test_search_more_with_id_pages_and_expires(make_netsuite_sandbox):
    sandbox = make_netsuite_sandbox(size=24, search_id_ttl_s=1.0)
    api = Api(sandbox)
    send_flag = api.t(CORE, "SearchBooleanCustomField")(scriptId="custentity_zsync_send_to_zuora", searchValue=True)
    search = api.t(COMMON, "CustomerSearchBasic")(customFieldList={"customField": [send_flag]})
    first = api.call("search", searchRecord=search, headers={"searchPreferences": {"pageSize": 5}}).searchResult
    assert first.totalRecords == 8 and first.totalPages == 2 and len(first.recordList.record) == 5
    second = api.call("searchMoreWithId", searchId=first.searchId, pageIndex=2).searchResult
    ids = [r.internalId for r in first.recordList.record + second.recordList.record]
    assert len(set(ids)) == 8 and second.pageIndex == 2
    time.sleep(1.2)
    expired = api.call("searchMoreWithId", searchId=first.searchId, pageIndex=2).searchResult
    assert not expired.status.isSuccess and expired.status.statusDetail[0].code == "INVALID_JOB_ID"
    small = api.call("search", searchRecord=search, headers={"searchPreferences": {"pageSize": 2}}).searchResult
    assert small.status.statusDetail[0].code == "INVALID_SEARCH_PAGE_SIZE"


def test_a_record_changed_between_pages_is_served_as_it_is_now(make_netsuite_sandbox):
    # searchMoreWithId runs the search again for each page: a record renamed after page 1 was
    # served is on page 2 with its new name (the store decodes a record again once its text
    # changed, and serves the decoded one for every page while it has not).
    sandbox = make_netsuite_sandbox(size=24)
    api = Api(sandbox)
    send_flag = api.t(CORE, "SearchBooleanCustomField")(scriptId="custentity_zsync_send_to_zuora", searchValue=True)
    search = api.t(COMMON, "CustomerSearchBasic")(customFieldList={"customField": [send_flag]})
    first = api.call("search", searchRecord=search, headers={"searchPreferences": {"pageSize": 5}}).searchResult
    again = api.call("searchMoreWithId", searchId=first.searchId, pageIndex=2).searchResult
    later = again.recordList.record[-1]
    renamed = api.call(
        "update", record=api.t(REL, "Customer")(internalId=later.internalId, companyName="Renamed meanwhile")
    ).writeResponse
    assert renamed.status.isSuccess, renamed.status

    second = api.call("searchMoreWithId", searchId=first.searchId, pageIndex=2).searchResult

    served = {r.internalId: r.companyName for r in second.recordList.record}
    assert served[later.internalId] == "Renamed meanwhile" != later.companyName
    unchanged = {r.internalId: r.companyName for r in again.recordList.record if r.internalId != later.internalId}
    assert unchanged and all(served[i] == name for i, name in unchanged.items())


def test_concurrency_limit_blocks_with_ws_request_blocked(make_netsuite_sandbox):
    sandbox = make_netsuite_sandbox(size=0, concurrency_limit=2)
    sandbox.set_faults([{"route": "get", "latency_ms": 400}])
    api = Api(sandbox)
    usd = currency_id(api, "USD")

    def one_call(_):
        message = api.client.create_message(
            api.service,
            "get",
            baseRef=api.ref(usd, type="currency"),
            _soapheaders={"tokenPassport": sandbox.passport()},
        )
        response = httpx.post(
            sandbox.endpoint_url,
            content=etree.tostring(message),
            headers={"Content-Type": "text/xml", "SOAPAction": "get"},
            timeout=10,
        )
        return response.status_code, response.content

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one_call, range(6)))
    blocked = [body for status, body in results if b"WS_REQUEST_BLOCKED" in body]
    assert sum(status == 200 for status, _ in results) >= 2 and len(blocked) >= 1
    assert all(b"exceededConcurrentRequestLimitFault" in body for body in blocked)
    assert httpx.get(sandbox.url + "/").json()["peak_in_flight"] <= 2


def test_invalid_body_is_a_fault_naming_the_problem(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    message = api.client.create_message(
        api.service,
        "add",
        record=api.customer("inv-1", "Order Co"),
        _soapheaders={"tokenPassport": netsuite_sandbox.passport()},
    )
    record = message.find(".//{*}record")
    company, subsidiary = record.find(f"{{{REL}}}companyName"), record.find(f"{{{REL}}}subsidiary")
    record.remove(company)
    subsidiary.addnext(company)  # xs:sequence is ordered: NetSuite rejects swapped elements
    response = httpx.post(
        netsuite_sandbox.endpoint_url,
        content=etree.tostring(message),
        headers={"Content-Type": "text/xml", "SOAPAction": "add"},
    )
    assert response.status_code == 500 and b"companyName" in response.content and b"faultstring" in response.content


def test_commit_then_drop_and_durability_across_restart(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    netsuite_sandbox.set_faults([{"route": "upsertList", "commit_then_drop": 1}])
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        api.call("upsertList", record=[api.customer("d-1", "Dropped Reply Co")])
    assert netsuite_sandbox.stats()["writes:upsertList"] == 1
    netsuite_sandbox.restart()
    api = Api(netsuite_sandbox)
    replay = api.call("upsertList", record=[api.customer("d-1", "Dropped Reply Co")]).writeResponseList
    assert replay.writeResponse[0].status.isSuccess  # the replay updates, no duplicate
    found = api.call(
        "search",
        searchRecord=api.t(COMMON, "CustomerSearchBasic")(
            companyName=api.t(CORE, "SearchStringField")(operator="is", searchValue="Dropped Reply Co")
        ),
    ).searchResult
    assert found.totalRecords == 1


def test_incremental_search_updates_items_and_injected_governance(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    search = api.call(
        "search",
        searchRecord=api.t(COMMON, "AccountSearchBasic")(
            number=api.t(CORE, "SearchStringField")(operator="is", searchValue="4000")
        ),
    ).searchResult
    [income] = [r.internalId for r in search.recordList.record]
    item = api.t(ACCT, "ServiceSaleItem")
    long_name = "x" * 61  # NetSuite's itemId limit is 60 characters
    added = api.call(
        "addList",
        record=[
            item(externalId="i-1", itemId="Platform Fee", incomeAccount=api.ref(income)),
            item(externalId="i-2", itemId=long_name, incomeAccount=api.ref(income)),
        ],
    )
    assert [r.status.isSuccess for r in added.writeResponseList.writeResponse] == [True, False]
    cursor = api.call("get", baseRef=api.ref(externalId="i-1", type="serviceSaleItem")).readResponse.record
    time.sleep(0.01)
    updated = api.call(
        "updateList",
        record=[
            item(externalId="i-1", displayName="Platform Fee (monthly)"),
            item(externalId="missing", displayName="Nope"),
        ],
    )
    codes = [r.status.isSuccess or r.status.statusDetail[0].code for r in updated.writeResponseList.writeResponse]
    assert codes == [True, "RCRD_DSNT_EXIST"]
    since = api.t(CORE, "SearchDateField")(operator="after", searchValue=cursor.lastModifiedDate)
    changed = api.call("search", searchRecord=api.t(COMMON, "ItemSearchBasic")(lastModifiedDate=since)).searchResult
    assert [(r.externalId, r.displayName) for r in changed.recordList.record] == [("i-1", "Platform Fee (monthly)")]
    # The same instant written at +14:00, its wall clock most of a day ahead of the account's,
    # finds the same change: the sandbox narrows a lastModifiedDate search by the stored text
    # (search.py `_modified_since`), which must never compare wall clocks of different offsets.
    far_east = cursor.lastModifiedDate.astimezone(datetime.timezone(datetime.timedelta(hours=14)))
    since_far_east = api.t(CORE, "SearchDateField")(operator="after", searchValue=far_east)
    again = api.call("search", searchRecord=api.t(COMMON, "ItemSearchBasic")(lastModifiedDate=since_far_east))
    assert [r.externalId for r in again.searchResult.recordList.record] == ["i-1"]

    netsuite_sandbox.set_faults([{"route": "search", "governance_rate": 1.0}])
    with pytest.raises(zeep.exceptions.Fault) as info:
        api.call("search", searchRecord=api.t(COMMON, "ItemSearchBasic")(lastModifiedDate=since))
    assert info.value.detail.find(".//{*}exceededConcurrentRequestLimitFault") is not None
    netsuite_sandbox.clear_faults()
    assert api.call("search", searchRecord=api.t(COMMON, "TermSearchBasic")()).searchResult.totalRecords == 4


def _rich_upsert_list() -> etree._Element:
    """An upsertList the way zsync sends one: records by xsi:type, line lists, custom fields of
    several types, dateTimes, attributes, an empty list element and a nullFieldList."""
    from zsync_assets.sandbox.netsuite.schema import MSG, render_element

    def ref(internal_id: str, **kw) -> dict:
        return {"@type": f"{{{CORE}}}RecordRef", "internalId": internal_id, **kw}

    invoices = [
        {
            "@type": f"{{{SALES}}}Invoice",
            "externalId": f"zuora-inv-{n}",
            "entity": ref(str(10 + n), type="customer"),
            "tranDate": datetime.datetime(2026, 1, n + 1, 8, 30, tzinfo=datetime.UTC),
            "memo": f'line "{n}" & <more>',
            "nullFieldList": {"@type": f"{{{CORE}}}NullField", "name": ["otherRefNum"]},
            "itemList": {
                "@type": f"{{{SALES}}}InvoiceItemList",
                "replaceAll": True,
                "item": [
                    {
                        "@type": f"{{{SALES}}}InvoiceItem",
                        "item": ref("7"),
                        "amount": 10.5 * (i + 1),
                        "quantity": float(i + 1),
                        "description": f"charge {i}",
                        "revRecStartDate": datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC),
                    }
                    for i in range(n + 1)
                ],
            },
            "customFieldList": {
                "@type": f"{{{CORE}}}CustomFieldList",
                "customField": [
                    {"@type": f"{{{CORE}}}StringCustomFieldRef", "scriptId": "custbody_zuora_id", "value": f"z{n}"},
                    {"@type": f"{{{CORE}}}BooleanCustomFieldRef", "scriptId": "custbody_flag", "value": n % 2 == 0},
                    {"@type": f"{{{CORE}}}DoubleCustomFieldRef", "scriptId": "custbody_amount", "value": 1.25},
                ],
            },
        }
        for n in range(3)
    ]
    customer = {
        "@type": f"{{{REL}}}Customer",
        "externalId": "zuora-acct-1",
        "companyName": "Acme",
        "isPerson": False,
        "subsidiary": ref("1"),
        "addressbookList": {
            "@type": f"{{{REL}}}CustomerAddressbookList",
            "addressbook": [
                {
                    "@type": f"{{{REL}}}CustomerAddressbook",
                    "defaultBilling": True,
                    "addressbookAddress": {
                        "@type": "{urn:common_2023_2.platform.webservices.netsuite.com}Address",
                        "country": "_unitedStates",
                        "addr1": "1 Main St",
                    },
                }
            ],
        },
    }
    element = render_element(f"{{{MSG}}}upsertList", {"record": [*invoices, customer]})
    return etree.fromstring(etree.tostring(element))  # as the sandbox gets it: parsed from bytes


def test_the_schema_walk_reads_a_rich_upsert_list_exactly_as_zeep_does():
    from zsync_assets.sandbox.netsuite.schema import parse_element, validation_errors
    from zsync_assets.sandbox.netsuite.schema_walk import parse_request

    request = _rich_upsert_list()
    assert validation_errors(request) == []
    fast = parse_request(request)
    assert fast == parse_element(request)
    # Not vacuous: the values came through typed, as the writer needs them.
    [*invoices, customer] = fast["record"]
    assert [len(i["itemList"]["item"]) for i in invoices] == [1, 2, 3]
    assert invoices[2]["tranDate"] == datetime.datetime(2026, 1, 3, 8, 30, tzinfo=datetime.UTC)
    assert invoices[0]["customFieldList"]["customField"][1]["value"] is True
    assert customer["addressbookList"]["addressbook"][0]["addressbookAddress"]["country"] == "_unitedStates"


def _as_written(node: etree._Element) -> tuple:
    """An element as a reader sees it: its tag, its attributes with `xsi:type` resolved to the
    type's namespace and name, its text and its children, in order. Where each namespace prefix
    is declared, and what it is called, is left out."""
    attributes = dict(node.attrib)
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    if xsi_type in attributes:
        prefix, _, local = attributes[xsi_type].rpartition(":")
        attributes[xsi_type] = etree.QName(node.nsmap[prefix or None], local).text
    return (node.tag, sorted(attributes.items()), (node.text or "").strip(), [_as_written(c) for c in node])


def _search_page(records: list[dict]) -> dict:
    return {
        "searchResult": {
            "status": {"isSuccess": True},
            "totalRecords": len(records),
            "pageSize": 1000,
            "totalPages": 1,
            "pageIndex": 1,
            "searchId": "WEBSERVICES_1_abc",
            "recordList": {"record": records},
        }
    }


def _rich_records() -> list[dict]:
    """The records of the rich upsertList, as a search page returns them (with internal ids)."""
    from zsync_assets.sandbox.netsuite.schema import parse_element

    records = parse_element(_rich_upsert_list())["record"]
    for n, record in enumerate(records):
        record["internalId"] = str(100 + n)
    return records


def test_the_schema_walk_writes_a_search_page_as_zeep_does():
    from zsync_assets.sandbox.netsuite.schema import MSG, render_element, validation_errors
    from zsync_assets.sandbox.netsuite.schema_walk import render_response

    records = _rich_records()
    page = _search_page(records)
    qname = f"{{{MSG}}}searchResponse"
    walked = etree.fromstring(etree.tostring(render_response(qname, page)))
    assert validation_errors(walked) == []
    # Element for element, attribute for attribute, value for value (the walk declares a record
    # type's namespace once on the record, zeep on each field of it).
    assert _as_written(walked) == _as_written(render_element(qname, page))
    # And so in the response the sandbox serves, where the walk writes into the envelope's Body.
    from zsync_assets.sandbox.netsuite.soap import soap_response

    served = etree.fromstring(soap_response("search", page, "WEBSERVICES_1_doc").body)
    [message] = served.iter(qname)
    assert _as_written(message) == _as_written(render_element(qname, page))
    assert len(etree.tostring(message)) < len(etree.tostring(render_element(qname, page)))
    assert len(walked.findall(f".//{{{CORE}}}record")) == len(records) == 4


def test_a_record_is_served_as_the_same_text_on_any_page_and_anew_once_changed(monkeypatch):
    """Records go on a page as text written once (schema_walk.py `_record_text`): a client that
    digests a record's XML (zsync's staging) must find the same text on another page, and a
    changed record must never be served as it was."""
    from zsync_assets.sandbox.netsuite import schema_walk
    from zsync_assets.sandbox.netsuite.soap import soap_response

    def served(records: list[dict]) -> dict[str, bytes]:
        body = etree.fromstring(soap_response("search", _search_page(records), "WEBSERVICES_1_doc").body)
        return {str(r.get("internalId")): etree.tostring(r, with_tail=False) for r in body.iter(f"{{{CORE}}}record")}

    monkeypatch.setattr(schema_walk, "_RECORD_TEXT", {})
    monkeypatch.setattr(schema_walk, "_RECORD_TEXT_MAX", 3)  # fewer than the records served below
    records = _rich_records()
    whole = served(records)
    assert len(whole) == len(records) == 4
    alone = served([records[-1]])  # on a page of its own, and written again since the cache is full
    assert alone == {records[-1]["internalId"]: whole[records[-1]["internalId"]]}
    assert len(schema_walk._RECORD_TEXT) <= 3
    changed = dict(records[0], externalId=records[0]["externalId"] + "-changed")
    again = served([changed, *records[1:]])
    assert again[changed["internalId"]] != whole[changed["internalId"]]
    assert {k: v for k, v in again.items() if k != changed["internalId"]} == {
        k: v for k, v in whole.items() if k != changed["internalId"]
    }
    assert served(records) == whole


def test_in_check_mode_a_request_the_two_parses_read_differently_fails_naming_the_field(
    netsuite_sandbox, monkeypatch, caplog
):
    from zsync_assets.sandbox.netsuite import schema_walk

    real = schema_walk.parse_request

    def loses_company_name(node):
        parsed = real(node)
        if isinstance(parsed.get("record"), dict):  # `add` carries one record
            parsed["record"].pop("companyName", None)
        return parsed

    monkeypatch.setattr(schema_walk, "parse_request", loses_company_name)
    api = Api(netsuite_sandbox)
    with pytest.raises(zeep.exceptions.Fault):
        api.call("add", record=api.customer("check-mode-1", "Checked Co"))
    logged = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert any("differs from zeep's: /record/companyName: " in text for text in logged), logged


def test_a_search_matches_again_only_once_the_store_changed(tmp_path, monkeypatch):
    """The pages of one search keep its hits while nothing was written, by the sandbox or by any
    other connection to its file; a write makes the next page run the search again."""
    from zsync_assets.sandbox.netsuite.clock import AccountClock
    from zsync_assets.sandbox.netsuite.search import TYPE_KEY, Searcher
    from zsync_assets.sandbox.netsuite.seed import seed_account
    from zsync_assets.sandbox.netsuite.store import Store

    path, clock = tmp_path / "netsuite.sqlite", AccountClock(None)
    store = Store(path)
    seed_account(store, clock, seed=7, size=24)
    reads = []
    every = store.all
    monkeypatch.setattr(store, "all", lambda *a, **k: reads.append(a) or every(*a, **k))
    searcher = Searcher(store, clock)
    customers = {TYPE_KEY: "CustomerSearchBasic"}
    first = searcher.search(customers, {"pageSize": 5})
    assert first["totalPages"] > 2 and len(reads) == 1
    searcher.more(first["searchId"], 2)
    assert len(reads) == 1  # nothing written: the same hits

    other = Store(path)  # another connection, as a second process would have
    last = searcher.more(first["searchId"], 3)["recordList"]["record"][-1]
    record = other.get(last["internalId"], "customer")
    assert record is not None
    other.save("customer", record["internal_id"], {**record["data"], "companyName": "Renamed elsewhere"}, None)
    other.close()
    again = searcher.more(first["searchId"], 3)["recordList"]["record"]
    assert len(reads) == 2
    assert {r["internalId"]: r.get("companyName") for r in again}[last["internalId"]] == "Renamed elsewhere"
