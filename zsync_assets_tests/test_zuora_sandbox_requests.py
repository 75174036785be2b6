"""The Zuora sandbox refuses what Zuora refuses, in Zuora's v1 error shape.

Requests that break the OpenAPI document (types, required fields, enums, `maxLength`, the
`Idempotency-Key` header), values Zuora checks beyond it (contact countries, account names,
amounts), and custom fields the tenant does not have.
"""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from zsync_assets.clients.zuora import ZuoraClient
from zsync_assets.sandbox.zuora.model import BY_ZOQL, custom_fields_of
from zsync_assets_tests.fixtures.zuora_client import connect

ACCOUNT = {"name": "Fidelity Co", "currency": "USD", "billToContact": {"firstName": "Ada", "lastName": "Lovelace"}}


def refused(response: httpx.Response, category: int) -> list[str]:
    """The messages of a v1 refusal whose reasons all have this category (last two digits)."""
    body = response.json()
    assert response.status_code == 400 and body["success"] is False, response.text
    assert body["reasons"] and {str(r["code"])[-2:] for r in body["reasons"]} == {f"{category:02d}"}, body
    return [r["message"] for r in body["reasons"]]


@pytest.mark.zuora_invalid_requests(6)
def test_requests_that_break_the_openapi_document(zuora_sandbox):
    with zuora_sandbox.client() as api:
        charge = api.get("/object-query/product-rate-plan-charges", params={"pageSize": 1}).json()["data"][0]

        assert refused(api.post("/v1/accounts", json={"name": "no currency"}), 22) == [
            "currency is required",
            "billToContact is required",
        ]
        (enum,) = refused(api.post("/v1/accounts", json={**ACCOUNT, "SynctoNetSuite__NS": "Maybe"}), 20)
        assert "SynctoNetSuite__NS" in enum and "Yes" in enum
        long_key = {"Idempotency-Key": "k" * 256}
        (header,) = refused(api.post("/v1/accounts", json=ACCOUNT, headers=long_key), 20)
        assert header == "header Idempotency-Key is longer than 255 characters"
        (amount,) = refused(
            api.post("/v1/payments", json={"accountId": "x", "amount": "ten", "currency": "USD", "type": "External"}),
            20,
        )
        assert amount.startswith("amount:") and "number" in amount
        # NaN is not JSON (RFC 8259), though Python's json module writes and reads it.
        (nan,) = refused(
            api.post(
                "/v1/payments",
                content=b'{"accountId": "x", "amount": NaN, "currency": "USD"}',
                headers={"content-type": "application/json"},
            ),
            20,
        )
        assert "NaN" in nan
        # The catalog's CRUD update wants the charge's billing definition with any change.
        required = refused(
            api.put(f"/v1/object/product-rate-plan-charge/{charge['id']}", json={"IntegrationId__NS": "42"}), 22
        )
        assert {m.split()[0] for m in required} == {
            "BillCycleType",
            "BillingPeriod",
            "ChargeModel",
            "TriggerEvent",
            "ProductRatePlanChargeTierData",
            "ProductRatePlanId",
            "UseDiscountSpecificAccountingCode",
        }
        # What zsync sends for the charge write-back instead: the object's Id and the fields to set.
        update = api.post(
            "/v1/action/update",
            json={
                "type": "ProductRatePlanCharge",
                "objects": [{"Id": charge["id"], "IntegrationId__NS": "42", "IntegrationStatus__NS": "Sync Complete"}],
            },
        )
        assert update.status_code == 200 and update.json()[0]["Success"], update.text
        got = api.get(f"/object-query/product-rate-plan-charges/{charge['id']}").json()
        assert got["IntegrationId__NS"] == "42"
    log = zuora_sandbox.request_log()
    assert [e["route"] for e in log["invalid"]] == ["POST /v1/accounts"] * 3 + ["POST /v1/payments"] * 2 + [
        "PUT /v1/object/product-rate-plan-charge/{id}"
    ]
    assert log["checked"] > len(log["invalid"])
    assert zuora_sandbox.stats().get("writes", 0) == 1  # only the action update wrote


@pytest.mark.zuora_invalid_requests(1)
def test_a_refused_token_request_never_echoes_the_secret(zuora_sandbox):
    secret = "s3cr3t-" + "x" * 60  # longer than the 42 characters the spec allows
    response = httpx.post(
        f"{zuora_sandbox.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": zuora_sandbox.client_id, "client_secret": secret},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "client_secret" in response.text and "s3cr3t" not in response.text
    assert "s3cr3t" not in str(zuora_sandbox.request_log())


