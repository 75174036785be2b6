"""Customer mapping, both directions: pure polars on hand-built staged frames."""

import json

import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.plan import build_plan
from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE, customers_from_zuora_accounts
from zsync_assets.flows.customers_to_zuora import accounts_from_netsuite_customers

ACCOUNTS = pl.DataFrame(
    {
        "id": ["A1", "A2", "A3", "A4", "A5", "A6"],
        "account_number": ["AN-1", "AN-2", "AN-3", "AN-4", "AN-5", "AN-6"],
        "name": ["Acme", "Acme EU", "Gone Ltd", "Quiet", "Mars Co", "Jane Doe"],
        "currency": ["USD", "EUR", "USD", "USD", "XXX", "USD"],
        "status": ["Active", "Active", "Canceled", "Active", "Active", "Draft"],
        "parent_id": [None, "A1", None, None, None, None],
        "bill_to_id": ["C1", None, None, None, None, None],
        "sold_to_id": ["C2", None, None, None, None, None],
        "payment_term": ["Net 30", "Due on receipt", None, None, None, None],
        "integration_id__ns": [None, None, None, None, None, None],
        "syncto_net_suite__ns": [None, "Yes", None, "No", None, None],
        "subsidiary__ns": [None, None, None, None, None, None],
    }
)
CONTACTS = pl.DataFrame(
    {
        "id": ["C1", "C2"],
        "first_name": ["Ann", "Bob"],
        "last_name": ["Lee", "Ray"],
        "work_email": ["ann@acme.test", "bob@acme.test"],
        "work_phone": ["555", None],
        "address1": ["1 Main St", "2 Side St"],
        "address2": [None, None],
        "city": ["Austin", "Paris"],
        "state": ["TX", None],
        "postal_code": ["78701", "75001"],
        "country": ["United States", "France"],
    }
)
NS = {
    "netsuite.currencies": pl.DataFrame(
        {"internal_id": ["1", "2"], "name": ["US Dollar", "Euro"], "symbol": ["USD", "EUR"]}
    ),
    "netsuite.subsidiaries": pl.DataFrame({"internal_id": ["1", "3"], "name": ["HQ", "Europe BV"]}),
    "netsuite.terms": pl.DataFrame({"internal_id": ["7"], "name": ["Net 30"]}),
    "netsuite.customers": pl.DataFrame(
        {"internal_id": ["900"], "entity_id": ["AN-1"], "external_id": [None], "custentity_zsync_zuora_id": [None]}
    ),
}


def mapped(accounts=ACCOUNTS, config: Config | None = None, **extra):
    tables = {"zuora.accounts": accounts, "zuora.contacts": CONTACTS, **NS, **extra}
    return {r["source_id"]: r for r in customers_from_zuora_accounts(tables, config or Config()).to_dicts()}


def test_an_active_account_maps_to_a_customer_with_resolved_references_and_addresses():
    a1 = mapped()["A1"]
    assert (a1["entityId"], a1["companyName"], a1["email"]) == ("AN-1", "Acme", "ann@acme.test")
    assert a1["currency"] == {"internalId": "1"} and a1["subsidiary"] == {"internalId": "1"}
    assert a1["terms"] == {"internalId": "7"}
    book = a1["addressbookList"]["addressbook"]
    assert [e["label"] for e in book] == ["Bill To", "Sold To"]
    assert book[0]["addressbookAddress"]["country"] == "_unitedStates"
    assert book[1]["addressbookAddress"]["country"] == "_france"
    assert a1["customFieldList"] == {"custentity_zsync_zuora_id": "A1"}
    # pre-existing NetSuite customer with the same entityId: linked, not duplicated
    assert (a1["_match_target_id"], a1["_match"]) == ("900", "same entityId as the account number")


def test_child_follows_its_parent_by_external_id_and_subsidiary_follows_currency_config():
    a2 = mapped(config=Config(subsidiary_by_currency={"EUR": "Europe BV"}))["A2"]
    assert a2["parent"]["externalId"] == "zsync:customers:A1"  # nulls are dropped from the payload
    assert a2["_after"] == "A1"
    assert a2["subsidiary"] == {"internalId": "3"}
    assert a2["terms"] is None  # unknown term and no default: omitted, not nulled


