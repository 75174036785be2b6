"""Country names and codes -> NetSuite's `Country` enumeration, or None when NetSuite has no such value.

NetSuite types every address country as the `Country` enumeration (252 values such as
`_unitedStates`, `_koreaTheRepublicOf`; `platform.commonTypes.xsd` in
`zsync_assets/vendor/netsuite-suitetalk/2023_2/xsd/`). A value outside it faults the whole SOAP
request, so the mapping resolves every country here and blocks the one record whose country
does not resolve, naming the value, instead of letting it fail its 99 neighbours.

Zuora accepts a country as a name or an ISO 3166 code (alpha-2 or alpha-3); pycountry knows
the codes and the official and common names.
"""

from __future__ import annotations

import functools
import unicodedata

import pycountry
from lxml import etree

from zsync_assets.vendor import NETSUITE_XSD_DIR, require

_XS = "{http://www.w3.org/2001/XMLSchema}"

# The few countries whose NetSuite value is not a camel-cased form of any ISO name.
_ISO_TO_NETSUITE = {
    "KR": "_koreaTheRepublicOf",
    "KP": "_koreaTheDemocraticPeoplesRepublicOf",
    "MD": "_moldovaTheRepublicOf",
    "TZ": "_tanzaniaTheUnitedRepublicOf",
    "VA": "_holySee",
    "WF": "_wallisAndFutunaIslands",
}
# Names people write that are neither ISO names nor codes.
_ALIASES = {
    "UK": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "USA": "US",
    "UNITED STATES OF AMERICA": "US",
    "TURKEY": "TR",
}


@functools.cache
def netsuite_countries() -> frozenset[str]:
    root = etree.parse(str(require(NETSUITE_XSD_DIR / "platform.commonTypes.xsd"))).getroot()
    return frozenset(
        e.attrib["value"]
        for st in root.iter(f"{_XS}simpleType")
        if st.get("name") == "Country"
        for e in st.iter(f"{_XS}enumeration")
    )


def _camel(text: str, apostrophe: str) -> str | None:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", apostrophe)
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    if not words:
        return None
    return "_" + words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])


def _enum_of(name: str) -> str | None:
    known = netsuite_countries()
    # "Côte d'Ivoire" -> _coteDIvoire (apostrophe splits); "Lao People's ..." -> _laoPeoples... (it doesn't)
    for apostrophe in (" ", ""):
        candidate = _camel(name, apostrophe)
        if candidate in known:
            return candidate
    return None


@functools.cache
def to_netsuite_country(value: str) -> str | None:
    """`United States`, `US`, `USA`, `_unitedStates` -> `_unitedStates`; unknown -> None."""
    text = value.strip()
    if not text:
        return None
    if text in netsuite_countries():
        return text
    text = _ALIASES.get(text.upper(), text)
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        direct = _enum_of(text)  # NetSuite also lists places ISO does not (Kosovo, Canary Islands)
        if direct:
            return direct
        try:
            matches = pycountry.countries.search_fuzzy(text)  # "Russia" -> Russian Federation
        except LookupError:
            return None
        if len(matches) != 1:
            return None  # ambiguous: better blocked with the value named than guessed
        country = matches[0]
    if country.alpha_2 in _ISO_TO_NETSUITE:
        return _ISO_TO_NETSUITE[country.alpha_2]
    for name in (getattr(country, "common_name", None), country.name, getattr(country, "official_name", None)):
        found = name and _enum_of(name)
        if found:
            return found
    return _enum_of(text)
