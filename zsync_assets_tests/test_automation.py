"""Schedules and sensors: what starts a run on its own, and what each tick costs.

The sensors are evaluated with `dg.build_sensor_context` against the real sandboxes through
zsync's real clients; each test asserts the run requests, the new cursor, and the vendor calls
one tick made (from the sandboxes' own `/__sandbox/stats`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.config import ConfigError, load_config
from zsync_assets.lib.staging import parse_timestamp


def _load(monkeypatch, **environ: str) -> dg.Definitions:
    from zsync_assets_tests.test_asset_catalog import load_definitions

    return load_definitions(monkeypatch, environ)


def test_the_full_sync_is_scheduled_from_zsync_yaml_and_off_until_enabled(monkeypatch):
    schedule = _load(monkeypatch).resolve_schedule_def("sync_all_schedule")
    assert schedule.cron_schedule == "0 * * * *" and schedule.execution_timezone == "UTC"  # hourly by default
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "sync_all"

    # Overrides are YAML text (config.py): a cron starting with `*` needs quotes there.
    moved = _load(monkeypatch, ZSYNC_SYNC_ALL_CRON='"*/15 6-20 * * 1-5"', ZSYNC_SCHEDULE_TIMEZONE="Europe/Berlin")
    schedule = moved.resolve_schedule_def("sync_all_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("*/15 6-20 * * 1-5", "Europe/Berlin")


def test_the_full_sync_runs_in_one_process_unless_a_run_asks_for_more(monkeypatch):
    sync_all = _load(monkeypatch).resolve_job_def("sync_all")
    # What a schedule tick or a launch with no run config gets.
    assert dg.validate_run_config(sync_all, {})["execution"] == {
        "multi_or_in_process_executor": {"in_process": {"retries": {"enabled": {}}}}
    }
    # A deployment can still spread the steps over processes, per run (deploy/README.md).
    asked = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
    assert "multiprocess" in dg.validate_run_config(sync_all, asked)["execution"]["multi_or_in_process_executor"]


def test_a_bad_schedule_fails_at_load_naming_the_key():
    with pytest.raises(ConfigError, match="sync_all_cron: must be a cron expression"):
        load_config(environ={"ZSYNC_SYNC_ALL_CRON": "every hour"})
    with pytest.raises(ConfigError, match="schedule_timezone: must be an IANA time zone"):
        load_config(environ={"ZSYNC_SCHEDULE_TIMEZONE": "Mars/Olympus"})


def test_every_job_schedule_and_sensor_says_what_it_does(monkeypatch):
    loaded = _load(monkeypatch)
    jobs = [loaded.resolve_job_def(name) for name in ("sync_all", "sync_invoices", "sync_subscriptions")]
    schedules, sensors = list(loaded.schedules or []), list(loaded.sensors or [])
    assert {s.name for s in sensors} == {"new_zuora_invoices", "new_netsuite_sales_orders"}
    for definition in (*jobs, *schedules, *sensors):
        assert definition.description and len(definition.description) > 40, definition.name
    for sensor in sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.STOPPED, sensor.name
    # A posted invoice must reach NetSuite within 60 s: the tick interval leaves the run most of it.
    invoices = loaded.resolve_sensor_def("new_zuora_invoices")
    assert invoices.minimum_interval_seconds <= 20
    # Flow runs carry the tag deploy/dagster.yaml limits to one run per flow at a time.
    assert {job.name: job.tags.get("zsync/flow") for job in jobs[1:]} == {
        "sync_invoices": "invoices",
        "sync_subscriptions": "subscriptions",
    }


def test_sales_order_sensor_requests_a_subscription_run_for_new_and_approved_orders(netsuite_sandbox, tmp_path):
    from zsync_assets.defs.sensors import new_netsuite_sales_orders

    netsuite = NetSuiteResource(
        wsdl_url=netsuite_sandbox.wsdl_url, endpoint_url=netsuite_sandbox.endpoint_url, lock_dir=str(tmp_path / "locks")
    )
    client = netsuite.get_client()
    try:
        orders = [
            r
            for page in client.search("transaction", {"type": {"operator": "anyOf", "searchValue": ["_salesOrder"]}})
            for r in page
        ]
        customer = orders[0]["entity"]["internalId"]
        item = orders[0]["itemList"]["item"][0]["item"]["internalId"]
    finally:
        client.close()
    assert orders, "the seeded account has sales orders"
    newest = max(parse_timestamp(r["lastModifiedDate"]) for r in orders)

    def tick(cursor: str | None):
        before = netsuite_sandbox.stats().get("search", 0)
        result = new_netsuite_sales_orders(dg.build_sensor_context(cursor=cursor, resources={"netsuite": netsuite}))
        assert netsuite_sandbox.stats().get("search", 0) - before == 1  # one search call per tick
        return result

    first = tick(None)
    assert [r.run_key for r in first.run_requests] == [f"sales-orders-modified-{first.cursor}"]
    assert datetime.fromisoformat(first.cursor) <= newest

    quiet = tick(newest.isoformat())
    assert isinstance(quiet, dg.SkipReason) and "no NetSuite sales order modified" in quiet.skip_message

    # A sales order waiting for approval is approved in NetSuite: its lastModifiedDate moves.
    pending = _add_sales_order(netsuite, customer, item, orderStatus="_pendingApproval")
    created = tick(newest.isoformat())
    assert len(created.run_requests) == 1 and datetime.fromisoformat(created.cursor) > newest
    assert isinstance(tick(created.cursor), dg.SkipReason)
    client = netsuite.get_client()
    try:
        (approved,) = client.update_list("salesOrder", [{"internalId": pending, "orderStatus": "_pendingFulfillment"}])
        assert approved.ok, approved
        modified = parse_timestamp(client.get("salesOrder", internal_id=pending)["lastModifiedDate"])
    finally:
        client.close()
    after_approval = tick(created.cursor)
    assert datetime.fromisoformat(after_approval.cursor) == modified > datetime.fromisoformat(created.cursor)
    assert after_approval.run_requests[0].run_key == f"sales-orders-modified-{after_approval.cursor}"
    assert after_approval.cursor.endswith("+00:00")  # an instant in UTC, whatever the account's zone


def _add_sales_order(netsuite: NetSuiteResource, customer: str, item: str, **fields) -> str:
    client = netsuite.get_client()
    try:
        (added,) = client.add_list(
            "salesOrder",
            [
                {
                    "entity": {"internalId": customer},
                    **fields,
                    "itemList": {"item": [{"item": {"internalId": item}, "quantity": 1.0, "rate": "10.00"}]},
                }
            ],
        )
        assert added.ok and added.internal_id, added
        return added.internal_id
    finally:
        client.close()


def test_invoice_sensor_asks_zuora_one_page_per_tick(zuora_sandbox):
    from zsync_assets.defs.sensors import new_zuora_invoices

    zuora = ZuoraResource(
        base_url=zuora_sandbox.url, client_id=zuora_sandbox.client_id, client_secret=zuora_sandbox.client_secret
    )

    def queries() -> int:
        return sum(n for route, n in zuora_sandbox.stats().items() if route.startswith("GET /object-query/"))

    with zuora.get_client() as client:
        newest = max(parse_timestamp(r["updatedDate"]) for page in client.query_objects("invoices") for r in page)

    def tick(cursor: str | None):
        before = queries()
        result = new_zuora_invoices(dg.build_sensor_context(cursor=cursor, resources={"zuora": zuora}))
        assert queries() - before == 1, cursor  # one Object Query page per tick
        return result

    first = tick(None)
    assert [r.run_key for r in first.run_requests] == [f"invoices-updated-{first.cursor}"]
    assert datetime.fromisoformat(first.cursor) <= newest and first.cursor.endswith("+00:00")

    # Object Query filters by whole seconds: a cursor a second before the newest update finds the
    # invoices of that last second only, and moves to it.
    moved = tick((newest - timedelta(seconds=1)).isoformat())
    assert len(moved.run_requests) == 1 and datetime.fromisoformat(moved.cursor) == newest

    quiet = tick(moved.cursor)
    assert isinstance(quiet, dg.SkipReason) and "no Zuora invoice updated" in quiet.skip_message
