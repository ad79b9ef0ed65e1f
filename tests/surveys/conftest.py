"""Fixtures for survey tests: a customer with an owner, surveys to send, and the tick."""
from __future__ import annotations

import datetime as dt

import pytest

from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.postal.service import ensure_default_templates
from retention.surveys.models import Survey
from tests.factories import staff

UTC = dt.timezone.utc
# Wednesday 2026-03-04 10:00 in Dubai (06:00 UTC): inside the customer's hours and the owner's.
T0 = dt.datetime(2026, 3, 4, 6, 0, tzinfo=UTC)


class World:
    def __init__(self, app):
        self.app = app
        self.owner = staff(app, "omar@example.com", "onboarding", timezone="Asia/Dubai", country="AE", name="Omar")
        ensure_default_templates(db.session, dt.datetime(2026, 1, 1, tzinfo=UTC))
        db.session.commit()
        self._n = 0

    def customer(self, ref="C1", *, locale="ar", email="default", address=True, owner="default") -> Customer:
        self._n += 1
        cust = Customer(external_id=ref, name="Layla Haddad" if locale != "fa" else "مریم رضایی",
                        email=f"{ref.lower()}@example.net" if email == "default" else email, phone="+971501234567",
                        locale=locale, timezone="Asia/Dubai", country="AE",
                        address_lines=["Sheikh Zayed Road 12"] if address else [], city="Dubai" if address else "",
                        owner=self.owner if owner == "default" else owner, created_at=T0, updated_at=T0)
        db.session.add(cust)
        db.session.flush()
        db.session.add(Sale(external_id=f"S-{ref}", customer=cust, amount=649, currency="USD",
                            product="Espresso machine Pro", sold_at=dt.datetime(2026, 2, 1, tzinfo=UTC)))
        db.session.commit()
        return cust

    def survey(self, cust: Customer, *, wanted="auto", created=T0) -> Survey:
        sale = cust.sales[-1] if cust.sales else None
        survey = Survey(customer_id=cust.id, status="to_send", created_at=created, wanted_channel=wanted,
                        sale_id=sale.id if sale else None)
        db.session.add(survey)
        db.session.commit()
        return survey


@pytest.fixture
def world(app):
    return World(app)
