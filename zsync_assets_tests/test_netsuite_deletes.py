"""NetSuite's refusals to delete a transaction, as the sandbox answers them through zeep.

A `deleteList` commits every record it can and reports each refusal on its own record: a
transaction of a closed accounting period (`CLOSED_TRAN_PRD`), and one other transactions are
applied to (dependent records).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from zsync_assets.clients.netsuite.resource import NetSuiteResource


@pytest.fixture
def netsuite_sandbox(make_netsuite_sandbox):
    return make_netsuite_sandbox(size=16)  # four accountant's invoices: two partly paid, one refund


@pytest.fixture
def client(netsuite_sandbox, tmp_path):
    resource = NetSuiteResource(
        wsdl_url=netsuite_sandbox.wsdl_url,
        endpoint_url=netsuite_sandbox.endpoint_url,
        lock_dir=str(tmp_path / "locks"),
        backoff_s=0.02,
    )
    client = resource.get_client()
    yield client
    client.close()


def _payments(client) -> list[dict]:
    query = {"type": {"operator": "anyOf", "searchValue": ["_customerPayment"]}}
    return [r for page in client.search("transaction", query) for r in page]


def _refunded(client) -> set[str]:
    """Payments a customer refund is applied to (the seed refunds one)."""
    query = {"type": {"operator": "anyOf", "searchValue": ["_customerRefund"]}}
    refunds = [r for page in client.search("transaction", query) for r in page]
    return {str(line["doc"]) for r in refunds for line in r["applyList"]["apply"]}


def test_closed_period_and_dependent_records_refuse_a_delete_and_the_rest_commits(netsuite_sandbox, client):
    payments = _payments(client)
    refunded = _refunded(client)
    free = [p for p in payments if p["internalId"] not in refunded]
    assert refunded and len(free) >= 2, "the seed has a refunded payment and two others"
    old, new = free[0], free[1]
    netsuite_sandbox.close_periods(str(old["tranDate"])[:10])
    # the other payment is dated after the close: its period is open
    (moved,) = client.update_list(
        "customerPayment", [{"internalId": new["internalId"], "tranDate": datetime(2099, 1, 5)}]
    )
    assert moved.ok, moved

    results = client.delete_list("customerPayment", [old["internalId"], sorted(refunded)[0], new["internalId"]])

    assert [r.ok for r in results] == [False, False, True]
    assert results[0].code == "CLOSED_TRAN_PRD" and "closed accounting period" in results[0].message
    assert results[0].failure.kind == "data"
    assert "dependent records" in results[1].message
    assert client.get("customerPayment", internal_id=new["internalId"]) is None

    netsuite_sandbox.restart()  # the closed period is the account's setting: it survives
    (again,) = client.delete_list("customerPayment", [old["internalId"]])
    assert again.code == "CLOSED_TRAN_PRD"
    netsuite_sandbox.close_periods(None)
    (reopened,) = client.delete_list("customerPayment", [old["internalId"]])
    assert reopened.ok, reopened
    (gone,) = client.delete_list("customerPayment", [old["internalId"]])
    assert gone.code == "RCRD_DSNT_EXIST"
