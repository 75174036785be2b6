"""A Zuora tenant without Invoice Settlement, over HTTP: its v1 payment, refund and memo routes
are refused, and payments and refunds are created, changed, canceled and deleted through action
calls.

Zuora's API reference marks those v1 operations "only available if you have Invoice Settlement
enabled" (POST_CreatePayment, POST_RefundPayment, PUT_UpdatePayment, PUT_CancelPayment, ...).
Records are picked by their properties (a Posted invoice of an Active account with a balance).
"""

from __future__ import annotations

import click
import pytest

from zsync_assets.cli.runtime import _require_tenant_settlement
from zsync_assets.sandbox import defaults

OTHER = defaults.EXTERNAL_PAYMENT_METHODS["Other"]


@pytest.fixture
def api(make_zuora_sandbox):
    with make_zuora_sandbox(invoice_settlement=False).client() as client:
        yield client


def _records(api, obj: str, **equals: str) -> list[dict]:
    params = [("pageSize", "99"), *[("filter[]", f"{k}.EQ:{v}") for k, v in equals.items()]]
    return api.get(f"/object-query/{obj}", params=params).json()["data"]


def _open_invoices(api, count: int) -> list[dict]:
    """`count` Posted invoices with a balance of one Active account."""
    for account in _records(api, "accounts", status="Active"):
        invoices = [i for i in _records(api, "invoices", accountId=account["id"], status="Posted") if i["balance"] > 10]
        if len(invoices) >= count:
            return invoices[:count]
    raise AssertionError(f"the seed has no Active account with {count} open Posted invoices")


