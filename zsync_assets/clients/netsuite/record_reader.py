"""Search and getAll replies read straight into record dicts: the reading side of record_xml.py.

zeep parses a reply by building a value object for every complex element, each first filled
with a default for every element its type declares (an Invoice has 147), and `record_dict`
(wsdl.py) then serializes those objects to dicts and drops the empty fields again. For a page of
invoices that is most of what staging costs zsync's CPU. This module walks the reply once with
lxml and builds only the fields the reply carries, typed by the same WSDL types (a per-type table
of child elements and attributes), with the same values zeep gives them: the result equals
`record_dict` of zeep's objects field for field (test_netsuite_reads.py reads every staged
record family both ways).

It reads only what it fully knows. Anything else (a SOAP fault, an element the type does not
declare, XML that does not parse) makes `read_reply` return None, and the caller hands the
reply to zeep as before (soap.py), which judges faults and raises for broken XML.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree
from zeep.loader import parse_xml
from zeep.xsd.types.builtins import Boolean, DateTime, Double, Float, Integer, Long, String
from zeep.xsd.types.complex import ComplexType
from zeep.xsd.types.simple import AnySimpleType

from zsync_assets.clients.netsuite.interface import UNREAD, Record, RecordSeen
from zsync_assets.clients.netsuite.wsdl import Schema, record_dict

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_LOG = logging.getLogger(__name__)


class _Unknown(Exception):
    """The reply holds something this reader does not know; zeep reads it instead."""


class _SeenFailed(Exception):
    """The caller's `seen` raised: its error, not the reply's, so it is raised, not left to zeep."""


@dataclass(frozen=True)
class ReadPage:
    """One page of a search, searchMoreWithId or getAll reply.

    `failure` is the (code, message) of a reply whose status is not a success (an expired search
    id, for one: search.py); `records` as `record_dict` makes them."""

    records: list[Record]
    total_pages: int = 0
    search_id: str | None = None
    failure: tuple[str, str] | None = None


Convert = Callable[[str], Any]


@dataclass(frozen=True)
class _Child:
    name: str
    xsd_type: Any  # the declared type: a ComplexType, or a simple type
    multiple: bool
    convert: Convert | None  # for a simple type


@dataclass(frozen=True)
class _Shape:
    """How to read one complex type: its child elements by local name, its attributes by
    (qualified) name, and what zeep fills in for the ones a reply leaves out."""

    children: dict[str, _Child]
    element_defaults: dict[str, Any]  # zeep's value for an absent element, where not None / []
    attributes: list[tuple[str, str, Convert, Any]]  # (qualified name, name, convert, default)
    simple_content: tuple[str, Convert] | None  # a complex type extending a simple one
    empty: bool  # declares neither elements nor attributes: zeep reads it as None


def _identity(text: str) -> str:
    return text


def _boolean(text: str) -> bool:
    return text.strip() in ("true", "1")  # zeep's Boolean: whitespace collapsed, then "true"/"1"


# NetSuite's dateTime as it writes it: `2026-11-30T15:26:03.538-08:00`.
_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)?")


def _datetimes(pythonvalue: Convert) -> Convert:
    """zeep reads a dateTime with isodate (about 35 µs each, a third of a page of invoices);
    the usual form is read here to the same value, with the very tzinfo zeep gives that
    offset (asked of zeep once per offset); any other form is zeep's to read."""
    zones: dict[str | None, Any] = {None: None}

    def convert(text: str) -> Any:
        match = _DATETIME.fullmatch(text)
        if match is None:
            return pythonvalue(text)
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        if zone not in zones:
            zones[zone] = pythonvalue(f"2000-01-01T00:00:00{zone}").tzinfo
        micro = int(fraction.ljust(6, "0")) if fraction else 0
        try:
            return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zones[zone])
        except ValueError:  # 24:00:00 and the like
            return pythonvalue(text)

    return convert


def _converter(simple: Any) -> Convert:
    """zeep's conversion of the type (`pythonvalue`), so booleans, numbers and dates come out as
    zeep gives them; the common ones without its per-value overhead."""
    method = type(simple).pythonvalue
    if method is String.pythonvalue:
        return _identity
    if method is Boolean.pythonvalue:
        return _boolean
    if method in (Double.pythonvalue, Float.pythonvalue):
        return float  # zeep's: float() of the text, which strips whitespace as zeep does
    if method in (Integer.pythonvalue, Long.pythonvalue):
        return int
    pythonvalue = simple.pythonvalue
    if method is DateTime.pythonvalue:
        return _datetimes(pythonvalue)

    def convert(text: str) -> Any:
        value = pythonvalue(text)
        # record_dict turns zeep's Decimals into floats (wsdl.py `_plain`).
        return float(value) if isinstance(value, Decimal) else value

    return convert


