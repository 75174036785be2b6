"""Requests parsed straight from lxml into the plain values `schema.parse_element` returns.

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
"""

from __future__ import annotations

import functools
from typing import Any

from lxml import etree
from zeep.xsd.elements import Element
from zeep.xsd.types import ComplexType

from zsync_assets.sandbox.netsuite.schema import TYPE_KEY, XSI, to_plain, zeep_schema

_XSI_TYPE = f"{{{XSI}}}type"


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
    from zsync_assets.sandbox.netsuite.schema import parse_element

    fast, slow = parse_request(node), parse_element(node)
    if fast != slow:
        raise AssertionError(f"fast parse of {etree.QName(node).text} differs from zeep's: {_first_difference(fast, slow, '')}")


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
