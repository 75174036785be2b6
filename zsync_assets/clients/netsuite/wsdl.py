"""The SuiteTalk WSDL's types (loaded by wsdl_cache.py) and the dict <-> SOAP object mapping.

zeep is used only to build envelopes (`create_message`) and to parse replies; sending is
ours (see soap.py), so every attempt carries a freshly signed passport and nothing below
us retries a signed request.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import zeep
from zeep.helpers import serialize_object

from zsync_assets.clients.netsuite.custom_fields import custom_field_kind
from zsync_assets.clients.netsuite.wsdl_cache import load_wsdl

__all__ = ["Schema", "load_wsdl", "record_dict"]


class Schema:
    """Type lookups in one loaded WSDL, for one SuiteTalk version (namespaces carry it)."""

    def __init__(self, client: zeep.Client, version: str):
        self.client = client
        self.version = version
        self.core = f"urn:core_{version}.platform.webservices.netsuite.com"
        self.common = f"urn:common_{version}.platform.webservices.netsuite.com"
        self.messages = f"urn:messages_{version}.platform.webservices.netsuite.com"
        self._record_types: dict[str, Any] = {}
        for qname in _type_qnames(client):
            ns, _, local = qname[1:].partition("}")
            # Records live in the lists/transactions/setup/... namespaces; the same local name
            # also appears as a search class in platform.common (e.g. `Customer` vs search rows).
            if ".platform." in ns:
                continue
            self._record_types.setdefault(local, qname)

    def type(self, qname: str):
        return self.client.get_type(qname)

    def core_type(self, name: str):
        return self.client.get_type(f"{{{self.core}}}{name}")

    def record_class(self, record_type: str):
        """`customer` -> the Customer type (xsi:type of a record in add/update/upsert)."""
        local = record_type[:1].upper() + record_type[1:]
        qname = self._record_types.get(local)
        if qname is None:
            raise ValueError(f"record type {record_type!r} is not in this WSDL")
        return self.client.get_type(qname)

    def search_basic_class(self, search_type: str):
        local = search_type[:1].upper() + search_type[1:] + "SearchBasic"
        return self.client.get_type(f"{{{self.common}}}{local}")

    # -- dicts -> SOAP ---------------------------------------------------------------------

    def record(self, record_type: str, data: Mapping[str, Any]):
        cls = self.record_class(record_type)
        fields = {k: self._value(k, v) for k, v in data.items() if k != "recordType"}
        return cls(**fields)

    def _value(self, key: str, value: Any) -> Any:
        if key == "customFieldList" and isinstance(value, Mapping) and "customField" not in value:
            return {"customField": [self.custom_field(sid, v) for sid, v in value.items()]}
        if isinstance(value, Mapping):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(key, v) for v in value]
        return value

    def custom_field(self, script_id: str, value: Any):
        """A typed CustomFieldRef: the XSD makes `customField` abstract, so xsi:type must name one."""
        kind, value = custom_field_kind(value)
        return self.core_type(kind)(scriptId=script_id, value=value)

    def record_ref(self, record_type: str, internal_id: str | None = None, external_id: str | None = None):
        return self.core_type("RecordRef")(type=record_type, internalId=internal_id, externalId=external_id)


def _type_qnames(client: zeep.Client) -> list[str]:
    return [t.qname.text for t in client.wsdl.types.types if getattr(t, "qname", None) is not None]


# -- SOAP -> dicts -------------------------------------------------------------------------


def record_dict(obj: Any) -> dict[str, Any]:
    """A zeep record as a plain dict: None dropped, customFieldList as {scriptId: value},
    plus `recordType` from its xsi:type (`NonInventorySaleItem` -> `nonInventorySaleItem`)."""
    type_name = getattr(getattr(obj, "_xsd_type", None), "name", None) or ""
    data = _plain(serialize_object(obj, target_cls=dict))
    if type_name:
        data["recordType"] = type_name[:1].lower() + type_name[1:]
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "customFieldList" and isinstance(v, dict):
                out[k] = {
                    f["scriptId"]: _plain(f.get("value")) for f in v.get("customField") or [] if f and f.get("scriptId")
                }
                continue
            v = _plain(v)
            if v is not None and v != [] and v != {}:
                out[k] = v
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value
