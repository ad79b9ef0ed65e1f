"""Every page of the app, in English, Arabic and Persian, on a 390 px phone: nothing scrolls sideways.

The pages are found in the URL map (every GET route but the API, the hooks and static files), so a new
page is measured the day it is added. Path arguments are filled from the seeded demo (tests/browser/
conftest.py: `demo_site`); each page is opened by a staff member of a role allowed to see it, reading in
that language. A screenshot of each page is read back: the first heading's ink sits on the right in
right-to-left languages and on the left in English, and the picture is no wider than the phone.
"""
from __future__ import annotations

import io
import itertools
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import DESKTOP, LANGUAGES, PHONE, ROLES
from tests.conftest import make_app

SCREENSHOTS = os.environ.get("LAYOUT_SCREENSHOTS")
SKIPPED_PREFIXES = ("/api/", "/hooks/", "/static/")
# Files and data, not pages: a PDF, a manifest, a progress answer in JSON.
# Routes that only send the browser on (their targets are pages measured on their own): "/" to each role's
# start page, the returned-envelope lookup to the letter's return form (tested in tests/postal and tests/staff).
REDIRECTS_ONLY = {"staff.home", "letters.find_letter"}
NOT_PAGES = re.compile(r"\.(pdf|csv|json)$|<any\(|/status$")
# Route arguments whose page speaks the language of the record it opens (a customer's unsubscribe link): the demo
# gives one value per language, and each language's run opens its own.
PER_LANGUAGE = {"token", "survey_token", "code"}  # survey_token: a survey link of a customer of that language;
# code: a friend's referral link of an advocate of that language
# Also measured at 1280 px: the journey editor (a desktop tool) and an admin page (the longest header).
WIDE_PAGES = ("journeys.edit", "events_admin.index")


def _page_rules() -> list[tuple[str, str, tuple]]:
    """(endpoint, rule, roles) of every GET page, from the app's URL map."""
    app = make_app()
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIPPED_PREFIXES) or NOT_PAGES.search(rule.rule) \
                or rule.endpoint in REDIRECTS_ONLY:
            continue
        view = app.view_functions[rule.endpoint]
        found.append((rule.endpoint, rule.rule, tuple(getattr(view, "required_roles", ()) or ())))
    return sorted(found)


PAGES = _page_rules()


def _role_for(roles: tuple) -> str | None:
    """A role allowed on the page: the first named (admins pass everywhere); None for public pages."""
    if not roles:
        return None
    return next((r for r in roles if r in ROLES), "admin")


_FILLED: dict = {}


def _fill(site, context, rule: str, language: str | None = None) -> tuple[str, str]:
    """The first URL built from seeded values that answers 200, and its content type (found once per rule)."""
    key = (id(site), rule, language if PER_LANGUAGE & set(re.findall(r"<(?:[^<>]*:)?([^<>:]+)>", rule)) else None)
    if key not in _FILLED:
        _FILLED[key] = _find_url(site, context, rule, language)
    return _FILLED[key]


def _find_url(site, context, rule: str, language: str | None = None) -> tuple[str, str]:
    names = re.findall(r"<(?:[^<>:]+(?:\([^)]*\))?:)?([^<>:]+)>", rule)
    choices = []
    for name in names:
        if name in PER_LANGUAGE and name in site.values:
            choices.append(site.values[name][language or "en"])
        elif name in site.values:
            choices.append(site.values[name])
        elif "kind" == name:
            choices.append(["pdf"])
        else:
            choices.append([1, 2])
    tried, redirects = [], 0
    for combo in itertools.product(*choices):
        path = rule
        for value in combo:
            path = re.sub(r"<[^<>]+>", str(value), path, count=1)
        answer = context.request.get(site.url + path, max_redirects=0)
        tried.append(f"{path} -> {answer.status}")
        if answer.status == 200:
            return path, answer.headers.get("content-type", "")
        redirects += 300 <= answer.status < 400
    if tried and redirects == len(tried):
        pytest.fail(f"{rule} only sends the browser on ({'; '.join(tried)}): list its endpoint in REDIRECTS_ONLY")
    pytest.fail(f"{rule}: no seeded value opens this page ({'; '.join(tried) or 'nothing to try'}); "
                "give the demo_site fixture a value for it")


