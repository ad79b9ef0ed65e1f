"""The mail room builds a batch and downloads its PDF; marketing edits a template and sees the preview change."""
from __future__ import annotations

import datetime as dt
import re

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


def test_mail_room_builds_a_batch_and_downloads_the_pdf(app, client, signer, queue, live_server, page, tmp_path):
    queued_letters(client, signer)
    staff(app, "post@example.com", "print")
    login(page, live_server, "post@example.com")
    page.goto(live_server + "/letters/")
    page.check("input[name=duplex]")
    page.click("#batch-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/letters/batches/\d+$"))
    assert page.locator("#batch-status").inner_text() == "building"
    queue.drain()  # the worker builds it
    page.wait_for_selector("#download-pdf:visible")
    assert "3 of 3 letters" in page.locator("#batch-count").inner_text()
    with page.expect_download() as download:
        page.click("#download-pdf")
    path = tmp_path / "batch.pdf"
    download.value.save_as(path)
    with open_pdf(path) as pdf:
        assert len(pdf.pages) == 6  # three one-page letters, each with a blank back for duplex
        assert "Olivia Smith 0" in page_text(pdf.pages[0]) and page_text(pdf.pages[1]).strip() == ""
    page.click("text=Mark printed")
    assert "printed (3 letters)" in page.locator("[role=status]").inner_text()


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
    page.click("text=Save new version")
    assert "version 2" in page.locator("[role=status]").inner_text()
