"""What every Zuora API request goes through before and after its handler.

Order: injected faults that act before any work (drop, 429 burst, 5xx) -> rate limit ->
concurrency limit -> bearer token and the entity it acts in -> header and query parameters against the OpenAPI document
(when `checks` is on) -> Idempotency-Key claim -> injected latency (after the claim, so a
duplicate sent meanwhile sees 409 as it would against a slow tenant) -> body against the
OpenAPI document, then the handler, in one transaction with the idempotency record ->
commit-then-drop fault.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from zsync_assets.sandbox.faults import DroppingResponse, FaultInjector, html_error_page
from zsync_assets.sandbox.zuora.entities import Tenant
from zsync_assets.sandbox.zuora.errors import (
    INTERNAL,
    INVALID_VALUE,
    LIMIT,
    ApiError,
    error_body,
    error_response,
    new_request_id,
)
from zsync_assets.sandbox.zuora.idempotency import Conflict, IdempotencyLedger, Replay
from zsync_assets.sandbox.zuora.model import ABSENT_FIELDS
from zsync_assets.sandbox.zuora.request_checks import RequestChecks
from zsync_assets.sandbox.zuora.store import Store

IDEMPOTENT_METHODS = {"POST", "PATCH"}  # Zuora honours Idempotency-Key on POST and PATCH only


@dataclass
class Call:
    request: Request
    body: bytes
    store: Store

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body, parse_constant=_not_json)
        except ValueError as exc:
            raise ApiError(400, INVALID_VALUE, f"request body is not valid JSON: {exc}") from None

    @property
    def path_params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def query(self):  # noqa: ANN201 - starlette QueryParams
        return self.request.query_params


Handler = Callable[[Call], tuple[int, Any]]


def _not_json(constant: str) -> Any:
    # Python's json module reads NaN and Infinity; JSON (RFC 8259) has no such numbers, and
    # Zuora's parser refuses them like any other malformed body.
    raise ValueError(f"{constant} is not a JSON number")


@dataclass
class Limits:
    """Per-minute request quota and concurrent-request caps (Zuora: 40 default, 80 Object Query)."""

    per_minute: int = 10_000
    concurrency: dict[str, int] = field(default_factory=lambda: {"Default": 40, "ObjectQuery": 80})
    _window: int = 0
    _used: int = 0
    _in_flight: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[bool, dict[str, str]]:
        with self._lock:
            now = time.time()
            window = int(now // 60)
            if window != self._window:
                self._window, self._used = window, 0
            allowed = self._used < self.per_minute
            if allowed:
                self._used += 1
            headers = {
                "RateLimit-Limit": str(self.per_minute),
                "RateLimit-Remaining": str(max(self.per_minute - self._used, 0)),
                "RateLimit-Reset": str(math.ceil((window + 1) * 60 - now)),
            }
        return allowed, headers

    def enter(self, kind: str) -> tuple[bool, dict[str, str]]:
        with self._lock:
            limit = self.concurrency[kind]
            used = self._in_flight.get(kind, 0)
            allowed = used < limit
            if allowed:
                self._in_flight[kind] = used = used + 1
        return allowed, {
            "Concurrency-Limit-Type": kind,
            "Concurrency-Limit-Limit": str(limit),
            "Concurrency-Limit-Remaining": str(max(limit - used, 0)),
        }

    def leave(self, kind: str) -> None:
        with self._lock:
            self._in_flight[kind] -= 1


@dataclass
class Gateway:
    tenant: Tenant  # its entities' stores and idempotency ledgers; tokens live in the first
    injector: FaultInjector
    limits: Limits
    checks: RequestChecks | None = None  # Zuora's OpenAPI request schemas, when on

    def route(self, method: str, template: str, handler: Handler, *, write: bool = False, auth: bool = True) -> Route:
        name = f"{method} {template}"
        if self.checks is not None:
            self.checks.prepare(method, template)
            handler = self.checks.wrap(name, handler)
        family = "object-query" if template.startswith("/object-query") else "v1"
        kind = "ObjectQuery" if family == "object-query" else "Default"

        async def endpoint(request: Request) -> Response:
            request_id = new_request_id()
            headers = {"Zuora-Request-Id": request_id}
            decision = self.injector.decide(name, is_write=write)
            if decision.drop_before or await self.injector.hang(decision):
                return DroppingResponse()
            allowed, rate_headers = self.limits.take()
            headers.update(rate_headers)
            if decision.status_429 or not allowed:
                headers["Retry-After"] = rate_headers["RateLimit-Reset"]
                return error_response(
                    ApiError(429, LIMIT, "Too many requests: the rate limit was exceeded"), family, request_id, headers
                )
            if decision.error_status:
                await self.injector.delay(decision)
                if decision.error_html:
                    return HTMLResponse(*html_error_page(decision.error_status))
                return error_response(
                    ApiError(decision.error_status, INTERNAL, "sandbox fault: injected error"),
                    family,
                    request_id,
                    headers,
                )
            allowed, concurrency_headers = self.limits.enter(kind)
            headers.update(concurrency_headers)
            if not allowed:
                return error_response(ApiError(429, LIMIT, "Too many concurrent requests"), family, request_id, headers)
            try:
                return await self._run(request, handler, name, family, write, auth, decision, headers, request_id)
            finally:
                self.limits.leave(kind)

        return Route(template, endpoint, methods=[method], name=name)

    async def _run(
        self,
        request,
        handler,
        name,
        family,
        write,
        auth,
        decision,
        headers,  # noqa: ANN001, PLR0913
        request_id,
    ) -> Response:
        # The tenant's custom fields, for every field lookup of this request (each request runs
        # in its own asyncio task, whose context the setting does not outlive).
        ABSENT_FIELDS.set(self.tenant.absent_fields)
        try:  # the bearer token, then the entity it acts in (Zuora-Entity-Ids)
            entity = self.tenant.entity_for(request) if auth else self.tenant.first
        except ApiError as err:
            await self.injector.delay(decision)
            return error_response(err, family, request_id, headers)
        if self.tenant.multi and auth:  # API requests per entity (`/__sandbox/stats`)
            self.injector.count(f"entity:{entity.id}")
        refused = self.checks.parameters(name, request) if self.checks is not None else None
        if refused is not None:  # before the Idempotency-Key is claimed: an invalid key claims nothing
            return error_response(refused, family, request_id, headers)
        body = await request.body()
        key = request.headers.get("idempotency-key") if request.method in IDEMPOTENT_METHODS else None
        if key:
            claim = entity.idempotency.begin(name, key, body)
            if isinstance(claim, Replay):
                await self.injector.delay(decision)
                return JSONResponse(claim.body, status_code=claim.status, headers=headers)
            if isinstance(claim, Conflict):
                return error_response(ApiError(claim.status, INVALID_VALUE, claim.message), family, request_id, headers)
        try:
            await self.injector.delay(decision)
            status, payload = self._execute(
                Call(request, body, entity.store), handler, name, key, family, request_id, entity.idempotency
            )
        except BaseException:
            if key:
                entity.idempotency.abandon(name, key)
            raise
        if write and status < 300:
            self.injector.count("writes")
            self.injector.count(f"writes:{name}")
            if self.tenant.multi:
                self.injector.count(f"writes:entity:{entity.id}")
        if decision.drop_after_commit:
            return DroppingResponse()  # committed, idempotency record stored; the caller never hears
        if isinstance(payload, Response):  # not JSON (describe answers XML)
            payload.headers.update(headers)
            return payload
        return JSONResponse(payload, status_code=status, headers=headers)

    def _execute(
        self,
        call: Call,
        handler: Handler,
        name: str,
        key: str | None,
        family: str,
        request_id: str,
        idempotency: IdempotencyLedger,
    ) -> tuple[int, Any]:
        try:
            with call.store.transaction():
                status, payload = handler(call)
                if key:
                    idempotency.complete(name, key, status, payload)
        except ApiError as err:
            status, payload = err.status, error_body(err, family, request_id)
            if key:  # Zuora replays failures too
                idempotency.complete(name, key, status, payload)
        return status, payload
