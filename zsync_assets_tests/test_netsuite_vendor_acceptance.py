"""Acceptance: a zeep client built from the VENDOR WSDL runs every operation zsync relies on
against the NetSuite sandbox, plus the refusals, and every answer validates against the
vendor's XSDs (`vendor_xsd`; a fault's NetSuite detail element included).

One sandbox serves the whole module; each case writes records with its own externalIds, so
the cases pass in any order.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pytest
import zeep

from zsync_assets.sandbox import defaults
from zsync_assets_tests.fixtures.netsuite_sandbox import NetSuiteSandbox
from zsync_assets_tests.test_netsuite_sandbox import COMMON, CORE, REL, Api, currency_id

CREDENTIALS = {
    "account": defaults.NETSUITE_ACCOUNT_ID,
    "consumer_key": defaults.NETSUITE_CONSUMER_KEY,
    "consumer_secret": defaults.NETSUITE_CONSUMER_SECRET,
    "token_id": defaults.NETSUITE_TOKEN_ID,
    "token_secret": defaults.NETSUITE_TOKEN_SECRET,
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    # Module-scoped fixtures start before the per-test environment cleanup: pass every setting.
    box = NetSuiteSandbox(
        tmp_path_factory.mktemp("netsuite"), size=6, settings={**CREDENTIALS, "time_zone": "America/Los_Angeles"}
    ).start()
    yield box
    box.stop()


class Case:
    """Runs against the sandbox; collects every raw answer envelope for validation."""

    def __init__(self, sandbox: NetSuiteSandbox):
        self.api = Api(sandbox)
        self.sandbox = sandbox
        self.tag = secrets.token_hex(4)
        self.answers: list = []

    def call(self, op: str, *, passport: dict | None = None, headers: dict | None = None, **kwargs):
        soap_headers = {"tokenPassport": passport or self.sandbox.passport(), **(headers or {})}
        try:
            return getattr(self.api.service, op)(**kwargs, _soapheaders=soap_headers).body
        finally:
            received = self.api.history.last_received
            assert received is not None, f"{op}: no answer received"
            self.answers.append(received["envelope"])

    def refused(self, op: str, **kwargs) -> zeep.exceptions.Fault:
        with pytest.raises(zeep.exceptions.Fault) as info:
            self.call(op, **kwargs)
        return info.value

    def customers(self, n: int, prefix: str = "c") -> list:
        subsidiary = self.api.subsidiary_id
        return [
            self.api.t(REL, "Customer")(
                externalId=f"{self.tag}-{prefix}{i}",
                companyName=f"{self.tag} {prefix}{i}",
                subsidiary=self.api.ref(subsidiary),
            )
            for i in range(n)
        ]

    def added(self, n: int) -> list[str]:
        result = self.call("addList", record=self.customers(n, "seed")).writeResponseList.writeResponse
        assert all(r.status.isSuccess for r in result)
        return [r.baseRef.internalId for r in result]

    def customer_ref(self, internal_id: str):
        return self.api.ref(internal_id, type="customer")

    def basic(self, name: str, **criteria):
        return self.api.t(COMMON, name)(**criteria)

    def tag_search(self):
        return self.basic(
            "CustomerSearchBasic",
            companyName=self.api.t(CORE, "SearchStringField")(operator="startsWith", searchValue=self.tag),
        )


def codes(responses) -> list[str]:
    return ["OK" if r.status.isSuccess else r.status.statusDetail[0].code for r in responses]


def fault_code(fault: zeep.exceptions.Fault, element: str) -> str:
    node = fault.detail.find(f".//{{*}}{element}")
    assert node is not None, element
    return node.find("{*}code").text


def _get(c: Case) -> None:
    [internal_id] = c.added(1)
    record = c.call("get", baseRef=c.customer_ref(internal_id)).readResponse.record
    assert record.externalId == f"{c.tag}-seed0" and record.lastModifiedDate.utcoffset() is not None


def _get_list(c: Case) -> None:
    [internal_id] = c.added(1)
    result = c.call("getList", baseRef=[c.customer_ref(internal_id), c.customer_ref("999999")])
    assert codes(result.readResponseList.readResponse) == ["OK", "RCRD_DSNT_EXIST"]


def _search_empty_basic(c: Case) -> None:
    # zeep sends CustomerSearch(basic=CustomerSearchBasic()) as <basic/>: NetSuite returns every customer.
    c.added(2)
    everything = c.call("search", searchRecord=c.basic("CustomerSearchBasic")).searchResult.totalRecords
    wrapped = c.call("search", searchRecord=c.api.t(REL, "CustomerSearch")(basic=c.basic("CustomerSearchBasic")))
    assert wrapped.searchResult.status.isSuccess and wrapped.searchResult.totalRecords == everything >= 2


def _search_criteria(c: Case) -> None:
    c.added(3)
    found = c.call("search", searchRecord=c.tag_search()).searchResult
    assert sorted(r.externalId for r in found.recordList.record) == [f"{c.tag}-seed{i}" for i in range(3)]


def _search_more_with_id(c: Case) -> None:
    c.added(7)
    prefs = {"searchPreferences": {"pageSize": 5}}
    first = c.call("search", headers=prefs, searchRecord=c.tag_search()).searchResult
    second = c.call("searchMoreWithId", searchId=first.searchId, pageIndex=2).searchResult
    ids = {r.internalId for r in first.recordList.record + second.recordList.record}
    assert (first.totalPages, second.pageIndex, len(ids)) == (2, 2, 7)


def _get_all(c: Case) -> None:
    result = c.call("getAll", record=c.api.t(CORE, "GetAllRecord")(recordType="currency")).getAllResult
    assert {r.symbol for r in result.recordList.record} >= {"USD", "EUR"}


def _get_deleted(c: Case) -> None:
    [internal_id] = c.added(1)
    assert c.call("delete", baseRef=c.customer_ref(internal_id)).writeResponse.status.isSuccess
    flt = c.api.t(CORE, "GetDeletedFilter")(
        type=c.api.t(CORE, "SearchEnumMultiSelectField")(operator="anyOf", searchValue=["customer"])
    )
    result = c.call("getDeleted", getDeletedFilter=flt, pageIndex=1).getDeletedResult
    assert internal_id in {d.record.internalId for d in result.deletedRecordList.deletedRecord}


def _add_list(c: Case) -> None:
    records = c.customers(2) + c.customers(1)  # the third repeats the first externalId
    assert codes(c.call("addList", record=records).writeResponseList.writeResponse) == ["OK", "OK", "DUP_ENTITY"]


def _update_list(c: Case) -> None:
    ids = c.added(2)
    renamed = [c.api.t(REL, "Customer")(internalId=i, companyName=f"{c.tag} renamed") for i in ids]
    missing = c.api.t(REL, "Customer")(internalId="999999", companyName="nobody")
    assert codes(c.call("updateList", record=[*renamed, missing]).writeResponseList.writeResponse) == [
        "OK",
        "OK",
        "RCRD_DSNT_EXIST",
    ]


def _upsert_list(c: Case) -> None:
    first = c.call("upsertList", record=c.customers(2)).writeResponseList.writeResponse
    again = c.call("upsertList", record=c.customers(2)).writeResponseList.writeResponse
    assert [r.baseRef.internalId for r in again] == [r.baseRef.internalId for r in first]  # updated, not added


def _delete_list(c: Case) -> None:
    ids = c.added(2)
    result = c.call("deleteList", baseRef=[c.customer_ref(i) for i in [*ids, "999999"]])
    assert codes(result.writeResponseList.writeResponse) == ["OK", "OK", "RCRD_DSNT_EXIST"]


def _reused_nonce(c: Case) -> None:
    passport = c.sandbox.passport()
    assert c.call("getAll", passport=passport, record=c.api.t(CORE, "GetAllRecord")(recordType="currency"))
    fault = c.refused("getAll", passport=passport, record=c.api.t(CORE, "GetAllRecord")(recordType="currency"))
    assert fault_code(fault, "invalidCredentialsFault") and "nonce" in fault.message


def _stale_timestamp(c: Case) -> None:
    fault = c.refused(
        "get",
        passport=c.sandbox.passport(timestamp=int(time.time()) - 3600),
        baseRef=c.api.ref(currency_id(c.api, "USD"), type="currency"),
    )
    assert fault_code(fault, "invalidCredentialsFault") and "timestamp" in fault.message


def _bad_signature(c: Case) -> None:
    passport = {**c.sandbox.passport(), "signature": {"_value_1": "AAAA", "algorithm": "HMAC-SHA256"}}
    fault = c.refused("get", passport=passport, baseRef=c.api.ref(currency_id(c.api, "USD"), type="currency"))
    assert fault_code(fault, "invalidCredentialsFault") and "signature" in fault.message


def _over_limit_lists(c: Case) -> None:
    # addList / deleteList 200, updateList / upsertList 100, getList 1000 per request.
    for op, n in (("addList", 201), ("updateList", 101), ("upsertList", 101)):
        fault = c.refused(op, record=c.customers(n, op))
        assert fault_code(fault, "exceededRecordCountFault") == "MAX_RCRDS_EXCEEDED", op
    for op, n in (("deleteList", 201), ("getList", 1001)):
        fault = c.refused(op, baseRef=[c.customer_ref(str(900000 + i)) for i in range(n)])
        assert fault_code(fault, "exceededRecordCountFault") == "MAX_RCRDS_EXCEEDED", op
    assert c.call("search", searchRecord=c.tag_search()).searchResult.totalRecords == 0  # nothing was written


CASES: dict[str, Callable[[Case], None]] = {
    "get": _get,
    "getList": _get_list,
    "search empty basic": _search_empty_basic,
    "search criteria": _search_criteria,
    "searchMoreWithId": _search_more_with_id,
    "getAll": _get_all,
    "getDeleted": _get_deleted,
    "addList": _add_list,
    "updateList": _update_list,
    "upsertList": _upsert_list,
    "deleteList": _delete_list,
    "refused: reused nonce": _reused_nonce,
    "refused: stale timestamp": _stale_timestamp,
    "refused: bad signature": _bad_signature,
    "refused: over-limit lists": _over_limit_lists,
}


@pytest.mark.parametrize("case", list(CASES))
def test_vendor_wsdl_client_gets_vendor_valid_answers(sandbox, vendor_xsd, case):
    c = Case(sandbox)
    CASES[case](c)
    assert c.answers
    for envelope in c.answers:
        assert vendor_xsd.assert_envelope_valid(envelope) >= 1  # a body element, or a fault's NetSuite detail
