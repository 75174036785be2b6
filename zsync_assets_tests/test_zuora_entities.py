"""Zuora Multi-entity: zsync works in the entity `ZUORA_ENTITY_ID` names and in no other.

The sandbox runs a two-entity tenant (each entity with records of its own, seeded differently);
the default OAuth client reaches both, so every request must name its entity in
`Zuora-Entity-Ids`, and a sync with the setting reads and writes one entity only.
"""

from __future__ import annotations

import httpx
import pytest

from zsync_assets.clients.zuora import ZuoraClient, ZuoraError, ZuoraResource
from zsync_assets.sandbox import defaults
from zsync_assets.sandbox.zuora.entities import entity_ids
from zsync_assets_tests.fixtures.zuora_client import connect

OBJECTS = (
    "accounts",
    "contacts",
    "products",
    "product-rate-plans",
    "product-rate-plan-charges",
    "subscriptions",
    "invoices",
    "payments",
    "refunds",
    "credit-memos",
    "debit-memos",
)
EVERYTHING = "updatedDate.GE:2000-01-01T00:00:00Z"


def snapshot(sandbox, entity: str) -> dict[str, dict[str, str]]:
    """Every record of the entity, as {object: {id: updatedDate}} (a write anywhere bumps one)."""
    with sandbox.client(entity) as api:
        out = {}
        for obj in (*OBJECTS, "invoice-items"):
            rows, cursor = [], None
            while True:
                params = {"pageSize": 99, "filter[]": EVERYTHING, **({"cursor": cursor} if cursor else {})}
                body = api.get(f"/object-query/{obj}", params=params).json()
                rows += body["data"]
                cursor = body.get("nextPage")
                if not cursor:
                    break
            out[obj] = {r["id"]: r["updatedDate"] for r in rows}
        return out


def test_a_sync_reads_and_writes_only_the_entity_it_is_set_to(make_sync_env):
    env = make_sync_env(zuora_size=6, zuora_settings={"entities": 2})
    first, second = env.zuora.entities()
    env.zuora_entity_id = second
    other_before = snapshot(env.zuora, first)
    mine_before = snapshot(env.zuora, second)
    assert other_before["accounts"] and mine_before["accounts"]
    assert not set(other_before["accounts"]) & set(mine_before["accounts"])  # two sets of records
    env.zuora._admin("POST", "stats/reset")

    env.run()

    stats = env.zuora.stats()
    assert stats.get(f"entity:{second}", 0) > 0 and stats.get(f"writes:entity:{second}", 0) > 0
    assert f"entity:{first}" not in stats and f"writes:entity:{first}" not in stats  # never read, never written
    staged = set(env.query("select id from zuora.accounts")["id"])
    assert staged == set(mine_before["accounts"])
    created = [c for c in env.netsuite_records("customer") if str(c.get("externalId", "")).startswith("zsync:")]
    zuora_ids = {c["customFieldList"]["custentity_zsync_zuora_id"] for c in created}
    assert zuora_ids and zuora_ids <= set(mine_before["accounts"])
    assert set(env.links("customers")["source_id"]) == zuora_ids
    written_back = [a for a in env.zuora_records("accounts") if a.get("IntegrationId__NS")]
    assert {a["id"] for a in written_back} == zuora_ids  # the write-back landed in this entity
    assert snapshot(env.zuora, first) == other_before
    assert env.query("select instance_id from zsync.instance where system = 'zuora'")["instance_id"].to_list() == [
        f"9000001/{second}"
    ]

    # Pointed at the other entity, the same warehouse refuses before reading or writing anything.
    env.zuora._admin("POST", "stats/reset")
    env.zuora_entity_id = first
    result = env.run(["customers"], raise_on_error=False)
    assert not result.success
    failures = [str(e.event_specific_data.error) for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures and all(first in f and "bound" in f for f in failures)
    assert f"writes:entity:{first}" not in env.zuora.stats()
    assert snapshot(env.zuora, first) == other_before


def test_a_token_for_two_entities_must_name_one(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=2, entities=2)
    first, second = sandbox.entities()
    token = sandbox.token()
    unnamed = httpx.get(f"{sandbox.url}/object-query/accounts", headers={"Authorization": f"Bearer {token}"})
    assert unnamed.status_code == 400 and str(unnamed.json()["reasons"][0]["code"]).endswith("23")
    assert "Zuora-Entity-Ids" in unnamed.json()["reasons"][0]["message"]
    with pytest.raises(ZuoraError, match="Zuora-Entity-Ids"):
        next(connect(sandbox, max_attempts=1).query_objects("accounts"))
    accounts = {
        e: {r["id"] for p in connect(sandbox, entity_id=e).query_objects("accounts") for r in p}
        for e in (first, second)
    }
    assert accounts[first] and accounts[second] and not accounts[first] & accounts[second]
    unknown = httpx.get(
        f"{sandbox.url}/object-query/accounts",
        headers={"Authorization": f"Bearer {token}", "Zuora-Entity-Ids": "11e643f4-a3ee-8bad-b061-0025904c756d"},
    )
    assert unknown.status_code == 403


def test_an_oauth_client_scoped_to_one_entity_cannot_reach_the_other(make_zuora_sandbox):
    scoped_id, scoped_secret = "zsync-scoped-client-0000000000000002", "scoped-secret"
    first, second = entity_ids(defaults.ZUORA_TENANT_ID, 2)
    sandbox = make_zuora_sandbox(
        size=2, entities=2, oauth_clients={scoped_id: {"secret": scoped_secret, "entities": [second]}}
    )
    scoped = ZuoraClient(sandbox.url, scoped_id, scoped_secret, backoff_base_s=0.02, max_attempts=1)
    # A token valid for one entity needs no header, and lists only that entity in its scope.
    mine = {r["id"] for p in scoped.query_objects("accounts") for r in p}
    assert mine == {r["id"] for p in connect(sandbox, entity_id=second).query_objects("accounts") for r in p}
    token = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": scoped_id, "client_secret": scoped_secret},
    ).json()
    assert f"entity.{second}" in token["scope"].split() and f"entity.{first}" not in token["scope"]
    refused = httpx.get(
        f"{sandbox.url}/object-query/accounts",
        headers={"Authorization": f"Bearer {token['access_token']}", "Zuora-Entity-Ids": first},
    )
    assert refused.status_code == 403 and refused.json()["reasons"][0]["message"]
    with pytest.raises(ZuoraError, match="cannot access entity"):
        _ = ZuoraClient(sandbox.url, scoped_id, scoped_secret, entity_id=first, max_attempts=1).tenant_id


def test_zuora_entity_id_setting(monkeypatch):
    entity = "11e643f4-a3ee-8bad-b061-0025904c756d"
    monkeypatch.setenv("ZUORA_ENTITY_ID", entity)
    client = ZuoraResource.from_env().process_config_and_initialize().get_client()  # EnvVars resolved as Dagster does
    assert client.entity_id == entity and client._http.headers["Zuora-Entity-Ids"] == entity
    with pytest.raises(ValueError, match="ZUORA_ENTITY_ID.*36-character UUID"):
        ZuoraClient("http://127.0.0.1:1", "x" * 36, "secret", entity_id="8a8082c45b27f6c3015b2bad1a5e0b5b")
