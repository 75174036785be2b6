"""payments and refunds end to end, both directions, through both sandboxes over real sockets.

Assertions read NetSuite (SuiteTalk), Zuora (REST), the sandboxes' own write counters or
zsync's tables; nothing is stubbed.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from zsync_assets.engine.flow import WriteBack
from zsync_assets.engine.sink import LinkNotice
from zsync_assets.sandbox import defaults
from zsync_assets.targets.zuora import STATUS_OK, ZuoraSink
from zsync_assets_tests.fixtures.settlements import (
    add_netsuite_payment,
    add_netsuite_refund,
    netsuite_counts,
    zuora_counts,
)

ZUORA_TO_NETSUITE = ["customers", "items", "invoices", "payments", "refunds"]
# The flows payments and refunds take both ways (not the memo or adjustment flows of either tenant).
BOTH_WAYS = [*ZUORA_TO_NETSUITE, "netsuite_payments", "netsuite_refunds"]
SETTINGS = {"default_tax_item": "CA State Tax"}  # every seeded tax code posts somewhere


def _links(env, flow: str) -> dict[str, str]:
    return dict(env.links(flow).select("source_id", "target_id").iter_rows())


def _failures(env, *flows: str) -> list[dict]:
    names = ", ".join(f"'{f}'" for f in flows)
    return env.query(
        f"select flow, source_id, error_code, message from zsync.push_log where flow in ({names}) and status = 'failed'"
    ).to_dicts()


def _netsuite_by_external_id(env, record_type: str, flow: str, ids) -> dict[str, dict]:
    with env.netsuite_client() as client:
        records = client.get_list(record_type, external_ids=[f"zsync:{flow}:{i}" for i in ids])
    return {r["externalId"].rsplit(":", 1)[1]: r for r in records}


def _applied(record: dict) -> dict[int, float]:
    return {
        int(line["doc"]): round(line["amount"], 2)
        for line in (record.get("applyList") or {}).get("apply", [])
        if line.get("apply")
    }


@pytest.fixture
def env(make_sync_env):
    return make_sync_env(**SETTINGS)


def test_zuora_payments_and_refunds_land_applied_like_zuora_and_a_rerun_sends_nothing(env):
    env.run(ZUORA_TO_NETSUITE)
    assert _failures(env, "payments", "refunds") == []
    payments = _links(env, "payments")
    invoices = _links(env, "invoices")
    assert len(payments) >= 10

    # NetSuite applies each payment exactly as Zuora's payment applications do.
    applications = env.query("select payment_id, invoice_id, apply_amount from zuora.payment_applications")
    expected: dict[str, dict[int, float]] = {}
    for payment_id, invoice_id, amount in applications.iter_rows():
        if payment_id in payments:
            expected.setdefault(payment_id, {})[int(invoices[invoice_id])] = round(amount, 2)
    in_netsuite = _netsuite_by_external_id(env, "customerPayment", "payments", payments)
    assert {p: _applied(r) for p, r in in_netsuite.items()} == {p: expected.get(p, {}) for p in payments}
    zuora_payments = {r["id"]: r for r in env.zuora_records("payments")}
    for payment_id, record in in_netsuite.items():
        assert record["payment"] == pytest.approx(zuora_payments[payment_id]["amount"])
        assert record["unapplied"] == pytest.approx(  # what Zuora left unapplied (then refunded) stays so
            zuora_payments[payment_id]["unappliedAmount"]
            + zuora_payments[payment_id]["refundAmount"]
            - sum(r["applyAmount"] for r in env.zuora_records("refund-applications", paymentId=payment_id)),
            abs=0.005,
        )
        assert record["customFieldList"]["custbody_zsync_origin"] == "ZUORA"
        assert zuora_payments[payment_id]["IntegrationId__NS"] == record["internalId"]
        assert zuora_payments[payment_id]["IntegrationStatus__NS"] == STATUS_OK

    # Fully and partially paid invoices owe the same in both systems.
    paid = env.query(
        "select id, balance, amount from zuora.invoices where status = 'Posted' and payment_amount > 0 "
        "and coalesce(adjustment_amount, 0) = 0"
    )
    assert paid.filter(pl.col("balance") > 0).height >= 1 and paid.filter(pl.col("balance") == 0).height >= 1
    with env.netsuite_client() as client:
        for invoice_id, balance, _ in paid.filter(pl.col("id").is_in(list(invoices))).iter_rows():
            assert client.get("invoice", internal_id=invoices[invoice_id])["amountRemaining"] == pytest.approx(balance)

    # Each refund lands against the NetSuite payment of the Zuora payment it refunds.
    refunds = _links(env, "refunds")
    assert refunds, env.plan("refunds").select("source_id", "action", "reason").to_dicts()
    for refund_id, record in _netsuite_by_external_id(env, "customerRefund", "refunds", refunds).items():
        (application,) = env.zuora_records("refund-applications", refundId=refund_id)
        assert _applied(record) == {int(payments[application["paymentId"]]): round(application["applyAmount"], 2)}

    before = env.write_calls()
    env.run(ZUORA_TO_NETSUITE)
    assert env.write_calls() == before
    for flow in ("payments", "refunds"):
        assert env.plan_counts(flow)["create"] == env.plan_counts(flow)["update"] == 0


def _calls(env, before: dict[str, int]) -> dict[str, int]:
    return {route: n - before.get(route, 0) for route, n in env.zuora.stats().items() if n - before.get(route, 0)}


@pytest.mark.parametrize("settlement", [False, True])
def test_netsuite_payment_and_refund_land_in_zuora_once_and_never_echo_back(make_sync_env, settlement):
    """Through the routes the tenant has: Zuora's v1 payment routes exist only with Invoice
    Settlement (the sandbox refuses them without it), so without it the payment and the refund
    are created by action calls, the payment with the configured payment method."""
    env = make_sync_env(payments_ns_to_zuora=True, invoice_settlement=settlement, **SETTINGS)
    create_payment, create_refund = (
        ("POST /v1/payments", "POST /v1/payments/{payment_key}/refunds")
        if settlement
        else ("POST /v1/action/create", "POST /v1/action/create")
    )
    env.run(BOTH_WAYS)
    assert _failures(env, "payments", "netsuite_payments", "refunds", "netsuite_refunds") == []
    # Nothing zsync created in NetSuite went back to Zuora.
    assert env.plan_counts("netsuite_payments")["create"] == 0

    entered = add_netsuite_payment(env, unapplied=10.0)
    zuora_before, netsuite_before = zuora_counts(env), netsuite_counts(env)
    calls_before = env.zuora.stats()
    env.run(BOTH_WAYS)
    assert _calls(env, calls_before).get(create_payment) == 1
    (payment,) = env.zuora_records("payments", IntegrationId__NS=entered["payment_id"])
    assert payment["Origin__NS"] == "NetSuite"
    assert payment["paymentMethodId"] == defaults.EXTERNAL_PAYMENT_METHODS["Other"]
    assert payment["amount"] == pytest.approx(entered["applied"] + 10.0)
    (application,) = env.zuora_records("payment-applications", paymentId=payment["id"])
    assert (application["invoiceId"], application["applyAmount"]) == (entered["zuora_id"], entered["applied"])
    assert zuora_counts(env) == {**zuora_before, "payments": zuora_before["payments"] + 1}
    with env.netsuite_client() as client:
        ns_payment = client.get("customerPayment", internal_id=entered["payment_id"])
    assert ns_payment["customFieldList"]["custbody_zsync_zuora_id"] == payment["id"]

    # The Zuora payment zsync made is staged back: never planned as a new payment for NetSuite.
    env.run(BOTH_WAYS)
    assert netsuite_counts(env) == netsuite_before
    row = env.plan("payments").filter(pl.col("source_id") == payment["id"]).row(0, named=True)
    assert (row["action"], row["reason"]) == ("skip", "came from NetSuite: not sent back")

    refund_id = add_netsuite_refund(env, entered["payment_id"], 10.0)
    calls_before = env.zuora.stats()
    env.run(BOTH_WAYS)
    assert _calls(env, calls_before).get(create_refund) == 1
    (refund,) = env.zuora_records("refunds", IntegrationId__NS=refund_id)
    assert (refund["amount"], refund["Origin__NS"]) == (10.0, "NetSuite")
    (refund_application,) = env.zuora_records("refund-applications", refundId=refund["id"])
    assert refund_application["paymentId"] == payment["id"]

    counts = netsuite_counts(env), zuora_counts(env)
    before = env.write_calls()
    env.run(BOTH_WAYS)
    assert (netsuite_counts(env), zuora_counts(env)) == counts
    assert env.write_calls() == before
    row = env.plan("refunds").filter(pl.col("source_id") == refund["id"]).row(0, named=True)
    assert (row["action"], row["reason"]) == ("skip", "came from NetSuite: not sent back")


@pytest.mark.parametrize("settlement", [False, True])
@pytest.mark.parametrize(
    ("record_type", "records", "put"),
    [("Payment", "payments", "PUT /v1/payments/{payment_key}"), ("Refund", "refunds", "PUT /v1/refunds/{refund_key}")],
)
def test_payment_and_refund_write_backs_follow_the_tenants_invoice_settlement(
    make_sync_env, settlement, record_type, records, put
):
    """Zuora's v1 `PUT`s of payments and refunds exist only with Invoice Settlement (the sandbox
    refuses them without it), and its action calls do not support that feature: with
    `invoice_settlement` on, each record is told by its own `PUT`; without, 50 a call through
    `/v1/action/update`."""
    env = make_sync_env(invoice_settlement=settlement, **SETTINGS)
    ids = [r["id"] for r in env.zuora_records(records)]
    assert ids, f"the seed has no {records}"
    notices = [LinkNotice(i, str(8000 + n), True) for n, i in enumerate(ids)]
    before = env.zuora.stats()

    with env.resources()["zuora"].get_client() as client:
        outcomes = ZuoraSink(client, invoice_settlement=settlement).write_back(WriteBack(record_type), notices)

    assert all(o.ok for o in outcomes)
    after = env.zuora.stats()
    calls = {route: after.get(route, 0) - before.get(route, 0) for route in after}
    expected = (
        {put: len(ids), "POST /v1/action/update": 0}
        if settlement
        else {put: 0, "POST /v1/action/update": math.ceil(len(ids) / 50)}
    )
    assert {route: calls.get(route, 0) for route in expected} == expected
    told = {r["id"]: r["IntegrationId__NS"] for r in env.zuora_records(records)}
    assert told == {n.source_id: n.target_id for n in notices}


def test_payments_an_action_call_refuses_are_told_by_their_put(make_sync_env):
    """A tenant that has Invoice Settlement, configured as without it, refuses the action calls on
    its payments (Zuora's action calls do not support the feature): each payment is then told by
    its own `PUT`, in the same run, instead of staying unwritten-back on every run."""
    env = make_sync_env(zuora_settings={"invoice_settlement": True}, **SETTINGS)
    payments = [p["id"] for p in env.zuora_records("payments")]
    assert len(payments) > 1
    notices = [LinkNotice(p, str(8100 + i), True) for i, p in enumerate(payments)]
    env.zuora.set_faults([{"route": "POST /v1/action/update", "error_rate": 1.0, "error_status": 400}])
    before = env.zuora.stats()

    with env.resources()["zuora"].get_client() as client:
        outcomes = ZuoraSink(client, invoice_settlement=False).write_back(WriteBack("Payment"), notices)

    assert all(o.ok for o in outcomes), [o.failure for o in outcomes if not o.ok]
    after = env.zuora.stats()
    assert after.get("POST /v1/action/update", 0) - before.get("POST /v1/action/update", 0) == math.ceil(
        len(payments) / 50
    )
    assert after["PUT /v1/payments/{payment_key}"] - before.get("PUT /v1/payments/{payment_key}", 0) == len(payments)
    told = {r["id"]: r["IntegrationId__NS"] for r in env.zuora_records("payments")}
    assert told == {n.source_id: n.target_id for n in notices}
