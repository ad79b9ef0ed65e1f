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
from retention.journeys.handout import hand_out_all, write_handed_work
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

# How the callers sign Arabic and Persian letters: their names in Arabic script, their title in the language.
LETTER_SIGNATURES = {
    "sara@example.com": {"fa": {"name": "سارا احمدی", "title": "خدمات مشتریان"},
                         "ar": {"name": "سارا أحمدي", "title": "خدمة العملاء"}},
    "omar@example.com": {"ar": {"name": "عمر حداد", "title": "خدمة العملاء"},
                         "fa": {"name": "عمر حداد", "title": "خدمات مشتریان"}},
    "layla@example.com": {"ar": {"name": "ليلى ناصر", "title": "خدمة العملاء"}},
    "emma@example.com": {"ar": {"name": "إيما كلارك", "title": "خدمة العملاء"},
                         "fa": {"name": "اِما کلارک", "title": "خدمات مشتریان"}},
}

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


def demo_form_of_address(language: str, name: str) -> str:
    """"mr" or "ms" for a demo name: the first names in PEOPLE alternate (English starts with a woman's name,
    Arabic and Persian with a man's)."""
    index = PEOPLE[language][0].index(name.split(" ")[0])
    female_first = language == "en"
    return "ms" if (index % 2 == 0) == female_first else "mr"


