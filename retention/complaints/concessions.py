"""Goodwill concessions on a complaint case (credit, refund, replacement) and who may grant how much.

The amount is a Decimal in the currency of the case's sale, positive, with no more decimals than the currency
has, at most MAX_AMOUNT, and a refund no more than the sale. Up to the requester's own limit in that currency
(`StaffUser.concession_limits`, {"USD": "50.00"}; none set: 0) it is approved at once; above it the concession
is pending and an admin approves or rejects it. An admin's own request is approved at once (admins are the
ones who decide). Every request and decision is a CaseChange (the customer's timeline) and an audit entry.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention.audit.service import record
from retention.complaints import service
from retention.complaints.models import CONCESSION_KINDS, OPEN_STATUSES, Complaint, Concession
from retention.errors import N_, NotFound
from retention.staff.models import StaffUser
from retention.validation import CURRENCIES

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
MAX_AMOUNT = Decimal("1000000")
MAX_NOTE = 2000
MAX_LIMITS = 20  # currencies per person


class ConcessionNotFound(service.ComplaintError, NotFound):
    """No such concession (404)."""


def currency_places(currency: str) -> int:
    try:
        return get_currency_precision(currency)
    except Exception:  # noqa: BLE001 - an unknown code: two places
        return 2


def amount_text(amount: Decimal, currency: str) -> str:
    """The amount with exactly the currency's decimals ("15.50" USD, "1500" JPY), as the API writes it."""
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-currency_places(currency))))


def parse_amount(value, currency: str, field: str = "amount") -> Decimal:
    """A positive amount with at most the currency's decimals and at most MAX_AMOUNT; ComplaintError otherwise."""
    if isinstance(value, bool) or value is None:
        raise service.ComplaintError(field, N_("Enter an amount, e.g. 25.00."))
    text = value.strip() if isinstance(value, str) else str(value)
    if not text or not text.isascii() or len(text) > 30:
        raise service.ComplaintError(field, N_("Enter an amount, e.g. 25.00."))
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise service.ComplaintError(field, N_("Enter an amount, e.g. 25.00.")) from None
    if not amount.is_finite() or amount <= 0:
        raise service.ComplaintError(field, N_("The amount must be more than zero."))
    places = currency_places(currency)
    if -amount.as_tuple().exponent > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise service.ComplaintError(field, N_("%(currency)s amounts have at most %(places)s decimals."),
                                     currency=currency, places=places)
    if amount > MAX_AMOUNT:
        raise service.ComplaintError(field, N_("The amount can be at most %(max)s."), max=f"{MAX_AMOUNT:,}")
    return amount.quantize(Decimal(1).scaleb(-places)) if places else amount.quantize(Decimal(1))


def limit_of(staff: StaffUser, currency: str) -> Decimal:
    """How much this person may grant at once in the currency (0 when no limit is set)."""
    raw = (staff.concession_limits or {}).get(currency)
    try:
        return Decimal(str(raw)) if raw is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def request(session: Session, case: Complaint, *, kind: str, amount, note: str = "", staff: StaffUser,
            now: dt.datetime, actor: str) -> Concession:
    """A concession on an open case: approved at once within the requester's limit, else pending. The caller commits."""
    if kind not in CONCESSION_KINDS:
        raise service.ComplaintError("kind", N_("Choose a credit, a refund or a replacement."))
    if case.status not in OPEN_STATUSES:
        raise service.CaseConflict("status", N_("A closed case takes no concession: reopen it first."))
    if case.sale is None:
        raise service.ComplaintError("amount", N_("This case has no purchase, so there is no currency to pay in."))
    currency = case.sale.currency
    value = parse_amount(amount, currency)
    if kind == "refund" and value > case.sale.amount:
        raise service.ComplaintError("amount", N_("A refund cannot be more than the purchase (%(amount)s)."),
                                     amount=f"{case.sale.amount} {currency}")
    if note is None:
        note = ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise service.ComplaintError("note", N_("The note can be at most %(max)s characters long."), max=MAX_NOTE)
    within = staff.role == "admin" or value <= limit_of(staff, currency)
    row = Concession(case=case, kind=kind, amount=value, currency=currency, note=note.strip(),
                     status=APPROVED if within else PENDING, requested_by_id=staff.id, requested_at=now,
                     decided_by_id=staff.id if within else None, decided_at=now if within else None)
    session.add(row)
    session.flush()
    service.change(session, case, action="concession_approved" if within else "concession_requested", now=now,
                   actor=actor, note=f"{amount_text(value, currency)} {currency}" + (f": {row.note}" if row.note else ""),
                   audit={"concession": row.id, "kind": kind, "amount": str(value), "currency": currency,
                          "status": row.status})
    return row


def get(session: Session, concession_id: int, *, for_update: bool = False) -> Concession:
    query = select(Concession).where(Concession.id == concession_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query) if 0 < concession_id < 2**31 else None
    if row is None:
        raise ConcessionNotFound("concession", N_("No such concession."))
    return row


def decide(session: Session, concession: Concession, *, approve: bool, staff: StaffUser, now: dt.datetime,
           actor: str, note: str = "") -> Concession:
    """An admin approves or rejects a pending concession (409 once decided). The caller commits."""
    if staff.role != "admin":
        raise service.CaseConflict("concession", N_("Only an admin decides on a concession above the limit."))
    if concession.status != PENDING:
        raise service.CaseConflict("concession", N_("This concession has already been decided."))
    if note and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise service.ComplaintError("note", N_("The note can be at most %(max)s characters long."), max=MAX_NOTE)
    concession.status = APPROVED if approve else REJECTED
    concession.decided_by_id, concession.decided_at = staff.id, now
    service.change(session, concession.case, action="concession_approved" if approve else "concession_rejected",
                   now=now, actor=actor,
                   note=f"{amount_text(concession.amount, concession.currency)} {concession.currency}"
                   + (f": {note.strip()}" if note else ""),
                   audit={"concession": concession.id, "status": concession.status,
                          "requested_by_id": concession.requested_by_id})
    return concession


def pending(session: Session, limit: int = 200) -> list[Concession]:
    """Concessions waiting for an admin, oldest first."""
    return session.scalars(select(Concession).where(Concession.status == PENDING)
                           .options(joinedload(Concession.case).joinedload(Complaint.customer),
                                    joinedload(Concession.requested_by))
                           .order_by(Concession.requested_at, Concession.id).limit(limit)).unique().all()


def set_limits(session: Session, user: StaffUser, limits: dict, *, now: dt.datetime, actor: str) -> dict:
    """Replace a person's limits ({currency: amount}; an empty amount removes the currency). Audited."""
    clean: dict[str, str] = {}
    for currency, amount in (limits or {}).items():
        code = (currency or "").strip().upper()
        if isinstance(amount, str) and not amount.strip():
            continue
        if code not in CURRENCIES:
            raise service.ComplaintError("currency", N_("Choose a currency by its three-letter code, e.g. EUR."))
        clean[code] = str(parse_amount(amount, code, field="limit"))
    if len(clean) > MAX_LIMITS:
        raise service.ComplaintError("limit", N_("At most %(max)s currencies."), max=MAX_LIMITS)
    before = dict(user.concession_limits or {})
    user.concession_limits = clean or None
    record(session, actor=actor, action="staff.concession_limits", entity_type="staff_user", entity_id=user.id,
           now=now, changes={"from": before, "to": clean})
    return clean
