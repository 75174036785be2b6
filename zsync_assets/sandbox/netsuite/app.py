"""The NetSuite sandbox ASGI app: the vendor's WSDL + XSDs, the SOAP endpoint, governance, fault
injection and the account clock.

The WSDL is NetSuite's own 2023_2 file with only `soap:address` pointed at this server; its
XSDs are served beside it (`xsd/<name>`), where the WSDL's relative schemaLocations lead.
Requests for them are counted in `/__sandbox/stats` (`GET wsdl`, `GET xsd`), so a test can tell
whether a client loaded the schema from here or from its cache.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from zsync_assets.sandbox.faults import DroppingResponse, FaultInjector, html_error_page
from zsync_assets.sandbox.netsuite import periods, soap
from zsync_assets.sandbox.netsuite.auth import MAX_SKEW_S, PassportVerifier, TbaCredentials
from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.schema import ENDPOINT_PATH, WSDL_PATH, validator, vendor_files, zeep_schema
from zsync_assets.sandbox.netsuite.seed import seed_account
from zsync_assets.sandbox.netsuite.service import WRITE_OPS, NetSuiteService
from zsync_assets.sandbox.netsuite.store import Store

# Standard accounts allow 5 concurrent web-service requests (Premium 15, Enterprise 20, +10 per
# SuiteCloud Plus licence); requests beyond it fail with WS_REQUEST_BLOCKED.
DEFAULT_CONCURRENCY_LIMIT = 5


class Governor:
    """Concurrent requests per account, counted across every client of this sandbox."""

    def __init__(self, limit: int):
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def create_app(
    data_dir: Path,
    *,
    seed: int,
    size: int,
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
    search_id_ttl_s: float = 900.0,
    latency_per_record_ms: float = 0.0,
    max_skew_s: int = MAX_SKEW_S,
    deleted_page_size: int = 1000,
    time_zone: str | None = None,
    **credentials: str,
) -> Starlette:
    """`time_zone`: the account's (IANA name; default NETSUITE_SANDBOX_TIME_ZONE, else America/Los_Angeles)."""
    data_dir = Path(data_dir)
    files = vendor_files()  # every vendor file present, or an error naming the missing one
    wsdl_text, xsd_files = files[0].read_text(), {p.name: p.read_bytes() for p in files[1:]}
    # Both parsed once per process (about a second each), before a first request would wait for them.
    zeep_schema()
    validator()
    store = Store(data_dir / "netsuite.sqlite")
    creds = TbaCredentials.from_env(**credentials)
    clock = AccountClock(time_zone)
    if store.is_empty():
        seed_account(store, clock, seed=seed, size=size)
    service = NetSuiteService(
        store,
        PassportVerifier(creds, max_skew_s),
        clock,
        search_id_ttl_s=search_id_ttl_s,
        latency_per_record_ms=latency_per_record_ms,
        deleted_page_size=deleted_page_size,
    )
    injector = FaultInjector()
    governor = Governor(concurrency_limit)

    async def wsdl(request: Request) -> Response:
        injector.count("GET wsdl")
        endpoint = str(request.base_url).rstrip("/") + ENDPOINT_PATH
        text = re.sub(r'(<soap:address\s+location=)"[^"]*"', rf'\1"{endpoint}"', wsdl_text)
        return Response(text, media_type="text/xml; charset=utf-8")

    async def xsd(request: Request) -> Response:
        content = xsd_files.get(request.path_params["name"])
        if content is None:
            return Response("not found", status_code=404)
        injector.count("GET xsd")
        return Response(content, media_type="text/xml; charset=utf-8")

    async def endpoint(request: Request) -> Response:
        try:
            envelope = soap.parse_envelope(await request.body())
        except soap.SoapFault as fault:
            return soap.fault_response(fault)
        decision = injector.decide(envelope.operation, is_write=envelope.operation in WRITE_OPS)
        if decision.drop_before or await injector.hang(decision):
            return DroppingResponse()
        if not governor.enter():
            injector.count("governance_blocked")
            return soap.fault_response(soap.concurrency_fault(governor.limit))
        try:
            await injector.delay(decision)
            if decision.governance or decision.status_429:
                injector.count("governance_blocked")
                return soap.fault_response(soap.concurrency_fault(governor.limit))
            if decision.error_status:
                if decision.error_html:
                    return HTMLResponse(*html_error_page(decision.error_status))
                return soap.fault_response(
                    soap.SoapFault(
                        "unexpectedErrorFault",
                        decision.error_code or "UNEXPECTED_ERROR",
                        f"{decision.error_code or 'An unexpected error occurred'} (injected fault).",
                        http_status=decision.error_status,
                    )
                )
            outcome = await run_in_threadpool(service.handle, envelope)
            if outcome.committed:
                injector.count("writes")
                injector.count(f"writes:{envelope.operation}")
                injector.count("records_written", outcome.committed)
            if decision.drop_after_commit:
                return DroppingResponse()  # the write stands; the client never hears about it
            return outcome.response
        finally:
            governor.leave()

    async def info(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "sandbox": "netsuite",
                "account": creds.account,
                "wsdl": WSDL_PATH,
                "endpoint": ENDPOINT_PATH,
                "concurrency_limit": governor.limit,
                "in_flight": governor.in_flight,
                "peak_in_flight": governor.peak,
                "time_zone": clock.time_zone,
                "now": clock.stamp(),
            }
        )

    async def set_clock(request: Request) -> JSONResponse:
        """{"now": ISO 8601 with offset} runs the account clock from then on; DELETE: real time."""
        if request.method == "DELETE":
            clock.set(None)
        else:
            text = str((await request.json()).get("now", ""))
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except (TypeError, ValueError):
                return JSONResponse({"error": f"now must be an ISO 8601 date-time; got {text!r}"}, status_code=400)
            if moment.tzinfo is None:
                return JSONResponse({"error": "now needs an offset (e.g. Z or -07:00)"}, status_code=400)
            clock.set(moment)
        return JSONResponse({"time_zone": clock.time_zone, "now": clock.stamp()})

    async def set_periods(request: Request) -> JSONResponse:
        """{"closed_through": "YYYY-MM-DD"} closes every accounting period up to that day; DELETE
        reopens them (periods.py: closing is a UI action in NetSuite, not a web service)."""
        if request.method == "DELETE":
            periods.close_through(store, None)
        else:
            text = str((await request.json()).get("closed_through", ""))
            try:
                periods.close_through(store, date.fromisoformat(text))
            except ValueError:
                return JSONResponse(
                    {"error": f"closed_through must be a date (YYYY-MM-DD); got {text!r}"}, status_code=400
                )
        last = periods.closed_through(store)
        return JSONResponse({"closed_through": last.isoformat() if last else None})

    routes = [
        Route("/", info),
        Route(WSDL_PATH, wsdl),
        Route(WSDL_PATH.rsplit("/", 1)[0] + "/xsd/{name}", xsd),
        Route(ENDPOINT_PATH, endpoint, methods=["POST"]),
        Route("/__sandbox/clock", set_clock, methods=["POST", "DELETE"]),
        Route("/__sandbox/periods", set_periods, methods=["POST", "DELETE"]),
        *injector.admin_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.injector = injector
    app.state.governor = governor
    app.state.clock = clock
    return app
