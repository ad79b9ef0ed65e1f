"""Offers: whether a customer may be asked now (eligibility), the code, and the offer sent by letter or email.

The `referral_offer` step's hand-out (registration.py) calls `make_offers` for every due touchpoint of a tick: met
-> an offer with a code and its reward, and its letter queued or its email queued; not met -> the touchpoint waits
until the day it could be met, or is skipped, with the reason stored on it (shown on the timeline in words).
This is the one place an offer is made and reaches the customer (its letter or email is queued in the same
transaction), so it is where the customers are locked against a complaint being opened at the same moment.
An offer whose letter is cancelled before posting (the customer opted out of letters) was not made after all:
`cancel_unposted_offers` marks it cancelled with the reason (run by postal.batches.on_letters_cancelled).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from retention.complaints import service as complaints
from retention.customers.locking import lock_customers
from retention.customers.models import Customer, Sale
from retention.journeys import registry
from retention.journeys.models import SCHEDULED, SKIPPED, Touchpoint
from retention.postal.models import Letter
from retention.queries import id_in
from retention.referrals import programs as program_rules, rewards
from retention.referrals.models import MADE, OFFER_CANCELLED, ReferralOffer, ReferralProgram
from retention.surveys import service as surveys

# No 0/O, 1/I/L: a code read aloud or typed from paper cannot be mistaken.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
OPEN_COMPLAINT_RETRY = dt.timedelta(hours=24)
# A customer whose row someone else holds right now (a complaint being opened, an event being applied): asked again
# this soon (the next tick), never waited for.
BUSY_RETRY = dt.timedelta(minutes=1)
# Why an offer was not made now. WAITS: the step is tried again on the day it could be met.
REASONS = ("no_program", "currency", "category", "out_of_range", "refunded", "no_nps", "nps_below", "too_early",
           "return_window", "open_complaint", "max_offers", "no_reward", "no_sale", "cannot_email", "cannot_post",
           "busy")
WAITS = ("too_early", "return_window", "open_complaint", "busy")


def new_code() -> str:
    """A random code with at least one letter (a code of digits alone would be printed in Persian or Arabic
    digits inside a letter's text)."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if not code.isdigit():
            return code


def normalize_code(text: str | None) -> str:
    """A code as typed or printed ("k7pq-3mzx ") in its stored form ("K7PQ3MZX")."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\u00a0\t")


def display_code(code: str) -> str:
    """Grouped by four for reading: "K7PQ-3MZX"."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def unique_codes(session: Session, count: int, tries: int = 5) -> list[str]:
    """`count` codes no offer holds yet (checked against the table and each other; the unique index is the last
    word if two ticks ever drew the same code at the same moment)."""
    codes: list[str] = []
    for _ in range(tries):
        wanted = count - len(codes)
        if wanted <= 0:
            break
        drawn = {new_code() for _ in range(wanted)} - set(codes)
        taken = set(session.scalars(select(ReferralOffer.code).where(ReferralOffer.code.in_(drawn))))
        codes += [c for c in drawn if c not in taken]
    if len(codes) < count:
        raise RuntimeError("could not draw unique referral codes")
    return codes[:count]


@dataclass(frozen=True)
class Verdict:
    """Whether an offer can be made now: the program and reward when it can, else the reason (and when to try
    again, for reasons that pass with time)."""

    ok: bool
    reason: str | None = None
    retry_at: dt.datetime | None = None
    program: ReferralProgram | None = None
    reward: Decimal | None = None
    detail: dict | None = None


def _fits(program: ReferralProgram, sale: Sale) -> str | None:
    """Why the program does not apply to this sale, or None."""
    if sale.currency != program.currency:
        return "currency"
    if program.categories and (sale.category or "") not in program.categories:
        return "category"
    if not program.min_purchase <= sale.amount <= program.max_purchase:
        return "out_of_range"
    return None


def eligibility(sale: Sale | None, now: dt.datetime, *, programs: list[ReferralProgram], latest_nps: int | None,
                open_complaint: bool, offers_made: int) -> Verdict:
    """The rules of issue 12 at this moment, in order; pure (the caller loads what they read)."""
    if sale is None:
        return Verdict(False, "no_sale")
    if not programs:
        return Verdict(False, "no_program")
    if sale.refunded_at is not None:
        return Verdict(False, "refunded")
    misfits = [(p, _fits(p, sale)) for p in programs]
    program = next((p for p, why in misfits if why is None), None)
    if program is None:
        return Verdict(False, misfits[0][1])
    if latest_nps is None:
        return Verdict(False, "no_nps", program=program)
    if latest_nps < program.min_nps:
        return Verdict(False, "nps_below", program=program, detail={"score": latest_nps, "min": program.min_nps})
    if offers_made >= program.max_offers:
        return Verdict(False, "max_offers", program=program, detail={"max": program.max_offers})
    since = sale.delivered_at or sale.sold_at
    ready = since + dt.timedelta(days=program.min_days)
    if now < ready:
        return Verdict(False, "too_early", retry_at=ready, program=program)
    outside = since + dt.timedelta(days=program.return_window_days)
    if now < outside:
        return Verdict(False, "return_window", retry_at=outside, program=program)
    if open_complaint:
        return Verdict(False, "open_complaint", retry_at=now + OPEN_COMPLAINT_RETRY, program=program)
    amount = rewards.reward(program_rules.rule_of(program), sale.amount)
    if amount <= 0:
        return Verdict(False, "no_reward", program=program)
    return Verdict(True, program=program, reward=amount)


def reason_text(verdict: Verdict) -> str:
    """What the touchpoint keeps (English, read back to words on the timeline: registration.reason_words)."""
    if verdict.retry_at is not None:
        return f"referral: {verdict.reason} until {verdict.retry_at:%Y-%m-%d}"
    return f"referral: {verdict.reason}"


def offers_made(session: Session, customer_ids) -> dict[int, int]:
    ids = list(set(customer_ids))
    return dict(session.execute(select(ReferralOffer.customer_id, func.count()).where(
        id_in(session, ReferralOffer.customer_id, ids), ReferralOffer.status == MADE)
        .group_by(ReferralOffer.customer_id)).all()) if ids else {}


def language_of(locale: str | None) -> str:
    base = (locale or "en").replace("_", "-").split("-")[0].lower()
    return base if base in ("en", "ar", "fa") else "en"


def make_offers(session: Session, due: list[registry.Due], now: dt.datetime) -> dict[str, int]:
    """Decide every due referral step of a tick; returns counts by outcome (made, waiting, skipped).

    The customers are locked first (customers.locking.lock_customers), before their open complaints are read: the
    offer, its letter and its email are written in this transaction, so a complaint being opened for the customer at
    the same moment either holds the offer back (read below) or is written after the offer was made. A customer
    someone else holds right now is not waited for: their step waits BUSY_RETRY ("busy") and is tried again.
    """
    counts = {"made": 0, "waiting": 0, "skipped": 0}
    if not due:
        return counts
    locked = lock_customers(session, {d.customer_id for d in due})
    busy = [d for d in due if d.customer_id not in locked]
    due = [d for d in due if d.customer_id in locked]
    customer_ids = {d.customer_id for d in due}
    customers = {c.id: c for c in session.scalars(select(Customer).where(id_in(session, Customer.id, list(customer_ids))))}
    sale_ids = [d.sale_id for d in due if d.sale_id is not None]
    sales = {s.id: s for s in session.scalars(select(Sale).where(id_in(session, Sale.id, sale_ids)))} if sale_ids else {}
    scores = surveys.latest_scores(session, customer_ids)
    complaining = complaints.customers_with_open_complaints(session, customer_ids)
    made = offers_made(session, customer_ids)
    running = program_rules.active_programs(session, now)
    decided = [(d, Verdict(False, "busy", retry_at=now + BUSY_RETRY)) for d in busy]
    for d in due:
        verdict = eligibility(sales.get(d.sale_id), now, programs=running, latest_nps=scores.get(d.customer_id),
                              open_complaint=d.customer_id in complaining, offers_made=made.get(d.customer_id, 0))
        if verdict.ok and verdict.program.channel == "email":
            from retention.mail import service as mail

            if mail.can_email(session, customers[d.customer_id]) is not None:
                verdict = Verdict(False, "cannot_email", program=verdict.program)
        elif verdict.ok:  # by letter (the program says so, or auto and no email possible): not if opted out of letters
            from retention.mail import service as mail
            from retention.mail.optouts import may_contact

            by_letter = verdict.program.channel == "letter" or mail.can_email(session, customers[d.customer_id]) is not None
            if by_letter and not may_contact(session, d.customer_id, "letter"):
                verdict = Verdict(False, "cannot_post", program=verdict.program)
        if verdict.ok:
            made[d.customer_id] = made.get(d.customer_id, 0) + 1
        decided.append((d, verdict))
    codes = iter(unique_codes(session, sum(1 for _, v in decided if v.ok)))
    for d, verdict in decided:
        if verdict.ok:
            _make(session, d, customers[d.customer_id], sales[d.sale_id], verdict, next(codes), now)
            counts["made"] += 1
        elif verdict.retry_at is not None:
            session.execute(update(Touchpoint).where(Touchpoint.id == d.touchpoint_id).values(
                status=SCHEDULED, due_at=verdict.retry_at, reason=reason_text(verdict), handed_at=None,
                completed_at=None).execution_options(synchronize_session=False))
            counts["waiting"] += 1
        else:
            session.execute(update(Touchpoint).where(Touchpoint.id == d.touchpoint_id).values(
                status=SKIPPED, reason=reason_text(verdict), completed_at=now)
                .execution_options(synchronize_session=False))
            counts["skipped"] += 1
    return counts


def _make(session: Session, due: registry.Due, customer: Customer, sale: Sale, verdict: Verdict, code: str,
          now: dt.datetime) -> ReferralOffer:
    program = verdict.program
    offer = ReferralOffer(touchpoint_id=due.touchpoint_id, customer_id=customer.id, sale_id=sale.id, status=MADE,
                          created_at=now, program_id=program.id, code=code, reward_amount=verdict.reward,
                          currency=program.currency, expires_at=now + dt.timedelta(days=program.code_days))
    session.add(offer)
    channel = program.channel
    if channel in ("email", "auto"):
        from retention.mail import service as mail

        if mail.can_email(session, customer) is None:
            session.flush()
            from retention.referrals import delivery

            delivery.queue_offer_email(session, offer, customer, sale, now)
            offer.channel = "email"
            return offer
    letter = Letter(touchpoint_id=None, customer_id=customer.id, sale_id=sale.id, template_key="referral_offer",
                    language=language_of(customer.locale), status="queued", created_at=now)
    session.add(letter)
    session.flush()
    offer.letter_id, offer.channel = letter.id, "letter"
    return offer


def cancel_unposted_offers(session: Session, letter_ids: list[int], now: dt.datetime) -> int:
    """Letters cancelled before posting (the customer opted out of letters: postal.batches.on_letters_cancelled): an
    offer one of them carried never reached the customer. It becomes "cancelled" ("letter_opted_out", with the time):
    no longer an offer made (reports, the program's counts, the customer's offers allowed), shown so on the timeline
    and in the API. Returns how many offers changed."""
    return session.execute(update(ReferralOffer).where(
        id_in(session, ReferralOffer.letter_id, letter_ids), ReferralOffer.status == MADE,
        ReferralOffer.channel == "letter").values(status=OFFER_CANCELLED, reason="letter_opted_out", cancelled_at=now)
        .execution_options(synchronize_session="fetch")).rowcount
