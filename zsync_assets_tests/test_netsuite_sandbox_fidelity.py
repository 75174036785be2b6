"""The NetSuite sandbox behaves as NetSuite does where a trimmed copy or a shortcut would not:
the vendor's full schema, record types the account lacks, every search form, ids counted per
record type, nonce bounds, updates that keep a record's shape. Through real sockets, with zeep.
"""

from __future__ import annotations

import re
import sqlite3

import httpx
import pytest
import zeep

from zsync_assets.sandbox.netsuite.store import Store
from zsync_assets_tests.fixtures.vendor_xsd import VENDOR_WSDL
from zsync_assets_tests.test_netsuite_sandbox import ACCT, COMMON, CORE, REL, SALES, Api, seeded_item

SEARCHES = {  # record -> (namespace of its Search / SearchAdvanced types, seeded records)
    "Customer": (REL, 3),
    "Subsidiary": (ACCT, 4),
    "Item": (ACCT, 3),
    "Term": (ACCT, 4),
    "Account": (ACCT, 7),
}


def status_code(status) -> str:
    return "OK" if status.isSuccess else status.statusDetail[0].code


@pytest.mark.conformance
def test_served_wsdl_is_the_vendors_with_only_the_address_changed(netsuite_sandbox):
    served = httpx.get(netsuite_sandbox.wsdl_url).text
    vendor = VENDOR_WSDL.read_text()
    address = re.compile(r'(<soap:address\s+location=)"[^"]*"')
    assert address.sub(r'\1""', served) == address.sub(r'\1""', vendor)
    assert f'location="{netsuite_sandbox.endpoint_url}"' in served
    # The XSDs sit where the WSDL's relative schemaLocations lead, byte for byte.
    xsd = httpx.get(netsuite_sandbox.wsdl_url.rsplit("/", 1)[0] + "/xsd/platform.common.xsd")
    assert xsd.content == (VENDOR_WSDL.parent / "xsd" / "platform.common.xsd").read_bytes()


def test_fields_and_countries_of_the_full_vendor_schema_are_accepted(netsuite_sandbox, vendor_xsd):
    api = Api(netsuite_sandbox)
    address = api.t(COMMON, "Address")(addr1="1 Queen Street", city="Auckland", country="_newZealand")
    customer = api.customer(
        "fid-1",
        "Kiwi Ltd",
        comments="entered by the mapping",
        url="https://kiwi.example",
        addressbookList={"addressbook": [{"addressbookAddress": address, "label": "HQ"}]},
    )
    assert api.call("add", record=customer).writeResponse.status.isSuccess
    got = api.call("get", baseRef=api.ref(externalId="fid-1", type="customer")).readResponse.record
    assert (got.comments, got.url) == ("entered by the mapping", "https://kiwi.example")
    assert got.addressbookList.addressbook[0].addressbookAddress.country == "_newZealand"
    vendor_xsd.assert_envelope_valid(api.history.last_received["envelope"])


def test_record_types_the_sandbox_lacks_are_answered_feature_disabled(netsuite_sandbox, vendor_xsd):
    api = Api(netsuite_sandbox)
    vendor_record = api.t(REL, "Vendor")(externalId="fid-v", companyName="Supplier Co")
    added = api.call("addList", record=[api.customer("fid-c", "Buyer Co"), vendor_record])
    answers = [api.history.last_received["envelope"]]
    assert [status_code(r.status) for r in added.writeResponseList.writeResponse] == ["OK", "FEATURE_DISABLED"]
    read = api.call("get", baseRef=api.ref("1", type="vendor")).readResponse
    answers.append(api.history.last_received["envelope"])
    untyped = api.call("get", baseRef=api.ref("1")).readResponse
    answers.append(api.history.last_received["envelope"])
    assert status_code(untyped.status) == "RCRD_TYPE_REQD"
    searched = api.call("search", searchRecord=api.t(COMMON, "VendorSearchBasic")()).searchResult
    answers.append(api.history.last_received["envelope"])
    every = api.call("getAll", record=api.t(CORE, "GetAllRecord")(recordType="state")).getAllResult
    answers.append(api.history.last_received["envelope"])
    assert [status_code(s) for s in (read.status, searched.status, every.status)] == ["FEATURE_DISABLED"] * 3

    def deleted(record_type: str):
        flt = api.t(CORE, "GetDeletedFilter")(
            type=api.t(CORE, "SearchEnumMultiSelectField")(operator="anyOf", searchValue=[record_type])
        )
        return status_code(api.call("getDeleted", getDeletedFilter=flt, pageIndex=1).getDeletedResult.status)

    # `type` is xsd:string in the filter: a name outside RecordType is NetSuite's INVALID_RCRD_TYPE.
    assert (deleted("vendor"), deleted("notARecordType")) == ("FEATURE_DISABLED", "INVALID_RCRD_TYPE")
    for envelope in answers:
        vendor_xsd.assert_envelope_valid(envelope)


