"""Conversions: a friend's sale with a referral code becomes a referral, rejected with a reason or pending; pending
ones are earned after the program's hold days (the tick), unless the friend's sale is refunded first (void); a
refund after earning reverses the reward. Every reward and reversal is a ledger row; the ledger's unique
(referral, kind) and the conditional status UPDATEs make each step safe to run twice.

A program's cap is counted under a lock on the program's row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's writer
lock serialises the whole transaction), so two friends buying at once cannot both take the last place.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from retention.customers.models import Customer, Sale
from retention.queries import id_in
from retention.referrals.models import (
    COUNTED, EARNED, PENDING, REJECTED, REVERSED, VOID, LedgerEntry, Referral, ReferralOffer, ReferralProgram,
)
from retention.referrals.offers import normalize_code

CHUNK = 1000


def _email(value: str | None) -> str:
    return (value or "").strip().casefold()


def _phone(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


def normalized_address(customer: Customer) -> str:
    """Lines, postal code, city and country folded: case, accents, punctuation and spacing do not count."""
    parts = [*(customer.address_lines or []), customer.postal_code or "", customer.city or "", customer.country or ""]
    text = unicodedata.normalize("NFKD", " ".join(str(p) for p in parts)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def fraud_reason(friend: Customer, advocate: Customer, sale: Sale, session: Session) -> str | None:
    """Why this friend's sale cannot earn the advocate's reward, or None."""
    if friend.id == advocate.id:
        return "self_referral"
    if _email(friend.email) and _email(friend.email) == _email(advocate.email):
        return "same_email"
    if _phone(friend.phone) and _phone(friend.phone) == _phone(advocate.phone):
        return "same_phone"
    address = normalized_address(advocate)
    if (advocate.address_lines or advocate.postal_code) and address and address == normalized_address(friend):
        return "same_address"
    earlier = session.scalar(select(Sale.id).where(Sale.customer_id == friend.id, Sale.id != sale.id,
                                                   Sale.sold_at < sale.sold_at).limit(1))
    if earlier is not None:
        return "existing_customer"
    return None


def convert(session: Session, sale: Sale, now: dt.datetime) -> Referral | None:
    """The referral of a new sale that carries a code (None without a code, or when it was converted already)."""
    code = normalize_code(sale.referral_code)
    if not code:
        return None
    if session.scalar(select(Referral.id).where(Referral.sale_id == sale.id)) is not None:
        return None
    friend = sale.customer
    referral = Referral(sale_id=sale.id, friend_customer_id=friend.id, code=code[:40], status=REJECTED,
                        sale_amount=sale.amount, sale_currency=sale.currency, created_at=now)
    offer = session.scalar(select(ReferralOffer).where(ReferralOffer.code == code)) if len(code) <= 12 else None
    if offer is None or offer.program_id is None:
        referral.reason = "unknown_code"
    else:
        referral.offer_id, referral.program_id = offer.id, offer.program_id
        referral.reward_amount, referral.currency = offer.reward_amount, offer.currency
        referral.reason = fraud_reason(friend, offer.customer, sale, session)
        if referral.reason is None and offer.expires_at is not None and sale.sold_at >= offer.expires_at:
            referral.reason = "expired_code"
        if referral.reason is None:
            program = _locked_program(session, offer.program_id)
            taken = session.scalar(select(func.count()).select_from(Referral).where(
                Referral.program_id == program.id, Referral.status.in_(COUNTED)))
            if program.max_referrals is not None and taken >= program.max_referrals:
                referral.reason = "program_cap"
            else:
                referral.status = PENDING
                referral.earn_at = sale.sold_at + dt.timedelta(days=program.hold_days)
    session.add(referral)
    session.flush()
    return referral


def _locked_program(session: Session, program_id: int) -> ReferralProgram:
    """The program's row, locked until the transaction ends: PostgreSQL by FOR UPDATE; SQLite by a write to it,
    which takes the database's one writer lock before the count is read (a plain SELECT would read outside it)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(ReferralProgram).where(ReferralProgram.id == program_id)
                        .values(id=ReferralProgram.id).execution_options(synchronize_session=False))
        return session.execute(select(ReferralProgram).where(ReferralProgram.id == program_id)
                               .execution_options(populate_existing=True)).scalar_one()
    return session.execute(select(ReferralProgram).where(ReferralProgram.id == program_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def _ledger_rows(session: Session, referral_ids: list[int], kind: str, sign: int, now: dt.datetime) -> None:
    rows = session.execute(
        select(Referral.id, ReferralOffer.customer_id, Referral.program_id, Referral.reward_amount, Referral.currency,
               ReferralProgram.reward_type)
        .join(ReferralOffer, Referral.offer_id == ReferralOffer.id)
        .join(ReferralProgram, Referral.program_id == ReferralProgram.id)
        .where(id_in(session, Referral.id, referral_ids))).all()
    if rows:
        session.execute(insert(LedgerEntry.__table__), [
            {"referral_id": rid, "customer_id": advocate, "program_id": program, "kind": kind,
             "amount": amount * sign, "currency": currency, "reward_type": reward_type, "at": now}
            for rid, advocate, program, amount, currency, reward_type in rows])


def earn_due(session: Session, now: dt.datetime, limit: int = 5000) -> int:
    """Pending referrals whose hold is over and whose sale was not refunded become earned, each with its ledger row;
    returns how many. Guarded by state: only rows still pending change, so two ticks cannot pay twice."""
    due = list(session.scalars(select(Referral.id).where(Referral.status == PENDING, Referral.earn_at <= now)
                               .order_by(Referral.earn_at).limit(limit)))
    earned = 0
    for start in range(0, len(due), CHUNK):
        chunk = due[start:start + CHUNK]
        not_refunded = select(Sale.id).where(Sale.refunded_at.is_(None))
        ids = list(session.scalars(
            update(Referral).where(id_in(session, Referral.id, chunk), Referral.status == PENDING,
                                   Referral.sale_id.in_(not_refunded))
            .values(status=EARNED, earned_at=now).returning(Referral.id)
            .execution_options(synchronize_session=False)))
        _ledger_rows(session, ids, "reward", 1, now)
        earned += len(ids)
    session.commit()
    return earned


def refunded(session: Session, sale: Sale, now: dt.datetime) -> str | None:
    """The friend's sale was refunded: a pending referral is void; an earned one is reversed with a ledger row.
    Returns what happened ("void", "reversed") or None."""
    referral_id = session.scalar(select(Referral.id).where(Referral.sale_id == sale.id))
    if referral_id is None:
        return None
    voided = session.execute(update(Referral).where(Referral.id == referral_id, Referral.status == PENDING)
                             .values(status=VOID, voided_at=now, reason="refunded")
                             .execution_options(synchronize_session=False)).rowcount
    if voided:
        return VOID
    reversed_ = session.execute(update(Referral).where(Referral.id == referral_id, Referral.status == EARNED)
                                .values(status=REVERSED, voided_at=now, reason="refunded")
                                .execution_options(synchronize_session=False)).rowcount
    if reversed_:
        _ledger_rows(session, [referral_id], "reversal", -1, now)
        return REVERSED
    return None
