"""Staging's window around zsync's own writes (lib/staging.py, `window_start` and `clock_floor`).

The push runs after staging, so the newest record a vendor holds is usually zsync's own write or
write-back. A window hung `overlap` behind the newest record re-read the last push on every run.
The window now starts `overlap` behind the vendor's clock at the previous query: a run with
nothing new reads nothing once that much time has passed, and a change made by someone else
right after zsync's write, or stamped inside the window but visible only later, is still staged.
"""

from __future__ import annotations

import time
from datetime import datetime

import dagster as dg
import httpx

from zsync_assets.defs.netsuite.assets import STAGED as NETSUITE_STAGED
from zsync_assets.engine.catalog import push_key
from zsync_assets_tests.test_sync_invoices import TAX_ITEMS

FLOWS = ["customers", "items", "invoices"]


def _staged(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Staging metadata of the run, by table (`zuora.invoices` -> {"rows_fetched": ...})."""
    events = [
        {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    ]
    return {str(m["table"]): m for m in events if "rows_fetched" in m}


def _settle(env) -> None:
    """Sync until a run sends nothing (zsync's write-backs are staged by the run after)."""
    for _ in range(4):
        result = env.run(FLOWS)
        pushes = [
            {
                k: v.value
                for k, v in result.asset_materializations_for_node(push_key(f).to_python_identifier())[
                    0
                ].metadata.items()
            }
            for f in FLOWS
        ]
        if all(p.get("nothing_to_do") for p in pushes):
            return
    raise AssertionError("four runs and still something to send")


def _set_netsuite_clock(env, moment: datetime | None) -> None:
    if moment is None:
        httpx.delete(f"{env.netsuite.url}/__sandbox/clock").raise_for_status()
    else:
        httpx.post(f"{env.netsuite.url}/__sandbox/clock", json={"now": moment.isoformat()}).raise_for_status()


def _edit_customer_at(env, moment: datetime, internal_id: str, **fields) -> None:
    """Someone edits a NetSuite customer, stamped by the account's clock set to `moment`."""
    _set_netsuite_clock(env, moment)
    try:
        with env.netsuite_client() as client:
            [outcome] = client.update_list("customer", [{"internalId": internal_id, **fields}])
            assert outcome.ok, outcome
    finally:
        _set_netsuite_clock(env, None)


def test_a_run_with_nothing_new_reads_no_row_again(make_sync_env):
    # No visibility delay allowed (overlap 0): the window then ends where the previous query began.
    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS, overlap_minutes=0)
    _settle(env)
    # Vendor timestamps have whole seconds, so the window starts at a whole second: let the
    # clock pass the second of the last records staged.
    time.sleep(1.1)
    env.run(FLOWS)
    writes = env.write_calls()

    result = env.run(FLOWS)

    staged = _staged(result)
    whole = {f"netsuite.{s.name}" for s in NETSUITE_STAGED if not s.incremental}  # re-read whole, by design
    fetched = {table: m["rows_fetched"] for table, m in staged.items() if table not in whole}
    assert fetched and set(fetched.values()) == {0}, fetched
    assert {"zuora.invoices", "zuora.invoice_items", "zuora.accounts", "netsuite.customers"} <= set(fetched)
    assert env.write_calls() == writes


def test_an_edit_right_after_zsyncs_own_write_is_staged_and_synced(make_sync_env):
    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS)
    env.run(FLOWS)  # creates the NetSuite customers and writes their ids back to the accounts

    # Someone renames an account zsync has just written back to: often within the same second.
    linked = env.query(
        "select l.source_id, l.target_id, a.name from zsync.links l join zuora.accounts a "
        "on a.id = l.source_id where l.flow = 'customers' order by l.source_id"
    )
    account, customer = next(
        (source, target)
        for source, target, name in linked.iter_rows()
        if env.netsuite_customer(target).get("companyName") == name
    )
    env.update_account(account, name="Renamed right after the write-back")
    env.run(FLOWS)

    assert (
        env.query(f"select name from zuora.accounts where id = '{account}'").item()
        == "Renamed right after the write-back"
    )
    assert env.netsuite_customer(customer)["companyName"] == "Renamed right after the write-back"

    # A change NetSuite stamps inside the window, at the second of zsync's own last write, but
    # that only became visible after the last query (the clock is set back to stamp it so).
    mark = env.query("select high_water from zsync.cursors where name = 'netsuite.customers'").item()
    others = env.query(
        f"select internal_id from netsuite.customers where internal_id <> '{customer}' order by internal_id"
    )["internal_id"].to_list()
    edited = others[len(others) // 2]
    _edit_customer_at(env, mark, edited, phone="415-555-0199")
    result = env.run(FLOWS)

    assert _staged(result)["netsuite.customers"]["rows_fetched"] >= 1
    row = env.query(f"select phone from netsuite.customers where internal_id = '{edited}'")
    assert row["phone"].to_list() == ["415-555-0199"]


def test_a_record_read_again_as_staged_is_not_written_again_but_an_edit_in_its_second_is(make_sync_env):
    """Inside the overlap every run reads the last push's records again. One read exactly as it
    was staged is not made into rows or written again (its row keeps `_staged_at`); an edit by
    someone else is, even when NetSuite stamps it in the very second of the staged version (the
    staged row's digest of its record decides, not the stamp)."""
    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS)
    _settle(env)
    staged_at = env.query("select internal_id, _staged_at from netsuite.customers order by internal_id")

    result = env.run(FLOWS)

    staged = _staged(result)
    for table in ("zuora.accounts", "zuora.invoices", "netsuite.customers", "netsuite.items"):
        again = staged[table]
        assert again["rows_fetched"] > 0, (table, again)  # the push's records, in the overlap
        assert (again["rows_unchanged"], again["rows_upserted"]) == (again["rows_fetched"], 0), (table, again)
    assert env.query("select internal_id, _staged_at from netsuite.customers order by internal_id").equals(staged_at)

    # Someone edits a customer in NetSuite in the same second as the version zsync staged.
    customer, stamp = env.query(
        "select internal_id, last_modified_date from netsuite.customers order by last_modified_date desc limit 1"
    ).row(0)
    _edit_customer_at(env, stamp.replace(microsecond=0), customer, phone="415-555-0142")
    result = env.run(FLOWS)

    phone, restamped = env.query(
        f"select phone, last_modified_date from netsuite.customers where internal_id = '{customer}'"
    ).row(0)
    assert restamped.replace(microsecond=0) == stamp.replace(microsecond=0)  # the same second
    assert phone == "415-555-0142"
    assert _staged(result)["netsuite.customers"]["rows_upserted"] == 1
