"""Adjustment and memo mappings: pure polars/dicts on hand-built staged frames and links."""

import json

import polars as pl

from zsync_assets.config import Config
from zsync_assets.flows.adjustments import credit_memos_from_zuora_adjustments
from zsync_assets.flows.mapping.zuora_memos import netsuite_documents_from_zuora_memos
from zsync_assets.flows.netsuite_credit_memos import adjustments_from_netsuite_credit_memos


def links(*rows):
    """(flow, source system, source id, target id) -> a zsync.links frame."""
    return pl.DataFrame(
        [
            {
                "flow": f,
                "source_system": s,
                "source_id": src,
                "target_system": "zuora" if s == "netsuite" else "netsuite",
                "target_id": tgt,
            }
            for f, s, src, tgt in rows
        ]
    )


BASE_LINKS = [
    ("customers", "zuora", "A1", "501"),
    ("items", "zuora", "CH1", "77"),
    ("items", "zuora", "CH2", "78"),
    ("invoices", "zuora", "INV1", "900"),
    ("invoices", "zuora", "INV2", "901"),
]


def adjustment(**fields):
    base = {
        "id": "ADJ1",
        "account_id": "A1",
        "invoice_id": "INV1",
        "invoice_number": "INV-1",
        "invoice_item_name": "Seats",
        "source_id": "II1",
        "source_type": "InvoiceDetail",
        "type": "Credit",
        "amount": 40.0,
        "adjustment_date": "2026-09-06",
        "adjustment_number": "IA-1",
        "reason_code": "Goodwill",
        "status": "Processed",
        "integration_id__ns": None,
    }
    return {**base, **fields}


def adjustment_tables(adjustments, extra_links=(), netsuite_memos=None):
    return {
        "zuora.invoice_item_adjustments": pl.DataFrame(adjustments),
        "zuora.invoices": pl.DataFrame({"id": ["INV1", "INV2"], "currency": ["USD", "USD"], "amount": [100.0, -20.0]}),
        "zuora.invoice_items": pl.DataFrame(
            {
                "id": ["II1", "II2", "II3"],
                "invoice_id": ["INV1", "INV1", "INV2"],
                "product_rate_plan_charge_id": ["CH1", "CH9", "CH1"],
                "charge_amount": [100.0, 10.0, -20.0],
            }
        ),
        "netsuite.credit_memos": netsuite_memos
        if netsuite_memos is not None
        else pl.DataFrame({"internal_id": ["640"], "external_id": [None]}),
        "netsuite.currencies": pl.DataFrame({"internal_id": ["1"], "symbol": ["USD"], "name": ["US Dollar"]}),
        "zsync.links": links(*BASE_LINKS, *extra_links),
    }


def by_id(frame):
    return {r["source_id"]: r for r in frame.to_dicts()}


def test_credit_adjustment_becomes_a_credit_memo_applied_to_the_linked_invoice():
    rows = by_id(credit_memos_from_zuora_adjustments(adjustment_tables([adjustment()]), Config()))
    row = rows["ADJ1"]
    assert row["_record_type"] == "creditMemo" and row["_skip"] is None and row["_blocked"] is None
    assert row["entity"] == {"internalId": "501"} and row["currency"] == {"internalId": "1"}
    assert row["tranDate"] == "2026-09-06T00:00:00"
    assert row["applyList"] == {"apply": [{"doc": 900, "apply": True, "amount": 40.0}]}
    (line,) = row["itemList"]["item"]
    assert line["item"] == {"internalId": "77"} and line["amount"] == 40.0
    assert line["customFieldList"] == {"custcol_zsync_zuora_item_id": "II1"}
    assert row["customFieldList"] == {
        "custbody_zsync_zuora_id": "ADJ1",
        "custbody_zsync_zuora_type": "INVOICE_ITEM_ADJUSTMENT",
        "custbody_zsync_origin": "ZUORA",
    }


def test_charge_adjustment_becomes_an_invoice_without_application():
    row = by_id(credit_memos_from_zuora_adjustments(adjustment_tables([adjustment(type="Charge")]), Config()))["ADJ1"]
    assert row["_record_type"] == "invoice" and row["applyList"] is None and row["_blocked"] is None
    assert row["itemList"]["item"][0]["amount"] == 40.0


