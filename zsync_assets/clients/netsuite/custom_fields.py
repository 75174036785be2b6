"""Which CustomFieldRef type carries a custom field's value (the XSD makes `customField`
abstract, so every one names its type in xsi:type)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def custom_field_kind(value: Any) -> tuple[str, Any]:
    """(CustomFieldRef type, the value as sent) for a Python value."""
    if isinstance(value, bool):
        return "BooleanCustomFieldRef", value
    if isinstance(value, int):
        return "LongCustomFieldRef", value
    if isinstance(value, float | Decimal):
        return "DoubleCustomFieldRef", value
    if isinstance(value, datetime | date):
        return "DateCustomFieldRef", value
    if isinstance(value, Mapping):
        return "SelectCustomFieldRef", value
    if isinstance(value, list | tuple):
        return "MultiSelectCustomFieldRef", value
    return "StringCustomFieldRef", "" if value is None else str(value)