def _create(api, obj: str, *objects: dict) -> list[dict]:
    response = api.post("/v1/action/create", json={"type": obj, "objects": list(objects)})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_v1_payment_refund_and_memo_routes_are_refused(api):
    (invoice,) = _open_invoices(api, 1)
    body = {"accountId": invoice["accountId"], "amount": 5, "currency": invoice["currency"], "type": "External"}
    payment = next(iter(_records(api, "payments", status="Processed")))
    refused = [
        api.post("/v1/payments", json=body),
        api.put(f"/v1/payments/{payment['id']}", json={"comment": "x"}),
        api.put(f"/v1/payments/{payment['id']}/cancel"),
        api.post(f"/v1/payments/{payment['id']}/refunds", json={"totalAmount": 1, "type": "External"}),
        api.post("/v1/credit-memos", json={"accountId": invoice["accountId"], "charges": []}),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert "only available if you have Invoice Settlement" in response.json()["reasons"][0]["message"]
    assert api.get(f"/object-query/payments/{payment['id']}").json().get("comment") != "x"


def test_payments_and_refunds_are_created_and_canceled_by_action_calls(api):
    first, second = _open_invoices(api, 2)
    (payment,) = _create(
        api,
        "Payment",
        {
            "AccountId": first["accountId"],
            "Amount": 12,
            "EffectiveDate": "2026-03-02",
            "PaymentMethodId": OTHER,
            "Type": "External",
            "Status": "Processed",
            "InvoicePaymentData": {
                "InvoicePayment": [{"InvoiceId": first["id"], "Amount": 4}, {"InvoiceId": second["id"], "Amount": 5}]
            },
            "AppliedCreditBalanceAmount": 3,
            "IntegrationId__NS": "ns-1",
        },
    )
    assert payment["Success"], payment
    stored = api.get(f"/object-query/payments/{payment['Id']}").json()
    assert (stored["amount"], stored["unappliedAmount"], stored["paymentMethodId"]) == (12, 3, OTHER)
    assert stored["IntegrationId__NS"] == "ns-1"
    balances = {i["id"]: i["balance"] for i in _records(api, "invoices", accountId=first["accountId"])}
    assert (balances[first["id"]], balances[second["id"]]) == pytest.approx(
        (first["balance"] - 4, second["balance"] - 5)
    )

    (refund,) = _create(
        api,
        "Refund",
        {
            "PaymentId": payment["Id"],
            "Amount": 3,
            "Type": "External",
            "MethodType": "Check",
            "RefundDate": "2026-03-03",
        },
    )
    assert refund["Success"], refund
    assert api.get(f"/object-query/payments/{payment['Id']}").json()["unappliedAmount"] == 0

    def cancel(obj: str, record_id: str) -> dict:
        response = api.post(
            "/v1/action/update", json={"type": obj, "objects": [{"Id": record_id, "Status": "Canceled"}]}
        )
        return response.json()[0]

    def delete(obj: str, record_id: str) -> dict:
        return api.post("/v1/action/delete", json={"type": obj, "ids": [record_id]}).json()[0]

    processed = delete("Payment", payment["Id"])  # only a Canceled payment can be deleted
    assert not processed["success"] and "Cancelled status" in processed["errors"][0]["Message"]
    refused = cancel("Payment", payment["Id"])  # Zuora: its refund first
    assert not refused["Success"] and "cancel them before" in refused["Errors"][0]["Message"]
    assert cancel("Refund", refund["Id"])["Success"]
    assert cancel("Payment", payment["Id"])["Success"]
    assert api.get(f"/object-query/payments/{payment['Id']}").json()["status"] == "Canceled"
    after = {i["id"]: i["balance"] for i in _records(api, "invoices", accountId=first["accountId"])}
    assert (after[first["id"]], after[second["id"]]) == pytest.approx((first["balance"], second["balance"]))
    assert delete("Refund", refund["Id"])["success"] and delete("Payment", payment["Id"])["success"]
    assert api.get(f"/object-query/payments/{payment['Id']}").status_code == 404
    assert _records(api, "refund-applications", refundId=refund["Id"]) == []


def test_a_refused_payment_fails_alone_and_leaves_nothing_behind(api):
    """Each object of an action call commits or fails on its own: a payment refused after its
    record was written (an application over the invoice's balance) leaves no payment behind."""
    (invoice,) = _open_invoices(api, 1)
    payments = len(_records(api, "payments", accountId=invoice["accountId"]))

    def payment(amount: float, **fields) -> dict:
        return {
            "AccountId": invoice["accountId"],
            "Amount": amount,
            "EffectiveDate": "2026-03-02",
            "Type": "External",
            "Status": "Processed",
            "InvoiceId": invoice["id"],
            "AppliedInvoiceAmount": amount,
            **fields,
        }

    too_much = invoice["balance"] + 100
    results = _create(
        api, "Payment", payment(1, PaymentMethodId=OTHER), payment(too_much, PaymentMethodId=OTHER), payment(1)
    )
    assert [r["Success"] for r in results] == [True, False, False]
    assert "exceeds its balance" in results[1]["Errors"][0]["Message"]
    assert "PaymentMethodId is required" in results[2]["Errors"][0]["Message"]
    assert len(_records(api, "payments", accountId=invoice["accountId"])) == payments + 1
    assert api.get(f"/object-query/invoices/{invoice['id']}").json()["balance"] == pytest.approx(invoice["balance"] - 1)


@pytest.mark.parametrize("running", [False, True])
def test_the_demo_uses_a_running_sandbox_only_of_the_tenant_its_settings_describe(
    make_zuora_sandbox, monkeypatch, running
):
    """`zsync demo` finds the sandboxes running (a `zsync sandbox` left from before): it asks the
    Zuora one which tenant it is and refuses, saying what to do, when the demo wants the other."""
    sandbox = make_zuora_sandbox(size=0, invoice_settlement=running)
    monkeypatch.setattr(defaults, "zuora_url", lambda port=defaults.ZUORA_PORT: sandbox.url)

    _require_tenant_settlement(running)  # the tenant it wants: used as it is
    with pytest.raises(click.ClickException) as refused:
        _require_tenant_settlement(not running)
    kind = {True: "with", False: "without"}
    assert f"a tenant {kind[running]} Invoice Settlement, and this demo wants one {kind[not running]}" in str(
        refused.value.message
    )
    assert "stop `zsync sandbox`" in refused.value.message
