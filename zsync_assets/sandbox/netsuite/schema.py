"""The sandbox's own WSDL/XSD subset, loaded once: zeep for (de)serialising, lxml for validation.

The XSDs under `wsdl/` are a subset of SuiteTalk 2023_2: same target namespaces, type and
element names, and the vendor's element order inside every type (xs:sequence is ordered, so a
reordered subset would accept envelopes NetSuite rejects, or the other way round).
Records travel as `<record xsi:type="ns:Customer">`; zeep resolves xsi:type whatever the
client's prefixes are, so parsing is namespace-aware and prefix-agnostic.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from zeep.transports import Transport
from zeep.wsdl import Document
from zeep.xsd.valueobjects import CompoundValue

WSDL_DIR = Path(__file__).parent / "wsdl"
WSDL_FILE = WSDL_DIR / "netsuite.wsdl"
WSDL_PATH = "/wsdl/v2023_2_0/netsuite.wsdl"
ENDPOINT_PATH = "/services/NetSuitePort_2023_2"

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MSG = "urn:messages_2023_2.platform.webservices.netsuite.com"
CORE = "urn:core_2023_2.platform.webservices.netsuite.com"
COMMON = "urn:common_2023_2.platform.webservices.netsuite.com"
FAULTS = "urn:faults_2023_2.platform.webservices.netsuite.com"
RELATIONSHIPS = "urn:relationships_2023_2.lists.webservices.netsuite.com"
ACCOUNTING = "urn:accounting_2023_2.lists.webservices.netsuite.com"
SALES = "urn:sales_2023_2.transactions.webservices.netsuite.com"
CUSTOMERS = "urn:customers_2023_2.transactions.webservices.netsuite.com"

RECORD_REF = f"{{{CORE}}}RecordRef"
TYPE_KEY = "@type"  # plain dicts keep the XSD type (Clark notation) where xsi:type matters


@functools.cache
def zeep_schema():
    """zeep's view of the subset WSDL (parsed once per process; ~20 ms)."""
    return Document(str(WSDL_FILE), Transport()).types


def wrapper_schema(xsd_dir: Path) -> etree.XMLSchema:
    """One lxml schema that xs:imports every namespace of the XSDs in `xsd_dir`.

    Records travel as xsi:type of types defined in other files, so importing the messages
    namespace alone is not enough. Also used by the tests on the vendor's 46 XSDs.
    """
    imports = []
    for xsd in sorted(Path(xsd_dir).glob("*.xsd")):
        ns = etree.parse(str(xsd)).getroot().get("targetNamespace")
        imports.append(f'<xs:import namespace="{ns}" schemaLocation="{xsd.as_uri()}"/>')
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:zsync-xsd-wrapper">'
        + "".join(imports) + "</xs:schema>"
    )
    return etree.XMLSchema(etree.fromstring(wrapper.encode()))


@functools.cache
def validator() -> etree.XMLSchema:
    """Validates request bodies against the subset this sandbox serves (built once)."""
    return wrapper_schema(WSDL_DIR / "xsd")


def clark(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def to_plain(value: Any) -> Any:
    """zeep objects -> JSON-able dicts; polymorphic values keep their type under "@type"."""
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
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
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
