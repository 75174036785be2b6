"""`NetSuiteClient` over SuiteTalk SOAP: the record operations zsync uses (get, getList, getAll,
search, getDeleted, and the list writes), built on the signed, retried call of soap.py.

Writes go in chunks of at most the vendor's list limits (clients/netsuite/interface.py), sent up to
the account's concurrency at once; every record of a chunk gets its own verdict, the one soap.py
gave (`record_failure`), or the whole request's when NetSuite refused it as a whole.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from zsync_assets.clients.netsuite.interface import (
    MAX_DELETE_LIST,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    NetSuiteAuthError,
    NetSuiteError,
    Record,
    RecordSeen,
    WriteResult,
)
from zsync_assets.clients.netsuite.search import SearchPager
from zsync_assets.clients.netsuite.soap import (
    CODE_INVALID_RECORD,
    SoapTransport,
    clamp,
    record_failure,
    status_detail,
)
from zsync_assets.clients.netsuite.wsdl import record_dict
from zsync_assets.lib.failure import Failure


class SoapNetSuiteClient(SoapTransport):
    # -- reads -----------------------------------------------------------------------------

    def get(self, record_type: str, *, internal_id: str | None = None, external_id: str | None = None) -> Record | None:
        ref = self.schema.record_ref(record_type, internal_id, external_id)
        response = self.call("get", baseRef=ref).readResponse
        if not response.status.isSuccess:
            code, message = status_detail(response.status)
            if code == "RCRD_DSNT_EXIST":
                return None
            raise NetSuiteError(code, message)
        return record_dict(response.record)

    def get_list(
        self, record_type: str, internal_ids: Sequence[str] = (), *, external_ids: Sequence[str] = ()
    ) -> list[Record]:
        refs = [self.schema.record_ref(record_type, internal_id=i) for i in internal_ids]
        refs += [self.schema.record_ref(record_type, external_id=e) for e in external_ids]
        chunks = [refs[i : i + self.get_batch_size] for i in range(0, len(refs), self.get_batch_size)]

        def fetch(chunk) -> list[Record]:
            responses = self.call("getList", baseRef=chunk).readResponseList.readResponse or []
            # A missing record is a per-record failure (RCRD_DSNT_EXIST): it is simply absent here.
            return [record_dict(r.record) for r in responses if r.status.isSuccess and r.record]

        return [rec for page in self._concurrently(fetch, chunks) for rec in page]

    def get_all(self, record_type: str, *, seen: RecordSeen | None = None) -> list[Record]:
        page = self.call("getAll", read_page=True, seen=seen, record={"recordType": record_type})
        if page.failure is not None:
            raise NetSuiteError(*page.failure)
        return page.records

    def search(
        self,
        search_type: str,
        criteria: Mapping[str, Any],
        *,
        page_size: int | None = None,
        seen: RecordSeen | None = None,
    ) -> Generator[list[Record], None, None]:
        size = clamp(page_size or self.page_size, MIN_PAGE_SIZE, MAX_PAGE_SIZE)
        return SearchPager(self, search_type, criteria, size, seen).pages()

    def get_deleted(self, record_types: str | Sequence[str], since: datetime | None = None) -> Iterator[list[Record]]:
        """Pages of records deleted (at or after `since`), as `{internalId, externalId, type,
        deletedDate}`. getDeleted has no search id: each page is asked for by its index."""
        types = [record_types] if isinstance(record_types, str) else list(record_types)
        flt: dict[str, Any] = {"type": {"operator": "anyOf", "searchValue": types}}
        if since is not None:
            flt["deletedDate"] = {"operator": "onOrAfter", "searchValue": since}
        index, total_pages = 1, 1
        while index <= total_pages:
            result = self.call(
                "getDeleted", getDeletedFilter=self.schema.core_type("GetDeletedFilter")(**flt), pageIndex=index
            ).getDeletedResult
            if not result.status.isSuccess:
                raise NetSuiteError(*status_detail(result.status))
            total_pages = result.totalPages or 0
            entries = result.deletedRecordList.deletedRecord if result.deletedRecordList else None
            yield [_deleted_dict(entry) for entry in entries or []]
            index += 1

    # -- writes ----------------------------------------------------------------------------

    def add_list(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self._write_list(
            "addList",
            record_type,
            records,
            self.add_batch_size,
            replay_safe=lambda chunk: all(r.get("externalId") for r in chunk),
        )

    def update_list(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self._write_list("updateList", record_type, records, self.update_batch_size)

    def upsert_list(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        missing = [i for i, r in enumerate(records) if not r.get("externalId")]
        if missing:  # upsert is keyed by externalId; without it NetSuite would reject the record
            raise ValueError(f"upsert_list: records at {missing[:10]} have no externalId")
        return self._write_list("upsertList", record_type, records, self.upsert_batch_size)

    def delete_list(self, record_type: str, internal_ids: Sequence[str]) -> list[WriteResult]:
        refs = [{"internalId": i} for i in internal_ids]
        chunks = [refs[i : i + MAX_DELETE_LIST] for i in range(0, len(refs), MAX_DELETE_LIST)]

        def delete(chunk) -> list[WriteResult]:
            body = [self.schema.record_ref(record_type, r["internalId"]) for r in chunk]
            return self._write_chunk("deleteList", chunk, True, baseRef=body)

        return [res for page in self._concurrently(delete, chunks) for res in page]

    def _write_list(
        self,
        operation: str,
        record_type: str,
        records: Sequence[Mapping[str, Any]],
        batch: int,
        *,
        replay_safe=lambda chunk: True,
    ) -> list[WriteResult]:
        chunks = [list(records[i : i + batch]) for i in range(0, len(records), batch)]

        def write(chunk) -> list[WriteResult]:
            results: list[WriteResult | None] = [None] * len(chunk)
            built, sent = [], []
            for i, record in enumerate(chunk):
                try:
                    built.append(self.record_xml.record(record_type, record))
                    sent.append(i)
                except (TypeError, ValueError) as exc:
                    # A field or value the WSDL does not have for this record type: that one
                    # record is wrong, the others still go.
                    results[i] = WriteResult(
                        False,
                        record.get("internalId"),
                        record.get("externalId"),
                        Failure("data", CODE_INVALID_RECORD, f"{record_type}: {' '.join(str(exc).split())[:400]}"),
                    )
            if sent:
                chunk_sent = [chunk[i] for i in sent]
                written = self._write_chunk(operation, chunk_sent, replay_safe(chunk_sent), records_xml=built)
                for i, result in zip(sent, written, strict=True):
                    results[i] = result
            done = [r for r in results if r is not None]
            assert len(done) == len(chunk)  # each record was refused by zeep or sent
            return done

        return [res for page in self._concurrently(write, chunks) for res in page]

    def _write_chunk(
        self, operation: str, chunk: Sequence[Mapping[str, Any]], replay_safe: bool, **body: Any
    ) -> list[WriteResult]:
        try:
            response = self.call(operation, replay_safe=replay_safe, **body).writeResponseList
        except NetSuiteAuthError:
            raise
        except NetSuiteError as error:
            # The whole request failed: every record gets the verdict, so one bad chunk never
            # hides the others' results (and the engine can split a chunk NetSuite refused).
            return [WriteResult(False, r.get("internalId"), r.get("externalId"), error.failure) for r in chunk]
        responses = response.writeResponse or []
        if len(responses) != len(chunk):
            # No per-record answer to go by: some records may have been written.
            code, message = status_detail(response.status)
            failure = Failure("unknown", code, message, whole_request=True)
            return [WriteResult(False, r.get("internalId"), r.get("externalId"), failure) for r in chunk]
        results = []
        for sent, written in zip(chunk, responses, strict=True):
            ref = written.baseRef
            internal_id = getattr(ref, "internalId", None) or sent.get("internalId")
            external_id = getattr(ref, "externalId", None) or sent.get("externalId")
            if written.status.isSuccess:
                results.append(WriteResult(True, internal_id, external_id))
            else:
                results.append(WriteResult(False, internal_id, external_id, record_failure(written.status)))
        return results

    def _concurrently(self, fn, chunks: list) -> list:
        if len(chunks) <= 1:
            return [fn(c) for c in chunks]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks)), thread_name_prefix="netsuite") as pool:
            return list(pool.map(fn, chunks))


def _deleted_dict(entry: Any) -> Record:
    ref = entry.record
    return {
        "internalId": getattr(ref, "internalId", None),
        "externalId": getattr(ref, "externalId", None),
        "type": getattr(ref, "type", None),
        "deletedDate": entry.deletedDate,
    }