class RecordReader:
    def __init__(self, schema: Schema):
        self.schema = schema
        self._shapes: dict[Any, _Shape] = {}
        self._types: dict[str, Any] = {}  # xsi:type "{ns}Local" -> type
        self._record_list = schema.core_type("RecordList")
        self._results = {
            "searchResult": schema.core_type("SearchResult"),
            "getAllResult": schema.core_type("GetAllResult"),
        }

    def read_reply(self, content: bytes, seen: RecordSeen | None = None) -> ReadPage | None:
        """The page of a search / searchMoreWithId / getAll reply, or None when it is not one
        this reader fully knows (a fault, broken XML, an undeclared element): zeep's turn.
        `seen`: the records the caller holds already are left unread (interface.RecordSeen)."""
        try:
            # zeep's own parser settings (no entities, no network, no DTD).
            # (typed `str`, but zeep's own binding hands it the reply's bytes too)
            envelope = parse_xml(content, None, settings=self.schema.client.settings)  # type: ignore[arg-type]
            body = envelope.find(f"{{{SOAP_ENV}}}Body")
            if body is None or len(body) != 1 or len(body[0]) != 1:
                return None
            result = body[0][0]
            result_type = self._results.get(etree.QName(result).localname)
            if result_type is None:
                return None
            aside = self._set_aside(result, seen) if seen is not None else {}
            page = _page(self._complex(result, result_type))
            return _with_unread(page, aside) if aside else page
        except _SeenFailed as failed:
            raise failed.__cause__ from None  # type: ignore[misc] # set by `_set_aside`
        except (_Unknown, etree.XMLSyntaxError):
            return None
        except Exception as exc:  # noqa: BLE001 - anything unforeseen: zeep reads the reply as before
            _LOG.debug("reading a reply without zeep failed (%s); zeep reads it", exc)
            return None

    def _set_aside(self, result: etree._Element, seen: RecordSeen) -> dict[int, Record]:
        """The records of the reply the caller has `seen`, taken out of the tree before it is
        read, as `UNREAD` stubs by their position among the page's records. A re-read page of
        records staged as they are (the staging overlap after a push) cost most of a no-change
        run's CPU in reading them into dicts (`zsync bench`, 1,000 accounts); serializing one
        to ask costs a fraction of that."""
        aside: dict[int, Record] = {}
        for record_list in result.iterfind("{*}recordList"):
            records = [element for element in record_list if isinstance(element.tag, str)]
            for position, element in enumerate(records):
                internal_id = element.get("internalId")
                if internal_id is None:
                    continue
                modified = self._modified(element)
                try:
                    held = seen(internal_id, modified, etree.tostring(element, with_tail=False))
                except Exception as exc:
                    raise _SeenFailed from exc
                if not held:
                    continue
                aside[position] = {"internalId": internal_id, "lastModifiedDate": modified, UNREAD: True}
                record_list.remove(element)
        return aside

    def _modified(self, record: etree._Element) -> Any:
        """A record's lastModifiedDate as reading the record gives it (None when it has none)."""
        shape = self._shape(self._instance_type(record, None))
        for child in record.iterfind("{*}lastModifiedDate"):
            spec = shape.children.get(str(child.tag))
            if spec is None or spec.convert is None:
                raise _Unknown(str(child.tag))
            return None if child.text is None else _simple(spec.convert, child.text)
        return None

    # -- one element ---------------------------------------------------------------------

    def _complex(self, node: etree._Element, declared: Any, *, record: bool = False) -> Any:
        """A complex element as `record_dict` gives it: None for an empty element without
        attributes (zeep's reading), else a dict of the fields present (None, [] and {} left
        out), customFieldList as {scriptId: value}, and on a `record` (an entry of a RecordList)
        its `recordType`."""
        xsd_type = self._instance_type(node, declared)
        shape = self._shape(xsd_type)
        attrib = node.attrib
        if shape.empty or (len(node) == 0 and not attrib and shape.simple_content is None):
            return None
        out: dict[str, Any] = {}
        if shape.simple_content is not None:
            name, convert = shape.simple_content
            value = None if node.text is None else _simple(convert, node.text)
            if value is not None:
                out[name] = value
        elif len(node):
            for child in node:
                if not isinstance(child.tag, str):
                    continue  # a comment or processing instruction: zeep's parser drops them
                spec = shape.children.get(child.tag)
                if spec is None:
                    raise _Unknown(child.tag)
                if spec.convert is not None:
                    value = None if child.text is None else _simple(spec.convert, child.text)
                else:
                    value = self._complex(child, spec.xsd_type, record=xsd_type is self._record_list)
                if spec.multiple:
                    # In document order, which an XSD sequence fixes; None and {} stay in a list.
                    items = out.get(spec.name)
                    if items is None:
                        out[spec.name] = items = []
                    items.append(value)
                elif spec.name in out:
                    raise _Unknown(child.tag)  # twice where the type allows once
                elif value is not None and value != {}:
                    out[spec.name] = value
        for name, default in shape.element_defaults.items():
            out.setdefault(name, default)
        for key, name, convert, default in shape.attributes:
            text = attrib.get(key)
            # zeep fills an absent attribute with its XSD default, as the text ("true").
            value = default if text is None else _simple(convert, text)
            if value is not None:
                out[name] = value
        custom = out.get("customFieldList")
        if isinstance(custom, dict):
            out["customFieldList"] = {
                field["scriptId"]: field.get("value")
                for field in custom.get("customField") or []
                if field and field.get("scriptId")
            }
        if record:
            out["recordType"] = xsd_type.name[:1].lower() + xsd_type.name[1:]
        return out

    def _instance_type(self, node: etree._Element, declared: Any) -> Any:
        """The type named by the element's xsi:type (a record, a typed custom field), else the
        declared one, as zeep's `Element.parse` does."""
        named = node.get(XSI_TYPE)
        if named is None:
            return declared
        prefix, _, local = named.rpartition(":")
        namespace = node.nsmap.get(prefix or None)
        key = f"{{{namespace}}}{local}"
        found = self._types.get(key)
        if found is None:
            found = self.schema.client.wsdl.types.get_type(key, fail_silently=True)
            if found is None or not isinstance(found, ComplexType):
                raise _Unknown(named)
            self._types[key] = found
        return found

    def _shape(self, xsd_type: Any) -> _Shape:
        shape = self._shapes.get(xsd_type)
        if shape is not None:
            return shape
        if not isinstance(xsd_type, ComplexType):
            raise _Unknown(getattr(xsd_type, "name", xsd_type))
        children: dict[str, _Child] = {}
        element_defaults: dict[str, Any] = {}
        simple_content = None
        nested = xsd_type.elements_nested
        element = getattr(xsd_type, "_element", None)
        if element is not None and isinstance(getattr(element, "type", None), AnySimpleType):
            name, content = nested[0]
            simple_content = (name, _converter(content.type))
        else:
            for name, child in xsd_type.elements:
                qname = getattr(child, "qname", None)
                child_type = getattr(child, "type", None)
                if qname is None or child_type is None:  # xsd:any, a nested choice: not read here
                    raise _Unknown(f"{xsd_type.name}.{name}")
                simple = not isinstance(child_type, ComplexType)
                children[etree.QName(qname).text] = _Child(
                    name, child_type, child.accepts_multiple, _converter(child_type) if simple else None
                )
                if child.default_value is not None and child.default_value != []:
                    element_defaults[name] = child.default_value
        attributes = []
        for name, attribute in xsd_type.attributes:
            if not getattr(attribute, "name", None):
                raise _Unknown(f"{xsd_type.name}@{name}")  # xsd:anyAttribute
            key = etree.QName(attribute.qname).text
            attributes.append((key, name, _converter(attribute.type), attribute.default_value))
        shape = _Shape(
            children,
            element_defaults,
            attributes,
            simple_content,
            empty=not xsd_type.attributes and not xsd_type.elements,
        )
        self._shapes[xsd_type] = shape
        return shape


