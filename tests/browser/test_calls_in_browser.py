"""Onboarding staff in a real browser: open My calls, log an outcome, see it on the timeline."""
from __future__ import annotations

import datetime as dt

from retention.tick import run as tick
from tests.browser.conftest import login
from tests.factories import customer, sale_completed, staff

UTC = dt.timezone.utc


def test_log_a_call_outcome_and_see_it_on_the_timeline(app, client, signer, live_server, page):
    from retention.extensions import db
    from retention.journeys.service import ensure_default_journey

    ensure_default_journey(db.session, dt.datetime.now(UTC))
    staff(app, "sara@example.com", "onboarding", timezone="Asia/Tehran", country="IR", locale="fa",
          work_start="00:00", work_end="23:59")
    sold = dt.datetime.now(UTC) - dt.timedelta(days=4)
    signer.post(client, sale_completed(cust=customer("C7", name="زهرا محمدی"), occurred_at=sold))
    tick(dt.datetime.now(UTC))

    login(page, live_server, "sara@example.com")
    page.wait_for_url("**/calls/")
    assert page.locator("html").get_attribute("dir") == "rtl"  # Persian staff get a right-to-left page
    card = page.locator("article.call[data-customer=C7]")
    assert "زهرا محمدی" in card.inner_text()
    card.locator("select[name=outcome]").select_option("reached")
    card.locator("select[name=sentiment]").select_option("happy")
    card.locator("input[name=notes]").fill("راضی است، the espresso machine works")
    card.locator("button", has_text="Log outcome").click()
    page.wait_for_selector("[role=status]")
    assert "Saved: reached" in page.locator("[role=status]").inner_text()
    assert page.locator("article.call[data-customer=C7]").count() == 0 or "How is it going" in \
        page.locator("article.call[data-customer=C7]").first.inner_text()

    page.goto(live_server + "/customers/C7")
    timeline = page.locator("#timeline")
    assert "Call: reached" in timeline.inner_text()
    assert "راضی است، the espresso machine works" in timeline.inner_text()
    assert page.locator("tr[data-step=check_in_call]").get_attribute("data-status") == "done"
