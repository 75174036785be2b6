"""The Zuora sandbox's `PUT /v1/credit-memos/{creditMemoKey}/apply`: what it refuses, and what an
application does to the memo, the documents it settles and the account, as Object Query shows it.
Over real HTTP; the answers validate against Zuora's published schemas."""

from __future__ import annotations

import pytest

from zsync_assets_tests.test_zuora_sandbox_conformance import Conformance

APPLY = "/v1/credit-memos/{creditMemoKey}/apply"


def _ok(response) -> dict:  # noqa: ANN001
    assert response.status_code == 200 and response.json().get("success", True), response.text
    return response.json()


def _one(api, obj: str, record_id: str) -> dict:  # noqa: ANN001
    return _ok(api.get(f"/object-query/{obj}/{record_id}"))


@pytest.fixture
def documents(zuora_sandbox):
    """An account with a Posted invoice of 100, a posted debit memo of 40, a posted credit memo of
    60 and a draft one; another account with a Posted invoice."""
    with zuora_sandbox.client() as api:
        charge = _ok(api.get("/object-query/product-rate-plan-charges", params={"pageSize": 1}))["data"][0]["id"]

        def account(name: str) -> str:
            return _ok(
                api.post(
                    "/v1/accounts",
                    json={"name": name, "currency": "USD", "billToContact": {"firstName": "A", "lastName": "B"}},
                )
            )["accountId"]

        def invoice(account_id: str) -> str:
            return _ok(
                api.post(
                    "/v1/invoices",
                    json={
                        "accountId": account_id,
                        "invoiceDate": "2026-01-01",
                        "status": "Posted",
                        "invoiceItems": [
                            {"amount": 100, "serviceStartDate": "2026-01-01", "productRatePlanChargeId": charge}
                        ],
                    },
                )
            )["id"]

        def memo(kind: str, account_id: str, amount: float, post: bool = True) -> str:
            return _ok(
                api.post(
                    f"/v1/{kind}-memos",
                    json={
                        "accountId": account_id,
                        "autoPost": post,
                        "charges": [{"productRatePlanChargeId": charge, "amount": amount}],
                    },
                )
            )["id"]

        mine, other = account("Applies Credit"), account("Someone Else")
        yield {
            "account": mine,
            "invoice": invoice(mine),
            "other_invoice": invoice(other),
            "debit": memo("debit", mine, 40),
            "credit": memo("credit", mine, 60),
            "draft": memo("credit", mine, 5, post=False),
        }


def test_a_credit_memo_application_moves_every_balance_zuora_keeps(zuora_spec, zuora_sandbox, documents):
    d = documents
    with zuora_sandbox.client() as api:
        answer = _ok(
            api.put(
                APPLY.format(creditMemoKey=d["credit"]),
                json={
                    "effectiveDate": "2026-02-01",
                    "invoices": [{"invoiceId": d["invoice"], "amount": 35}],
                    "debitMemos": [{"debitMemoId": d["debit"], "amount": 15}],
                },
            )
        )
        Conformance(zuora_spec).check("PUT", APPLY, answer)
        assert (answer["id"], answer["appliedAmount"], answer["unappliedAmount"]) == (d["credit"], 50.0, 10.0)

        invoice = _one(api, "invoices", d["invoice"])
        assert (invoice["creditMemoAmount"], invoice["balance"]) == (35.0, 65.0)
        assert _one(api, "debit-memos", d["debit"])["balance"] == 25.0
        memo = _one(api, "credit-memos", d["credit"])
        assert (memo["appliedAmount"], memo["balance"]) == (50.0, 10.0)
        (item,) = _ok(
            api.get("/object-query/credit-memo-items", params={"filter[]": f"creditMemoId.EQ:{d['credit']}"})
        )["data"]
        assert item["unappliedAmount"] == 10.0
        applications = _ok(
            api.get("/object-query/credit-memo-applications", params={"filter[]": f"creditMemoId.EQ:{d['credit']}"})
        )["data"]
        assert sorted(
            (a.get("invoiceId") or a["debitMemoId"], a["amount"], a["effectiveDate"]) for a in applications
        ) == sorted([(d["invoice"], 35.0, "2026-02-01"), (d["debit"], 15.0, "2026-02-01")])
        assert len({a["applicationGroupId"] for a in applications}) == 1 and {a["accountId"] for a in applications} == {
            d["account"]
        }
        account = _one(api, "accounts", d["account"])
        assert (
            account["totalInvoiceBalance"],
            account["totalDebitMemoBalance"],
            account["balance"],
            account["unappliedCreditMemoAmount"],
        ) == (65.0, 25.0, 90.0, 10.0)


def test_a_credit_memo_application_zuora_would_refuse_is_refused_and_changes_nothing(zuora_sandbox, documents):
    d = documents
    refused = [
        (d["draft"], {"invoices": [{"invoiceId": d["invoice"], "amount": 1}]}, "only a Posted one"),
        (
            d["credit"],
            {
                "invoices": [{"invoiceId": d["invoice"], "amount": 50}],
                "debitMemos": [{"debitMemoId": d["debit"], "amount": 20}],
            },
            "unapplied amount",
        ),
        (d["credit"], {"debitMemos": [{"debitMemoId": d["debit"], "amount": 41}]}, "exceeds its balance"),
        (
            d["credit"],
            {"debitMemos": [{"debitMemoId": d["debit"], "amount": 30}, {"debitMemoId": d["debit"], "amount": 30}]},
            "exceed its balance",
        ),
        (d["credit"], {"invoices": [{"invoiceId": d["other_invoice"], "amount": 1}]}, "of the credit memo's account"),
        (d["credit"], {"invoices": [{"invoiceId": d["invoice"], "amount": 1, "items": [{"amount": 1}]}]}, "not items"),
        (d["credit"], {"invoices": [{"invoiceId": d["invoice"], "amount": 0}]}, "greater than 0"),
        (d["credit"], {}, "invoices or debitMemos is required"),
    ]
    with zuora_sandbox.client() as api:
        invoice = _one(api, "invoices", d["invoice"])
        for memo, body, why in refused:
            response = api.put(APPLY.format(creditMemoKey=memo), json=body)
            assert response.status_code == 400 and why in response.json()["reasons"][0]["message"], (
                body,
                response.text,
            )
        assert _one(api, "invoices", d["invoice"])["balance"] == invoice["balance"] == 100.0
        assert _one(api, "credit-memos", d["credit"])["appliedAmount"] == 0.0
        assert _one(api, "debit-memos", d["debit"])["balance"] == 40.0
        assert not _ok(
            api.get("/object-query/credit-memo-applications", params={"filter[]": f"accountId.EQ:{d['account']}"})
        )["data"]
        assert (
            api.put(
                APPLY.format(creditMemoKey="CM99999999"), json={"invoices": [{"invoiceId": d["invoice"], "amount": 1}]}
            ).status_code
            == 404
        )
