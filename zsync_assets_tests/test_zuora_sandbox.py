"""The Zuora sandbox over real sockets: auth, Object Query paging, ZOQL, writes, idempotency, faults."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict

import httpx
import pytest

# Zuora lists invoice items only with a filter[] (the OpenAPI document marks it required).
EVERYTHING = "updatedDate.GE:2000-01-01T00:00:00Z"


def _all(client: httpx.Client, obj: str, **params) -> list[dict]:
    if obj == "invoice-items":
        params.setdefault("filter[]", EVERYTHING)
    rows, cursor = [], None
    while True:
        query = {"pageSize": 99, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/object-query/{obj}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        cursor = body.get("nextPage")
        if not cursor:
            return rows


def test_token_expires_and_every_api_route_then_answers_401(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=2, token_ttl_s=1)
    token = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    ).json()
    assert token["expires_in"] == 1 and "tenant.9000001" in token["scope"].split() and token["jti"]
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{sandbox.url}/object-query/accounts", headers=headers).status_code == 200
    time.sleep(1.2)
    for method, path in [("GET", "/object-query/accounts"), ("POST", "/v1/action/query"), ("POST", "/v1/accounts")]:
        response = httpx.request(method, sandbox.url + path, headers=headers, json={})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["Zuora-Request-Id"]
    bad = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": sandbox.client_id, "client_secret": "wrong"},
    )
    assert bad.status_code == 401 and "wrong" not in bad.text


@pytest.mark.zuora_invalid_requests(1)  # pageSize 100
def test_page_size_limits_and_unknown_filter_field(zuora_sandbox):
    with zuora_sandbox.client() as client:
        assert client.get("/object-query/invoices", params={"pageSize": 100}).status_code == 400
        assert len(client.get("/object-query/invoices", params={"pageSize": 99}).json()["data"]) == 8 * 6
        assert len(client.get("/object-query/invoices").json()["data"]) == 10  # default page size
        bad = client.get("/object-query/invoices", params={"filter[]": "noSuchField.EQ:1"})
        assert bad.status_code == 400 and bad.json()["reasons"][0]["message"]
        assert client.get("/object-query/invoices", params={"filter[]": "amount.XX:1"}).status_code == 400


def test_filters_compare_typed_values(zuora_sandbox):
    with zuora_sandbox.client() as client:
        invoices = _all(client, "invoices")
        posted = _all(client, "invoices", **{"filter[]": "status.EQ:Posted"})
        assert posted and {i["status"] for i in posted} == {"Posted"}
        big = _all(client, "invoices", **{"filter[]": ["amount.GT:1000", "status.NE:Draft"]})
        assert {i["id"] for i in big} == {i["id"] for i in invoices if i["amount"] > 1000 and i["status"] != "Draft"}
        middle = sorted(i["updatedDate"] for i in invoices)[len(invoices) // 2]
        # The same instant written with another offset selects the same rows.
        shifted = middle[:19].replace("T", " ")
        later = _all(client, "invoices", **{"filter[]": f"updatedDate.GE:{middle}"})
        assert {i["id"] for i in later} == {i["id"] for i in invoices if i["updatedDate"] >= middle}
        assert len(_all(client, "invoices", **{"filter[]": f"UPDATEDDATE.GE:{shifted}Z"})) == len(later)
        # IN takes a list of values (`name.IN:[Amy,Bella]` in Zuora's filter docs), ANDed like the rest.
        large = sorted(i["id"] for i in invoices if i["amount"] > 1000)
        listed = _all(client, "invoices", **{"filter[]": [f"id.IN:[{','.join(large)}]", "status.EQ:Posted"]})
        assert listed and {i["id"] for i in listed} == {i["id"] for i in posted if i["amount"] > 1000}
        bad = client.get("/object-query/invoices", params={"filter[]": f"id.IN:{large[0]}"})
        assert bad.status_code == 400 and "expected [value,value,...]" in bad.json()["reasons"][0]["message"]


def test_zoql_query_and_query_more(zuora_sandbox):
    with zuora_sandbox.client() as client:
        first = client.post(
            "/v1/action/query",
            json={
                "queryString": "select Id, InvoiceId, Amount, UpdatedDate from InvoiceItemAdjustment "
                "where UpdatedDate >= '2000-01-01T00:00:00Z' and Status = 'Processed'"
            },
        ).json()
        assert first["done"] and first["size"] == len(first["records"]) >= 1
        assert set(first["records"][0]) == {"Id", "InvoiceId", "Amount", "UpdatedDate"}
        paged = client.post(
            "/v1/action/query", json={"queryString": "select Id from InvoiceItem", "conf": {"batchSize": 20}}
        ).json()
        ids = [r["Id"] for r in paged["records"]]
        while not paged["done"]:
            paged = client.post("/v1/action/queryMore", json={"queryLocator": paged["queryLocator"]}).json()
            ids += [r["Id"] for r in paged["records"]]
        assert len(ids) == len(set(ids)) == len(_all(client, "invoice-items"))
        assert client.post("/v1/action/query", json={"queryString": "select Nope from Invoice"}).status_code == 400


def test_seed_adds_up(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=24)
    with sandbox.client() as client:
        data = {
            obj: _all(client, obj)
            for obj in (
                "accounts",
                "contacts",
                "products",
                "invoices",
                "invoice-items",
                "taxation-items",
                "payments",
                "payment-applications",
                "refunds",
                "refund-applications",
                "credit-memos",
                "debit-memos",
                "credit-memo-applications",
            )
        }
        adjustments = client.post(
            "/v1/action/query",
            json={"queryString": "select InvoiceId, Amount, Type, Status from InvoiceItemAdjustment"},
        ).json()["records"]
    items: defaultdict[str, float] = defaultdict(float)
    taxes: defaultdict[str, float] = defaultdict(float)
    paid: defaultdict[str, float] = defaultdict(float)
    adjusted: defaultdict[str, float] = defaultdict(float)
    credited: defaultdict[str, float] = defaultdict(float)
    applied: defaultdict[str, float] = defaultdict(float)
    for application in data["credit-memo-applications"]:
        credited[application["invoiceId"]] += application["amount"]
        applied[application["creditMemoId"]] += application["amount"]
    item_invoice = {i["id"]: i["invoiceId"] for i in data["invoice-items"]}
    for item in data["invoice-items"]:
        items[item["invoiceId"]] += item["chargeAmount"]
    for tax in data["taxation-items"]:
        taxes[item_invoice[tax["invoiceItemId"]]] += tax["taxAmount"]
    for application in data["payment-applications"]:
        paid[application["invoiceId"]] += application["applyAmount"]
    for adjustment in adjustments:
        adjusted[adjustment["InvoiceId"]] += (
            adjustment["Amount"] if adjustment["Type"] == "Credit" else -adjustment["Amount"]
        )
    posted = [i for i in data["invoices"] if i["status"] == "Posted"]
    for invoice in posted:
        assert invoice["amount"] == pytest.approx(items[invoice["id"]] + taxes[invoice["id"]], abs=0.005)
        assert invoice["balance"] == pytest.approx(
            invoice["amount"] - paid[invoice["id"]] - adjusted[invoice["id"]] - credited[invoice["id"]], abs=0.005
        )
        assert invoice["creditMemoAmount"] == pytest.approx(credited[invoice["id"]], abs=0.005)
    # The cases that break naive connectors are all present.
    statuses = {i["status"] for i in data["invoices"]}
    assert {"Posted", "Draft", "Canceled"} <= statuses
    assert any(i["chargeAmount"] < 0 and i["processingType"] == "0" for i in data["invoice-items"])  # proration
    assert any(i["processingType"] == "1" for i in data["invoice-items"])  # discount
    assert {a["currency"] for a in data["accounts"]} == {"USD", "EUR", "GBP", "JPY"}
    assert any(a.get("parentId") for a in data["accounts"])
    assert any(a["status"] == "Canceled" for a in data["accounts"])
    assert any(a["SynctoNetSuite__NS"] == "No" for a in data["accounts"])
    assert any(len(a["name"]) > 83 for a in data["accounts"])
    assert any(not a["name"].isascii() for a in data["accounts"])
    assert any(p["effectiveEndDate"] < time.strftime("%Y-%m-%d") for p in data["products"])
    assert any(0 < i["balance"] < i["amount"] for i in posted)  # partial payment
    assert data["refunds"] and data["refund-applications"] and adjustments
    assert data["credit-memos"] and data["debit-memos"] and data["credit-memo-applications"]
    for memo in data["credit-memos"]:  # applied + unapplied (balance) = the memo
        assert memo["appliedAmount"] == pytest.approx(applied[memo["id"]], abs=0.005)
        assert memo["appliedAmount"] + memo["balance"] == pytest.approx(memo["totalAmount"], abs=0.005)
    for payment in data["payments"]:
        assert payment["unappliedAmount"] == pytest.approx(
            payment["amount"] - payment["appliedAmount"] - payment["refundAmount"], abs=0.005
        )


def test_empty_tenant_and_restart_keeps_state(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=0)
    with sandbox.client() as client:
        assert client.get("/object-query/accounts").json() == {"data": []}
    token = sandbox.token()
    sandbox.restart()
    # Tokens are persisted: a restart does not log every client out.
    response = httpx.get(f"{sandbox.url}/object-query/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["data"] == []


NEW_ACCOUNT = {
    "name": "Zsync Test Customer",
    "currency": "EUR",
    "IntegrationId__NS": "ns-123",
    "SynctoNetSuite__NS": "Yes",
    "billToContact": {"firstName": "Ada", "lastName": "Lovelace", "country": "Germany"},
}


def test_record_updated_mid_paging_does_not_make_another_record_skipped(zuora_sandbox):
    with zuora_sandbox.client() as client:
        expected = {a["id"] for a in _all(client, "accounts")}
        first = client.get("/object-query/accounts", params={"pageSize": 3}).json()
        seen = [a["id"] for a in first["data"]]
        # Update a record already served and one not yet served: both move to the end by updatedDate.
        for account in (first["data"][0], _all(client, "accounts")[-1]):
            assert client.put(f"/v1/accounts/{account['id']}", json={"notes": "touched"}).status_code == 200
        cursor = first["nextPage"]
        while cursor:
            page = client.get("/object-query/accounts", params={"pageSize": 3, "cursor": cursor}).json()
            seen += [a["id"] for a in page["data"]]
            cursor = page.get("nextPage")
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


@pytest.mark.zuora_invalid_requests(1)  # an account without currency and bill-to contact
def test_writes_keep_derived_amounts_true(zuora_sandbox):
    with zuora_sandbox.client() as client:
        created = client.post("/v1/accounts", json=NEW_ACCOUNT).json()
        assert created["success"] and created["accountNumber"]
        account = client.get(f"/object-query/accounts/{created['accountId']}", params={"expand[]": "billto"}).json()
        assert account["IntegrationId__NS"] == "ns-123" and account["billTo"]["lastName"] == "Lovelace"
        charge = client.get("/object-query/product-rate-plan-charges").json()["data"][0]
        invoice = client.post(
            "/v1/invoices",
            json={
                "accountId": created["accountId"],
                "invoiceDate": "2026-01-01",
                "status": "Posted",
                "invoiceItems": [
                    {
                        "amount": 100,
                        "serviceStartDate": "2026-01-01",
                        "productRatePlanChargeId": charge["id"],
                        # the spec types tax amounts and rates as numeric strings
                        "taxItems": [
                            {
                                "name": "VAT",
                                "taxAmount": "19",
                                "jurisdiction": "DE",
                                "taxRate": "0.19",
                                "taxDate": "2026-01-01",
                                "taxMode": "TaxExclusive",
                                "taxRateType": "Percentage",
                            }
                        ],
                    },
                    {"amount": -10, "serviceStartDate": "2026-01-01", "chargeName": "Discount"},
                ],
            },
        ).json()
        assert invoice["amount"] == 109 and invoice["balance"] == 109 and invoice["status"] == "Posted"
        item = client.get("/object-query/invoice-items", params={"filter[]": f"invoiceId.EQ:{invoice['id']}"}).json()
        adjust = client.post(
            "/v1/action/create",
            json={
                "type": "InvoiceItemAdjustment",
                "objects": [
                    {
                        "SourceId": item["data"][0]["id"],
                        "SourceType": "InvoiceDetail",
                        "Type": "Credit",
                        "Amount": 9,
                        "InvoiceId": invoice["id"],
                    }
                ],
            },
        ).json()
        assert adjust[0]["Success"], adjust
        payment = client.post(
            "/v1/payments",
            json={
                "accountId": created["accountId"],
                "amount": 150,
                "currency": "EUR",
                "type": "External",
                "invoices": [{"invoiceId": invoice["id"], "amount": 60}],
            },
        ).json()
        assert payment["unappliedAmount"] == 90
        assert (
            client.post(
                f"/v1/payments/{payment['id']}/refunds", json={"totalAmount": 91, "type": "External"}
            ).status_code
            == 400
        )
        refund = client.post(f"/v1/payments/{payment['id']}/refunds", json={"totalAmount": 40, "type": "External"})
        assert refund.status_code == 200, refund.text
        after = client.get(f"/object-query/invoices/{invoice['id']}").json()
        assert after["balance"] == 109 - 9 - 60
        assert client.get(f"/object-query/payments/{payment['id']}").json()["unappliedAmount"] == 50
        assert client.get(f"/object-query/accounts/{created['accountId']}").json()["balance"] == 40
        cancel = client.post(
            "/v1/action/update", json={"type": "Invoice", "objects": [{"Id": invoice["id"], "Status": "Canceled"}]}
        ).json()
        assert cancel[0]["Success"] is False  # paid invoices cannot be canceled
        draft = client.post(
            "/v1/invoices",
            json={
                "accountId": created["accountId"],
                "invoiceDate": "2026-02-01",
                "invoiceItems": [{"amount": 5, "serviceStartDate": "2026-02-01"}],
            },
        )
        posted = client.post("/v1/invoices/bulk-post", json={"invoices": [{"id": draft.json()["id"]}]}).json()
        assert posted["invoices"][0]["success"]
        writeback = client.post(
            "/v1/action/update",
            json={
                "type": "Payment",
                "objects": [{"Id": payment["id"], "IntegrationId__NS": "ns-pay-1", "Origin__NS": "Zuora"}],
            },
        ).json()
        assert writeback[0]["Success"]
        memo = client.post(
            "/v1/credit-memos",
            json={
                "accountId": created["accountId"],
                "charges": [{"productRatePlanChargeId": charge["id"], "amount": 12}],
            },
        ).json()
        assert (
            memo["status"] == "Draft" and client.put(f"/v1/credit-memos/{memo['id']}/post").json()["status"] == "Posted"
        )
        missing = client.post("/v1/accounts", json={"name": "x"})
        assert missing.status_code == 400 and missing.json()["success"] is False


def _wait_until_claimed(sandbox, key: str, timeout_s: float = 30) -> None:
    """Wait until the sandbox holds `key` in flight. A fixed sleep lost the race on a loaded
    machine: the duplicate arrived before the slow request had claimed the key."""
    deadline = time.monotonic() + timeout_s
    with sqlite3.connect(sandbox.data_dir / "zuora.sqlite") as db:
        while time.monotonic() < deadline:
            row = db.execute("select state from idempotency where key = ?", (key,)).fetchone()
            if row and row[0] == "in_flight":
                return
            time.sleep(0.02)
    raise AssertionError(f"the sandbox never claimed Idempotency-Key {key!r}")


@pytest.mark.zuora_invalid_requests(1)  # an account without currency, its replay is not checked again
def test_idempotency_replay_conflicts_and_restart(zuora_sandbox):
    key = {"Idempotency-Key": "create-account-1"}
    with zuora_sandbox.client() as client:
        first = client.post("/v1/accounts", json=NEW_ACCOUNT, headers=key)
        again = client.post("/v1/accounts", json=NEW_ACCOUNT, headers=key)
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        assert client.post("/v1/accounts", json={**NEW_ACCOUNT, "name": "other"}, headers=key).status_code == 422
        failed = client.post("/v1/accounts", json={"name": "no currency"}, headers={"Idempotency-Key": "bad-1"})
        assert (
            client.post("/v1/accounts", json={"name": "no currency"}, headers={"Idempotency-Key": "bad-1"}).json()
            == failed.json()
        )  # failures replay too
    assert zuora_sandbox.stats()["writes:POST /v1/accounts"] == 1
    zuora_sandbox.restart()
    with zuora_sandbox.client() as client:
        assert client.post("/v1/accounts", json=NEW_ACCOUNT, headers=key).json() == first.json()
        zuora_sandbox.set_faults([{"route": "POST /v1/accounts", "latency_ms": 800}])
        slow_key = {"Idempotency-Key": "slow-1"}
        import threading

        slow = threading.Thread(target=lambda: client.post("/v1/accounts", json=NEW_ACCOUNT, headers=slow_key))
        slow.start()
        _wait_until_claimed(zuora_sandbox, "slow-1")
        with zuora_sandbox.client() as other:
            assert other.post("/v1/accounts", json=NEW_ACCOUNT, headers=slow_key).status_code == 409
        slow.join()
    assert zuora_sandbox.stats().get("writes", 0) == 1  # the restart reset counters; only "slow-1" wrote


def test_commit_then_drop_leaves_the_write_durable(zuora_sandbox):
    zuora_sandbox.set_faults([{"route": "POST /v1/accounts", "commit_then_drop": 1}])
    key = {"Idempotency-Key": "dropped-1"}
    with zuora_sandbox.client() as client:
        with pytest.raises(httpx.HTTPError):
            client.post("/v1/accounts", json=NEW_ACCOUNT, headers=key)
        retry = client.post("/v1/accounts", json=NEW_ACCOUNT, headers=key).json()
        assert client.get(f"/object-query/accounts/{retry['accountId']}").json()["name"] == NEW_ACCOUNT["name"]
        named = _all(client, "accounts", **{"filter[]": f"name.EQ:{NEW_ACCOUNT['name']}"})
        assert len(named) == 1  # the retry replayed instead of creating a duplicate
    assert zuora_sandbox.stats()["writes"] == 1


def test_faults_rate_limit_and_headers(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=2, rate_limit_per_minute=5)
    with sandbox.client() as client:
        sandbox.set_faults(
            [
                {"route": "GET /object-query/*", "burst_429": 1},
                {"route": "GET /object-query/invoices", "error_rate": 1.0, "error_status": 503},
            ]
        )
        limited = client.get("/object-query/accounts")
        assert limited.status_code == 429 and limited.headers["ratelimit-limit"] == "5"
        assert client.get("/object-query/invoices").status_code == 503
        sandbox.clear_faults()
        statuses = [client.get("/object-query/accounts").status_code for _ in range(5)]
        assert 429 in statuses and statuses[0] == 200
        assert int(client.get("/object-query/accounts").headers["ratelimit-reset"]) <= 60
