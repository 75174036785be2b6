"""Adjustments and memos end to end through both sandboxes over real sockets.

Assertions read NetSuite (SuiteTalk), Zuora (REST / ZOQL), the sandboxes' own write counters
or zsync's tables; nothing is stubbed.
"""

from __future__ import annotations

import polars as pl
import pytest

from zsync_assets_tests.fixtures.memos import (
    add_zuora_memo,
    add_zuora_memos,
    apply_zuora_credit_memo,
    netsuite_credit_memo,
    open_synced_invoice,
    zuora_adjustment,
)
from zsync_assets_tests.fixtures.sync_env import crash_after_write

FLOWS = ["customers", "items", "invoices", "adjustments", "netsuite_credit_memos"]
SETTLEMENT_FLOWS = ["customers", "items", "invoices", "credit_memos", "debit_memos"]
TAX = {"default_tax_item": "CA State Tax"}  # the sandbox NetSuite's tax item for tax lines


def _links(env, flow: str) -> dict[str, str]:
    return dict(env.links(flow).select("source_id", "target_id").iter_rows())


def _plan_row(env, flow: str, source_id: str) -> dict:
    return env.plan(flow).filter(pl.col("source_id") == source_id).row(0, named=True)


def _netsuite(env, record_type: str, internal_id: str) -> dict:
    with env.netsuite_client() as client:
        return client.get(record_type, internal_id=internal_id)


def _zuora_invoices(env) -> dict[str, dict]:
    return {r["id"]: r for r in env.zuora_records("invoices")}


def _zuora_adjustments(env, **equals: str) -> list[dict]:
    where = " and ".join(f"{k} = '{v}'" for k, v in equals.items())
    with env.resources()["zuora"].get_client() as client:
        query = "select Id, InvoiceId, SourceId, Amount, Type, IntegrationId__NS from InvoiceItemAdjustment"
        return [r for page in client.zoql(query + (f" where {where}" if where else "")) for r in page]


def _no_failures(env, flow: str) -> None:
    failures = env.query(
        f"select source_id, error_code, message from zsync.push_log where flow = '{flow}' and status = 'failed'"
    )
    assert failures.is_empty(), failures.to_dicts()


@pytest.fixture
def env(make_sync_env):
    return make_sync_env(zuora_size=6, netsuite_size=3, **TAX)


def test_zuora_adjustments_land_as_credit_memos_applied_to_the_invoice_and_balances_agree(env):
    env.run(FLOWS[:3])  # the invoices first: adjustments are arranged on synced ones
    synced = _links(env, "invoices")
    unpaid = sorted(
        (
            i
            for i in _zuora_invoices(env).values()
            if i["id"] in synced and i["status"] == "Posted" and i["paymentAmount"] == 0 and i["amount"] > 100
        ),
        key=lambda i: i["invoiceNumber"],
    )
    credited, charged = unpaid[0], unpaid[1]
    credit_id = zuora_adjustment(env, credited, "Credit", 40.0)
    charge_id = zuora_adjustment(env, charged, "Charge", 15.0)

    env.run(FLOWS)

    _no_failures(env, "adjustments")
    plan = env.plan("adjustments")
    created = set(plan.filter(pl.col("action") == "create")["source_id"])
    assert {credit_id, charge_id} <= created and len(created) >= 3, plan.select("source_id", "action", "reason")
    adjustments, invoices = _links(env, "adjustments"), _links(env, "invoices")
    zuora = _zuora_invoices(env)
    for adj in _zuora_adjustments(env):
        if adj["Type"] != "Credit" or adj["Id"] not in adjustments:
            continue
        memo = _netsuite(env, "creditMemo", adjustments[adj["Id"]])
        (application,) = memo["applyList"]["apply"]
        assert str(application["doc"]) == invoices[adj["InvoiceId"]] and application["amount"] == adj["Amount"]
        assert memo["customFieldList"]["custbody_zsync_zuora_type"] == "INVOICE_ITEM_ADJUSTMENT"
        assert memo["itemList"]["item"][0]["customFieldList"]["custcol_zsync_zuora_item_id"] == adj["SourceId"]
        # Payments are not synced in this run: NetSuite still owes what Zuora's payments paid.
        invoice = zuora[adj["InvoiceId"]]
        ns_invoice = _netsuite(env, "invoice", invoices[adj["InvoiceId"]])
        assert ns_invoice["amountRemaining"] == pytest.approx(invoice["balance"] + invoice["paymentAmount"])
    assert _netsuite(env, "invoice", invoices[credited["id"]])["amountRemaining"] == pytest.approx(
        zuora[credited["id"]]["balance"]
    )
    # A Charge adjustment raises what the customer owes: a NetSuite invoice of its own.
    charge_invoice = _netsuite(env, "invoice", adjustments[charge_id])
    assert charge_invoice["customFieldList"]["custbody_zsync_zuora_type"] == "INVOICE_ITEM_ADJUSTMENT"
    owed = charge_invoice["amountRemaining"] + _netsuite(env, "invoice", invoices[charged["id"]])["amountRemaining"]
    assert owed == pytest.approx(zuora[charged["id"]]["balance"])
    # Write-back: the Zuora adjustment knows its NetSuite document.
    (written_back,) = _zuora_adjustments(env, Id=credit_id)
    assert written_back["IntegrationId__NS"] == adjustments[credit_id]

    before = env.write_calls()
    env.run(FLOWS)
    assert env.write_calls() == before
    counts = env.plan_counts("adjustments")
    assert counts["create"] == counts["update"] == 0, counts


