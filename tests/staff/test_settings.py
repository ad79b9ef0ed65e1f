"""My settings: every staff member chooses the language, digits and clock of their pages and says which
languages they speak with customers (audited); the header links to it."""
from __future__ import annotations

import re

from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.staff.models import StaffUser
from tests.factories import staff


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _save(client, **form):
    page = client.get("/settings").get_data(as_text=True)
    data = {"csrf_token": _csrf(page), "locale": "en", "digits": "", "timezone": "UTC", "languages": ["en"]}
    data.update(form)
    return client.post("/settings", data=data)


def test_every_role_reaches_their_settings_from_the_header(app, client, auth):
    for role in ("onboarding", "marketing", "print", "admin"):
        staff(app, f"{role}@example.com", role)
        browser = app.test_client()
        from tests.conftest import Auth

        Auth(browser).login(f"{role}@example.com")
        start = browser.get("/", follow_redirects=True).get_data(as_text=True)
        assert 'href="/settings"' in start, role
        assert browser.get("/settings").status_code == 200


def test_settings_are_saved_and_the_pages_follow_them(app, client, auth):
    sara = staff(app, "sara@example.com", "onboarding", name="Sara Ahmadi")
    auth.login("sara@example.com")
    page = client.get("/settings").get_data(as_text=True)
    assert "My settings" in page and "English" in page and "العربية" in page and "فارسی" in page
    response = _save(client, locale="fa", timezone="Asia/Tehran", languages=["fa", "en"], digits="latn")
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(StaffUser, sara.id)
    assert (user.locale, user.timezone, user.languages, user.digits) == ("fa", "Asia/Tehran", ["en", "fa"], "latn")
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in after
    assert "تنظیمات من" in after and "My settings" not in after
    assert "تنظیمات شما ذخیره شد" in after  # the confirmation, already in the language just chosen
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.settings_changed"))
    assert entry.actor == f"staff:{sara.id}" and entry.entity_id == str(sara.id)
    assert entry.changes["locale"] == ["en", "fa"] and entry.changes["timezone"] == ["UTC", "Asia/Tehran"]


def test_arabic_digits_follow_the_readers_choice(app, client, auth, clock):
    import datetime as dt

    clock.set(dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.timezone.utc))  # 10:00 in Dubai
    staff(app, "omar@example.com", "onboarding", locale="ar")
    auth.login("omar@example.com")
    _save(client, locale="ar", timezone="Asia/Dubai", languages=["ar"], digits="")
    arabic = client.get("/settings").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "إعداداتي" in arabic
    assert "١٠:٠٠" in arabic and "10:00" not in arabic  # the clock in Arabic-Indic digits
    _save(client, locale="ar", timezone="Asia/Dubai", languages=["ar"], digits="latn")
    latin = client.get("/settings").get_data(as_text=True)
    assert "10:00" in latin and "١٠:٠٠" not in latin


def test_a_wrong_time_zone_is_refused_naming_the_field_in_the_readers_language_and_keeps_the_input(app, client, auth):
    sara = staff(app, "sara@example.com", "onboarding", locale="fa", timezone="Asia/Tehran")
    auth.login("sara@example.com")
    response = _save(client, locale="fa", timezone="Mars/Olympus", languages=["fa", "ar"])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "منطقهٔ زمانی" in page and "Time zone" not in page  # the field, named in Persian
    assert 'value="Mars/Olympus"' in page  # what was typed stays
    assert re.search(r'value="ar" checked', page)  # and the languages ticked
    db.session.expire_all()
    user = db.session.get(StaffUser, sara.id)
    assert (user.timezone, user.languages) == ("Asia/Tehran", ["fa"])  # nothing changed
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.settings_changed")) is None


def test_bad_choices_are_refused_without_a_crash(app, client, auth):
    staff(app, "emma@example.com", "onboarding")
    auth.login("emma@example.com")
    for form, field in (({"locale": "xx"}, "Language of the pages"), ({"digits": "roman"}, "Digits"),
                        ({"languages": []}, "Languages you speak"), ({"languages": ["klingon"]}, "Languages you speak"),
                        ({"timezone": "x" * 500}, "Time zone")):
        response = _save(client, **form)
        assert response.status_code == 422, form
        assert field in response.get_data(as_text=True), form


def test_nothing_changed_writes_no_audit_entry(app, client, auth):
    staff(app, "emma@example.com", "onboarding", timezone="UTC")
    auth.login("emma@example.com")
    response = _save(client)
    assert response.status_code == 303
    assert "Nothing changed" in client.get("/settings").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.settings_changed")) is None


def test_admin_edits_the_languages_someone_speaks(app, client, auth):
    staff(app, "boss@example.com", "admin")
    sara = staff(app, "sara@example.com", "onboarding", name="Sara Ahmadi")
    auth.login("boss@example.com")
    page = client.get("/admin/staff/").get_data(as_text=True)
    assert "Languages spoken" in page and f'action="/admin/staff/{sara.id}/languages"' in page
    response = client.post(f"/admin/staff/{sara.id}/languages", data={"csrf_token": _csrf(page),
                                                                      "languages": ["fa", "en"]})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(StaffUser, sara.id).languages == ["en", "fa"]
    assert "Languages saved for Sara Ahmadi" in client.get("/admin/staff/").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.languages_changed"))
    assert entry.changes == {"languages": [["en"], ["en", "fa"]]}
    bad = client.post(f"/admin/staff/{sara.id}/languages", data={"csrf_token": _csrf(page)})
    assert bad.status_code == 422 and "choose at least one language" in bad.get_data(as_text=True)


def test_staff_say_how_they_sign_letters_in_each_language(app, client, auth):
    staff(app, "sara@example.com", "onboarding", name="Sara Ahmadi", title="Customer care")
    auth.login("sara@example.com")
    response = _save(client, signature_name_fa="سارا احمدی", signature_title_fa="امور مشتریان",
                     signature_name_ar="سارة أحمدي", signature_title_ar="خدمة العملاء")
    assert response.status_code == 303
    db.session.expire_all()
    sara = db.session.scalar(select(StaffUser).where(StaffUser.email == "sara@example.com"))
    assert sara.signature_for("fa") == ("سارا احمدی", "امور مشتریان")
    assert sara.signature_for("ar") == ("سارة أحمدي", "خدمة العملاء")
    assert sara.signature_for("en") == ("Sara Ahmadi", "Customer care")  # nothing given: the name as written
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.settings_changed")).all()[-1]
    assert entry.changes["letter_signatures"][1]["fa"]["name"] == "سارا احمدی"
    page = client.get("/settings").get_data(as_text=True)
    assert 'value="سارا احمدی"' in page


def test_a_latin_name_for_persian_letters_is_refused_in_the_readers_language(app, client, auth):
    staff(app, "sara@example.com", "onboarding", name="Sara Ahmadi", locale="fa")
    auth.login("sara@example.com")
    response = _save(client, locale="fa", signature_name_fa="Sara Ahmadi", signature_title_fa="امور مشتریان")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "با خط فارسی نوشته می‌شود" in page and 'value="امور مشتریان"' in page
    db.session.expire_all()
    sara = db.session.scalar(select(StaffUser).where(StaffUser.email == "sara@example.com"))
    assert not sara.letter_signatures
