"""Journey edits and re-plans never take away work a person holds; steps and call times are checked at the door."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.calls import service as calls
from retention.customers.models import Customer
from retention.customers.timeline import timeline
from retention.extensions import db
from retention.journeys import service as journeys
from retention.journeys.models import Enrollment, Journey, Touchpoint
from retention.postal.service import save_template
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, staff, token_for

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 10:00 in Dubai
NOW = T0 + dt.timedelta(days=3)
KEY = "first-90-days"


def tp_of(cid: str, step: str) -> Touchpoint:
    db.session.expire_all()
    return db.session.scalar(select(Touchpoint).join(Touchpoint.step).where(
        Touchpoint.customer.has(external_id=cid), Touchpoint.status != "cancelled",
        Touchpoint.step.has(key=step)).order_by(Touchpoint.id.desc()))


def snapshot(tp: Touchpoint) -> tuple:
    return tp.id, tp.owner_id, tp.attempts, tp.due_at, tp.status, tp.held_at, tp.reason


def default_steps() -> list[dict]:
    return [dict(s) for s in journeys.DEFAULT_JOURNEY["steps"]]


def edited_steps() -> list[dict]:
    steps = default_steps()
    steps[1]["day_offset"] = 4      # check-in call: day 2 -> 4 (its calls are all due or held: kept)
    steps[2]["day_offset"] = 21     # how is it going: day 14 -> 21 (not yet due: re-planned)
    steps = [s for s in steps if s["key"] != "check_in_day_45"]  # removed
    steps.append({"key": "day_10_call", "day_offset": 10, "kind": "call", "title": "Day 10 call",
                  "business_days": False})
    return steps


@pytest.fixture
def mid_way(client, signer, world):
    """Four customers whose check-in calls are overdue, promised, rescheduled and not yet due."""
    for n, sold in ((1, T0), (2, T0), (3, T0 + dt.timedelta(days=2)), (4, T0 + dt.timedelta(days=2))):
        assert signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}"), occurred_at=sold)).status_code == 202
    tick(T0 + dt.timedelta(days=2, hours=4))  # C1 and C2: check-in call open (due day 2)
    c2 = tp_of("C2", "check_in_call")
    owner = db.session.get(type(c2.owner), c2.owner_id)
    calls.log_outcome(db.session, c2.id, staff=owner, outcome="call_back", now=NOW,
                      call_back_at=NOW + dt.timedelta(days=1, hours=3))
    db.session.commit()
    calls.reschedule(db.session, tp_of("C3", "check_in_call").id, due_at=NOW + dt.timedelta(days=4), now=NOW, actor="test")
    db.session.commit()
    return {cid: snapshot(tp_of(cid, "check_in_call")) for cid in ("C1", "C2", "C3")}


def test_move_keeps_every_due_open_or_held_call_and_replans_the_rest(mid_way, world):
    before_overdue = {o.id: len(calls.my_calls(db.session, o, NOW)["overdue"]) for o in world["owners"]}
    assert sum(before_overdue.values()) == 1  # C1's check-in call
    c4_future = tp_of("C4", "how_is_it_going_call").id
    preview = journeys.edit_impact(db.session, KEY, NOW, steps=edited_steps())
    new, summary = journeys.edit_journey(db.session, KEY, steps=edited_steps(), choice="move", now=NOW, actor="test")
    db.session.commit()
    # the counts shown before saving are what happened
    assert summary.as_dict() == preview["move"].as_dict()
    assert summary.customers == 4 and summary.kept == 3 and summary.removed == 4 and summary.added == 4
    # the overdue call, the promised call-back and the rescheduled call: same row, owner, attempts, time
    for cid, before in mid_way.items():
        tp = tp_of(cid, "check_in_call")
        assert snapshot(tp) == before, cid
        assert tp.step.journey.version == 2  # on the new version's step of the same key
    assert tp_of("C2", "check_in_call").attempts == 1
    after_overdue = {o.id: len(calls.my_calls(db.session, o, NOW)["overdue"]) for o in world["owners"]}
    assert after_overdue == before_overdue
    # C4 had nothing due: its check-in moves to day 4, how-is-it-going re-planned in place on day 21
    assert tp_of("C4", "check_in_call").due_at.date() == dt.date(2026, 3, 10)  # 4 business days from Wed 4th
    replanned = tp_of("C4", "how_is_it_going_call")
    assert replanned.id == c4_future and replanned.step.journey.version == 2
    assert replanned.due_at.date() == dt.date(2026, 3, 25)
    assert tp_of("C4", "check_in_day_45") is None and tp_of("C4", "day_10_call").status == "scheduled"
    assert db.session.scalar(select(func.count()).select_from(Touchpoint)
                             .where(Touchpoint.status == "cancelled")) == 0


def test_the_timeline_gets_one_entry_per_edit_not_one_per_step(mid_way):
    for version in (2, 3):
        journeys.edit_journey(db.session, KEY, steps=edited_steps(), choice="move",
                              now=NOW + dt.timedelta(minutes=version), actor="test")
        db.session.commit()
    c4 = db.session.scalar(select(Customer).where(Customer.external_id == "C4"))
    entries = timeline(db.session, c4)
    moves = [e for e in entries if e.kind == "journey:moved"]
    assert [e.title for e in moves] == ["Journey moved to version 3", "Journey moved to version 2"]
    assert any("re-planned" in words for words in moves[1].detail)
    assert not [e for e in entries if "cancelled" in e.title]


def test_keep_and_new_only_touch_nobody_who_has_started(mid_way):
    preview = journeys.edit_impact(db.session, KEY, NOW, steps=edited_steps())
    assert preview["keep"].customers == 0
    assert preview["new_only"].customers >= 1  # those who have had no step handed out yet
    before = snapshot(tp_of("C3", "check_in_call"))
    _, summary = journeys.edit_journey(db.session, KEY, steps=edited_steps(), choice="new_only", now=NOW,
                                       actor="test")
    db.session.commit()
    assert summary.as_dict() == preview["new_only"].as_dict()
    assert snapshot(tp_of("C3", "check_in_call")) == before  # rescheduled by a person: kept
    assert tp_of("C1", "check_in_call").step.journey.version == 1


def test_pause_and_resume_keep_open_calls_open_and_promised_times(mid_way):
    later = NOW + dt.timedelta(days=2)
    enrollments = {cid: db.session.scalar(select(Enrollment).where(Enrollment.customer.has(external_id=cid)))
                   for cid in ("C1", "C2")}
    future = tp_of("C1", "how_is_it_going_call").due_at
    for enrollment in enrollments.values():
        journeys.pause(db.session, enrollment, NOW, actor="test")
    db.session.commit()
    assert tp_of("C1", "check_in_call").status == "paused"
    for enrollment in enrollments.values():
        journeys.resume(db.session, db.session.get(Enrollment, enrollment.id), later, actor="test")
    db.session.commit()
    open_call = tp_of("C1", "check_in_call")
    assert (open_call.status, open_call.due_at) == ("open", mid_way["C1"][3])  # back in the list as it was
    promised = tp_of("C2", "check_in_call")
    assert promised.due_at == mid_way["C2"][3] and promised.status == "scheduled"  # the call-back time stays
    assert tp_of("C1", "how_is_it_going_call").due_at == future + dt.timedelta(days=2)  # planned: shifted


def test_delivery_reanchor_and_refund_keep_held_calls(client, signer, mid_way):
    promised = mid_way["C2"]
    signer.post(client, event("sale.delivered", {"sale_id": "S2", "delivered_at": NOW.isoformat()}, occurred_at=NOW))
    tick(NOW)
    assert snapshot(tp_of("C2", "check_in_call")) == promised
    signer.post(client, event("sale.refunded", {"sale_id": "S1", "reason": "broken"}, occurred_at=NOW))
    tick(NOW)
    assert tp_of("C1", "check_in_call").status == "open"  # stays with its owner for an outcome
    assert tp_of("C1", "how_is_it_going_call") is None  # planned steps are cancelled


# --- A2: letter templates must exist in every language ----------------------------------------

def test_a_letter_step_naming_a_missing_template_is_refused(mid_way):
    steps = default_steps()
    steps[9]["template_key"] = "thankyou_typo"
    with pytest.raises(journeys.JourneyError) as exc:
        journeys.edit_journey(db.session, KEY, steps=steps, choice="move", now=NOW, actor="test")
    assert str(exc.value) == ("step 10 (Thank-you letter): template_key: no letter template 'thankyou_typo' "
                              "in en, ar, fa")
    db.session.rollback()
    save_template(db.session, "promo", {"language": "en", "body": "Hello {{ customer.name }}", "name": "Promo"},
                  actor="test", now=NOW)
    db.session.commit()
    steps[9]["template_key"] = "promo"
    with pytest.raises(journeys.JourneyError, match=r"step 10 \(Thank-you letter\): template_key: .* in ar, fa$"):
        journeys.edit_journey(db.session, KEY, steps=steps, choice="move", now=NOW, actor="test")
    db.session.rollback()
    steps[9]["template_key"] = None  # the step key is then the template name
    steps[9]["key"] = "thanks_letter"
    with pytest.raises(journeys.JourneyError, match="no letter template 'thanks_letter'"):
        journeys.validate_steps(steps, db.session)
    assert journeys.current_version(db.session, KEY).version == 1
    assert db.session.scalar(select(func.count()).select_from(Journey)) == 1


def admin_headers(app):
    return {"Authorization": f"Bearer {token_for(app, staff(app, 'root@example.com', 'admin'))}"}


@pytest.mark.parametrize("change, message", [
    (lambda s: s[9].update(template_key="thankyou_typo"),
     "step 10 (Thank-you letter): template_key: no letter template 'thankyou_typo' in en, ar, fa"),
    (lambda s: s[1].pop("key"), "step 2 (Check-in call): key: required"),
    (lambda s: s[1].update(key=None, title=None), "step 2: key: required"),
    (lambda s: s[1].update(key="check in!"), "step 2 (Check-in call): key: letters, digits"),
    (lambda s: s[2].update(day_offset="abc"), "step 3 (How is it going?): day_offset: required, a whole number"),
    (lambda s: s[2].update(day_offset=1.5), "step 3 (How is it going?): day_offset"),
    (lambda s: s[2].update(day_offset=True), "step 3 (How is it going?): day_offset"),
    (lambda s: s[2].update(day_offset="\u0663"), "step 3 (How is it going?): day_offset"),
    (lambda s: s[2].update(day_offset=400), "step 3 (How is it going?): day_offset: between 0 and 365"),
    (lambda s: s[2].update(window_start="25:00"), "step 3 (How is it going?): window_start: a time as HH:MM"),
    (lambda s: s[2].update(window_end=7), "step 3 (How is it going?): window_end: a time as HH:MM"),
    (lambda s: s[2].update(business_days="yes"), "step 3 (How is it going?): business_days: true or false"),
    (lambda s: s[2].update(title="x" * 201), "step 3 (xxxx"),
    (lambda s: s[2].update(script="x" * 5001), "script: at most 5000 characters"),
    (lambda s: s[2].update(colour="red"), "step 3 (How is it going?): colour: not a step field"),
    (lambda s: s[2].update(template_key="welcome"), "template_key: only letter steps use a letter template"),
    (lambda s: s[3].update(key="check_in_call"), "step 4 (NPS survey (day 30)): key: 'check_in_call' is used"),
    (lambda s: s[4].update(condition=["latest_nps"]), "step 5 (Recovery call): condition"),
    (lambda s: s.__setitem__(0, "welcome"), "step 1: must be an object"),
    (lambda s: s.extend({"key": f"k{n}", "day_offset": 1, "kind": "call"} for n in range(41)),
     "Length must be between 1 and 50"),
])
def test_api_put_refuses_bad_steps_naming_step_and_field(app, client, world, change, message):
    steps = default_steps()
    change(steps)
    answer = client.put(f"/api/v1/journeys/{KEY}", json={"steps": steps, "choice": "move"}, headers=admin_headers(app))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert message in answer.get_data(as_text=True)
    assert journeys.current_version(db.session, KEY).version == 1


def test_api_impact_preview_matches_the_put(app, client, mid_way):
    headers = admin_headers(app)
    now = dt.datetime.now(UTC)  # the API reads the clock: every call of the fixture is long due by now
    preview = client.post(f"/api/v1/journeys/{KEY}/impact", json={"steps": edited_steps()}, headers=headers)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert journeys.current_version(db.session, KEY).version == 1  # a preview saves nothing
    saved = client.put(f"/api/v1/journeys/{KEY}", json={"steps": edited_steps(), "choice": "move"}, headers=headers)
    assert saved.status_code == 200
    assert saved.get_json()["summary"] == preview.get_json()["plans"]["move"]
    assert saved.get_json()["summary"]["kept"] >= 3 and now
    bad = client.post(f"/api/v1/journeys/{KEY}/impact", json={"steps": [{"kind": "call"}]}, headers=headers)
    assert bad.status_code == 422 and "step 1: key: required" in bad.get_json()["message"]
    assert client.post("/api/v1/journeys/nope/impact", json={"steps": edited_steps()}, headers=headers).status_code == 404


# --- The edit page: rows, preview counts, one validator -------------------------------------------

def form_of(steps: list[dict], **extra) -> dict:
    data = {"rows": str(len(steps) + 1), "name": "First ninety days", **extra}
    for i, s in enumerate(steps):
        for name in ("key", "title", "day_offset", "kind", "window_start", "window_end", "script", "template_key",
                     "condition"):
            value = s.get(name)
            data[f"{name}-{i}"] = "" if value is None else str(value)
        if s.get("business_days", True):
            data[f"business_days-{i}"] = "on"
    data[f"kind-{len(steps)}"] = "call"  # the blank row
    return data


@pytest.fixture
def admin_page(app, auth, world):
    staff(app, "boss@example.com", "admin")
    auth.login("boss@example.com")
    return auth.csrf(f"/journeys/{KEY}/edit")


def counts(page: str, choice: str) -> dict:
    part = page.split(f'id="choice-{choice}"', 1)[1]
    found = re.search(r'data-customers="(\d+)" data-replanned="(\d+)" data-kept="(\d+)" data-added="(\d+)" '
                      r'data-removed="(\d+)" data-skipped="(\d+)"', part)
    names = ("customers", "replanned", "kept", "added", "removed", "skipped")
    return dict(zip(names, map(int, found.groups())))


def test_page_preview_counts_are_what_the_save_does(client, signer, admin_page):
    now = dt.datetime.now(UTC)
    for n in range(3):
        signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}"), occurred_at=now - dt.timedelta(days=3)))
    tick(now)  # the check-in calls are open, the rest planned
    preview = client.post(f"/journeys/{KEY}/edit", data=form_of(edited_steps(), csrf_token=admin_page,
                                                                  action="preview"))
    assert preview.status_code == 200
    shown = counts(preview.get_data(as_text=True), "move")
    assert shown["customers"] == 3
    saved = client.post(f"/journeys/{KEY}/edit", data=form_of(edited_steps(), csrf_token=admin_page, action="save",
                                                                choice="move"))
    assert saved.status_code == 302
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "journey.edited"))
    assert {k: audit.changes[k] for k in shown} == shown


@pytest.mark.parametrize("rows", ["abc", "3000000", "-1", "", "0", "\u0663", "1" * 50])
def test_page_refuses_a_bad_rows_count(client, admin_page, rows):
    data = form_of(default_steps(), csrf_token=admin_page, action="save", choice="keep")
    data["rows"] = rows
    answer = client.post(f"/journeys/{KEY}/edit", data=data)
    assert answer.status_code == 422
    assert "Steps: a whole number from 1 to 51" in answer.get_data(as_text=True)
    assert journeys.current_version(db.session, KEY).version == 1


def test_page_names_the_step_and_field_like_the_api(client, admin_page):
    steps = default_steps()
    steps[1]["key"] = ""  # a row with a title and no key is not silently dropped
    answer = client.post(f"/journeys/{KEY}/edit", data=form_of(steps, csrf_token=admin_page, action="save",
                                                                choice="move"))
    assert answer.status_code == 422 and "Step 2 (Check-in call), Key: required" in answer.get_data(as_text=True)
    steps = default_steps()
    steps[9]["template_key"] = "thankyou_typo"
    answer = client.post(f"/journeys/{KEY}/edit", data=form_of(steps, csrf_token=admin_page, action="save",
                                                                choice="move"))
    assert answer.status_code == 422
    assert ("Step 10 (Thank-you letter), Letter template: no letter template &#39;thankyou_typo&#39; in "
            "English, Arabic, Persian" in answer.get_data(as_text=True))
    assert journeys.current_version(db.session, KEY).version == 1


# --- Call times and query dates ---------------------------------------------------------------------

@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00",
                                  "2026-01-01T00:00:00+25:00", "2026-01-01T00:00:00+23:59:59",
                                  "2026-01-01T00:00:00+05:30:15.5", "2026-01-01", "soon"])
def test_touchpoint_query_refuses_odd_dates(app, client, world, when):
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'mk@example.com', 'marketing'))}"}
    for name in ("due_from", "due_to"):
        answer = client.get("/api/v1/touchpoints/", query_string={name: when}, headers=headers)
        assert answer.status_code == 422, (name, when, answer.get_data(as_text=True))
        assert name in answer.get_json()["errors"]["query"]
    ok = client.get("/api/v1/touchpoints/", query_string={"due_from": "2026-01-01T00:00:00+05:30"}, headers=headers)
    assert ok.status_code == 200


def test_call_back_and_reschedule_outside_a_year_are_refused(app, client, signer, auth, world):
    now = dt.datetime.now(UTC)
    signer.post(client, sale_completed(occurred_at=now - dt.timedelta(days=3)))
    tick(now)
    call = tp_of("C1", "check_in_call")
    before = snapshot(call)
    owner = db.session.get(type(call.owner), call.owner_id)
    headers = {"Authorization": f"Bearer {token_for(app, owner)}"}
    for when in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00",
                 (now + dt.timedelta(days=400)).isoformat(), (now - dt.timedelta(days=1)).isoformat()):
        answer = client.post(f"/api/v1/touchpoints/{call.id}/outcome", json={"outcome": "call_back",
                                                                            "call_back_at": when}, headers=headers)
        assert answer.status_code == 422, (when, answer.get_data(as_text=True))
        assert "call_back_at" in answer.get_data(as_text=True)
    with pytest.raises(calls.CallError, match=r"due_at: Choose a time between now and .* \(at most a year ahead\)"):
        calls.reschedule(db.session, call.id, due_at=now + dt.timedelta(days=367), now=now, actor="test")
    auth.login(owner.email)
    csrf = auth.csrf("/calls/")
    for when in ("0001-01-01T00:00", "9999-12-31T23:59", "2026-13-01T10:00", "\u0662\u0660\u0662\u0667-01-01T10:00"):
        answer = client.post(f"/calls/{call.id}/reschedule", data={"csrf_token": csrf, "due_at": when})
        assert answer.status_code == 422, when  # the page again, the message next to the field
        page = answer.get_data(as_text=True)
        assert "Choose a time between now and" in page or "Enter a date and time, e.g." in page
        answer = client.post(f"/calls/{call.id}/outcome", data={"csrf_token": csrf, "outcome": "call_back",
                                                               "call_back_at": when})
        assert answer.status_code == 422, when
    assert snapshot(tp_of("C1", "check_in_call")) == before
    for form in ({"owner_id": "99999999999999999999", "touchpoint_id": str(call.id)},
                 {"owner_id": str(owner.id), "touchpoint_id": "\u00b2"},
                 {"owner_id": str(owner.id), "touchpoint_id": "99999999999"}):
        assert client.post("/calls/reassign", data={"csrf_token": csrf, **form}).status_code == 422
    assert client.post(f"/calls/{call.id}/snooze", data={"csrf_token": csrf, "hours": "\u0663"}).status_code == 422
