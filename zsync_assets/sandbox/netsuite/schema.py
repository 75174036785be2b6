"""The vendor's SuiteTalk 2023_2 WSDL and XSDs, loaded once per process: zeep for
(de)serialising, lxml for validating requests.

The sandbox serves and speaks NetSuite's own schema (`zsync_assets/vendor/netsuite-suitetalk/
2023_2/`, unmodified): every field, enumeration value and record type NetSuite accepts passes
validation here too, and xs:sequence order is the vendor's (a reordered element is refused as
NetSuite refuses it). Records travel as `<record xsi:type="ns:Customer">`; zeep resolves xsi:type
whatever the client's prefixes are, so parsing is namespace-aware and prefix-agnostic.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from zeep.transports import Transport
from zeep.wsdl import Document
from zeep.xsd.valueobjects import CompoundValue

from zsync_assets.vendor import NETSUITE_WSDL, NETSUITE_XSD_DIR, require

WSDL_FILE = NETSUITE_WSDL
XSD_DIR = NETSUITE_XSD_DIR
WSDL_PATH = "/wsdl/v2023_2_0/netsuite.wsdl"
ENDPOINT_PATH = "/services/NetSuitePort_2023_2"

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
MSG = "urn:messages_2023_2.platform.webservices.netsuite.com"
CORE = "urn:core_2023_2.platform.webservices.netsuite.com"
CORE_TYPES = "urn:types.core_2023_2.platform.webservices.netsuite.com"
COMMON = "urn:common_2023_2.platform.webservices.netsuite.com"
FAULTS = "urn:faults_2023_2.platform.webservices.netsuite.com"
RELATIONSHIPS = "urn:relationships_2023_2.lists.webservices.netsuite.com"
ACCOUNTING = "urn:accounting_2023_2.lists.webservices.netsuite.com"
SALES = "urn:sales_2023_2.transactions.webservices.netsuite.com"
CUSTOMERS = "urn:customers_2023_2.transactions.webservices.netsuite.com"

RECORD_REF = f"{{{CORE}}}RecordRef"
TYPE_KEY = "@type"  # plain dicts keep the XSD type (Clark notation) where xsi:type matters


def vendor_files() -> list[Path]:
    """The WSDL and every XSD it reaches through schemaLocation, each one required: a missing
    file stops the sandbox with an error naming it, never a silently smaller schema."""
    seen: dict[Path, None] = {}
    pending = [require(WSDL_FILE)]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen[path] = None
        for node in etree.parse(str(path)).iter(f"{{{XS}}}import", f"{{{XS}}}include"):
            location = node.get("schemaLocation")
            if location:
                pending.append(require((path.parent / location).resolve()))
    return list(seen)


@functools.cache
def zeep_schema():
    """zeep's view of the vendor WSDL (parsed once per process; under a second)."""
    vendor_files()
    # zeep annotates `transport` as a class, but calls methods on it: it takes an instance (as
    # zeep.Client passes one).
    return Document(str(WSDL_FILE), Transport()).types  # type: ignore[arg-type]


def wrapper_schema(xsd_files: list[Path]) -> etree.XMLSchema:
    """One lxml schema that xs:imports the namespace of each of `xsd_files`.

    Records travel as xsi:type of types defined in other files, so importing the messages
    namespace alone is not enough.
    """
    imports = []
    for xsd in xsd_files:
        ns = etree.parse(str(xsd)).getroot().get("targetNamespace")
        imports.append(f'<xs:import namespace="{ns}" schemaLocation="{xsd.as_uri()}"/>')
    wrapper = f'<xs:schema xmlns:xs="{XS}" targetNamespace="urn:zsync-xsd-wrapper">' + "".join(imports) + "</xs:schema>"
    return etree.XMLSchema(etree.fromstring(wrapper.encode()))


@functools.cache
def validator() -> etree.XMLSchema:
    """The vendor's 46 XSDs as one schema (built once per process: about a second)."""
    return wrapper_schema([p for p in vendor_files() if p.suffix == ".xsd"])


_VALIDATING = threading.Lock()


def validation_errors(element: etree._Element) -> list[str]:
    """`line: message` for each way `element` breaks the vendor XSDs ([] when valid).

    One lock: an XMLSchema keeps the last run's error log on itself, and the sandbox validates
    from worker threads (tests also validate responses in the process that runs the sandbox).
    """
    schema = validator()
    with _VALIDATING:
        if schema.validate(element):
            return []
        return [f"{e.line}: {e.message}" for e in schema.error_log]


@functools.cache
def enumeration(type_name: str, xsd: str = "platform.coreTypes.xsd") -> frozenset[str]:
    """The values of a vendor simpleType, e.g. RecordType (191 record types)."""
    root = etree.parse(str(require(XSD_DIR / xsd))).getroot()
    for simple in root.iter(f"{{{XS}}}simpleType"):
        if simple.get("name") == type_name:
            return frozenset(e.attrib["value"] for e in simple.iter(f"{{{XS}}}enumeration"))
    raise LookupError(f"no simpleType {type_name} in {xsd}")


def clark(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def local_name(type_name: str) -> str:
    return type_name.rsplit("}", 1)[-1]


def to_plain(value: Any) -> Any:
    """zeep objects -> JSON-able dicts; polymorphic values keep their type under "@type".

    dateTime values stay `datetime` (with or without offset, as sent): the writer puts them in
    the account's time zone before anything is stored (clock.py).
    """
    if isinstance(value, CompoundValue):
        out: dict[str, Any] = {}
        qname = getattr(value._xsd_type, "qname", None)
        if qname is not None:
            out[TYPE_KEY] = qname.text
        for key in value:
            item = to_plain(value[key])
            if item is None or item == []:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def from_plain(value: Any) -> Any:
    """JSON-able dicts -> zeep objects (typed where "@type" says so) ready to render."""
    if isinstance(value, dict):
        fields = {k: from_plain(v) for k, v in value.items() if k != TYPE_KEY}
        if TYPE_KEY in value:
            return zeep_schema().get_type(value[TYPE_KEY])(**fields)
        return fields
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    return value


def render_element(qname: str, value: dict[str, Any]) -> etree._Element:
    """Render a top-level message element (e.g. `{MSG}addListResponse`) from plain values."""
    element = zeep_schema().get_element(qname)
    holder = etree.Element("holder")
    element.render(holder, element(**from_plain(value)))
    return holder[0]


def parse_element(node: etree._Element) -> dict[str, Any]:
    """Parse a validated top-level message element into plain values."""
    element = zeep_schema().get_element(node.tag)
    return to_plain(element.parse(node, zeep_schema()))
