"""Zuora documents canceled or deleted after they synced: their NetSuite counterparts are deleted.

End to end through both sandboxes: a user cancels (or cancels and deletes) a synced document in
Zuora with Zuora's own routes; the next run reverses its NetSuite counterpart, and the customer's
balance is the same in both systems again. Records are chosen by their properties.
(NetSuite -> Zuora: test_sync_reversals_to_zuora.py; memos: test_sync_memo_reversals.py.)
"""

from __future__ import annotations

import polars as pl
import pytest

from zsync_assets_tests.fixtures.reversals import (
    balances, cancel_zuora, linked_target, reverse_rows, zuora_call,
)

FLOWS = ["customers", "items", "invoices", "adjustments", "payments", "refunds"]
SETTINGS = {"default_tax_item": "CA State Tax"}  # every seeded tax code posts somewhere


@pytest.fixture
def env(make_sync_env):
    env = make_sync_env(**SETTINGS)
    env.run(FLOWS)
    return env


def _payment_on_one_invoice(env, *, refunded: bool = False) -> dict:
    """A synced Processed payment of an Active account, applied to one invoice, refunded or not."""
    payments = env.query(
        """select p.id, p.account_id, p.amount, any_value(a.invoice_id) as invoice_id, count(*) as applied
           from zuora.payments p join zuora.payment_applications a on a.payment_id = p.id
           join zuora.accounts c on c.id = p.account_id
           where p.status = 'Processed' and c.status = 'Active' group by all having count(*) = 1 order by p.id""")
    refunds = set(env.query("select payment_id from zuora.refund_applications")["payment_id"])
    synced = set(env.links("payments")["source_id"])
    for payment in payments.iter_rows(named=True):
        if payment["id"] in synced and (payment["id"] in refunds) == refunded:
            return payment
    raise AssertionError(f"no synced payment on one invoice (refunded={refunded})")


def _netsuite(env, record_type: str, internal_id: str) -> dict | None:
    with env.netsuite_client() as client:
        return client.get(record_type, internal_id=internal_id)


def _writes_of_a_rerun(env) -> dict[str, int]:
    before = env.write_calls()
    env.run(FLOWS)
    after = env.write_calls()
    return {system: after[system] - before[system] for system in after}


def test_a_canceled_payment_is_deleted_in_netsuite_and_its_invoice_owes_again(env):
    payment = _payment_on_one_invoice(env)
    netsuite_payment = linked_target(env, "payments", payment["id"])
    netsuite_invoice = linked_target(env, "invoices", payment["invoice_id"])
    owed = _netsuite(env, "invoice", netsuite_invoice)["amountRemaining"]
    assert balances(env, payment["account_id"])[0] == pytest.approx(balances(env, payment["account_id"])[1])

    cancel_zuora(env, "payments", payment["id"])
    env.run(FLOWS)

    assert _netsuite(env, "customerPayment", netsuite_payment) is None
    zuora_invoice = env.zuora_records("invoices", id=payment["invoice_id"])[0]
    assert _netsuite(env, "invoice", netsuite_invoice)["amountRemaining"] == pytest.approx(zuora_invoice["balance"])
    assert zuora_invoice["balance"] > owed
    zuora, netsuite = balances(env, payment["account_id"])
    assert zuora == pytest.approx(netsuite)
    assert [(r["source_id"], r["status"]) for r in reverse_rows(env, "payments")] == [
        (payment["id"], "started"), (payment["id"], "succeeded")]
    link = env.links("payments").filter(pl.col("source_id") == payment["id"]).to_dicts()[0]
    assert link["reversed_at"] is not None and link["reversal"] == "payment was canceled in Zuora"
    status = env.query(f"select status from audit.sync_status where flow = 'payments' and source_id = '{payment['id']}'")
    assert status["status"].item() == "reversed"

    # Deleting the canceled payment in Zuora afterwards changes nothing more, and a re-run sends nothing.
    zuora_call(env, "DELETE", f"/v1/payments/{payment['id']}")
    assert _writes_of_a_rerun(env) == {"zuora": 0, "netsuite": 0}
    plan = env.plan("payments").filter(pl.col("source_id") == payment["id"]).to_dicts()[0]
    assert plan["action"] == "skip" and plan["reason"].startswith("payment was deleted in Zuora: reversed in netsuite")
    assert plan["reason"].endswith("(payment was canceled in Zuora)")  # how it was reversed, back then


def test_a_payment_deleted_and_recreated_ends_as_one_netsuite_payment_of_the_new_amount(env):
    payment = _payment_on_one_invoice(env)
    old = linked_target(env, "payments", payment["id"])
    netsuite_invoice = linked_target(env, "invoices", payment["invoice_id"])
    cancel_zuora(env, "payments", payment["id"], delete=True)
    amount = round(payment["amount"] - 1, 2)  # a whole unit less: right in every currency, yen too
    new = _pay(env, env.zuora_account(payment["account_id"]), payment["invoice_id"], amount)

    env.run(FLOWS)

    assert _netsuite(env, "customerPayment", old) is None
    deleted = env.query(f"select _deleted_at from zuora.payments where id = '{payment['id']}'")["_deleted_at"].item()
    assert deleted is not None  # found by zuora/deletions: zsync never saw the Canceled state
    with env.netsuite_client() as client:
        payments = [r for page in client.search("transaction", {"type": {"operator": "anyOf",
                                                                         "searchValue": ["_customerPayment"]}})
                    for r in page if str(r["customer"]["internalId"]) == str(_customer(env, payment["account_id"]))]
    on_invoice = [p for p in payments if any(str(line["doc"]) == netsuite_invoice and line.get("apply")
                                             for line in (p.get("applyList") or {}).get("apply", []))]
    assert [(p["internalId"], p["payment"]) for p in on_invoice] == [(linked_target(env, "payments", new), amount)]
    (line,) = [ln for ln in on_invoice[0]["applyList"]["apply"] if ln.get("apply")]
    assert line["amount"] == pytest.approx(amount)
    zuora, netsuite = balances(env, payment["account_id"])
    assert zuora == pytest.approx(netsuite)
    assert _writes_of_a_rerun(env) == {"zuora": 0, "netsuite": 0}


def _customer(env, account_id: str) -> str:
    return linked_target(env, "customers", account_id)


def _pay(env, account: dict, invoice_id: str, amount: float) -> str:
    with env.zuora_api() as api:
        response = api.post("/v1/payments", json={"accountId": account["id"], "amount": amount, "type": "External",
                                                  "currency": account["currency"], "invoices": [
                                                      {"invoiceId": invoice_id, "amount": amount}]})
    assert response.status_code == 200 and response.json()["success"], response.text
    return response.json()["id"]
