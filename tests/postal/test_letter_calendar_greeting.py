"""Issue 13, the remaining items: an Arabic template's calendar (Gregorian, Hijri, both: a template setting,
versioned) and the greeting chosen by the customer's form of address (from events and from staff)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.customers.models import Customer
from retention.extensions import db
from retention.postal import service
from retention.postal.models import LetterTemplate
from tests.factories import customer, event, staff, token_for
from tests.letters.letterkit import open_pdf, page_text, visual_lines
from tests.postal.test_postal import NOW, letter_world, render, us_customer, welcome_letter_for  # noqa: F401


def _current(key: str, language: str) -> LetterTemplate:
    db.session.expire_all()
    return db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language,
                                                          LetterTemplate.is_current.is_(True)))


def _fields(t: LetterTemplate, **changes) -> dict:
    data = {name: getattr(t, name) for name in service.TEMPLATE_FIELDS}
    data.update(language=t.language, **changes)
    return data


def csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _words(page) -> list[str]:
    return [w.logical if not w.text.isascii() else w.text for ln in visual_lines(page) for w in reversed(ln.words)]


# --- the template setting ----------------------------------------------------------------------

def test_the_calendar_is_a_template_setting_validated_and_versioned(app, letter_world):
    ar = _current("welcome", "ar")
    assert ar.calendar == "gregorian"
    saved = service.save_template(db.session, "welcome", _fields(ar, calendar="both"), actor="test", now=NOW)
    db.session.commit()
    assert saved.version == 2 and _current("welcome", "ar").calendar == "both"
    history = service.template_versions(db.session, "welcome", "ar")
    assert service.changed_fields(history[1], history[0]) == ["calendar"]
    # Restoring version 1 brings its calendar back.
    service.restore_template(db.session, "welcome", "ar", 1, actor="test", now=NOW)
    db.session.commit()
    assert _current("welcome", "ar").calendar == "gregorian"


@pytest.mark.parametrize("language, calendar, words", [
    ("en", "hijri", "Hijri calendar is for Arabic letters"),
    ("fa", "both", "Solar Hijri"),
    ("ar", "julian", "must be one of gregorian, hijri, both"),
])
def test_a_calendar_the_template_cannot_use_is_refused_naming_the_field(app, letter_world, language, calendar, words):
    t = _current("welcome", language)
    with pytest.raises(service.LetterError) as refused:
        service.save_template(db.session, "welcome", _fields(t, calendar=calendar), actor="test", now=NOW)
    assert str(refused.value).startswith("calendar:") and words in str(refused.value)
    db.session.rollback()
    assert _current("welcome", language).version == 1


def test_the_template_page_offers_the_calendar_for_arabic_and_refuses_it_in_the_readers_language(
        app, client, auth, letter_world):
    staff(app, "maya@example.com", "marketing", locale="ar")
    auth.login("maya@example.com")
    page = client.get("/letters/templates/welcome/ar").get_data(as_text=True)
    assert 'name="calendar"' in page and '<option value="both"' in page
    assert 'name="calendar"' not in client.get("/letters/templates/welcome/en").get_data(as_text=True)
    fa_page = client.get("/letters/templates/welcome/fa").get_data(as_text=True)
    assert 'name="calendar"' not in fa_page
    t = _current("welcome", "ar")
    path = "/letters/templates/welcome/ar"
    form = {"name": t.name, "body": t.body, "closing": t.closing, "qr_url": t.qr_url, "digits": t.digits,
            "handwriting_signature": "on", "csrf_token": csrf(client, path)}
    refused = client.post(path, data={**form, "calendar": "julian"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "التقويم" in text and t.body.split("\n")[-1] in text      # the field named in Arabic; the text kept
    assert _current("welcome", "ar").version == 1
    saved = client.post(path, data={**form, "calendar": "hijri"})
    assert saved.status_code == 302 and _current("welcome", "ar").calendar == "hijri"
    versions = client.get("/letters/templates/welcome/ar/versions").get_data(as_text=True)
    assert 'data-field="calendar"' in versions and "هجري" in versions


def test_the_api_reads_and_sets_the_calendar(app, client, letter_world):
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'maya@example.com', 'marketing'))}"}
    current = client.get("/api/v1/letter-templates/welcome/ar", headers=headers).get_json()
    assert current["calendar"] == "gregorian"
    saved = client.put("/api/v1/letter-templates/welcome/ar", json={
        "body": current["body"], "closing": current["closing"], "digits": current["digits"], "calendar": "both"},
        headers=headers)
    assert saved.status_code == 200 and saved.get_json()["calendar"] == "both"
    en = client.get("/api/v1/letter-templates/welcome/en", headers=headers).get_json()
    bad = client.put("/api/v1/letter-templates/welcome/en", json={"body": en["body"], "calendar": "hijri"},
                     headers=headers)
    assert bad.status_code == 422 and "calendar" in bad.get_json()["message"]


def test_an_arabic_letter_is_dated_in_both_calendars_when_its_template_asks(app, client, signer, letter_world):
    t = _current("welcome", "ar")
    service.save_template(db.session, "welcome", _fields(t, calendar="both"), actor="test", now=NOW)
    db.session.commit()
    letter = welcome_letter_for(client, signer, customer("C5", name="ليلى حداد", locale="ar"))
    page = open_pdf(render(app, letter)).pages[0]
    # 2 March 2026 is 13 Ramadan 1447 (Umm al-Qura).
    lines = [[w.logical if not w.text.isdigit() else w.text for w in reversed(ln.words)] for ln in visual_lines(page)]
    assert ["١٣", "رمضان", "١٤٤٧", "هـ", "الموافق", "٢", "مارس", "٢٠٢٦", "م"] in lines


# --- the form of address -------------------------------------------------------------------------

def test_the_form_of_address_from_an_event_chooses_the_greeting(app, client, signer, letter_world, queue):
    letter = welcome_letter_for(client, signer, {**us_customer("C2"), "form_of_address": "ms"}, sale_id="S2")
    assert letter.customer.form_of_address == "ms"
    lines = [ln.text.replace("\u00a0", " ") for ln in visual_lines(open_pdf(render(app, letter)).pages[0])]
    assert "Dear Ms. Smith," in lines           # American English: "Ms." and the surname
    # A later event without the field keeps it; one with null too.
    signer.post(client, event("customer.upserted", {"customer": {**us_customer("C2"), "form_of_address": None}},
                              occurred_at=NOW.replace(hour=7)))
    queue.drain()
    db.session.expire_all()
    assert db.session.scalar(select(Customer.form_of_address).where(Customer.external_id == "C2")) == "ms"


def test_an_unknown_form_of_address_in_an_event_is_refused(app, client, signer):
    answer = signer.post(client, event("customer.upserted", {"customer": customer("C9", form_of_address="sir")}))
    assert answer.status_code == 422 and "form_of_address" in answer.get_data(as_text=True)


@pytest.mark.parametrize("form, expected", [("mr", ["السيد", "ليث", "حداد", "المحترم،"]),
                                            ("ms", ["السيدة", "ليلى", "حداد", "المحترمة،"]),
                                            ("", ["تحية", "طيبة", "إلى", "ليلى", "حداد،"])])
def test_arabic_greeting_per_form_of_address_in_print(app, client, signer, letter_world, form, expected):
    name = "ليث حداد" if form == "mr" else "ليلى حداد"
    cust = customer("C6", name=name, locale="ar", **({"form_of_address": form} if form else {}))
    page = open_pdf(render(app, welcome_letter_for(client, signer, cust))).pages[0]
    words = _words(page)
    i = words.index(expected[0])
    assert words[i:i + len(expected)] == expected
    assert "عزيزي" not in page_text(page) and "/" not in page_text(page).split("L-")[0]


def test_staff_set_the_form_of_address_on_the_contact_form(app, client, auth, signer, letter_world, queue):
    welcome_letter_for(client, signer, customer("C4", name="زهرا محمدی", locale="fa"))
    staff(app, "sara@example.com", "onboarding", locale="fa")
    auth.login("sara@example.com")
    path = "/customers/C4/contact"
    page = client.get(path).get_data(as_text=True)
    assert 'name="form_of_address"' in page and ">خانم<" in page    # the choices in the reader's language
    c = db.session.scalar(select(Customer).where(Customer.external_id == "C4"))
    base = {"phone": c.phone or "", "address_lines": "\n".join(c.address_lines), "city": c.city, "region": c.region,
            "postal_code": c.postal_code, "country": c.country or "", "locale": c.locale, "timezone": c.timezone,
            "csrf_token": csrf(client, path)}
    bad = client.post(path, data={**base, "form_of_address": "sir"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert 'id="err-form_of_address"' in body and "نحوهٔ خطاب" in body
    ok = client.post(path, data={**base, "form_of_address": "ms"})
    assert ok.status_code == 303
    db.session.expire_all()
    c = db.session.scalar(select(Customer).where(Customer.external_id == "C4"))
    assert c.form_of_address == "ms"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.contact_corrected"))
    assert entry.changes == {"form_of_address": {"old": None, "new": "ms"}}
    shown = client.get("/customers/C4").get_data(as_text=True)
    assert 'id="form-of-address"' in shown and "خانم" in shown
    # The next letter greets her "سرکار خانم زهرا محمدی،"; a stale event repeating the old value does not undo it.
    letter = db.session.scalar(select(service.Letter).where(service.Letter.customer_id == c.id))
    words = _words(open_pdf(render(app, letter)).pages[0])
    i = words.index("سرکار")
    assert words[i:i + 4] == ["سرکار", "خانم", "زهرا", "محمدی،"]


def test_every_form_of_address_has_a_greeting_in_every_letter_language():
    from letters.l10n import _GREETINGS
    from retention.customers.models import FORMS_OF_ADDRESS

    for table in _GREETINGS.values():
        assert set(table) == set(FORMS_OF_ADDRESS)
