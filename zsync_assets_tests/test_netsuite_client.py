"""The NetSuite client: vendor-XSD conformance of every request it builds, TBA signing, and
(through real sockets, against the NetSuite sandbox) chunking, per-record failures,
governance retries from several processes, search paging and expired search ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from lxml import etree

from zsync_assets.clients.netsuite import CODE_UNKNOWN_OUTCOME, NetSuiteAuthError
from zsync_assets.clients.netsuite.passport import TbaCredentials, sign, token_passport
from zsync_assets.clients.netsuite.record_xml import SOAP_ENV, XSI_TYPE, RecordXml, list_envelope
from zsync_assets.clients.netsuite.resource import NetSuiteResource, account_endpoint
from zsync_assets.clients.netsuite.wsdl import Schema, load_wsdl
from zsync_assets.vendor import NETSUITE_DIR, require

VENDOR = require(NETSUITE_DIR)  # shipped in the repo: a missing copy fails, naming the path
CREDS = TbaCredentials("TSTDRV0000001", "ck", "cs-secret", "tk", "ts-secret")


@pytest.fixture(scope="session")
def vendor_schema(vendor_xsd):
    return vendor_xsd  # fixtures/vendor_xsd.py: one wrapper importing the 46 vendor XSDs


@pytest.fixture(scope="session")
def vendor_wsdl():
    return load_wsdl(str(VENDOR / "netsuite.wsdl"))


def _assert_valid(schema, envelope: etree._Element) -> None:
    parts = envelope.find(f"{{{SOAP_ENV}}}Header"), envelope.find(f"{{{SOAP_ENV}}}Body")
    for part in parts:
        for element in part if part is not None else []:
            errors = schema.errors(etree.fromstring(etree.tostring(element)))
            assert not errors, f"{etree.QName(element).localname}: {errors[:5]}"


def _customer(n: int) -> dict:
    return {
        "externalId": f"zuora-acct-{n}",
        "companyName": f"Acmé Ünïcode {n}",
        "isInactive": False,
        "email": f"billing{n}@example.com",
        "subsidiary": {"internalId": "1"},
        "currency": {"internalId": "2"},
        "terms": {"internalId": "3"},
        "addressbookList": {
            "addressbook": [
                {
                    "defaultBilling": True,
                    "addressbookAddress": {"country": "_unitedStates", "addr1": "1 Main St", "city": "Springfield"},
                }
            ]
        },
        "customFieldList": {
            "custentity_zsync_zuora_id": f"8a8{n}",
            "custentity_zsync_send_to_zuora": True,
            "custentity_count": 3,
            "custentity_ratio": 0.5,
            "custentity_since": datetime(2026, 1, 5, tzinfo=UTC),
            "custentity_region": {"internalId": "4"},
            "custentity_regions": [{"internalId": "4"}, {"internalId": "5"}],
        },
    }


def _invoice(n: int) -> dict:
    return {
        "externalId": f"zuora-inv-{n}",
        "entity": {"internalId": "10"},
        "tranDate": datetime(2026, 1, 5, tzinfo=UTC),
        "currency": {"internalId": "1"},
        "memo": "INV0001",
        "itemList": {
            "item": [
                {
                    "item": {"internalId": "7"},
                    "quantity": 2.0,
                    "rate": "12.50",
                    "amount": 25.0,
                    "revRecStartDate": datetime(2026, 1, 1, tzinfo=UTC),
                    "revRecEndDate": datetime(2026, 1, 31, tzinfo=UTC),
                    "customFieldList": {"custcol_zsync_zuora_item_id": "ii-1"},
                }
            ]
        },
        "customFieldList": {
            "custbody_zsync_zuora_id": "inv-1",
            "custbody_zsync_origin": "ZUORA",
            "custbody_zsync_sync_date": datetime(2026, 1, 5, tzinfo=UTC),
        },
    }


WRITE_RECORDS = {
    "customer": _customer,
    "invoice": _invoice,
    "nonInventorySaleItem": lambda n: {
        "externalId": f"prpc-{n}",
        "itemId": f"Plan {n}",
        "displayName": "Plan",
        "subsidiaryList": {"recordRef": [{"internalId": "1"}]},
        "customFieldList": {"custitem_zsync_zuora_id": f"prpc-{n}"},
    },
    "serviceSaleItem": lambda n: {"externalId": f"svc-{n}", "itemId": f"Service {n}"},
    "customerPayment": lambda n: {
        "externalId": f"pay-{n}",
        "customer": {"internalId": "10"},
        "payment": 10.0,
        "applyList": {"apply": [{"doc": 5, "apply": True, "amount": 10.0}]},
    },
    "customerRefund": lambda n: {
        "externalId": f"ref-{n}",
        "customer": {"internalId": "10"},
        "applyList": {"apply": [{"doc": 6, "apply": True, "amount": 5.0}]},
    },
    "creditMemo": lambda n: {
        "externalId": f"cm-{n}",
        "entity": {"internalId": "10"},
        "itemList": {"item": [{"item": {"internalId": "7"}, "amount": -5.0}]},
    },
    "salesOrder": lambda n: {
        "externalId": f"so-{n}",
        "entity": {"internalId": "10"},
        "customFieldList": {"custbody_zsync_subscription": "A-S0001"},
    },
}

SEARCHES = {
    "customer": {"lastModifiedDate": {"operator": "onOrAfter", "searchValue": datetime(2026, 1, 1, tzinfo=UTC)}},
    "item": {"type": {"operator": "anyOf", "searchValue": ["_nonInventoryItem", "_service"]}},
    "transaction": {
        "type": {"operator": "anyOf", "searchValue": ["_invoice"]},
        "lastModifiedDate": {"operator": "onOrAfter", "searchValue": datetime(2026, 1, 1, tzinfo=UTC)},
    },
    "subsidiary": {},
    "term": {},
    "account": {},
    "salesTaxItem": {},
}


def _schema(vendor_wsdl) -> Schema:
    return Schema(vendor_wsdl, "2023_2")


def _message(vendor_wsdl, operation, headers=None, **body):
    headers = {"tokenPassport": token_passport(CREDS), **(headers or {})}
    return vendor_wsdl.create_message(vendor_wsdl.service, operation, _soapheaders=headers, **body)


def _canonical(element: etree._Element) -> tuple:
    """An element as names, attributes (xsi:type resolved to its namespace), text and children:
    what the XSD and NetSuite read, whatever the namespace prefixes."""
    attributes = dict(element.attrib)
    if XSI_TYPE in attributes:
        prefix, _, local = attributes[XSI_TYPE].partition(":")
        attributes[XSI_TYPE] = f"{{{element.nsmap[prefix]}}}{local}"
    return element.tag, sorted(attributes.items()), element.text, [_canonical(c) for c in element]


@pytest.mark.parametrize("operation", ["addList", "updateList", "upsertList"])
@pytest.mark.parametrize("record_type", sorted(WRITE_RECORDS))
def test_list_write_requests_validate_against_vendor_xsd_and_match_zeeps(
    vendor_wsdl, vendor_schema, operation, record_type
):
    # The client renders list-write records itself (record_xml.py); zeep's rendering of the
    # same dicts is the reference, element for element.
    schema = _schema(vendor_wsdl)
    data = [WRITE_RECORDS[record_type](n) for n in range(2)]
    headers = {"tokenPassport": token_passport(CREDS)}
    envelope = list_envelope(
        vendor_wsdl, schema, operation, headers, {}, [RecordXml(schema).record(record_type, d) for d in data]
    )
    _assert_valid(vendor_schema, envelope)
    by_zeep = _message(vendor_wsdl, operation, record=[schema.record(record_type, d) for d in data])
    body = [e.find(f"{{{SOAP_ENV}}}Body")[0] for e in (envelope, by_zeep)]
    assert _canonical(body[0]) == _canonical(body[1])


def test_a_field_the_record_type_lacks_is_refused_like_zeep_refuses_it(vendor_wsdl):
    schema = _schema(vendor_wsdl)
    with pytest.raises(TypeError, match="noSuchField"):
        RecordXml(schema).record("customer", {**_customer(1), "noSuchField": "x"})
    with pytest.raises(TypeError, match="noSuchField"):
        schema.record("customer", {**_customer(1), "noSuchField": "x"})


@pytest.mark.parametrize("search_type", sorted(SEARCHES))
def test_search_requests_validate_against_vendor_xsd(vendor_wsdl, vendor_schema, search_type):
    schema = _schema(vendor_wsdl)
    prefs = {"searchPreferences": {"pageSize": 50, "bodyFieldsOnly": False, "returnSearchColumns": False}}
    record = schema.search_basic_class(search_type)(**SEARCHES[search_type])
    _assert_valid(vendor_schema, _message(vendor_wsdl, "search", prefs, searchRecord=record))
    _assert_valid(
        vendor_schema, _message(vendor_wsdl, "searchMoreWithId", prefs, searchId="WEBSERVICES_1", pageIndex=2)
    )


def test_read_and_delete_requests_validate_against_vendor_xsd(vendor_wsdl, vendor_schema):
    schema = _schema(vendor_wsdl)
    ref = schema.record_ref("customer", internal_id="12")
    by_external = schema.record_ref("invoice", external_id="zuora-inv-1")
    _assert_valid(vendor_schema, _message(vendor_wsdl, "get", baseRef=ref))
    _assert_valid(vendor_schema, _message(vendor_wsdl, "getList", baseRef=[ref, by_external]))
    _assert_valid(vendor_schema, _message(vendor_wsdl, "deleteList", baseRef=[ref]))
    for record_type in ("currency", "taxAcct"):
        _assert_valid(vendor_schema, _message(vendor_wsdl, "getAll", record={"recordType": record_type}))


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
    assert (
        account_endpoint("123456_SB1") == "https://123456-sb1.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"
    )
    sandbox = NetSuiteResource.from_env()
    assert sandbox.resolved_endpoint_url().startswith("http://127.0.0.1:8811/services/NetSuitePort_2023_2")
    for name, value in {
        "NETSUITE_ACCOUNT_ID": "123456_SB1",
        "NETSUITE_CONSUMER_KEY": "k",
        "NETSUITE_CONSUMER_SECRET": "s",
        "NETSUITE_TOKEN_ID": "t",
        "NETSUITE_TOKEN_SECRET": "ts",
    }.items():
        monkeypatch.setenv(name, value)
    real = NetSuiteResource.from_env().process_config_and_initialize()  # resolves dg.EnvVar
    assert real.resolved_wsdl_url() == "https://webservices.netsuite.com/wsdl/v2023_2_0/netsuite.wsdl"
    assert real.resolved_endpoint_url() == account_endpoint("123456_SB1")


# -- through real sockets, against the NetSuite sandbox -------------------------------------

WORKER = r"""
import json, sys
from zsync_assets.clients.netsuite.resource import NetSuiteResource
args = json.loads(sys.argv[1])
resource = NetSuiteResource(wsdl_url=args["wsdl"], endpoint_url=args["endpoint"], lock_dir=args["locks"],
                            concurrency=args["concurrency"], max_attempts=40, backoff_s=0.02)
