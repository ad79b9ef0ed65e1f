"""Staff absences: a person away (holiday, sick) gets nobody new, and their calls due meanwhile go to a colleague
who is in and speaks the customer's language; a time promised to a customer is kept, by the colleague.

Service (retention/staff/absences.py), pages (/settings, /admin/staff/<id>), API (/api/v1/staff/<id>/absences),
the owner picker (journeys/planning.py) and the cover at hand-out (journeys/cover.py). SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.calls import adhoc
from retention.calls import service as calls
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.handout import hand_out_all
from retention.journeys.models import OPEN, SCHEDULED, Touchpoint
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from retention.staff import absences
from retention.staff.models import StaffAbsence
from retention.tick import run as tick
from tests.conftest import Auth
from tests.factories import customer, sale_completed, staff, token_for

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday
D = dt.date


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _journey():
    ensure_default_journey(db.session, dt.datetime(2026, 1, 1, tzinfo=UTC))
    ensure_default_templates(db.session, dt.datetime(2026, 1, 1, tzinfo=UTC))
    db.session.commit()


def _sell(client, signer, n, locale="ar", **extra):
    cust = customer(f"C{n}", locale=locale, **extra)
    assert signer.post(client, sale_completed(f"S{n}", cust=cust, occurred_at=T0)).status_code == 202


def _calls_of(n) -> list[Touchpoint]:
    db.session.expire_all()
    return list(db.session.scalars(select(Touchpoint).join(Customer).where(
        Customer.external_id == f"C{n}", Touchpoint.kind == "call").order_by(Touchpoint.due_at)))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _absent(person, first: dt.date, last: dt.date, note: str = ""):
    absence = absences.add_absence(db.session, person, starts_on=first, ends_on=last, note=note, actor="test",
                                   now=T0)
    db.session.commit()
    return absence


@pytest.fixture
def team(app):
    """Two Arabic speakers and an English one, all in Dubai (09:00-17:00), and the default journey."""
    _journey()
    people = {
        "omar": staff(app, "omar@example.com", "onboarding", name="Omar Haddad", locale="ar", languages=["ar"],
                      timezone="Asia/Dubai", country="AE"),
        "sara": staff(app, "sara@example.com", "onboarding", name="Sara Nasser", locale="ar", languages=["ar", "en"],
                      timezone="Asia/Dubai", country="AE"),
        "emma": staff(app, "emma@example.com", "onboarding", name="Emma Clarke", languages=["en"],
                      timezone="Asia/Dubai", country="AE"),
    }
    return people


# --- the service ---------------------------------------------------------------------------------------------------

def test_an_absence_is_entered_listed_asked_about_and_cancelled_with_an_audit_entry_each(app, team):
    omar, sara = team["omar"], team["sara"]
    absence = _absent(omar, D(2026, 3, 4), D(2026, 3, 6), note="holiday")
    assert absence.days == 3
    assert [(a.starts_on, a.ends_on, a.note) for a in absences.list_absences(db.session, omar.id)] == [
        (D(2026, 3, 4), D(2026, 3, 6), "holiday")]
    assert not absences.is_away(db.session, omar.id, D(2026, 3, 3))
    assert absences.is_away(db.session, omar.id, D(2026, 3, 4)) and absences.is_away(db.session, omar.id, D(2026, 3, 6))
    assert not absences.is_away(db.session, omar.id, D(2026, 3, 7))
    assert absences.away_on(db.session, [omar.id, sara.id], D(2026, 3, 5)) == {omar.id}
    # "today" is each person's own calendar: 21:00 UTC on the 3rd is already the 4th in Dubai
    assert absences.away_now(db.session, [omar, sara], dt.datetime(2026, 3, 3, 21, 0, tzinfo=UTC)) == {omar.id}
    assert absences.away_now(db.session, [omar, sara], dt.datetime(2026, 3, 3, 19, 0, tzinfo=UTC)) == set()

    absences.cancel_absence(db.session, absence.id, actor="staff:1", now=T0)
    db.session.commit()
    assert absences.list_absences(db.session, omar.id) == []
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "staff",
                                                                  AuditEntry.entity_id == str(omar.id))
                                 .order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["staff.absence_added", "staff.absence_cancelled"]


@pytest.mark.parametrize("first, last, field, status, words", [
    ("2026-03-10", "2026-03-09", "ends_on", 409, "before the first"),
    ("2026-01-01", "2027-01-02", "ends_on", 409, "at most 366 days"),
    ("1999-12-31", "2000-01-02", "starts_on", 422, "from 2000-01-01 to 2099-12-31"),
    ("2099-12-30", "2100-01-01", "ends_on", 422, "from 2000-01-01 to 2099-12-31"),
    ("2026-02-30", "2026-03-01", "starts_on", 422, "no such day"),
    ("4.3.2026", "2026-03-05", "starts_on", 422, "year-month-day"),
    ("", "2026-03-05", "starts_on", 422, "Enter a date"),
    ("2026-03-05", "2026-03-04T10:00", "ends_on", 422, "year-month-day"),
])
def test_bad_days_are_refused_naming_the_field_and_nothing_changes(app, team, first, last, field, status, words):
    from retention.errors import http_status

    audits = _count(AuditEntry)
    with pytest.raises(absences.AbsenceError) as refused:
        absences.add_absence(db.session, team["omar"], starts_on=first, ends_on=last, actor="test", now=T0)
    db.session.rollback()
    assert refused.value.field == field and http_status(refused.value) == status
    assert str(refused.value).startswith(f"{field}: ") and words in str(refused.value)
    assert _count(StaffAbsence) == 0 and _count(AuditEntry) == audits


def test_a_full_year_is_accepted_and_overlapping_days_are_refused(app, team):
    _absent(team["omar"], D(2028, 1, 1), D(2028, 12, 31))  # 366 days: a leap year
    with pytest.raises(absences.AbsenceConflict, match="overlap another absence, from 2028-01-01 to 2028-12-31"):
        absences.add_absence(db.session, team["omar"], starts_on="2028-12-31", ends_on="2029-01-03", actor="test",
                             now=T0)
    db.session.rollback()
    _absent(team["sara"], D(2028, 12, 31), D(2029, 1, 3))  # someone else's days are theirs
    assert _count(StaffAbsence) == 2
    with pytest.raises(absences.AbsenceError, match="at most 500 characters"):
        absences.add_absence(db.session, team["omar"], starts_on="2029-02-01", ends_on="2029-02-01",
                             note="x" * 501, actor="test", now=T0)


# --- new customers: the owner picker passes over people away ------------------------------------------------------

def test_new_customers_are_not_given_to_someone_away_on_the_day_of_their_first_call(app, client, signer, team):
    omar, sara = team["omar"], team["sara"]
    _absent(omar, D(2026, 3, 3), D(2026, 3, 6))  # the check-in calls of Monday's sales are on Wednesday the 4th
    for n in range(4):
        _sell(client, signer, n, "ar", timezone="Asia/Dubai")
    tick(T0)
    owners = {call.owner_id for n in range(4) for call in _calls_of(n)}
    assert owners == {sara.id}  # the other Arabic speaker, every time
    # back the week after: the next customers go round both again
    for n in range(4, 8):
        assert signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}", locale="ar"),
                                                  occurred_at=T0 + dt.timedelta(days=7))).status_code == 202
    db.session.execute(StaffAbsence.__table__.delete())
    db.session.commit()
    tick(T0 + dt.timedelta(days=7))
    later = [_calls_of(n)[0].owner_id for n in range(4, 8)]
    assert omar.id in later and sara.id in later


def test_when_everyone_is_away_a_new_customer_still_gets_a_person(app, client, signer, team):
    for person in team.values():
        _absent(person, D(2026, 3, 1), D(2026, 3, 31))
    _sell(client, signer, 1, "ar", timezone="Asia/Dubai")
    tick(T0)
    assert _calls_of(1)[0].owner_id is not None


# --- calls due while the owner is away ------------------------------------------------------------------------------

def _owned_by(client, signer, team, who="omar", n=1, locale="ar"):
    """A customer whose check-in call belongs to `who` (everyone else away on the day of planning)."""
    others = [p for name, p in team.items() if name != who]
    planned = [_absent(p, D(2026, 3, 1), D(2026, 3, 5)) for p in others]
    _sell(client, signer, n, locale, timezone="Asia/Dubai")
    tick(T0)
    for absence in planned:
        absences.cancel_absence(db.session, absence.id, actor="test", now=T0)
    db.session.commit()
    call = _calls_of(n)[0]
    assert call.owner_id == team[who].id
    return call


def test_a_call_handed_out_while_its_owner_is_away_goes_to_a_colleague_who_speaks_the_language(
        app, client, signer, team, auth, clock):
    omar, sara = team["omar"], team["sara"]
    call = _owned_by(client, signer, team)
    due = call.due_at
    _absent(omar, D(2026, 3, 4), D(2026, 3, 4), note="sick")
    summary = tick(due)
    call = _calls_of(1)[0]
    assert summary["calls_covered"] == 1
    assert (call.status, call.owner_id, call.covering_for_id, call.due_at) == (OPEN, sara.id, omar.id, due)
    assert call.customer.owner_id == omar.id  # the customer stays Omar's
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.covered"))
    assert entry.changes["owner_id"] == sara.id and entry.changes["from_owner_id"] == omar.id

    # Sara's list shows it, saying for whom; the customer's timeline too
    clock.set(due)
    auth.login("sara@example.com")
    page = client.get("/calls/?lang=en").get_data(as_text=True)
    card = page[page.index(f'id="call-{call.id}"'):]
    assert f'data-covering-for="{omar.id}"' in card
    assert "Covering for \u2068Omar Haddad\u2069, who is away." in card
    timeline = client.get("/customers/C1?lang=en").get_data(as_text=True)
    assert "\u2068Sara Nasser\u2069 covers a call for \u2068Omar Haddad\u2069, who is away" in timeline
    # Omar's list no longer has it
    assert calls.my_calls(db.session, omar, due)["today"] == []


def test_with_no_speaker_in_the_call_goes_to_anyone_in_and_with_nobody_in_it_stays(app, client, signer, team):
    omar, sara, emma = team["omar"], team["sara"], team["emma"]
    call = _owned_by(client, signer, team)
    _absent(omar, D(2026, 3, 4), D(2026, 3, 4))
    _absent(sara, D(2026, 3, 2), D(2026, 3, 8))
    _absent(emma, D(2026, 3, 4), D(2026, 3, 4))
    tick(call.due_at)
    assert _calls_of(1)[0].owner_id == omar.id  # nobody is in: it stays where it is, open in Omar's list
    db.session.execute(StaffAbsence.__table__.delete().where(StaffAbsence.staff_id == emma.id))
    db.session.commit()
    tick(call.due_at + dt.timedelta(minutes=1))
    covered = _calls_of(1)[0]
    assert (covered.owner_id, covered.covering_for_id) == (emma.id, omar.id)  # anyone in onboarding who is in


def test_a_promised_call_back_in_the_absence_is_kept_at_the_promised_time_by_a_colleague(app, client, signer, team,
                                                                                         auth, clock):
    omar, sara = team["omar"], team["sara"]
    call = _owned_by(client, signer, team)
    tick(call.due_at)
    promised = dt.datetime(2026, 3, 9, 8, 30, tzinfo=UTC)  # Monday 12:30 in Dubai
    calls.log_outcome(db.session, call.id, staff=omar, outcome="call_back", call_back_at=promised,
                      now=call.due_at + dt.timedelta(minutes=5))
    db.session.commit()
    _absent(omar, D(2026, 3, 9), D(2026, 3, 13), note="holiday")

    tick(promised - dt.timedelta(days=2))  # too early: still Omar's
    assert _calls_of(1)[0].owner_id == omar.id
    tick(promised - dt.timedelta(hours=20))  # the day before: Sara has it in her list, at the promised time
    held = _calls_of(1)[0]
    assert (held.owner_id, held.covering_for_id, held.due_at, held.status) == (sara.id, omar.id, promised, SCHEDULED)
    tick(promised)
    assert (_calls_of(1)[0].status, _calls_of(1)[0].owner_id) == (OPEN, sara.id)

    clock.set(promised)
    auth.login("sara@example.com")
    page = client.get("/calls/?lang=en").get_data(as_text=True)
    card = page[page.index(f'id="call-{held.id}"'):]
    assert "Covering for \u2068Omar Haddad\u2069, who is away: \u2068Omar Haddad\u2069 promised the customer this time." in card

    # Coming back takes nothing back: Sara keeps it after Omar's absence ends
    tick(dt.datetime(2026, 3, 14, 6, 0, tzinfo=UTC))
    assert _calls_of(1)[0].owner_id == sara.id


def test_an_ad_hoc_call_promised_for_a_day_away_is_covered(app, client, signer, team):
    omar, sara = team["omar"], team["sara"]
    _owned_by(client, signer, team)
    cust = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    promised = dt.datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    tp = adhoc.open_call(cust, purpose="follow_up", owner=omar, due_at=promised, now=T0, actor=f"staff:{omar.id}")
    db.session.commit()
    _absent(omar, D(2026, 3, 10), D(2026, 3, 10))
    hand_out_all(db.session, promised - dt.timedelta(hours=12))
    db.session.expire_all()
    tp = db.session.get(Touchpoint, tp.id)
    assert (tp.owner_id, tp.covering_for_id, tp.due_at, tp.status) == (sara.id, omar.id, promised, OPEN)


def test_open_calls_left_in_the_list_of_someone_now_away_are_covered_and_reassigning_clears_the_cover(
        app, client, signer, team):
    omar, sara, emma = team["omar"], team["sara"], team["emma"]
    call = _owned_by(client, signer, team)
    tick(call.due_at)  # opened in Omar's list, not worked
    _absent(omar, D(2026, 3, 6), D(2026, 3, 6))
    tick(dt.datetime(2026, 3, 6, 5, 0, tzinfo=UTC))  # overdue, and Omar is away today
    assert (_calls_of(1)[0].owner_id, _calls_of(1)[0].covering_for_id) == (sara.id, omar.id)
    calls.reassign(db.session, [call.id], owner_id=emma.id, actor="staff:1", now=T0, move_customer=False)
    db.session.commit()
    assert (_calls_of(1)[0].owner_id, _calls_of(1)[0].covering_for_id) == (emma.id, None)


def test_the_complaint_queue_says_when_a_cases_owner_is_away(app, client, signer, team, auth, clock):
    from retention.complaints.categories import ensure_default_categories
    from retention.complaints.service import open_case

    omar = team["omar"]
    _owned_by(client, signer, team)
    ensure_default_categories(db.session, T0)
    cust = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    open_case(db.session, cust, channel="phone", category="delivery", severity="high", summary="late", owner=omar,
              now=T0, actor="test")
    db.session.commit()
    _absent(omar, D(2026, 3, 2), D(2026, 3, 3))
    clock.set(T0)
    auth.login("sara@example.com")
    page = client.get("/complaints/queue?lang=en").get_data(as_text=True)
    assert "owner away" in page
    clock.set(T0 + dt.timedelta(days=3))
    assert "owner away" not in client.get("/complaints/queue?lang=en").get_data(as_text=True)


# --- pages ---------------------------------------------------------------------------------------------------------

def _form(client, path):
    return _csrf(client.get(path).get_data(as_text=True))


def test_everyone_sets_their_own_absence_in_my_settings(app, client, auth, clock):
    staff(app, "ali@example.com", "print", name="Ali Rezaei", locale="fa", timezone="Asia/Tehran")
    clock.set(T0)
    auth.login("ali@example.com")
    token = _form(client, "/settings")
    response = client.post("/settings/absences", data={"csrf_token": token, "starts_on": "2026-03-20",
                                                       "ends_on": "2026-03-24", "note": "نوروز"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings#away")
    page = client.get("/settings").get_data(as_text=True)
    # shown in the reader's calendar: 20 March 2026 is 29 Esfand 1404, 24 March 4 Farvardin 1405
    assert "۲۹ اسفند ۱۴۰۴" in page and "۴ فروردین ۱۴۰۵" in page and "نوروز" in page
    absence = db.session.scalar(select(StaffAbsence))
    assert absence.created_by.email == "ali@example.com"

    # a wrong day: refused next to its field in Persian, what was typed kept, nothing saved
    response = client.post("/settings/absences", data={"csrf_token": token, "starts_on": "2026-04-10",
                                                       "ends_on": "2026-04-01"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="away-ends_on-error"' in page and 'value="2026-04-10"' in page
    assert _count(StaffAbsence) == 1

    client.post(f"/settings/absences/{absence.id}/cancel", data={"csrf_token": token})
    assert _count(StaffAbsence) == 0


def test_an_admin_sets_anyones_absence_on_their_page_and_others_cannot(app, client, auth, clock):
    admin = staff(app, "admin@example.com", "admin", name="Nadia Admin")
    omar = staff(app, "omar@example.com", "onboarding", name="Omar Haddad")
    sara = staff(app, "sara@example.com", "onboarding", name="Sara Nasser")
    clock.set(T0)
    auth.login("admin@example.com")
    assert f'href="/admin/staff/{omar.id}"' in client.get("/admin/staff/").get_data(as_text=True)
    token = _form(client, f"/admin/staff/{omar.id}")
    response = client.post(f"/admin/staff/{omar.id}/absences",
                           data={"csrf_token": token, "starts_on": "2026-03-02", "ends_on": "2026-03-03"})
    assert response.status_code == 303
    page = client.get(f"/admin/staff/{omar.id}?lang=en").get_data(as_text=True)
    assert "2 Mar 2026 to 3 Mar 2026" in page
    assert "away now" in page
    assert "away now" in client.get("/admin/staff/?lang=en").get_data(as_text=True)
    absence = db.session.scalar(select(StaffAbsence))
    assert (absence.staff_id, absence.created_by_id) == (omar.id, admin.id)
    # out of range: 422 naming the field, nothing saved
    response = client.post(f"/admin/staff/{omar.id}/absences",
                           data={"csrf_token": token, "starts_on": "1999-01-01", "ends_on": "2026-03-03"})
    assert response.status_code == 422 and 'id="away-starts_on-error"' in response.get_data(as_text=True)
    # someone else's absence is not cancelled through another person's page
    assert client.post(f"/admin/staff/{sara.id}/absences/{absence.id}/cancel",
                       data={"csrf_token": token}).status_code == 404
    assert _count(StaffAbsence) == 1

    # Omar may not open an admin page nor cancel his absence set by the admin through anyone else's door...
    browser = app.test_client()
    Auth(browser).login("sara@example.com")
    assert browser.get(f"/admin/staff/{omar.id}").status_code == 403
    sara_token = _csrf(browser.get("/settings").get_data(as_text=True))
    assert browser.post(f"/settings/absences/{absence.id}/cancel", data={"csrf_token": sara_token}).status_code == 404
    assert _count(StaffAbsence) == 1


# --- API -----------------------------------------------------------------------------------------------------------

def test_api_absences_for_oneself_and_by_an_admin_for_anyone(app, client, clock):
    clock.set(T0)
    admin = staff(app, "admin@example.com", "admin")
    omar = staff(app, "omar@example.com", "onboarding", name="Omar Haddad")
    sara = staff(app, "sara@example.com", "marketing")
    me = {"Authorization": f"Bearer {token_for(app, omar)}"}
    boss = {"Authorization": f"Bearer {token_for(app, admin)}"}
    other = {"Authorization": f"Bearer {token_for(app, sara)}"}
    url = f"/api/v1/staff/{omar.id}/absences"

    created = client.post(url, json={"starts_on": "2026-03-04", "ends_on": "2026-03-06", "note": "holiday"},
                          headers=me)
    assert created.status_code == 201
    body = created.get_json()
    assert (body["starts_on"], body["ends_on"], body["days"], body["created_by"]) == (
        "2026-03-04", "2026-03-06", 3, "omar@example.com")
    assert client.post(url, json={"starts_on": "2026-04-01", "ends_on": "2026-04-01"}, headers=boss).status_code == 201
    assert [a["starts_on"] for a in client.get(url, headers=me).get_json()] == ["2026-03-04", "2026-04-01"]

    # someone else: 403, nothing changes
    assert client.get(url, headers=other).status_code == 403
    assert client.post(url, json={"starts_on": "2026-05-01", "ends_on": "2026-05-01"}, headers=other).status_code == 403
    assert client.delete(f"{url}/{body['id']}", headers=other).status_code == 403

    # bad input: 422 naming the field (schema), 409 naming the field (fields that disagree, overlap)
    refused = client.post(url, json={"starts_on": "2100-01-01", "ends_on": "2100-01-02"}, headers=me)
    assert refused.status_code == 422 and "starts_on" in refused.get_json()["errors"]["json"]
    refused = client.post(url, json={"starts_on": "2026-06-10", "ends_on": "2026-06-01"}, headers=me)
    assert refused.status_code == 409 and refused.get_json()["message"].startswith("ends_on: ")
    refused = client.post(url, json={"starts_on": "2026-01-01", "ends_on": "2027-06-01"}, headers=me)
    assert refused.status_code == 409 and "366" in refused.get_json()["message"]
    refused = client.post(url, json={"starts_on": "2026-03-06", "ends_on": "2026-03-08"}, headers=me)
    assert refused.status_code == 409 and refused.get_json()["message"].startswith("starts_on: ")
    assert client.post(url, json={"starts_on": "2026-03-06", "ends_on": "2026-03-08", "extra": 1},
                       headers=me).status_code == 422
    assert _count(StaffAbsence) == 2

    assert client.delete(f"{url}/{body['id']}", headers=me).status_code == 204
    assert client.delete(f"{url}/{body['id']}", headers=me).status_code == 404
    assert client.get(f"/api/v1/staff/999/absences", headers=boss).status_code == 404
    assert [a["starts_on"] for a in client.get(url, headers=boss).get_json()] == ["2026-04-01"]
    spec = client.get("/api/openapi.json").get_json()
    assert "AbsenceIn" in spec["components"]["schemas"]
    assert "/api/v1/staff/{staff_id}/absences/{absence_id}" in spec["paths"]


# --- a covered call keeps inside the colleague's working hours (journeys/cover.py) ----------------------------------

LONDON = {"timezone": "Europe/London", "address": {"lines": ["1 Strand"], "city": "London", "region": "",
                                                    "postal_code": "WC2N 5HR", "country": "GB"}}


@pytest.fixture
def zones(app):
    """Omar in Dubai, Nina in New York, Liam in London (each 09:00-17:00 their time), all speaking English."""
    _journey()
    return {
        "omar": staff(app, "omar@example.com", "onboarding", name="Omar Haddad", languages=["en"],
                      timezone="Asia/Dubai", country="AE"),
        "nina": staff(app, "nina@example.com", "onboarding", name="Nina Brooks", languages=["en"],
                      timezone="America/New_York", country="US"),
        "liam": staff(app, "liam@example.com", "onboarding", name="Liam Walsh", languages=["en"],
                      timezone="Europe/London", country="GB"),
    }


def _londoner_of_omar(client, signer, zones) -> Touchpoint:
    """A London customer whose Wednesday check-in call (10:00 in London, 14:00 in Dubai) is Omar's."""
    planned = [_absent(zones[name], D(2026, 3, 1), D(2026, 3, 5)) for name in ("nina", "liam")]
    assert signer.post(client, sale_completed("S1", cust=customer("C1", locale="en", **LONDON),
                                              occurred_at=T0)).status_code == 202
    tick(T0)
    for absence in planned:
        absences.cancel_absence(db.session, absence.id, actor="test", now=T0)
    db.session.commit()
    call = _calls_of(1)[0]
    assert call.owner_id == zones["omar"].id and call.due_at == dt.datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    return call


