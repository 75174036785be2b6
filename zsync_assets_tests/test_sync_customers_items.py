"""customers and items end to end: Dagster runs against both sandboxes over real sockets.

Every assertion looks at one of the systems (NetSuite records through SuiteTalk, Zuora
records through its REST API, write requests counted by the sandboxes themselves) or at
zsync's own tables, never at a stub.
"""

from __future__ import annotations

import json

import polars as pl
from click.testing import CliRunner

from zsync_assets.cli import main
from zsync_assets.engine.flow import WriteBack
from zsync_assets.engine.sink import LinkNotice
from zsync_assets.targets.zuora import STATUS_ERROR, STATUS_OK, ZuoraSink
from zsync_assets_tests.fixtures.sync_env import crash_after_write, netsuite_write_calls


def _links(env, flow: str) -> dict[str, str]:
    return dict(env.links(flow).select("source_id", "target_id").iter_rows())


def _action(env, flow: str, source_id: str) -> dict:
    return env.plan(flow).filter(pl.col("source_id") == source_id).row(0, named=True)


def _customers_named(env, entity_id: str) -> list[dict]:
    return env.netsuite_records("customer", entityId=entity_id)


def test_first_run_creates_a_rerun_sends_nothing_and_three_changed_accounts_are_three_updates(sync_env):
    env = sync_env
    env.run()

    customers, items = env.plan("customers"), env.plan("items")
    created = set(customers.filter(pl.col("action") == "create")["source_id"])
    created_items = set(items.filter(pl.col("action") == "create")["source_id"])
    assert len(created) >= 5 and len(created_items) >= 3
    assert set(_links(env, "customers")) == created and set(_links(env, "items")) == created_items

    netsuite = {r["internalId"]: r for r in env.netsuite_records("customer")}
    for account_id, customer_id in _links(env, "customers").items():
        customer = netsuite[customer_id]
        assert customer["externalId"] == f"zsync:customers:{account_id}"
        assert customer["customFieldList"]["custentity_zsync_zuora_id"] == account_id
        account = env.zuora_account(account_id)  # write-back: Zuora learns its counterpart
        assert (account["IntegrationId__NS"], account["IntegrationStatus__NS"]) == (customer_id, STATUS_OK)
    items_in_netsuite = {r["internalId"]: r for r in env.netsuite_records("item")}
    for charge_id, item_id in _links(env, "items").items():
        assert items_in_netsuite[item_id]["customFieldList"]["custitem_zsync_zuora_id"] == charge_id

    before = env.write_calls()
    env.run()
    assert env.write_calls() == before, "an unchanged tenant must not cause a single write request"
    for flow in ("customers", "items"):
        counts = env.plan_counts(flow)
        assert counts["create"] == counts["update"] == 0, (flow, counts)

    changed = sorted(
        r["source_id"]
        for r in env.links("customers").iter_rows(named=True)
        if "companyName" in json.loads(r["payload"])
    )[:3]
    for account_id in changed:
        env.update_account(account_id, name=f"Renamed {account_id[:6]}")
    before = env.write_calls()  # after the test's own three PUTs
    env.run()

    counts = env.plan_counts("customers")
    assert (counts["create"], counts["update"]) == (0, 3)
    updates = env.plan("customers").filter(pl.col("action") == "update")
    assert sorted(updates["source_id"]) == changed
    assert all(fields == ["companyName"] for fields in updates["changed_fields"].to_list())
    after = env.write_calls()
    # Three updateLists of one customer each (a wave's batches spread over the account's
    # concurrency: engine/outgoing.py `chunks`); three Zuora write-backs (SyncDate__NS moves).
    assert after["netsuite"] - before["netsuite"] == 3 and after["zuora"] - before["zuora"] == 3
    for account_id in changed:
        assert env.netsuite_customer(_links(env, "customers")[account_id])["companyName"] == f"Renamed {account_id[:6]}"


