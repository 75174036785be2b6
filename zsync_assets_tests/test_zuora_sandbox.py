"""The Zuora sandbox over real sockets: auth, Object Query paging, ZOQL, writes, idempotency, faults."""

from __future__ import annotations

import time
from collections import defaultdict

import httpx
import pytest


def _all(client: httpx.Client, obj: str, **params) -> list[dict]:
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
    token = httpx.post(f"{sandbox.url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret}).json()
    assert token["expires_in"] == 1 and "tenant.9000001" in token["scope"].split() and token["jti"]
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{sandbox.url}/object-query/accounts", headers=headers).status_code == 200
    time.sleep(1.2)
    for method, path in [("GET", "/object-query/accounts"), ("POST", "/v1/action/query")]:
        response = httpx.request(method, sandbox.url + path, headers=headers, json={})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["Zuora-Request-Id"]
    bad = httpx.post(f"{sandbox.url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": sandbox.client_id, "client_secret": "wrong"})
    assert bad.status_code == 401 and "wrong" not in bad.text


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


def test_zoql_query_and_query_more(zuora_sandbox):
    with zuora_sandbox.client() as client:
        first = client.post("/v1/action/query", json={
            "queryString": "select Id, InvoiceId, Amount, UpdatedDate from InvoiceItemAdjustment "
                           "where UpdatedDate >= '2000-01-01T00:00:00Z' and Status = 'Processed'"}).json()
        assert first["done"] and first["size"] == len(first["records"]) >= 1
        assert set(first["records"][0]) == {"Id", "InvoiceId", "Amount", "UpdatedDate"}
        paged = client.post("/v1/action/query", json={"queryString": "select Id from InvoiceItem",
                                                      "conf": {"batchSize": 20}}).json()
        ids = [r["Id"] for r in paged["records"]]
        while not paged["done"]:
            paged = client.post("/v1/action/queryMore", json={"queryLocator": paged["queryLocator"]}).json()
            ids += [r["Id"] for r in paged["records"]]
        assert len(ids) == len(set(ids)) == len(_all(client, "invoice-items"))
        assert client.post("/v1/action/query", json={"queryString": "select Nope from Invoice"}).status_code == 400


def test_seed_adds_up(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=24)
    with sandbox.client() as client:
        data = {obj: _all(client, obj) for obj in (
            "accounts", "contacts", "products", "invoices", "invoice-items", "taxation-items", "payments",
            "payment-applications", "refunds", "refund-applications", "credit-memos", "debit-memos")}
        adjustments = client.post("/v1/action/query", json={
            "queryString": "select InvoiceId, Amount, Type, Status from InvoiceItemAdjustment"}).json()["records"]
    items, taxes, paid, adjusted = defaultdict(float), defaultdict(float), defaultdict(float), defaultdict(float)
    item_invoice = {i["id"]: i["invoiceId"] for i in data["invoice-items"]}
    for item in data["invoice-items"]:
        items[item["invoiceId"]] += item["chargeAmount"]
    for tax in data["taxation-items"]:
        taxes[item_invoice[tax["invoiceItemId"]]] += tax["taxAmount"]
    for application in data["payment-applications"]:
        paid[application["invoiceId"]] += application["applyAmount"]
    for adjustment in adjustments:
        adjusted[adjustment["InvoiceId"]] += adjustment["Amount"] if adjustment["Type"] == "Credit" else -adjustment["Amount"]
    posted = [i for i in data["invoices"] if i["status"] == "Posted"]
    for invoice in posted:
        assert invoice["amount"] == pytest.approx(items[invoice["id"]] + taxes[invoice["id"]], abs=0.005)
        assert invoice["balance"] == pytest.approx(
            invoice["amount"] - paid[invoice["id"]] - adjusted[invoice["id"]], abs=0.005)
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
    assert data["credit-memos"] and data["debit-memos"]
    for payment in data["payments"]:
        assert payment["unappliedAmount"] == pytest.approx(
            payment["amount"] - payment["appliedAmount"] - payment["refundAmount"], abs=0.005)


def test_empty_tenant_and_restart_keeps_state(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=0)
    with sandbox.client() as client:
        assert client.get("/object-query/accounts").json() == {"data": []}
    token = sandbox.token()
    sandbox.restart()
    # Tokens are persisted: a restart does not log every client out.
    response = httpx.get(f"{sandbox.url}/object-query/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["data"] == []