# Everything whose box crosses the viewport's inline edges, outside boxes that scroll or clip on their own.
OVERFLOWING = """
() => {
  const vw = document.documentElement.clientWidth;
  const clipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== 'visible' || s.overflow === 'hidden' || s.clip !== 'auto') {
        const r = a.getBoundingClientRect();
        if (r.left >= -1 && r.right <= vw + 1) return true;
      }
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (!el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true})) continue;  // not drawn
    if ((r.right > vw + 1 || r.left < -1) && !clipped(el)) {
      const id = el.id ? '#' + el.id : (el.className && typeof el.className === 'string'
                  ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      out.push(`${el.tagName.toLowerCase()}${id} [${Math.round(r.left)}..${Math.round(r.right)}]`);
    }
  }
  return out.slice(0, 8);
}
"""


def _ink_columns(png: bytes, top: int, bottom: int) -> tuple[int, int, int] | None:
    """(leftmost, rightmost, width) of the dark pixels between two rows of a screenshot."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    top, bottom = max(0, top), min(height, bottom)
    if bottom <= top:
        return None
    band = image.crop((0, top, width, bottom)).tobytes()
    xs = [x for x in range(width) if min(band[x::width]) < 110]
    return (xs[0], xs[-1], width) if xs else None


def check_layout(page, language: str, width: int, name: str = "") -> list[str]:
    """What a person would notice on the open page: sideways scroll, wrong direction, boxes off-screen,
    the heading on the wrong side of the screenshot."""
    problems = []
    direction = "rtl" if language in ("ar", "fa") else "ltr"
    if page.locator("html").get_attribute("dir") != direction:
        problems.append(f"html dir is {page.locator('html').get_attribute('dir')!r}, not {direction!r}")
    if page.locator("html").get_attribute("lang") != language:
        problems.append(f"html lang is {page.locator('html').get_attribute('lang')!r}, not {language!r}")
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"the page scrolls sideways: {scroll} px wide at {width} px")
    outside = page.evaluate(OVERFLOWING)
    if outside:
        problems.append("boxes beyond the screen's edge: " + ", ".join(outside))
    # The top of the whole page (as wide as the document is), enough for the header and the first heading.
    height = page.evaluate("() => document.documentElement.scrollHeight")
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": max(scroll, width),
                                                "height": min(height, 1600)})
    if SCREENSHOTS and name:  # LAYOUT_SCREENSHOTS=/some/dir keeps them for a person to look at
        Path(SCREENSHOTS, f"{name}-{language}-{width}.png").write_bytes(png)
    shot_width = Image.open(io.BytesIO(png)).size[0]
    if shot_width > width:
        problems.append(f"the screenshot is {shot_width} px wide")
    menu = page.locator("header details.menu > summary")
    if menu.count() and menu.is_visible():  # the phone header's menu, opened: its pages and account fit too
        menu.click()
        opened = page.evaluate(OVERFLOWING)
        if opened:
            problems.append("with the menu open, boxes beyond the screen's edge: " + ", ".join(opened))
        if SCREENSHOTS and name:
            page.screenshot(path=str(Path(SCREENSHOTS, f"{name}-{language}-{width}-menu.png")))
        menu.click()
    heading = page.locator("main h1").first
    if heading.count():
        box = heading.bounding_box()
        scroll_y = page.evaluate("() => window.scrollY")
        ink = _ink_columns(png, int(box["y"] + scroll_y), int(box["y"] + scroll_y + box["height"]))
        if ink is None:
            problems.append("the first heading shows no ink in the screenshot")
        else:
            left, right, full = ink
            if direction == "rtl" and not (full - 1 - right < left and full - 1 - right < full * 0.15):
                problems.append(f"the first heading is not at the right in {language} (ink {left}..{right} of {full})")
            if direction == "ltr" and not (left < full - 1 - right and left < full * 0.15):
                problems.append(f"the first heading is not at the left in {language} (ink {left}..{right} of {full})")
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("endpoint,rule,roles", PAGES, ids=[p[0] for p in PAGES])
def test_page_fits_a_phone(demo_site, endpoint, rule, roles, language):
    role = _role_for(roles)
    if role is None:  # the sign-in page: a fresh visitor, language from the browser
        context = demo_site.browser.new_context(viewport=PHONE, locale={"en": "en-GB", "ar": "ar", "fa": "fa-IR"}[language])
    else:
        context = demo_site.context(role, language)
    try:
        path, content_type = _fill(demo_site, context, rule, language)
        if "text/html" not in content_type:
            pytest.fail(f"{rule} answers {content_type}, not a page: add it to NOT_PAGES")
        page = context.new_page()
        page.goto(demo_site.url + path)
        page.wait_for_load_state()
        problems = check_layout(page, language, PHONE["width"], endpoint)
        page.close()
    finally:
        if role is None:
            context.close()
    assert not problems, f"{path} in {language} at 390 px: " + "; ".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("endpoint,rule,roles", [p for p in PAGES if p[0] in WIDE_PAGES],
                         ids=[p[0] for p in PAGES if p[0] in WIDE_PAGES])
def test_page_fits_a_desktop(demo_site, endpoint, rule, roles, language):
    context = demo_site.context(_role_for(roles), language, DESKTOP)
    path, _ = _fill(demo_site, context, rule)
    page = context.new_page()
    page.goto(demo_site.url + path)
    page.wait_for_load_state()
    problems = check_layout(page, language, DESKTOP["width"], endpoint)
    page.close()
    assert not problems, f"{path} in {language} at 1280 px: " + "; ".join(problems)


def test_every_page_is_measured():
    """The URL map gives the pages staff use every day (a broken discovery would measure nothing)."""
    endpoints = {p[0] for p in PAGES}
    assert {"calls.my_calls", "customers.index", "customers.show", "journeys.work", "journeys.edit",
            "letters.mail_room", "letters.templates", "admin" and "events_admin.index",
            "staff.login", "complaints.index", "complaints.show", "complaints.new_case",
            "complaint_categories.categories_index", "complaint_categories.category_edit"} <= endpoints
    # Complaints steps 3 and 5: the queue and the trends page.
    assert {"complaint_reports.queue", "complaint_reports.trends_page"} <= endpoints
    # NPS (issue 11): the customer's survey page and marketing's report.
    assert {"surveys_public.answer", "surveys.reports"} <= endpoints


DIGITS = {"en": "0123456789", "ar": "٠١٢٣٤٥٦٧٨٩", "fa": "۰۱۲۳۴۵۶۷۸۹"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_work_charts_are_mirrored_and_localised(demo_site, language):
    """The work page's charts read from the right in Arabic and Persian: the count axis on the right, today's
    column at the right end, bars growing leftwards; words in the reader's language, numbers in their digits,
    and the time it was counted on the viewer's named clock."""
    from flask_babel import force_locale, gettext

    from retention.formatting import zone_label

    page = demo_site.context("onboarding", language).new_page()
    page.goto(demo_site.url + "/reports/work")
    rtl = language in ("ar", "fa")
    with demo_site.app.test_request_context(), force_locale(language):
        assert page.locator("main h1").inner_text().strip() == gettext("Work ahead")
    zone = {"en": "Europe/London", "ar": "Asia/Dubai", "fa": "Asia/Tehran"}[language]
    assert zone_label(zone, language) in page.locator("#work-as-of").inner_text()

    owner = page.locator("#load-chart .owner-load").first
    plot, axis = owner.locator(".plot").bounding_box(), owner.locator(".axis").bounding_box()
    today = owner.locator(".plot .day.today").bounding_box()
    if rtl:
        assert axis["x"] >= plot["x"] + plot["width"] - 1, "the count axis is not on the right"
        assert abs((today["x"] + today["width"]) - (plot["x"] + plot["width"])) <= 3, "today is not at the right end"
    else:
        assert axis["x"] + axis["width"] <= plot["x"] + 1, "the count axis is not on the left"
        assert abs(today["x"] - plot["x"]) <= 3, "today is not at the left end"

    bars = page.locator("#journey-chart .bar:not([data-count='0'])")
    assert bars.count() > 0
    bar = bars.first.bounding_box()
    track = bars.first.locator("xpath=..").bounding_box()
    assert bar["width"] < track["width"]  # not every step has the most customers
    if rtl:
        assert abs((bar["x"] + bar["width"]) - (track["x"] + track["width"])) <= 1, "bars do not grow from the right"
    else:
        assert abs(bar["x"] - track["x"]) <= 1, "bars do not grow from the left"
    label = page.locator("#journey-chart .label").first.bounding_box()
    assert (label["x"] > track["x"]) == rtl, "step names are not on the reading side"

    numbers = "".join(page.locator("#journey-chart .n").all_inner_texts()) + owner.locator(".axis").inner_text()
    digits = {c for c in numbers if c.isdigit()}
    assert digits and digits <= set(DIGITS[language]), f"{language} page shows digits {sorted(digits)}"
    page.close()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role,path,status", [("onboarding", "/customers/NO-SUCH-CUSTOMER", 404),
                                              ("print", "/calls/", 403)], ids=["not-found", "forbidden"])
def test_error_pages_fit_a_phone(demo_site, role, path, status, language):
    """The pages a person lands on by mistake (not found, not allowed) fit and speak their language too."""
    page = demo_site.context(role, language).new_page()
    answer = page.goto(demo_site.url + path)
    assert answer.status == status
    problems = check_layout(page, language, PHONE["width"], f"error-{status}")
    page.close()
    assert not problems, f"{path} ({status}) in {language} at 390 px: " + "; ".join(problems)
