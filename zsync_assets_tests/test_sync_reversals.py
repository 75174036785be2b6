"""Zuora documents canceled or deleted after they synced: their NetSuite counterparts are deleted.

End to end through both sandboxes: a user cancels (or cancels and deletes) a synced document in
Zuora with Zuora's own routes; the next run reverses its NetSuite counterpart, and the customer's
balance is the same in both systems again. Records are chosen by their properties.
(NetSuite -> Zuora: test_sync_reversals_to_zuora.py; memos: test_sync_memo_reversals.py.)
"""

from __future__ import annotations

import polars as pl
import pytest

from zsync_assets.cli.users import delete_zuora, pay_in_zuora, refund_in_zuora
from zsync_assets.engine import bookkeeping
from zsync_assets_tests.fixtures.reversals import (
    balances,
    cancel_zuora,
    linked_target,
    reverse_rows,
)
from zsync_assets_tests.fixtures.sync_env import crash_after_write

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
           where p.status = 'Processed' and c.status = 'Active' group by all having count(*) = 1 order by p.id"""
    )
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
        (payment["id"], "started"),
        (payment["id"], "succeeded"),
    ]
    link = env.links("payments").filter(pl.col("source_id") == payment["id"]).to_dicts()[0]
    assert link["reversed_at"] is not None and link["reversal"] == "payment was canceled in Zuora"
    status = env.query(
        f"select status from audit.sync_status where flow = 'payments' and source_id = '{payment['id']}'"
    )
    assert status["status"].item() == "reversed"

    # Deleting the canceled payment in Zuora afterwards changes nothing more, and a re-run sends nothing.
    delete_zuora(env, "payments", payment["id"])
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
        payments = [
            r
            for page in client.search(
                "transaction", {"type": {"operator": "anyOf", "searchValue": ["_customerPayment"]}}
            )
            for r in page
            if str(r["customer"]["internalId"]) == str(_customer(env, payment["account_id"]))
        ]
    on_invoice = [
        p
        for p in payments
        if any(
            str(line["doc"]) == netsuite_invoice and line.get("apply")
            for line in (p.get("applyList") or {}).get("apply", [])
        )
    ]
    assert [(p["internalId"], p["payment"]) for p in on_invoice] == [(linked_target(env, "payments", new), amount)]
    (line,) = [ln for ln in on_invoice[0]["applyList"]["apply"] if ln.get("apply")]
    assert line["amount"] == pytest.approx(amount)
    zuora, netsuite = balances(env, payment["account_id"])
    assert zuora == pytest.approx(netsuite)
    assert _writes_of_a_rerun(env) == {"zuora": 0, "netsuite": 0}


def _refund_of_an_unapplied_payment(env) -> str:
    """A user takes a payment on account without applying it, then refunds it (External)."""
    account = next(
        a
        for a in env.zuora_records("accounts")
        if a["status"] == "Active"
        and a.get("SynctoNetSuite__NS") != "No"
        and not a.get("parentId")
        and a["currency"] == "USD"
    )
    return refund_in_zuora(env, pay_in_zuora(env, account, 30), 30)


def _customer(env, account_id: str) -> str:
    return linked_target(env, "customers", account_id)


def _pay(env, account: dict, invoice_id: str, amount: float) -> str:
    return pay_in_zuora(env, account, amount, invoice_id)


def test_refunds_canceled_or_deleted_go_first_and_their_payment_follows(make_sync_env):
    env = make_sync_env(**SETTINGS)
    _refund_of_an_unapplied_payment(env)  # the seed's second refund is on a payment that does not sync
    env.run(FLOWS)
    refunds = env.query("""select r.id, r.account_id, a.payment_id from zuora.refunds r
                           join zuora.refund_applications a on a.refund_id = r.id
                           where r.status = 'Processed' and a.payment_id is not null order by r.id""").to_dicts()
    synced = set(env.links("refunds")["source_id"])
    assert len(synced) >= 2, env.plan("refunds").select("source_id", "action", "reason").to_dicts()
    canceled, deleted = [r for r in refunds if r["id"] in synced][:2]
    netsuite = {r["id"]: linked_target(env, "refunds", r["id"]) for r in (canceled, deleted)}
    payment = linked_target(env, "payments", canceled["payment_id"])
    unapplied = _netsuite(env, "customerPayment", linked_target(env, "payments", deleted["payment_id"]))["unapplied"]

    cancel_zuora(env, "refunds", canceled["id"])
    cancel_zuora(env, "payments", canceled["payment_id"])  # Zuora: its refund first, then the payment
    cancel_zuora(env, "refunds", deleted["id"], delete=True)  # zsync never sees this one Canceled
    env.run(FLOWS)

    assert _netsuite(env, "customerRefund", netsuite[canceled["id"]]) is None
    assert _netsuite(env, "customerRefund", netsuite[deleted["id"]]) is None
    refunded = env.zuora_records("payments", id=deleted["payment_id"])[0]
    after = _netsuite(env, "customerPayment", linked_target(env, "payments", deleted["payment_id"]))
    assert after["unapplied"] > unapplied and after["unapplied"] == pytest.approx(refunded["unappliedAmount"])
    # The payment's own reversal waited for its refund's: NetSuite refuses to delete a payment a
    # refund is applied to, so it goes on the next run, not as a refused (manual) reversal.
    waiting = env.plan("payments").filter(pl.col("source_id") == canceled["payment_id"]).to_dicts()[0]
    assert waiting["action"] == "blocked" and "still stand in the target" in waiting["reason"]
    assert _netsuite(env, "customerPayment", payment) is not None

    env.run(FLOWS)
    assert _netsuite(env, "customerPayment", payment) is None
    assert reverse_rows(env, "payments", status="failed") == []
    for account in {canceled["account_id"], deleted["account_id"]}:
        zuora, netsuite_balance = balances(env, account)
        assert zuora == pytest.approx(netsuite_balance)
    assert _writes_of_a_rerun(env) == {"zuora": 0, "netsuite": 0}


def test_a_canceled_adjustment_takes_its_netsuite_credit_memo_with_it(env):
    adjustments = env.query(
        "select id, invoice_id, account_id, amount from zuora.invoice_item_adjustments "
        "where status = 'Processed' and type = 'Credit' order by id"
    ).to_dicts()
    synced = set(env.links("adjustments")["source_id"])
    adjustment = next(a for a in adjustments if a["id"] in synced)
    memo = linked_target(env, "adjustments", adjustment["id"])
    netsuite_invoice = linked_target(env, "invoices", adjustment["invoice_id"])
    owed = _netsuite(env, "invoice", netsuite_invoice)["amountRemaining"]

    env.zuora_action_update("InvoiceItemAdjustment", Id=adjustment["id"], Status="Canceled")
    env.run(FLOWS)

    assert _netsuite(env, "creditMemo", memo) is None
    assert _netsuite(env, "invoice", netsuite_invoice)["amountRemaining"] == pytest.approx(owed + adjustment["amount"])
    zuora, netsuite = balances(env, adjustment["account_id"])
    assert zuora == pytest.approx(netsuite)
    assert _writes_of_a_rerun(env) == {"zuora": 0, "netsuite": 0}


def test_a_payment_netsuite_will_not_delete_waits_in_manual_actions_until_requeued(env):
    payment = _payment_on_one_invoice(env)
    netsuite_payment = linked_target(env, "payments", payment["id"])
    tran_date = str(_netsuite(env, "customerPayment", netsuite_payment)["tranDate"])[:10]
    env.netsuite.close_periods(tran_date)  # the accountants closed the payment's period
    cancel_zuora(env, "payments", payment["id"])
    env.run(FLOWS)

    assert _netsuite(env, "customerPayment", netsuite_payment) is not None
    (action,) = env.query("select * from audit.manual_actions").to_dicts()
    assert (action["flow"], action["source_id"], action["target_id"], action["error_code"]) == (
        "payments",
        payment["id"],
        netsuite_payment,
        "CLOSED_TRAN_PRD",
    )
    assert "closed accounting period" in action["error_message"]
    assert f"zsync requeue payments {payment['id']}" in action["next_step"]
    assert _writes_of_a_rerun(env)["netsuite"] == 0  # refused once, not re-sent unchanged
    plan = env.plan("payments").filter(pl.col("source_id") == payment["id"]).to_dicts()[0]
    assert plan["action"] == "blocked" and "refused to reverse" in plan["reason"]

    env.netsuite.close_periods(None)  # reopened for the correction
    with env.warehouse.connect() as con:
        bookkeeping.requeue(con, "payments", [payment["id"]])
    env.run(FLOWS)
    assert _netsuite(env, "customerPayment", netsuite_payment) is None
    assert env.query("select * from audit.manual_actions").is_empty()
    zuora, netsuite = balances(env, payment["account_id"])
    assert zuora == pytest.approx(netsuite)


def test_a_reversal_cut_off_by_a_crash_is_sent_again_and_counts_as_done(env):
    payment = _payment_on_one_invoice(env)
    netsuite_payment = linked_target(env, "payments", payment["id"])
    cancel_zuora(env, "payments", payment["id"])
    crashed = env.run(FLOWS, sinks=crash_after_write("netsuite"), raise_on_error=False)

    assert not crashed.success
    assert _netsuite(env, "customerPayment", netsuite_payment) is None  # NetSuite deleted it; zsync never heard
    assert [r["status"] for r in reverse_rows(env, "payments")] == ["started"]
    env.run(FLOWS)  # sent again: NetSuite answers RCRD_DSNT_EXIST, which is done
    assert [r["status"] for r in reverse_rows(env, "payments")] == ["started", "started", "succeeded"]
    assert env.links("payments").filter(pl.col("source_id") == payment["id"])["reversed_at"].item() is not None
    zuora, netsuite = balances(env, payment["account_id"])
    assert zuora == pytest.approx(netsuite)
    assert _writes_of_a_rerun(env) == {"zuora": 0, "netsuite": 0}
