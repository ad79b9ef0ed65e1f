"""Locale-aware strings for letters: dates, money, digit systems, page labels, text direction."""

from __future__ import annotations

import datetime
from functools import lru_cache
from decimal import Decimal

import re

import jdatetime
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_name

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


@lru_cache(maxsize=1024)
def letter_locale(language: str, country: str = "") -> str:
    """The locale of a letter from its language and the recipient's country: en + GB -> en_GB (23 November
    2026), en + US -> en_US (November 23, 2026), ar + EG -> ar_EG, fa + IR -> fa_IR; the language alone
    when Babel knows no such pair (English letters elsewhere take en_GB's day-month order, unless US)."""
    lang = base_language(language)
    country = (country or "").strip().upper()
    if country:
        try:
            return str(Locale.parse(f"{lang}_{country}"))
        except (UnknownLocaleError, ValueError):
            pass
    return {"en": "en_GB" if country and country not in ("US", "PH", "CA") else "en_US"}.get(lang, lang)


def is_rtl(language: str) -> bool:
    """True for the right-to-left letter languages this package lays out (Arabic, Persian).

    Only a language with bundled fonts is laid out right to left; any other falls back to a
    left-to-right letter in Noto Sans (RTL words inside it are still ordered correctly).
    """
    return base_language(language) in RTL_LANGUAGES and has_own_stack(language)


def money_locale(language: str) -> Locale:
    """The locale an amount is written in for a language: the one choice of letters and staff pages."""
    return babel_locale(language)


# Solar Hijri month names as Iranian readers know them (jdatetime's, spelled with Persian letters).
_SHAMSI_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی",
                  "بهمن", "اسفند")
# Arabic letters are dated in the Gregorian calendar; the Hijri (Umm al-Qura) choice is not built yet and is
# refused rather than ignored. Persian letters always use the Solar Hijri calendar.
CALENDARS = ("gregorian",)


@lru_cache(maxsize=4096)
def format_letter_date(d: datetime.date, language: str, digits: str = "latn", calendar: str = "") -> str:
    """The letter date in the locale's long format ("15 March 2024" en_GB, "March 15, 2024" en_US,
    "١٥ مارس ٢٠٢٤"); Persian letters in the Solar Hijri calendar ("۲۵ اسفند ۱۴۰۲"). The day, month and
    year stay together on one line."""
    if calendar and calendar not in CALENDARS:
        raise ValueError(f"calendar: {calendar!r} is not built yet (only {', '.join(CALENDARS)})")
    if base_language(language) == "fa":
        shamsi = jdatetime.date.fromgregorian(date=d)
        text = f"{shamsi.day} {_SHAMSI_MONTHS[shamsi.month - 1]} {shamsi.year}"
    else:
        text = format_date(d, format="long", locale=babel_locale(language))
    return to_digits(text.replace(" ", "\u00a0"), digits)


_LATIN_TOKEN = re.compile(r"\S*[A-Za-z]\S*")
_DIGIT_RUN = re.compile("[0-9\u0660-\u0669\u06f0-\u06f9]+")


def native_digits(text: str, digits: str) -> str:
    """Every number of a text in the digit system, except inside words holding Latin letters (a model
    name like "S24", a postcode like "EC1A 1AA" or a reference like "L-000123" stays as written)."""
    if digits == "latn" or not text:
        return text
    _check_digits(digits)
    out = []
    pos = 0
    for m in _LATIN_TOKEN.finditer(text):
        out.append(to_digits(text[pos:m.start()], digits))
        out.append(m.group(0))
        pos = m.end()
    out.append(to_digits(text[pos:], digits))
    return "".join(out)


# The currency as a Persian reader writes it after the number.
_FA_CURRENCY = {"IRR": "ریال", "IRT": "تومان", "AFN": "افغانی"}


@lru_cache(maxsize=8192)
def format_money(amount: Decimal, currency: str, language: str, digits: str = "latn") -> str:
    """An amount with its currency in the language's format, in the requested digit system, never
    broken across lines. Arabic and Persian put the number first and name the currency in words
    ("۲۷٬۲۵۸٬۰۰۰ ریال", "١٬٢٩٩٫٥٠ دولار أمريكي")."""
    _check_digits(digits)
    locale = money_locale(language)
    lang = base_language(language)
    if lang in ("ar", "fa"):
        try:
            number = format_currency(amount, currency, locale=locale, format="#,##0.00", currency_digits=True,
                                     numbering_system=digits)
        except Exception:  # the locale has no symbols for that numbering system
            number = format_currency(amount, currency, locale=locale, format="#,##0.00", currency_digits=True)
        name = _FA_CURRENCY.get(currency) if lang == "fa" else None
        text = f"{number} {name or get_currency_name(currency, count=amount, locale=locale)}"
    else:
        # Babel picks the matching decimal and grouping signs (٫ ٬) but leaves digits Latin.
        try:
            text = format_currency(amount, currency, locale=locale, numbering_system=digits)
        except Exception:  # the locale has no symbols for that numbering system
            text = format_currency(amount, currency, locale=locale)
    text = text.replace("\u200e", "").replace("\u200f", "")
    return to_digits(" ".join(text.split()).replace(" ", "\u00a0"), digits)


# Greetings by form of address ("mr", "ms", or "" when unknown): never a slashed "Dear Sir/Madam".
_GREETINGS = {
    "en": {"mr": "Dear Mr {name},", "ms": "Dear Ms {name},", "": "Dear {first_name},"},
    "ar": {"mr": "حضرة السيد {name} المحترم،", "ms": "حضرة السيدة {name} المحترمة،", "": "مرحبًا {first_name}،"},
    "fa": {"mr": "جناب آقای {name}،", "ms": "سرکار خانم {name}،", "": "{first_name} گرامی،"},
}


def greeting(language: str, name: str, first_name: str = "", form: str = "") -> str:
    """The opening line for the customer's form of address in the letter's language."""
    table = _GREETINGS.get(base_language(language), _GREETINGS["en"])
    pattern = table.get((form or "").lower(), table[""])
    return pattern.format(name=name.strip(), first_name=(first_name or name).strip())


def page_label(page: int, total: int, language: str, digits: str = "latn") -> str:
    """'Page 1 of 2' in the letter's language (English wording for languages without a label)."""
    template = PAGE_LABELS.get(base_language(language), PAGE_LABELS["en"])
    return to_digits(template.format(page=page, total=total), digits)
