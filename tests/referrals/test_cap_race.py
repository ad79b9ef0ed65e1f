"""Two friends' sales racing for the last place under a program's cap: exactly one gets it (threads with their own
app, connections and sessions, as two workers; on PostgreSQL the program row's lock decides)."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.referrals import conversions
from retention.referrals.models import Referral
from tests.factories import in_other_apps
from tests.referrals.conftest import NOW
from tests.referrals.test_conversions import OFFERED, advocate


def test_two_conversions_race_for_the_last_place(client, signer, ref_world):
    offer = advocate(client, signer, max_referrals="1")
    for n in (1, 2):
        friend = Customer(external_id=f"F{n}", name=f"Friend {n}", email=f"f{n}@friends.example",
                          phone=f"+44207946001{n}", locale="en", address_lines=[f"{n} Friend Street"],
                          city="London", postal_code="N1 1AA", country="GB", created_at=NOW, updated_at=NOW)
        db.session.add(Sale(external_id=f"F-S{n}", customer=friend, amount=100, currency="USD", product="Grinder",
                            referral_code=offer.code, sold_at=OFFERED + dt.timedelta(days=1), created_at=NOW))
    db.session.commit()

    def work(other_app):
        sale_ref = f"F-S{1 + work.turn.pop()}"
        for attempt in range(5):  # SQLite refuses a second writer (busy): the event would be retried
            try:
                sale = db.session.scalar(select(Sale).where(Sale.external_id == sale_ref))
                referral = conversions.convert(db.session, sale, OFFERED + dt.timedelta(days=1))
                # Hold the lock a moment: the other conversion is at the door by now.
                time.sleep(0.3)
                db.session.commit()
                return referral.status
            except OperationalError:
                db.session.rollback()
                time.sleep(0.2)
        return "gave up"

    work.turn = [0, 1]
    statuses = sorted(in_other_apps(2, work))
    assert statuses == ["pending", "rejected"]
    db.session.expire_all()
    rows = db.session.scalars(select(Referral).order_by(Referral.id)).all()
    assert sorted(r.reason or "" for r in rows) == ["", "program_cap"]
