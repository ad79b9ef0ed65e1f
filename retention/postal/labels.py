"""What the mail room reads instead of machine keys: statuses, stages, return reasons, template and country
names, each in the reader's language (lazy: translated when shown)."""
from __future__ import annotations

from babel import Locale
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.postal.models import (
    BUILDING, CANCELLED, FAILED, MAILED, PRINTED, QUEUED, READY, RETURNED, Letter, LetterTemplate,
)

BATCH_STATUS = {
    BUILDING: _l("Being laid out"),
    READY: _l("Ready to print"),
    FAILED: _l("Failed"),
    PRINTED: _l("Printed"),
    MAILED: _l("Mailed"),
}

LETTER_STATUS = {
    QUEUED: _l("Waiting for a batch"),
    PRINTED: _l("Printed"),
    MAILED: _l("Mailed"),
    RETURNED: _l("Returned"),
    CANCELLED: _l("Not sent: the customer opted out of letters"),
}

# Where a letter stands, as the mail room sees it: a queued letter in a ready batch is ready to print,
# not "queued" (letter_stage below).
LETTER_STAGE = {
    "queued": _l("Waiting for a batch"),
    "left_out": _l("Left out of a batch"),
    "building": _l("Being laid out"),
    "ready": _l("Ready to print"),
    "failed": _l("Batch failed"),
    PRINTED: _l("Printed"),
    MAILED: _l("Mailed"),
    RETURNED: _l("Returned to sender"),
    CANCELLED: _l("Not sent: the customer opted out of letters"),
}

RETURN_REASON = {
    "moved": _l("Moved away"),
    "unknown_address": _l("Unknown address"),
    "refused": _l("Refused by the recipient"),
    "incomplete_address": _l("Incomplete address"),
    "other": _l("Other reason"),
}

# The manifest's columns as a person downloading it from the batch page reads them (batches.MANIFEST_COLUMNS: the
# keys the file on disk and the API's download keep), and why a line's sheet is to be pulled (batches.PULL_COLUMN).
MANIFEST_HEADER = {
    "letter": _l("Reference"),
    "customer": _l("Customer id"),
    "name": _l("Name"),
    "template": _l("Template"),
    "language": _l("Language"),
    "paper": _l("Paper"),
    "sheets": _l("Sheets"),
    "address": _l("Address as printed"),
    "country": _l("Country"),
    "postal_code": _l("Postal code"),
    "first_page": _l("First page"),
    "page_count": _l("Number of pages"),
    "pull": _l("Pull before posting"),
}
PULL_REASON = {
    "opted_out": _l("Pull, do not post: the customer opted out of letters"),
}

# Form fields named in error messages on pages.
FIELD = {"since": _l("since"), "until": _l("until")}

LANGUAGE = {"en": _l("English"), "ar": _l("Arabic"), "fa": _l("Persian")}


def letter_stage(letter: Letter) -> str:
    """The key of LETTER_STAGE for a letter: its status, or for a queued letter where its batch stands."""
    if letter.status != QUEUED:
        return letter.status
    if letter.batch_id is None:
        return "left_out" if letter.error else "queued"
    status = letter.batch.status if letter.batch is not None else BUILDING
    return {BUILDING: "building", READY: "ready", FAILED: "failed"}.get(status, "queued")


def country_name(code: str | None, language: str) -> str:
    """A country's name in the reader's language (the code itself when Babel does not know it)."""
    if not code:
        return ""
    return Locale.parse(language).territories.get(code.upper(), code.upper())


def template_names(session: Session, language: str) -> dict[str, str]:
    """Each template key's name for a reader: the name marketing gave it in their language, else the English
    one, else the key with spaces."""
    names: dict[str, str] = {}
    rows = session.execute(select(LetterTemplate.key, LetterTemplate.language, LetterTemplate.name)
                           .where(LetterTemplate.is_current.is_(True))).all()
    for key, lang, name in sorted(rows, key=lambda r: (r[1] != language, r[1] != "en")):
        if name and key not in names:
            names[key] = name
    return names


def template_name(names: dict[str, str], key: str) -> str:
    return names.get(key) or key.replace("_", " ").capitalize()


def return_undone_words(params: tuple, day, number) -> str:
    """The reason a fix-address call was closed when its return was undone (batches.RETURN_UNDONE), in the reader's
    words (journeys/wording.py registry)."""
    return _("Not needed any more: the return of the letter was undone; the address was right")
