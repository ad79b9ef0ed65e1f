"""A customer's timeline: everything received and done about them, newest first.

Each feature registers a source (a function returning entries) with `register_source`; the page merges them.
Customers import no feature: the sources live with the features that own the rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

from retention.customers.models import Customer


@dataclass
class Entry:
    """One line of the timeline."""

    at: dt.datetime
    kind: str
    title: str  # in the reader's words: sources call gettext (they run during the page's request)
    detail: str | list[str] = ""  # a text, or pieces each shown isolated (a product, an amount, a name)
    extra: dict = field(default_factory=dict)
    # Free text written by or about the customer (complaints, NPS comments, call notes): shown only to
    # viewers the access policy lets read it (retention/staff/policy.py).
    private: str = ""


def isolate(text: str) -> str:
    """Data inside a translated sentence (a step title, a name), isolated so its direction cannot reorder the
    sentence around it (Unicode FSI ... PDI)."""
    return f"\u2068{text}\u2069" if text else ""


# Each feature registers its sources at app wiring time (retention/wiring.py): source(session, customer, limit).
SOURCES: list[Callable[[Session, Customer, int], list["Entry"]]] = []


def register_source(source: Callable[[Session, Customer, int], list["Entry"]]) -> None:
    """Add a feature's timeline source (once)."""
    if source not in SOURCES:
        SOURCES.append(source)


def contact_corrections(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Contact details staff corrected (customers/service.py correct_contact): one line per corrected part."""
    from flask_babel import gettext as _
    from sqlalchemy import select

    from retention.audit.models import AuditEntry

    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer.id),
        AuditEntry.action == "customer.contact_corrected").order_by(AuditEntry.at.desc()).limit(limit))
    titles = {"phone": _("Phone number corrected"), "address": _("Postal address corrected"),
              "locale": _("Language corrected"), "timezone": _("Time zone corrected"),
              "form_of_address": _("Form of address corrected")}
    entries = []
    for a in rows:
        for group, change in (a.changes or {}).items():
            if group in titles:
                entries.append(Entry(at=a.at, kind=f"contact:{group}", title=titles[group],
                                     detail=_contact_words(group, change), extra={"actor": a.actor}))
    return entries


def _contact_words(group: str, change: dict) -> list[str]:
    """"old → new" pieces of one correction, in the reader's words (languages and countries by name)."""
    from flask_babel import gettext as _

    from retention import i18n
    from retention.customers.names import country_name, form_of_address_label, language_name

    reader = i18n.ui_language()

    def shown(value) -> str:
        if group == "form_of_address":
            return form_of_address_label(value)
        if value in (None, "", [], {}):
            return _("(none)")
        if group == "locale":
            return language_name(value, reader)
        if group == "timezone":
            return i18n.zone_label(value)
        if group == "address" and isinstance(value, dict):
            parts = [*value.get("lines", []), value.get("postal_code"), value.get("city"), value.get("region"),
                     country_name(value.get("country"), reader)]
            return ", ".join(p for p in parts if p)
        return str(value)

    return [_("was: %(old)s", old=shown(change.get("old"))), _("now: %(new)s", new=shown(change.get("new")))]


# The customers' own source: corrections by staff.
register_source(contact_corrections)


def timeline(session: Session, customer: Customer, limit: int = 200, access=None) -> list[Entry]:
    """Every source's entries for the customer, newest first, cut to what `access` sees (default: all)."""
    entries: list[Entry] = []
    for source in SOURCES:
        entries.extend(source(session, customer, limit))
    if access is not None:
        entries = [e for e in entries if access.sees_entry(e.kind)]
        if not access.private_text:
            for e in entries:
                e.private = ""
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
