"""The NetSuite client: vendor-XSD conformance of every request it builds, TBA signing, and
(through real sockets, against the NetSuite sandbox) chunking, per-record failures,
governance retries from several processes, search paging and expired search ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from zsync_assets.clients.netsuite.passport import TbaCredentials, sign, token_passport
from zsync_assets.clients.netsuite.resource import NetSuiteResource, account_endpoint
from zsync_assets.clients.netsuite.wsdl import Schema, load_wsdl

VENDOR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "netsuite-suitetalk" / "2023_2"
needs_vendor = pytest.mark.skipif(not VENDOR.exists(), reason=f"vendor SuiteTalk reference not at {VENDOR}")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CREDS = TbaCredentials("TSTDRV0000001", "ck", "cs-secret", "tk", "ts-secret")


@pytest.fixture(scope="session")
def vendor_schema():
    """One wrapper schema xs:import-ing every vendor namespace (importing only the messages
    XSD is not enough: records travel as xsi:type of types defined in the other files)."""
    imports = []
    for xsd in sorted((VENDOR / "xsd").glob("*.xsd")):
        ns = etree.parse(str(xsd)).getroot().get("targetNamespace")
        imports.append(f'<xs:import namespace="{ns}" schemaLocation="{xsd.as_uri()}"/>')
    wrapper = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">' + "".join(imports)
               + "</xs:schema>")
    return etree.XMLSchema(etree.fromstring(wrapper.encode()))


@pytest.fixture(scope="session")
def vendor_wsdl():
    return load_wsdl(str(VENDOR / "netsuite.wsdl"))


def _assert_valid(schema: etree.XMLSchema, envelope: etree._Element) -> None:
    parts = envelope.find(f"{{{SOAP_ENV}}}Header"), envelope.find(f"{{{SOAP_ENV}}}Body")
    for part in parts:
        for element in part if part is not None else []:
            doc = etree.fromstring(etree.tostring(element))
            assert schema.validate(doc), f"{etree.QName(element).localname}: {schema.error_log}"


def _customer(n: int) -> dict:
    return {
        "externalId": f"zuora-acct-{n}", "companyName": f"Acmé Ünïcode {n}",
        "isInactive": False, "email": f"billing{n}@example.com",
        "subsidiary": {"internalId": "1"}, "currency": {"internalId": "2"},
        "terms": {"internalId": "3"},
        "addressbookList": {"addressbook": [{"defaultBilling": True, "addressbookAddress": {
            "country": "_unitedStates", "addr1": "1 Main St", "city": "Springfield"}}]},
        "customFieldList": {"custentity_zsync_zuora_id": f"8a8{n}", "custentity_zsync_send_to_zuora": True},
    }


def _invoice(n: int) -> dict:
    return {
        "externalId": f"zuora-inv-{n}", "entity": {"internalId": "10"}, "tranDate": datetime(2026, 1, 5, tzinfo=UTC),
        "currency": {"internalId": "1"}, "memo": "INV0001",
        "itemList": {"item": [{
            "item": {"internalId": "7"}, "quantity": 2.0, "rate": "12.50", "amount": 25.0,
            "revRecStartDate": datetime(2026, 1, 1, tzinfo=UTC), "revRecEndDate": datetime(2026, 1, 31, tzinfo=UTC),
            "customFieldList": {"custcol_zsync_zuora_item_id": "ii-1"},
        }]},
        "customFieldList": {"custbody_zsync_zuora_id": "inv-1", "custbody_zsync_origin": "ZUORA",
                            "custbody_zsync_sync_date": datetime(2026, 1, 5, tzinfo=UTC)},
    }


WRITE_RECORDS = {
    "customer": _customer,
    "invoice": _invoice,
    "nonInventorySaleItem": lambda n: {"externalId": f"prpc-{n}", "itemId": f"Plan {n}", "displayName": "Plan",
                                       "subsidiaryList": {"recordRef": [{"internalId": "1"}]},
                                       "customFieldList": {"custitem_zsync_zuora_id": f"prpc-{n}"}},
    "serviceSaleItem": lambda n: {"externalId": f"svc-{n}", "itemId": f"Service {n}"},
    "customerPayment": lambda n: {"externalId": f"pay-{n}", "customer": {"internalId": "10"}, "payment": 10.0,
                                  "applyList": {"apply": [{"doc": 5, "apply": True, "amount": 10.0}]}},
    "customerRefund": lambda n: {"externalId": f"ref-{n}", "customer": {"internalId": "10"},
                                 "applyList": {"apply": [{"doc": 6, "apply": True, "amount": 5.0}]}},
    "creditMemo": lambda n: {"externalId": f"cm-{n}", "entity": {"internalId": "10"},
                             "itemList": {"item": [{"item": {"internalId": "7"}, "amount": -5.0}]}},
    "salesOrder": lambda n: {"externalId": f"so-{n}", "entity": {"internalId": "10"},
                             "customFieldList": {"custbody_zsync_subscription": "A-S0001"}},
}

SEARCHES = {
    "customer": {"lastModifiedDate": {"operator": "onOrAfter", "searchValue": datetime(2026, 1, 1, tzinfo=UTC)}},
    "item": {"type": {"operator": "anyOf", "searchValue": ["_nonInventoryItem", "_service"]}},
    "transaction": {"type": {"operator": "anyOf", "searchValue": ["_invoice"]},
                    "lastModifiedDate": {"operator": "onOrAfter", "searchValue": datetime(2026, 1, 1, tzinfo=UTC)}},
    "subsidiary": {}, "term": {}, "account": {}, "salesTaxItem": {},
}


def _schema(vendor_wsdl) -> Schema:
    return Schema(vendor_wsdl, "2023_2")


def _message(vendor_wsdl, operation, headers=None, **body):
    headers = {"tokenPassport": token_passport(CREDS), **(headers or {})}
    return vendor_wsdl.create_message(vendor_wsdl.service, operation, _soapheaders=headers, **body)


@needs_vendor
@pytest.mark.parametrize("operation", ["addList", "updateList", "upsertList"])
@pytest.mark.parametrize("record_type", sorted(WRITE_RECORDS))
def test_list_write_requests_validate_against_vendor_xsd(vendor_wsdl, vendor_schema, operation, record_type):
    schema = _schema(vendor_wsdl)
    records = [schema.record(record_type, WRITE_RECORDS[record_type](n)) for n in range(2)]
    _assert_valid(vendor_schema, _message(vendor_wsdl, operation, record=records))


@needs_vendor
@pytest.mark.parametrize("search_type", sorted(SEARCHES))
def test_search_requests_validate_against_vendor_xsd(vendor_wsdl, vendor_schema, search_type):
    schema = _schema(vendor_wsdl)
    prefs = {"searchPreferences": {"pageSize": 50, "bodyFieldsOnly": False, "returnSearchColumns": False}}
    record = schema.search_basic_class(search_type)(**SEARCHES[search_type])
    _assert_valid(vendor_schema, _message(vendor_wsdl, "search", prefs, searchRecord=record))
    _assert_valid(vendor_schema, _message(vendor_wsdl, "searchMoreWithId", prefs, searchId="WEBSERVICES_1", pageIndex=2))


@needs_vendor
def test_read_and_delete_requests_validate_against_vendor_xsd(vendor_wsdl, vendor_schema):
    schema = _schema(vendor_wsdl)
    ref = schema.record_ref("customer", internal_id="12")
    by_external = schema.record_ref("invoice", external_id="zuora-inv-1")
    _assert_valid(vendor_schema, _message(vendor_wsdl, "get", baseRef=ref))
    _assert_valid(vendor_schema, _message(vendor_wsdl, "getList", baseRef=[ref, by_external]))
    _assert_valid(vendor_schema, _message(vendor_wsdl, "deleteList", baseRef=[ref]))
    for record_type in ("currency", "taxAcct"):
        _assert_valid(vendor_schema, _message(vendor_wsdl, "getAll", record={"recordType": record_type}))


@needs_vendor
def test_envelope_with_swapped_child_order_is_rejected(vendor_wsdl, vendor_schema):
    # The validator must be able to fail: xs:sequence is ordered.
    envelope = _message(vendor_wsdl, "addList", record=[_schema(vendor_wsdl).record("customer", _customer(1))])
    record = envelope.find(f"{{{SOAP_ENV}}}Body")[0][0]
    company, email = (next(c for c in record if etree.QName(c).localname == n) for n in ("companyName", "email"))
    company.addprevious(email)
    with pytest.raises(AssertionError):
        _assert_valid(vendor_schema, envelope)


def test_passport_signature_is_the_documented_hmac():
    passport = token_passport(CREDS, nonce="abc123", timestamp=1700000000)
    message = b"TSTDRV0000001&ck&tk&abc123&1700000000"
    expected = base64.b64encode(hmac.new(b"cs-secret&ts-secret", message, hashlib.sha256).digest()).decode()
    assert passport["signature"] == {"_value_1": expected, "algorithm": "HMAC-SHA256"}
    assert sign(CREDS, "abc123", 1700000000) == expected
    fresh = [token_passport(CREDS) for _ in range(3)]
    assert len({p["nonce"] for p in fresh}) == 3 and len({p["signature"]["_value_1"] for p in fresh}) == 3
    assert "secret" not in repr(CREDS)


def test_endpoint_and_wsdl_come_from_the_account(monkeypatch):
    assert account_endpoint("123456_SB1") == "https://123456-sb1.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"
    sandbox = NetSuiteResource.from_env()
    assert sandbox.resolved_endpoint_url().startswith("http://127.0.0.1:8811/services/NetSuitePort_2023_2")
    for name, value in {"NETSUITE_ACCOUNT_ID": "123456_SB1", "NETSUITE_CONSUMER_KEY": "k",
                        "NETSUITE_CONSUMER_SECRET": "s", "NETSUITE_TOKEN_ID": "t",
                        "NETSUITE_TOKEN_SECRET": "ts"}.items():
        monkeypatch.setenv(name, value)
    real = NetSuiteResource.from_env().process_config_and_initialize()  # resolves dg.EnvVar
    assert real.resolved_wsdl_url() == "https://webservices.netsuite.com/wsdl/v2023_2_0/netsuite.wsdl"
    assert real.resolved_endpoint_url() == account_endpoint("123456_SB1")