def test_netsuite_credit_memo_on_one_invoice_becomes_one_zuora_adjustment_and_never_echoes(env):
    env.run(FLOWS)
    invoices, zuora = _links(env, "invoices"), _zuora_invoices(env)
    by_account: dict[str, list[dict]] = {}
    for zuora_id in sorted(invoices):
        if zuora.get(zuora_id, {}).get("status") == "Posted":
            by_account.setdefault(zuora[zuora_id]["accountId"], []).append(zuora[zuora_id])
    # One invoice Zuora can still credit 25 on, and another of the same customer.
    first, second = next(
        (i["id"], next(o["id"] for o in same if o is not i))
        for same in by_account.values()
        if len(same) >= 2
        for i in same
        if i["balance"] >= 50
    )
    first_ns = _netsuite(env, "invoice", invoices[first])
    customer, item = first_ns["entity"]["internalId"], first_ns["itemList"]["item"][0]["item"]["internalId"]
    single = netsuite_credit_memo(env, [(invoices[first], 25.0)], item, customer)
    double = netsuite_credit_memo(env, [(invoices[first], 10.0), (invoices[second], 10.0)], item, customer)

    # The process dies right after Zuora made the adjustment: zsync never heard the answer.
    assert not env.run(FLOWS, sinks=crash_after_write("zuora"), raise_on_error=False).success
    assert len(_zuora_adjustments(env, IntegrationId__NS=single)) == 1
    assert single not in _links(env, "netsuite_credit_memos")

    env.run(FLOWS)  # found by IntegrationId__NS (ZOQL) before anything is re-sent

    _no_failures(env, "netsuite_credit_memos")
    assert _plan_row(env, "netsuite_credit_memos", single)["action"] == "create"
    blocked = _plan_row(env, "netsuite_credit_memos", double)
    assert blocked["action"] == "blocked" and "applied to 2 invoices" in blocked["reason"], blocked
    (adjustment,) = _zuora_adjustments(env, IntegrationId__NS=single)
    # Meanwhile the adjustments flow saw that adjustment, unlinked yet, and knew it came from NetSuite.
    assert "IntegrationId__NS" in _plan_row(env, "adjustments", adjustment["Id"])["reason"]
    assert (adjustment["InvoiceId"], adjustment["Type"], adjustment["Amount"]) == (first, "Credit", 25.0)
    assert _links(env, "netsuite_credit_memos") == {single: adjustment["Id"]}
    assert _netsuite(env, "creditMemo", single)["customFieldList"]["custbody_zsync_zuora_id"] == adjustment["Id"]
    # Both sides took the 25 off that invoice (the blocked memo's 10 stays NetSuite-only, and
    # payments are not synced in this run, so NetSuite still owes what Zuora's payments paid).
    remaining = _netsuite(env, "invoice", invoices[first])["amountRemaining"]
    after = _zuora_invoices(env)[first]
    assert after["balance"] == pytest.approx(zuora[first]["balance"] - 25.0)
    assert remaining + 10.0 == pytest.approx(after["balance"] + after["paymentAmount"])

    before = env.write_calls()
    env.run(FLOWS)
    assert env.write_calls() == before
    echo = _plan_row(env, "adjustments", adjustment["Id"])
    assert echo["action"] == "skip" and single in echo["reason"], echo
    assert len(_zuora_adjustments(env, IntegrationId__NS=single)) == 1