client = resource.get_client()
results = client.add_list("customer", args["records"])
print(json.dumps({"results": [[r.ok, r.code, r.internal_id] for r in results],
                  "calls": dict(client.calls), "retries": dict(client.retries)}))
"""


@pytest.fixture
def make_sandbox(make_netsuite_sandbox):
    return make_netsuite_sandbox


@pytest.fixture
def sandbox(netsuite_sandbox):
    return netsuite_sandbox


def _client(sandbox, tmp_path, **settings):
    settings.setdefault("wsdl_url", sandbox.wsdl_url)
    resource = NetSuiteResource(
        endpoint_url=sandbox.endpoint_url, lock_dir=str(tmp_path / "locks"), backoff_s=0.02, **settings
    )
    return resource.get_client()


def _subsidiary(client) -> str:
    """The seeded US subsidiary, found by name (ids and order are the account's business)."""
    name = {"operator": "is", "searchValue": "US Inc"}
    [found] = [r["internalId"] for page in client.search("subsidiary", {"name": name}) for r in page]
    return found


def _customers(prefix: str, n: int, subsidiary: str) -> list[dict]:
    return [
        {
            "externalId": f"{prefix}-{i}",
            "companyName": f"{prefix} Kunde {i} ü",
            "subsidiary": {"internalId": subsidiary},
            "customFieldList": {"custentity_zsync_zuora_id": f"{prefix}-z{i}"},
        }
        for i in range(n)
    ]


def test_add_list_of_250_is_sent_as_200_plus_50(sandbox, tmp_path):
    client = _client(sandbox, tmp_path)
    records = _customers("chunk", 250, _subsidiary(client))
    results = client.add_list("customer", records)
    assert [r.ok for r in results] == [True] * 250, {r.code for r in results}
    assert client.calls["addList"] == 2  # the sandbox rejects a list above 200 as a whole
    assert [r.external_id for r in results] == [r["externalId"] for r in records]
    fetched = client.get_list("customer", [r.internal_id for r in results])
    assert {f["externalId"] for f in fetched} == {r["externalId"] for r in records}
    assert fetched[0]["customFieldList"]["custentity_zsync_zuora_id"].startswith("chunk-z")


def test_delete_list_of_210_is_sent_as_200_plus_10_and_reports_a_missing_record(sandbox, tmp_path):
    # zsync never deletes master records; operators undoing a test sync do, through the client.
    client = _client(sandbox, tmp_path)
    added = client.add_list("customer", _customers("gone", 210, _subsidiary(client)))
    ids = [r.internal_id for r in added]
    results = client.delete_list("customer", ids[:209] + ["99999999"])
    assert client.calls["deleteList"] == 2  # the sandbox rejects a list above 200 as a whole
    assert [r.ok for r in results] == [True] * 209 + [False]
    assert results[-1].code == "RCRD_DSNT_EXIST"
    remaining = client.get_list("customer", ids)
    assert [r["internalId"] for r in remaining] == [ids[209]]


def test_a_list_with_bad_records_commits_the_rest_and_reports_each_code(sandbox, tmp_path):
    client = _client(sandbox, tmp_path)
    records = _customers("mixed", 6, _subsidiary(client))
    records[1]["subsidiary"] = {"internalId": "999999"}  # no such subsidiary
    del records[3]["companyName"]  # required
    client.add_list("customer", records[4:5])  # already there -> duplicate on the next add
    results = client.add_list("customer", records)
    assert [r.ok for r in results] == [True, False, True, False, False, True]
    assert results[1].code == "INVALID_KEY_OR_REF" and results[4].code == "DUP_ENTITY"
    assert results[3].code and results[3].message
    assert {r["externalId"] for r in client.get_list("customer", external_ids=[r["externalId"] for r in records])} == {
        "mixed-0",
        "mixed-2",
        "mixed-4",
        "mixed-5",
    }


def test_governance_faults_from_three_processes_still_write_every_record_once(sandbox, tmp_path):
    import json
    import subprocess
    import sys

    client = _client(sandbox, tmp_path)
    subsidiary = _subsidiary(client)
    sandbox.set_faults([{"route": "addList", "governance_rate": 0.5}], seed=3)
    batches = [_customers(f"proc{p}", 240, subsidiary) for p in range(3)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                json.dumps(
                    {
                        "wsdl": sandbox.wsdl_url,
                        "endpoint": sandbox.endpoint_url,
                        "locks": str(tmp_path / "locks"),
                        "concurrency": 2,
                        "records": batch,
                    }
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    sandbox.clear_faults()
    assert all(ok for o in outputs for ok, _, _ in o["results"]), [o["results"][:3] for o in outputs]
    assert sum(sum(o["retries"].values()) for o in outputs) > 0  # faults really happened
    wanted = [r["externalId"] for batch in batches for r in batch]
    stored = client.get_list("customer", external_ids=wanted)
    assert sorted(r["externalId"] for r in stored) == sorted(wanted)  # each exactly once
    assert len({r["internalId"] for r in stored}) == len(wanted)


def test_a_retried_call_succeeds_with_a_fresh_passport(sandbox, tmp_path):
    # The sandbox rejects a reused nonce, so success after retries proves each attempt re-signed.
    client = _client(sandbox, tmp_path)
    sandbox.set_faults([{"route": "search", "governance_rate": 0.7}], seed=1)
    pages = list(client.search("subsidiary", {}))
    sandbox.clear_faults()
    assert pages and client.retries["search"] > 0


def test_search_pages_with_search_more_with_id(sandbox, tmp_path):
    client = _client(sandbox, tmp_path)
    assert all(r.ok for r in client.add_list("customer", _customers("paged", 12, _subsidiary(client))))
    everything = [r for page in client.search("customer", {}) for r in page]
    pages = list(client.search("customer", {}, page_size=5))
    assert len(pages) > 2 and all(len(p) <= 5 for p in pages)
    assert [r["internalId"] for p in pages for r in p] == [r["internalId"] for r in everything]
    assert client.calls["searchMoreWithId"] == len(pages) - 1


class CountedSlots:
    """The client's request slots, remembering the most requests it held at once."""

    def __init__(self, slots):
        self.slots, self.holding, self.most = slots, 0, 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self):
        with self.slots.hold() as slot:
            with self._lock:
                self.holding += 1
                self.most = max(self.most, self.holding)
            try:
                yield slot
            finally:
                with self._lock:
                    self.holding -= 1


def test_search_pages_are_asked_side_by_side_and_handed_on_in_order(sandbox, tmp_path):
    """Pages 2..N go out up to the account's concurrency at once (each is its own request by
    search id and index), and come back in page order, every record once."""
    client = _client(sandbox, tmp_path)
    assert all(r.ok for r in client.add_list("customer", _customers("ahead", 30, _subsidiary(client))))
    everything = [r["internalId"] for page in client.search("customer", {}) for r in page]
    sandbox.set_faults([{"route": "searchMoreWithId", "latency_ms": 100}])
    client.slots = counted = CountedSlots(client.slots)
    pages = list(client.search("customer", {}, page_size=5))
    sandbox.clear_faults()

    assert [r["internalId"] for page in pages for r in page] == everything
    assert len(pages) >= 7 and client.calls["searchMoreWithId"] == len(pages) - 1
    assert 2 <= counted.most <= client.concurrency


def test_vendor_wsdl_client_works_against_the_sandbox(sandbox, tmp_path):
    client = _client(sandbox, tmp_path, wsdl_url=str(VENDOR / "netsuite.wsdl"))
    records = _customers("vendorwsdl", 3, _subsidiary(client))
    assert all(r.ok for r in client.add_list("customer", records))
    records[0]["companyName"] = "renamed"
    assert [r.ok for r in client.upsert_list("customer", records)] == [True] * 3
    assert client.get("customer", external_id="vendorwsdl-0")["companyName"] == "renamed"
    assert client.get("customer", internal_id="99999999") is None
    assert any(
        page for page in client.search("transaction", {"type": {"operator": "anyOf", "searchValue": ["_invoice"]}})
    )
    assert client.get_all("currency")


def test_an_expired_search_id_restarts_the_search_instead_of_failing(make_sandbox, tmp_path):
    sandbox = make_sandbox(search_id_ttl_s=1.0)  # long enough for one page to follow another on a busy machine
    client = _client(sandbox, tmp_path)
    assert all(r.ok for r in client.add_list("customer", _customers("expiry", 12, _subsidiary(client))))
    everything = sorted(r["internalId"] for page in client.search("customer", {}) for r in page)
    pager = client.search("customer", {}, page_size=5)
    first = next(pager)
    time.sleep(1.3)  # the id expires: searchMoreWithId answers INVALID_JOB_ID
    seen = [r["internalId"] for page in [first, *pager] for r in page]
    assert sorted(seen) == everything  # every record once: nothing lost, nothing repeated
    assert client.calls["search"] == 4  # subsidiaries, the full search, the paged one, its restart


def test_a_dropped_connection_after_commit_is_replayed_only_when_the_write_is_keyed(sandbox, tmp_path):
    client = _client(sandbox, tmp_path)
    subsidiary = _subsidiary(client)
    sandbox.set_faults([{"route": "upsertList", "commit_then_drop": 1}])
    keyed = _customers("dropped", 3, subsidiary)
    assert [r.ok for r in client.upsert_list("customer", keyed)] == [True] * 3  # replayed: upsert by externalId
    assert client.retries["upsertList"] == 1
    sandbox.set_faults([{"route": "addList", "commit_then_drop": 1}])
    unkeyed = [{k: v for k, v in r.items() if k != "externalId"} for r in _customers("unkeyed", 2, subsidiary)]
    results = client.add_list("customer", unkeyed)
    sandbox.clear_faults()
    # Committed but unanswered, and no externalId to make a replay safe: reported, not re-sent.
    assert [r.code for r in results] == [CODE_UNKNOWN_OUTCOME] * 2 and "addList" not in client.retries


LOAD_AND_SEARCH = r"""
import json, sys
from zsync_assets.clients.netsuite.resource import NetSuiteResource
args = json.loads(sys.argv[1])
client = NetSuiteResource(wsdl_url=args["wsdl"], endpoint_url=args["endpoint"], lock_dir=args["locks"],
                          wsdl_cache_dir=args["cache"]).get_client()
print(json.dumps({"subsidiaries": sorted(r["name"] for page in client.search("subsidiary", {}) for r in page)}))
"""


def test_the_wsdl_is_downloaded_once_per_machine(make_sandbox, tmp_path):
    # Every Dagster step is a process of its own: only the first one may download the schema.
    import json
    import subprocess
    import sys

    from zsync_assets.clients.netsuite.wsdl_cache import cache_file

    sandbox = make_sandbox(size=0)
    cache = tmp_path / "cache"

    def step_process() -> dict:
        args = {
            "wsdl": sandbox.wsdl_url,
            "endpoint": sandbox.endpoint_url,
            "locks": str(tmp_path / "locks"),
            "cache": str(cache),
        }
        done = subprocess.run(
            [sys.executable, "-c", LOAD_AND_SEARCH, json.dumps(args)], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = step_process()
    downloads = {k: sandbox.stats().get(k) for k in ("GET wsdl", "GET xsd")}
    assert downloads == {"GET wsdl": 1, "GET xsd": 46}
    assert step_process() == first and len(first["subsidiaries"]) == 4
    assert {k: sandbox.stats().get(k) for k in ("GET wsdl", "GET xsd")} == downloads  # the second read the cache
    assert [p.name for p in cache.iterdir()] == [cache_file(cache).name]


def test_one_parse_per_process_for_every_url_serving_the_same_schema(make_sandbox, tmp_path):
    # Each sandbox has its own port; the documents are the same, so the parsed schema is shared
    # and each client still posts to its own endpoint.
    first, second = make_sandbox(size=0), make_sandbox(size=0)
    clients = [_client(box, tmp_path, wsdl_cache_dir=str(tmp_path / "cache")) for box in (first, second)]
    assert clients[0].zeep is clients[1].zeep
    for box, client in zip((first, second), clients, strict=True):
        assert len(list(client.search("term", {}))[0]) == 4
        assert box.stats()["search"] == 1


def test_refused_credentials_raise_without_any_secret_in_the_text(sandbox, tmp_path):
    client = _client(sandbox, tmp_path, token_secret="wrong-token-secret-123")
    with pytest.raises(NetSuiteAuthError) as raised:
        list(client.search("subsidiary", {}))
    text = str(raised.value) + repr(raised.value)
    assert "wrong-token-secret-123" not in text and "zsync-sandbox-consumer-secret" not in text
    assert client.calls["search"] == 1  # not retried
