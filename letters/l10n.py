"""Locale-aware strings for letters: dates, money, digit systems, page labels, text direction."""

from __future__ import annotations

import datetime
from functools import lru_cache
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

from .typefaces import base_language, has_own_stack

DIGIT_SYSTEMS = ("latn", "arab", "arabext")

_ZERO = {"latn": 0x30, "arab": 0x660, "arabext": 0x6F0}
# The languages written right to left: the one list (the staff pages' text direction reads it too).
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})

# One translation table per target system that maps every supported digit system onto it, so a
# string already holding Persian digits can still be converted to Arabic-Indic or Latin ones.
_TABLES = {
    target: {zero + i: _ZERO[target] + i for zero in _ZERO.values() for i in range(10)}
    for target in DIGIT_SYSTEMS
}

PAGE_LABELS = {
    "en": "Page {page} of {total}",
    "ar": "صفحة {page} من {total}",
    "fa": "صفحهٔ {page} از {total}",
    "de": "Seite {page} von {total}",
    "fr": "Page {page} sur {total}",
    "es": "Página {page} de {total}",
    "it": "Pagina {page} di {total}",
    "nl": "Pagina {page} van {total}",
    "pt": "Página {page} de {total}",
    "tr": "Sayfa {page} / {total}",
}


def _check_digits(digits: str) -> str:
    if digits not in _TABLES:
        raise ValueError(f"digits must be one of {DIGIT_SYSTEMS}, not {digits!r}")
    return digits


def to_digits(text: str, digits: str) -> str:
    """Rewrite every Latin, Arabic-Indic or Persian digit in ``text`` in the given digit system."""
    return text.translate(_TABLES[_check_digits(digits)])


@lru_cache(maxsize=64)
def babel_locale(language: str) -> Locale:
    """A Babel locale for the language code, falling back to English for unknown codes."""
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse(base_language(language))
        except (UnknownLocaleError, ValueError):
            return Locale.parse("en")


def is_rtl(language: str) -> bool:
    """True for the right-to-left letter languages this package lays out (Arabic, Persian).

    Only a language with bundled fonts is laid out right to left; any other falls back to a
    left-to-right letter in Noto Sans (RTL words inside it are still ordered correctly).
    """
    return base_language(language) in RTL_LANGUAGES and has_own_stack(language)


def money_locale(language: str) -> Locale:
    """The locale an amount is written in for a language: the one choice of letters and staff pages."""
    return babel_locale(language)


@lru_cache(maxsize=4096)
def format_letter_date(d: datetime.date, language: str, digits: str = "latn") -> str:
    """The letter date in the language's long format ("March 15, 2024", "15 مارس 2024")."""
    return to_digits(format_date(d, format="long", locale=babel_locale(language)), digits)


@lru_cache(maxsize=8192)
def format_money(amount: Decimal, currency: str, language: str, digits: str = "latn") -> str:
    """An amount with its currency in the language's format, in the requested digit system."""
    _check_digits(digits)
    locale = money_locale(language)
    # Babel picks the matching decimal and grouping signs (٫ ٬) but leaves digits Latin.
    try:
        text = format_currency(amount, currency, locale=locale, numbering_system=digits)
    except Exception:  # the locale has no symbols for that numbering system
        text = format_currency(amount, currency, locale=locale)
    return to_digits(text, digits)


def page_label(page: int, total: int, language: str, digits: str = "latn") -> str:
    """'Page 1 of 2' in the letter's language (English wording for languages without a label)."""
    template = PAGE_LABELS.get(base_language(language), PAGE_LABELS["en"])
    return to_digits(template.format(page=page, total=total), digits)
