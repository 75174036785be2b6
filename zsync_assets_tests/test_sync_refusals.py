"""Zuora's refusal reaches NetSuite: a record entered in NetSuite that Zuora rejects says why, on
the record itself (`custentity_zsync_status` / `custbody_zsync_status`), once per rejection,
and says `Synced <date>` once it lands. End to end through both sandboxes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import polars as pl

from zsync_assets_tests.fixtures.settlements import netsuite_counts

REFUSED = re.compile(
    r"^Not synced: Zuora refused it on (\d{4}-\d\d-\d\d \d\d:\d\d) UTC: \w+: (.+)$"
)  # a v1 code (digits) or a SaveResult one


def _status(env, record_type: str, internal_id: str, field: str) -> str:
    with env.netsuite_client() as client:
        status = client.get(record_type, internal_id=internal_id).get("customFieldList", {}).get(field)
    assert status is not None, f"{record_type} {internal_id} has no {field}"
    return status


def _refusal(status: str | None) -> str:
    """Zuora's message out of a refusal status, after checking the status is dated today (UTC)."""
    found = REFUSED.match(status or "")
    assert found, status
    assert found.group(1)[:10] == datetime.now(UTC).date().isoformat()
    return found.group(2)


def _failed(env, flow: str, source_id: str) -> dict:
    log = env.push_log(flow).filter((pl.col("source_id") == source_id) & (pl.col("status") == "failed"))
    assert log.height == 1, log.to_dicts()
    return log.row(0, named=True)


def test_a_customer_zuora_refuses_shows_zuoras_message_in_netsuite_until_it_syncs(make_sync_env):
    env = make_sync_env(netsuite_size=6, customer_master="netsuite")
    subsidiary = env.netsuite_records("subsidiary")[0]["internalId"]
    with env.netsuite_client() as client:
        # NetSuite has a currency the Zuora tenant never enabled.
        (krona,) = client.add_list("currency", [{"name": "Swedish Krona", "symbol": "SEK", "exchangeRate": 0.095}])
        (customer,) = client.add_list(
            "customer",
            [
                {
                    "entityId": "NS-SEK-1",
                    "companyName": "Nordic Kunde AB",
                    "subsidiary": {"internalId": subsidiary},
                    "currency": {"internalId": krona.internal_id},
                    "customFieldList": {"custentity_zsync_send_to_zuora": True},
                }
            ],
        )
    assert krona.ok and customer.ok
    env.run(["customers"])

    failed = _failed(env, "customers", customer.internal_id)
    assert failed["error_class"] == "data" and "SEK" in failed["message"]
    assert _refusal(_status(env, "customer", customer.internal_id, "custentity_zsync_status")) == failed["message"]
    assert not env.zuora_records("accounts", IntegrationId__NS=customer.internal_id)
    # The customers that did land say so.
    synced = env.links("customers")["source_id"].to_list()
    assert synced and all(_status(env, "customer", c, "custentity_zsync_status").startswith("Synced ") for c in synced)

    # Told once: the next run sends nothing to either system (the status write staged the customer again).
    before = env.write_calls()
    env.run(["customers"])
    assert env.write_calls() == before
    assert "SEK" in env.plan("customers").filter(pl.col("source_id") == customer.internal_id)["reason"].item()

    # Fixed in NetSuite: it lands, and the status says so.
    with env.netsuite_client() as client:
        usd = next(c["internalId"] for c in client.get_all("currency") if c.get("symbol") == "USD")
        (fixed,) = client.update_list(
            "customer", [{"internalId": customer.internal_id, "currency": {"internalId": usd}}]
        )
    assert fixed.ok
    env.run(["customers"])
    (account,) = env.zuora_records("accounts", IntegrationId__NS=customer.internal_id)
    assert account["currency"] == "USD"
    status = _status(env, "customer", customer.internal_id, "custentity_zsync_status")
    assert status == f"Synced {status[7:]}" and status[7:17] == datetime.now(UTC).date().isoformat()


def test_a_netsuite_payment_zuora_refuses_shows_zuoras_message_on_the_payment(make_sync_env):
    env = make_sync_env(payments_ns_to_zuora=True, default_tax_item="CA State Tax")
    env.run(["customers", "items", "invoices"])
    # An invoice Zuora's own payment settled, which NetSuite still shows open (Zuora payments are
    # not synced in this run): a cheque entered against it in NetSuite pays money Zuora no longer owes.
    linked = dict(env.links("invoices").select("source_id", "target_id").iter_rows())
    paid = env.query(
        "select id from zuora.invoices where status = 'Posted' and balance = 0 and payment_amount > 0 order by id"
    )["id"].to_list()
    zuora_id = next(i for i in paid if i in linked)
    with env.netsuite_client() as client:
        invoice = client.get("invoice", internal_id=linked[zuora_id])
        assert invoice["amountRemaining"] > 0
        (payment,) = client.add_list(
            "customerPayment",
            [
                {
                    "customer": invoice["entity"],
                    "currency": invoice["currency"],
                    "payment": invoice["amountRemaining"],
                    "memo": "Cheque entered in NetSuite",
                    "applyList": {
                        "apply": [{"doc": int(linked[zuora_id]), "apply": True, "amount": invoice["amountRemaining"]}]
                    },
                }
            ],
        )
    assert payment.ok
    zuora_payments = len(env.zuora_records("payments"))
    env.run(["netsuite_payments"])

    failed = _failed(env, "netsuite_payments", payment.internal_id)
    assert failed["error_class"] == "data" and "exceeds its balance" in failed["message"]
    status = _status(env, "customerPayment", payment.internal_id, "custbody_zsync_status")
    assert _refusal(status) == failed["message"]
    assert len(env.zuora_records("payments")) == zuora_payments

    before, counts = env.write_calls(), netsuite_counts(env)
    env.run(["netsuite_payments"])
    assert env.write_calls() == before and netsuite_counts(env) == counts
    assert _status(env, "customerPayment", payment.internal_id, "custbody_zsync_status") == status