def _simple(convert: Convert, text: str) -> Any:
    try:
        return convert(text)
    except (TypeError, ValueError):
        # zeep logs the same and reads the value as None.
        _LOG.exception("Error during xml -> python translation")
        return None


def _page(result: Mapping[str, Any] | None) -> ReadPage:
    result = result or {}
    status = result.get("status") or {}
    if not status.get("isSuccess"):
        details = status.get("statusDetail") or [None]
        first = details[0] or {}
        return ReadPage([], failure=_failure(details != [None], first.get("code"), first.get("message")))
    return ReadPage(
        list((result.get("recordList") or {}).get("record") or []),
        total_pages=result.get("totalPages") or 0,
        search_id=result.get("searchId"),
    )


def _with_unread(page: ReadPage, aside: dict[int, Record]) -> ReadPage:
    """`page` with the records set aside back in their positions."""
    read = iter(page.records)
    records = [aside[i] if i in aside else next(read) for i in range(len(page.records) + len(aside))]
    return ReadPage(records, page.total_pages, page.search_id, page.failure)


def page_from_zeep(body: Any) -> ReadPage:
    """The same page from zeep's reading of the reply (`record_dict` of each record): what
    the client reads a reply with when `read_reply` declines it."""
    result = body.searchResult if "searchResult" in body else body.getAllResult
    if not result.status.isSuccess:
        details = result.status.statusDetail or []
        first = details[0] if details else None
        return ReadPage(
            [], failure=_failure(bool(details), getattr(first, "code", None), getattr(first, "message", None))
        )
    records = result.recordList.record if result.recordList is not None else None
    return ReadPage(
        [record_dict(r) for r in records or []],
        total_pages=getattr(result, "totalPages", None) or 0,
        search_id=getattr(result, "searchId", None),
    )


def _failure(detailed: bool, code: Any, message: Any) -> tuple[str, str]:
    if not detailed:
        return "UNKNOWN", "NetSuite returned a failed status without detail"
    return str(code or "UNKNOWN"), str(message or "")
