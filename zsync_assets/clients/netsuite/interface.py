"""The NetSuite client as the rest of zsync sees it: plain dicts in, plain dicts and results out.

NetSuite removes SOAP web services in 2028.2 (2025.2 is the last SOAP endpoint; REST + OAuth 2.0
is the successor), so nothing outside `zsync_assets/clients/netsuite/` may depend on zeep or
SOAP shapes. A REST backend implements the same `NetSuiteClient` protocol.

Records are dicts keyed by NetSuite field names (`companyName`, `subsidiary`, `itemList`...),
with `internalId` / `externalId` and, on the way out, `recordType` (NetSuite's RecordType
name: `customer`, `nonInventorySaleItem`, `invoice`...). RecordRefs are `{"internalId": ..,
"name": ..}`; `customFieldList` is `{scriptId: value}` both ways.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from zsync_assets.lib.failure import Failure, FailureKind

Record = dict[str, Any]

# `seen(internal_id, last_modified, xml)`: whether the caller holds this very record already,
# judged by the record's element as the reply carries it (serialized, without the whitespace
# after it); `last_modified` is its lastModifiedDate as read (None: it has none), so a caller
# can tell a record changed since it last looked without comparing. A record seen is not read
# into a dict, the bulk of a search page's cost: its page carries
# `{"internalId", "lastModifiedDate", UNREAD: True}` in its place, in the same position.
RecordSeen = Callable[[str, Any, bytes], bool]
UNREAD = "_unread"

# Vendor list limits (SuiteTalk "Web Services Governance"): addList/deleteList 200,
# updateList/upsertList 100, getList 1000; search pageSize 5..1000.
MAX_ADD_LIST = 200
MAX_DELETE_LIST = 200
MAX_UPDATE_LIST = 100
MAX_UPSERT_LIST = 100
MAX_GET_LIST = 1000
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 5, 1000


@dataclass(frozen=True)
class WriteResult:
    """The outcome of writing one record; list calls return one per input, in input order.
    A failed one carries the client's verdict (`failure.kind`: transient, data or unknown)."""

    ok: bool
    internal_id: str | None = None
    external_id: str | None = None
    failure: Failure | None = None

    @property
    def code(self) -> str | None:  # NetSuite statusDetail code (DUP_ENTITY, INVALID_KEY_OR_REF...)
        return self.failure.code if self.failure else None

    @property
    def message(self) -> str | None:
        return self.failure.message if self.failure else None


# zsync's code for a write that may have been committed although no answer came back (a
# dropped connection on a call that is not safe to replay): look the record up before re-adding.
CODE_UNKNOWN_OUTCOME = "ZSYNC_UNKNOWN_OUTCOME"


class NetSuiteError(RuntimeError):
    """A request NetSuite rejected as a whole (a fault, an HTTP error, a failed status on a
    read), with the client's verdict: `kind` transient (retried, and worth another run),
    data (the request itself is wrong) or unknown (a write may have been committed)."""

    def __init__(self, code: str, message: str, *, kind: FailureKind = "data"):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind

    @property
    def retriable(self) -> bool:
        return self.kind == "transient"

    @property
    def failure(self) -> Failure:
        return Failure(self.kind, self.code, self.message, whole_request=True)


class NetSuiteAuthError(NetSuiteError):
    """Credentials were refused; nothing will succeed until the configuration is fixed."""


class NetSuiteClient(Protocol):
    """Backend-neutral NetSuite operations zsync uses (SOAP today, REST later)."""

    account_id: str
    calls: Counter[str]  # requests sent per operation (retries included), for asset metadata
    retries: Counter[str]

    def close(self) -> None: ...

    def get(
        self, record_type: str, *, internal_id: str | None = None, external_id: str | None = None
    ) -> Record | None: ...

    def get_list(
        self, record_type: str, internal_ids: Sequence[str] = (), *, external_ids: Sequence[str] = ()
    ) -> list[Record]: ...

    def get_all(self, record_type: str, *, seen: RecordSeen | None = None) -> list[Record]: ...

    def search(
        self,
        search_type: str,
        criteria: Mapping[str, Any],
        *,
        page_size: int | None = None,
        seen: RecordSeen | None = None,
    ) -> Generator[list[Record], None, None]:
        """Yield pages of records; `search_type` names a basic search (`customer`, `item`,
        `transaction`, `subsidiary`...); `criteria` holds its fields, e.g.
        `{"lastModifiedDate": {"operator": "onOrAfter", "searchValue": dt}}`. `seen`: records
        the caller holds already come as `UNREAD` stubs (`RecordSeen`)."""
        ...

    def get_deleted(self, record_types: str | Sequence[str], since: datetime | None = None) -> Iterator[list[Record]]:
        """Yield pages of deleted records of these types (`customer`, `invoice`...), deleted at or
        after `since`: `{"internalId", "externalId", "type", "deletedDate"}`."""
        ...

    def add_list(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]: ...

    def update_list(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]: ...

    def upsert_list(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]: ...

    def delete_list(self, record_type: str, internal_ids: Sequence[str]) -> list[WriteResult]: ...