def test_adjustments_wait_for_their_invoice_item_and_charge_and_skip_what_is_not_processed():
    rows = by_id(
        credit_memos_from_zuora_adjustments(
            adjustment_tables(
                [
                    adjustment(id="NOINV", invoice_id="INV9", invoice_number="INV-9"),
                    adjustment(id="NOCHARGE", source_id="II2"),
                    adjustment(id="TAX", source_type="Tax"),
                    adjustment(id="NEG", invoice_id="INV2", invoice_number="INV-2", source_id="II3"),
                    adjustment(id="CANCELED", status="Canceled"),
                ]
            ),
            Config(),
        )
    )
    assert rows["NOINV"]["_blocked"] == "invoice INV-9 is not synced yet (flow invoices)"
    assert rows["NOCHARGE"]["_blocked"] == "charge CH9 of invoice item II2 is not synced yet (flow items)"
    assert "taxation item" in rows["TAX"]["_blocked"]
    assert "negative" in rows["NEG"]["_blocked"]
    assert rows["CANCELED"]["_skip"] == "adjustment is Canceled"


def test_adjustments_born_in_netsuite_are_not_echoed_back():
    memos = pl.DataFrame({"internal_id": ["640", "641"], "external_id": [None, "zsync:adjustments:ADJ0"]})
    rows = by_id(
        credit_memos_from_zuora_adjustments(
            adjustment_tables(
                [
                    adjustment(id="FROMLINK"),
                    adjustment(id="FROMMARKER", integration_id__ns="640"),
                    adjustment(id="OURS", integration_id__ns="641"),
                ],
                extra_links=[("netsuite_credit_memos", "netsuite", "639", "FROMLINK")],
                netsuite_memos=memos,
            ),
            Config(),
        )
    )
    assert "639" in rows["FROMLINK"]["_skip"]
    assert "640" in rows["FROMMARKER"]["_skip"]
    assert rows["OURS"]["_skip"] is None


def netsuite_memo(internal_id, apply, items=(("77", 40.0),), total=40.0, **fields):
    return {
        "internal_id": internal_id,
        "external_id": None,
        "tran_id": f"CM{internal_id}",
        "tran_date": "2026-11-02",
        "status": "Fully Applied",
        "total": total,
        "memo": None,
        "apply_list": json.dumps(
            {"apply": [{"doc": int(d), "amount": a, "apply": True, "refNum": f"INV{d}"} for d, a in apply]}
        ),
        "item_list": json.dumps({"item": [{"item": {"internalId": i}, "amount": a} for i, a in items]}),
        **fields,
    }


def netsuite_tables(memos):
    return {
        "netsuite.credit_memos": pl.DataFrame(memos),
        "zuora.invoice_items": pl.DataFrame(
            {
                "id": ["II1", "II0", "II2"],
                "invoice_id": ["INV1", "INV1", "INV1"],
                "product_rate_plan_charge_id": ["CH1", "CH1", "CH2"],
                "charge_amount": [100.0, -30.0, 10.0],
            }
        ),
        "zsync.links": links(*BASE_LINKS, ("adjustments", "zuora", "ADJ1", "650")),
    }


def test_netsuite_credit_memo_on_one_synced_invoice_becomes_one_zuora_credit_adjustment():
    rows = by_id(
        adjustments_from_netsuite_credit_memos(netsuite_tables([netsuite_memo("700", [("900", 40.0)])]), Config())
    )
    row = rows["700"]
    assert row["_skip"] is None and row["_blocked"] is None
    assert {
        k: row[k]
        for k in ("InvoiceId", "SourceId", "SourceType", "Type", "Amount", "AdjustmentDate", "IntegrationId__NS")
    } == {
        "InvoiceId": "INV1",
        "SourceId": "II1",
        "SourceType": "InvoiceDetail",
        "Type": "Credit",
        "Amount": 40.0,
        "AdjustmentDate": "2026-11-02",
        "IntegrationId__NS": "700",
    }


