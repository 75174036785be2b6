"""Paging a SuiteTalk search: `search`, then `searchMoreWithId` for pages 2..totalPages.

Pages 2..totalPages are asked for side by side, up to the account's concurrency ahead of the
one being read, and handed on in order: each is its own request by search id and page index,
and one after the other a 1,000-record page waited for the last one's round trip and for zsync
to read it (the invoices a push wrote, re-read on the runs after it: 4 pages, at 1,000 accounts
the longest of the staging step's reads). The account's request slots (governance.py) still
bound what is in flight, across every search of the step.

Vendor facts: a search id expires after about 15 minutes idle and then comes back as a failed
status `INVALID_JOB_ID` (not a fault); `searchMoreWithId` re-runs the search for each page, so
records modified while paging can move between pages (the staging overlap window and the next
run pick them up). On an expired id the search is restarted rather than failing: from the last
seen `lastModifiedDate` when the pages so far came in that order (nothing earlier can be
unseen), otherwise with the original criteria; records already yielded are skipped by internalId.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from zsync_assets.clients.netsuite.interface import NetSuiteError, Record, RecordSeen
from zsync_assets.clients.netsuite.record_reader import ReadPage

if TYPE_CHECKING:
    from zsync_assets.clients.netsuite.client import SoapNetSuiteClient

EXPIRED_SEARCH = "INVALID_JOB_ID"
MAX_RESTARTS = 5


class SearchPager:
    def __init__(
        self,
        client: SoapNetSuiteClient,
        search_type: str,
        criteria: Mapping[str, Any],
        page_size: int,
        seen: RecordSeen | None = None,
    ):
        self.client = client
        self.seen = seen
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
        page = self.client.call(
            "search", headers=self.headers, read_page=True, seen=self.seen, searchRecord=search_record
        )
        yield _records(page)
        if page.total_pages > 1:
            yield from self._more(page.search_id, range(2, page.total_pages + 1))

    def _more(self, search_id: str, indexes: range) -> Iterator[list[Record]]:
        """The pages `indexes` of a search, in order, up to the account's concurrency asked ahead.
        A failed page is raised when its turn comes (an expired id restarts the search in
        `pages`); the pages still asked for are dropped then, or when the reader stops."""
        ahead = max(1, min(self.client.concurrency, len(indexes)))
        waiting = iter(indexes)
        pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="netsuite-page")
        asked: deque[Future[ReadPage]] = deque()

        def ask() -> None:
            index = next(waiting, None)
            if index is not None:
                asked.append(
                    pool.submit(
                        self.client.call,
                        "searchMoreWithId",
                        headers=self.headers,
                        read_page=True,
                        seen=self.seen,
                        searchId=search_id,
                        pageIndex=index,
                    )
                )

        try:
            for _ in range(ahead):
                ask()
            while asked:
                page = asked.popleft().result()
                ask()
                yield _records(page)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _records(page: ReadPage) -> list[Record]:
    if page.failure is not None:
        raise NetSuiteError(*page.failure)
    return page.records
