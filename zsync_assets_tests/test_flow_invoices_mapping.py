"""The invoices mapping as a pure function: staged frames in, one row per NetSuite document out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
import pytest

from zsync_assets.config import parse_config
from zsync_assets.engine.plan import build_plan
from zsync_assets.flows.invoices import INVOICES, REVERSAL_SUFFIX, invoices_from_zuora

PLATFORM, SEATS, DISCOUNT, RETIRED = "chg-platform", "chg-seats", "chg-discount", "chg-retired"


def _invoice(
    id_: str, amount: float, *, status: str = "Posted", account: str = "acc-1", day: str = "2024-03-01"
) -> dict:
    return {
        "id": id_,
        "account_id": account,
        "invoice_number": f"INV-{id_}",
        "invoice_date": date.fromisoformat(day),
        "due_date": date(2024, 3, 31),
        "status": status,
        "currency": "USD",
        "amount": amount,
    }


def _item(
    id_: str,
    invoice: str,
    charge: str,
    quantity: float,
    amount: float,
    *,
    start: str = "2024-03-01",
    rev_rec: str | None = "2024-03-01",
) -> dict:
    return {
        "id": id_,
        "invoice_id": invoice,
        "product_rate_plan_charge_id": charge,
        "charge_name": charge,
        "quantity": quantity,
        "charge_amount": amount,
        "service_start_date": start,
        "service_end_date": "2024-03-31",
        "rev_rec_start_date": rev_rec,
    }


def _tax(id_: str, item: str, amount: float, code: str = "SALES") -> dict:
    return {
        "id": id_,
        "invoice_item_id": item,
        "name": f"{code} tax",
        "jurisdiction": "CALIFORNIA",
        "tax_amount": amount,
        "tax_rate": 8.25,
        "tax_code": code,
    }


def _links(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"flow": f, "source_system": "zuora", "source_id": s, "target_system": "netsuite", "target_id": t}
            for f, s, t in rows
        ]
    )


BASE_LINKS = [
    ("customers", "acc-1", "101"),
    ("items", PLATFORM, "201"),
    ("items", SEATS, "202"),
    ("items", DISCOUNT, "203"),
]


def _tables(invoices: list[dict], items: list[dict], taxes: Sequence[dict] = (), links=BASE_LINKS) -> dict:
    return {
        "zuora.invoices": pl.DataFrame(invoices),
        "zuora.invoice_items": pl.DataFrame(items),
        "zuora.taxation_items": pl.DataFrame(
            list(taxes),
            schema={
                "id": pl.Utf8,
                "invoice_item_id": pl.Utf8,
                "name": pl.Utf8,
                "jurisdiction": pl.Utf8,
                "tax_amount": pl.Float64,
                "tax_rate": pl.Float64,
                "tax_code": pl.Utf8,
            },
        ),
        "netsuite.currencies": pl.DataFrame({"symbol": ["USD"], "name": ["US Dollar"], "internal_id": ["1"]}),
        "netsuite.tax_items": pl.DataFrame(
            {"item_id": ["CA State Tax", "Exempt"], "display_name": [None, None], "internal_id": ["50", "59"]}
        ),
        "zsync.links": _links(*links),
    }


CONFIG = parse_config({"tax_item_by_tax_code": {"SALES": "CA State Tax"}})


def _rows(tables: dict, config=CONFIG) -> dict[str, dict]:
    return {r["source_id"]: r for r in invoices_from_zuora(tables, config).to_dicts()}


def test_lines_keep_proration_credits_discounts_and_tax_and_sum_to_the_zuora_amount():
    items = [
        _item("i1", "inv", PLATFORM, 1, 500.0),
        _item("i2", "inv", SEATS, 10, 250.0),
        _item("i3", "inv", SEATS, -3, -37.5, start="2024-03-15"),
        _item("i4", "inv", DISCOUNT, 1, -75.0),
        _item("i5", "inv", PLATFORM, 123456, 246.91),
    ]  # usage-like: 0.002 per unit
    taxes = [_tax("t1", "i1", 41.25), _tax("t2", "i2", 20.63)]
    row = _rows(_tables([_invoice("inv", 946.29)], items, taxes))["inv"]

    assert row["_skip"] is None and row["_blocked"] is None and row["_record_type"] == "invoice"
    lines = row["itemList"]["item"]
    assert row["itemList"]["replaceAll"] is True  # NetSuite replaces the sublist on update
    by_id = {line["customFieldList"]["custcol_zsync_zuora_item_id"]: line for line in lines}
    assert by_id["i3"]["quantity"] == -3 and by_id["i3"]["amount"] == -37.5 and by_id["i3"]["rate"] == "12.5"
    assert by_id["i4"]["item"] == {"internalId": "203"} and by_id["i4"]["amount"] == -75.0
    assert round(123456 * float(by_id["i5"]["rate"]), 2) == 246.91
    assert by_id["t1"]["item"] == {"internalId": "50"} and by_id["t1"]["amount"] == 41.25
    assert [line["customFieldList"]["custcol_zsync_zuora_item_id"] for line in lines][-2:] == ["t1", "t2"]
    assert round(sum(line["amount"] for line in lines), 2) == 946.29
    assert (by_id["i1"]["revRecStartDate"], by_id["i1"]["revRecEndDate"]) == (
        "2024-03-01T00:00:00",
        "2024-03-31T00:00:00",
    )
    assert row["tranDate"] == "2024-03-01T00:00:00" and row["dueDate"] == "2024-03-31T00:00:00"
    assert (row["tranId"], row["entity"], row["currency"]) == ("INV-inv", {"internalId": "101"}, {"internalId": "1"})
    assert row["customFieldList"] == {
        "custbody_zsync_zuora_id": "inv",
        "custbody_zsync_zuora_type": "INVOICE",
        "custbody_zsync_origin": "ZUORA",
    }


def test_rev_rec_dates_arriving_later_change_the_payload_of_that_invoice_only():
    invoices = [_invoice("a", 500.0), _invoice("b", 500.0)]
    before = _tables(
        invoices, [_item("ia", "a", PLATFORM, 1, 500.0, rev_rec=None), _item("ib", "b", PLATFORM, 1, 500.0)]
    )
    after = _tables(invoices, [_item("ia", "a", PLATFORM, 1, 500.0), _item("ib", "b", PLATFORM, 1, 500.0)])
    first = build_plan(INVOICES, invoices_from_zuora(before, CONFIG))
    assert "revRecStartDate" not in first.filter(pl.col("source_id") == "a")["payload"].item()
    links = first.select("source_id", pl.col("source_id").alias("target_id"), "payload_hash", "payload")
    second = build_plan(INVOICES, invoices_from_zuora(after, CONFIG), links)
    assert dict(second.select("source_id", "action").iter_rows()) == {"a": "update", "b": "skip"}
    assert second.filter(pl.col("source_id") == "a")["changed_fields"].item().to_list() == ["itemList"]


def test_blocked_until_the_account_and_every_charge_are_synced_and_by_an_unmapped_tax_code():
    invoices = [_invoice("no-account", 10.0, account="acc-9"), _invoice("no-charge", 99.0), _invoice("no-tax", 10.0)]
    items = [
        _item("i1", "no-account", PLATFORM, 1, 10.0),
        _item("i2", "no-charge", RETIRED, 1, 99.0),
        _item("i3", "no-tax", PLATFORM, 1, 10.0),
    ]
    rows = _rows(_tables(invoices, items, [_tax("t3", "i3", 1.9, code="VAT-XX")]))
    assert rows["no-account"]["_blocked"] == "account acc-9 is not synced yet (flow customers)"
    assert (
        rows["no-charge"]["_blocked"]
        == f"charge {RETIRED} ('{RETIRED}') of invoice item i2 is not synced yet (flow items)"
    )
    assert rows["no-tax"]["_blocked"] == (
        "no NetSuite tax item for Zuora tax code 'VAT-XX' (set tax_item_by_tax_code or default_tax_item)"
    )
    with_default = _rows(
        _tables(invoices, items, [_tax("t3", "i3", 1.9, code="VAT-XX")]), parse_config({"default_tax_item": "Exempt"})
    )
    assert with_default["no-tax"]["_blocked"] is None
    assert with_default["no-tax"]["itemList"]["item"][-1]["item"] == {"internalId": "59"}


@pytest.mark.parametrize(
    ("status", "day", "cutover", "reason"),
    [
        ("Draft", "2024-03-01", None, "invoice is Draft"),
        ("Posted", "2023-12-31", "2024-01-01", "invoice date 2023-12-31 is before the cutover date 2024-01-01"),
        ("Canceled", "2024-03-01", None, "invoice is Canceled and was never synced: nothing to reverse"),
    ],
)
def test_skips_say_why(status, day, cutover, reason):
    config = parse_config({"tax_item_by_tax_code": {"SALES": "CA State Tax"}, "cutover_date": cutover})
    rows = _rows(_tables([_invoice("x", 10.0, status=status, day=day)], [_item("i", "x", PLATFORM, 1, 10.0)]), config)
    assert rows["x"]["_skip"] == reason
    assert set(rows) == {"x"}  # nothing to reverse


def test_a_negative_invoice_becomes_a_credit_memo_with_positive_lines():
    items = [_item("i1", "neg", PLATFORM, 1, -100.0)]
    row = _rows(_tables([_invoice("neg", -108.25)], items, [_tax("t1", "i1", -8.25)]))["neg"]
    assert row["_record_type"] == "creditMemo" and row["dueDate"] is None
    assert row["customFieldList"]["custbody_zsync_zuora_type"] == "NEGATIVE_INVOICE"
    assert [(line["quantity"], line["rate"], line["amount"]) for line in row["itemList"]["item"]] == [
        (1.0, "100", 100.0),
        (1.0, "8.25", 8.25),
    ]


def test_a_synced_invoice_that_is_canceled_gets_a_credit_memo_applied_to_it_in_full():
    links = [*BASE_LINKS, ("invoices", "inv", "777")]
    rows = _rows(
        _tables(
            [_invoice("inv", 541.25, status="Canceled")],
            [_item("i1", "inv", PLATFORM, 1, 500.0)],
            [_tax("t1", "i1", 41.25)],
            links,
        )
    )
    assert rows["inv"]["_skip"] == f"invoice is Canceled: reversed by inv{REVERSAL_SUFFIX}"
    reversal = rows["inv" + REVERSAL_SUFFIX]
    assert reversal["_record_type"] == "creditMemo" and reversal["_blocked"] is None
    assert reversal["createdFrom"] == {"internalId": "777"}
    assert reversal["applyList"] == {"apply": [{"doc": 777, "apply": True, "amount": 541.25}]}
    assert sum(line["amount"] for line in reversal["itemList"]["item"]) == 541.25
    assert reversal["tranDate"] is None  # dated by NetSuite: the period of the cancellation


def test_an_account_the_customers_flow_never_sends_skips_its_invoices_with_the_reason():
    tables = _tables(
        [_invoice("i1", 100.0, account="acc-no"), _invoice("i2", 100.0, account="acc-new")],
        [_item("ii1", "i1", PLATFORM, 1, 100.0), _item("ii2", "i2", PLATFORM, 1, 100.0)],
    )
    tables["zuora.accounts"] = pl.DataFrame(
        {"id": ["acc-no", "acc-new"], "status": ["Active", "Active"], "syncto_net_suite__ns": ["No", None]}
    )
    rows = _rows(tables)
    assert rows["i1"]["_skip"] == "account acc-no is not synced to NetSuite: SynctoNetSuite__NS is No"
    # an account that simply has not synced yet still blocks: it will sync, and the invoice follows
    assert rows["i2"]["_skip"] is None and "acc-new is not synced yet" in rows["i2"]["_blocked"]


def test_the_plan_reads_only_the_declared_columns_and_plans_as_over_the_whole_tables(warehouse_path):
    """`INVOICES.columns` narrows what the plan reads from DuckDB (Zuora stages ~30 columns per
    invoice item, the mapping reads 9); the plan made from the narrowed tables must be the one the
    mapping makes from the whole staged rows, vendor columns it does not read included."""
    from zsync_assets.engine import bookkeeping
    from zsync_assets.engine.planning import plan_flow
    from zsync_assets.lib.warehouse import Warehouse, append, replace_table

    tables = _tables(
        [_invoice("inv", 541.25), _invoice("neg", -80.0)],
        [_item("i1", "inv", PLATFORM, 1, 500.0), _item("i2", "neg", SEATS, -4, -80.0, rev_rec=None)],
        [_tax("t1", "i1", 41.25)],
    )
    tables["zuora.accounts"] = pl.DataFrame({"id": ["acc-1"], "account_number": ["A-1"], "status": ["Active"]})
    unread = {"created_by_id": "u-1", "balance": 7.5, "subscription_number": "S-1"}
    staged = {
        name: frame.with_columns(**{k: pl.lit(v) for k, v in unread.items()})
        for name, frame in tables.items()
        if name.startswith("zuora.")
    }
    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        for name, frame in {**tables, **staged}.items():
            if name != "zsync.links":
                replace_table(con, name, frame)
        links = tables["zsync.links"].with_columns(origin=pl.lit("zuora"), synced_at=pl.lit(bookkeeping.now()))
        append(con, "zsync.links", links)
    result = plan_flow(INVOICES, warehouse, CONFIG, write=False)
    planned = result.plan
    assert not result.missing_tables
    whole = build_plan(INVOICES, invoices_from_zuora({**tables, **staged}, CONFIG))
    assert planned.height == 2 and set(planned["action"]) == {"create"}
    assert (
        planned.sort("source_id")
        .select("source_id", "payload")
        .equals(whole.sort("source_id").select("source_id", "payload"))
    )
