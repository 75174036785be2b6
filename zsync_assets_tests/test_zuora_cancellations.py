"""The Zuora sandbox cancels and deletes billing documents with Zuora's rules, over HTTP.

Records are picked by their properties (a Processed payment applied to a Posted invoice, a
payment with a refund), never by position.
"""

from __future__ import annotations

import pytest

PAYMENT_FIELDS = "id,status,type,amount,accountId"


@pytest.fixture
def api(zuora_sandbox):
    with zuora_sandbox.client() as client:
        yield client


def _records(api, obj: str, **equals: str) -> list[dict]:
    params = [("pageSize", "99"), *[("filter[]", f"{k}.EQ:{v}") for k, v in equals.items()]]
    return api.get(f"/object-query/{obj}", params=params).json()["data"]


def _one(api, obj: str, record_id: str) -> dict:
    response = api.get(f"/object-query/{obj}/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _paid_invoice_payment(api) -> tuple[dict, dict]:
    """A Processed External payment applied to one invoice, with no refund: (payment, invoice)."""
    refunded = {a["paymentId"] for a in _records(api, "refund-applications")}
    for payment in _records(api, "payments", status="Processed", type="External"):
        applications = _records(api, "payment-applications", paymentId=payment["id"])
        account = _one(api, "accounts", payment["accountId"])
        if payment["id"] not in refunded and len(applications) == 1 and account["status"] == "Active":
            return payment, _one(api, "invoices", applications[0]["invoiceId"])
    raise AssertionError("the seed has no unrefunded payment applied to one invoice")


def test_a_canceled_payment_reopens_its_invoice_and_can_then_be_deleted(api):
    payment, invoice = _paid_invoice_payment(api)
    applied = _records(api, "payment-applications", paymentId=payment["id"])[0]["applyAmount"]

    refused = api.delete(f"/v1/payments/{payment['id']}")
    assert refused.status_code == 400 and "Cancelled status" in refused.json()["reasons"][0]["message"]

    canceled = api.put(f"/v1/payments/{payment['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "Canceled", canceled.text
    assert canceled.json()["cancelledOn"]
    assert _one(api, "invoices", invoice["id"])["balance"] == pytest.approx(invoice["balance"] + applied)
    assert _records(api, "payment-applications", paymentId=payment["id"])[0]["paymentApplicationStatus"] == "Cancelled"

    again = api.put(f"/v1/payments/{payment['id']}/cancel")
    assert again.status_code == 400 and "only a Processed payment" in again.json()["reasons"][0]["message"]

    deleted = api.delete(f"/v1/payments/{payment['id']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert api.get(f"/object-query/payments/{payment['id']}").status_code == 404
    assert _records(api, "payment-applications", paymentId=payment["id"]) == []
    assert _one(api, "invoices", invoice["id"])["balance"] == pytest.approx(invoice["balance"] + applied)


def test_a_refunded_payment_is_canceled_only_after_its_refund(api):
    refund_application = _records(api, "refund-applications")[0]
    payment_id, refund_id = refund_application["paymentId"], refund_application["refundId"]
    before = _one(api, "payments", payment_id)

    refused = api.put(f"/v1/payments/{payment_id}/cancel")
    assert refused.status_code == 400 and "cancel them before" in refused.json()["reasons"][0]["message"]

    canceled = api.put(f"/v1/refunds/{refund_id}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "Canceled", canceled.text
    after = _one(api, "payments", payment_id)
    assert after["refundAmount"] == pytest.approx(before["refundAmount"] - refund_application["applyAmount"])
    assert after["unappliedAmount"] == pytest.approx(before["unappliedAmount"] + refund_application["applyAmount"])
    assert api.put(f"/v1/payments/{payment_id}/cancel").status_code == 200


def test_electronic_payments_and_canceled_accounts_refuse_cancellation(api):
    account = next(a for a in _records(api, "accounts", status="Active") if a["currency"] == "USD")
    electronic = api.post(
        "/v1/payments", json={"accountId": account["id"], "amount": 10, "currency": "USD", "type": "Electronic"}
    ).json()
    refused = api.put(f"/v1/payments/{electronic['id']}/cancel")
    assert refused.status_code == 400 and "only External payments" in refused.json()["reasons"][0]["message"]

    payment, _ = _paid_invoice_payment(api)
    (closed,) = api.post(
        "/v1/action/update", json={"type": "Account", "objects": [{"Id": payment["accountId"], "Status": "Canceled"}]}
    ).json()
    assert closed["Success"], closed
    refused = api.put(f"/v1/payments/{payment['id']}/cancel")
    assert refused.status_code == 400 and "is Canceled" in refused.json()["reasons"][0]["message"]


def test_a_posted_memo_is_unposted_then_canceled(api):
    account = next(a for a in _records(api, "accounts", status="Active") if a["currency"] == "USD")
    charge = _records(api, "product-rate-plan-charges")[0]
    memo = api.post(
        "/v1/debit-memos",
        json={
            "accountId": account["id"],
            "autoPost": True,
            "charges": [{"productRatePlanChargeId": charge["id"], "amount": 40}],
        },
    ).json()
    balance = _one(api, "accounts", account["id"])["totalDebitMemoBalance"]

    refused = api.put(f"/v1/debit-memos/{memo['id']}/cancel")
    assert refused.status_code == 400 and "only a Draft memo" in refused.json()["reasons"][0]["message"]
    assert api.put(f"/v1/debit-memos/{memo['id']}/unpost").json()["status"] == "Draft"
    assert _one(api, "accounts", account["id"])["totalDebitMemoBalance"] == pytest.approx(balance - 40)
    assert api.put(f"/v1/debit-memos/{memo['id']}/cancel").json()["status"] == "Canceled"


def test_an_applied_credit_memo_cannot_be_unposted(api):
    applied = _records(api, "credit-memo-applications")[0]
    refused = api.put(f"/v1/credit-memos/{applied['creditMemoId']}/unpost")
    assert refused.status_code == 400 and "applied or refunded" in refused.json()["reasons"][0]["message"]


def test_a_canceled_adjustment_gives_its_invoice_its_balance_back(api):
    invoice = next(i for i in _records(api, "invoices", status="Posted") if i["balance"] > 20)
    item = _records(api, "invoice-items", invoiceId=invoice["id"])[0]
    created = api.post(
        "/v1/action/create",
        json={
            "type": "InvoiceItemAdjustment",
            "objects": [
                {
                    "InvoiceId": invoice["id"],
                    "SourceId": item["id"],
                    "SourceType": "InvoiceDetail",
                    "Type": "Credit",
                    "Amount": 15,
                    "AdjustmentDate": invoice["invoiceDate"],
                }
            ],
        },
    ).json()[0]
    assert _one(api, "invoices", invoice["id"])["balance"] == pytest.approx(invoice["balance"] - 15)

    (result,) = api.post(
        "/v1/action/update",
        json={"type": "InvoiceItemAdjustment", "objects": [{"Id": created["Id"], "Status": "Canceled"}]},
    ).json()
    assert result["Success"], result
    assert _one(api, "invoices", invoice["id"])["balance"] == pytest.approx(invoice["balance"])
    (again,) = api.post(
        "/v1/action/update",
        json={"type": "InvoiceItemAdjustment", "objects": [{"Id": created["Id"], "Status": "Canceled"}]},
    ).json()
    assert not again["Success"] and "only a Processed one" in again["Errors"][0]["Message"]
