"""One SOAP request, from validated envelope to response: auth, limits, dispatch.

A fault rejects the whole request (bad passport, invalid body, too many records); anything
about one record is a status inside the response, and the other records still commit.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from lxml import etree
from starlette.responses import Response

from zsync_assets.sandbox.netsuite import soap
from zsync_assets.sandbox.netsuite.auth import AuthError, PassportVerifier
from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.customization import get_customization_id
from zsync_assets.sandbox.netsuite.deleted import DEFAULT_PAGE_SIZE as DELETED_PAGE_SIZE
from zsync_assets.sandbox.netsuite.deleted import get_deleted
from zsync_assets.sandbox.netsuite.errors import RecordError
from zsync_assets.sandbox.netsuite.schema import MSG, parse_element, validation_errors
from zsync_assets.sandbox.netsuite.schema_walk import ZEEP_CHECK, check_against_zeep, parse_request
from zsync_assets.sandbox.netsuite.search import Searcher, SearchError, as_record
from zsync_assets.sandbox.netsuite.store import Store
from zsync_assets.sandbox.netsuite.writes import RecordWriter, feature_disabled, kind_named

log = logging.getLogger(__name__)

# Vendor list limits (SuiteTalk governance): records per call.
LIST_LIMITS = {"getList": 1000, "addList": 200, "updateList": 100, "upsertList": 100, "deleteList": 200}
WRITE_OPS = {"add", "addList", "update", "updateList", "upsert", "upsertList", "delete", "deleteList"}
SINGLE_WRITES = {"add": "add", "update": "update", "upsert": "upsert"}
LIST_WRITES = {"addList": "add", "updateList": "update", "upsertList": "upsert"}


def ok() -> dict:
    return {"isSuccess": True}


def failed(code: str, message: str) -> dict:
    return {"isSuccess": False, "statusDetail": [{"type": "ERROR", "code": code, "message": message}]}


@dataclass
class Outcome:
    response: Response
    committed: int = 0  # records written by this call


class NetSuiteService:
    def __init__(
        self,
        store: Store,
        verifier: PassportVerifier,
        clock: AccountClock,
        *,
        search_id_ttl_s: float = 900.0,
        latency_per_record_ms: float = 0.0,
        deleted_page_size: int = DELETED_PAGE_SIZE,
    ):
        self.store = store
        self.clock = clock
        self.deleted_page_size = deleted_page_size
        self.verifier = verifier
        self.writer = RecordWriter(store, clock)
        self.searcher = Searcher(store, clock, id_ttl_s=search_id_ttl_s)
        self.latency_per_record_ms = latency_per_record_ms

    def handle(self, envelope: soap.Envelope) -> Outcome:
        try:
            self._validate(envelope)
            self._authenticate(envelope)
            if os.environ.get(ZEEP_CHECK):
                check_against_zeep(envelope.body)
            request = parse_request(envelope.body)
            prefs = self._search_preferences(envelope)
            return self._dispatch(envelope.operation, request, prefs)
        except soap.SoapFault as fault:
            return Outcome(soap.fault_response(fault))
        except Exception:  # a sandbox bug must still answer in NetSuite's shape
            log.exception("NetSuite sandbox failed on %s", envelope.operation)
            return Outcome(
                soap.fault_response(
                    soap.SoapFault(
                        "unexpectedErrorFault", "UNEXPECTED_ERROR", "An unexpected error occurred in the sandbox."
                    )
                )
            )

    # ---- request checks ---------------------------------------------------------------------
    def _validate(self, envelope: soap.Envelope) -> None:
        """Against the vendor's XSDs: anything NetSuite's schema accepts gets through."""
        for element in [envelope.body, *envelope.headers.values()]:
            if etree.QName(element).namespace != MSG:
                continue
            errors = validation_errors(element)
            if errors:
                raise soap.user_fault(f"Invalid {etree.QName(element).localname} element: line {errors[0]}")

    def _authenticate(self, envelope: soap.Envelope) -> None:
        if "applicationInfo" in envelope.headers:
            # NetSuite rejects an application ID alongside token-based authentication.
            raise soap.invalid_credentials("applicationInfo must not be sent with token-based authentication")
        passport = envelope.headers.get("tokenPassport")
        try:
            self.verifier.verify(parse_element(passport) if passport is not None else None)
        except AuthError as exc:
            raise soap.invalid_credentials(str(exc)) from None

    @staticmethod
    def _search_preferences(envelope: soap.Envelope) -> dict:
        element = envelope.headers.get("searchPreferences")
        return parse_element(element) if element is not None else {}

    # ---- dispatch ---------------------------------------------------------------------------
    def _dispatch(self, op: str, request: dict, prefs: dict) -> Outcome:
        items = (
            request.get("record")
            if op in LIST_WRITES
            else (request.get("baseRef") if op in ("getList", "deleteList") else None)
        ) or []
        if op in LIST_LIMITS and len(items) > LIST_LIMITS[op]:
            raise soap.record_count_fault(op, LIST_LIMITS[op], len(items))
        if self.latency_per_record_ms:
            time.sleep(self.latency_per_record_ms * len(items or [1]) / 1000)
        if op in SINGLE_WRITES:
            response, n = self._write(SINGLE_WRITES[op], request["record"])
            return self._respond(op, {"writeResponse": response}, n)
        if op in LIST_WRITES:
            results = [self._write(LIST_WRITES[op], record) for record in items]
            value = {"writeResponseList": {"status": ok(), "writeResponse": [r for r, _ in results]}}
            return self._respond(op, value, sum(n for _, n in results))
        if op == "delete":
            response, n = self._write("delete", request["baseRef"])
            return self._respond(op, {"writeResponse": response}, n)
        if op == "deleteList":
            results = [self._write("delete", ref) for ref in items]
            value = {"writeResponseList": {"status": ok(), "writeResponse": [r for r, _ in results]}}
            return self._respond(op, value, sum(n for _, n in results))
        if op == "get":
            return self._respond(op, {"readResponse": self._read(request["baseRef"])})
        if op == "getList":
            value = {"readResponseList": {"status": ok(), "readResponse": [self._read(r) for r in items]}}
            return self._respond(op, value)
        if op == "getAll":
            return self._respond(op, {"getAllResult": self._get_all(request["record"])})
        if op in ("search", "searchMoreWithId"):
            return self._respond(op, {"searchResult": self._search(op, request, prefs)})
        if op == "getDeleted":
            try:
                result = get_deleted(self.store, self.clock, request, page_size=self.deleted_page_size)
            except SearchError as exc:
                result = {"status": failed(exc.code, exc.message)}
            return self._respond(op, {"getDeletedResult": result})
        if op == "getCustomizationId":
            return self._respond(op, {"getCustomizationIdResult": get_customization_id(request)})
        raise soap.user_fault(f"Operation {op} is not supported by the sandbox.")

    def _respond(self, op: str, value: dict, committed: int = 0) -> Outcome:
        document_id = f"WEBSERVICES_{self.verifier.credentials.account}_{uuid.uuid4().hex[:20]}"
        return Outcome(soap.soap_response(op, value, document_id), committed)

    def _write(self, action: str, record: dict) -> tuple[dict, int]:
        try:
            ref = getattr(self.writer, action)(record)
        except RecordError as exc:
            return {"status": failed(exc.code, exc.message)}, 0
        return {"status": ok(), "baseRef": ref}, 1

    def _read(self, ref: dict) -> dict[str, Any]:
        try:
            kind = kind_named(ref.get("type"))
        except RecordError as exc:
            return {"status": failed(exc.code, exc.message)}
        row = None
        if ref.get("internalId"):
            row = self.store.get(ref["internalId"], kind.record_type)
        elif ref.get("externalId"):
            row = self.store.by_external_id(kind.key_space, ref["externalId"])
            row = row if row and row["record_type"] == kind.record_type else None
        if row is None:
            key = ref.get("internalId") or ref.get("externalId")
            return {"status": failed("RCRD_DSNT_EXIST", f"That record does not exist. {kind.record_type} {key}")}
        return {"status": ok(), "record": as_record(row)}

    def _get_all(self, record: dict) -> dict:
        record_type = record.get("recordType", "")  # required by the XSD, which checked the request
        if record_type != "currency":  # of the GetAllRecordType values, the sandbox keeps currencies
            error = feature_disabled(record_type)
            return {"status": failed(error.code, error.message)}
        rows = self.store.all(("currency",))
        result = {"status": ok(), "totalRecords": len(rows)}
        if rows:
            result["recordList"] = {"record": [as_record(r) for r in rows]}
        return result

    def _search(self, op: str, request: dict, prefs: dict) -> dict:
        try:
            if op == "search":
                return self.searcher.search(request["searchRecord"], prefs)
            return self.searcher.more(request["searchId"], request["pageIndex"])
        except SearchError as exc:
            return {"status": failed(exc.code, exc.message)}
