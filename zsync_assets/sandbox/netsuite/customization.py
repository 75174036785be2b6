"""`getCustomizationId`: the account's custom field definitions of one kind, by script id.

SuiteTalk's request (`GetCustomizationIdRequest` in platform.messages.xsd) names a
`customizationType` (its `getCustomizationType` attribute: `entityCustomField`,
`itemCustomField`, `transactionBodyCustomField`, `transactionColumnCustomField`, ...) and
`includeInactives`; the answer (`GetCustomizationIdResult`, platform.core.xsd) lists a
`CustomizationRef` per definition: `scriptId`, `internalId`, `type` and `name`. A connector
reads it to learn, before writing any record, whether the custom fields it writes exist.

The sandbox account has the custom fields of `records.CUSTOM_FIELDS` (those writes accept); a
field's kind follows from its script id prefix, as NetSuite prefixes it when the field is
created (custentity, custitem, custbody, custcol).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.netsuite import records

KIND_BY_PREFIX = {
    "custentity": "entityCustomField",
    "custitem": "itemCustomField",
    "custbody": "transactionBodyCustomField",
    "custcol": "transactionColumnCustomField",
}
FIRST_INTERNAL_ID = 100  # custom field definitions have internal ids of their own


def _label(script_id: str) -> str:
    """`custbody_zsync_zuora_id` -> `Zsync Zuora Id` (the field's name in the UI)."""
    return " ".join(word.capitalize() for word in script_id.split("_")[1:])


def get_customization_id(request: dict[str, Any]) -> dict[str, Any]:
    kind = (request.get("customizationType") or {}).get("getCustomizationType")
    refs = [
        {"internalId": str(FIRST_INTERNAL_ID + n), "type": kind, "scriptId": script_id, "name": _label(script_id)}
        for n, script_id in enumerate(sorted(records.CUSTOM_FIELDS))
        if KIND_BY_PREFIX.get(script_id.split("_", 1)[0]) == kind
    ]
    result: dict[str, Any] = {"status": {"isSuccess": True}, "totalRecords": len(refs)}
    if refs:
        result["customizationRefList"] = {"customizationRef": refs}
    return result
