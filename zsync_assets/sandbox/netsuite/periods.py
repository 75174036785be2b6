"""Closed accounting periods: NetSuite keeps a transaction of a closed period as it is.

People close periods in the NetSuite UI (Setup > Accounting > Manage Accounting Periods, or the
Period Close Checklist); SuiteTalk cannot close one. The sandbox takes the last closed day over
HTTP instead (`POST /__sandbox/periods {"closed_through": "2026-10-31"}`, `DELETE` reopens all)
and keeps it in the account's settings, so it survives a restart.

Modelled: a transaction dated in a closed period cannot be deleted; its `delete` gets the
per-record status `CLOSED_TRAN_PRD`, a code of the vendor's `StatusDetailCodeType`
(`zsync_assets/vendor/netsuite-suitetalk/2023_2/xsd/platform.faultTypes.xsd`), and the other
records of a `deleteList` still commit. The accountant reverses such a document in an open
period instead (a refund, a journal entry) — which is why zsync lists it for manual action.
"""

from __future__ import annotations

from datetime import date

from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.store import Store

CLOSED_PERIOD_CODE = "CLOSED_TRAN_PRD"
SETTING = "closed_through"


def closed_through(store: Store) -> date | None:
    value = store.setting(SETTING)
    return date.fromisoformat(value) if value else None


def close_through(store: Store, day: date | None) -> None:
    """Close every period up to and including `day` (None: reopen every period)."""
    store.set_setting(SETTING, day.isoformat() if day else None)


def closed_period_refusal(store: Store, clock: AccountClock, data: dict) -> str | None:
    """Why this transaction cannot be changed now, or None when its period is open."""
    last = closed_through(store)
    if last is None or not data.get("tranDate"):
        return None
    day = clock.day(data["tranDate"])
    if day > last:
        return None
    return (
        f"The transaction date {day.isoformat()} falls in a closed accounting period (closed through "
        f"{last.isoformat()}). You cannot delete a transaction in a closed period."
    )