def test_the_parent_reference_does_not_change_once_the_parent_is_linked():
    # Otherwise every child created with its parent in one run is updated again on the next.
    links = pl.DataFrame({"flow": ["customers"], "source_id": ["A1"], "target_id": ["900"]})
    assert (
        mapped(**{"zsync.links": links})["A2"]["parent"]
        == mapped()["A2"]["parent"]
        == {"externalId": "zsync:customers:A1"}
    )


def test_sync_rules_for_canceled_do_not_sync_draft_and_unresolvable_currency():
    rows = mapped()
    assert rows["A3"]["isInactive"] is True and rows["A3"]["_only_if_linked"]
    assert rows["A4"]["_skip"] == "SynctoNetSuite__NS is No"
    assert rows["A6"]["_skip"] == "account is Draft"
    assert rows["A5"]["_blocked"] == "no NetSuite currency with ISO code 'XXX'"


def test_overrides_subsidiary_by_id_or_name_and_individual_customer_type():
    accounts = ACCOUNTS.with_columns(
        subsidiary__ns=pl.Series([None, "Europe BV", "99", "Nowhere", None, None]),
        customer_type__ns=pl.Series(["Individual", None, None, None, None, None]),
    )
    rows = mapped(accounts)
    assert rows["A2"]["subsidiary"] == {"internalId": "3"}
    assert rows["A3"]["subsidiary"] == {"internalId": "99"}
    assert rows["A4"]["_blocked"] == "no NetSuite subsidiary named 'Nowhere'"
    a1 = rows["A1"]
    assert (a1["isPerson"], a1["firstName"], a1["lastName"], a1["companyName"]) == (True, "Ann", "Lee", None)


def test_integration_id_wins_as_the_match_and_the_plan_says_so():
    accounts = ACCOUNTS.with_columns(integration_id__ns=pl.Series(["555", None, None, None, None, None]))
    tables = {"zuora.accounts": accounts, "zuora.contacts": CONTACTS, **NS}
    plan = build_plan(CUSTOMERS_TO_NETSUITE, customers_from_zuora_accounts(tables, Config()))
    a1 = plan.filter(pl.col("source_id") == "A1").to_dicts()[0]
    assert (a1["action"], a1["target_id"], a1["match"]) == ("update", "555", "IntegrationId__NS")
    assert "phone" in json.loads(a1["payload"]) and "address2" not in a1["payload"]
    counts = plan.group_by("action").len().sort("action").to_dicts()
    assert {c["action"]: c["len"] for c in counts} == {"blocked": 1, "create": 1, "skip": 3, "update": 1}


def test_netsuite_customers_flagged_send_to_zuora_map_to_accounts():
    customers = pl.DataFrame(
        {
            "internal_id": ["10", "11"],
            "entity_id": ["CUST-10", "CUST-11"],
            "company_name": ["Nimbus", "Other"],
            "email": ["a@nimbus.test", None],
            "currency_internal_id": ["2", "1"],
            "addressbook_list": [
                json.dumps(
                    {
                        "addressbook": [
                            {
                                "defaultBilling": True,
                                "addressbookAddress": {"addr1": "3 Quay", "city": "Dublin", "country": "_ireland"},
                            }
                        ]
                    }
                ),
                None,
            ],
            "custentity_zsync_send_to_zuora": [True, False],
            "custentity_zsync_zuora_id": [None, None],
        }
    )
    tables = {
        "netsuite.customers": customers,
        "netsuite.currencies": NS["netsuite.currencies"],
        "zuora.accounts": pl.DataFrame({"id": ["Z9"], "account_number": ["CUST-10"], "integration_id__ns": [None]}),
    }
    rows = {r["source_id"]: r for r in accounts_from_netsuite_customers(tables, Config()).to_dicts()}
    r10 = rows["10"]
    assert (r10["name"], r10["currency"], r10["IntegrationId__NS"]) == ("Nimbus", "EUR", "10")
    assert r10["billToContact"]["country"] == "Ireland" and r10["billToContact"]["firstName"] == "Nimbus"
    assert (r10["_match_target_id"], r10["_match"]) == ("Z9", "same account number as the entityId")
    assert rows["11"]["_skip"] == "custentity_zsync_send_to_zuora is not checked"