def test_a_covered_call_goes_to_a_colleague_at_work_at_its_time(app, client, signer, zones):
    """Nina is next in turn, but 10:00 in London is 05:00 in New York: Liam, at work then, covers it."""
    call = _londoner_of_omar(client, signer, zones)
    _absent(zones["omar"], D(2026, 3, 4), D(2026, 3, 4))
    tick(call.due_at - dt.timedelta(hours=12))
    covered = _calls_of(1)[0]
    assert (covered.owner_id, covered.covering_for_id, covered.due_at) == (
        zones["liam"].id, zones["omar"].id, call.due_at)


def test_with_nobody_at_work_then_a_planned_call_moves_into_the_colleagues_hours(app, client, signer, zones):
    """Only Nina is in: the system's time moves to 14:00 UTC (09:00 in New York, 14:00 in London)."""
    call = _londoner_of_omar(client, signer, zones)
    due = call.due_at
    _absent(zones["omar"], D(2026, 3, 4), D(2026, 3, 4))
    _absent(zones["liam"], D(2026, 3, 4), D(2026, 3, 4))
    tick(due - dt.timedelta(hours=12))
    covered = _calls_of(1)[0]
    moved = dt.datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    assert (covered.owner_id, covered.covering_for_id, covered.due_at, covered.status) == (
        zones["nina"].id, zones["omar"].id, moved, SCHEDULED)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.covered"))
    assert entry.changes["due_at"] == moved.isoformat() and entry.changes["moved_from"] == due.isoformat()
    tick(moved)  # handed out to Nina at her time, in her list
    assert (_calls_of(1)[0].status, _calls_of(1)[0].owner_id) == (OPEN, zones["nina"].id)


