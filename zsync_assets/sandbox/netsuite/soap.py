"""SOAP 1.1 envelopes and faults in NetSuite's shape."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from starlette.responses import Response

from zsync_assets.sandbox.netsuite.schema import FAULTS, MSG, SOAP_ENV, XSI, render_element
from zsync_assets.sandbox.netsuite.schema_walk import SLOT, ZEEP_CHECK, check_render_against_zeep, render_response

NSMAP = {"soapenv": SOAP_ENV, "xsd": "http://www.w3.org/2001/XMLSchema", "xsi": XSI}
TOP_NSMAP = {
    "platformCore": "urn:core_2023_2.platform.webservices.netsuite.com",
    "platformMsgs": MSG,
    "platformFaults": FAULTS,
}
# The comments that stand for records written as text (schema_walk.py `_record_text`).
_SLOTS = re.compile(("<!--" + re.escape(SLOT).replace(r"\{\}", "([0-9]+)") + "-->").encode())
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


@dataclass
class SoapFault(Exception):
    """A whole-request rejection; `fault` is the platformFaults element name, None for a plain fault."""

    fault: str | None
    code: str
    message: str
    faultcode: str = "soapenv:Server.userException"
    http_status: int = 500

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def invalid_credentials(reason: str) -> SoapFault:
    return SoapFault("invalidCredentialsFault", "INVALID_LOGIN_CREDENTIALS", f"Invalid login attempt. ({reason})")


def concurrency_fault(limit: int) -> SoapFault:
    return SoapFault(
        "exceededConcurrentRequestLimitFault",
        "WS_REQUEST_BLOCKED",
        f"The request could not be processed because it exceeds the concurrency limit of {limit} for this account.",
    )


def record_count_fault(operation: str, limit: int, got: int) -> SoapFault:
    return SoapFault(
        "exceededRecordCountFault",
        "MAX_RCRDS_EXCEEDED",
        f"{operation} accepts at most {limit} records per request; this one has {got}.",
    )


def user_fault(message: str) -> SoapFault:
    return SoapFault("unexpectedErrorFault", "USER_ERROR", message, faultcode="soapenv:Client")


@dataclass
class Envelope:
    operation: str  # body element local name, e.g. "upsertList"
    body: etree._Element
    headers: dict[str, etree._Element] = field(default_factory=dict)  # local name -> element


def parse_envelope(raw: bytes) -> Envelope:
    try:
        root = etree.fromstring(raw, PARSER)
    except etree.XMLSyntaxError as exc:
        raise user_fault(f"The request is not well-formed XML: {exc}") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise user_fault("The request is not a SOAP 1.1 envelope.")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        raise user_fault("The SOAP envelope has no body element.")
    headers = {}
    header = root.find(f"{{{SOAP_ENV}}}Header")
    if header is not None:
        headers = {etree.QName(h).localname: h for h in header if isinstance(h.tag, str)}
    operation = body[0]
    if etree.QName(operation).namespace != MSG:
        raise user_fault(f"Unknown operation element {etree.QName(operation).text}.")
    return Envelope(etree.QName(operation).localname, operation, headers)


def _envelope(*, document_id: str | None) -> tuple[etree._Element, etree._Element]:
    """An Envelope with its Header (the documentInfo when given) and its empty Body."""
    # NetSuite's own prefixes for the namespaces every response uses, declared once here.
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={**NSMAP, **TOP_NSMAP})
    header = etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
    if document_id:
        header.append(render_element(f"{{{MSG}}}documentInfo", {"nsId": document_id}))
    return env, etree.SubElement(env, f"{{{SOAP_ENV}}}Body")


def _serialized(env: etree._Element) -> bytes:
    # No cleanup_namespaces: it would drop prefixes only used inside xsi:type values.
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def soap_response(operation: str, value: dict[str, Any], document_id: str) -> Response:
    qname = f"{{{MSG}}}{operation}Response"
    if os.environ.get(ZEEP_CHECK):
        check_render_against_zeep(qname, value)
    env, body = _envelope(document_id=document_id)
    texts: list[bytes] = []
    # The namespaces a record's own elements and xsi:types name (its type's own one it declares).
    record_nsmap = {"xsi": XSI, "platformCore": TOP_NSMAP["platformCore"]}
    render_response(qname, value, body, records_as_text=(record_nsmap, texts))
    served = _serialized(env)
    if texts:
        served = _SLOTS.sub(lambda slot: texts[int(slot[1])], served)
    return Response(served, media_type="text/xml; charset=utf-8")


def fault_response(fault: SoapFault) -> Response:
    env, body = _envelope(document_id=None)
    el = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(el, "faultcode").text = fault.faultcode
    etree.SubElement(el, "faultstring").text = fault.message
    detail = etree.SubElement(el, "detail")
    if fault.fault:
        typed = etree.SubElement(detail, f"{{{FAULTS}}}{fault.fault}")
        etree.SubElement(typed, f"{{{FAULTS}}}code").text = fault.code
        etree.SubElement(typed, f"{{{FAULTS}}}message").text = fault.message
    etree.SubElement(detail, "{http://xml.apache.org/axis/}hostname").text = "zsync-netsuite-sandbox"
    return Response(_serialized(env), status_code=fault.http_status, media_type="text/xml; charset=utf-8")
