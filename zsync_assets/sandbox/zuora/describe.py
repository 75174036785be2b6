"""`GET /v1/describe/{object}`: the fields an object has in this tenant, custom fields included.

Zuora answers with an XML document (`text/xml`, operation `GET_Describe` in
zsync_assets/vendor/zuora-openapi): `<object><name/><label/><fields><field>...` where each
field has its API `name`, a `label`, a `type` (boolean, date, datetime, decimal, integer,
picklist, text, timestamp, ZOQL) and `contexts` (`export`: usable in exports), plus legacy
elements such as `<custom>`. Names are the SOAP/ZOQL spelling (`AccountNumber`,
`IntegrationId__NS`). A custom field the tenant does not have is not listed, which is how a
connector learns before syncing that a field it writes is missing.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from starlette.responses import Response

from zsync_assets.sandbox.zuora.errors import NOT_FOUND, ApiError
from zsync_assets.sandbox.zuora.model import BY_ZOQL, ObjectType

TYPES = {"s": "text", "t": "datetime", "d": "date", "n": "decimal", "i": "integer", "b": "boolean"}


def _label(name: str) -> str:
    """`IntegrationId__NS` -> `Integration Id`, `billToId` -> `Bill To Id`."""
    base = name.split("__")[0]
    return " ".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", base))


def describe_xml(obj: ObjectType) -> bytes:
    root = etree.Element("object")
    etree.SubElement(root, "name").text = obj.zoql
    etree.SubElement(root, "label").text = _label(obj.zoql)
    fields = etree.SubElement(root, "fields")
    for name, kind in obj.types.items():
        if not obj.has(name):
            continue
        field = etree.SubElement(fields, "field")
        etree.SubElement(field, "name").text = name[:1].upper() + name[1:]
        etree.SubElement(field, "label").text = _label(name)
        etree.SubElement(field, "type").text = TYPES[kind]
        contexts = etree.SubElement(field, "contexts")
        etree.SubElement(contexts, "context").text = "export"
        etree.SubElement(field, "custom").text = "true" if "__" in name else "false"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def describe(call: Any) -> tuple[int, Response]:
    name = call.path_params["object"]
    obj = BY_ZOQL.get(name.lower())
    if obj is None:
        raise ApiError(404, NOT_FOUND, f"object '{name}' cannot be described: no such object in this tenant")
    return 200, Response(describe_xml(obj), media_type="text/xml; charset=utf-8")
