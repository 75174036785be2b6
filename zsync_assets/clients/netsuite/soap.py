"""SuiteTalk SOAP transport under the NetSuite client (client.py): zeep builds and parses, httpx
sends, tenacity retries.

Each attempt rebuilds the whole envelope with a new signed passport (a TBA passport is
single-use) and is sent exactly once: httpx's transport has `retries=0`, and zeep's own
transport is never used to send. This module is the one place that judges a NetSuite failure
(`call`, `_parse`, `_fault_error`, `record_failure`); the verdict leaves it as a typed value
(`NetSuiteError.kind`, `WriteResult.failure`, see `zsync_assets/lib/failure.py`):

- transient: governance faults (`ExceededConcurrentRequestLimitFault`, `WS_REQUEST_BLOCKED`,
  `WS_CONCUR_SESSION_DISALLWD`...), HTTP 429, NetSuite's catch-all `UNEXPECTED_ERROR` (retrying
  is what NetSuite support recommends), HTTP 5xx without a SOAP body, and transport errors.
  Each is retried here with growing, jittered delays; what still fails is reported transient,
  so the engine sends it again on the next run;
- a transport error or 5xx may leave a write committed. Reads, update, upsert (keyed by
  externalId) and delete are safe to replay; add/addList only when every record carries an
  externalId (a replayed record that did commit comes back as `DUP_ENTITY`). Otherwise the
  chunk is reported `unknown` (`ZSYNC_UNKNOWN_OUTCOME`): looked up before anything is re-sent;
- a connection that could not be opened never reached NetSuite: always retried;
- other faults (an invalid request, a value the schema refuses) are `data` of the whole
  request; bad credentials raise `NetSuiteAuthError`, which no retry can fix.

SOAP 1.1 sends every fault with HTTP 500, so the fault's code decides, not the status.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import httpx
import requests
from lxml import etree
from tenacity import Retrying, retry_if_exception, wait_random_exponential
from zeep.exceptions import Fault, TransportError

from zsync_assets.clients.http import pool_limits, ssl_context
from zsync_assets.clients.netsuite.governance import ConcurrencySlots
from zsync_assets.clients.netsuite.interface import (
    CODE_UNKNOWN_OUTCOME,
    MAX_ADD_LIST,
    MAX_GET_LIST,
    MAX_PAGE_SIZE,
    MAX_UPDATE_LIST,
    MAX_UPSERT_LIST,
    MIN_PAGE_SIZE,
    NetSuiteAuthError,
    NetSuiteError,
    RecordSeen,
)
from zsync_assets.clients.netsuite.passport import TbaCredentials, token_passport
from zsync_assets.clients.netsuite.record_reader import RecordReader, page_from_zeep
from zsync_assets.clients.netsuite.record_xml import RecordXml, list_envelope
from zsync_assets.clients.netsuite.wsdl import Schema, load_wsdl
from zsync_assets.lib.failure import Failure, FailureKind, VendorUnreachable, unreachable_hint
from zsync_assets.sandbox import defaults

_GOVERNANCE_FAULTS = {"exceededconcurrentrequestlimitfault", "exceededrequestlimitfault"}
_GOVERNANCE_CODES = {
    "WS_REQUEST_BLOCKED",
    "WS_CONCUR_SESSION_DISALLWD",
    "SSS_REQUEST_LIMIT_EXCEEDED",
    "EXCEEDED_CONCURRENT_REQUEST_LIMIT",
    "EXCEEDED_REQUEST_LIMIT",
}
_AUTH_FAULTS = {"invalidcredentialsfault", "invalidsessionfault", "invalidaccountfault"}
CODE_CONNECT_ERROR = "CONNECT_ERROR"  # no connection could be opened: nothing was sent
CODE_INVALID_RECORD = "ZSYNC_INVALID_RECORD"  # the WSDL has no such field/value for the record type
# NetSuite's catch-all for a failure on its side, as a fault or as one record's status.
_TRANSIENT_CODES = _GOVERNANCE_CODES | {"UNEXPECTED_ERROR"}


class _AttemptFailed(Exception):
    """One attempt failed; `outcome_known` says whether NetSuite certainly did nothing."""

    def __init__(self, error: NetSuiteError, *, outcome_known: bool):
        super().__init__(str(error))
        self.error = error
        self.outcome_known = outcome_known


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(int(value), high))


class SoapTransport:
    """One SOAP call at a time, signed, sent, retried and judged (`call`); the record operations
    built on it are `SoapNetSuiteClient`'s (client.py)."""

    def __init__(
        self,
        creds: TbaCredentials,
        *,
        wsdl_url: str,
        endpoint_url: str,
        version: str = "2023_2",
        concurrency: int = 5,
        lock_dir: Path,
        add_batch_size: int = MAX_ADD_LIST,
        update_batch_size: int = MAX_UPDATE_LIST,
        upsert_batch_size: int = MAX_UPSERT_LIST,
        get_batch_size: int = MAX_GET_LIST,
        page_size: int = MAX_PAGE_SIZE,
        max_attempts: int = 8,
        connect_attempts: int = 3,
        backoff_s: float = 0.25,
        max_backoff_s: float = 20.0,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        wsdl_cache_dir: Path | None = None,
    ):
        self.creds = creds
        self.account_id = creds.account
        self.endpoint_url = endpoint_url
        try:
            self.zeep = load_wsdl(wsdl_url, wsdl_cache_dir)
        except requests.exceptions.RequestException as exc:  # zeep fetches the WSDL with requests
            raise VendorUnreachable(
                "NetSuite", wsdl_url, f"loading the WSDL: {type(exc).__name__}", _hint(wsdl_url)
            ) from None
        self.schema, self.record_xml, self.record_reader = _codecs(self.zeep, version)
        self.concurrency = max(1, concurrency)
        self.slots = ConcurrencySlots(creds.account, self.concurrency, lock_dir)
        # Batch sizes are settings but can never exceed the vendor limits.
        self.add_batch_size = clamp(add_batch_size, 1, MAX_ADD_LIST)
        self.update_batch_size = clamp(update_batch_size, 1, MAX_UPDATE_LIST)
        self.upsert_batch_size = clamp(upsert_batch_size, 1, MAX_UPSERT_LIST)
        self.get_batch_size = clamp(get_batch_size, 1, MAX_GET_LIST)
        self.page_size = clamp(page_size, MIN_PAGE_SIZE, MAX_PAGE_SIZE)
        self.max_attempts = max(1, max_attempts)
        # A host that refuses connections gets a few quick tries, not the full backoff.
        self.connect_attempts = max(1, min(connect_attempts, self.max_attempts))
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        # retries=0: a signed request must never be re-sent below us (the passport is single-use).
        self.http = httpx.Client(
            transport=httpx.HTTPTransport(retries=0, verify=ssl_context(), limits=pool_limits(self.concurrency)),
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )
        self.calls: Counter[str] = Counter()  # requests sent per operation, retries included
        self.retries: Counter[str] = Counter()  # of which re-sent after a retriable failure
        self._calls_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one SOAP call, retried ----------------------------------------------------------

    def call(
        self,
        operation: str,
        *,
        replay_safe: bool = True,
        headers: Mapping[str, Any] | None = None,
        records_xml: Sequence[etree._Element] = (),
        read_page: bool = False,
        seen: RecordSeen | None = None,
        **body: Any,
    ) -> Any:
        """Send `operation` and return its parsed body; raises NetSuiteError after retries.
        `records_xml`: a list write's records, rendered already (record_xml.py); `read_page`:
        a search, searchMoreWithId or getAll, whose reply is returned as a `ReadPage`
        (record_reader.py), with the records the caller has `seen` left unread."""
        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, _AttemptFailed) and e.error.retriable and (e.outcome_known or replay_safe)
            ),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            stop=self._stop,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(
                        operation,
                        headers or {},
                        body,
                        records_xml,
                        attempt.retry_state.attempt_number,
                        read_page,
                        seen,
                    )
        except _AttemptFailed as failed:
            error = failed.error
            if error.code == CODE_CONNECT_ERROR:
                raise VendorUnreachable(
                    "NetSuite", self.endpoint_url, error.message, _hint(self.endpoint_url)
                ) from None
            if not failed.outcome_known and not replay_safe:
                raise NetSuiteError(CODE_UNKNOWN_OUTCOME, error.message, kind="unknown") from None
            raise error from None
        raise AssertionError("unreachable")

    def _stop(self, retry_state: Any) -> bool:
        exc = retry_state.outcome.exception()
        unreachable = isinstance(exc, _AttemptFailed) and exc.error.code == CODE_CONNECT_ERROR
        return retry_state.attempt_number >= (self.connect_attempts if unreachable else self.max_attempts)

    def _attempt(
        self,
        operation: str,
        headers: Mapping[str, Any],
        body: dict[str, Any],
        records_xml: Sequence[etree._Element],
        attempt_number: int,
        read_page: bool = False,
        seen: RecordSeen | None = None,
    ) -> Any:
        passport = token_passport(self.creds)  # fresh nonce + signature for THIS attempt
        envelope = list_envelope(
            self.zeep, self.schema, operation, {"tokenPassport": passport, **headers}, body, records_xml
        )
        payload = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        redact = (*self.creds.secrets, passport["signature"]["_value_1"])
        with self._calls_lock:
            if attempt_number > 1:
                self.retries[operation] += 1
            self.calls[operation] += 1
        with self.slots.hold():
            try:
                response = self.http.post(
                    self.endpoint_url,
                    content=payload,
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": operation},
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                text = f"{type(exc).__name__}: {_clean(str(exc), redact)}"
                raise _AttemptFailed(
                    NetSuiteError(CODE_CONNECT_ERROR, text, kind="transient"), outcome_known=True
                ) from None
            except httpx.TransportError as exc:
                text = f"{type(exc).__name__}: {_clean(str(exc), redact)}"
                raise _AttemptFailed(
                    NetSuiteError("TRANSPORT_ERROR", text, kind="transient"), outcome_known=False
                ) from None
        return self._parse(operation, response, redact, read_page, seen)

    def _parse(
        self,
        operation: str,
        response: httpx.Response,
        redact: Sequence[str],
        read_page: bool = False,
        seen: RecordSeen | None = None,
    ) -> Any:
        binding = self.zeep.service._binding
        if response.status_code == 429:
            raise _AttemptFailed(NetSuiteError("HTTP_429", "too many requests", kind="transient"), outcome_known=True)
        if response.status_code != 200 and "xml" not in response.headers.get("content-type", ""):
            # No SOAP body at all: a proxy or load balancer in front of NetSuite answered.
            text = _clean(response.text, redact)[:300]
            if response.status_code in (401, 403):
                raise _AttemptFailed(
                    NetSuiteAuthError(f"HTTP_{response.status_code}", text or "access denied"), outcome_known=True
                )
            kind: FailureKind = "transient" if response.status_code >= 500 else "data"
            raise _AttemptFailed(
                NetSuiteError(f"HTTP_{response.status_code}", f"answered without a SOAP body: {text}", kind=kind),
                outcome_known=False,
            )
        if read_page and response.status_code == 200:
            # A page of records, read without zeep's objects; a fault or anything the reader
            # does not fully know goes on to zeep, which judges it below.
            page = self.record_reader.read_reply(response.content, seen)
            if page is not None:
                return page
        try:
            result = binding.process_reply(self.zeep, binding.get(operation), response)
        except Fault as fault:
            raise _fault_error(fault, redact) from None
        except TransportError as exc:
            text = _clean(exc.message or "", redact)[:500]
            if exc.status_code in (401, 403):
                raise _AttemptFailed(
                    NetSuiteAuthError(f"HTTP_{exc.status_code}", text or "access denied"), outcome_known=True
                ) from None
            kind = "transient" if exc.status_code >= 500 else "data"
            raise _AttemptFailed(
                NetSuiteError(f"HTTP_{exc.status_code}", text, kind=kind), outcome_known=False
            ) from None
        body = result.body if hasattr(result, "body") else result
        return page_from_zeep(body) if read_page else body


@functools.cache
def _codecs(zeep_client: Any, version: str) -> tuple[Schema, RecordXml, RecordReader]:
    """The WSDL's type lookups and the record writer and reader built on them, once per loaded
    WSDL (load_wsdl keeps one per process): indexing the WSDL's types costs about 50 ms of CPU,
    and staging alone opens a client per record family."""
    schema = Schema(zeep_client, version)
    return schema, RecordXml(schema), RecordReader(schema)


def status_detail(status: Any) -> tuple[str, str]:
    details = getattr(status, "statusDetail", None) or []
    if not details:
        return "UNKNOWN", "NetSuite returned a failed status without detail"
    first = details[0]
    return str(first.code or "UNKNOWN"), str(first.message or "")


def _clean(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _hint(url: str) -> str:
    return unreachable_hint(url, defaults.netsuite_url(), "NETSUITE_ACCOUNT_ID / NETSUITE_ENDPOINT_URL")


def record_failure(status: Any) -> Failure:
    """One record's failed status in a list response: data, unless NetSuite failed on its side."""
    code, message = status_detail(status)
    return Failure("transient" if code in _TRANSIENT_CODES else "data", code, message)


def _fault_error(fault: Fault, redact: Sequence[str]) -> _AttemptFailed:
    """A SOAP fault as a NetSuiteError with its verdict; a fault means NetSuite did nothing."""
    kind, code = "", fault.code or "FAULT"
    detail = fault.detail
    if detail is not None and len(detail):
        element = detail[0]
        kind = etree.QName(element).localname.lower()
        code_node = next((c for c in element.iter() if etree.QName(c).localname == "code"), None)
        if code_node is not None and code_node.text:
            code = code_node.text.strip()
    message = _clean(fault.message or "", redact)
    if kind in _AUTH_FAULTS or code in {"INVALID_LOGIN_ATTEMPT", "INVALID_LOGIN_CREDENTIALS"}:
        return _AttemptFailed(NetSuiteAuthError(code, message), outcome_known=True)
    transient = kind in _GOVERNANCE_FAULTS or code in _TRANSIENT_CODES
    return _AttemptFailed(NetSuiteError(code, message, kind="transient" if transient else "data"), outcome_known=True)
