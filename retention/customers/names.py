"""Languages, countries and time zones by name, in the reader's language (Babel's CLDR data).

A customer's language is stored as a tag ("fa", "en-GB"), their country as ISO 3166 alpha-2 and their zone as
an IANA name; staff read them as "Persian", "Iran", "Iran Time". The choices for the contact form are built
once per language and cached.
"""
from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError

from flask_babel import lazy_gettext as _l

from retention import formatting

# The language tags inbound events accept (retention/hooks/schemas.py CustomerSchema.locale).
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}([-_][A-Za-z]{2,4})?\Z")
# Regions that are not countries (CLDR "territories" also holds continents, EU, "Unknown region").
_NOT_COUNTRIES = frozenset({"ZZ", "QO", "EU", "EZ", "UN"})


@lru_cache(maxsize=4)
def _locale(language: str) -> Locale:
    return Locale(formatting.language_of(language))


@lru_cache(maxsize=2048)
def language_name(tag: str | None, reader: str) -> str:
    """"Persian" / "الفارسية" / "فارسی" for "fa"; the tag itself when Babel does not know it."""
    if not tag:
        return ""
    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name(_locale(reader))
    except (ValueError, UnknownLocaleError):
        return tag
    return name or tag


@lru_cache(maxsize=1024)
def country_name(code: str | None, reader: str) -> str:
    """"Iran" / "إيران" / "ایران" for "IR"; the code itself when unknown."""
    if not code:
        return ""
    return _locale(reader).territories.get(code.upper(), code)


@lru_cache(maxsize=4)
def country_choices(reader: str) -> tuple[tuple[str, str], ...]:
    """Every ISO 3166 alpha-2 country as (code, name in the reader's language), sorted by name."""
    names = _locale(reader).territories
    codes = [c for c in Locale("en").territories if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES]
    return tuple(sorted(((c, names.get(c, c)) for c in codes), key=lambda item: item[1]))


COUNTRY_CODES = frozenset(code for code, _ in country_choices("en"))

# Languages offered in the form: the staff languages first, then those customers commonly write in.
LANGUAGE_CHOICES = ("en", "ar", "fa", "de", "es", "fr", "it", "nl", "pt", "ru", "tr", "ur", "hi", "zh", "ja", "ko",
                    "he", "ku", "ps", "az", "hy", "ka", "el", "pl", "sv")


@lru_cache(maxsize=4)
def language_choices(reader: str) -> tuple[tuple[str, str], ...]:
    """(tag, name in the reader's language) for the form's language select."""
    return tuple((tag, language_name(tag, reader)) for tag in LANGUAGE_CHOICES)


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name with a place (Area/City), sorted; plus UTC."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/",
                                                                                      "right/")))
    return ("UTC", *zones)


# The forms of address (customers.models.FORMS_OF_ADDRESS) as the contact form and the customer page show them;
# "" is not known. Letters greet by the full name for "neutral" and when not known.
FORM_OF_ADDRESS_LABELS = {"": _l("Not known: greeted by full name"), "mr": _l("Mr"), "ms": _l("Ms"),
                          "neutral": _l("No title: greeted by full name")}


def form_of_address_label(form: str | None) -> str:
    """A form of address in the reader's words."""
    return str(FORM_OF_ADDRESS_LABELS.get(form or "", form or ""))
