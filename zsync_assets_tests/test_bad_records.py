"""One bad record among good ones: it alone waits, named, and every other record lands.

Two layers: the plan blocks a value the target cannot hold before anything is sent, and push
splits a NetSuite list call the vendor refused as a whole until the bad record stands alone.
Both are exercised against the real sandboxes through the real clients.
"""

from __future__ import annotations

import math

import polars as pl

from zsync_assets.engine.sending import write_isolating
from zsync_assets.engine.sink import Outgoing
from zsync_assets.targets.netsuite import NetSuiteSink


def test_an_account_whose_address_netsuite_cannot_hold_is_blocked_and_the_others_land(make_sync_env):
    env = make_sync_env(zuora_size=8, netsuite_size=0)
    street = (
        "Building 7, Floor 3, " + "Industriepark Höchst, Brüningstraße 50, Tor Süd, Anlieferung über Zufahrt C " * 2
    )
    assert 150 < len(street) <= 255  # Zuora's address1 holds it, NetSuite's addr1 does not
    contact = {"firstName": "Ada", "lastName": "Lovelace", "country": "Germany", "address1": street}
    bad = env.create_account(name="Frankfurt Chemie AG", billToContact=contact, soldToContact=contact)

    assert env.run(["customers"]).success

    plan = env.plan("customers")
    row = plan.filter(pl.col("source_id") == bad).row(0, named=True)
    assert row["action"] == "blocked"
    assert f"addr1 is {len(street)} characters; NetSuite allows 150" in row["reason"], row["reason"]
    good = set(plan.filter(pl.col("action") == "create")["source_id"])
    assert len(good) >= 4 and good <= set(env.links("customers")["source_id"])
    assert bad not in set(env.links("customers")["source_id"])
    names = {c["companyName"] for c in env.netsuite_records("customer")}
    assert "Frankfurt Chemie AG" not in names and len(names) == len(good)

    fixed = {**contact, "address1": "Brüningstraße 50"}
    env.update_account(bad, billToContact=fixed, soldToContact=fixed)  # fixed at the source: sent next run
    assert env.run(["customers"]).success
    assert bad in set(env.links("customers")["source_id"])


def test_a_name_longer_than_netsuite_holds_is_cut_and_kept_whole_in_comments(make_sync_env):
    env = make_sync_env(zuora_size=2, netsuite_size=0)
    name = "Consolidated Precision Instruments and Research Holding Company of the Americas, Incorporated"
    assert 83 < len(name) <= 255
    account = env.create_account(name=name)
    assert env.run(["customers"]).success
    customer = env.netsuite_customer(env.links("customers").filter(pl.col("source_id") == account)["target_id"][0])
    assert len(customer["companyName"]) <= 83 and customer["companyName"].endswith("…")
    assert name.startswith(customer["companyName"].removesuffix("…"))
    assert customer["comments"] == f"Name in Zuora: {name}"


def _customer(i: int, subsidiary: str, country: str = "_germany") -> Outgoing:
    payload = {
        "companyName": f"Isolation Kunde {i}",
        "subsidiary": {"internalId": subsidiary},
        "addressbookList": {
            "addressbook": [
                {"defaultBilling": True, "label": "HQ", "addressbookAddress": {"country": country, "city": "Köln"}}
            ]
        },
    }
    return Outgoing(f"src-{i}", "create", "customer", payload, f"zsync:isolation:{i}", f"key-{i}")


def test_a_list_call_netsuite_refuses_as_a_whole_is_split_until_the_bad_record_stands_alone(sync_env):
    # A country outside NetSuite's Country enumeration faults the whole upsertList (schema
    # validation), whatever the other 15 records hold.
    with sync_env.netsuite_client() as client:
        subsidiary = next(r["internalId"] for page in client.search("subsidiary", {}) for r in page)
        records = [_customer(i, subsidiary) for i in range(16)]
        records[11] = _customer(11, subsidiary, country="_narnia")
        outcomes = write_isolating(NetSuiteSink(client), records)
        calls = client.calls["upsertList"]

    failed = {o.source_id: o for o in outcomes if not o.ok}
    assert set(failed) == {"src-11"}
    failure = failed["src-11"].failure
    assert failure is not None and failure.kind == "data" and failure.whole_request and "_narnia" in failure.message
    assert all(o.target_id for o in outcomes if o.ok)
    stored = {c.get("externalId") for c in sync_env.netsuite_records("customer")}
    assert {r.external_id for r in records} - stored == {"zsync:isolation:11"}
    # 1 refused call, then one split per level down to the bad record: 1 + 2 * log2(16) calls.
    assert calls <= 1 + 2 * math.ceil(math.log2(16)), calls