def test_a_promised_time_is_kept_by_whoever_is_in_even_outside_their_hours(app, client, signer, zones, auth, clock):
    omar, nina = zones["omar"], zones["nina"]
    call = _londoner_of_omar(client, signer, zones)
    tick(call.due_at)
    promised = dt.datetime(2026, 3, 9, 10, 30, tzinfo=UTC)  # Monday 10:30 in London, 05:30 in New York
    calls.log_outcome(db.session, call.id, staff=omar, outcome="call_back", call_back_at=promised,
                      now=call.due_at + dt.timedelta(minutes=5))
    db.session.commit()
    _absent(omar, D(2026, 3, 9), D(2026, 3, 13))
    _absent(zones["liam"], D(2026, 3, 9), D(2026, 3, 9))
    tick(promised - dt.timedelta(hours=20))
    held = _calls_of(1)[0]
    assert (held.owner_id, held.covering_for_id, held.due_at) == (nina.id, omar.id, promised)
    clock.set(promised)
    auth.login("nina@example.com")
    page = client.get("/calls/?lang=en").get_data(as_text=True)
    card = page[page.index(f'id="call-{held.id}"'):]
    assert "\u2068Omar Haddad\u2069 promised the customer this time." in card


def test_a_complaints_verification_call_is_the_systems_time_and_moves_into_the_colleagues_hours(
        app, client, signer, zones, auth, clock):
    """The solution's check is due three business days on (Thursday 10:00 in London, 14:00 in Dubai): a time the
    system chose, not one promised to the customer. Omar and Liam are away on Thursday, only Nina (New York) is in:
    the call moves to 14:00 UTC, 09:00 in New York, and her card says she covers it, not that Omar promised it."""
    from retention.complaints import resolution
    from retention.complaints.categories import ensure_default_categories
    from retention.complaints.service import open_case

    omar, nina = zones["omar"], zones["nina"]
    _londoner_of_omar(client, signer, zones)
    ensure_default_categories(db.session, T0)
    cust = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    case = open_case(db.session, cust, channel="phone", category="delivery", summary="late", owner=omar, now=T0,
                     actor="test")
    call = resolution.schedule_verification(db.session, case, now=T0, actor=f"staff:{omar.id}")
    db.session.commit()
    thursday = dt.datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    assert (call.purpose, call.owner_id, call.due_at) == ("complaint_verification", omar.id, thursday)
    _absent(omar, D(2026, 3, 5), D(2026, 3, 5))
    _absent(zones["liam"], D(2026, 3, 5), D(2026, 3, 5))
    tick(thursday - dt.timedelta(hours=12))
    db.session.expire_all()
    covered = db.session.get(Touchpoint, call.id)
    moved = dt.datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    assert (covered.owner_id, covered.covering_for_id, covered.due_at) == (nina.id, omar.id, moved)
    clock.set(moved)
    auth.login("nina@example.com")
    page = client.get("/calls/?lang=en").get_data(as_text=True)
    card = page[page.index(f'id="call-{call.id}"'):]
    assert "Covering for \u2068Omar Haddad\u2069, who is away" in card
    assert "promised the customer this time" not in card[:card.index("</article>")]
