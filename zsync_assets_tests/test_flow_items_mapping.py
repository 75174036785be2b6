"""Item mapping: pure polars on hand-built staged frames."""

from datetime import date

import polars as pl

from zsync_assets.config import Config
from zsync_assets.flows.items import ITEM_ID_MAX, items_from_zuora_charges

TODAY = date(2026, 6, 1)
LONG = "Enterprise Analytics Platform With Extended Retention"


def tables(**overrides):
    base = {
        "zuora.products": pl.DataFrame(
            {
                "id": ["P1", "P2", "P3"],
                "name": ["Cloud", "Legacy", LONG],
                "sku": ["S1", "S2", "S3"],
                "effective_start_date": ["2020-01-01", "2019-01-01", "2020-01-01"],
                "effective_end_date": ["2099-12-31", "2025-01-01", None],
            }
        ),
        "zuora.product_rate_plans": pl.DataFrame(
            {
                "id": ["RP1", "RP2", "RP3"],
                "name": ["Monthly", "Old plan", "Annual Premium Tier"],
                "product_id": ["P1", "P2", "P3"],
                "effective_start_date": ["2020-01-01", None, None],
                "effective_end_date": [None, None, None],
            }
        ),
        "zuora.product_rate_plan_charges": pl.DataFrame(
            {
                "id": ["CH1", "CH2", "CH3", "CH4", "CH5"],
                "name": ["Seat fee", "Setup", "Old fee", "Storage overage charge per gigabyte", "Seat fee"],
                "charge_type": ["Recurring", "OneTime", "Recurring", "Usage", "Recurring"],
                "accounting_code": ["Subscription Revenue", "Services", "Subscription Revenue", "4010", "Unknown"],
                "product_rate_plan_id": ["RP1", "RP1", "RP2", "RP3", "RP1"],
                "item_type__ns": [None, None, None, "Non Inventory", None],
            }
        ),
        "netsuite.accounts": pl.DataFrame(
            {
                "internal_id": ["54", "55", "56"],
                "acct_name": ["Subscription Revenue", "Services Revenue", "Usage"],
                "acct_number": ["4000", "4020", "4010"],
            }
        ),
        "netsuite.items": pl.DataFrame(
            {"internal_id": ["300"], "item_id": ["Cloud : Monthly : Setup"], "custitem_zsync_zuora_id": [None]}
        ),
    }
    return {**base, **overrides}


def mapped(config: Config | None = None, **overrides):
    frame = items_from_zuora_charges(tables(**overrides), config or Config(), today=TODAY)
    return {r["source_id"]: r for r in frame.to_dicts()}


def test_charges_map_to_sale_items_by_charge_type_with_income_accounts():
    rows = mapped(Config(income_account_by_accounting_code={"Services": "Services Revenue"}))
    ch1 = rows["CH1"]
    assert (ch1["itemId"], ch1["displayName"], ch1["_record_type"]) == (
        "Cloud : Monthly : Seat fee",
        "Seat fee",
        "serviceSaleItem",
    )
    assert ch1["incomeAccount"] == {"internalId": "54"} and ch1["customFieldList"] == {"custitem_zsync_zuora_id": "CH1"}
    assert rows["CH2"]["_record_type"] == "nonInventorySaleItem" and rows["CH2"]["incomeAccount"] == {
        "internalId": "55"
    }
    # accounting code matched to an account number; ItemType__NS wins over the charge type
    assert (
        rows["CH4"]["incomeAccount"] == {"internalId": "56"} and rows["CH4"]["_record_type"] == "nonInventorySaleItem"
    )


def test_expired_products_are_skipped_and_unknown_accounting_codes_blocked():
    rows = mapped()
    assert rows["CH3"]["_skip"] == "product 'Legacy' expired on 2025-01-01"
    assert rows["CH5"]["_blocked"] == "no NetSuite income account for accounting code 'Unknown'"
    assert mapped(Config(default_income_account="4000"))["CH5"]["_blocked"] is None


def test_long_names_are_cut_deterministically_within_the_netsuite_limit():
    first, again = mapped()["CH4"]["itemId"], mapped()["CH4"]["itemId"]
    assert first == again and len(first) <= ITEM_ID_MAX and first.startswith("Enterprise Analytics")
    assert "~" in first


def test_an_existing_netsuite_item_with_the_same_item_id_is_matched():
    ch2 = mapped()["CH2"]
    assert (ch2["_match_target_id"], ch2["_match"]) == ("300", "same itemId")


def test_accounting_code_in_netsuite_display_form_resolves():
    charges = tables()["zuora.product_rate_plan_charges"].with_columns(accounting_code=pl.lit("4010 Usage"))
    rows = mapped(**{"zuora.product_rate_plan_charges": charges})
    assert rows["CH1"]["incomeAccount"] == {"internalId": "56"}
