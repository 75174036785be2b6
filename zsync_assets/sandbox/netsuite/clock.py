"""The account's clock and time zone: NetSuite answers every dateTime in the account's zone.

NetSuite writes `createdDate`, `lastModifiedDate`, `deletedDate`... with the offset of the time
zone set for the account (Setup > Company > General Preferences), e.g. `-07:00` in summer and
`-08:00` in winter for America/Los_Angeles, so two records a few minutes apart around the end of
daylight-saving time can read 01:50-07:00 and then 01:10-08:00. Business dates (`tranDate`,
`dueDate`, rev rec dates...) are dates that travel as xsd:dateTime (e.g. `tranDate` in
`zsync_assets/vendor/netsuite-suitetalk/2023_2/xsd/transactions.sales.xsd`): midnight of the day
in the account's zone, so they keep their calendar day.

The clock can be set (`POST /__sandbox/clock`) so tests can write records on either side of a
daylight-saving change; once set it keeps running from that moment.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "America/Los_Angeles"
TIME_ZONE_ENV = "NETSUITE_SANDBOX_TIME_ZONE"

# Date fields of the records the sandbox implements (xsd:dateTime in the vendor schema, a day in NetSuite).
BUSINESS_DATES = frozenset(
    {
        "tranDate",
        "dueDate",
        "startDate",
        "endDate",
        "revRecStartDate",
        "revRecEndDate",
        "shipDate",
        "saleEffectiveDate",
        "tranIdDate",
    }
)


class AccountClock:
    def __init__(self, time_zone: str | None = None):
        self.time_zone = time_zone or os.environ.get(TIME_ZONE_ENV) or DEFAULT_TIME_ZONE
        self.zone = ZoneInfo(self.time_zone)  # an unknown name fails at start-up, naming it
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def set(self, moment: datetime | None) -> None:
        """Run the clock from `moment` on (None: real time again)."""
        with self._lock:
            if moment is None:
                self._offset = timedelta(0)
            else:
                aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                self._offset = aware - datetime.fromtimestamp(time.time(), UTC)

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return (datetime.fromtimestamp(time.time(), UTC) + offset).astimezone(self.zone)

    def stamp(self) -> str:
        """Now, as NetSuite writes a server timestamp: milliseconds and the account's offset."""
        return self.now().isoformat(timespec="milliseconds")

    def today(self) -> date:
        return self.now().date()

    def local(self, value: datetime) -> datetime:
        """A client's dateTime in the account's zone; one without an offset is account time."""
        return value.replace(tzinfo=self.zone) if value.tzinfo is None else value.astimezone(self.zone)

    def midnight(self, day: date) -> str:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).isoformat()

    def normalize(self, value: Any, field: str = "") -> Any:
        """A parsed record with every dateTime as NetSuite keeps it: instants in the account's
        zone, business dates as midnight of their day there."""
        if isinstance(value, dict):
            return {k: self.normalize(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalize(v, field) for v in value]
        if isinstance(value, datetime):
            local = self.local(value)
            if field in BUSINESS_DATES:
                return self.midnight(local.date())
            return local.isoformat(timespec="milliseconds")
        return value

    def instant(self, value: str | datetime) -> datetime:
        """A stored or requested dateTime as a UTC instant (no offset: account time).

        UTC, not the account's zone: Python compares two datetimes that share a tzinfo by their
        wall clocks, and 01:10 PST comes after 01:50 PDT although its wall clock is earlier.
        """
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return self.local(parsed).astimezone(UTC)

    def day(self, value: str | datetime) -> date:
        """The account's calendar day of a dateTime."""
        return self.instant(value).astimezone(self.zone).date()
