"""The sandbox refuses a request that breaks Zuora's OpenAPI document, and remembers it.

A refused request gets 400 in Zuora's v1 error body (`success: false`, one `reasons` entry per
problem, the code's last two digits the category: 20 invalid value, 21 unknown field, 22 missing
required field, 23 missing required parameter). Parameters (headers, query) are checked before
the `Idempotency-Key` is claimed; the body is checked as part of the request's work, so Zuora's
replay of a failed first answer holds for a refused body too. `POST /oauth/token` is answered in
OAuth's own error shape (RFC 6749 section 5.2), as the token handler does.

Every refused request is kept in a log (`GET /__sandbox/invalid-requests`, cleared with
`DELETE`): the test suite reads it to prove that zsync only sends what Zuora accepts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from zsync_assets.sandbox.zuora.errors import ApiError
from zsync_assets.sandbox.zuora.openapi import Problem, RequestSchemas, load_spec

MAX_LOGGED = 1000  # a runaway client must not grow the sandbox's memory without bound

Handler = Callable[[Any], tuple[int, Any]]  # gateway.Call -> (status, body)


def _api_error(problems: list[Problem]) -> ApiError:
    first, *rest = problems
    return ApiError(400, first.category, str(first), more=[(p.category, str(p)) for p in rest])


class RequestChecks:
    def __init__(self, schemas: RequestSchemas | None = None):
        self.schemas = schemas or RequestSchemas(load_spec())
        self.checked = 0
        self.invalid: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def prepare(self, method: str, template: str) -> None:
        """Fails at start-up when a sandbox route is not in the spec or reaches a dangling `$ref`."""
        self.schemas.operation(method, template)

    def _record(self, request: Request, route: str, problems: list[Problem]) -> None:
        with self._lock:
            self.checked += 1
            if problems and len(self.invalid) < MAX_LOGGED:
                self.invalid.append(
                    {
                        "route": route,
                        "path": request.url.path,
                        "at": time.time(),
                        "problems": [str(p) for p in problems],
                    }
                )

    def parameters(self, route: str, request: Request) -> ApiError | None:
        """The refusal for header/query parameters that break the spec, else None."""
        method, template = route.split(" ", 1)
        op = self.schemas.operation(method, template)
        problems = self.schemas.check_parameters(op, request.headers, request.query_params)
        if problems:
            self._record(request, route, problems)
            return _api_error(problems)
        return None

    def wrap(self, route: str, handler: Handler) -> Handler:
        """`handler`, run only for a body that matches the route's request schema."""
        method, template = route.split(" ", 1)

        def checked(call: Any) -> tuple[int, Any]:
            op = self.schemas.operation(method, template)
            if op.form is not None and op.body is None:
                body = {k: v[-1] for k, v in parse_qs(call.body.decode("utf-8", "replace")).items()}
                problems = self.schemas.check_form(op, body)
                self._record(call.request, route, problems)
                if problems:
                    return 400, {"error": "invalid_request", "error_description": "; ".join(map(str, problems))}
                return handler(call)
            try:
                body = call.json()
            except ApiError as err:  # not JSON at all (NaN and Infinity included)
                self._record(call.request, route, [Problem("", err.message, 20)])
                raise
            problems = self.schemas.check_body(op, body)
            self._record(call.request, route, problems)
            if problems:
                raise _api_error(problems)
            return handler(call)

        return checked

    # -- admin API --------------------------------------------------------------------------

    def admin_routes(self) -> list[Route]:
        async def get_log(request: Request) -> JSONResponse:
            with self._lock:
                return JSONResponse({"checked": self.checked, "invalid": list(self.invalid)})

        async def clear_log(request: Request) -> JSONResponse:
            with self._lock:
                self.checked, self.invalid = 0, []
            return JSONResponse({"checked": 0, "invalid": []})

        return [
            Route("/__sandbox/invalid-requests", get_log, methods=["GET"]),
            Route("/__sandbox/invalid-requests", clear_log, methods=["DELETE"]),
        ]
