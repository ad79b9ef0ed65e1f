"""10,000 signed deliveries (PostgreSQL; a tenth on SQLite), 30% of them repeats (same webhook-id, same body), in
shuffled order, processed while they still arrive: each event is applied once.

What a user would notice: one sale per sale id, one journey per sale with each step planned once, delivery
moving the plan once, a refund ending the journey (applied once, at its own time), the customer's details
those of the latest event, and an inbox with nothing left waiting, failed or claimed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.hooks import service as hooks
from retention.hooks.models import InboundEvent
from retention.journeys.models import Enrollment, JourneyStep, Touchpoint
from tests.factories import customer as customer_data, event, sale_completed
from tests.journeys.conftest import world  # noqa: F401  (the default journey, its templates, owners)

UTC = dt.timezone.utc
# On PostgreSQL (CI) the full run; on SQLite (make test), whose one writer serialises senders and worker, a tenth.
SCALE = 10 if (os.environ.get("DATABASE_URL") or "").startswith("postgresql") else 1
# 14 events a customer: 12 details updates (11 when refunded), the sale, its delivery, for 30% a refund
CUSTOMERS = 50 * SCALE
REFUNDS = 15 * SCALE
EVENTS = 14 * CUSTOMERS   # 7,000 distinct events on PostgreSQL
DELIVERIES = 1000 * SCALE  # 30% of them repeats: 10,000 deliveries on PostgreSQL
SENDERS = 4               # deliveries arrive on this many connections at once, while a worker applies them
BASE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
LOCALES = [("en", "Europe/London"), ("ar", "Asia/Dubai"), ("fa", "Asia/Tehran"), ("de", "Europe/Berlin"),
           ("fr", "Europe/Paris")]


def _events(rng: random.Random) -> tuple[list[tuple[str, dict]], dict]:
    """(webhook id, body) of every distinct event, and what the end state must be."""
    events, expected = [], {}
    refunded = set(rng.sample(range(CUSTOMERS), REFUNDS))
    for n in range(CUSTOMERS):
        cid, sid = f"C{n:05d}", f"S{n:05d}"
        sold = BASE + dt.timedelta(hours=rng.randrange(0, 24 * 12))
        # details as the CRM sent them over time (the sale carries them too); the newest by occurred_at, not by
        # arrival, must stand
        versions = 11 if n in refunded else 12
        details = [(sold + dt.timedelta(days=2 * k - 1), customer_data(cid, name=f"V{k} {cid}",
                                                                        locale=LOCALES[k % 5][0], timezone=LOCALES[k % 5][1]))
                   for k in range(versions)]
        for k, (at, data) in enumerate(details):
            events.append((f"up{k}-{cid}", event("customer.upserted", {"customer": data}, at)))
        sale_details = customer_data(cid, name=f"At sale {cid}", locale="en", timezone="UTC")
        events.append((f"sale-{sid}", sale_completed(sid, cust=sale_details, amount=f"{100 + n}.00", occurred_at=sold)))
        delivered = sold + dt.timedelta(days=1, hours=rng.randrange(0, 24))
        events.append((f"dlv-{sid}", event("sale.delivered", {"sale_id": sid, "delivered_at": delivered.isoformat()},
                                           delivered)))
        refund_at = None
        if n in refunded:
            refund_at = delivered + dt.timedelta(days=rng.randrange(1, 4))
            events.append((f"ref-{sid}", event("sale.refunded", {"sale_id": sid, "reason": "changed mind"}, refund_at)))
        latest = details[-1][1]
        expected[sid] = {"customer": cid, "amount": f"{100 + n}.00", "delivered": delivered, "refund": refund_at,
                         "name": latest["name"], "locale": latest["locale"], "timezone": latest["timezone"]}
    return events, expected


def _worker(app, stop: threading.Event, errors: list) -> None:
    """A worker applying whatever is due, again and again, while deliveries still arrive."""
    cfg = app.config
    with app.app_context():
        try:
            while True:
                done = stop.is_set()
                if hooks.process_due(db.session, NOW, cfg["EVENT_BATCH_SIZE"], cfg["EVENT_MAX_ATTEMPTS"]) == 0:
                    if done:
                        return
                    time.sleep(0.2)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            db.session.remove()


def test_ten_thousand_deliveries_with_repeats_in_shuffled_order_apply_each_event_once(app, signer, world):
    rng = random.Random(142)
    events, expected = _events(rng)
    assert len(events) == EVENTS
    deliveries = list(events) + rng.choices(events, k=DELIVERIES - len(events))
    rng.shuffle(deliveries)
    answers: dict[str, list] = defaultdict(list)
    lock = threading.Lock()
    feed = iter(deliveries)

    def sender():
        client = app.test_client()
        while True:
            with lock:
                item = next(feed, None)
            if item is None:
                return
            msg_id, body = item
            raw = json.dumps(body).encode()
            response = client.post("/hooks/events", data=raw, headers=signer.headers(raw, msg_id=msg_id))
            answers[msg_id].append((response.status_code, response.get_json()))

    stop, errors = threading.Event(), []
    worker = threading.Thread(target=_worker, args=(app, stop, errors))
    worker.start()
    senders = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    stop.set()
    worker.join()
    assert errors == []
    db.session.expire_all()

    # each webhook id answered 202 once; its repeats got that same first answer with 200
    codes = Counter(code for got in answers.values() for code, _ in got)
    firsts = {msg_id: [body for code, body in got if code == 202] for msg_id, got in answers.items()}
    assert all(len(bodies) == 1 for bodies in firsts.values())
    assert all(body == firsts[msg_id][0] for msg_id, got in answers.items() for code, body in got)
    assert codes == {202: EVENTS, 200: DELIVERIES - EVENTS}
    # the inbox: one row per webhook id, every one applied, none waiting, failed or still claimed
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == EVENTS
    assert hooks.counts_by_status(db.session) == {"processed": EVENTS}

    # one sale per sale id, with its own amount, delivery and refund (at the refund's own time)
    sales = {s.external_id: s for s in db.session.scalars(select(Sale))}
    assert sorted(sales) == sorted(expected)
    for sid, want in expected.items():
        sale = sales[sid]
        assert sale.amount == Decimal(want["amount"]), sid
        assert sale.delivered_at == want["delivered"], sid
        assert sale.refunded_at == want["refund"], sid

    # the customer's details are the latest event's, whatever arrived last
    customers = {c.external_id: c for c in db.session.scalars(select(Customer))}
    assert len(customers) == CUSTOMERS
    wrong = [(want["customer"], customers[want["customer"]].name) for want in expected.values()
             if (customers[want["customer"]].name, customers[want["customer"]].locale,
                 customers[want["customer"]].timezone) != (want["name"], want["locale"], want["timezone"])]
    assert wrong == []

    # one enrollment per sale; refunded ones exited, the others anchored on their delivery
    enrollments = db.session.scalars(select(Enrollment)).all()
    per_sale = Counter(e.sale_id for e in enrollments)
    assert len(per_sale) == CUSTOMERS and set(per_sale.values()) == {1}
    by_ref = {s.id: sid for sid, s in sales.items()}
    exited_wrongly, not_exited, unanchored = [], [], []
    for e in enrollments:
        want = expected[by_ref[e.sale_id]]
        if want["refund"] is not None:
            if e.status != "exited" or not (e.exit_reason or "").startswith("sale.refunded"):
                not_exited.append(by_ref[e.sale_id])
        else:
            if e.status == "exited":
                exited_wrongly.append(by_ref[e.sale_id])
            if e.anchor_at != want["delivered"]:
                unanchored.append(by_ref[e.sale_id])
    assert (not_exited, exited_wrongly, unanchored) == ([], [], [])

    # each step planned once per enrollment, and nothing left planned for a refunded sale
    steps = db.session.scalar(select(func.count()).select_from(JourneyStep)
                              .where(JourneyStep.journey_id == enrollments[0].journey_id))
    per_enrollment = Counter(db.session.scalars(select(Touchpoint.enrollment_id)))
    assert set(per_enrollment.values()) == {steps} and len(per_enrollment) == CUSTOMERS
    refunded_ids = [sales[sid].id for sid, want in expected.items() if want["refund"] is not None]
    still_planned = db.session.scalar(
        select(func.count()).select_from(Touchpoint).join(Enrollment)
        .where(Enrollment.sale_id.in_(refunded_ids), Touchpoint.status == "scheduled"))
    assert still_planned == 0


def test_a_sale_and_what_followed_it_applied_in_one_batch_move_and_end_its_journey(app, client, signer, world):
    """A backlog (after an outage) brings a sale and its delivery, refund or churn into one batch: each
    still acts on the journey the sale just started (found while the sale was not yet written)."""
    sold = BASE
    bodies = [sale_completed("S1", cust=customer_data("C1"), occurred_at=sold),
              event("sale.delivered", {"sale_id": "S1", "delivered_at": (sold + dt.timedelta(days=2)).isoformat()},
                    sold + dt.timedelta(days=2)),
              sale_completed("S2", cust=customer_data("C2"), occurred_at=sold),
              event("sale.refunded", {"sale_id": "S2", "reason": "broken"}, sold + dt.timedelta(days=1)),
              sale_completed("S3", cust=customer_data("C3"), occurred_at=sold),
              event("customer.churned", {"customer_id": "C3", "reason": "moved away"}, sold + dt.timedelta(days=1))]
    for pair in range(0, 6, 2):  # each sale with what followed it, after another sale, in a batch of their own
        lead = sale_completed(f"L{pair}", cust=customer_data(f"L{pair}"), occurred_at=sold - dt.timedelta(hours=1))
        for body in [lead, *bodies[pair:pair + 2]]:
            assert signer.post(client, body).status_code == 202
        assert hooks.process_batch(db.session, BASE + dt.timedelta(days=3), 100, 8) == 3
    db.session.expire_all()
    assert hooks.counts_by_status(db.session) == {"processed": 9}
    got = {e.sale.external_id: (e.status, e.anchor_at) for e in db.session.scalars(select(Enrollment))
           if e.sale.external_id.startswith("S")}
    assert got == {"S1": ("active", sold + dt.timedelta(days=2)), "S2": ("exited", sold), "S3": ("exited", sold)}
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).join(Enrollment).join(Sale).where(
        Sale.external_id.in_(["S2", "S3"]), Touchpoint.status == "scheduled")) == 0
