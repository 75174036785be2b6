"""Request fields as Zuora checks them, for every write section: required fields, the custom
fields the tenant has, dates and numbers. A refusal is Zuora's v1 error body (errors.py)."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, MISSING_REQUIRED, UNKNOWN_FIELD, ApiError
from zsync_assets.sandbox.zuora.model import OBJECTS


def require(body: dict[str, Any], *names: str, where: str = "") -> None:
    for name in names:
        if body.get(name) in (None, "", []):
            raise ApiError(400, MISSING_REQUIRED, f"{where}{name} is required")


def custom_fields(obj: str, body: dict[str, Any]) -> dict[str, Any]:
    """Custom fields (`*__NS`, `*__c`) the object has in this tenant; another one is refused, as
    Zuora refuses a field it does not know (category 21, "unknown field in request")."""
    out = {}
    for key, value in body.items():
        if "__" in key:
            if not OBJECTS[obj].has(key):
                raise ApiError(
                    400,
                    UNKNOWN_FIELD,
                    f"Unknown field in request: '{key}' is not a field of {OBJECTS[obj].zoql} in this tenant",
                )
            out[key] = value
    return out


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def a_date(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ApiError(400, INVALID_VALUE, f"{name} must be a date (yyyy-mm-dd), got '{value}'") from None


def a_number(value: Any, name: str) -> float:
    """A JSON number, or a numeric string where the spec types an amount as one (tax items):
    anything else, NaN and infinities included, is refused like Zuora refuses it."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ApiError(400, INVALID_VALUE, f"{name} must be a number, got {json.dumps(value)[:40]}")
    return number