def test_with_invoice_settlement_posted_credit_and_debit_memos_land_and_drafts_are_skipped(make_sync_env):
    env = make_sync_env(zuora_size=6, netsuite_size=3, invoice_settlement=True, **TAX)
    assert not {"adjustments", "netsuite_credit_memos"} & {f.name for f in env.flows}
    env.run(SETTLEMENT_FLOWS[:3])
    add_zuora_memos(env, "credit")
    add_zuora_memos(env, "debit")
    env.run(SETTLEMENT_FLOWS)

    for flow, record_type, zuora_type in (
        ("credit_memos", "creditMemo", "CREDIT_MEMO"),
        ("debit_memos", "invoice", "DEBIT_MEMO"),
    ):
        _no_failures(env, flow)
        memos = {r["id"]: r for r in env.zuora_records(flow)}
        plan = env.plan(flow)
        posted = {i for i, m in memos.items() if m["status"] == "Posted"}
        created = set(plan.filter(pl.col("action") == "create")["source_id"])
        # Seeded posted memos of accounts the customers flow does not sync wait, naming the account.
        assert created and created == posted - set(plan.filter(pl.col("action") == "blocked")["source_id"]), (
            plan.select("source_id", "action", "reason").to_dicts()
        )
        assert all("not synced yet (flow customers)" in r for r in plan.filter(pl.col("action") == "blocked")["reason"])
        for memo_id in set(memos) - posted:
            row = _plan_row(env, flow, memo_id)
            assert row["action"] == "skip" and row["reason"] == f"{flow[:-1].replace('_', ' ')} is Draft", row
        for memo_id, ns_id in _links(env, flow).items():
            record = _netsuite(env, record_type, ns_id)
            assert record["customFieldList"]["custbody_zsync_zuora_type"] == zuora_type
            assert record["total"] == pytest.approx(memos[memo_id]["totalAmount"])
            assert memos[memo_id]["IntegrationId__NS"] == ns_id  # written back

    before = env.write_calls()
    env.run(SETTLEMENT_FLOWS)
    assert env.write_calls() == before


def _applications(env, memo_id: str) -> dict[str, float]:
    """What Object Query says a Zuora credit memo was applied to: document id -> amount."""
    rows = env.zuora_records("credit-memo-applications", creditMemoId=memo_id)
    return {r.get("invoiceId") or r["debitMemoId"]: r["amount"] for r in rows}


def test_credit_memos_applied_in_zuora_are_applied_in_netsuite_also_when_applied_after_the_sync(make_sync_env):
    env = make_sync_env(zuora_size=6, netsuite_size=3, invoice_settlement=True, **TAX)
    env.run(SETTLEMENT_FLOWS[:3])
    invoice = open_synced_invoice(env, 40.0)
    account = invoice["accountId"]
    debit = add_zuora_memo(env, "debit", amount=25.0, account=account)
    applied = add_zuora_memo(env, "credit", amount=30.0, account=account)
    later = add_zuora_memo(env, "credit", amount=20.0, account=account)
    memo = apply_zuora_credit_memo(env, applied, invoices=[(invoice["id"], 10.0)], debit_memos=[(debit, 5.0)])
    assert (memo["appliedAmount"], memo["unappliedAmount"]) == (15.0, memo["amount"] - 15.0)
    assert _applications(env, applied) == {invoice["id"]: 10.0, debit: 5.0}
    env.run(SETTLEMENT_FLOWS)

    for flow in ("credit_memos", "debit_memos"):
        _no_failures(env, flow)
    credit, invoices, debits = _links(env, "credit_memos"), _links(env, "invoices"), _links(env, "debit_memos")
    ns_memo = _netsuite(env, "creditMemo", credit[applied])
    assert sorted((str(a["doc"]), a["amount"]) for a in ns_memo["applyList"]["apply"]) == sorted(
        [(invoices[invoice["id"]], 10.0), (debits[debit], 5.0)]
    )
    assert ns_memo["amountRemaining"] == pytest.approx(memo["unappliedAmount"])
    assert _netsuite(env, "creditMemo", credit[later]).get("applyList") is None

    def balances_agree() -> None:
        # Payments are not synced in this run: NetSuite still owes what Zuora's payments paid.
        zuora_invoice = _zuora_invoices(env)[invoice["id"]]
        ns_invoice = _netsuite(env, "invoice", invoices[invoice["id"]])
        assert ns_invoice["amountRemaining"] == pytest.approx(zuora_invoice["balance"] + zuora_invoice["paymentAmount"])
        (zuora_debit,) = env.zuora_records("debit-memos", id=debit)
        assert _netsuite(env, "invoice", debits[debit])["amountRemaining"] == pytest.approx(zuora_debit["balance"])

    balances_agree()
    before = env.write_calls()
    env.run(SETTLEMENT_FLOWS)
    assert env.write_calls() == before

    # Applied in Zuora after it reached NetSuite: the NetSuite memo is updated, not re-created.
    apply_zuora_credit_memo(env, later, invoices=[(invoice["id"], 12.5)])
    env.run(SETTLEMENT_FLOWS)
    assert _plan_row(env, "credit_memos", later)["action"] == "update"
    (application,) = _netsuite(env, "creditMemo", credit[later])["applyList"]["apply"]
    assert (str(application["doc"]), application["amount"]) == (invoices[invoice["id"]], 12.5)
    assert _links(env, "credit_memos")[later] == credit[later]
    balances_agree()
    before = env.write_calls()
    env.run(SETTLEMENT_FLOWS)
    assert env.write_calls() == before