def test_parent_and_child_land_in_one_run_parent_first(sync_env):
    env = sync_env
    parent = env.create_account(name="Parent Holdings", accountNumber="PARENT-1")
    child = env.create_account(name="Child Subsidiary", accountNumber="CHILD-1", parentId=parent)
    env.run(["customers"])

    plan = env.plan("customers")
    waves = dict(plan.select("source_id", "wave").iter_rows())
    assert waves[child] == waves[parent] + 1
    links = _links(env, "customers")
    assert env.netsuite_customer(links[child])["parent"]["internalId"] == links[parent]
    log = env.push_log("customers")
    parent_done = log.filter((pl.col("source_id") == parent) & (pl.col("status") == "succeeded"))["at"].min()
    child_sent = log.filter((pl.col("source_id") == child) & (pl.col("status") == "started"))["at"].min()
    assert parent_done <= child_sent

    before = env.write_calls()
    env.run(["customers"])  # the child's payload must not change once its parent is linked
    assert env.write_calls() == before and env.plan_counts("customers")["update"] == 0


def test_sync_rules_canceled_sync_to_netsuite_no_and_subsidiary_override(sync_env):
    env = sync_env
    keep = env.create_account(name="Stays Active", accountNumber="RULE-KEEP")
    opted_out = env.create_account(name="Opted Out", accountNumber="RULE-NO", SynctoNetSuite__NS="No")
    europe = env.create_account(name="Euro Customer", accountNumber="RULE-EU", currency="EUR", Subsidiary__NS="EU GmbH")
    person = env.create_account(name="Grace Hopper", accountNumber="RULE-PERSON", CustomerType__NS="Individual")
    env.run(["customers"])

    links = _links(env, "customers")
    assert opted_out not in links and "SynctoNetSuite__NS" in _action(env, "customers", opted_out)["reason"]
    assert not _customers_named(env, "RULE-NO")
    subsidiaries = {r["name"]: r["internalId"] for r in env.netsuite_records("subsidiary")}
    assert env.netsuite_customer(links[europe])["subsidiary"]["internalId"] == subsidiaries["EU GmbH"]
    individual = env.netsuite_customer(links[person])
    assert individual["isPerson"] is True and (individual["firstName"], individual["lastName"]) == ("Ada", "Lovelace")

    # A synced account that gets canceled becomes inactive in NetSuite; it is never deleted.
    env.zuora_action_update("Account", Id=keep, Status="Canceled")
    env.run(["customers"])
    assert _action(env, "customers", keep)["action"] == "update"
    customer = env.netsuite_customer(links[keep])
    assert customer["isInactive"] is True and customer["companyName"] == "Stays Active"


def test_first_sync_links_pre_existing_customers_instead_of_duplicating(sync_env):
    env = sync_env
    by_number = env.create_account(name="Known By Number", accountNumber="PRE-1")
    by_integration_id = env.create_account(name="Known By Id", accountNumber="PRE-2")
    [subsidiary] = [r["internalId"] for r in env.netsuite_records("subsidiary", name="US Inc")]
    with env.netsuite_client() as client:
        first, second = client.add_list(
            "customer",
            [
                {"entityId": "PRE-1", "companyName": "Entered in NetSuite", "subsidiary": {"internalId": subsidiary}},
                {
                    "entityId": "NS-OWN-NUMBER",
                    "companyName": "Also in NetSuite",
                    "subsidiary": {"internalId": subsidiary},
                },
            ],
        )
    assert first.ok and second.ok
    env.update_account(by_integration_id, IntegrationId__NS=second.internal_id)
    customers_before = len(env.netsuite_records("customer"))
    env.run(["customers"])

    links = _links(env, "customers")
    assert links[by_number] == first.internal_id and links[by_integration_id] == second.internal_id
    assert _action(env, "customers", by_number)["match"] == "same entityId as the account number"
    assert _action(env, "customers", by_integration_id)["match"] == "IntegrationId__NS"
    creates = env.plan_counts("customers")["create"]
    assert len(env.netsuite_records("customer")) == customers_before + creates  # matched ones are not added
    assert [c["internalId"] for c in _customers_named(env, "PRE-1")] == [first.internal_id]
    assert [c["internalId"] for c in _customers_named(env, "PRE-2")] == [second.internal_id]
    updated = env.netsuite_customer(first.internal_id)
    assert updated["companyName"] == "Known By Number" and updated["externalId"] == f"zsync:customers:{by_number}"
    assert (
        env.netsuite_customer(second.internal_id)["customFieldList"]["custentity_zsync_zuora_id"] == by_integration_id
    )