def seed(session: Session, app, *, customers: int, now: dt.datetime, seed_value: int = 7) -> bool:
    """Create the demo (once); returns False when it is already there."""
    if session.scalar(select(StaffUser).where(StaffUser.email == STAFF[0][0])):
        return False
    hasher = app.extensions["password_hasher"]
    for email, role, name, locale, zone, country, languages, digits in STAFF:
        create_user(session, hasher, email=email, role=role, password=DEMO_PASSWORD, name=name, actor="seed",
                    now=now, locale=locale, timezone=zone, country=country, languages=languages, digits=digits,
                    title="Customer care" if role == "onboarding" else "",
                    letter_signatures=LETTER_SIGNATURES.get(email))
    ensure_default_journey(session, now)
    ensure_default_templates(session, now)
    session.commit()
    rng = random.Random(seed_value)
    events: list[InboundEvent] = []
    friends = min(3, customers // 10)  # of the demo's customers, these come as friends with a referral code
    for n in range(customers - friends):
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
        if n % 5 != 4:   # how letters greet them (every fifth: not known, greeted by full name)
            customer["form_of_address"] = demo_form_of_address(language, name)
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
    _demo_referral_programs(session, now)
    _replay_history(session, events, now, rng)
    _demo_referrals(session, now, friends)
    _demo_complaints(session, now)
    _demo_resolution(session, now)
    _demo_escalations(session, now)
    return True


def _demo_resolution(session: Session, now: dt.datetime) -> None:
    """Step 4 on the first demo case: a solution offered (its verification call scheduled) and a concession
    above its owner's limit waiting for an admin (complaints/resolution.py, concessions.py)."""
    from retention.complaints import concessions, resolution
    from retention.complaints.models import Complaint

    case = session.scalar(select(Complaint).order_by(Complaint.id).limit(1))
    if case is None or case.resolution or case.owner is None or case.sale is None:
        return
    resolution.record_solution(session, case, "A new machine sent by courier, with a prepaid return label.",
                               now=now - dt.timedelta(hours=2), actor="seed")
    concessions.request(session, case, kind="credit", amount="25", note="For the two weeks of waiting.",
                        staff=case.owner, now=now - dt.timedelta(hours=1), actor="seed")
    session.commit()


def _demo_escalations(session: Session, now: dt.datetime) -> None:
    """Demo cases that missed a target are escalated as the tick would (complaints/escalation.py): the queue and
    My calls show them with their notices."""
    from retention.complaints.escalation import escalate_breaches

    escalate_breaches(session, now)
    session.commit()


# A few complaint cases so the complaint pages show something real-looking (customer index, category, channel,
# severity, summary, days ago).
DEMO_COMPLAINTS = [
    (2, "delivery", "phone", "high", "The machine arrived two weeks late and the box was crushed.", 3),
    (6, "product_quality", "email", "medium", "Der Staubsauger verliert nach einer Woche die Verbindung zum WLAN.", 6),
    (4, "billing", "social", "high", "Charged twice for the same order; posted about it on social media.", 1),
    (0, "service", "phone", "low", "The courier was rude at the door.", 10),
]


def _demo_complaints(session: Session, now: dt.datetime) -> None:
    """The default complaint categories and a few cases (opened by the demo's callers)."""
    from retention.complaints.categories import ensure_default_categories
    from retention.complaints.service import move, open_case
    from retention.customers.models import Customer

    ensure_default_categories(session, now)
    customers = session.scalars(select(Customer).order_by(Customer.id).limit(12)).all()
    for index, category, channel, severity, summary, days in DEMO_COMPLAINTS:
        if index >= len(customers):
            continue
        customer = customers[index]
        case = open_case(session, customer, channel=channel, category=category, summary=summary, severity=severity,
                         public_url="https://social.example.com/posts/4711" if channel == "social" else None,
                         now=now - dt.timedelta(days=days), actor="seed", source="staff")
        if days > 5:
            move(session, case, "acknowledged", now=now - dt.timedelta(days=days - 1), actor="seed")
    session.commit()


def _demo_referral_programs(session: Session, now: dt.datetime) -> None:
    """Referral programs as marketing would set them (retention/referrals): a percentage with floor and cap in the
    demo's dollars, pounds, euros and Gulf currencies, value bands in rials."""
    from retention.referrals.programs import create_program

    start = (now - dt.timedelta(days=130)).date().isoformat()
    common = {"starts_on": start, "ends_on": "", "categories": "", "min_nps": "9", "min_days": "30",
              "return_window_days": "14", "max_offers": "1", "friend_kind": "percent", "friend_value": "10",
              "reward_type": "account_credit", "hold_days": "30", "code_days": "90", "max_referrals": "",
              "channel": "letter", "bands": []}
    for currency, step, floor, cap in (("USD", "5", "10", "150"), ("GBP", "5", "10", "150"), ("EUR", "5", "10", "150"),
                                       ("AED", "10", "40", "550"), ("SAR", "10", "40", "550"),
                                       ("EGP", "50", "200", "2500")):
        top = str(int(cap) * 100)
        create_program(session, {**common, "name": f"Happy customers ({currency})", "currency": currency,
                                 "min_purchase": str(int(floor) * 5), "max_purchase": top, "reward_kind": "percent",
                                 "reward_percent": "5", "reward_floor": floor, "reward_cap": cap,
                                 "rounding_step": step, "min_share": "1"}, actor="seed", now=now)
    create_program(session, {**common, "name": "مشتریان راضی (ریال)", "currency": "IRR", "min_purchase": "1000000",
                             "max_purchase": "500000000", "reward_kind": "bands",
                             "bands": [{"from": "1000000", "reward": "500000"}, {"from": "20000000", "reward": "2000000"},
                                       {"from": "100000000", "reward": "5000000"}],
                             "rounding_step": "100000", "min_share": "1", "reward_type": "gift_card"},
                   actor="seed", now=now)
    session.commit()


def _demo_referrals(session: Session, now: dt.datetime, friends: int) -> None:
    """Friends who bought with a few of the offers' codes (one earned, one pending, one refused: same email); a friend
    with no offer left to use buys without a code (the demo keeps the number of customers asked for)."""
    from retention.referrals.conversions import earn_due
    from retention.referrals.models import ReferralOffer

    offers = session.scalars(select(ReferralOffer).where(ReferralOffer.code.is_not(None))
                             .order_by(ReferralOffer.created_at).limit(friends)).all()
    events = []
    for n in range(1, friends + 1):
        offer = offers[n - 1] if n <= len(offers) else None
        at = now - dt.timedelta(days=40 if n == 1 else 2)
        if offer is not None:
            at = min(max(offer.created_at + dt.timedelta(hours=2), at), now - dt.timedelta(minutes=5))
        advocate = offer.customer if offer is not None else None
        friend = {"id": f"F{n:05d}", "name": f"Friend {n}", "email": f"friend{n}@example.net",
                  "locale": advocate.locale if advocate else "en", "timezone": advocate.timezone if advocate else "UTC"}
        if advocate is not None and n == 3:
            friend["email"] = advocate.email  # refused: the advocate's own email
        sale = {"sale_id": f"RS{n:05d}", "customer": friend, "amount": str(offer.sale.amount) if offer else "89.00",
                "currency": offer.sale.currency if offer else "USD",
                "product": offer.sale.product if offer else "Water filter set",
                "category": offer.sale.category if offer else "kitchen"}
        if offer is not None:
            sale["referral_code"] = offer.code
        events.append(InboundEvent(webhook_id=f"seed-referral-{n}", type="sale.completed", occurred_at=at,
                                   received_at=at, data=sale, customer_ref=friend["id"], sale_ref=f"RS{n:05d}",
                                   status="pending", attempts=0))
    session.add_all(events)
    session.commit()
    hooks.process_due(session, now, 500)
    earn_due(session, now)


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
        write_handed_work(session, day, limit=10**6)  # the letters and surveys handed out (the tick's and the job's)
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
