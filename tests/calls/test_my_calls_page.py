"""My calls tells who to call first and what to say: priority, both clocks, scripts per language, forms that
keep what was typed; ad-hoc calls and notes from the customer page."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

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


def _card(page: str, tp_id: int) -> str:
    card = page[page.index(f'id="call-{tp_id}"'):]
    return card[:card.index("</article>")]


def test_the_card_counts_only_the_tries_that_did_not_reach_the_customer(app, client, signer, auth, clock, lena):
    found = people(client, signer, ("C1", {}), ("C2", {}))
    tried = adhoc.open_call(found["C1"], purpose="follow_up", owner=lena, now=T0, actor="test")
    asked = adhoc.open_call(found["C2"], purpose="follow_up", owner=lena, now=T0, actor="test")
    calls.log_outcome(db.session, tried.id, staff=lena, outcome="no_answer", now=T0)
    calls.log_outcome(db.session, tried.id, staff=lena, outcome="call_back", now=T0 + dt.timedelta(hours=1),
                      call_back_at=NOW + dt.timedelta(hours=2))
    calls.log_outcome(db.session, asked.id, staff=lena, outcome="call_back", now=T0,
                      call_back_at=NOW + dt.timedelta(hours=3))
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    # two calls made, one of them reached the customer (who asked to be called back): one try of three used
    card = _card(page, tried.id)
    assert "The customer asked to be called back" in card
    assert re.search(r"<dt>Tries that did not reach the customer</dt><dd>1 of 3</dd>", card)
    # reached on the only call made: no try used, nothing to count
    card = _card(page, asked.id)
    assert "The customer asked to be called back" in card and "Tries that did not reach" not in card


def _upcoming_calls(found, lena, n):
    """n calls due tomorrow an hour apart (upcoming), in that order."""
    return [adhoc.open_call(found["UP"], purpose="follow_up", owner=lena, now=T0, actor="test",
                            due_at=NOW + dt.timedelta(days=1, hours=k)) for k in range(n)]


def test_my_calls_shows_todays_work_and_the_next_ten_upcoming_calls_with_a_link_to_more(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {"name": "Upcoming Person"}), ("NOW", {"name": "Today Person"}))
    upcoming = _upcoming_calls(found, lena, 13)
    overdue = adhoc.open_call(found["NOW"], purpose="follow_up", owner=lena, now=T0, actor="test")
    today = [adhoc.open_call(found["NOW"], purpose="follow_up", owner=lena, now=T0, actor="test",
                             due_at=NOW + dt.timedelta(hours=k)) for k in range(1, 13)]
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'<article class="card call" id="call-(\d+)"', page)]
    # today's work in full (overdue and all twelve due today), then the next ten upcoming, in order
    assert shown == [overdue.id] + [tp.id for tp in today] + [tp.id for tp in upcoming[:10]]
    section = page[page.index('<section id="upcoming"'):]
    section = section[:section.index("</section>")]
    assert '<span class="muted small">(13)</span>' in section  # the count is of all of them
    assert "Showing the next 10 of 13 upcoming calls." in section
    link = re.search(r'<a class="button secondary" href="([^"]+)">Show 3 more</a>', section)
    assert link and link.group(1) == f"/calls/?upcoming=13#call-{upcoming[10].id}"  # lands on the first new card
    more = client.get(link.group(1).split("#")[0])
    assert more.status_code == 200
    page = more.get_data(as_text=True)
    assert re.findall(r'<article class="card call" id="call-(\d+)"', page)[-13:] == [str(tp.id) for tp in upcoming]
    assert "Show 3 more" not in page and "Showing the next" not in page  # all shown: no link


def test_the_number_of_upcoming_calls_shown_is_checked_at_the_door(app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {}))
    _upcoming_calls(found, lena, 3)
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    for bad in ("abc", "0", "-5", "501", "1e3", "99999999999999999999999"):
        response = client.get(f"/calls/?upcoming={bad}")
        assert response.status_code == 400, bad
        assert "upcoming" in response.get_data(as_text=True), bad
    assert client.get("/calls/?upcoming=500").status_code == 200
    page = client.get("/calls/?upcoming=2").get_data(as_text=True)
    assert page.count('<article class="card call"') == 2 and "Show 1 more" in page


def test_a_refused_form_on_a_card_past_the_first_ten_shows_that_card_with_the_message(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {}))
    upcoming = _upcoming_calls(found, lena, 12)
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    csrf = auth.csrf("/calls/?upcoming=12")
    late = upcoming[11]
    refused = client.post(f"/calls/{late.id}/reschedule", data={"csrf_token": csrf, "due_at": "2020-01-01T10:00"})
    assert refused.status_code == 422
    card = _card(refused.get_data(as_text=True), late.id)
    assert "Choose a time between now and" in card and 'value="2020-01-01T10:00"' in card


def test_an_admin_looking_at_a_colleagues_calls_keeps_them_when_showing_more(app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {}))
    _upcoming_calls(found, lena, 11)
    staff(app, "root@example.com", "admin")
    db.session.commit()
    clock.set(NOW)
    auth.login("root@example.com")
    page = client.get(f"/calls/?owner={lena.id}").get_data(as_text=True)
    link = re.search(r'<a class="button secondary" href="([^"]+)">Show 1 more</a>', page).group(1)
    assert link.startswith(f"/calls/?upcoming=11&amp;owner={lena.id}#call-")
    page = client.get(link.replace("&amp;", "&").split("#")[0]).get_data(as_text=True)
    assert page.count('<article class="card call"') == 11


def _forms_view(page: str) -> list[dict[str, str]]:
    """The view each form of My calls sends back: {field: value} of its hidden upcoming/owner inputs."""
    forms = re.findall(r'<form [^>]*method="post" action="/calls/.*?</form>', page, re.S)
    return [dict(re.findall(r'<input type="hidden" name="(upcoming|owner)" value="([^"]*)">', form)) for form in forms]


def test_an_action_on_a_card_comes_back_to_the_number_of_upcoming_calls_that_was_open(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {"name": "Upcoming Person"}), ("OTHER", {"name": "Other Person"}))
    upcoming = _upcoming_calls(found, lena, 13)
    handed = adhoc.open_call(found["OTHER"], purpose="follow_up", owner=lena, now=T0, actor="test",
                             due_at=NOW + dt.timedelta(days=3))   # the last upcoming call
    colleague = staff(app, "mo@example.com", "onboarding", timezone="Europe/London", country="GB", name="Mo",
                      work_start="00:00", work_end="23:59")
    db.session.commit()
    clock.set(NOW)
    auth.login("lena@example.com")
    page = client.get("/calls/?upcoming=13").get_data(as_text=True)
    # every form on the page (reassign, and each card's outcome, snooze, reschedule) carries the view
    assert _forms_view(page) == [{"upcoming": "13"}] * (1 + 3 * 13)
    csrf = auth.csrf("/calls/?upcoming=13")
    view = {"csrf_token": csrf, "upcoming": "13"}
    later = (NOW + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    answers = [client.post(f"/calls/{upcoming[0].id}/snooze", data={**view, "hours": "4"}),
               client.post(f"/calls/{upcoming[1].id}/reschedule", data={**view, "due_at": later}),
               client.post(f"/calls/{upcoming[2].id}/outcome", data={**view, "outcome": "reached"}),
               client.post("/calls/reassign", data={**view, "touchpoint_id": str(handed.id),
                                                    "owner_id": str(colleague.id)})]
    for answer in answers:
        assert answer.status_code == 302 and answer.headers["Location"] == "/calls/?upcoming=13"
    page = client.get(answers[0].headers["Location"]).get_data(as_text=True)
    # 14 upcoming: one snoozed into today, one made, one handed to Mo; the 11 left all shown
    assert re.search(r'<section id="upcoming" data-shown="(\d+)"', page).group(1) == "11"
    db.session.expire_all()
    assert db.session.get(Touchpoint, upcoming[2].id).status == "done"
    assert db.session.get(Touchpoint, handed.id).owner_id == colleague.id
    # a refused form shows the same view again, its message next to the field
    refused = client.post(f"/calls/{upcoming[4].id}/reschedule", data={**view, "due_at": "2020-01-01T10:00"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert re.search(r'<section id="upcoming" data-shown="(\d+)"', page).group(1) == "11"
    assert "Choose a time between now and" in _card(page, upcoming[4].id)
    assert set(map(str, _forms_view(page))) == {str({"upcoming": "13"})}
    # without a view (a form from before this page), the default list
    answer = client.post(f"/calls/{upcoming[5].id}/snooze", data={"csrf_token": csrf, "hours": "1"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/calls/"


def test_an_admin_working_a_colleagues_card_comes_back_to_that_colleagues_list(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {}))
    upcoming = _upcoming_calls(found, lena, 12)
    staff(app, "root@example.com", "admin")
    db.session.commit()
    clock.set(NOW)
    auth.login("root@example.com")
    page = client.get(f"/calls/?owner={lena.id}&upcoming=11").get_data(as_text=True)
    assert set(map(str, _forms_view(page))) == {str({"upcoming": "11", "owner": str(lena.id)})}
    csrf = auth.csrf(f"/calls/?owner={lena.id}")
    view = {"csrf_token": csrf, "upcoming": "11", "owner": str(lena.id)}
    answer = client.post(f"/calls/{upcoming[0].id}/snooze", data={**view, "hours": "1"})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/calls/?upcoming=11&owner={lena.id}"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "<bdi>Lena</bdi>" in page   # her list: the snoozed call due today, and all 11 upcoming ones
    shown = re.findall(r'<section id="(today|upcoming)" data-shown="(\d+)"', page)
    assert shown == [("today", "1"), ("upcoming", "11")]
    # refused: Lena's list again (not the admin's own, empty one), with the message on her card
    refused = client.post(f"/calls/{upcoming[10].id}/reschedule", data={**view, "due_at": "2020-01-01T10:00"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<bdi>Lena</bdi>" in page
    assert "Choose a time between now and" in _card(page, upcoming[10].id)


def test_the_view_a_form_sends_back_is_checked_at_the_door_before_anything_changes(
        app, client, signer, auth, clock, lena):
    found = people(client, signer, ("UP", {}))
    (call,) = _upcoming_calls(found, lena, 1)
    db.session.commit()
    due, audited = call.due_at, db.session.scalar(select(func.count()).select_from(AuditEntry))
    clock.set(NOW)
    auth.login("lena@example.com")
    csrf = auth.csrf("/calls/")
    for bad in ("abc", "0", "-5", "501", "1e3", "99999999999999999999999"):
        for path, data in ((f"/calls/{call.id}/snooze", {"hours": "4"}),
                           (f"/calls/{call.id}/outcome", {"outcome": "reached"}),
                           ("/calls/reassign", {"touchpoint_id": str(call.id), "owner_id": str(lena.id)})):
            answer = client.post(path, data={"csrf_token": csrf, "upcoming": bad, **data})
            assert answer.status_code == 400 and "upcoming" in answer.get_data(as_text=True), (path, bad)
    db.session.expire_all()
    still = db.session.get(Touchpoint, call.id)
    assert (still.status, still.due_at) == ("open", due)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audited