def test_countries_names_and_amounts_zuora_checks_itself(zuora_sandbox):
    with zuora_sandbox.client() as api:
        contact = {"firstName": "Ada", "lastName": "Lovelace"}
        (country,) = refused(
            api.post("/v1/accounts", json={**ACCOUNT, "billToContact": {**contact, "country": "Narnia"}}), 20
        )
        assert country == "billToContact.country: 'Narnia' is not a valid country name or ISO 3166 code"
        (name,) = refused(api.post("/v1/accounts", json={**ACCOUNT, "name": "x" * 256}), 20)
        assert name.startswith("name is longer than 255 characters")
        created = api.post(
            "/v1/accounts",
            json={
                **ACCOUNT,
                "name": "x" * 255,
                "billToContact": {**contact, "country": "de"},
                "soldToContact": {**contact, "country": "GBR"},
            },
        ).json()
        assert created["success"], created
        account = api.get(
            f"/object-query/accounts/{created['accountId']}", params={"expand[]": ["billto", "soldto"]}
        ).json()
        assert (account["billTo"]["country"], account["soldTo"]["country"]) == ("Germany", "United Kingdom")
        (update,) = refused(
            api.put(f"/v1/accounts/{created['accountId']}", json={"soldToContact": {"country": "Atlantis"}}), 20
        )
        assert update.startswith("soldToContact.country:")
        invoice = next(
            i
            for i in api.get("/object-query/invoices", params={"pageSize": 99, "filter[]": "status.EQ:Posted"}).json()[
                "data"
            ]
            if i["balance"] > 1
        )
        item = api.get("/object-query/invoice-items", params={"filter[]": f"invoiceId.EQ:{invoice['id']}"}).json()
        # Action objects are untyped in the spec (zObject): the amount is checked per object.
        adjust = api.post(
            "/v1/action/create",
            json={
                "type": "InvoiceItemAdjustment",
                "objects": [
                    {
                        "SourceId": item["data"][0]["id"],
                        "SourceType": "InvoiceDetail",
                        "Type": "Credit",
                        "Amount": "ten",
                    }
                ],
            },
        )
        assert adjust.status_code == 200 and adjust.json()[0]["Success"] is False
        assert "Amount must be a number" in adjust.json()[0]["Errors"][0]["Message"]


def test_with_validation_off_nan_and_non_numeric_amounts_are_still_400(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=2, validate_requests=False, invoice_settlement=True)
    with sandbox.client() as api:
        account = api.get("/object-query/accounts", params={"pageSize": 1}).json()["data"][0]
        body = {"accountId": account["id"], "currency": account["currency"], "type": "External"}
        assert "must be a number" in refused(api.post("/v1/payments", json={**body, "amount": "ten"}), 20)[0]
        nan = api.post("/v1/payments", content=b'{"amount": NaN}', headers={"content-type": "application/json"})
        assert nan.status_code == 400 and "NaN" in nan.json()["reasons"][0]["message"]


def test_a_tenant_without_the_connector_fields_refuses_them(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=2, custom_fields={"Account": []})
    client = connect(sandbox)
    assert "IntegrationId__NS" not in client.describe("Account") and "AccountNumber" in client.describe("Account")
    assert "IntegrationId__NS" in client.describe("Invoice")  # other objects keep theirs
    with sandbox.client() as api:
        (unknown,) = refused(api.post("/v1/accounts", json={**ACCOUNT, "IntegrationId__NS": "7"}), 21)
        assert unknown == "Unknown field in request: 'IntegrationId__NS' is not a field of Account in this tenant"
        accounts = api.get("/object-query/accounts").json()["data"]
        assert accounts and not any("__NS" in key for a in accounts for key in a)
        assert api.get("/object-query/accounts", params={"filter[]": "IntegrationId__NS.EQ:7"}).status_code == 400
        write_back = api.post(
            "/v1/action/update",
            json={"type": "Account", "objects": [{"Id": accounts[0]["id"], "IntegrationId__NS": "7"}]},
        ).json()
        assert write_back[0]["Success"] is False
        zoql = api.post("/v1/action/query", json={"queryString": "select Id, IntegrationId__NS from Account"})
        assert zoql.status_code == 400


def test_describe_answers_xml_listing_custom_fields(zuora_sandbox):
    with zuora_sandbox.client() as api:
        response = api.get("/v1/describe/ProductRatePlanCharge")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
        assert response.headers["Zuora-Request-Id"]
        root = etree.fromstring(response.content)
        assert root.findtext("name") == "ProductRatePlanCharge"
        fields = {f.findtext("name"): f for f in root.iterfind("fields/field")}
        assert set(custom_fields_of(BY_ZOQL["productrateplancharge"])) <= set(fields)
        assert fields["IntegrationId__NS"].findtext("custom") == "true"
        assert fields["DefaultQuantity"].findtext("type") == "decimal"
        assert api.get("/v1/describe/NoSuchObject").status_code == 404
    with pytest.raises(Exception, match="404"):
        ZuoraClient(zuora_sandbox.url, zuora_sandbox.client_id, zuora_sandbox.client_secret, max_attempts=1).describe(
            "NoSuchObject"
        )
