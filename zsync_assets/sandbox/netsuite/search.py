"""search / searchMoreWithId over the stored records.

NetSuite re-runs the search for every page requested with searchMoreWithId (records changed
meanwhile can move or drop out), and a search id expires after 15 minutes idle: the answer
is then a status failure INVALID_JOB_ID, not a fault. `bodyFieldsOnly` defaults to true, so
sublists (itemList, applyList, addressbookList) only come back when a client asks for them.

The forms of `searchRecord` the vendor schema allows (platform.messages.xsd: SearchRecord,
subtyped in platform.common.xsd and each record's XSD) and that clients send:
`CustomerSearchBasic(criteria)`; `CustomerSearch(basic=...)`, whose `basic` may be absent or
empty (`<basic/>`, what zeep sends for `CustomerSearchBasic()`) — no criteria means every
record, as in NetSuite; `CustomerSearchAdvanced(criteria=CustomerSearch(...))` without
columns. Join criteria, result columns and saved searches are refused with a status naming
what the sandbox does not implement. A search of a record type the sandbox does not implement
is answered FEATURE_DISABLED, as for a feature the account lacks.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.records import (
    ITEM_TYPES,
    KINDS,
    SEARCH_TYPE_VALUES,
    TRANSACTION_TYPES,
    record_name,
)
from zsync_assets.sandbox.netsuite.schema import TYPE_KEY, local_name
from zsync_assets.sandbox.netsuite.store import Store

# The search's record (`Customer` of CustomerSearchBasic / CustomerSearch / CustomerSearchAdvanced)
# -> record types it searches
SEARCH_TARGETS = {
    "Customer": ("customer",),
    "Item": ITEM_TYPES,
    "Transaction": TRANSACTION_TYPES,
    "Account": ("account",),
    "Subsidiary": ("subsidiary",),
    "Term": ("term",),
    "SalesTaxItem": ("salesTaxItem",),
}
_FORMS = ("SearchAdvanced", "SearchBasic", "Search")
SUBLISTS = ("itemList", "applyList", "addressbookList")
DEFAULT_PAGE_SIZE = 1000
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 5, 1000


class SearchError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class SearchSession:
    targets: tuple[str, ...]
    criteria: dict[str, Any]
    page_size: int
    body_fields_only: bool
    last_used: float
    # The last run's hits and the store's version they were read at (`Searcher._hits`).
    hits: list[dict] | None = None
    hits_at: tuple[int, int] | None = None

    def expired(self, now: float, ttl_s: float) -> bool:
        return now - self.last_used > ttl_s


def criteria_of(search_record: dict) -> tuple[str, dict[str, Any]]:
    """(the searched record's name, the basic criteria) of any accepted `searchRecord` form."""
    type_name = local_name(search_record.get(TYPE_KEY, ""))
    form = next((f for f in _FORMS if type_name.endswith(f)), "")
    record = type_name.removesuffix(form)
    if form == "SearchAdvanced":
        if search_record.get("savedSearchId") or search_record.get("savedSearchScriptId"):
            raise SearchError("INVALID_SAVED_SRCH", "This account has no saved searches (the sandbox has none).")
        if _has_criteria(search_record.get("columns")):
            raise SearchError(
                "INVALID_SRCH",
                "The sandbox does not implement search columns (advanced search "
                "results as searchRowList); send criteria only.",
            )
        search_record = search_record.get("criteria") or {}
        form = "Search"
    if form == "Search":
        joins = [k for k, v in search_record.items() if k not in (TYPE_KEY, "basic") and _has_criteria(v)]
        if joins:
            raise SearchError(
                "INVALID_SRCH_CRITERIA",
                f"The sandbox does not implement join criteria ({', '.join(joins)}); send basic criteria only.",
            )
        search_record = search_record.get("basic") or {}
    return record, {k: v for k, v in search_record.items() if k != TYPE_KEY}


def _has_criteria(value: Any) -> bool:
    return isinstance(value, dict) and any(k != TYPE_KEY for k in value)


class Searcher:
    def __init__(self, store: Store, clock: AccountClock, *, id_ttl_s: float = 900.0):
        self.store = store
        self.clock = clock
        self.id_ttl_s = id_ttl_s
        self._sessions: dict[str, SearchSession] = {}
        self._lock = threading.Lock()

    def search(self, search_record: dict, preferences: dict) -> dict:
        record, criteria = criteria_of(search_record)
        targets = SEARCH_TARGETS.get(record)
        if targets is None:
            name = record[:1].lower() + record[1:]
            raise SearchError(
                "FEATURE_DISABLED",
                f"The feature required to search {name} records is not "
                f"enabled in this account (the sandbox searches "
                f"{', '.join(SEARCH_TARGETS)}).",
            )
        page_size = preferences.get("pageSize") or DEFAULT_PAGE_SIZE
        if not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
            raise SearchError(
                "INVALID_SEARCH_PAGE_SIZE",
                f"pageSize must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}; got {page_size}.",
            )
        now = time.time()
        session = SearchSession(targets, criteria, page_size, preferences.get("bodyFieldsOnly", True), now)
        search_id = f"WEBSERVICES_{uuid.uuid4().hex}"
        with self._lock:
            # Expired sessions go here too: one never paged past its first page is never asked for.
            for expired in [k for k, v in self._sessions.items() if v.expired(now, self.id_ttl_s)]:
                del self._sessions[expired]
            self._sessions[search_id] = session
        return self._page(search_id, session, 1)

    def more(self, search_id: str, page_index: int) -> dict:
        with self._lock:
            session = self._sessions.get(search_id)
            now = time.time()
            if session is None or session.expired(now, self.id_ttl_s):
                self._sessions.pop(search_id, None)
                raise SearchError("INVALID_JOB_ID", f"Invalid search id {search_id}: it is unknown or has expired.")
            session.last_used = now
        return self._page(search_id, session, page_index)

    def _hits(self, session: SearchSession) -> list[dict]:
        """The search run again, as searchMoreWithId does for each page (a record changed while
        paging can move). Its last hits while the store has not changed since: the same run would
        find them, and at 1,000 accounts matching every invoice again for each of a search's pages
        was most of the sandbox's search time."""
        version = self.store.version()
        if session.hits is not None and session.hits_at == version:
            return session.hits
        rows = self.store.all(session.targets, modified_since=_modified_since(session.criteria, self.clock))
        session.hits, session.hits_at = [r for r in rows if matches(r, session.criteria, self.clock)], version
        return session.hits

    def _page(self, search_id: str, session: SearchSession, page_index: int) -> dict:
        hits = self._hits(session)
        total_pages = max(1, math.ceil(len(hits) / session.page_size))
        if not 1 <= page_index <= total_pages:
            raise SearchError("INVALID_PAGE_INDEX", f"pageIndex {page_index} is outside 1..{total_pages}.")
        page = hits[(page_index - 1) * session.page_size : page_index * session.page_size]
        records = [as_record(r, body_fields_only=session.body_fields_only) for r in page]
        result = {
            "status": {"isSuccess": True},
            "totalRecords": len(hits),
            "pageSize": session.page_size,
            "totalPages": total_pages,
            "pageIndex": page_index,
            "searchId": search_id,
        }
        if records:
            result["recordList"] = {"record": records}
        return result


# lastModifiedDate operators whose every hit was modified at or after the searchValue.
_FROM_SEARCH_VALUE = ("after", "onOrAfter", "notBefore", "within")


def _modified_since(criteria: dict[str, Any], clock: AccountClock) -> str | None:
    """A bound below the stored `last_modified` text of every hit of `criteria`, or None.

    Why: NetSuite answers an incremental search (lastModifiedDate after the last run) from an
    index; the sandbox decoded every record of the type for every page, so its answer grew with
    the account and a no-change sync's cost with the tenant. The store keeps last_modified as the
    account's ISO text, whose wall clock sorts as text; two days of slack cover any difference of
    offsets, and `matches` still decides each row exactly."""
    criterion = criteria.get("lastModifiedDate")
    if not isinstance(criterion, dict) or criterion.get("operator") not in _FROM_SEARCH_VALUE:
        return None
    if not criterion.get("searchValue") or criterion.get("predefinedSearchValue"):
        return None
    first = clock.instant(criterion["searchValue"]).astimezone(clock.zone)
    return (first - timedelta(days=2)).isoformat()


def as_record(row: dict, *, body_fields_only: bool = False) -> dict:
    data = dict(row["data"])
    if body_fields_only:
        for sublist in SUBLISTS:
            data.pop(sublist, None)
    data[TYPE_KEY] = KINDS[row["record_type"]].xsd_type
    data["internalId"] = str(row["internal_id"])
    return data


def _field_value(row: dict, field: str) -> Any:
    data = row["data"]
    if field in ("internalId",):
        return {"internalId": str(row["internal_id"])}
    if field == "internalIdNumber":
        return row["internal_id"]
    if field == "externalIdString":
        return data.get("externalId")
    if field == "externalId":
        return {"externalId": data.get("externalId")}
    if field == "type":
        return {v: k for k, v in SEARCH_TYPE_VALUES.items()}.get(row["record_type"])
    if field == "number":
        return data.get("acctNumber")
    if field == "name":
        return record_name(KINDS[row["record_type"]], data)
    if field == "entity":
        return data.get("entity") or data.get("customer")
    return data.get(field)


def matches(row: dict, criteria: dict[str, Any], clock: AccountClock) -> bool:
    for field, criterion in criteria.items():
        if field == "customFieldList":
            values = {
                f.get("scriptId"): f.get("value")
                for f in (row["data"].get("customFieldList") or {}).get("customField", [])
            }
            if not all(match(c, values.get(c.get("scriptId")), clock) for c in criterion.get("customField", [])):
                return False
        elif field == "mainLine":
            continue  # records, not rows: every hit is its main line
        elif not match(criterion, _field_value(row, field), clock):
            return False
    return True


def match(criterion: dict, value: Any, clock: AccountClock) -> bool:
    """Does one stored value meet one Search*Field criterion?"""
    kind = local_name(criterion.get(TYPE_KEY, ""))
    op: str = criterion.get("operator") or ""
    wanted = criterion.get("searchValue")
    if kind == "SearchEnumMultiSelectField":
        hit = value in (wanted or [])
        return not hit if op == "noneOf" else hit
    if kind in ("SearchMultiSelectField", "SearchMultiSelectCustomField"):
        keys = {v.get("internalId") or v.get("externalId") for v in wanted or []}
        have = value if isinstance(value, list) else [value]
        hit = any(v and (v.get("internalId") in keys or v.get("externalId") in keys) for v in have if v)
        return not hit if op == "noneOf" else hit
    if kind.startswith("SearchBoolean"):
        return bool(value) == bool(wanted)  # an unset checkbox is false
    if kind.startswith("SearchString"):
        return _match_string(op or "is", "" if value is None else str(value), wanted or "")
    if kind.startswith("SearchDate"):
        return _match_date(op, value, criterion, clock)
    if kind.startswith(("SearchLong", "SearchDouble")):
        return _match_number(op, value, wanted, criterion.get("searchValue2"))
    raise SearchError("INVALID_SRCH_CRITERIA", f"The sandbox does not support {kind} criteria.")


def _match_string(op: str, value: str, wanted: str) -> bool:
    v, w = value.lower(), wanted.lower()
    return {
        "is": v == w,
        "isNot": v != w,
        "contains": w in v,
        "doesNotContain": w not in v,
        "startsWith": v.startswith(w),
        "doesNotStartWith": not v.startswith(w),
        "empty": v == "",
        "notEmpty": v != "",
        "hasKeywords": all(k in v for k in w.split()),
    }.get(op, False)


def _match_date(op: str, value: Any, criterion: dict, clock: AccountClock) -> bool:
    """Instants compare as instants whatever their offsets; `on` compares the account's days."""
    if op in ("empty", "notEmpty"):
        return (value is None) == (op == "empty")
    if value is None:
        return False
    if criterion.get("predefinedSearchValue"):
        raise SearchError("INVALID_SRCH_CRITERIA", "The sandbox supports explicit dates only (searchValue).")
    have = clock.instant(value)
    first = clock.instant(criterion["searchValue"]) if criterion.get("searchValue") else None
    second = clock.instant(criterion["searchValue2"]) if criterion.get("searchValue2") else None
    if first is None:
        raise SearchError("INVALID_SRCH_CRITERIA", "A date criterion needs a searchValue.")
    if op in ("within", "notWithin"):
        if second is None:
            raise SearchError("INVALID_SRCH_CRITERIA", "within needs searchValue and searchValue2.")
        inside = first <= have <= second
        return inside if op == "within" else not inside
    return {
        "on": clock.day(have) == clock.day(first),
        "notOn": clock.day(have) != clock.day(first),
        "before": have < first,
        "notBefore": have >= first,
        "after": have > first,
        "notAfter": have <= first,
        "onOrBefore": have <= first,
        "notOnOrBefore": have > first,
        "onOrAfter": have >= first,
        "notOnOrAfter": have < first,
    }.get(op, False)


def _match_number(op: str, value: Any, wanted: Any, wanted2: Any) -> bool:
    if value is None or wanted is None:
        return op == "empty"
    return {
        "equalTo": value == wanted,
        "notEqualTo": value != wanted,
        "greaterThan": value > wanted,
        "lessThan": value < wanted,
        "greaterThanOrEqualTo": value >= wanted,
        "lessThanOrEqualTo": value <= wanted,
        "between": wanted2 is not None and wanted <= value <= wanted2,
    }.get(op, False)