def test_netsuite_credit_memos_not_on_exactly_one_synced_invoice_are_blocked_with_the_reason():
    rows = by_id(
        adjustments_from_netsuite_credit_memos(
            netsuite_tables(
                [
                    netsuite_memo("701", [("900", 20.0), ("901", 20.0)]),
                    netsuite_memo("702", []),
                    netsuite_memo("703", [("555", 40.0)]),
                    netsuite_memo("704", [("900", 30.0)]),
                    netsuite_memo("705", [("900", 50.0)], items=(("77", 40.0), ("78", 10.0)), total=50.0),
                ]
            ),
            Config(),
        )
    )
    assert rows["701"]["_blocked"].startswith("credit memo CM701 is applied to 2 invoices (INV900, INV901)")
    assert (
        rows["702"]["_blocked"] == "credit memo CM702 is applied to no invoice; zsync needs exactly one synced invoice"
    )
    assert "INV555, which zsync did not sync" in rows["703"]["_blocked"]
    assert rows["704"]["_blocked"] == "credit memo CM704 has 10.0 unapplied; apply it in full to the invoice"
    assert "lines credit 2 Zuora invoice items" in rows["705"]["_blocked"]


def test_credit_memos_zsync_wrote_are_never_sent_to_zuora():
    rows = by_id(
        adjustments_from_netsuite_credit_memos(
            netsuite_tables(
                [
                    netsuite_memo("650", [("900", 40.0)]),  # target of the adjustments link
                    netsuite_memo("651", [("900", 40.0)], external_id="zsync:invoices:INV3:reversal"),
                    netsuite_memo("652", [("900", 40.0)], custbody_zsync_origin="ZUORA"),
                ]
            ),
            Config(),
        )
    )
    assert all("written by zsync" in rows[i]["_skip"] for i in ("650", "651", "652"))


def memo_tables(kind, status="Posted", applications=()):
    """`applications`: (invoice id or None, debit memo id or None, amount) of memo M1."""
    return {
        f"zuora.{kind}_memos": pl.DataFrame(
            [
                {
                    "id": "M1",
                    "account_id": "A1",
                    "memo_number": "CM-1",
                    "memo_date": "2026-10-13",
                    "due_date": "2026-11-12",
                    "status": status,
                    "currency": "USD",
                    "total_amount": 54.12,
                    "reason_code": "Service credit",
                }
            ]
        ),
        "zuora.credit_memo_applications": pl.DataFrame(
            [{"credit_memo_id": "M1", "invoice_id": i, "debit_memo_id": d, "amount": a} for i, d, a in applications],
            schema={"credit_memo_id": pl.Utf8, "invoice_id": pl.Utf8, "debit_memo_id": pl.Utf8, "amount": pl.Float64},
        ),
        f"zuora.{kind}_memo_items": pl.DataFrame(
            [
                {
                    "id": "MI1",
                    f"{kind}_memo_id": "M1",
                    "amount": 54.12,
                    "amount_without_tax": 50.0,
                    "tax_amount": 4.12,
                    "charge_name": "Platform Fee",
                    "product_rate_plan_charge_id": "CH1",
                    "service_start_date": "2026-10-13",
                }
            ]
        ),
        "netsuite.currencies": pl.DataFrame({"internal_id": ["1"], "symbol": ["USD"], "name": ["US Dollar"]}),
        "netsuite.tax_items": pl.DataFrame({"internal_id": ["90"], "item_id": ["CA State Tax"]}),
        "zsync.links": links(*BASE_LINKS),
    }


def test_posted_credit_memo_lands_with_net_and_tax_lines_and_its_invoice_application():
    config = Config(default_tax_item="CA State Tax")
    row = by_id(
        netsuite_documents_from_zuora_memos(
            memo_tables("credit", applications=[("INV1", None, 20.0)]), config, "credit"
        )
    )["M1"]
    assert row["_skip"] is None and row["_blocked"] is None
    amounts = [
        (ln["item"]["internalId"], ln["amount"], ln["customFieldList"]["custcol_zsync_zuora_item_id"])
        for ln in row["itemList"]["item"]
    ]
    assert amounts == [("77", 50.0, "MI1"), ("90", 4.12, "MI1:tax")]
    assert row["applyList"] == {"apply": [{"doc": 900, "apply": True, "amount": 20.0}]}
    assert row["customFieldList"]["custbody_zsync_zuora_type"] == "CREDIT_MEMO"


