"""Printable letters: window-envelope layouts (A4 DIN 5008 B, US Letter #10), right-to-left
Arabic and Persian done properly, embedded subset TrueType fonts, and streaming print batches.

Typical use::

    from letters import LetterContent, Address, render_letter, write_batch
    pdf_bytes = render_letter(content)
    entries = write_batch(queued_letters, "batch-42.pdf", duplex=True, total=n, progress=cb)
"""

from .batch import LetterRenderError, PaperMismatch, write_batch
from .l10n import CALENDARS, HIJRI_LANGUAGES, format_letter_date, format_money, greeting, letter_locale, native_digits, page_label, to_digits
from .layouts import LAYOUTS, Layout, default_paper, get_layout
from .model import Address, BatchEntry, LetterContent
from .qr import QrTooLong
from .render import AddressDoesNotFit, LetterTooLong, compose, render_letter
from .textlayout import nobreak

__all__ = [
    "CALENDARS",
    "HIJRI_LANGUAGES",
    "Address",
    "AddressDoesNotFit",
    "default_paper",
    "nobreak",
    "PaperMismatch",
    "greeting",
    "letter_locale",
    "native_digits",
    "BatchEntry",
    "LAYOUTS",
    "Layout",
    "LetterContent",
    "LetterRenderError",
    "LetterTooLong",
    "QrTooLong",
    "compose",
    "format_letter_date",
    "format_money",
    "get_layout",
    "page_label",
    "render_letter",
    "to_digits",
    "write_batch",
]
