"""Email in a real browser: a customer follows the unsubscribe link of a received email on a phone (Persian, right
to left), and an admin reads that email in the outbox, its HTML in a sandbox where no script runs."""
from __future__ import annotations

import datetime as dt
import re

from retention.extensions import db
from retention.mail.models import CustomerOptOut
from retention.mail.sending import send_queued
from retention.mail.service import queue_email, render_email
from tests.browser.conftest import PHONE, login
from tests.factories import staff
from tests.mail.conftest import add_customer

NOW = dt.datetime.now(dt.timezone.utc)


def test_a_customer_unsubscribes_from_a_received_email_and_an_admin_reads_it(app, live_server, browser, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server)
    customer = add_customer(locale="fa", name="مریم احمدی")
    html, text = render_email("message", "fa", subject="سپاس از خرید شما", paragraphs=["سلام مریم"])
    html = html.replace("سلام مریم", 'سلام مریم<span id="probe">safe</span>'
                        "<script>document.getElementById('probe').textContent = 'ran'</script>")
    row = queue_email(db.session, customer, kind="test", subject="سپاس از خرید شما", text=text, html=html, now=NOW,
                      ref="browser:1")
    db.session.commit()
    send_queued(db.session, NOW)
    received = smtp_server.messages[0].get_body(("html",)).get_content()
    link = re.search(r'href="([^"]*/unsubscribe/[^"]+)"', received).group(1)

    context = browser.new_context(viewport=PHONE, locale="en-GB")  # an English browser: the page follows the customer
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(link)
        assert page.locator("html").get_attribute("dir") == "rtl" and page.locator("html").get_attribute("lang") == "fa"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        button = page.locator("#unsubscribe")
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        button.click()
        page.wait_for_selector("#unsubscribed")
        assert page.locator("h1").inner_text().strip() == "اشتراک شما لغو شد"
        db.session.expire_all()
        assert db.session.query(CustomerOptOut).filter_by(customer_id=customer.id, channel="email").count() == 1
    finally:
        context.close()

    staff(app, "admin@example.com", "admin")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, "admin@example.com")
        page.wait_for_load_state()
        page.goto(f"{live_server}/admin/outbox/{row.id}")
        frame_element = page.locator("iframe#email-html")
        assert frame_element.get_attribute("sandbox") == ""
        frame = page.frame_locator("iframe#email-html")
        assert frame.locator("#probe").inner_text() == "safe"  # the email's script did not run
        assert "سلام مریم" in frame.locator("body").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