def test_a_rejected_record_is_logged_reported_not_resent_and_lands_once_fixed(sync_env):
    env = sync_env
    bad = env.create_account(name="Wrong Subsidiary", accountNumber="BAD-1", Subsidiary__NS="999")
    env.run(["customers"])

    failed = env.query("select * from zsync.push_log where status = 'failed'")
    assert failed["source_id"].to_list() == [bad]
    assert failed["error_code"][0] == "INVALID_KEY_OR_REF" and failed["error_class"][0] == "data"
    plan = env.plan("customers")
    assert set(_links(env, "customers")) == set(plan.filter(pl.col("action") == "create")["source_id"]) - {bad}
    assert env.zuora_account(bad)["IntegrationStatus__NS"] == STATUS_ERROR  # Zuora learns the failure

    before = env.write_calls()
    env.run(["customers"])
    assert env.write_calls() == before, "an unchanged rejected record is not sent again"
    blocked = _action(env, "customers", bad)
    assert blocked["action"] == "blocked" and "INVALID_KEY_OR_REF" in blocked["reason"]

    env.update_account(bad, Subsidiary__NS="UK Ltd")
    env.run(["customers"])
    customer_id = _links(env, "customers")[bad]
    assert len(_customers_named(env, "BAD-1")) == 1
    account = env.zuora_account(bad)
    assert (account["IntegrationId__NS"], account["IntegrationStatus__NS"]) == (customer_id, STATUS_OK)


def test_netsuite_master_turns_flagged_customers_into_zuora_accounts_linked_both_ways(make_sync_env):
    env = make_sync_env(netsuite_size=14, customer_master="netsuite")  # 7 customers: one is a child
    env.run(["customers"])

    plan = env.plan("customers")
    flagged = {
        str(c["internalId"])
        for c in env.netsuite_records("customer")
        if c.get("customFieldList", {}).get("custentity_zsync_send_to_zuora")
    }
    assert set(plan.filter(pl.col("action") == "create")["source_id"]) == flagged and len(flagged) >= 2
    assert set(plan.filter(pl.col("action") == "skip")["reason"]) == {"custentity_zsync_send_to_zuora is not checked"}
    links = _links(env, "customers")
    children = 0
    for customer_id, account_id in links.items():
        customer = env.netsuite_customer(customer_id)
        account = env.zuora_account(account_id)
        assert account["IntegrationId__NS"] == customer_id and account["accountNumber"] == customer["entityId"]
        assert customer["customFieldList"]["custentity_zsync_zuora_id"] == account_id
        parent = (customer.get("parent") or {}).get("internalId")
        assert account.get("parentId") == (links[str(parent)] if parent else None)
        children += bool(parent)
    assert children >= 1, "the seed has a parent/child pair among the flagged customers"

    before = env.write_calls()
    env.run(["customers"])
    assert env.write_calls() == before
    assert env.plan_counts("customers")["create"] == env.plan_counts("customers")["update"] == 0


