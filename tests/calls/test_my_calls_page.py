"""My calls tells who to call first and what to say: priority, both clocks, scripts per language, forms that
keep what was typed; ad-hoc calls and notes from the customer page."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.calls import adhoc, service as calls
from retention.calls.models import CustomerNote
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.journeys.service import ensure_default_journey
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, staff

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 6, 10, 6, 0, tzinfo=UTC)       # a Wednesday, 07:00 in London
NOW = dt.datetime(2026, 6, 11, 7, 0, tzinfo=UTC)      # Thursday 08:00 in London
OLD = dt.timedelta(days=10)  # an NPS answer this old on arrival only feeds the facts (no follow-up call of its own)


@pytest.fixture
def lena(app):
    return staff(app, "lena@example.com", "onboarding", timezone="Europe/London", country="GB", name="Lena",
                 work_start="00:00", work_end="23:59")


def people(client, signer, *specs, at=T0):
    """Customers by (id, overrides) through the inbox, as the shop would send them."""
    for cid, overrides in specs:
        signer.post(client, event("customer.upserted", {"customer": customer(cid, **overrides)}, occurred_at=at))
    tick(at)
    return {c.external_id: c for c in db.session.scalars(select(Customer))}


def ids_in(group):
    return [card.customer.external_id for card in group]


def test_overdue_first_then_what_matters_before_routine_calls_then_due_time(app, client, signer, lena):
    found = people(client, signer, *[(cid, {"name": cid}) for cid in ("LATE", "EARLY", "DETRACTOR", "UNHAPPY",
                                                                       "COMPLAINT", "SILENT")])
    # an answer from an import (older than surveys.service.EVENT_FOLLOW_UP_WITHIN): a detractor, no recovery call yet
    signer.post(client, event("nps.response", {"customer_id": "DETRACTOR", "score": 3}, occurred_at=T0 - OLD))
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "COMPLAINT", "channel": "social",
                                                   "category": "delivery", "summary": "late"}, occurred_at=T0))
    tick(T0)
    earlier = adhoc.open_call(found["UNHAPPY"], purpose="follow_up", owner=lena, now=T0, actor="test")
    calls.log_outcome(db.session, earlier.id, staff=lena, outcome="reached", sentiment="unhappy", now=T0)
    found["SILENT"].silent_at = T0
    due = {"LATE": T0, "EARLY": NOW + dt.timedelta(hours=1), "SILENT": NOW + dt.timedelta(hours=2),
           "COMPLAINT": NOW + dt.timedelta(hours=3), "UNHAPPY": NOW + dt.timedelta(hours=4),
           "DETRACTOR": NOW + dt.timedelta(hours=5)}
    for cid, when in due.items():
        adhoc.open_call(found[cid], purpose="follow_up", owner=lena, due_at=when, now=T0, actor="test")
    db.session.commit()

    groups = calls.my_calls(db.session, lena, NOW)
    assert ids_in(groups["overdue"]) == ["LATE"]
    # a detractor, an unhappy last call, an open complaint, a silent customer, then routine; each later due
    assert ids_in(groups["today"]) == ["DETRACTOR", "UNHAPPY", "COMPLAINT", "SILENT", "EARLY"]
    assert groups["today"][0].flags == ("detractor",) and groups["today"][-1].flags == ()


def test_the_page_lists_them_in_that_order_and_says_why(app, client, signer, auth, clock, lena):
    found = people(client, signer, ("ROUTINE", {"name": "Routine Person"}), ("DET", {"name": "Detractor Person"}),
                   ("COMPL", {"name": "Complaint Person"}))
    signer.post(client, event("nps.response", {"customer_id": "DET", "score": 2}, occurred_at=T0 - OLD))
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "COMPL", "channel": "social",
                                                   "category": "delivery", "summary": "late"}, occurred_at=T0))
    tick(T0)
    adhoc.open_call(found["ROUTINE"], purpose="follow_up", owner=lena, due_at=NOW, now=T0, actor="test")
    adhoc.open_call(found["DET"], purpose="customer_request", owner=lena, due_at=NOW + dt.timedelta(hours=3),
                    now=T0, actor="test")
    adhoc.open_call(found["COMPL"], purpose="complaint_follow_up", owner=lena, due_at=NOW + dt.timedelta(hours=2),
                    now=T0, actor="test")
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    assert page.index("Detractor Person") < page.index("Complaint Person") < page.index("Routine Person")
    assert "Unhappy in the survey: latest NPS 2" in page
    assert "Opened by a colleague: The customer asked to be called" in page
    assert "1 complaint is open" in page
    # reassigning many: one flash in words, the calls gone from this list
    mia = staff(app, "mia@example.com", "onboarding", name="Mia")
    ids = [str(tp.id) for tp in db.session.scalars(select(Touchpoint))]
    done = client.post("/calls/reassign", data={"csrf_token": auth.csrf("/calls/"), "touchpoint_id": ids,
                                               "owner_id": str(mia.id)}, follow_redirects=True)
    assert "Reassigned 3 calls." in done.get_data(as_text=True) and "Routine Person" not in done.get_data(as_text=True)


def test_card_shows_the_customers_time_and_the_due_time_on_both_clocks_with_their_names(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("C1", {"name": "Maryam Ahmadi", "locale": "fa", "timezone": "Asia/Tehran",
                                          "phone": "+98 912 123 4567"}))
    adhoc.open_call(found["C1"], purpose="follow_up", owner=lena, due_at=NOW + dt.timedelta(hours=2), now=T0,
                    actor="test")
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    card = page[page.index('data-customer="C1"'):]
    card = card[:card.index("</article>")]
    # 09:00 UTC = 12:30 in Tehran, 10:00 in London
    assert re.search(r'class="due-customer">[^<]*12:30 <span class="muted">\(customer(&#39;|\')s clock: Iran Time\)', card)
    assert re.search(r'class="due-mine">[^<]*10:00 <span class="muted">\(your clock: United Kingdom Time\)', card)
    assert re.search(r'class="customer-now">[^<]*10:30 <span class="muted">\(Iran Time\)', card)  # 07:00 UTC
    assert "Persian" in card  # the language the customer speaks
    assert '<a class="phone" href="tel:+989121234567"><bdi dir="ltr">+989121234567</bdi></a>' in card


def test_no_outcome_is_chosen_for_the_caller_and_every_input_has_a_visible_label(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("C1", {}))
    tp = adhoc.open_call(found["C1"], purpose="follow_up", owner=lena, now=T0, actor="test")
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    select_html = page[page.index(f'id="outcome-{tp.id}"'):]
    select_html = select_html[:select_html.index("</select>")]
    assert re.findall(r"<option[^>]*selected", select_html) == ['<option value="" selected']
    assert "required" in select_html.split(">")[0]
    for field in (f"outcome-{tp.id}", f"sentiment-{tp.id}", f"notes-{tp.id}", f"call-back-{tp.id}",
                  f"snooze-{tp.id}", f"due-{tp.id}", "reassign-to"):
        assert f'<label for="{field}">' in page, field
    # sending none is refused with a message next to the field; nothing changes
    csrf = auth.csrf("/calls/")
    refused = client.post(f"/calls/{tp.id}/outcome", data={"csrf_token": csrf, "notes": "spoke briefly"})
    assert refused.status_code == 422
    assert "Choose what came of the call." in refused.get_data(as_text=True)
    assert db.session.get(Touchpoint, tp.id).attempts == 0


def test_a_bad_call_back_time_comes_back_in_persian_with_the_notes_kept(app, client, signer, auth, clock, lena):
    sara = staff(app, "sara@example.com", "onboarding", timezone="Asia/Tehran", country="IR", locale="fa",
                 name="Sara", work_start="00:00", work_end="23:59")
    found = people(client, signer, ("C1", {}))
    tp = adhoc.open_call(found["C1"], purpose="follow_up", owner=sara, now=T0, actor="test")
    db.session.commit()
    clock.set(NOW)
    auth.login("sara@example.com")
    csrf = auth.csrf("/calls/")
    answer = client.post(f"/calls/{tp.id}/outcome", data={
        "csrf_token": csrf, "outcome": "call_back", "notes": "فردا عصر تماس بگیرید", "sentiment": "neutral",
        "call_back_at": "2020-01-01T10:00"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'dir="rtl"' in page
    error = re.search(rf'<p class="field-error" id="call-back-{tp.id}-error">([^<]*)</p>', page).group(1)
    assert error.startswith("زمانی بین اکنون و")  # in Persian, next to the call-back field
    assert "فردا عصر تماس بگیرید</textarea>" in page  # the notes typed are kept
    assert 'value="2020-01-01T10:00"' in page and '<option value="call_back" selected>' in page
    assert '<option value="neutral" selected>' in page
    assert db.session.get(Touchpoint, tp.id).attempts == 0


def test_the_card_reads_the_script_in_the_customers_language_else_english(app, client, signer, auth, clock, lena):
    ensure_default_journey(db.session, T0)
    sold = NOW - dt.timedelta(days=3)
    for sale_id, cid, locale in (("S1", "FA", "fa"), ("S2", "AR", "ar"), ("S3", "DE", "de")):
        signer.post(client, sale_completed(sale_id, cust=customer(cid, name=f"Customer {cid}", locale=locale),
                                           occurred_at=sold))
    tick(sold)
    db.session.execute(Touchpoint.__table__.update().values(owner_id=lena.id))
    db.session.commit()
    tick(NOW)
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)

    def card(cid):
        part = page[page.index(f'data-customer="{cid}"'):]
        return part[:part.index("</article>")]

    assert '<p lang="fa" dir="rtl">سلام، وقت‌تان بخیر.' in card("FA")
    assert '<p lang="ar" dir="rtl">مرحباً، معك (اسمك)' in card("AR")
    assert '<p lang="en" dir="ltr">Hello, this is (your name).' in card("DE")  # no German script: English
    assert "What to say (English)" in card("DE")


def test_every_call_step_of_the_default_journey_has_a_script_in_english_arabic_and_persian():
    from retention.journeys.service import DEFAULT_JOURNEY

    calls_steps = [s for s in DEFAULT_JOURNEY["steps"] if s["kind"] == "call"]
    assert len(calls_steps) == 5
    for step in calls_steps:
        assert set(step["scripts"]) == {"en", "ar", "fa"}, step["key"]
        assert all(len(text) > 40 for text in step["scripts"].values()), step["key"]


def test_script_for_falls_back_to_english_then_any():
    from retention.journeys.models import JourneyStep

    step = JourneyStep(scripts={"en": "Hello", "fa": "سلام"})
    assert step.script_for("fa") == ("fa", "سلام") and step.script_for("fa-IR") == ("fa", "سلام")
    assert step.script_for("de") == ("en", "Hello") and step.script_for(None) == ("en", "Hello")
    assert JourneyStep(scripts={"ar": "مرحبا"}).script_for("en") == ("ar", "مرحبا")
    assert JourneyStep(scripts={}).script_for("en") == ("", "")
    old = JourneyStep(script="Say hi")  # the single script of old steps and API clients is the English one
    assert old.scripts == {"en": "Say hi"}


def test_the_api_keeps_the_old_single_script_as_english(app, client, world):
    from retention.journeys.service import validate_steps

    [step] = validate_steps([{"key": "a", "kind": "call", "day_offset": 1, "script": "Say hi",
                              "scripts": {"fa": "سلام"}}])
    assert step["scripts"] == {"en": "Say hi", "fa": "سلام"}
    with pytest.raises(Exception, match="scripts"):
        validate_steps([{"key": "a", "kind": "call", "day_offset": 1, "scripts": {"xx": "?"}}])


def test_an_adhoc_call_from_the_customer_page_appears_in_my_calls_with_its_purpose(
        app, client, signer, auth, clock, lena):
    people(client, signer, ("C1", {"name": "Layla Haddad"}))
    clock.set(NOW)
    auth.login("lena@example.com")
    csrf = auth.csrf("/customers/C1")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Log a call" in page and "Add a note" in page and "Schedule a call" in page
    done = client.post("/calls/customer/C1/schedule", data={"csrf_token": csrf, "purpose": "fix_address",
                                                           "owner_id": str(lena.id), "note": "new flat"})
    assert done.status_code == 302
    calls_page = client.get("/calls/").get_data(as_text=True)
    card = calls_page[calls_page.index('data-customer="C1"'):]
    assert "Fix the address: mail came back" in card[:card.index("</article>")]
    assert "new flat" in card[:card.index("</article>")]
    timeline = client.get("/customers/C1").get_data(as_text=True)
    assert "Call opened: Fix the address: mail came back" in timeline


def test_schedule_refused_keeps_what_was_typed(app, client, signer, auth, clock, lena):
    people(client, signer, ("C1", {}))
    clock.set(NOW)
    auth.login("lena@example.com")
    csrf = auth.csrf("/customers/C1")
    refused = client.post("/calls/customer/C1/schedule", data={"csrf_token": csrf, "purpose": "",
                                                              "note": "call about the invoice"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose why this call is needed." in page
    assert "call about the invoice</textarea>" in page
    assert db.session.scalar(select(Touchpoint)) is None


def test_a_note_goes_on_the_timeline_with_an_audit_entry(app, client, signer, auth, clock, lena):
    people(client, signer, ("C1", {}))
    clock.set(NOW)
    auth.login("lena@example.com")
    csrf = auth.csrf("/customers/C1")
    assert client.post("/calls/customer/C1/note", data={"csrf_token": csrf,
                                                        "note": "Prefers WhatsApp"}).status_code == 302
    timeline = client.get("/customers/C1").get_data(as_text=True)
    assert "Prefers WhatsApp" in timeline[timeline.index('id="timeline"'):]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.note"))
    assert entry.actor == f"staff:{lena.id}" and entry.entity_id == "C1"
    assert db.session.scalar(select(CustomerNote)).text == "Prefers WhatsApp"
    empty = client.post("/calls/customer/C1/note", data={"csrf_token": csrf, "note": "  "})
    assert empty.status_code == 422 and "Write the note first." in empty.get_data(as_text=True)


def test_a_call_made_now_is_logged_from_the_customer_page(app, client, signer, auth, clock, lena):
    people(client, signer, ("C1", {}))
    clock.set(NOW)
    auth.login("lena@example.com")
    csrf = auth.csrf("/customers/C1")
    done = client.post("/calls/customer/C1/log", data={"csrf_token": csrf, "outcome": "reached",
                                                      "sentiment": "happy", "notes": "called us about filters"})
    assert done.status_code == 302
    timeline = client.get("/customers/C1").get_data(as_text=True)
    assert "Call: reached" in timeline and "called us about filters" in timeline
    assert {a.action for a in db.session.scalars(select(AuditEntry))} >= {"call.opened", "call.outcome"}


def test_marketing_sees_neither_the_call_forms_nor_the_text_of_notes(app, client, signer, auth, clock, lena):
    found = people(client, signer, ("C1", {}))
    adhoc.log_note(found["C1"], "private words", now=T0, actor=f"staff:{lena.id}")
    db.session.commit()
    staff(app, "mark@example.com", "marketing")
    auth.login("mark@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Log a call" not in page and "private words" not in page
    assert client.post("/calls/customer/C1/note", data={"csrf_token": auth.csrf("/customers/C1"),
                                                        "note": "x"}).status_code == 403
