"""Each role's main job, in English, Arabic and Persian, on a phone (390 px), as a person would do it.

Onboarding signs in to My calls and logs an outcome; marketing opens the letter templates and previews one;
the mail room opens its print batches and a batch; an admin opens the events and, through the menu, the
staff list. Every page is checked to be in the reader's language (words of the page in that language, no
English words of the interface left in Arabic and Persian) and direction. One seeded site and one browser
serve the whole module (tests/browser/conftest.py: `demo_site`).
"""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, gettext

from tests.browser.conftest import LANGUAGES, staff_email

# Words of the interface that must not be left in English on an Arabic or Persian page.
ENGLISH = ("Sign out", "Menu", "Customers", "Work ahead", "My calls", "Print batches", "Letter templates", "Events",
           "Log outcome", "Snooze", "Reschedule", "Overdue", "Due today", "Preview", "Returned mail", "Batch")


def words(app, language: str, *messages: str) -> list[str]:
    """The messages as a reader of `language` sees them."""
    with app.test_request_context(), force_locale(language):
        return [str(gettext(m)) for m in messages]


def open_menu(page) -> None:
    """On a phone the pages and the account are behind the header's Menu button."""
    summary = page.locator("header details.menu > summary")
    if summary.is_visible() and page.locator("header details.menu[open]").count() == 0:
        summary.click()


def close_menu(page) -> None:
    """Close the phone menu again (it lies over the page, as a menu does), as a person would before going on."""
    if page.locator("header details.menu[open]").count() and page.locator("header details.menu > summary").is_visible():
        page.locator("header details.menu > summary").click()


def assert_in_language(page, app, language: str, *expected: str) -> None:
    """The page speaks `language`: its direction, the expected messages translated, no English interface words."""
    direction = "rtl" if language in ("ar", "fa") else "ltr"
    assert page.locator("html").get_attribute("dir") == direction
    assert page.locator("html").get_attribute("lang") == language
    open_menu(page)
    text = page.locator("body").inner_text()
    for message, translated in zip(expected, words(app, language, *expected)):
        assert translated in text, f"{page.url}: {message!r} is not shown as {translated!r} in {language}"
    if language != "en":
        left = [text[max(0, m.start() - 30):m.end() + 30] for w in ENGLISH
                for m in [re.search(rf"\b{re.escape(w)}\b", text)] if m]
        assert not left, f"{page.url} in {language} still shows English: {left}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, f"{page.url} scrolls sideways"
    close_menu(page)


def start(site, role: str, language: str):
    """A new tab of the role's signed-in phone, on their start page."""
    page = site.context(role, language).new_page()
    page.goto(site.url + "/")
    page.wait_for_load_state()
    return page


@pytest.mark.parametrize("language", LANGUAGES)
def test_onboarding_opens_my_calls_and_logs_an_outcome(demo_site, language):
    customer = demo_site.values["calls"][language][0]  # a due call of theirs (tests/browser/conftest.py)
    page = start(demo_site, "onboarding", language)
    assert page.url.endswith("/calls/"), f"onboarding starts on {page.url}, not My calls"
    assert_in_language(page, demo_site.app, language, "My calls", "Log outcome", "Sign out")
    card = page.locator(f"article.call[data-customer='{customer}']")
    assert card.count() == 1
    card.locator("select[name=outcome]").select_option("reached")
    card.locator("select[name=sentiment]").select_option("happy")
    card.locator("[name=notes]").fill("راضی است؛ happy with it")
    card.locator("form.outcome button[type=submit]").click()
    page.wait_for_selector("[role=status]")
    reached = words(demo_site.app, language, "reached")[0]
    assert reached in page.locator("[role=status]").inner_text()  # "Saved: reached ...", in the reader's words
    assert_in_language(page, demo_site.app, language, "My calls")
    # The outcome is on the customer's timeline, in the reader's words.
    page.goto(f"{demo_site.url}/customers/{customer}")
    assert "راضی است؛ happy with it" in page.locator("#timeline").inner_text()
    assert_in_language(page, demo_site.app, language, "Sign out")
    page.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_marketing_opens_templates_and_previews_one(demo_site, language):
    page = start(demo_site, "marketing", language)
    assert page.url.endswith("/letters/templates/"), f"marketing starts on {page.url}, not the templates"
    assert_in_language(page, demo_site.app, language, "Letter templates")
    page.locator(f"main a[href$='/letters/templates/welcome/{language}']").first.click()
    page.wait_for_url(f"**/letters/templates/welcome/{language}")
    page.wait_for_function("() => !!document.getElementById('preview').dataset.state")
    assert page.locator("#preview").get_attribute("data-state") == "ok"
    assert int(page.locator("#preview").get_attribute("data-bytes")) > 1000  # a PDF came back
    assert_in_language(page, demo_site.app, language, "Preview")
    page.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_mail_room_opens_print_batches(demo_site, language):
    page = start(demo_site, "print", language)
    assert page.url.endswith("/letters/"), f"the mail room starts on {page.url}, not the print batches"
    assert page.locator("main h1").inner_text().strip() == words(demo_site.app, language, "Print batches")[0]
    assert_in_language(page, demo_site.app, language, "Print batches", "Returned mail")
    batch = demo_site.values["batch_id"][0]
    page.locator(f"main a[href$='/letters/batches/{batch}']").first.click()
    page.wait_for_url(f"**/letters/batches/{batch}")
    assert_in_language(page, demo_site.app, language, "Sign out")
    page.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_opens_events_and_staff(demo_site, language):
    page = start(demo_site, "admin", language)
    assert page.url.endswith("/admin/events/"), f"an admin starts on {page.url}, not the events"
    assert page.locator("main h1").inner_text().strip() == words(demo_site.app, language, "Events")[0]
    assert_in_language(page, demo_site.app, language, "Events")
    open_menu(page)
    page.locator("header nav a", has_text=words(demo_site.app, language, "Staff")[0]).first.click()
    page.wait_for_url("**/admin/staff/")
    assert page.locator("main h1").inner_text().strip() == words(demo_site.app, language, "Staff")[0]
    assert staff_email("print", "fa") in page.locator("main").inner_text()
    assert_in_language(page, demo_site.app, language, "Staff")
    page.close()