def test_a_hierarchy_entered_in_netsuite_becomes_a_zuora_hierarchy_in_one_run(make_sync_env):
    env = make_sync_env(netsuite_size=6, customer_master="netsuite")
    subsidiary = env.netsuite_records("subsidiary")[0]["internalId"]

    def add(entity_id: str, parent: str | None = None) -> str:
        record = {
            "entityId": entity_id,
            "companyName": f"{entity_id} Co",
            "subsidiary": {"internalId": subsidiary},
            "currency": {"internalId": "1"},
            "customFieldList": {"custentity_zsync_send_to_zuora": True},
        }
        with env.netsuite_client() as client:
            (added,) = client.add_list(
                "customer", [{**record, **({"parent": {"internalId": parent}} if parent else {})}]
            )
        assert added.ok, added
        return added.internal_id

    group = add("HIER-GROUP")
    region = add("HIER-REGION", parent=group)
    branch = add("HIER-BRANCH", parent=region)
    loner = add("HIER-LONER")
    env.run(["customers"])

    links = _links(env, "customers")
    assert env.zuora_account(links[group]).get("parentId") is None
    assert env.zuora_account(links[region])["parentId"] == links[group]
    assert env.zuora_account(links[branch])["parentId"] == links[region]
    waves = dict(env.plan("customers").select("source_id", "wave").iter_rows())
    assert (waves[group], waves[region], waves[branch]) == (0, 1, 2)
    before = env.write_calls()
    env.run(["customers"])
    assert env.write_calls() == before and env.plan_counts("customers")["update"] == 0

    # Made a sub-customer after it reached Zuora: the account gets the parent too.
    with env.netsuite_client() as client:
        (moved,) = client.update_list("customer", [{"internalId": loner, "parent": {"internalId": group}}])
    assert moved.ok, moved
    env.run(["customers"])
    assert _action(env, "customers", loner)["changed_fields"] == ["parentId"]
    assert env.zuora_account(links[loner])["parentId"] == links[group]


def _one_customer_per_entity(env) -> None:
    entity_ids = [c["entityId"] for c in env.netsuite_records("customer")]
    assert len(entity_ids) == len(set(entity_ids)), "a customer was created twice"


def _complete_links(env, sendable: set[str]) -> dict[str, str]:
    links = env.links("customers")
    assert set(links["source_id"]) == sendable
    assert set(links["writeback_status"]) == {"ok"}
    return dict(links.select("source_id", "target_id").iter_rows())


def _sendable(env) -> set[str]:
    plan = env.plan("customers")
    return set(plan.filter(pl.col("action").is_in(["create", "update"]))["source_id"])


def test_zuora_to_netsuite_survives_commit_then_drop_and_a_crash_after_the_call(sync_env):
    env = sync_env
    env.netsuite.set_faults([{"route": "upsertList", "commit_then_drop": 1}])
    env.run(["customers"], raise_on_error=False)
    # The dropped upsertList committed; the client sent it again (an upsert by externalId is
    # replay-safe), so every record of the run has its answer: none is left to look up.
    assert env.netsuite.stats()["upsertList"] >= 2
    answers = env.query("select status, count(*) as n from zsync.push_log where action = 'create' group by 1")
    started, succeeded = (answers.filter(pl.col("status") == s)["n"].sum() for s in ("started", "succeeded"))
    assert set(answers["status"]) == {"started", "succeeded"} and started == succeeded > 0
    env.netsuite.clear_faults()
    sendable = _sendable(env)
    env.run(["customers"])
    links = _complete_links(env, sendable)
    _one_customer_per_entity(env)
    with env.netsuite_client() as client:
        found = client.get_list("customer", external_ids=[f"zsync:customers:{a}" for a in links])
    assert {r["externalId"]: r["internalId"] for r in found} == {f"zsync:customers:{a}": c for a, c in links.items()}

    crashed = env.create_account(name="Crash Victim", accountNumber="CRASH-1")
    result = env.run(["customers"], sinks=crash_after_write("netsuite"), raise_on_error=False)
    assert not result.success
    last = env.query(f"select status from zsync.push_log where source_id = '{crashed}' order by \"at\"")
    assert last["status"].to_list() == ["started"]  # no outcome was recorded...
    assert len(_customers_named(env, "CRASH-1")) == 1  # ...but NetSuite has the customer

    env.run(["customers"])
    # Staging already sees the customer under its externalId (so the plan may say update); either
    # way the unanswered attempt is looked up before anything is sent.
    assert _action(env, "customers", crashed)["needs_lookup"]
    lookup = env.query(f"select * from zsync.push_log where source_id = '{crashed}' and action = 'lookup'")
    (found,) = _customers_named(env, "CRASH-1")
    assert lookup["target_id"].to_list() == [found["internalId"]]
    assert _links(env, "customers")[crashed] == found["internalId"]
    assert env.zuora_account(crashed)["IntegrationId__NS"] == found["internalId"]
    _one_customer_per_entity(env)


