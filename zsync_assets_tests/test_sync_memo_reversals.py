"""Zuora credit and debit memos (Invoice Settlement) unposted, canceled or deleted after they synced.

Zuora cancels only a Draft memo, so a user unposts a synced memo, then cancels it (and may delete
it then). The memo's NetSuite counterpart (a credit memo, or an invoice marked DEBIT_MEMO) is
deleted, and the account owes the same in both systems again.
"""

from __future__ import annotations

import polars as pl
import pytest

from zsync_assets_tests.fixtures.memos import add_zuora_memo
from zsync_assets_tests.fixtures.reversals import balances, cancel_zuora, linked_target, zuora_call

FLOWS = ["customers", "items", "invoices", "debit_memos", "credit_memos", "payments", "refunds"]
SETTINGS = {"invoice_settlement": True, "default_tax_item": "CA State Tax"}


def _plain_account(env) -> str:
    """A synced Active account with no invoice item adjustments (Invoice Settlement has no flow for
    the seed's older adjustments, so such an account owes different amounts from the start)."""
    with env.resources()["zuora"].get_client() as client:  # adjustments are ZOQL-only, and not staged here
        adjusted = {
            row["AccountId"] for page in client.zoql("select AccountId from InvoiceItemAdjustment") for row in page
        }
    synced = set(env.links("customers")["source_id"])
    accounts = env.query("select id from zuora.accounts where status = 'Active' order by id")["id"]
    return next(a for a in accounts if a in synced and a not in adjusted)


def _netsuite(env, record_type: str, internal_id: str) -> dict | None:
    with env.netsuite_client() as client:
        return client.get(record_type, internal_id=internal_id)


def test_unposted_canceled_and_deleted_memos_leave_netsuite_and_balances_agree(make_sync_env):
    env = make_sync_env(**SETTINGS)
    env.run(FLOWS)
    account = _plain_account(env)
    memos = {
        (kind, fate): add_zuora_memo(env, kind, account=account, amount=amount)
        for kind, fate, amount in (
            ("credit", "canceled", 30.0),
            ("credit", "deleted", 20.0),
            ("debit", "canceled", 40.0),
            ("debit", "unposted", 15.0),
        )
    }
    env.run(FLOWS)
    netsuite = {key: linked_target(env, f"{key[0]}_memos", memo) for key, memo in memos.items()}
    zuora, in_netsuite = balances(env, account)
    assert zuora == pytest.approx(in_netsuite)

    cancel_zuora(env, "credit-memos", memos["credit", "canceled"])
    cancel_zuora(env, "credit-memos", memos["credit", "deleted"], delete=True)
    cancel_zuora(env, "debit-memos", memos["debit", "canceled"])
    zuora_call(env, "PUT", f"/v1/debit-memos/{memos['debit', 'unposted']}/unpost")  # a Draft counts nowhere
    env.run(FLOWS)

    assert _netsuite(env, "creditMemo", netsuite["credit", "canceled"]) is None
    assert _netsuite(env, "creditMemo", netsuite["credit", "deleted"]) is None
    assert _netsuite(env, "invoice", netsuite["debit", "canceled"]) is None
    assert _netsuite(env, "invoice", netsuite["debit", "unposted"]) is None
    reasons = dict(env.query("select source_id, reversal from zsync.links where reversed_at is not null").iter_rows())
    assert reasons == {
        memos["credit", "canceled"]: "credit memo was canceled in Zuora",
        memos["credit", "deleted"]: "credit memo was deleted in Zuora",
        memos["debit", "canceled"]: "debit memo was canceled in Zuora",
        memos["debit", "unposted"]: "debit memo was unposted in Zuora (back to Draft)",
    }
    zuora, in_netsuite = balances(env, account)
    assert zuora == pytest.approx(in_netsuite)

    # Posted again, the unposted debit memo is a new NetSuite invoice; a re-run then sends nothing.
    zuora_call(env, "PUT", f"/v1/debit-memos/{memos['debit', 'unposted']}/post")
    env.run(FLOWS)
    again = linked_target(env, "debit_memos", memos["debit", "unposted"])
    assert again != netsuite["debit", "unposted"] and (_netsuite(env, "invoice", again) or {}).get(
        "total"
    ) == pytest.approx(15.0)
    assert (
        env.links("debit_memos").filter(pl.col("source_id") == memos["debit", "unposted"])["reversed_at"].item() is None
    )
    zuora, in_netsuite = balances(env, account)
    assert zuora == pytest.approx(in_netsuite)
    before = env.write_calls()
    env.run(FLOWS)
    assert env.write_calls() == before
