"""Zuora's two error dialects and the request id every response carries.

v1 routes answer `{"success": false, "processId", "reasons": [{"code", "message"}], "requestId"}`
(`CommonResponse` in the spec); Object Query answers `{"reasons": [{"code", "message"}],
"requestId"}` (`CommonOQErrorResponse`). v1 codes are 8 digits: an object prefix and a category
suffix (Zuora "Error Handling": 10 permission, 11 authentication, 20 invalid value, 21 unknown
field, 22 missing required field, 23 missing required parameter, 30 rule restriction, 40 not
found, 45 unsupported, 50 locking, 60 internal, 70 request limit).
"""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse

INVALID_VALUE, UNKNOWN_FIELD, MISSING_REQUIRED, RULE, NOT_FOUND, UNSUPPORTED, LOCKED, INTERNAL, LIMIT = (
    20,
    21,
    22,
    30,
    40,
    45,
    50,
    60,
    70,
)
PERMISSION, AUTHENTICATION, MISSING_PARAMETER = 10, 11, 23


def new_request_id() -> str:
    return str(uuid.uuid4())  # 36 characters, as the spec's Zuora-Request-Id header requires


class ApiError(Exception):
    """A refusal; `more` adds reasons (category, message) after the first, as Zuora lists every
    problem of a request in `reasons`."""

    def __init__(
        self,
        status: int,
        category: int,
        message: str,
        *,
        object_code: int = 500000,
        more: list[tuple[int, str]] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = object_code * 100 + category
        self.message = message
        self.reasons = [(self.code, message)] + [(object_code * 100 + c, m) for c, m in more or []]


def error_body(err: ApiError, family: str, request_id: str) -> dict:
    reasons = [{"code": code, "message": message} for code, message in err.reasons]
    if family == "object-query":
        return {"reasons": reasons, "requestId": request_id}
    return {
        "success": False,
        "processId": request_id[:16].replace("-", "").upper(),
        "reasons": reasons,
        "requestId": request_id,
    }


def error_response(err: ApiError, family: str, request_id: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(error_body(err, family, request_id), status_code=err.status, headers=headers)
