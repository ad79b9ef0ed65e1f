"""Demo data: staff of every role and ~200 customers with sales over the last 120 days.

The customers arrive the way real ones do, as inbound events applied by the same services, so
every page (and every timeline) shows something real-looking.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from retention.hooks import service as hooks
from retention.hooks.models import InboundEvent
from retention.journeys.handout import hand_out_all
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from retention.staff.models import StaffUser
from retention.staff.service import create_user

DEMO_PASSWORD = "demo-password"

# (email, role, name, language of their pages, time zone, country, languages they speak with customers, digits)
# The callers cover the demo's customers: Persian (Sara), Arabic (Omar, Layla), English (Emma; Sara and Omar too).
STAFF = [
    ("admin@example.com", "admin", "Alex Admin", "en", "Europe/London", "GB", ["en"], ""),
    ("sara@example.com", "onboarding", "Sara Ahmadi", "fa", "Asia/Tehran", "IR", ["fa", "en"], ""),
    ("omar@example.com", "onboarding", "Omar Haddad", "ar", "Asia/Dubai", "AE", ["ar", "en"], ""),
    ("layla@example.com", "onboarding", "Layla Nasser", "ar", "Asia/Riyadh", "SA", ["ar"], "latn"),
    ("emma@example.com", "onboarding", "Emma Clarke", "en", "Europe/London", "GB", ["en", "de"], ""),
    ("maya@example.com", "marketing", "Maya Lindqvist", "en", "Europe/Berlin", "DE", ["en", "de"], ""),
    ("post@example.com", "print", "Pat Post", "en", "Europe/London", "GB", ["en"], ""),
]

PEOPLE = {
    "en": (["Olivia", "James", "Amelia", "Noah", "Grace", "Henry", "Chloe", "Jack", "Emily", "Leo"],
           ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Hall"]),
    "ar": (["محمد", "فاطمة", "أحمد", "مريم", "خالد", "نور", "يوسف", "ليلى", "عمر", "سارة"],
           ["الحسيني", "العتيبي", "حداد", "الخطيب", "منصور", "الشامي", "النجار", "سليمان", "عيسى", "قاسم"]),
    "fa": (["علی", "زهرا", "رضا", "مریم", "حسین", "نگار", "امیر", "پریسا", "مهدی", "شیرین"],
           ["محمدی", "حسینی", "کریمی", "رضایی", "احمدی", "موسوی", "جعفری", "قاسمی", "صادقی", "نوری"]),
}

PLACES = [
    ("en", "US", "America/New_York", "+1", [("350 Fifth Avenue", "New York", "NY", "10118"),
                                               ("1600 Amphitheatre Pkwy", "Mountain View", "CA", "94043")]),
    ("en", "GB", "Europe/London", "+44", [("10 Downing Street", "London", "", "SW1A 2AA"),
                                            ("1 Deansgate", "Manchester", "", "M3 1AZ")]),
    ("en", "DE", "Europe/Berlin", "+49", [("Unter den Linden 77", "Berlin", "", "10117")]),
    ("ar", "AE", "Asia/Dubai", "+971", [("شارع الشيخ زايد، برج 12", "دبي", "دبي", "")]),
    ("ar", "SA", "Asia/Riyadh", "+966", [("طريق الملك فهد 2231", "الرياض", "منطقة الرياض", "12214")]),
    ("ar", "EG", "Africa/Cairo", "+20", [("15 شارع طلعت حرب", "القاهرة", "القاهرة", "11511")]),
    ("fa", "IR", "Asia/Tehran", "+98", [("خیابان ولیعصر، پلاک ۱۲", "تهران", "تهران", "1968713113"),
                                          ("خیابان چهارباغ، کوچه ۳", "اصفهان", "اصفهان", "8146653541")]),
]

PRODUCTS = [
    ("Espresso machine Pro", "kitchen", Decimal("649.00")),
    ("Robot vacuum S7", "home", Decimal("429.00")),
    ("Standing desk", "office", Decimal("899.00")),
    ("Noise-cancelling headphones", "audio", Decimal("299.00")),
    ("Mattress Deluxe", "bedroom", Decimal("1290.00")),
    ("Water filter set", "kitchen", Decimal("89.00")),
]
CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "AE": "AED", "SA": "SAR", "EG": "EGP", "IR": "IRR"}


def seed(session: Session, app, *, customers: int, now: dt.datetime, seed_value: int = 7) -> bool:
    """Create the demo (once); returns False when it is already there."""
    if session.scalar(select(StaffUser).where(StaffUser.email == STAFF[0][0])):
        return False
    hasher = app.extensions["password_hasher"]
    for email, role, name, locale, zone, country, languages, digits in STAFF:
        create_user(session, hasher, email=email, role=role, password=DEMO_PASSWORD, name=name, actor="seed",
                    now=now, locale=locale, timezone=zone, country=country, languages=languages, digits=digits,
                    title="Customer care" if role == "onboarding" else "")
    ensure_default_journey(session, now)
    ensure_default_templates(session, now)
    session.commit()
    rng = random.Random(seed_value)
    events: list[InboundEvent] = []
    for n in range(customers):
        language, country, zone, prefix, streets = PLACES[n % len(PLACES)]
        first, last = PEOPLE[language]
        name = f"{rng.choice(first)} {rng.choice(last)}"
        street, city, region, postal = rng.choice(streets)
        product, category, price = rng.choice(PRODUCTS)
        sold = now - dt.timedelta(days=rng.uniform(0, 120))
        currency = CURRENCY[country]
        amount = price if currency in ("USD", "GBP", "EUR") else (price * (Decimal("42000") if currency == "IRR"
                                                                          else Decimal("3.7"))).quantize(Decimal(1))
        customer = {"id": f"C{n + 1:05d}", "name": name, "email": f"customer{n + 1}@example.net",
                    "phone": f"{prefix}{rng.randint(200000000, 999999999)}", "locale": language, "timezone": zone,
                    "address": {"lines": [street], "city": city, "region": region, "postal_code": postal,
                                "country": country}}
        events.append(InboundEvent(
            webhook_id=f"seed-sale-{n + 1}", type="sale.completed", occurred_at=sold, received_at=sold,
            data={"sale_id": f"S{n + 1:05d}", "customer": customer, "amount": str(amount), "currency": currency,
                  "product": product, "category": category},
            customer_ref=customer["id"], sale_ref=f"S{n + 1:05d}", status="pending", attempts=0))
        delivered = sold + dt.timedelta(days=rng.uniform(1, 5))
        if delivered < now:
            events.append(InboundEvent(
                webhook_id=f"seed-delivered-{n + 1}", type="sale.delivered", occurred_at=delivered,
                received_at=delivered, data={"sale_id": f"S{n + 1:05d}", "delivered_at": delivered.isoformat()},
                customer_ref=None, sale_ref=f"S{n + 1:05d}", status="pending", attempts=0))
        answered = delivered + dt.timedelta(days=rng.uniform(30, 33))
        if answered < now and rng.random() < 0.6:
            events.append(InboundEvent(
                webhook_id=f"seed-nps-{n + 1}", type="nps.response", occurred_at=answered, received_at=answered,
                data={"customer_id": customer["id"], "score": rng.choice([3, 6, 7, 8, 9, 9, 10, 10, 10])},
                customer_ref=customer["id"], status="pending", attempts=0))
    _replay_history(session, events, now, rng)
    return True


def _replay_history(session: Session, events: list[InboundEvent], now: dt.datetime, rng: random.Random) -> None:
    """Live the last 120 days day by day: events arrive, ticks hand out work, staff log their calls.

    So the demo shows journeys at every stage, not a wall of steps skipped as "enrolled late".
    """
    from retention.calls.service import log_outcome
    from retention.journeys.models import OPEN, Touchpoint
    from retention.postal.models import Letter

    events.sort(key=lambda e: e.occurred_at)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:  # demo data: not worth an fsync per commit (set back below)
        session.execute(text("PRAGMA synchronous=OFF"))
    day = now - dt.timedelta(days=121)
    i = 0
    while day < now:
        day = min(day + dt.timedelta(days=1), now)
        while i < len(events) and events[i].occurred_at <= day:
            session.add(events[i])
            i += 1
        session.commit()
        hooks.process_due(session, day, 500)
        hand_out_all(session, day)
        # staff call the customers whose calls came up before today (today's stay on the list)
        if day < now - dt.timedelta(days=1):
            for tp in session.scalars(select(Touchpoint).where(Touchpoint.status == OPEN,
                                                               Touchpoint.due_at <= day)).all():
                outcome = rng.choices(["reached", "no_answer", "voicemail"], [70, 20, 10])[0]
                log_outcome(session, tp.id, staff=tp.owner, outcome=outcome, now=day,
                            sentiment=rng.choice(["happy", "happy", "neutral", "unhappy"]) if outcome == "reached"
                            else None, notes=rng.choice(NOTES) if outcome == "reached" else "")
            # letters older than two weeks went out in an earlier print run
            for letter in session.scalars(select(Letter).where(Letter.status == "queued",
                                                               Letter.created_at < day - dt.timedelta(days=14))):
                letter.status, letter.printed_at, letter.mailed_at = "mailed", day, day
        session.commit()
    if sqlite:
        session.execute(text("PRAGMA synchronous=FULL"))


NOTES = ["Arrived fine, already using it daily.", "Had a question about cleaning; explained.",
         "Happy so far.", "Delivery was late but product is great.", "Wants a spare part; sent link.",
         "Asked about warranty; confirmed two years."]
