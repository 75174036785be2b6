"""Pure mapping tests for payments and refunds, both directions: no server, no database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import polars as pl
import pytest

from zsync_assets.config import parse_config
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.plan import build_plan
from zsync_assets.flows.payments import (
    NO_PAYMENT_METHOD,
    PAYMENTS_TO_NETSUITE,
    PAYMENTS_TO_ZUORA,
    customer_payments_from_zuora,
    zuora_payments_from_netsuite,
)
from zsync_assets.flows.refunds import (
    REFUNDS_TO_NETSUITE,
    REFUNDS_TO_ZUORA,
    customer_refunds_from_zuora,
    zuora_refunds_from_netsuite,
)

CONFIG = parse_config({})
# A tenant without Invoice Settlement (the default) takes payments only with a payment method.
TO_ZUORA_CONFIG = parse_config({"zuora_payment_method_id": "PM-OTHER"})
CURRENCIES = pl.DataFrame({"internal_id": ["1", "2"], "symbol": ["USD", "EUR"], "name": ["US Dollar", "Euro"]})


def _links(*rows: tuple) -> pl.DataFrame:
    """(flow, source_system, source_id, target_id[, payload]) rows of zsync.links."""
    return pl.DataFrame(
        [
            {
                "flow": r[0],
                "source_system": r[1],
                "source_id": r[2],
                "target_id": r[3],
                "payload": r[4] if len(r) > 4 else None,
            }
            for r in rows
        ],
        schema={
            "flow": pl.Utf8,
            "source_system": pl.Utf8,
            "source_id": pl.Utf8,
            "target_id": pl.Utf8,
            "payload": pl.Utf8,
        },
    )


BASE_LINKS = [
    ("customers", "zuora", "A1", "501"),
    ("invoices", "zuora", "I1", "9001"),
    ("invoices", "zuora", "I2", "9002"),
]


def _zuora_payments(**overrides) -> dict[str, pl.DataFrame]:
    payment = {
        "id": "P1",
        "account_id": "A1",
        "payment_number": "P-00000001",
        "amount": 150.0,
        "currency": "USD",
        "effective_date": date(2026, 3, 1),
        "status": "Processed",
        "comment": None,
        "origin__ns": "Zuora",
        **overrides,
    }
    return {
        "zuora.payments": pl.DataFrame([payment]),
        "zuora.payment_applications": pl.DataFrame(
            {"payment_id": ["P1", "P1"], "invoice_id": ["I2", "I1"], "apply_amount": [40.0, 60.0]}
        ),
        "netsuite.currencies": CURRENCIES,
        "zsync.links": _links(*BASE_LINKS),
    }


def _plan(flow: Flow, mapped: pl.DataFrame) -> dict[str, dict]:
    plan = build_plan(flow, mapped)
    return {r["source_id"]: {**r, "payload": json.loads(r["payload"])} for r in plan.to_dicts()}


def test_zuora_payment_becomes_a_customer_payment_applied_to_the_linked_invoices():
    row = _plan(PAYMENTS_TO_NETSUITE, customer_payments_from_zuora(_zuora_payments(), CONFIG))["P1"]
    assert row["action"] == "create", row["reason"]
    assert row["payload"] == {
        "customer": {"internalId": "501"},
        "currency": {"internalId": "1"},
        "payment": 150.0,
        "tranDate": "2026-03-01T00:00:00",
        "tranId": "P-00000001",
        "memo": "P-00000001",
        # the 50 Zuora left unapplied stays unapplied: no line for it
        "applyList": {
            "apply": [{"doc": 9001, "apply": True, "amount": 60.0}, {"doc": 9002, "apply": True, "amount": 40.0}]
        },
        "customFieldList": {
            "custbody_zsync_zuora_id": "P1",
            "custbody_zsync_zuora_type": "PAYMENT",
            "custbody_zsync_origin": "ZUORA",
        },
    }


def test_zuora_payment_skips_and_blocks_with_reasons():
    tables = _zuora_payments()
    tables["zuora.payments"] = pl.concat(
        [
            tables["zuora.payments"],
            pl.DataFrame(
                [
                    {**tables["zuora.payments"].row(0, named=True), "id": id_, **fields}
                    for id_, fields in [
                        ("P2", {"status": "Error"}),
                        ("P3", {"origin__ns": "NetSuite"}),
                        ("P4", {"effective_date": date(2023, 12, 31)}),
                        ("P5", {"account_id": "A9"}),
                        ("P6", {}),
                        ("P7", {}),
                    ]
                ]
            ),
        ]
    )
    tables["zuora.payment_applications"] = pl.concat(
        [
            tables["zuora.payment_applications"],
            pl.DataFrame({"payment_id": ["P6"], "invoice_id": ["I404"], "apply_amount": [10.0]}),
        ]
    )
    # P7 was created by zsync from a NetSuite payment (its link), even without Origin__NS
    tables["zsync.links"] = _links(*BASE_LINKS, ("netsuite_payments", "netsuite", "77", "P7"))
    plan = _plan(
        PAYMENTS_TO_NETSUITE, customer_payments_from_zuora(tables, parse_config({"cutover_date": "2024-01-01"}))
    )
    assert {k: (v["action"], v["reason"]) for k, v in plan.items() if k != "P1"} == {
        "P2": ("skip", "payment is Error"),
        "P3": ("skip", "came from NetSuite: not sent back"),
        "P4": ("skip", "payment date 2023-12-31 is before the cutover date 2024-01-01"),
        "P5": ("blocked", "account A9 is not synced yet (flow customers)"),
        "P6": ("blocked", "invoice I404 is not synced (flow invoices)"),
        "P7": ("skip", "came from NetSuite: not sent back"),
    }


def _netsuite_payments(payments: list[dict], lines: list[dict], links: Sequence[tuple] = ()) -> dict[str, pl.DataFrame]:
    base = {
        "customer_internal_id": "501",
        "currency_internal_id": "1",
        "tran_date": "2026-03-02",
        "memo": "wire",
        "external_id": None,
        "custbody_zsync_origin": None,
    }
    return {
        "netsuite.customer_payments": pl.DataFrame([{**base, **p} for p in payments]),
        "netsuite.customer_payment_lines": pl.DataFrame(
            lines,
            schema={
                "transaction_internal_id": pl.Utf8,
                "apply": pl.Boolean,
                "doc": pl.Int64,
                "ref_num": pl.Utf8,
                "amount": pl.Float64,
            },
        ),
        "netsuite.currencies": CURRENCIES,
        "zsync.links": _links(*BASE_LINKS, *links),
    }


def test_netsuite_payment_on_invoices_from_zuora_becomes_a_zuora_payment_and_echoes_are_skipped():
    tables = _netsuite_payments(
        [
            {"internal_id": "70", "payment": 100.0, "tran_id": "PYMT70"},
            {"internal_id": "71", "payment": 80.0, "external_id": "zsync:payments:P1"},
            {"internal_id": "72", "payment": 80.0, "custbody_zsync_origin": "ZUORA"},
            {"internal_id": "73", "payment": 80.0},  # on a NetSuite-only invoice
            {"internal_id": "74", "payment": 80.0},  # on one from Zuora and one NetSuite-only invoice
            {"internal_id": "75", "payment": 80.0},
        ],  # created by the payments flow (link only)
        [
            {"transaction_internal_id": "70", "apply": True, "doc": 9001, "ref_num": "INV1", "amount": 60.0},
            {"transaction_internal_id": "71", "apply": True, "doc": 9001, "ref_num": "INV1", "amount": 80.0},
            {"transaction_internal_id": "72", "apply": True, "doc": 9001, "ref_num": "INV1", "amount": 80.0},
            {"transaction_internal_id": "73", "apply": True, "doc": 12, "ref_num": "INV12", "amount": 80.0},
            {"transaction_internal_id": "74", "apply": True, "doc": 9002, "ref_num": "INV2", "amount": 40.0},
            {"transaction_internal_id": "74", "apply": True, "doc": 13, "ref_num": "INV13", "amount": 40.0},
            {"transaction_internal_id": "75", "apply": True, "doc": 9002, "ref_num": "INV2", "amount": 40.0},
        ],
        [("payments", "zuora", "P5", "75")],
    )
    plan = _plan(PAYMENTS_TO_ZUORA, zuora_payments_from_netsuite(tables, TO_ZUORA_CONFIG))
    assert plan["70"]["action"] == "create"
    assert plan["70"]["payload"] == {
        "accountId": "A1",
        "amount": 100.0,
        "currency": "USD",
        "effectiveDate": "2026-03-02",
        "type": "External",
        "paymentMethodId": "PM-OTHER",
        "invoices": [{"invoiceId": "I1", "amount": 60.0}],
        "comment": "wire",
        "Transaction__NS": "PYMT70",
        "Origin__NS": "NetSuite",
        "IntegrationId__NS": "70",
    }
    assert {k: (v["action"], v["reason"]) for k, v in plan.items() if k != "70"} == {
        "71": ("skip", "created by zsync from Zuora: not sent back"),
        "72": ("skip", "created by zsync from Zuora: not sent back"),
        "73": ("skip", "applied to no invoice that came from Zuora: stays in NetSuite"),
        "74": ("blocked", "also applied to NetSuite invoice(s) 13 (INV13) that are not in Zuora"),
        "75": ("skip", "created by zsync from Zuora: not sent back"),
    }


@pytest.mark.parametrize("settlement", [False, True])
def test_a_tenant_without_invoice_settlement_blocks_payments_until_a_payment_method_is_set(settlement):
    lines = [{"transaction_internal_id": "70", "apply": True, "doc": 9001, "ref_num": "INV1", "amount": 60.0}]
    tables = _netsuite_payments([{"internal_id": "70", "payment": 100.0, "tran_id": "PYMT70"}], lines)
    unset = zuora_payments_from_netsuite(tables, parse_config({"invoice_settlement": settlement}))
    assert unset["_blocked"].to_list() == [None if settlement else NO_PAYMENT_METHOD]
    assert "paymentMethodId" not in unset.columns  # with it, Zuora uses the account's default
    chosen = parse_config({"invoice_settlement": settlement, "zuora_payment_method_id": "PM-CHECK"})
    row = zuora_payments_from_netsuite(tables, chosen).row(0, named=True)
    assert row["_blocked"] is None and row["paymentMethodId"] == "PM-CHECK"


def test_netsuite_payment_changed_after_it_reached_zuora_is_blocked_but_a_new_tran_id_updates():
    lines = [{"transaction_internal_id": "70", "apply": True, "doc": 9001, "ref_num": "INV1", "amount": 60.0}]
    first = zuora_payments_from_netsuite(
        _netsuite_payments([{"internal_id": "70", "payment": 100.0, "tran_id": "PYMT70"}], lines), TO_ZUORA_CONFIG
    )
    sent = build_plan(PAYMENTS_TO_ZUORA, first)["payload"][0]
    link = ("netsuite_payments", "netsuite", "70", "ZP70", sent)
    renamed = _netsuite_payments([{"internal_id": "70", "payment": 100.0, "tran_id": "PYMT70-b"}], lines, [link])
    assert zuora_payments_from_netsuite(renamed, TO_ZUORA_CONFIG)["_blocked"].to_list() == [None]
    bigger = _netsuite_payments([{"internal_id": "70", "payment": 120.0, "tran_id": "PYMT70"}], lines, [link])
    assert zuora_payments_from_netsuite(bigger, TO_ZUORA_CONFIG)["_blocked"].to_list() == [
        "amount changed in NetSuite after the document reached Zuora, where it cannot change: "
        "reverse it in Zuora by hand"
    ]


def test_zuora_refund_is_applied_against_the_linked_payment_whichever_side_it_was_born():
    refund = {
        "account_id": "A1",
        "currency": "USD",
        "refund_date": "2026-03-09",
        "status": "Processed",
        "comment": None,
        "origin__ns": None,
    }
    tables = {
        "zuora.refunds": pl.DataFrame(
            [
                {**refund, "id": "R1", "refund_number": "R-1"},
                {**refund, "id": "R2", "refund_number": "R-2"},
                {**refund, "id": "R3", "refund_number": "R-3"},
                {**refund, "id": "R4", "refund_number": "R-4", "origin__ns": "NetSuite"},
            ]
        ),
        "zuora.refund_applications": pl.DataFrame(
            {
                "refund_id": ["R1", "R2", "R3", "R4"],
                "payment_id": ["P1", "ZP70", "P404", "P1"],
                "apply_amount": [50.0, 20.0, 5.0, 1.0],
            }
        ),
        "netsuite.currencies": CURRENCIES,
        "zsync.links": _links(
            *BASE_LINKS, ("payments", "zuora", "P1", "801"), ("netsuite_payments", "netsuite", "70", "ZP70")
        ),
    }
    plan = _plan(REFUNDS_TO_NETSUITE, customer_refunds_from_zuora(tables, CONFIG))
    assert plan["R1"]["payload"]["applyList"] == {"apply": [{"doc": 801, "apply": True, "amount": 50.0}]}
    assert plan["R1"]["payload"]["customFieldList"]["custbody_zsync_zuora_type"] == "REFUND"
    assert plan["R2"]["payload"]["applyList"] == {"apply": [{"doc": 70, "apply": True, "amount": 20.0}]}
    assert (plan["R3"]["action"], plan["R3"]["reason"]) == ("blocked", "payment P404 is not synced (flow payments)")
    assert (plan["R4"]["action"], plan["R4"]["reason"]) == ("skip", "came from NetSuite: not sent back")


def test_netsuite_refund_of_one_synced_payment_becomes_a_zuora_refund():
    base = {
        "customer_internal_id": "501",
        "currency_internal_id": "1",
        "tran_date": "2026-03-10",
        "memo": None,
        "tran_id": None,
        "external_id": None,
        "custbody_zsync_origin": None,
    }
    tables = {
        "netsuite.customer_refunds": pl.DataFrame(
            [
                {**base, "internal_id": "90", "total": 20.0},
                {**base, "internal_id": "91", "total": 20.0, "external_id": "zsync:refunds:R1"},
                {**base, "internal_id": "92", "total": 30.0},
                {**base, "internal_id": "93", "total": 5.0},
            ]
        ),
        "netsuite.customer_refund_lines": pl.DataFrame(
            {
                "transaction_internal_id": ["90", "91", "92", "92", "93"],
                "apply": [True] * 5,
                "doc": [70, 801, 70, 801, 12],
                "ref_num": ["PYMT70", "P", "PYMT70", "P", "PYMT12"],
                "amount": [20.0, 20.0, 10.0, 20.0, 5.0],
            }
        ),
        "netsuite.currencies": CURRENCIES,
        "zsync.links": _links(
            *BASE_LINKS, ("payments", "zuora", "P1", "801"), ("netsuite_payments", "netsuite", "70", "ZP70")
        ),
    }
    plan = _plan(REFUNDS_TO_ZUORA, zuora_refunds_from_netsuite(tables, CONFIG))
    assert plan["90"]["payload"] == {
        "paymentId": "ZP70",
        "totalAmount": 20.0,
        "refundDate": "2026-03-10",
        "type": "External",
        "Origin__NS": "NetSuite",
        "IntegrationId__NS": "90",
    }
    assert plan["91"]["reason"] == "created by zsync from Zuora: not sent back"
    assert (plan["92"]["action"], plan["92"]["reason"]) == (
        "blocked",
        "applied to 2 documents (70, 801); a Zuora refund refunds exactly one payment",
    )
    assert plan["93"]["action"] == "blocked" and "refunds NetSuite document 12" in plan["93"]["reason"]


def test_mappings_accept_an_empty_warehouse():
    for flow in (PAYMENTS_TO_NETSUITE, PAYMENTS_TO_ZUORA, REFUNDS_TO_NETSUITE, REFUNDS_TO_ZUORA):
        assert flow.mapping({}, CONFIG).height == 0
