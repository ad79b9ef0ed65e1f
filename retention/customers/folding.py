"""Search folding: one spelling of a name, email, id or phone whatever script variant or format was typed.

Arabic and Persian write the same name with different letters (ي/ی, ك/ک, ة/ه, hamza forms), with or
without diacritics, tatweel or a zero-width non-joiner; digits come in three scripts; phone numbers in
any layout. A customer's searchable text is folded once when stored, and a query is folded the same way.
"""
from __future__ import annotations

import re
import unicodedata

SEARCH_TEXT_LENGTH = 700  # name 200 + email 254 + id 120 + phone digits 32, with separators

# After NFKD has split hamza and madda off their letters and the marks are dropped.
_LETTERS = str.maketrans({
    "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
    "\u0649": "\u06cc",  # alef maksura -> Persian yeh
    "\u0643": "\u06a9",  # Arabic kaf -> Persian keheh
    "\u0629": "\u0647",  # teh marbuta -> heh
    "\u06c1": "\u0647",  # heh goal -> heh
    "\u0671": "\u0627",  # alef wasla -> alef
})
# Joiners, tatweel and direction marks change how text looks, never what it says.
_INVISIBLE = re.compile("[\u0640\u200b-\u200f\u061c\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
# What people type between the digits of a phone number.
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/+]")


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def fold(text: str | None) -> str:
    """The text in its search form: lower case, marks dropped, Arabic/Persian letter variants and digits unified."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = _INVISIBLE.sub("", kept).casefold().translate(_LETTERS)
    return _SPACES.sub(" ", _ascii_digits(kept)).strip()


def phone_digits(text: str | None) -> str:
    """Only the digits of a phone number (any script): '+44 20 7946 0000' -> '442079460000'."""
    return "".join(ch for ch in _ascii_digits(unicodedata.normalize("NFKC", text or "")) if ch.isdigit())


def phone_query(query: str) -> str | None:
    """The digits to look for when the query reads as (part of) a phone number, else None.

    Leading zeros are a trunk or international prefix ('020 ...', '00 44 ...') that the stored E.164
    number does not carry, so they are left out of the digits matched.
    """
    folded = _ascii_digits(unicodedata.normalize("NFKC", query))
    bare = _PHONE_PUNCTUATION.sub("", folded)
    if len(bare) < 4 or not bare.isdigit():
        return None
    return bare.lstrip("0") or None


def search_text(name: str | None, email: str | None, external_id: str | None, phone: str | None) -> str:
    """What a customer is found by, folded, in one column (customers.search_text)."""
    parts = (fold(name), fold(email), fold(external_id), phone_digits(phone))
    return " | ".join(parts)[:SEARCH_TEXT_LENGTH]
