"""Contact countries as Zuora takes them: a country name or an ISO 3166-1 alpha-2 / alpha-3 code.

Zuora validates the country of every contact it creates or updates and refuses one it does not
know; a code is stored as the country's full name ("BG" becomes "Bulgaria"). Its predefined
countries follow ISO 3166, which pycountry ships (names, official names and both codes).
"""

from __future__ import annotations

import functools

import pycountry

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, ApiError


@functools.cache
def _names() -> dict[str, str]:
    """Every accepted spelling, lower-cased -> the name Zuora stores."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for spelling in (
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "official_name", None),
            getattr(country, "common_name", None),
        ):
            if spelling:
                names.setdefault(spelling.lower(), country.name)
    return names


def zuora_country(value: object, where: str) -> str:
    """The stored name for `value`, or Zuora's refusal naming the field (`billToContact.country`)."""
    name = _names().get(str(value).strip().lower())
    if name is None:
        raise ApiError(400, INVALID_VALUE, f"{where}: '{value}' is not a valid country name or ISO 3166 code")
    return name
