"""getDeleted: which records were deleted, by type and deletion time, a page at a time.

Vendor shape (platform.core.xsd `GetDeletedFilter`, `GetDeletedResult`): the filter holds a
`deletedDate` SearchDateField and a `type` SearchEnumMultiSelectField (record type names, e.g.
`customer`, `invoice`); the request names a 1-based `pageIndex`; the result carries
totalRecords / pageSize / totalPages / pageIndex and `deletedRecordList` of `deletedRecord`
(`deletedDate` + a RecordRef). There is no search id: a page is asked for by its index again.
"""

from __future__ import annotations

import math

from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.records import KINDS
from zsync_assets.sandbox.netsuite.schema import RECORD_REF, TYPE_KEY, enumeration
from zsync_assets.sandbox.netsuite.search import SearchError, match
from zsync_assets.sandbox.netsuite.store import Store

DEFAULT_PAGE_SIZE = 1000


def get_deleted(store: Store, clock: AccountClock, request: dict, *, page_size: int = DEFAULT_PAGE_SIZE) -> dict:
    """The `getDeletedResult` for one request (raises SearchError for a bad filter)."""
    flt = request.get("getDeletedFilter") or {}
    types = (flt.get("type") or {}).get("searchValue") or []
    if not types:
        # NetSuite requires the record type: getDeleted has no "all types" form.
        raise SearchError("USER_ERROR", "getDeleted needs a type filter naming at least one record type.")
    # `searchValue` is xsd:string, so the XSD cannot refuse a name that is no RecordType value.
    unknown = [t for t in types if t not in enumeration("RecordType")]
    if unknown:
        raise SearchError("INVALID_RCRD_TYPE", f"Unknown record type(s) for getDeleted: {', '.join(unknown)}.")
    lacking = [t for t in types if t not in KINDS]
    if lacking:
        raise SearchError(
            "FEATURE_DISABLED",
            f"The feature required to access {', '.join(lacking)} records is not enabled in this account.",
        )
    rows = store.deleted(tuple(types))
    if flt.get("deletedDate"):
        rows = [r for r in rows if match(flt["deletedDate"], r["deleted_date"], clock)]
    total_pages = max(1, math.ceil(len(rows) / page_size))
    index = int(request.get("pageIndex") or 1)
    if not 1 <= index <= total_pages:
        raise SearchError("INVALID_PAGE_INDEX", f"pageIndex must be between 1 and {total_pages}.")
    page = rows[(index - 1) * page_size : index * page_size]
    result = {
        "status": {"isSuccess": True},
        "totalRecords": len(rows),
        "pageSize": page_size,
        "totalPages": total_pages,
        "pageIndex": index,
    }
    if page:
        result["deletedRecordList"] = {"deletedRecord": [_deleted_record(r) for r in page]}
    return result


def _deleted_record(row: dict) -> dict:
    ref = {TYPE_KEY: RECORD_REF, "internalId": str(row["internal_id"]), "type": row["record_type"]}
    if row["external_id"]:
        ref["externalId"] = row["external_id"]
    return {"deletedDate": row["deleted_date"], "record": ref}
