"""Correcting a customer's contact details from their page (customers/service.py correct_contact): checked,
audited, on the timeline, flags cleared, and not undone by a stale event."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.customers import service
from retention.customers.models import Customer
from retention.extensions import db
from tests.factories import customer, event, sale_completed, staff

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def the_customer(cid="C1") -> Customer:
    db.session.expire_all()
    return db.session.scalar(select(Customer).where(Customer.external_id == cid))


def form(c: Customer, **changes) -> dict:
    data = {"phone": c.phone or "", "address_lines": "\n".join(c.address_lines), "city": c.city, "region": c.region,
            "postal_code": c.postal_code, "country": c.country or "", "locale": c.locale, "timezone": c.timezone}
    data.update(changes)
    return data


def csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def iranian(app, client, signer, queue):
    signer.post(client, sale_completed(cust=customer("C1", name="مهدی رضایی", locale="fa", timezone="Asia/Tehran",
                                                     phone="+989121234567",
                                                     address={"lines": ["خیابان آزادی ۵"], "city": "تهران",
                                                              "region": "", "postal_code": "", "country": "IR"}),
                                       occurred_at=T0))
    queue.drain()
    return the_customer()


def test_a_phone_correction_is_stored_e164_audited_on_the_timeline_and_clears_the_wrong_number_flag(
        app, client, auth, clock, iranian):
    sara = staff(app, "sara@example.com", "onboarding")
    iranian.phone_flagged_at = T0  # a call ended "wrong number"
    db.session.commit()
    auth.login("sara@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Wrong number" in page and "Correct contact details" in page
    path = "/customers/C1/contact"
    form_page = client.get(path).get_data(as_text=True)
    assert 'value="+989121234567"' in form_page and '<option value="IR" selected>Iran</option>' in form_page
    answer = client.post(path, data={**form(iranian, phone="۰۹۱۲ ۷۶۵ ۴۳۲۱"), "csrf_token": csrf(client, path)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/customers/C1")
    fixed = the_customer()
    assert fixed.phone == "+989127654321"           # Persian digits, national format, read in the address's country
    assert fixed.phone_flagged_at is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.contact_corrected"))
    assert entry.actor == f"staff:{sara.id}" and entry.entity_id == str(fixed.id)
    assert entry.changes == {"phone": {"old": "+989121234567", "new": "+989127654321"}}
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Contact details saved." in page and "Wrong number</span>" not in page
    timeline = page[page.index('id="timeline"'):]
    assert "Phone number corrected" in timeline and "was: +989121234567" in timeline \
        and "now: +989127654321" in timeline
    assert client.get("/customers/", query_string={"q": "0912 765 4321"}).get_data(as_text=True).count(
        "مهدی رضایی") == 1                          # found by the new number


def test_an_invalid_time_zone_is_refused_in_arabic_keeping_what_was_typed(app, client, auth, iranian):
    staff(app, "omar@example.com", "onboarding", locale="ar")
    auth.login("omar@example.com")
    path = "/customers/C1/contact"
    answer = client.post(path, data={**form(iranian, timezone="Mars/Olympus", city="كرج الجديدة"),
                                     "csrf_token": csrf(client, path)})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "لم يُحفظ شيء" in page                                              # nothing was saved
    assert "المنطقة الزمنية</a>: هذه ليست منطقة زمنية" in page                  # names the field, in Arabic
    assert re.search(r'id="f-timezone"[^>]*value="Mars/Olympus"[^>]*aria-invalid="true"', page)
    assert 'value="كرج الجديدة"' in page                                       # what was typed stays
    unchanged = the_customer()
    assert unchanged.timezone == "Asia/Tehran" and unchanged.city == "تهران"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.contact_corrected")) is None


@pytest.mark.parametrize("field, value", [
    ("phone", "12"), ("phone", "not a phone"), ("country", "XX"), ("locale", "Persian!"), ("timezone", ""),
    ("city", "x" * 121), ("address_lines", "\n".join(f"line {i}" for i in range(6))), ("postal_code", "a\x00b"),
])
def test_each_bad_field_is_named_and_nothing_changes(app, iranian, field, value):
    with app.test_request_context():
        with pytest.raises(service.InvalidContact) as refused:
            service.correct_contact(db.session, iranian, form(iranian, **{field: value}), actor="staff:1", now=T0)
    assert list(refused.value.errors) == [field]
    db.session.rollback()
    assert the_customer().phone == "+989121234567"


def test_an_address_correction_clears_the_returned_mail_flag_and_the_mail_room_sees_it(app, client, auth, iranian):
    iranian.address_flagged_at = T0
    db.session.commit()
    with app.test_request_context():
        changed = service.correct_contact(db.session, iranian, form(iranian, address_lines="خیابان انقلاب ۱۰\nواحد ۳",
                                                                    postal_code="1416", city="تهران"),
                                          actor="staff:7", now=T0 + dt.timedelta(days=1))
    db.session.commit()
    assert changed == ["address"]
    fixed = the_customer()
    assert fixed.address_lines == ["خیابان انقلاب ۱۰", "واحد ۳"] and fixed.postal_code == "1416"
    assert fixed.address_flagged_at is None
    staff(app, "print@example.com", "print")
    auth.login("print@example.com")
    page = client.get("/customers/C1?lang=en").get_data(as_text=True)
    assert "Postal address corrected" in page and "Correct contact details" not in page  # not theirs to change
    assert client.get("/customers/C1/contact").status_code == 403


def test_language_and_time_zone_corrections(app, iranian):
    with app.test_request_context():
        changed = service.correct_contact(db.session, iranian, form(iranian, locale="ar", timezone="Asia/Dubai"),
                                          actor="staff:1", now=T0 + dt.timedelta(hours=1))
    assert changed == ["locale", "timezone"]
    assert (iranian.locale, iranian.timezone) == ("ar", "Asia/Dubai")
    with app.test_request_context():  # the same again: nothing changes, nothing is audited
        assert service.correct_contact(db.session, iranian, form(iranian), actor="staff:1", now=T0) == []


def _upsert(client, signer, queue, occurred_at, **details):
    signer.post(client, event("customer.upserted", {"customer": customer("C1", name="مهدی رضایی", **details)},
                              occurred_at=occurred_at))
    queue.drain()


def test_a_correction_stands_against_older_events_and_ones_repeating_the_old_value(app, client, signer, queue,
                                                                                 iranian):
    corrected_at = T0 + dt.timedelta(days=2)
    with app.test_request_context():
        service.correct_contact(db.session, iranian, form(iranian, phone="+989127654321"), actor="staff:1",
                                now=corrected_at)
    db.session.commit()
    # An event that happened before the correction but arrives after it: the correction stands.
    _upsert(client, signer, queue, corrected_at - dt.timedelta(hours=1), phone="+989120000000", locale="fa",
            timezone="Asia/Tehran")
    assert the_customer().phone == "+989127654321"
    # A later event still carrying the number staff replaced (the CRM has not learnt of it): it stands too,
    # while the event's other details apply.
    _upsert(client, signer, queue, corrected_at + dt.timedelta(days=1), phone="+989121234567", locale="fa",
            timezone="Asia/Tehran", email="new@example.net")
    assert the_customer().phone == "+989127654321" and the_customer().email == "new@example.net"
    # A later event with another number is news from the sender: it wins, and the correction is forgotten.
    _upsert(client, signer, queue, corrected_at + dt.timedelta(days=2), phone="+989351119999", locale="fa",
            timezone="Asia/Tehran")
    assert the_customer().phone == "+989351119999"
    assert "phone" not in (the_customer().corrections or {})


def test_an_address_correction_stands_against_an_older_event(app, client, signer, queue, iranian):
    with app.test_request_context():
        service.correct_contact(db.session, iranian, form(iranian, address_lines="خیابان انقلاب ۱۰"),
                                actor="staff:1", now=T0 + dt.timedelta(days=2))
    db.session.commit()
    _upsert(client, signer, queue, T0 + dt.timedelta(days=1), locale="fa", timezone="Asia/Tehran",
            address={"lines": ["خیابان آزادی ۵"], "city": "تهران", "region": "", "postal_code": "", "country": "IR"})
    assert the_customer().address_lines == ["خیابان انقلاب ۱۰"]
    _upsert(client, signer, queue, T0 + dt.timedelta(days=3), locale="fa", timezone="Asia/Tehran",
            address={"lines": ["بلوار کشاورز ۲"], "city": "تهران", "region": "", "postal_code": "", "country": "IR"})
    assert the_customer().address_lines == ["بلوار کشاورز ۲"]
