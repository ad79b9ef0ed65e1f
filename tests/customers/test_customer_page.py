"""The customer page in the reader's language: plan and timeline in words, dates in their calendar, whose clock,
conditions that are not decided yet said as such, touchpoint reasons from their code."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import jdatetime
import pytest

from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, staff

UTC = dt.timezone.utc

# English a Persian or Arabic reader must not meet in the plan or on the timeline (data such as names aside).
ENGLISH = ["Call", "call", "Scheduled", "scheduled", "Open", "skipped", "Skipped", "handed", "Handed", "Recovery",
           "Check-in", "check-in", "only if", "detractor", "promoter", "passive", "complaint", "Sale completed",
           "Letter", "letter", "survey", "Survey", "Due", "Step", "Owner", "Status", "Outcome", "Attempt", "attempt",
           "ninety", "Journey", "journey", "Version", "UTC", "Delivered", "Customer", "Pause", "Skip", "Welcome",
           "Thank", "Referral", "going", "NPS answer", "Score", "reached", "no answer", "Times on your clock"]


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def section(page: str, start: str, end: str = "</section>") -> str:
    at = page.index(start)
    return page[at:page.index(end, at)]


def plan_and_timeline(page: str) -> str:
    parts = [section(page, m.group(0)) for m in re.finditer(r'<section class="card" id="enrollment-\d+">', page)]
    parts.append(section(page, '<ol class="timeline"', "</ol>"))
    return "\n".join(_text(p) for p in parts)


@pytest.fixture
def world(app, client, signer):
    """A Persian customer four days after her sale on the default journey, her check-in call open; a Persian caller."""
    from retention.journeys.service import ensure_default_journey

    now = dt.datetime.now(UTC)
    ensure_default_journey(db.session, now - dt.timedelta(days=30))
    sara = staff(app, "sara@example.com", "onboarding", timezone="Asia/Tehran", country="IR", locale="fa",
                 name="سارا احمدی", work_start="00:00", work_end="23:59")
    sold = now - dt.timedelta(days=4)
    cust = customer("C7", name="زهرا محمدی", locale="fa", timezone="Asia/Tehran", phone="+989121234567",
                    address={"lines": ["خیابان ولیعصر ۱۲"], "city": "تهران", "region": "", "postal_code": "1965",
                             "country": "IR"})
    signer.post(client, sale_completed(cust=cust, occurred_at=sold, product="دستگاه اسپرسو", amount="27258000",
                                       currency="IRR"))
    tick(now)
    check_in = _call("check_in_call")  # due an hour ago (not "enrolled late"): the tick opens it
    check_in.status, check_in.reason, check_in.reason_code = "scheduled", None, None
    check_in.due_at = now - dt.timedelta(hours=1)
    db.session.commit()
    tick(now)
    db.session.commit()
    return {"sara": sara, "sold": sold, "now": now}


def _call(step_key: str) -> Touchpoint:
    from sqlalchemy import select

    from retention.journeys.models import JourneyStep

    return db.session.scalar(select(Touchpoint).join(JourneyStep, Touchpoint.step_id == JourneyStep.id)
                             .where(JourneyStep.key == step_key))


def test_persian_page_plan_and_timeline_have_no_english(app, client, auth, signer, world):
    from retention.calls.service import log_outcome

    check_in = _call("check_in_call")
    log_outcome(db.session, check_in.id, staff=world["sara"], outcome="no_answer", now=world["now"],
                notes="جواب نداد")
    db.session.commit()
    signer.post(client, event("nps.response", {"customer_id": "C7", "score": 4, "comment": "دیر رسید"},
                              occurred_at=world["now"] - dt.timedelta(hours=1)))
    tick(world["now"])
    auth.login("sara@example.com")
    page = client.get("/customers/C7").get_data(as_text=True)
    assert 'dir="rtl"' in page and 'lang="fa"' in page
    words = plan_and_timeline(page)
    left = [w for w in ENGLISH if w in words]
    assert not left, f"English on the Persian page: {left}\n{words}"
    # ...and what it says instead, in Persian words
    assert "نود روز نخست" in words                   # the journey's name
    assert "تماس احوال‌پرسی" in words                # the check-in call
    assert "تلاش ۲ از ۳، پس از: بی‌پاسخ" in words     # its retry, from the reason's code, in Persian digits
    assert "تماس: بی‌پاسخ" in words                  # the call on the timeline
    assert "امتیاز ۴ از ۱۰" in words and "دیر رسید" in words
    assert "زمان‌ها به وقت شما (وقت ایران)" in words  # whose clock


def test_a_step_whose_condition_is_not_decided_says_so(app, client, auth, world):
    """A customer without an NPS answer: the recovery call is "only if detractor", not scheduled for everyone."""
    auth.login("sara@example.com")
    en = client.get("/customers/C7?lang=en").get_data(as_text=True)

    def row(page, key):
        return _text(section(page, f'data-step="{key}"', "</tr>"))

    assert "only if detractor" in row(en, "detractor_recovery_call")
    assert "only if passive" in row(en, "passive_call")
    assert "only if promoter and no open complaint" in row(en, "referral_offer")
    assert "only if" not in row(en, "check_in_call") and "only if" not in row(en, "how_is_it_going_call")
    fa = client.get("/customers/C7").get_data(as_text=True)
    assert "فقط اگر مشتری منتقد باشد" in row(fa, "detractor_recovery_call")
    ar = client.get("/customers/C7?lang=ar").get_data(as_text=True)
    assert "فقط إذا كان العميل منتقدًا" in row(ar, "detractor_recovery_call")


def test_once_decided_the_condition_is_no_longer_shown(app, client, auth, world):
    tp = _call("detractor_recovery_call")
    tp.status, tp.reason = "skipped", "condition was false when due"
    db.session.commit()
    auth.login("sara@example.com")
    en = client.get("/customers/C7?lang=en").get_data(as_text=True)
    row = _text(section(en, 'data-step="detractor_recovery_call"', "</tr>"))
    assert "only if" not in row and "Its condition did not hold when it was due" in row


def test_persian_dates_are_solar_hijri_with_whose_clock(app, client, auth, world):
    auth.login("sara@example.com")
    page = client.get("/customers/C7").get_data(as_text=True)
    sold = jdatetime.datetime.fromgregorian(datetime=world["sold"].astimezone(
        dt.timezone(dt.timedelta(hours=3, minutes=30))).replace(tzinfo=None), locale="fa_IR")
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    expected = f"{sold.day} {sold.strftime('%B')} {sold.year}".translate(persian)
    assert expected in _text(section(page, 'id="sales"'))
    assert "۲۷٬۲۵۸٬۰۰۰" in page and "ریال" in page    # IRR in Persian digits, by its name
    contact = _text(section(page, 'id="contact"'))
    assert "وقت ایران" in contact and "فارسی" in contact and "ایران" in contact  # zone, language and country by name
    assert 'href="tel:+989121234567"' in page and '<bdi dir="ltr">+989121234567</bdi>' in page
    assert "UTC" not in _text(page)


def test_english_page_shows_the_customers_clock_for_calls(app, client, auth, world):
    staff(app, "emma@example.com", "onboarding", timezone="Europe/London", country="GB", locale="en")
    auth.login("emma@example.com")
    page = client.get("/customers/C7").get_data(as_text=True)
    assert "Times on your clock (United Kingdom Time)." in page
    row = _text(section(page, 'data-step="how_is_it_going_call"', "</tr>"))
    assert "their time" in row
    contact = _text(section(page, 'id="contact"'))
    assert "Persian" in contact and "Iran Time" in contact and "Their time now:" in contact
    # plan table: cards on a phone (every cell labelled), pause and skip ask first
    plan = section(page, '<table class="plan responsive">', "</table>")
    assert plan.count("<td ") == plan.count("data-label=")
    assert 'data-confirm="Pause this journey' in page and 'data-confirm="Skip this step?' in page


@pytest.mark.parametrize("reason, code, en", [
    ("enrolled late: was due 2026-03-04", "enrolled_late", "Enrolled late: was due 4 Mar 2026"),
    ("version 3: was due 2026-03-04", None, "Journey changed to version 3: was due 4 Mar 2026"),
    ("journey exited (sale.refunded)", None, "Journey ended: refund"),
    ("condition was false when due", None, "Its condition did not hold when it was due"),
    ("email steps are not built yet", None, "Email steps are not available yet"),
    ("condition uses customer_type, not available yet", None, "Its condition uses something not available yet"),
    ("waiting: a complaint is open", None, "Waiting: a complaint is open"),
    ("retry 2 of 3 after voicemail", None, "Attempt 2 of 3, after: voicemail"),
    ("not reached after 3 attempts", None, "Not reached after 3 attempts"),
    ("wrong number: check the phone number", None, "Wrong number: check the phone number"),
    ("customer asked to be called back", None, "The customer asked to be called back"),
    ("snoozed 1 h", None, "Snoozed 1 hour"),
    ("snoozed 4 h", None, "Snoozed 4 hours"),
    ("rescheduled", None, "Rescheduled"),
    ("skipped by staff", None, "Skipped by staff"),
    ("the customer is travelling", None, "the customer is travelling"),  # a person's own words, as written
])
def test_touchpoint_reasons_in_words(app, reason, code, en):
    from retention import formatting
    from retention.journeys.wording import is_typed_by_a_person, reason_words

    with app.test_request_context():
        words = reason_words(reason, code, when=lambda d, form="short": formatting.format_moment(d, "en", form=form))
        assert words == en
        assert is_typed_by_a_person(reason, code) == (reason == "the customer is travelling")


def test_customer_list_in_persian(app, client, auth, world):
    auth.login("sara@example.com")
    page = client.get("/customers/").get_data(as_text=True)
    assert "۱ مشتری" in page                                   # the count, in Persian digits
    table = section(page, '<table class="responsive customers">', "</table>")
    assert table.count("<td ") == table.count("data-label=")
    assert "ایران" in _text(table) and ">IR<" not in table        # the country by name
    assert 'href="tel:+989121234567"' in table
    created = jdatetime.date.fromgregorian(date=dt.datetime.now(UTC).astimezone(
        dt.timezone(dt.timedelta(hours=3, minutes=30))).date())
    assert str(created.year).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in _text(table)
    assert "نام، ایمیل، تلفن یا شناسه" in page                     # the search box's hint
    empty = client.get("/customers/", query_string={"q": "zzz"}).get_data(as_text=True)
    assert "هیچ مشتری‌ای پیدا نشد." in empty