def test_netsuite_to_zuora_survives_commit_then_drop_and_a_crash_after_the_call(make_sync_env):
    env = make_sync_env(netsuite_size=8, customer_master="netsuite")
    env.zuora.set_faults([{"route": "POST /v1/accounts", "commit_then_drop": 1}])
    env.run(["customers"], raise_on_error=False)
    # The dropped create committed; the client's retry carried the same Idempotency-Key and Zuora
    # replayed the first answer instead of creating the account again.
    stats = env.zuora.stats()
    assert stats["POST /v1/accounts"] == stats["writes:POST /v1/accounts"] + 1
    env.zuora.clear_faults()
    sendable = _sendable(env)
    env.run(["customers"])
    for customer_id, account_id in _complete_links(env, sendable).items():
        assert [a["id"] for a in env.zuora_records("accounts", IntegrationId__NS=customer_id)] == [account_id]

    [subsidiary] = env.netsuite_records("subsidiary", name="US Inc")
    with env.netsuite_client() as client:
        (added,) = client.add_list(
            "customer",
            [
                {
                    "entityId": "NS-CRASH-1",
                    "companyName": "Crash Victim NS",
                    "subsidiary": {"internalId": subsidiary["internalId"]},
                    "currency": {"internalId": subsidiary["currency"]["internalId"]},
                    "customFieldList": {"custentity_zsync_send_to_zuora": True},
                }
            ],
        )
    assert added.ok
    result = env.run(["customers"], sinks=crash_after_write("zuora"), raise_on_error=False)
    assert not result.success
    assert len(env.zuora_records("accounts", IntegrationId__NS=added.internal_id)) == 1
    assert added.internal_id not in _links(env, "customers")

    env.run(["customers"])
    (account,) = env.zuora_records("accounts", IntegrationId__NS=added.internal_id)
    assert _links(env, "customers")[added.internal_id] == account["id"]
    assert env.netsuite_customer(added.internal_id)["customFieldList"]["custentity_zsync_zuora_id"] == account["id"]
    assert _action(env, "customers", added.internal_id)["needs_lookup"]


