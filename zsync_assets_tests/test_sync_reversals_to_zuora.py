"""NetSuite documents deleted after they synced to Zuora: their Zuora counterparts are canceled.

With `payments_ns_to_zuora: true`, customer payments and refunds entered in NetSuite become Zuora
payments and refunds, and credit memos entered in NetSuite become invoice item adjustments. A user
deletes one in NetSuite (found by getDeleted, `netsuite/deletions`); the next run cancels its Zuora
counterpart through Zuora's cancel routes, and the account owes the same in both systems again.
Zuora's own rules on what can be canceled become the record's blocked reason.
"""

from __future__ import annotations

import polars as pl
import pytest

from zsync_assets.engine import bookkeeping
from zsync_assets_tests.fixtures.memos import add_netsuite_credit_memo
from zsync_assets_tests.fixtures.reversals import balances, delete_netsuite, linked_target
from zsync_assets_tests.fixtures.settlements import add_netsuite_payment, add_netsuite_refund

FLOWS = [
    "customers",
    "items",
    "invoices",
    "adjustments",
    "netsuite_credit_memos",
    "payments",
    "netsuite_payments",
    "refunds",
    "netsuite_refunds",
]
SETTINGS = {"payments_ns_to_zuora": True, "default_tax_item": "CA State Tax"}


@pytest.fixture
def env(make_sync_env):
    env = make_sync_env(**SETTINGS)
    env.run(FLOWS)
    return env


def _zuora(env, obj: str, record_id: str) -> dict:
    (record,) = env.zuora_records(obj, id=record_id)
    return record


def _account_of_invoice(env, invoice_id: str) -> str:
    return env.query(f"select account_id from zuora.invoices where id = '{invoice_id}'")["account_id"].item()


def _agree(env, *accounts: str) -> None:
    for account in accounts:
        zuora, netsuite = balances(env, account)
        assert zuora == pytest.approx(netsuite), account


def test_deleted_netsuite_payments_refunds_and_credit_memos_are_canceled_in_zuora(env):
    plain = add_netsuite_payment(env)
    refunded = add_netsuite_payment(env, unapplied=10.0)
    refund = add_netsuite_refund(env, refunded["payment_id"], 10.0)
    memo = add_netsuite_credit_memo(env)
    env.run(FLOWS)
    zuora = {
        "plain": linked_target(env, "netsuite_payments", plain["payment_id"]),
        "refunded": linked_target(env, "netsuite_payments", refunded["payment_id"]),
        "refund": linked_target(env, "netsuite_refunds", refund),
        "memo": linked_target(env, "netsuite_credit_memos", memo),
    }
    adjustment = env.query(
        f"select invoice_id, amount from zuora.invoice_item_adjustments where id = '{zuora['memo']}'"
    ).to_dicts()
    if not adjustment:  # staged by the next run; the invoice it adjusts is the memo's
        env.run(FLOWS)
        adjustment = env.query(
            f"select invoice_id, amount from zuora.invoice_item_adjustments where id = '{zuora['memo']}'"
        ).to_dicts()
    accounts = {_account_of_invoice(env, p["zuora_id"]) for p in (plain, refunded)}
    accounts.add(_account_of_invoice(env, adjustment[0]["invoice_id"]))
    _agree(env, *accounts)
    owed = {p["zuora_id"]: _zuora(env, "invoices", p["zuora_id"])["balance"] for p in (plain, refunded)}

    delete_netsuite(env, "customerPayment", plain["payment_id"])
    delete_netsuite(env, "customerRefund", refund)  # NetSuite: the refund before its payment
    delete_netsuite(env, "customerPayment", refunded["payment_id"])
    delete_netsuite(env, "creditMemo", memo)
    env.run(FLOWS)

    assert _zuora(env, "payments", zuora["plain"])["status"] == "Canceled"
    assert _zuora(env, "refunds", zuora["refund"])["status"] == "Canceled"
    reopened = _zuora(env, "invoices", plain["zuora_id"])["balance"]
    assert reopened >= owed[plain["zuora_id"]] + plain["applied"] - 0.005  # (+ the adjustment, on the same invoice)
    with env.netsuite_client() as client:
        assert client.get("invoice", internal_id=plain["internal_id"])["amountRemaining"] == pytest.approx(reopened)
    with env.resources()["zuora"].get_client() as client:
        (row,) = [
            r
            for page in client.zoql(f"select Status from InvoiceItemAdjustment where Id = '{zuora['memo']}'")
            for r in page
        ]
    assert row["Status"] == "Canceled"
    # Zuora refuses to cancel a payment with a refund: the payment waited for its refund's cancel.
    assert _zuora(env, "payments", zuora["refunded"])["status"] == "Processed"
    waiting = env.plan("netsuite_payments").filter(pl.col("source_id") == refunded["payment_id"]).to_dicts()[0]
    assert waiting["action"] == "blocked" and "canceled first" in waiting["reason"]

    env.run(FLOWS)
    assert _zuora(env, "payments", zuora["refunded"])["status"] == "Canceled"
    assert env.query("select * from audit.manual_actions").is_empty()
    _agree(env, *accounts)
    before = env.write_calls()
    env.run(FLOWS)
    assert env.write_calls() == before


def test_a_payment_zuora_will_not_cancel_is_blocked_with_zuoras_reason(env):
    payment = add_netsuite_payment(env)
    env.run(FLOWS)
    zuora_payment = linked_target(env, "netsuite_payments", payment["payment_id"])
    account = _account_of_invoice(env, payment["zuora_id"])
    env.zuora_action_update("Account", Id=account, Status="Canceled")
    delete_netsuite(env, "customerPayment", payment["payment_id"])
    env.run(FLOWS)

    assert _zuora(env, "payments", zuora_payment)["status"] == "Processed"
    (action,) = env.query("select * from audit.manual_actions").to_dicts()
    assert (action["flow"], action["source_id"], action["target_system"], action["target_id"]) == (
        "netsuite_payments",
        payment["payment_id"],
        "zuora",
        zuora_payment,
    )
    assert "payment cancellation is not allowed" in action["error_message"]
    before = env.write_calls()
    env.run(FLOWS)  # refused once, not re-sent unchanged: the plan of this run blocks it
    assert env.write_calls() == before
    plan = env.plan("netsuite_payments").filter(pl.col("source_id") == payment["payment_id"]).to_dicts()[0]
    assert plan["action"] == "blocked" and "zuora refused to reverse" in plan["reason"]

    env.zuora_action_update("Account", Id=account, Status="Active")  # reactivated, as Zuora asks
    with env.warehouse.connect() as con:
        bookkeeping.requeue(con, "netsuite_payments", [payment["payment_id"]])
    env.run(FLOWS)
    assert _zuora(env, "payments", zuora_payment)["status"] == "Canceled"
    assert env.query("select * from audit.manual_actions").is_empty()
