"""The mail room builds a batch and downloads its PDF; marketing edits a template and sees the preview change."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from retention.extensions import db
from retention.postal.service import ensure_default_templates
from retention.tick import run as tick
from tests.browser.conftest import login
from tests.factories import customer, sale_completed, staff
from tests.letters.letterkit import open_pdf, page_text

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def queued_letters(client, signer, n=3):
    from retention.journeys.service import ensure_default_journey

    ensure_default_journey(db.session, NOW)
    ensure_default_templates(db.session, NOW)
    db.session.commit()
    for i in range(n):
        signer.post(client, sale_completed(f"S{i}", cust=customer(f"C{i}", name=f"Olivia Smith {i}", locale="en"),
                                           occurred_at=NOW))
    tick(NOW + dt.timedelta(hours=12))


def _fits(page) -> None:
    """Nothing sticks out sideways: the page is no wider than the screen."""
    width = page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, page.url


# The print role's main job, in English on a desk and in Persian on a phone: build a batch, download the PDF,
# mark it printed, mark it mailed, record a letter that came back (with its reason).
MAIL_ROOM_JOB = {
    "en": {"viewport": {"width": 1280, "height": 900}, "zone": "Europe/London", "building": "Being laid out",
           "printed": "marked printed", "mailed": "marked mailed", "returned": "Returned to sender",
           "reason": "moved", "count": "3 of 3 letters", "flash": "owner has a call to fix the address"},
    "fa": {"viewport": {"width": 390, "height": 844}, "zone": "Asia/Tehran", "building": "در حال صفحه‌آرایی",
           "printed": "چاپ‌شده ثبت شد", "mailed": "ارسال‌شده با پست ثبت شد", "returned": "به فرستنده برگشت خورد",
           "reason": "unknown_address", "count": "۳ از ۳ نامه", "flash": "تماسی برای اصلاح نشانی دارد"},
}


@pytest.mark.parametrize("language", ["en", "fa"])
def test_mail_room_main_job(app, client, signer, queue, live_server, browser, tmp_path, clock, language):
    from sqlalchemy import select

    from retention.journeys.models import Touchpoint
    from retention.postal.models import Letter, ReturnedMail

    job = MAIL_ROOM_JOB[language]
    clock.set(NOW + dt.timedelta(hours=13))
    staff(app, "omar@example.com", "onboarding", name="Omar Haddad", locale="ar")   # owns the customers
    queued_letters(client, signer)
    staff(app, "post@example.com", "print", locale=language, timezone=job["zone"])
    context = browser.new_context(viewport=job["viewport"])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, "post@example.com")
        page.goto(live_server + "/letters/")
        assert page.get_attribute("html", "dir") == ("rtl" if language == "fa" else "ltr")
        _fits(page)
        page.select_option("#bf-country", "AE")       # chosen by name, not typed
        page.check("input[name=duplex]")
        page.click("#batch-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/letters/batches/\d+$"))
        assert page.locator("#batch-status").inner_text() == job["building"]
        assert page.locator("#action-printed").count() == 0 and page.locator("#action-mailed").count() == 0
        queue.drain()  # the worker builds it
        page.wait_for_selector("#download-pdf:visible")
        _fits(page)
        assert job["count"] in page.locator("#batch-count").inner_text()
        assert page.locator("#action-mailed").count() == 0       # not before it is printed
        with page.expect_download() as download:
            page.click("#download-pdf")
        path = tmp_path / "batch.pdf"
        download.value.save_as(path)
        with open_pdf(path) as pdf:
            assert len(pdf.pages) == 6  # three one-page letters, each with a blank back for duplex
            assert "Olivia Smith 0" in page_text(pdf.pages[0]) and page_text(pdf.pages[1]).strip() == ""
        page.once("dialog", lambda d: d.accept())
        page.click("#action-printed")
        assert job["printed"] in page.locator("[role=status]").inner_text()
        assert page.locator("#action-printed").count() == 0
        page.once("dialog", lambda d: d.accept())
        page.click("#action-mailed")
        assert job["mailed"] in page.locator("[role=status]").inner_text()
        assert page.locator(".batch-actions button").count() == 0   # a mailed batch has nothing left to press
        _fits(page)
        first = page.locator("#batch-letters tbody tr").first
        first.locator("a[href$='/return']").click()
        page.wait_for_url(re.compile(r".*/letters/\d+/return$"))
        _fits(page)
        page.select_option("#reason", job["reason"])
        page.fill("#note", "ساختمان تخریب شده" if language == "fa" else "The building was demolished")
        page.click("#return-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/letters/batches/\d+$"))
        assert job["flash"] in page.locator("[role=status]").inner_text()
        assert job["returned"] in page.locator("#batch-letters tbody tr").first.inner_text()
        _fits(page)
        page.goto(live_server + "/letters/returned")
        assert page.locator("#returns tbody tr").count() == 1
        _fits(page)
    finally:
        context.close()
    db.session.expire_all()
    returned = db.session.scalar(select(ReturnedMail))
    assert returned.reason == job["reason"] and db.session.get(Letter, returned.letter_id).status == "returned"
    assert db.session.get(Touchpoint, returned.call_id).purpose == "fix_address"


def _preview_text(page) -> str:
    data = page.evaluate("""async () => {
        const frame = document.getElementById('preview');
        const bytes = new Uint8Array(await (await fetch(frame.src)).arrayBuffer());
        return Array.from(bytes);
    }""")
    with open_pdf(bytes(data)) as pdf:
        return page_text(pdf.pages[0])


def test_marketing_edits_a_template_and_sees_the_preview_change(app, client, signer, live_server, page):
    queued_letters(client, signer, 1)
    staff(app, "maya@example.com", "marketing")
    login(page, live_server, "maya@example.com")
    page.goto(live_server + "/letters/templates/welcome/en")
    # Predicates are functions, not strings: the page's CSP (no 'unsafe-eval') refuses string evaluation.
    page.wait_for_function("() => document.getElementById('preview').dataset.state === 'ok'")
    assert "Thank you for choosing Demo Shop" in _preview_text(page)
    version = page.get_attribute("#preview", "data-version")
    page.fill("#body", "Dear {{ customer.first_name }},\n\nYour {{ sale.product }} ships on Monday.")
    page.wait_for_function(f"() => document.getElementById('preview').dataset.version !== '{version}' && "
                           "document.getElementById('preview').dataset.state === 'ok'")
    text = _preview_text(page)
    assert "Your Espresso machine Pro ships on Monday." in text and "Thank you for choosing" not in text
    page.fill("#body", "Dear {{ customer.nickname }}")
    page.wait_for_selector("#preview-error:visible")
    assert "nickname" in page.locator("#preview-error").inner_text()
    page.fill("#body", "Dear {{ customer.first_name }}, see you soon.")
    page.click("#save-button")
    assert "version 2" in page.locator("[role=status]").inner_text()
