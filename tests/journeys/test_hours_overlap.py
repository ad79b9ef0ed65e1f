"""No call outside the customer's reachable hours or the owner's working hours (issue 14): a new customer goes to
someone whose working hours meet their calling window (a speaker of their language first); when nobody's do, the
call keeps the customer's window and says on its card that it falls outside the owner's hours."""
from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from sqlalchemy import select

from retention.extensions import db
from retention.journeys import calendar, wording
from retention.journeys.models import NO_HOURS, Enrollment, Touchpoint
from retention.journeys.owners import fallback_reason
from retention.journeys.planning import OUTSIDE_OWNER_HOURS, customer_window, owner_window
from retention.tick import run as tick
from tests.factories import customer, sale_completed, staff
from tests.journeys.test_owner_languages import T0, _journey

NEW_YORK = {"lines": ["350 Fifth Avenue"], "city": "New York", "region": "NY", "postal_code": "10118",
            "country": "US"}


def _sell_to_new_york(client, signer, locale="fa"):
    cust = customer("C1", locale=locale, timezone="America/New_York", address=NEW_YORK)
    assert signer.post(client, sale_completed("S1", cust=cust, occurred_at=T0)).status_code == 202
    tick(T0)
    db.session.expire_all()
    return db.session.scalar(select(Enrollment))


def _calls(enrollment):
    return db.session.scalars(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                       Touchpoint.kind == "call")).all()


def test_hours_that_meet_the_customers_beat_a_shared_language(app, client, signer):
    _journey()
    sara = staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa", languages=["fa", "en"],
                 timezone="Asia/Tehran", country="IR")
    emma = staff(app, "emma@example.com", "onboarding", name="Emma", languages=["en"], timezone="Europe/London",
                 country="GB")
    enrollment = _sell_to_new_york(client, signer)
    assert enrollment.customer.owner_id == emma.id != sara.id
    assert (enrollment.owner_fallback, enrollment.owner_language) == (NO_HOURS, "fa")
    with app.test_request_context():
        said = fallback_reason(NO_HOURS, "Emma", "fa").replace("\u2068", "").replace("\u2069", "")
        assert said == "Emma does not speak Persian: no Persian speaker works at hours the customer can be called."
    for tp in _calls(enrollment):
        if tp.status == "scheduled":
            assert calendar.in_window(tp.due_at, owner_window(emma)) and tp.reason is None
            assert calendar.in_window(tp.due_at, customer_window(tp.step, enrollment.customer))


def test_when_nobodys_hours_meet_the_customers_the_call_says_so_on_its_card(app, client, signer, auth):
    _journey()
    sara = staff(app, "sara@example.com", "onboarding", name="Sara", locale="fa", languages=["fa", "en"],
                 timezone="Asia/Tehran", country="IR")
    enrollment = _sell_to_new_york(client, signer)
    assert enrollment.customer.owner_id == sara.id and enrollment.owner_fallback is None
    check_in = next(tp for tp in _calls(enrollment) if tp.step.key == "check_in_call")
    # inside the customer's window (10:00 in New York), flagged: outside Sara's working hours
    assert check_in.due_at == dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.timezone.utc)
    assert not calendar.in_window(check_in.due_at, owner_window(sara))
    assert check_in.reason == OUTSIDE_OWNER_HOURS
    tick(check_in.due_at)
    db.session.expire_all()
    assert db.session.get(Touchpoint, check_in.id).status == "open"
    with force_locale("fa"):
        words = wording.reason_words(OUTSIDE_OWNER_HOURS)
    with force_locale("en"):
        assert words != wording.reason_words(OUTSIDE_OWNER_HOURS) != OUTSIDE_OWNER_HOURS
    auth.login("sara@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    assert words in page