def test_a_second_netsuite_account_is_refused_before_anything_is_written(sync_env, make_netsuite_sandbox):
    env = sync_env
    env.run(["customers"])
    other = make_netsuite_sandbox(account="TSTDRV0000002")
    other.account = "TSTDRV0000002"  # the fixture signs passports with this account id
    zuora_before = env.write_calls()["zuora"]
    staged_before = env.query("select * from netsuite.customers order by internal_id")

    result = env.run(["customers"], netsuite=other, raise_on_error=False)
    assert not result.success
    failures = [str(e.event_specific_data.error) for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures and all("TSTDRV0000002" in f and "bound" in f for f in failures)
    assert netsuite_write_calls(other.stats()) == 0 and env.write_calls()["zuora"] == zuora_before
    # Refused before staging too: the other account's customers never reach the warehouse.
    assert other.stats().get("search", 0) == 0
    assert env.query("select * from netsuite.customers order by internal_id").equals(staged_before)
    bound = env.query("select instance_id from zsync.instance where system = 'netsuite'")["instance_id"].to_list()
    assert bound == [env.netsuite.account]

    # A deliberate switch: `zsync rebind --yes` forgets binding, links and staged data, and the
    # next run binds to the other account and creates the customers there.
    refused = CliRunner().invoke(main, ["rebind"])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert CliRunner().invoke(main, ["rebind", "--yes"]).exit_code == 0
    assert env.query("select count(*) as n from zsync.links")["n"][0] == 0
    env.run(["customers"], netsuite=other)
    bound = env.query("select instance_id from zsync.instance where system = 'netsuite'")["instance_id"].to_list()
    assert bound == ["TSTDRV0000002"]
    assert netsuite_write_calls(other.stats()) > 0
    created = {
        r["data"]["externalId"]: str(r["internal_id"])
        for r in other.app.state.store.all(("customer",))
        if (r["data"].get("externalId") or "").startswith("zsync:customers:")
    }
    links = env.links("customers")
    assert dict(zip("zsync:customers:" + links["source_id"], links["target_id"], strict=True)) == created


def test_write_back_that_fails_is_retried_on_the_next_run_and_then_left_alone(sync_env):
    env = sync_env
    bad = env.create_account(name="Wrong Subsidiary", accountNumber="BAD-2", Subsidiary__NS="999")
    env.zuora.set_faults([{"route": "POST /v1/action/update", "error_rate": 1.0, "error_status": 503}])
    env.run(["customers"])

    links = env.links("customers")
    assert not links.is_empty() and set(links["writeback_status"]) == {"failed"}
    told = env.query("select source_id, status, error_code from zsync.push_log where action = 'writeback'")
    assert (
        set(told["status"]) == {"failed"} and set(told["error_code"]) == {"HTTP_503"} and bad in set(told["source_id"])
    )
    assert env.zuora_account(bad).get("IntegrationStatus__NS") is None

    env.zuora.clear_faults()
    env.run(["customers"])
    assert set(env.links("customers")["writeback_status"]) == {"ok"}
    assert env.zuora_account(bad)["IntegrationStatus__NS"] == STATUS_ERROR
    for account_id, customer_id in _links(env, "customers").items():
        assert env.zuora_account(account_id)["IntegrationId__NS"] == customer_id

    before = env.write_calls()
    env.run(["customers"])
    assert env.write_calls() == before


def test_accounts_are_written_back_fifty_a_call_and_a_refused_one_fails_alone(sync_env):
    """The Zuora sink against the sandbox: account write-backs go as `/v1/action/update` calls of
    at most 50 objects (Zuora's limit for action calls), each object saved or refused by itself:
    an account deleted before its write-back fails alone, named, and the rest learn their links."""
    env = sync_env
    accounts = [env.create_account(name=f"Write-back {i}", accountNumber=f"WB-{i}") for i in range(60)]
    gone = "2c92c0f8deadbeefdeadbeefdeadbeef"
    notices = [LinkNotice(a, str(7000 + i), True) for i, a in enumerate(accounts)]
    notices.insert(25, LinkNotice(gone, "6999", True))
    before = env.zuora.stats().get("POST /v1/action/update", 0)

    with env.resources()["zuora"].get_client() as client:
        outcomes = ZuoraSink(client).write_back(WriteBack("Account"), notices)

    assert env.zuora.stats().get("POST /v1/action/update", 0) - before == 2  # 61 notices: 50 + 11
    assert [o.source_id for o in outcomes] == [n.source_id for n in notices]
    refused = [o for o in outcomes if not o.ok]
    assert [o.source_id for o in refused] == [gone]
    failure = refused[0].failure
    assert failure is not None and failure.kind == "data" and gone in failure.message
    for notice in notices:
        if notice.source_id != gone:
            account = env.zuora_account(notice.source_id)
            assert (account["IntegrationId__NS"], account["IntegrationStatus__NS"]) == (notice.target_id, STATUS_OK)


def test_a_write_back_call_whose_answer_is_lost_is_sent_again_at_once(sync_env):
    """An action call that sets fields is the same call sent twice: when Zuora commits it and the
    connection drops, the client sends it again in the same run instead of leaving every record
    of it failed until the next one (as it must for a create)."""
    env = sync_env
    accounts = [env.create_account(name=f"Dropped {i}", accountNumber=f"DR-{i}") for i in range(3)]
    notices = [LinkNotice(a, str(7100 + i), True) for i, a in enumerate(accounts)]
    env.zuora.set_faults([{"route": "POST /v1/action/update", "commit_then_drop": 1}])
    before = env.zuora.stats().get("POST /v1/action/update", 0)

    with env.resources()["zuora"].get_client() as client:
        outcomes = ZuoraSink(client).write_back(WriteBack("Account"), notices)

    assert [o.ok for o in outcomes] == [True] * 3
    assert env.zuora.stats().get("POST /v1/action/update", 0) - before == 2  # dropped, then again
    told = {a: env.zuora_account(a)["IntegrationId__NS"] for a in accounts}
    assert told == {n.source_id: n.target_id for n in notices}
