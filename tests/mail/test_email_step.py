"""The `email` journey step end to end: due -> queued in the customer's language -> received; skipped with why."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.extensions import db
from retention.journeys.models import JourneyStep, Touchpoint
from retention.journeys.wording import reason_words
from retention.mail import optouts
from retention.mail.models import OutboundEmail
from retention.tick import run as tick
from tests.factories import customer as customer_data, sale_completed, tick_and_work

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _email_step(world):
    """The default journey with an email step on day 1 sending the thank-you letter's text."""
    journey = world["journey"]
    journey.steps.append(JourneyStep(position=len(journey.steps), key="thanks_mail", title="Thank-you email",
                                     kind="email", day_offset=1, template_key="thank_you", window_start="00:00",
                                     window_end="23:59", business_days=False, script=""))
    db.session.commit()


def _touchpoint(external_id):
    from retention.customers.models import Customer

    return db.session.scalar(select(Touchpoint).join(Touchpoint.step).join(Customer, Customer.id == Touchpoint.customer_id)
                             .where(JourneyStep.key == "thanks_mail", Customer.external_id == external_id))


def test_an_email_step_sends_the_template_in_the_customers_language(smtp_app, smtp_server, client, signer, world):
    _email_step(world)
    signer.post(client, sale_completed("S1", customer_data("C1", name="مریم احمدی", locale="fa",
                                                           timezone="Asia/Tehran"), occurred_at=T0))
    signer.post(client, sale_completed("S2", customer_data("C2", name="Emma Stone", locale="en",
                                                           timezone="Europe/London"), occurred_at=T0))
    tick(T0)  # the events are applied at T0 (the sale's own time)
    tick_and_work(T0 + dt.timedelta(days=2))  # handed out by the tick, sent by the send job
    db.session.expire_all()
    assert (_touchpoint("C1").status, _touchpoint("C1").reason) == ("handed", None)
    assert _touchpoint("C2").status == "handed"
    by_to = {m["To"]: m for m in smtp_server.messages}
    persian, english = by_to["c1@example.net"], by_to["c2@example.net"]
    assert english["Subject"] == "Thank you (day 90)" and "Emma" in english.get_body(("plain",)).get_content()
    html = persian.get_body(("html",)).get_content()
    assert 'lang="fa" dir="rtl"' in html and "مریم" in html and persian["Content-Language"] == "fa"
    assert persian["Subject"] == "سپاس (روز ۹۰)" and persian["List-Unsubscribe-Post"]
    tick_and_work(T0 + dt.timedelta(days=3))  # a later tick sends nothing again
    assert len(smtp_server.messages) == 2
    rows = db.session.scalars(select(OutboundEmail)).all()
    assert {r.ref for r in rows} == {f"touchpoint:{_touchpoint('C1').id}", f"touchpoint:{_touchpoint('C2').id}"}
    from retention.customers.models import Customer
    from retention.mail.registration import emails_sent

    c1 = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    assert [e.kind for e in emails_sent(db.session, c1, 10)] == ["email"]


def test_an_email_step_skips_an_opted_out_customer_and_one_without_email_saying_why(app, client, signer, world):
    _email_step(world)
    signer.post(client, sale_completed("S1", customer_data("C1", email=None), occurred_at=T0))
    signer.post(client, sale_completed("S2", customer_data("C2"), occurred_at=T0))
    tick(T0)
    from retention.customers.models import Customer

    c2 = db.session.scalar(select(Customer).where(Customer.external_id == "C2"))
    optouts.opt_out(db.session, c2.id, "email", source="staff", now=T0, actor="test")
    db.session.commit()
    tick(T0 + dt.timedelta(days=2))
    db.session.expire_all()
    no_email, opted = _touchpoint("C1"), _touchpoint("C2")
    assert (no_email.status, no_email.reason) == ("skipped", "not emailed: no_email")
    assert (opted.status, opted.reason) == ("skipped", "not emailed: opted_out")
    assert reason_words(opted.reason) == "Not sent: the customer opted out of email"
    assert db.session.scalar(select(OutboundEmail)) is None


def test_the_journey_api_accepts_an_email_step_naming_an_existing_template(app, client, world):
    from tests.factories import staff, token_for

    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'root@example.com', 'admin'))}"}
    journey = client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()
    steps = journey["steps"] + [{"key": "welcome_mail", "title": "Welcome email", "kind": "email", "day_offset": 2,
                                 "template_key": "welcome"}]
    saved = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "keep"}, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    stored = client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()
    assert stored["steps"][-1]["kind"] == "email" and stored["steps"][-1]["template_key"] == "welcome"
