"""The scenario of a run: customers, their sales and what happens to them, drawn from one seed.

Everything here is plain data planned before the run starts (the driver adds what depends on the app's
answers as it goes: survey answers, unsubscribes, friends buying with a referral code). The same seed gives
the same scenario, so a run that found a violation can be replayed with `--seed`.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal

from retention.seed import CURRENCY, PEOPLE, PLACES, PRODUCTS, demo_form_of_address

UTC = dt.timezone.utc
# A Monday; nothing depends on the date but the calendars (weekends, holidays) it meets.
START = dt.datetime(2027, 3, 1, 0, 0, tzinfo=UTC)

# Shares of customers (or sales) each kind of happening touches.
RATES = {
    "email": 0.85,            # customers with an email address (the others get letters)
    "delivered": 0.92,        # sales delivered (the journey re-anchors on delivery)
    "second_sale": 0.08,      # customers who buy again during the run
    "complaint": 0.12,        # customers who complain (complaint.opened)
    "resolved": 0.75,         # of complaints: resolved by the helpdesk (complaint.resolved)
    "nps_event": 0.08,        # NPS answers collected elsewhere (nps.response)
    "refund": 0.05,           # sales refunded
    "churn": 0.03,            # customers who churn
    "update": 0.05,           # customers whose details change (customer.upserted)
    "duplicate": 0.10,        # events the sender delivers twice (same webhook-id)
    "late": 0.05,             # events delivered one to three steps late (out of order)
    "staff_optout": 0.02,     # customers who ask staff to stop calls or letters
}


@dataclass(order=True)
class Happening:
    """One thing that happens at `at`: an event to send, or an action of a customer or of staff."""

    at: dt.datetime
    seq: int
    kind: str = field(compare=False)          # "event" | "optout" | driver-defined actions
    payload: dict = field(compare=False, default_factory=dict)


@dataclass
class SimCustomer:
    ext_id: str
    language: str
    country: str
    zone: str
    currency: str
    details: dict                              # the `customer` object of events
    sales: list[str] = field(default_factory=list)


def phone_number(rng: random.Random, country: str) -> str:
    """A possible mobile number of the country (its example number with the last five digits drawn)."""
    import phonenumbers

    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    return f"+{example.country_code}{national[:-5]}{rng.randint(0, 99999):05d}"


class Agenda:
    """Happenings ordered by time (ties in the order they were added)."""

    def __init__(self):
        self._heap: list[Happening] = []
        self._seq = itertools.count()

    def add(self, at: dt.datetime, kind: str, **payload) -> None:
        heapq.heappush(self._heap, Happening(at, next(self._seq), kind, payload))

    def due(self, now: dt.datetime) -> list[Happening]:
        out = []
        while self._heap and self._heap[0].at <= now:
            out.append(heapq.heappop(self._heap))
        return out

    def __len__(self) -> int:
        return len(self._heap)


class Scenario:
    """Customers and the events planned for them over `days` from START."""

    def __init__(self, *, seed: int, customers: int, days: int, start: dt.datetime = START):
        self.seed, self.days, self.start = seed, days, start
        self.end = start + dt.timedelta(days=days)
        self.rng = random.Random(seed)
        self.customers: dict[str, SimCustomer] = {}
        self.agenda = Agenda()
        self.planned = {"events": 0}
        for n in range(customers):
            self._plan_customer(n)

    # --- customers ---------------------------------------------------------------------------------

    def new_customer(self, ext_id: str, language: str | None = None) -> SimCustomer:
        rng = self.rng
        place = rng.choice([p for p in PLACES if language is None or p[0] == language])
        language, country, zone, prefix, streets = place
        first, last = PEOPLE[language]
        name = f"{rng.choice(first)} {rng.choice(last)}"
        street, city, region, postal = rng.choice(streets)
        details = {"id": ext_id, "name": name,
                   "email": f"{ext_id.lower()}@sim.example.net" if rng.random() < RATES["email"] else None,
                   "phone": phone_number(rng, country), "locale": language, "timezone": zone,
                   "address": {"lines": [street], "city": city, "region": region, "postal_code": postal,
                               "country": country}}
        if rng.random() < 0.8:
            details["form_of_address"] = demo_form_of_address(language, name)
        customer = SimCustomer(ext_id, language, country, zone, CURRENCY[country], details)
        self.customers[ext_id] = customer
        return customer

    def amount(self, customer: SimCustomer) -> tuple[str, str, str]:
        product, category, price = self.rng.choice(PRODUCTS)
        currency = customer.currency
        if currency not in ("USD", "GBP", "EUR"):
            price = (price * (Decimal("42000") if currency == "IRR" else Decimal("3.7"))).quantize(Decimal(1))
        return product, category, str(price)

    def event(self, at: dt.datetime, event_type: str, data: dict, webhook_id: str) -> None:
        rng = self.rng
        send_at = at
        if rng.random() < RATES["late"]:
            send_at = at + dt.timedelta(hours=rng.uniform(1, 3))
        self.agenda.add(send_at, "event", type=event_type, occurred_at=at, data=data, webhook_id=webhook_id,
                        duplicate=rng.random() < RATES["duplicate"])
        self.planned["events"] += 1

    def sale(self, customer: SimCustomer, at: dt.datetime, sale_id: str, referral_code: str | None = None) -> None:
        product, category, amount = self.amount(customer)
        data = {"sale_id": sale_id, "customer": dict(customer.details), "amount": amount,
                "currency": customer.currency, "product": product, "category": category}
        if referral_code is not None:
            data["referral_code"] = referral_code
        customer.sales.append(sale_id)
        self.event(at, "sale.completed", data, f"sale-{sale_id}")
        rng = self.rng
        if rng.random() < RATES["delivered"]:
            delivered = at + dt.timedelta(days=rng.uniform(0.5, 6))
            if delivered < self.end:
                self.event(delivered, "sale.delivered", {"sale_id": sale_id, "delivered_at": delivered.isoformat()},
                           f"delivered-{sale_id}")
        if rng.random() < RATES["refund"]:
            refunded = at + dt.timedelta(days=rng.uniform(1, 40))
            if refunded < self.end:
                self.event(refunded, "sale.refunded", {"sale_id": sale_id, "reason": "changed mind"},
                           f"refund-{sale_id}")

    def _plan_customer(self, n: int) -> None:
        rng = self.rng
        customer = self.new_customer(f"SIM{n + 1:06d}")
        cid = customer.ext_id
        sold = self.start + dt.timedelta(days=rng.uniform(0, self.days * 0.7))
        self.sale(customer, sold, f"{cid}-S1")
        if rng.random() < RATES["second_sale"]:
            again = sold + dt.timedelta(days=rng.uniform(5, 40))
            if again < self.end:
                self.sale(customer, again, f"{cid}-S2")
        if rng.random() < RATES["complaint"]:
            opened = sold + dt.timedelta(days=rng.uniform(2, 45))
            if opened < self.end:
                complaint = f"{cid}-K1"
                self.event(opened, "complaint.opened",
                           {"complaint_id": complaint, "customer_id": cid,
                            "channel": rng.choice(["phone", "email", "chat", "letter", "in_person"]),
                            "category": rng.choice(["delivery", "product_quality", "billing", "service"]),
                            "summary": "The simulated customer is not happy.",
                            "severity": rng.choice(["low", "medium", "medium", "high", "critical"])},
                           f"complaint-{complaint}")
                if rng.random() < RATES["resolved"]:
                    resolved = opened + dt.timedelta(days=rng.uniform(0.5, 10))
                    if resolved < self.end:
                        self.event(resolved, "complaint.resolved",
                                   {"complaint_id": complaint, "resolution": "A replacement was sent."},
                                   f"resolved-{complaint}")
        if rng.random() < RATES["nps_event"]:
            answered = sold + dt.timedelta(days=rng.uniform(5, 60))
            if answered < self.end:
                self.event(answered, "nps.response", {"customer_id": cid, "score": rng.randint(0, 10),
                                                      "comment": rng.choice([None, "", "Fine.", "Could be better."])},
                           f"nps-{cid}")
        if rng.random() < RATES["churn"]:
            churned = sold + dt.timedelta(days=rng.uniform(10, 80))
            if churned < self.end:
                self.event(churned, "customer.churned", {"customer_id": cid, "reason": "moved abroad"},
                           f"churn-{cid}")
        if rng.random() < RATES["update"]:
            changed = sold + dt.timedelta(days=rng.uniform(1, 60))
            if changed < self.end:
                details = dict(customer.details, phone=phone_number(rng, customer.country))
                self.event(changed, "customer.upserted", {"customer": details}, f"upsert-{cid}")
        if rng.random() < RATES["staff_optout"]:
            asked = sold + dt.timedelta(days=rng.uniform(1, 60))
            if asked < self.end:
                self.agenda.add(asked, "staff_optout", customer=cid, channel=rng.choice(["phone", "letter", "email"]))
