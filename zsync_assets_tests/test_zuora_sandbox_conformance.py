"""Every Zuora response zsync uses validates against the 200-response schema in Zuora's OpenAPI spec.

The spec is the vendor's published file, shipped in `zsync_assets/vendor/zuora-openapi/` (a
missing file fails the suite, naming it); it is parsed once per process, by the same loader the
sandbox's request checks use. Relaxed on purpose, and only here:
- custom fields (`*__NS`, `*__c`) the schema does not declare: the compact spec types
  undeclared extra keys as objects, while tenants' custom fields hold strings;
- `ExpandedInvoice.status` gains "Canceled" (the `zuora_spec` fixture, fixtures/zuora_spec.py).
"""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from zsync_assets.sandbox.zuora.model import OBJECT_QUERY

URI = "urn:zuora-openapi"
# Object Query lists invoice items only with a filter[] (required in the spec): one that keeps all.
EVERYTHING = "updatedDate.GE:2000-01-01T00:00:00Z"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Conformance:
    def __init__(self, spec: dict):
        self.spec = spec
        self.registry = Registry().with_resource(URI, Resource.from_contents(spec, default_specification=DRAFT4))

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.registry.resolver(URI).lookup(schema["$ref"]).contents
        return schema

    def declared(self, schema: dict) -> dict:
        schema = self.resolve(schema)
        props = dict(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            props.update(self.declared(part))
        return props

    def relax(self, instance, schema: dict):  # noqa: ANN001, ANN201
        """Drop custom-field keys the schema does not declare, recursively."""
        schema = self.resolve(schema)
        if isinstance(instance, list) and "items" in schema:
            return [self.relax(i, schema["items"]) for i in instance]
        if isinstance(instance, dict):
            props = self.declared(schema)
            return {
                k: self.relax(v, props[k]) if k in props else v
                for k, v in instance.items()
                if k in props or "__" not in k
            }
        return instance

    def check(self, method: str, path: str, body) -> None:  # noqa: ANN001
        pointer = "#/" + _pointer(
            "paths", path, method.lower(), "responses", "200", "content", "application/json", "schema"
        )
        schema = {"$ref": URI + pointer}
        validator = Draft4Validator(schema, registry=self.registry, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(self.relax(body, schema)), key=lambda e: list(e.absolute_path))
        assert not errors, f"{method} {path}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]
        )


def test_read_responses_match_the_vendor_schemas(zuora_spec, make_zuora_sandbox):
    conformance = Conformance(zuora_spec)
    sandbox = make_zuora_sandbox(size=12)
    import httpx

    token = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    conformance.check("POST", "/oauth/token", token.json())
    with sandbox.client() as client:
        for path in OBJECT_QUERY:
            body = client.get(f"/object-query/{path}", params={"pageSize": 99, "filter[]": EVERYTHING}).json()
            assert body["data"], path
            conformance.check("GET", f"/object-query/{path}", body)
            one = client.get(f"/object-query/{path}/{body['data'][0]['id']}").json()
            conformance.check("GET", f"/object-query/{path}/{{key}}", one)
        expanded = client.get("/object-query/accounts", params={"expand[]": ["billto", "soldto"]}).json()
        conformance.check("GET", "/object-query/accounts", expanded)
        query = client.post(
            "/v1/action/query",
            json={"queryString": "select Id, Amount, InvoiceId, UpdatedDate from InvoiceItemAdjustment"},
        ).json()
        conformance.check("POST", "/v1/action/query", query)
        first = client.post(
            "/v1/action/query", json={"queryString": "select Id from InvoiceItem", "conf": {"batchSize": 10}}
        ).json()
        more = client.post("/v1/action/queryMore", json={"queryLocator": first["queryLocator"]}).json()
        conformance.check("POST", "/v1/action/queryMore", more)


