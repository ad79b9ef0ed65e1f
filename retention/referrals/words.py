"""An amount in words, as a reader of English, Arabic or Persian writes it on a cheque or in a letter.

num2words writes the number; the currency's name comes from CLDR (Babel) in the language, counted for the
amount. Arabic joins "و" to the word after it ("خمسة وعشرون"), as Arabic is written; Persian keeps " و " apart
("بیست و پنج"), as Persian is written. An amount with a fraction of its currency is written in figures only.
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_name
from num2words import num2words

LANGUAGES = ("en", "ar", "fa")


def number_words(value: int, language: str) -> str:
    """A whole number in words ("one hundred and fifty", "مائة وخمسون", "صد و پنجاه")."""
    language = language if language in LANGUAGES else "en"
    words = num2words(int(value), lang=language)
    if language == "ar":
        words = " ".join(words.split()).replace(" و ", " و")
    return words


def amount_words(amount: Decimal, currency: str, language: str) -> str:
    """"fifty euros", "خمسون يورو", "پنجاه یورو"; "" when the amount has a fraction (written in figures only)."""
    amount = Decimal(amount)
    if amount != amount.to_integral_value():
        return ""
    language = language if language in LANGUAGES else "en"
    name = get_currency_name(currency, count=int(amount), locale=language)
    return f"{number_words(int(amount), language)} {name}"
