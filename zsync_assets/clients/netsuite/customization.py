"""`get_customization_ids`: which custom fields a NetSuite account has, by kind (SuiteTalk
`getCustomizationId`).

One call per kind (`entityCustomField`, `itemCustomField`, `transactionBodyCustomField`,
`transactionColumnCustomField`, ... the `GetCustomizationType` enumeration of
platform.coreTypes.xsd) lists every definition as a `CustomizationRef` with its `scriptId`. A
read: it goes through the client's retried, signed `call` like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zsync_assets.clients.netsuite.interface import NetSuiteError


@dataclass(frozen=True)
class CustomizationRef:
    script_id: str  # e.g. custentity_zsync_zuora_id
    internal_id: str | None
    name: str | None
    kind: str  # the customization type asked for, e.g. entityCustomField


def get_customization_ids(
    client: Any, customization_type: str, *, include_inactives: bool = False
) -> list[CustomizationRef]:
    """The definitions of one kind of customization (`client`: a `SoapNetSuiteClient`)."""
    result = client.call(
        "getCustomizationId",
        customizationType={"getCustomizationType": customization_type},
        includeInactives=include_inactives,
    ).getCustomizationIdResult
    if not result.status.isSuccess:
        details = result.status.statusDetail or []
        if not details:
            raise NetSuiteError("UNKNOWN", f"getCustomizationId {customization_type} failed without detail")
        raise NetSuiteError(str(details[0].code), str(details[0].message))
    refs = result.customizationRefList.customizationRef if result.customizationRefList else None
    return [
        CustomizationRef(str(ref.scriptId), ref.internalId, ref.name, customization_type)
        for ref in refs or []
        if ref.scriptId
    ]
