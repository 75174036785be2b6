"""Requests read and responses written by a walk of the XML guided by zeep's view of the vendor
schema, without zeep's object model: the plain values `schema.parse_element` returns, and the
elements `schema.render_element` makes.

Why not zeep: parsing a request with zeep (`Element.parse`, then `to_plain`) was most of the
sandbox's CPU: an upsertList of 100 invoices took about a second of it, and the sandbox serves
both vendors from one Python process, so at a bench tenant of 300 accounts the push steps
waited on the sandbox's parsing, not on the latency the benchmark models.

What makes a plain walk enough: a request reaches the parser only after it validated against
the vendor XSDs (`schema.validation_errors`), so every element name is one its type declares,
in a legal order and count. The walk needs, per complex type, only which child is which field,
and whether the field repeats; zeep's schema still says so (`ComplexType.elements` /
`.attributes`, flattened over the base types), and simple values still go through zeep's own
types (`pythonvalue`), so booleans, numbers and dateTimes come out exactly as before. A type the
walk does not cover (a choice, xs:any, simple content: `_value_N` fields in zeep) is handed to
zeep for that subtree. `check_against_zeep` parses both ways and names the first difference;
the sandbox tests run it over every request they send.

Responses the same way, for the same reason (search pages of a no-change run at 300 accounts:
11 s of the sandbox's samples in zeep's `from_plain` + `render`): per field, the order, whether
it repeats and its type come from zeep's schema, simple values are written by zeep's own types,
and a record whose type is not the element's declared one carries `xsi:type`, as zeep writes it.
That type's namespace is declared once, on the record, where zeep declares it on each field (a
quarter more bytes on a search page for the client to read), and a response is written straight
into its envelope. `check_render_against_zeep` renders both ways and compares what zeep reads
back from each.
"""

from __future__ import annotations

import functools
import pickle
import threading
from contextvars import ContextVar
from typing import Any

from lxml import etree
from zeep.xsd.elements import Element
from zeep.xsd.types import ComplexType

from zsync_assets.sandbox.netsuite.schema import (
    CORE,
    TYPE_KEY,
    XSI,
    from_plain,
    parse_element,
    render_element,
    to_plain,
    zeep_schema,
)

# Set (to anything) to read every request and write every response both ways, failing the
# request where they differ: the tests that send every kind of request turn it on.
ZEEP_CHECK = "ZSYNC_SANDBOX_ZEEP_CHECK"

_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"


# The records of a page written once and kept as text, by their values: a no-change sync inside
# the staging overlap after a push asks for the same records again, and writing a search page of
# 1,000 invoices was most of the sandbox's CPU in it (3.4 of 9.3 s at 1,000 accounts, py-spy).
# Each is written on its own, under an element declaring the namespaces records use, so its text
# is the same whichever page it is on; on the page it declares those two again.
_RECORD_TEXT: dict[bytes, bytes] = {}
_RECORD_TEXT_MAX = 20_000  # records (~5 kB an invoice with its lines): ~100 MB at most
_record_text_lock = threading.Lock()
# Set by `render_response` while it writes a page whose records go in as text: the namespaces
# to write them under, and the texts in the order of the comments that stand for them in the tree.
_PAGE: ContextVar[tuple[dict[str, str], list[bytes]] | None] = ContextVar("_PAGE", default=None)
SLOT = "zsync-slot {}"  # the comment standing for the record text of that index
_LISTED_RECORD = f"{{{CORE}}}record"  # a RecordList's entries (search, getAll)


class _Unwalkable(Exception):
    """A type this walk does not cover: zeep parses that subtree."""


@functools.cache
def _fields(xsd_type: ComplexType) -> tuple[dict[str, tuple[str, Element, bool]], list[tuple[str, Any]], list[str]]:
    """(child local name -> (field, element, repeats), attributes, field order) of a complex type."""
    children: dict[str, tuple[str, Element, bool]] = {}
    order: list[str] = []
    for name, element in xsd_type.elements:
        if name.startswith("_value") or not isinstance(element, Element):
            raise _Unwalkable(name)
        children[etree.QName(element.qname).localname if element.qname else name] = (
            name,
            element,
            element.max_occurs != 1,
        )
        order.append(name)
    attributes = list(xsd_type.attributes)
    order += [name for name, _ in attributes]
    return children, attributes, order


