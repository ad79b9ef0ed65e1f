"""Plain data passed into and out of the letter generator (no ReportLab types here)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


@dataclass
class Address:
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code ('' if unknown)."""

    lines: list[str]
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass
class LetterContent:
    """Everything one printed letter shows, already rendered from its template."""

    language: str
    paper: str
    recipient_name: str
    address: Address
    return_address: list[str]
    letter_date: datetime.date
    body: str
    closing: str = ""
    signer_name: str = ""
    signer_title: str = ""
    handwriting_signature: bool = False
    qr_url: str | None = None
    digits: str = "latn"
    reference: str = ""
    # The sender's country (ISO 3166-1 alpha-2): mail to the same country prints no country line.
    sender_country: str = ""
    # "" / "gregorian", or for Arabic letters "hijri" (Umm al-Qura) or "both" (Hijri, then the Gregorian date);
    # Persian letters are dated in the Solar Hijri calendar regardless (letters/l10n.py: format_letter_date).
    calendar: str = ""
    # Locale of dates and numbers (e.g. en_GB, ar_EG); the language alone when empty.
    locale: str = ""


@dataclass
class BatchEntry:
    """Where one letter landed in a batch PDF (pages are 1-based)."""

    index: int
    first_page: int
    page_count: int
    blank_back_added: bool = field(default=False)
    paper: str = "A4"
    # Sheets of paper the letter takes (pages on both sides when the batch is duplex).
    sheets: int = 0
    # The recipient block exactly as printed, one string per line.
    address: list[str] = field(default_factory=list)
