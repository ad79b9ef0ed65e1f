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
NBSP = "\u00a0"

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
# The calendars a template may date its letters in: Gregorian, Hijri (Umm al-Qura, the Saudi civil calendar,
# via hijridate) or both ("١٣ جمادى الآخرة ١٤٤٨ هـ الموافق ٢٣ نوفمبر ٢٠٢٦ م"). The Hijri ones are for Arabic
# letters only; Persian letters always use the Solar Hijri calendar, whatever the template says.
CALENDARS = ("gregorian", "hijri", "both")
HIJRI_CALENDARS = ("hijri", "both")
# Languages whose letters may be dated in the Hijri calendar.
HIJRI_LANGUAGES = frozenset({"ar"})
# Hijri month names as printed on Umm al-Qura calendars.
_HIJRI_MONTHS = ("محرم", "صفر", "ربيع الأول", "ربيع الآخر", "جمادى الأولى", "جمادى الآخرة", "رجب", "شعبان",
                 "رمضان", "شوال", "ذو القعدة", "ذو الحجة")


def check_calendar(calendar: str, language: str) -> str:
    """The calendar a letter in ``language`` may use ("" means Gregorian); ValueError naming the choices."""
    calendar = calendar or "gregorian"
    if calendar not in CALENDARS:
        raise ValueError(f"calendar: must be one of {', '.join(CALENDARS)}, not {calendar!r}")
    if calendar in HIJRI_CALENDARS and base_language(language) not in HIJRI_LANGUAGES:
        raise ValueError(f"calendar: the Hijri calendar is for Arabic letters, not {language!r}")
    return calendar


def hijri_date(d: datetime.date) -> str:
    """The Umm al-Qura date with Arabic month names and the "هـ" suffix ("١ رمضان ١٤٤٥ هـ" in Latin digits
    here: the caller applies the letter's digits); one unbreakable unit."""
    from hijridate import Gregorian

    try:
        h = Gregorian(d.year, d.month, d.day).to_hijri()
    except OverflowError as exc:   # the Umm al-Qura tables cover 1924-2077 only
        raise ValueError(f"calendar: {exc}") from None
    return f"{h.day} {_HIJRI_MONTHS[h.month - 1]} {h.year} هـ".replace(" ", NBSP)


@lru_cache(maxsize=4096)
def format_letter_date(d: datetime.date, language: str, digits: str = "latn", calendar: str = "") -> str:
    """The letter date in the locale's long format ("15 March 2024" en_GB, "March 15, 2024" en_US,
    "١٥ مارس ٢٠٢٤"); Persian letters in the Solar Hijri calendar ("۲۵ اسفند ۱۴۰۲"); Arabic letters in the
    Hijri calendar when the template asks ("٥ رمضان ١٤٤٥ هـ"), or both ("... هـ الموافق ١٥ مارس ٢٠٢٤ م").
    Each date stays together on one line."""
    calendar = check_calendar(calendar, language)
    if base_language(language) == "fa":
        shamsi = jdatetime.date.fromgregorian(date=d)
        text = f"{shamsi.day} {_SHAMSI_MONTHS[shamsi.month - 1]} {shamsi.year}"
    elif calendar == "hijri":
        text = hijri_date(d)
    else:
        text = format_date(d, format="long", locale=babel_locale(language))
        if calendar == "both":
            # Two units: a line may end after "الموافق", never inside either date.
            return to_digits(f"{hijri_date(d)} الموافق {text.replace(' ', NBSP)}{NBSP}م", digits)
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


# Greetings per language and form of address (retention/customers/models.py FORMS_OF_ADDRESS), never a slashed
# "Dear Sir/Madam" or "عزيزي/عزيزتي". English titles take the surname ("Dear Ms Jones,"; "Ms." in American
# English); Arabic and Persian the full name, as their letters do.
_GREETINGS = {
    "en": {"mr": "Dear Mr {surname},", "ms": "Dear Ms {surname},", "neutral": "Dear {name},"},
    "en_US": {"mr": "Dear Mr. {surname},", "ms": "Dear Ms. {surname},", "neutral": "Dear {name},"},
    "ar": {"mr": "السيد {name} المحترم،", "ms": "السيدة {name} المحترمة،", "neutral": "تحية طيبة إلى {name}،"},
    "fa": {"mr": "جناب آقای {name}،", "ms": "سرکار خانم {name}،", "neutral": "{name} گرامی،"},
}

# A customer without a name on record (the event contract requires one; kept for safety).
_NO_NAME = {"en": "Dear customer,", "ar": "تحية طيبة،", "fa": "مشتری گرامی،"}


def greeting(language: str, name: str, first_name: str = "", form: str = "", locale: str = "") -> str:
    """The opening line for the customer's form of address ("mr", "ms", "neutral"; "" = not known, greeted
    like "neutral") in the letter's language; ``locale`` (en_US) picks the regional style. ``first_name`` is
    kept for callers of the old signature: a greeting by first name alone is too familiar for a letter."""
    lang = base_language(language)
    if lang not in _GREETINGS:
        lang = "en"
    regional = (locale or "").replace("-", "_")
    table = _GREETINGS[regional] if regional in _GREETINGS and base_language(regional) == lang else _GREETINGS[lang]
    name = " ".join((name or first_name or "").split())
    if not name:
        return _NO_NAME[lang]
    pattern = table.get((form or "").strip().lower(), table["neutral"])
    return pattern.format(name=name, surname=name.rsplit(" ", 1)[-1])


def page_label(page: int, total: int, language: str, digits: str = "latn") -> str:
    """'Page 1 of 2' in the letter's language (English wording for languages without a label)."""
    template = PAGE_LABELS.get(base_language(language), PAGE_LABELS["en"])
    return to_digits(template.format(page=page, total=total), digits)