def test_write_responses_match_the_vendor_schemas(zuora_spec, zuora_sandbox):
    conformance = Conformance(zuora_spec)
    with zuora_sandbox.client() as client:

        def write(method: str, template: str, path: str | None = None, **kwargs) -> dict:
            response = client.request(method, path or template, **kwargs)
            assert response.status_code == 200, (template, response.text)
            conformance.check(method, template, response.json())
            return response.json()

        product = write(
            "POST",
            "/v1/object/product",
            json={
                "Name": "Conformance",
                "EffectiveStartDate": "2026-01-01",
                "EffectiveEndDate": "2030-01-01",
                "IntegrationId__NS": "ns-1",
            },
        )
        plan = write("POST", "/v1/object/product-rate-plan", json={"Name": "Monthly", "ProductId": product["Id"]})
        charge = write(
            "POST",
            "/v1/object/product-rate-plan-charge",
            json={
                "Name": "Fee",
                "ProductRatePlanId": plan["Id"],
                "ChargeModel": "Flat Fee Pricing",
                "ChargeType": "Recurring",
                "BillingPeriod": "Month",
                "TriggerEvent": "ContractEffective",
                "BillCycleType": "DefaultFromCustomer",
                "UseDiscountSpecificAccountingCode": False,
                "ProductRatePlanChargeTierData": {"ProductRatePlanChargeTier": [{"Currency": "USD", "Price": 10}]},
            },
        )
        account = write(
            "POST",
            "/v1/accounts",
            json={
                "name": "Conformance Co",
                "currency": "USD",
                "SynctoNetSuite__NS": "Yes",
                "billToContact": {"firstName": "A", "lastName": "B"},
                "soldToContact": {"firstName": "C", "lastName": "D"},
            },
        )
        write(
            "PUT",
            "/v1/accounts/{account-key}",
            f"/v1/accounts/{account['accountNumber']}",
            json={"notes": "n", "IntegrationId__NS": "ns-2"},
        )
        write(
            "POST",
            "/v1/subscriptions",
            json={
                "accountKey": account["accountId"],
                "contractEffectiveDate": "2026-01-01",
                "termType": "TERMED",
                "initialTerm": 12,
                "renewalTerm": 12,
                "subscribeToRatePlans": [{"productRatePlanId": plan["Id"]}],
            },
        )
        invoice = write(
            "POST",
            "/v1/invoices",
            json={
                "accountId": account["accountId"],
                "invoiceDate": "2026-01-01",
                "invoiceItems": [
                    {"amount": 10, "serviceStartDate": "2026-01-01", "productRatePlanChargeId": charge["Id"]}
                ],
            },
        )
        write("POST", "/v1/invoices/bulk-post", json={"invoices": [{"id": invoice["id"]}]})
        payment = write(
            "POST",
            "/v1/payments",
            json={
                "accountId": account["accountId"],
                "amount": 15,
                "currency": "USD",
                "type": "External",
                "invoices": [{"invoiceId": invoice["id"], "amount": 10}],
            },
        )
        write(
            "POST",
            "/v1/payments/{paymentKey}/refunds",
            f"/v1/payments/{payment['id']}/refunds",
            json={"totalAmount": 5, "type": "External"},
        )
        for kind in ("credit", "debit"):
            memo = write(
                "POST",
                f"/v1/{kind}-memos",
                json={
                    "accountId": account["accountId"],
                    "charges": [{"productRatePlanChargeId": charge["Id"], "amount": 3}],
                },
            )
            write("PUT", f"/v1/{kind}-memos/{{{kind}MemoKey}}/post", f"/v1/{kind}-memos/{memo['id']}/post")
        items = client.get("/object-query/invoice-items", params={"filter[]": f"invoiceId.EQ:{invoice['id']}"}).json()
        write(
            "POST",
            "/v1/action/create",
            json={
                "type": "InvoiceItemAdjustment",
                "objects": [
                    {"SourceId": items["data"][0]["id"], "SourceType": "InvoiceDetail", "Type": "Charge", "Amount": 1}
                ],
            },
        )
        write(
            "POST",
            "/v1/action/update",
            json={"type": "Account", "objects": [{"Id": account["accountId"], "IntegrationStatus__NS": "Synced"}]},
        )


def test_the_conformance_check_rejects_a_wrong_shape(zuora_spec):
    conformance = Conformance(zuora_spec)
    with pytest.raises(AssertionError, match="balance"):
        conformance.check("GET", "/object-query/accounts", {"data": [{"id": "x", "balance": "12.00"}]})
    with pytest.raises(AssertionError, match="status"):
        conformance.check("GET", "/object-query/payments", {"data": [{"id": "x", "status": "Paid"}]})
    with pytest.raises(AssertionError, match="Additional properties"):
        conformance.check("GET", "/object-query/accounts", {"data": [], "extra": 1})
