"""The pages work under their Content Security Policy in Chromium, and another site cannot frame them."""
from __future__ import annotations

import datetime as dt

from retention.extensions import db
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from tests.browser.conftest import login
from tests.factories import staff

NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.timezone.utc)


def test_pages_raise_no_csp_violation(app, live_server, page):
    ensure_default_journey(db.session, NOW)
    ensure_default_templates(db.session, NOW)
    db.session.commit()
    staff(app, "boss@example.com", "admin")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    login(page, live_server, "boss@example.com")
    for path in ("/customers/", "/calls/", "/journeys/", "/reports/work", "/letters/", "/letters/templates/",
                 "/letters/templates/welcome/en", "/admin/events/", "/admin/staff/", "/admin/tokens/"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
    page.goto(live_server + "/letters/templates/welcome/en")
    # The inline script ran (its nonce was accepted): the preview came back, as a PDF or as a message.
    page.wait_for_function("() => !!document.getElementById('preview').dataset.state")
    assert problems == []


def test_another_site_cannot_frame_a_page(app, live_server, page):
    page.set_content(f'<iframe id="f" src="{live_server}/login"></iframe>')
    page.wait_for_timeout(1000)
    framed = [f for f in page.frames if f != page.main_frame]
    assert framed
    # The browser refuses to show it: the frame holds no sign-in form.
    assert all(f.url != f"{live_server}/login" or f.locator("#password").count() == 0 for f in framed)
