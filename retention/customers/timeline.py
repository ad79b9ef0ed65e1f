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
    title: str
    detail: str = ""
    extra: dict = field(default_factory=dict)
    # Free text written by or about the customer (complaints, NPS comments, call notes): shown only to
    # viewers the access policy lets read it (retention/staff/policy.py).
    private: str = ""


# Each feature registers its sources at app wiring time (retention/wiring.py): source(session, customer, limit).
SOURCES: list[Callable[[Session, Customer, int], list["Entry"]]] = []


def register_source(source: Callable[[Session, Customer, int], list["Entry"]]) -> None:
    """Add a feature's timeline source (once)."""
    if source not in SOURCES:
        SOURCES.append(source)


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