def _declared_type(node: etree._Element, declared: Any) -> Any:
    """The xsi:type the node names (records travel as `<record xsi:type="ns:Customer">`)."""
    value = node.get(_XSI_TYPE)
    if value is None:
        return declared
    prefix, _, local = value.rpartition(":")
    return zeep_schema().get_type(etree.QName(node.nsmap.get(prefix or None), local))


def _value(node: etree._Element, element: Element) -> Any:
    xsd_type = _declared_type(node, element.type)
    if isinstance(xsd_type, ComplexType):
        # zeep reads a child element with neither children nor attributes as absent.
        if len(node) == 0 and not node.attrib:
            return None
        try:
            return _complex(node, xsd_type)
        except _Unwalkable:
            return to_plain(element.parse(node, zeep_schema()))
    return to_plain(xsd_type.parse_xmlelement(node, zeep_schema()))


def _complex(node: etree._Element, xsd_type: ComplexType) -> dict[str, Any] | None:
    if not xsd_type.elements and not xsd_type.attributes:
        return None  # an empty complexType: zeep has no value for it
    children, attributes, order = _fields(xsd_type)
    found: dict[str, Any] = {}
    for child in node:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        name, element, repeats = children[etree.QName(child).localname]
        value = _value(child, element)
        if repeats:
            found.setdefault(name, []).append(value)
        else:
            found[name] = value
    for name, attribute in attributes:
        text = node.get(attribute.qname.text if attribute.qname is not None else name)
        if text is not None:
            found[name] = to_plain(attribute.type.pythonvalue(text))
        elif attribute.default is not None:  # zeep fills in the schema's default, as text
            found[name] = attribute.default
    out: dict[str, Any] = {}
    if xsd_type.qname is not None:
        out[TYPE_KEY] = xsd_type.qname.text
    for name in order:
        value = found.get(name)
        if value is None or value == []:
            continue
        out[name] = value
    return out


def parse_request(node: etree._Element) -> Any:
    """`schema.parse_element` of a validated message element, without zeep's object model: a
    dict, or None for a message of an empty complexType, as zeep reads it."""
    element = zeep_schema().get_element(node.tag)
    xsd_type = _declared_type(node, element.type)
    if not isinstance(xsd_type, ComplexType):
        return to_plain(element.parse(node, zeep_schema()))
    try:
        return _complex(node, xsd_type)
    except _Unwalkable:
        return to_plain(element.parse(node, zeep_schema()))


def check_against_zeep(node: etree._Element) -> None:
    """Raise naming the first field where this walk and zeep's parse disagree."""
    fast, slow = parse_request(node), parse_element(node)
    if fast != slow:
        difference = _first_difference(fast, slow, "")
        raise AssertionError(f"fast parse of {etree.QName(node).text} differs from zeep's: {difference}")


def _first_difference(fast: Any, slow: Any, path: str) -> str:
    if isinstance(fast, dict) and isinstance(slow, dict):
        for key in list(slow) + [k for k in fast if k not in slow]:
            if fast.get(key) != slow.get(key):
                return _first_difference(fast.get(key), slow.get(key), f"{path}/{key}")
    if isinstance(fast, list) and isinstance(slow, list) and len(fast) == len(slow):
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"{path or '/'}: {fast!r} (fast) against {slow!r} (zeep)"


def render_response(
    qname: str,
    value: dict[str, Any],
    parent: etree._Element | None = None,
    *,
    records_as_text: tuple[dict[str, str], list[bytes]] | None = None,
) -> etree._Element:
    """`schema.render_element` of a top-level message element, without zeep's object model;
    made a child of `parent` when given (the SOAP Body: lxml moves an element to another document
    node by node, which took as long as rendering it for a search page of 1,000 invoices).

    `records_as_text` (the envelope's namespaces, an empty list): the records of a page's record
    list are written as text (`_record_text`) into the list, each standing in the tree as a
    comment `SLOT` with its index; the caller puts the texts in place of those comments."""
    element = zeep_schema().get_element(qname)
    holder = etree.Element("holder") if parent is None else parent
    token = _PAGE.set(records_as_text)
    try:
        _render_item(holder, element, value)
    finally:
        _PAGE.reset(token)
    return holder[-1]


