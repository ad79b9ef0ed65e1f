"""Opening a complaint case from the customer page, in Persian on a 390 px phone, in a real browser: the pages
read right to left and nothing scrolls sideways, a refused form keeps what was typed with the message in
Persian next to the field, and the case page shows the case in Persian with the intake questions, the advice for
the customer's type and, for social media, the public reply in the customer's language."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.complaints import types
from retention.complaints.categories import ensure_default_categories
from retention.complaints.models import Complaint
from retention.customers.models import Customer
from retention.extensions import db
from retention.tick import run as tick
from tests.browser.conftest import login
from tests.factories import customer, sale_completed, staff
from tests.journeys.conftest import world  # noqa: F401 (the fixture)

PHONE = {"width": 390, "height": 844}


def _fits(page, selectors=()) -> None:
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, \
        f"{page.url} scrolls sideways at 390 px"
    for selector in selectors:
        box = page.locator(selector).first.bounding_box()
        assert box and box["x"] >= -1 and box["x"] + box["width"] <= PHONE["width"] + 1, f"{selector} is off-screen"


def test_open_a_case_from_the_customer_page_in_persian_on_a_phone(app, world, client, signer, live_server,  # noqa: F811
                                                                  browser):
    now = dt.datetime.now(dt.timezone.utc)
    staff(app, "sara@example.com", "onboarding", name="سارا احمدی", locale="fa", timezone="Asia/Tehran",
          country="IR")
    signer.post(client, sale_completed(cust=customer("C1", name="مهدی رضایی", locale="fa", timezone="Asia/Tehran"),
                                       occurred_at=now - dt.timedelta(days=3)))
    tick(now)
    ensure_default_categories(db.session, now)
    person = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    types.set_customer_type(db.session, person, "chronic", staff_id=None, now=now, actor="test")
    db.session.commit()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, "sara@example.com")
        page.wait_for_load_state()
        page.goto(live_server + "/customers/C1")
        _fits(page, ("#complaints",))
        assert "همیشه شاکی" in page.locator("#customer-type-now").inner_text()
        page.click("#open-case")
        page.wait_for_selector("#new-case")
        _fits(page, ("#new-case",))
        assert page.locator("#social-only").is_hidden()  # the post's address only matters for social media
        page.select_option("#f-channel", "social")
        assert page.locator("#social-only").is_visible()
        page.select_option("#f-category", label="ارسال و تحویل")
        page.select_option("#f-severity", "high")
        page.fill("#f-summary", "بستهٔ قهوه‌ساز له شده رسید و در اینستاگرام نوشته است.")
        page.click("#new-case button[type=submit]")
        page.wait_for_selector("#err-public_url")
        assert "نشانی" in page.locator("#err-public_url").inner_text() or \
            "شبکه‌های اجتماعی" in page.locator("#err-public_url").inner_text()
        assert page.input_value("#f-summary") == "بستهٔ قهوه‌ساز له شده رسید و در اینستاگرام نوشته است."
        _fits(page, ("#new-case", "#err-public_url"))
        assert db.session.scalar(select(Complaint.id)) is None
        page.fill("#f-public_url", "https://instagram.example.com/p/C1")
        page.click("#new-case button[type=submit]")
        page.wait_for_selector(".case-page")
        _fits(page, ("#case-facts", "#case-moves", "#answers", "#customer-type", "#social", "#case-history"))
        assert page.locator("#case-status").inner_text() == "جدید"
        assert "ارسال و تحویل" in page.locator("#case-category").inner_text()
        assert "سفارش قرار بود کی برسد" in page.locator("#answers").inner_text()
        assert "صبور باشید" in page.locator("#type-advice").inner_text()  # the chronic complainer's advice
        reply = page.locator("#public-reply")
        assert reply.get_attribute("lang") == "fa" and reply.get_attribute("dir") == "rtl"
        assert "پیام خصوصی" in reply.input_value()
        # the title sits on the right in a right-to-left page
        heading = page.locator(".case-head h1").bounding_box()
        assert heading["x"] + heading["width"] > PHONE["width"] * 0.6
        page.screenshot(path="/tmp/complaint-case-fa-390.png", full_page=True)
        db.session.expire_all()
        case = db.session.scalar(select(Complaint))
        assert (case.channel, case.severity, case.category, case.source) == ("social", "high", "delivery", "staff")
    finally:
        context.close()
