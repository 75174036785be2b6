"""Vendor faults through the real clients and sandboxes: a transient failure is sent again on the
next run and lands; a data failure waits until its source changes.

The verdict is the NetSuite client's (`clients/netsuite/soap.py`), carried as a typed value to
the push log; nothing downstream reads code strings. Before, a whole request that failed was
logged `ZSYNC_REQUEST_FAILED:<code>` and filed as data, whatever the code, and its records waited
for a source change that never came.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from zsync_assets.defs.connections import ZUORA_CONNECTION
from zsync_assets.engine.catalog import push_key

# Every kind fails every list write for one run (each call is retried by the client first).
TRANSIENT_FAULTS: dict[str, dict[str, Any]] = {
    "governance fault (WS_REQUEST_BLOCKED)": {"rate_limit_rate": 1.0},
    "WS_CONCUR_SESSION_DISALLWD": {"error_rate": 1.0, "error_status": 500, "error_code": "WS_CONCUR_SESSION_DISALLWD"},
    "UNEXPECTED_ERROR fault": {"error_rate": 1.0, "error_status": 500},
    "HTTP 503 page from a proxy": {"error_rate": 1.0, "error_status": 503, "error_body": "html"},
    "dropped after commit": {"commit_then_drop_rate": 1.0},
    "timeout": {"timeout_rate": 1.0, "timeout_ms": 4000},
}


def _last_attempt(env, flow: str, source_id: str) -> dict:
    rows = env.query(
        f"select * from zsync.push_log where flow = '{flow}' and source_id = '{source_id}' "
        "and action in ('create', 'update') and status <> 'started' order by \"at\" desc limit 1"
    )
    return rows.row(0, named=True)


def test_every_transient_netsuite_failure_is_sent_again_on_the_next_run_and_lands(make_sync_env):
    env = make_sync_env(zuora_size=6, netsuite_size=0)
    env.client_timeout_s = 1.5
    assert env.run(["customers"]).success
    linked = dict(env.links("customers").select("source_id", "target_id").iter_rows())
    account = sorted(linked)[0]

    for n, (kind, rule) in enumerate(TRANSIENT_FAULTS.items()):
        name = f"Renamed {n} Ltd"
        env.update_account(account, name=name)
        env.netsuite.set_faults([{"route": "up*List", **rule}])  # updateList: the record is linked
        env.run(["customers"], raise_on_error=False)
        env.netsuite.clear_faults()
        failed = _last_attempt(env, "customers", account)
        assert failed["status"] == "failed", kind
        assert failed["error_class"] in ("transient", "unknown"), (kind, failed)

        before = env.netsuite.stats().get("updateList", 0)
        assert env.run(["customers"]).success, kind
        assert env.netsuite.stats().get("updateList", 0) > before, f"{kind}: not sent again"
        customer = env.netsuite_customer(linked[account])
        assert customer["companyName"] == name, kind
        assert [c["companyName"] for c in env.netsuite_records("customer")].count(name) == 1, kind


def test_a_record_netsuite_refuses_for_its_data_waits_until_its_source_changes(make_sync_env):
    env = make_sync_env(zuora_size=6, netsuite_size=0)
    account = sorted(
        a["id"]
        for a in env.zuora_records("accounts", status="Active")
        if (a.get("SynctoNetSuite__NS") or "").lower() != "no"
    )[0]
    # A subsidiary internal id NetSuite does not have: refused per record (INVALID_KEY_OR_REF).
    env.update_account(account, Subsidiary__NS="999999")
    env.run(["customers"], raise_on_error=False)
    refused = _last_attempt(env, "customers", account)
    assert (refused["status"], refused["error_class"]) == ("failed", "data"), refused
    assert refused["error_code"] == "INVALID_KEY_OR_REF"

    sent = env.netsuite.stats().get("upsertList", 0)
    assert env.run(["customers"]).success
    row = env.plan("customers").filter(pl.col("source_id") == account).row(0, named=True)
    assert row["action"] == "blocked" and "INVALID_KEY_OR_REF" in row["reason"]
    assert env.netsuite.stats().get("upsertList", 0) == sent, "an unchanged refused record must not be re-sent"

    subsidiary = next(s["internalId"] for s in env.netsuite_records("subsidiary") if s["name"] == "US Inc")
    env.update_account(account, Subsidiary__NS=subsidiary)  # corrected at the source
    assert env.run(["customers"]).success
    assert account in set(env.links("customers")["source_id"])


def test_a_netsuite_500_on_a_search_is_retried_and_staging_succeeds(make_sync_env):
    env = make_sync_env(zuora_size=4, netsuite_size=2)
    # Two failures in a row on every search, then answers: the client's retries absorb them.
    env.netsuite.set_faults([{"route": "search", "error_rate": 0.5, "error_status": 500}], seed=3)
    assert env.run(["customers"]).success
    assert env.netsuite.stats().get("search", 0) > 0


def _step_events(result, event_type: str) -> dict[str, Any]:
    return {e.step_key: e for e in result.all_events if e.event_type_value == event_type}


def test_a_run_against_a_dead_host_fails_at_its_connection_step_naming_the_url(make_sync_env):
    env = make_sync_env(zuora_size=4, netsuite_size=0)
    dead = env.zuora.url
    env.zuora.stop()  # nothing listens on that port any more
    result = env.run(["customers"], raise_on_error=False)
    assert not result.success
    failures = _step_events(result, "STEP_FAILURE")
    connection = ZUORA_CONNECTION.to_python_identifier()  # the step key: zuora__zuora_connection
    assert set(failures) == {connection}, sorted(failures)
    message = failures[connection].step_failure_data.error.message
    assert f"cannot reach Zuora at {dead}" in message and "make sandbox" in message, message
    # Nothing that needs Zuora ran: no staging step spent minutes retrying a dead host.
    started = set(_step_events(result, "STEP_START"))
    assert not any(step.startswith("zuora__") and step != connection for step in started), started
    assert push_key("customers").to_python_identifier() not in started