def _render(parent: etree._Element, element: Element, value: Any) -> None:
    if element.accepts_multiple and isinstance(value, list):
        page = _PAGE.get() if element.qname == _LISTED_RECORD else None
        for item in value:
            if page is not None and isinstance(item, dict):
                nsmap, texts = page
                parent.append(etree.Comment(SLOT.format(len(texts))))
                texts.append(_record_text(element, item, nsmap))
            else:
                _render_item(parent, element, item)
    else:
        _render_item(parent, element, value)


def _record_text(element: Element, record: dict[str, Any], nsmap: dict[str, str]) -> bytes:
    """A record written on its own, by the walk, as text: kept by the element and its values."""
    # Pickled: equal pickles are equal values (a record with its keys in another order is only
    # written once more); json.dumps of them took a third of the time writing them took.
    key = pickle.dumps((sorted(nsmap.items()), record), protocol=5)
    text = _RECORD_TEXT.get(key)
    if text is None:
        holder = etree.Element("holder", nsmap=nsmap)
        token = _PAGE.set(None)  # its own fields are written into it
        try:
            _render_item(holder, element, record)
        finally:
            _PAGE.reset(token)
        text = b"".join([etree.tostring(child, with_tail=False) for child in holder])
        with _record_text_lock:
            while len(_RECORD_TEXT) >= _RECORD_TEXT_MAX:
                del _RECORD_TEXT[next(iter(_RECORD_TEXT))]  # the oldest written
            _RECORD_TEXT[key] = text
    return text


@functools.cache
def _named_type(name: str) -> Any:
    return zeep_schema().get_type(name)


@functools.cache
def _rendered_fields(xsd_type: ComplexType) -> tuple[tuple[str, Element, bool], ...]:
    """(field, element, optional) of a complex type, in schema order. Cached: zeep builds the
    flattened element list anew on every `ComplexType.elements`, and a search page of 1,000
    invoices asked for it 27,000 times, walking ~480 absent optional fields a record."""
    return tuple((name, child, child.is_optional) for name, child in xsd_type.elements)


def _render_item(parent: etree._Element, element: Element, value: Any) -> None:
    if value is None:
        if element.is_optional:
            return
        node = etree.SubElement(parent, element.qname)
        if element.nillable:
            node.set(_XSI_NIL, "true")
        return
    declared = element.type
    xsd_type = _named_type(value[TYPE_KEY]) if isinstance(value, dict) and TYPE_KEY in value else declared
    if not isinstance(xsd_type, ComplexType):
        xsd_type.render(etree.SubElement(parent, element.qname), value)
        return
    try:
        _, attributes, _ = _fields(xsd_type)
    except _Unwalkable:
        element.render(parent, from_plain(value))
        return
    node = etree.SubElement(parent, element.qname)
    if xsd_type != declared and xsd_type.qname is not None:
        # Before the fields: lxml declares the type's namespace here, and the fields (in that
        # namespace, a record's) use it instead of declaring it again each.
        node.set(_XSI_TYPE, xsd_type.qname)
    if not xsd_type.elements_nested and not xsd_type.attributes:
        return
    for name, attribute in attributes:
        if value.get(name) is not None:
            node.set(attribute.qname, attribute.type.xmlvalue(value[name]))
        elif attribute.default is not None:  # zeep writes a defaulted attribute (replaceAll="true")
            node.set(attribute.qname, attribute.type.xmlvalue(attribute.default))
    for name, child, optional in _rendered_fields(xsd_type):
        field = value.get(name)
        if field is None and optional:
            continue  # most of a record's fields: absent, and written as nothing
        _render(node, child, field)


def check_render_against_zeep(qname: str, value: dict[str, Any]) -> None:
    """Raise naming the first field where zeep reads this walk's rendering and its own apart."""
    fast, slow = parse_element(render_response(qname, value)), parse_element(render_element(qname, value))
    if fast != slow:
        raise AssertionError(f"fast rendering of {qname} differs from zeep's: {_first_difference(fast, slow, '')}")
