"""Dates, numbers and money as a reader of each staff language expects them.

Pure functions of (value, language, digits, zone): the pages bind them to the viewer
(retention/i18n.py), tests call them directly.

- English: Gregorian dates, Latin digits.
- Arabic: Gregorian dates with Arabic month names; Arabic-Indic or Latin digits, as the reader prefers.
- Persian: the Solar Hijri calendar (jdatetime; Babel has no Persian calendar) and Persian digits.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

import jdatetime
from babel.dates import format_datetime as babel_datetime, get_timezone_location
from babel.numbers import format_currency, format_decimal, get_currency_name, get_currency_symbol

from letters.l10n import to_digits

LANGUAGES = ("en", "ar", "fa")
DIGIT_CHOICES = {"en": ("latn",), "ar": ("arab", "latn"), "fa": ("arabext", "latn")}

# Babel patterns per form (Gregorian languages); Persian uses the jdatetime patterns below.
_PATTERNS = {
    "en": {"short": "EEE d MMM, HH:mm", "date": "d MMM y", "datetime": "d MMM y, HH:mm", "time": "HH:mm",
           "day": "EEE d MMM"},
    "ar": {"short": "EEEE d MMMM، HH:mm", "date": "d MMMM y", "datetime": "d MMMM y، HH:mm", "time": "HH:mm",
           "day": "EEEE d MMMM"},
}
_PERSIAN = {"short": "%A {d} %B، %H:%M", "date": "{d} %B %Y", "datetime": "{d} %B %Y، %H:%M", "time": "%H:%M",
            "day": "%A {d} %B"}
FORMS = tuple(_PERSIAN)

# A currency is shown by its symbol only where readers of that language cannot mistake it for another
# (Babel's Arabic symbol for the Iranian rial, "ر.إ.", reads as the UAE dirham); otherwise by its name.
# English keeps Babel's symbols, which are unambiguous ("$" is only USD; "CA$", "A$" or the ISO code otherwise).
_SYMBOL_SAFE = {
    "ar": frozenset({"USD", "EUR", "AED", "SAR", "EGP", "KWD", "QAR", "BHD", "OMR", "JOD"}),
    "fa": frozenset({"EUR", "IRR"}),
}


def language_of(language: str | None) -> str:
    """One of the staff languages (en when unknown)."""
    base = (language or "en").replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else "en"


def digits_for(language: str | None, preference: str | None = None) -> str:
    """The digit system for a reader: their choice when their language offers it, else its default."""
    choices = DIGIT_CHOICES[language_of(language)]
    return preference if preference in choices else choices[0]


def format_number(value, language: str, digits: str = "latn") -> str:
    """A number with the language's separators, in the reader's digits."""
    lang = language_of(language)
    numbering = "latn" if lang == "en" or digits == "latn" else digits
    try:
        return to_digits(format_decimal(value, locale=lang, numbering_system=numbering), digits)
    except InvalidOperation:  # more digits than Babel's rounding can hold (1e308): written out plainly
        return to_digits(format(Decimal(value), "f"), digits)


def format_money(amount: Decimal, currency: str, language: str, digits: str = "latn") -> str:
    """An amount in its currency that no reader can mistake for another currency."""
    return _money(Decimal(amount), currency, language_of(language), digits)


@lru_cache(maxsize=8192)
def _money(amount: Decimal, currency: str, lang: str, digits: str) -> str:
    numbering = "latn" if lang == "en" or digits == "latn" else digits
    number = format_currency(amount, currency, locale=lang, format="#,##0.00", currency_digits=True,
                             numbering_system=numbering)
    symbol = get_currency_symbol(currency, locale=lang)
    if lang == "en":
        # "$649.00", "£12.50"; a currency Babel has no English symbol for keeps its code: "IRR 27,258,000".
        text = f"{currency}\u00a0{number}" if symbol == currency else f"{symbol}{number}"
    else:
        # Number first, then the currency: its symbol where it is unmistakable, else its name in the language.
        safe = currency in _SYMBOL_SAFE[lang]
        text = f"{number}\u00a0{symbol if safe else get_currency_name(currency, count=amount, locale=lang)}"
    return to_digits(text, digits)


def local(moment: dt.datetime, zone: str | None) -> dt.datetime:
    """The moment on a wall clock in the zone (UTC for naive values and unknown zones)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:
        return moment.astimezone(ZoneInfo(zone or "UTC"))
    except (KeyError, ValueError, OSError):
        return moment.astimezone(dt.timezone.utc)


def format_moment(moment: dt.datetime | dt.date | None, language: str, digits: str = "latn",
                  zone: str | None = "UTC", form: str = "short") -> str:
    """A date or time in the reader's calendar, month names and digits, on the zone's wall clock."""
    if moment is None:
        return ""
    if form not in _PERSIAN:
        raise ValueError(f"form must be one of {FORMS}")
    lang = language_of(language)
    if isinstance(moment, dt.datetime):
        moment = local(moment, zone)
    if lang == "fa":
        if isinstance(moment, dt.datetime):
            shamsi = jdatetime.datetime.fromgregorian(datetime=moment.replace(tzinfo=None), locale="fa_IR")
        else:
            shamsi = jdatetime.date.fromgregorian(date=moment, locale="fa_IR")
        text = shamsi.strftime(_PERSIAN[form].replace("{d}", str(shamsi.day)))
    else:
        text = babel_datetime(moment, _PATTERNS[lang][form], locale=lang) if isinstance(moment, dt.datetime) \
            else babel_datetime(dt.datetime.combine(moment, dt.time()), _PATTERNS[lang][form], locale=lang)
    return to_digits(text, digits)


# CLDR has no location for UTC (Babel says "Unknown Region (UTC) Time").
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu",
                        "GMT", "Etc/GMT"})
_UTC_LABEL = {"en": "UTC", "ar": "التوقيت العالمي (UTC)", "fa": "وقت جهانی (UTC)"}


@lru_cache(maxsize=1024)
def zone_label(zone: str | None, language: str) -> str:
    """Whose clock a time is on, in the reader's words ("Iran Time", "وقت ایران", "توقيت المملكة المتحدة")."""
    if (zone or "UTC") in _UTC_NAMES:
        return _UTC_LABEL[language_of(language)]
    try:
        return get_timezone_location(ZoneInfo(zone or "UTC"), locale=language_of(language))
    except (KeyError, ValueError, LookupError, OSError):
        return zone or "UTC"