def test_a_credit_memo_applied_to_several_documents_is_applied_to_each_linked_netsuite_invoice_or_waits():
    config = Config(default_tax_item="CA State Tax")
    tables = memo_tables("credit", applications=[("INV1", None, 20.0), (None, "DM1", 5.5), ("INV1", None, 4.0)])
    tables["zsync.links"] = links(*BASE_LINKS, ("debit_memos", "zuora", "DM1", "950"))
    row = by_id(netsuite_documents_from_zuora_memos(tables, config, "credit"))["M1"]
    assert row["_blocked"] is None
    assert row["applyList"] == {
        "apply": [{"doc": 900, "apply": True, "amount": 24.0}, {"doc": 950, "apply": True, "amount": 5.5}]
    }
    tables["zsync.links"] = links(*BASE_LINKS)  # the debit memo is not in NetSuite yet
    row = by_id(netsuite_documents_from_zuora_memos(tables, config, "credit"))["M1"]
    assert row["_blocked"] == "applied to debit memo DM1, which is not synced yet (flow debit_memos)"
    unapplied = by_id(netsuite_documents_from_zuora_memos(memo_tables("credit"), config, "credit"))["M1"]
    assert unapplied["_blocked"] is None and unapplied.get("applyList") is None


def test_debit_memo_is_an_invoice_marked_debit_memo_and_drafts_or_untaxable_memos_wait():
    row = by_id(
        netsuite_documents_from_zuora_memos(memo_tables("debit"), Config(default_tax_item="CA State Tax"), "debit")
    )["M1"]
    assert row["customFieldList"]["custbody_zsync_zuora_type"] == "DEBIT_MEMO"
    assert row["dueDate"] == "2026-11-12T00:00:00" and row["_blocked"] is None
    draft = by_id(netsuite_documents_from_zuora_memos(memo_tables("credit", status="Draft"), Config(), "credit"))["M1"]
    assert draft["_skip"] == "credit memo is Draft"
    assert "set default_tax_item" in draft["_blocked"]


def test_a_synced_credit_memo_whose_amount_changes_is_blocked_but_its_text_may_change():
    tables = netsuite_tables(
        [
            netsuite_memo("700", [("900", 30.0)], items=(("77", 30.0),), total=30.0, memo="x"),
            netsuite_memo("710", [("900", 40.0)], memo="new text"),
        ]
    )
    tables["zsync.links"] = pl.concat(
        [
            tables["zsync.links"],
            links(
                ("netsuite_credit_memos", "netsuite", "700", "ADJ7"),
                ("netsuite_credit_memos", "netsuite", "710", "ADJ8"),
            ),
        ]
    )
    tables["zuora.invoice_item_adjustments"] = pl.DataFrame(
        {
            "id": ["ADJ7", "ADJ8"],
            "invoice_id": ["INV1", "INV1"],
            "source_id": ["II1", "II1"],
            "amount": [25.0, 40.0],
            "adjustment_number": ["IA-7", "IA-8"],
        }
    )
    rows = by_id(adjustments_from_netsuite_credit_memos(tables, Config()))
    assert (
        "changed after it became Zuora adjustment IA-7 (25.0 on invoice item II1; now 30.0 on II1)"
        in rows["700"]["_blocked"]
    )
    assert rows["710"]["_blocked"] is None and rows["710"]["Comment"] == "NetSuite credit memo CM710: new text"


def test_invoice_settlement_decides_which_memo_flows_exist():
    from zsync_assets.flows import configured_flows

    memo_flows = {"adjustments", "netsuite_credit_memos", "credit_memos", "debit_memos"}
    assert {f.name for f in configured_flows(Config())} & memo_flows == {"adjustments", "netsuite_credit_memos"}
    assert {f.name for f in configured_flows(Config(invoice_settlement=True))} & memo_flows == {
        "credit_memos",
        "debit_memos",
    }
