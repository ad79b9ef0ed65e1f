"""A customer answers an NPS survey from a real email (real SMTP), on a 390 px phone, in English and Persian; the
detractor's recovery call is at the top of the owner's My calls and the answer is in marketing's report."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from retention.extensions import db
from retention.tick import run as tick
from tests.browser.conftest import PHONE, login
from tests.factories import staff
from tests.surveys.conftest import T0, World

LINK = re.compile(r'href="(https?://[^"]+/s/[A-Za-z0-9_-]+\?score=(\d+))"')


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width} px wide"


@pytest.mark.parametrize("language", ["en", "fa"])
def test_answer_a_survey_from_the_email_and_see_the_loop_close(app, clock, queue, live_server, browser, smtp_server,
                                                                  language):
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server)
    clock.set(T0)
    world = World(app)
    staff(app, "mia@example.com", "marketing", locale=language)
    cust = world.customer("C1", locale=language)
    world.survey(cust)
    tick(T0)
    queue.drain()  # the send job sends the survey's email (the tick sends none itself)
    [message] = smtp_server.messages
    html = message.get_body(("html",)).get_content()
    links = {int(score): url for url, score in LINK.findall(html)}
    assert sorted(links) == list(range(11))
    clock.set(T0 + dt.timedelta(hours=1))

    phone = browser.new_context(viewport=PHONE)
    page = phone.new_page()
    page.goto(links[3])
    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
    assert page.locator("#score-3").is_checked()
    _no_sideways_scroll(page)
    page.fill("#comment", "The handle broke" if language == "en" else "دستهٔ آن شکست")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#thanks")
    assert page.locator("#score-3").is_checked()
    _no_sideways_scroll(page)
    phone.close()

    owner = browser.new_context(viewport=PHONE)
    page = owner.new_page()
    login(page, live_server, "omar@example.com")
    page.goto(live_server + "/calls/")
    first = page.locator("article.call").first
    assert first.get_attribute("data-customer") == "C1"
    assert "recovery" in first.get_attribute("data-flags")
    assert page.locator("section").first.get_attribute("id") == "first"
    owner.close()

    marketing = browser.new_context(viewport=PHONE)
    page = marketing.new_page()
    login(page, live_server, "mia@example.com")
    page.goto(live_server + "/surveys/reports?class=detractor")
    assert page.locator("#nps-value").get_attribute("data-nps") == "-100.0"
    comment = page.locator(".comment[data-class=detractor]")
    assert ("The handle broke" if language == "en" else "دستهٔ آن شکست") in comment.inner_text()
    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
    _no_sideways_scroll(page)
    marketing.close()
    db.session.remove()