@pytest.mark.parametrize("record", sorted(SEARCHES))
def test_every_search_form_without_criteria_returns_every_record(netsuite_sandbox, record):
    api = Api(netsuite_sandbox)
    namespace, seeded = SEARCHES[record]
    basic = api.t(COMMON, f"{record}SearchBasic")
    search = api.t(namespace, f"{record}Search")
    forms = {
        "basic": basic(),
        "search, empty basic": search(basic=basic()),  # zeep sends <basic/>
        "search, no basic": search(),
        "advanced": api.t(namespace, f"{record}SearchAdvanced")(criteria=search(basic=basic())),
    }
    totals = {name: api.call("search", searchRecord=form).searchResult.totalRecords for name, form in forms.items()}
    assert totals == dict.fromkeys(forms, seeded)


def test_search_criteria_in_any_form_and_what_the_sandbox_refuses(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    for i in range(3):
        assert api.call("add", record=api.customer(f"form-{i}", f"Formcheck {i}")).writeResponse.status.isSuccess
    named = api.t(COMMON, "CustomerSearchBasic")(
        companyName=api.t(CORE, "SearchStringField")(operator="startsWith", searchValue="Formcheck")
    )
    search = api.t(REL, "CustomerSearch")
    for form in (named, search(basic=named), api.t(REL, "CustomerSearchAdvanced")(criteria=search(basic=named))):
        result = api.call("search", searchRecord=form).searchResult
        assert sorted(r.externalId for r in result.recordList.record) == ["form-0", "form-1", "form-2"]

    join = search(
        basic=named,
        contactJoin=api.t(COMMON, "ContactSearchBasic")(
            email=api.t(CORE, "SearchStringField")(operator="is", searchValue="a@example.com")
        ),
    )
    columns = api.t(REL, "CustomerSearchAdvanced")(
        columns=api.t(REL, "CustomerSearchRow")(
            basic=api.t(COMMON, "CustomerSearchRowBasic")(entityId=[api.t(CORE, "SearchColumnStringField")()])
        )
    )
    saved = api.t(REL, "CustomerSearchAdvanced")(savedSearchId="42")
    refused = {
        name: api.call("search", searchRecord=form).searchResult.status
        for name, form in (("join", join), ("columns", columns), ("saved", saved))
    }
    assert {k: status_code(v) for k, v in refused.items()} == {
        "join": "INVALID_SRCH_CRITERIA",
        "columns": "INVALID_SRCH",
        "saved": "INVALID_SAVED_SRCH",
    }
    assert "contactJoin" in refused["join"].statusDetail[0].message


def test_internal_ids_are_counted_per_record_type(netsuite_sandbox):
    api = Api(netsuite_sandbox)

    def found(basic: str, **criteria) -> dict[str, str]:
        result = api.call("search", searchRecord=api.t(COMMON, basic)(**criteria)).searchResult
        labels = ("name", "acctName", "entityId")
        return {next(r[k] for k in labels if k in r and r[k]): r.internalId for r in result.recordList.record}

    subsidiaries = found("SubsidiarySearchBasic")
    assert subsidiaries["Parent Company"] == "1"  # the root subsidiary, as in every NetSuite account
    assert sorted(map(int, subsidiaries.values())) == [1, 2, 3, 4]
    assert sorted(map(int, found("TermSearchBasic").values())) == [1, 2, 3, 4]
    assert sorted(map(int, found("AccountSearchBasic").values())) == list(range(1, 8))
    customers = found("CustomerSearchBasic")
    assert sorted(map(int, customers.values())) == list(range(1, len(customers) + 1))
    # One counter for every item type, one for every transaction type (a TransactionSearchBasic
    # or ItemSearchBasic internalId criterion names one record whatever its type).
    items = api.call("search", searchRecord=api.t(COMMON, "ItemSearchBasic")()).searchResult.recordList.record
    taxes = api.call("search", searchRecord=api.t(COMMON, "SalesTaxItemSearchBasic")()).searchResult.recordList.record
    item_ids = sorted(int(r.internalId) for r in items + taxes)
    assert item_ids == list(range(1, len(item_ids) + 1))
    transactions = api.call("search", searchRecord=api.t(COMMON, "TransactionSearchBasic")()).searchResult
    kinds = {type(r).__name__ for r in transactions.recordList.record}
    tran_ids = sorted(int(r.internalId) for r in transactions.recordList.record)
    assert len(kinds) >= 3 and tran_ids == list(range(1, len(tran_ids) + 1))

    # A deleted record's id is never handed out again, across a restart too.
    last = api.call("add", record=api.customer("ids-1", "Short Lived")).writeResponse.baseRef.internalId
    assert int(last) == len(customers) + 1
    assert api.call("delete", baseRef=api.ref(last, type="customer")).writeResponse.status.isSuccess
    netsuite_sandbox.restart()
    api = Api(netsuite_sandbox)
    again = api.call("add", record=api.customer("ids-2", "Next One")).writeResponse.baseRef.internalId
    assert int(again) == int(last) + 1


def test_a_data_dir_from_the_shared_counter_keeps_every_id(tmp_path):
    # Before ids were counted per type, one AUTOINCREMENT numbered every record.
    path = tmp_path / "netsuite.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE records (internal_id INTEGER PRIMARY KEY AUTOINCREMENT, record_type TEXT NOT NULL,
            key_space TEXT NOT NULL, external_id TEXT, name_key TEXT, data TEXT NOT NULL, last_modified TEXT NOT NULL);
        CREATE UNIQUE INDEX records_external_id ON records (key_space, external_id);
        INSERT INTO records VALUES (1, 'currency', 'currency', NULL, 'us dollar', '{"name": "US Dollar"}', '');
        INSERT INTO records VALUES (7, 'subsidiary', 'subsidiary', NULL, 'root', '{"name": "Root"}', '');
        INSERT INTO records VALUES (9, 'customer', 'customer', 'c-9', 'cus9', '{"entityId": "CUS9"}', '');
    """)
    con.commit()
    con.close()
    store = Store(path)
    try:
        assert store.get(7, "subsidiary")["data"] == {"name": "Root"}
        assert store.get(9, "customer")["data"] == {"entityId": "CUS9"} and store.get(9, "subsidiary") is None
        with store.transaction():
            assert (store.next_id("customer"), store.next_id("subsidiary")) == (10, 10)
    finally:
        store.close()


@pytest.mark.parametrize(("length", "accepted"), [(5, False), (6, True), (64, True), (65, False)])
def test_a_nonce_is_6_to_64_characters(netsuite_sandbox, length, accepted):
    api = Api(netsuite_sandbox)
    passport = netsuite_sandbox.passport(nonce="n" * length)
    get_all = {"record": api.t(CORE, "GetAllRecord")(recordType="currency")}
    if accepted:
        assert api.service.getAll(
            **get_all, _soapheaders={"tokenPassport": passport}
        ).body.getAllResult.status.isSuccess
    else:
        with pytest.raises(zeep.exceptions.Fault) as info:
            api.service.getAll(**get_all, _soapheaders={"tokenPassport": passport})
        assert info.value.detail.find(".//{*}invalidCredentialsFault") is not None and "nonce" in info.value.message


def test_an_updated_record_reads_back_like_an_added_one(netsuite_sandbox):
    api = Api(netsuite_sandbox)
    item = seeded_item(api)
    customer = api.call("add", record=api.customer("shape-c", "Shape Co")).writeResponse.baseRef.internalId

    def custom(kind: str, script_id: str, value):
        return api.t(CORE, kind)(scriptId=script_id, value=value)

    def invoice(line: int | None = None, **extra):
        line = api.t(SALES, "InvoiceItem")(
            item=api.ref(item),
            quantity=2,
            rate="10.00",
            line=line,
            customFieldList={"customField": [custom("StringCustomFieldRef", "custcol_zsync_zuora_item_id", "line-1")]},
        )
        return api.t(SALES, "Invoice")(
            externalId="shape-inv",
            entity=api.ref(customer),
            customFieldList={
                "customField": [
                    custom("StringCustomFieldRef", "custbody_zsync_zuora_id", "inv-1"),
                    custom("DateCustomFieldRef", "custbody_zsync_sync_date", "2026-03-01T10:00:00Z"),
                ]
            },
            itemList={"item": [line], **extra},
        )

    def read() -> tuple[str, dict]:
        api.call("get", baseRef=api.ref(externalId="shape-inv", type="invoice"))
        record = api.history.last_received["envelope"].find(".//{*}record")
        text = re.sub(r"<[^>]*lastModifiedDate>[^<]*<", "<", zeep_xml(record))
        [row] = [
            r for r in netsuite_sandbox.app.state.store.all(("invoice",)) if r["data"].get("externalId") == "shape-inv"
        ]
        return text, {k: v for k, v in row["data"].items() if k != "lastModifiedDate"}

    assert api.call("upsertList", record=[invoice()]).writeResponseList.writeResponse[0].status.isSuccess
    after_add = read()
    for operation, record in (("upsertList", invoice()), ("updateList", invoice(line=1, replaceAll=False))):
        assert api.call(operation, record=[record]).writeResponseList.writeResponse[0].status.isSuccess, operation
        assert read() == after_add, operation
    assert 'xsi:type="ns' in after_add[0] and "DateCustomFieldRef" in after_add[0]


def zeep_xml(element) -> str:
    from lxml import etree

    return etree.tostring(element, encoding="unicode")
