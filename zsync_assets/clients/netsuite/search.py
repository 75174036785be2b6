"""Paging a SuiteTalk search: `search`, then `searchMoreWithId` for pages 2..totalPages.

Vendor facts: a search id expires after about 15 minutes idle and then comes back as a failed
status `INVALID_JOB_ID` (not a fault); `searchMoreWithId` re-runs the search for each page, so
records modified while paging can move between pages (the staging overlap window and the next
run pick them up). On an expired id the search is restarted rather than failing: from the last
seen `lastModifiedDate` when the pages so far came in that order (nothing earlier can be
unseen), otherwise with the original criteria; records already yielded are skipped by internalId.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from zsync_assets.clients.netsuite.interface import NetSuiteError, Record
from zsync_assets.clients.netsuite.record_reader import ReadPage

if TYPE_CHECKING:
    from zsync_assets.clients.netsuite.client import SoapNetSuiteClient

EXPIRED_SEARCH = "INVALID_JOB_ID"
MAX_RESTARTS = 5


class SearchPager:
    def __init__(self, client: SoapNetSuiteClient, search_type: str, criteria: Mapping[str, Any], page_size: int):
        self.client = client
        self.search_type = search_type
        self.criteria = dict(criteria)
        self.headers = {
            "searchPreferences": {"pageSize": page_size, "bodyFieldsOnly": False, "returnSearchColumns": False}
        }
        self.restarts = 0

    def pages(self) -> Generator[list[Record], None, None]:
        seen: set[str | None] = set()
        ordered = True  # have records come in non-decreasing lastModifiedDate so far?
        last_modified = None
        criteria = self.criteria
        while True:
            try:
                for page in self._run(criteria):
                    fresh = []
                    for record in page:
                        modified = record.get("lastModifiedDate")
                        if modified is not None:
                            if last_modified is not None and modified < last_modified:
                                ordered = False
                            last_modified = modified if last_modified is None else max(last_modified, modified)
                        key = record.get("internalId")
                        if key in seen:
                            continue
                        seen.add(key)
                        fresh.append(record)
                    yield fresh
                return
            except NetSuiteError as error:
                if error.code != EXPIRED_SEARCH or self.restarts >= MAX_RESTARTS:
                    raise
                self.restarts += 1
                criteria = dict(self.criteria)
                if ordered and last_modified is not None:
                    criteria["lastModifiedDate"] = {"operator": "onOrAfter", "searchValue": last_modified}

    def _run(self, criteria: Mapping[str, Any]) -> Iterator[list[Record]]:
        search_record = self.client.schema.search_basic_class(self.search_type)(**criteria)
        page = self.client.call("search", headers=self.headers, read_page=True, searchRecord=search_record)
        yield _records(page)
        search_id = page.search_id
        for index in range(2, page.total_pages + 1):
            page = self.client.call(
                "searchMoreWithId", headers=self.headers, read_page=True, searchId=search_id, pageIndex=index
            )
            yield _records(page)


def _records(page: ReadPage) -> list[Record]:
    if page.failure is not None:
        raise NetSuiteError(*page.failure)
    return page.records
