"""Returned mail's fix-address call is due at the first moment inside both the customer's calling hours and the
owner's working hours (issue 14), not "now" at night."""
from __future__ import annotations

import datetime as dt

from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.postal import batches
from retention.postal.models import Letter
from tests.factories import staff

UTC = dt.timezone.utc


def _returned(app, owner, at):
    cust = Customer(external_id="C1", name="Layla Haddad", locale="ar", timezone="Asia/Dubai", country="AE",
                    address_lines=["Sheikh Zayed Road 12"], city="Dubai", owner=owner, created_at=at, updated_at=at)
    db.session.add(cust)
    db.session.flush()
    letter = Letter(customer_id=cust.id, template_key="welcome", language="ar", status="mailed", created_at=at)
    db.session.add(letter)
    db.session.commit()
    returned = batches.record_returned(db.session, letter, at, actor="test", reason="moved")
    db.session.commit()
    return db.session.get(Touchpoint, returned.call_id)


def test_the_call_waits_for_the_owners_working_hours(app):
    owner = staff(app, "emma@example.com", "onboarding", timezone="Europe/London", country="GB", name="Emma")
    # Wednesday 10:00 in Dubai is 06:00 in London: Emma starts at 09:00 London (13:00 Dubai, inside 10-18)
    call = _returned(app, owner, dt.datetime(2026, 3, 4, 6, 0, tzinfo=UTC))
    assert (call.purpose, call.status, call.owner_id) == ("fix_address", "open", owner.id)
    assert call.due_at == dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_mail_back_on_a_friday_evening_is_called_about_on_monday_morning(app):
    owner = staff(app, "omar@example.com", "onboarding", timezone="Asia/Dubai", country="AE", name="Omar")
    call = _returned(app, owner, dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))  # Friday 19:00 in Dubai
    assert call.due_at == dt.datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # Monday 10:00 in Dubai
