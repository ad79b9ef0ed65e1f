"""The letter template editor for marketing: names in the page's language, plain words, every variable with an
insert button, errors in words in the reader's language, version history with a line diff, and restore."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.postal import service
from retention.postal.models import LetterTemplate
from retention.staff.models import StaffUser
from tests.factories import staff, token_for
from tests.letters.letterkit import open_pdf, page_text
from tests.postal.test_postal import NOW, letter_world, persian_customer, us_customer, welcome_letter_for  # noqa: F401


def _marketing(app, auth, locale="en"):
    user = staff(app, f"maya-{locale}@example.com", "marketing", name="Maya Karimi", locale=locale)
    auth.login(user.email)
    return user, auth.csrf("/letters/templates/")


def test_every_variable_of_a_real_letter_is_listed_and_renders(app, client, signer, letter_world):
    """The list is read from the template context, so a real letter's context has exactly these variables."""
    letter = welcome_letter_for(client, signer, persian_customer())
    template = service.current_template(db.session, "welcome", "fa")
    names = service.variables()
    assert {"customer.name", "customer.first_name", "sale.product", "sale.amount", "sale.date", "owner.name",
            "company.phone", "today"} <= set(names)
    body = " | ".join("{{ %s }}" % name for name in names)
    draft = LetterTemplate(key="welcome", language="fa", version=0, body=body, closing="", qr_url="",
                           digits="arabext", handwriting_signature=False)
    text = page_text(open_pdf(service.render_one(db.session, letter, service.company_from(app.config), NOW.date(),
                                                 draft)).pages[0])
    assert "Galaxy" not in text and text.count("|") >= len(names) - 1
    assert template is not None


def test_the_list_shows_names_in_the_page_language(app, client, auth, letter_world):
    _marketing(app, auth)
    page = client.get("/letters/templates/").get_data(as_text=True)
    table = page.split('id="templates"', 1)[1]
    assert "Welcome letter" in table and "Thank-you letter (day 90)" in table
    assert "ترحيب" not in table and "خوش" not in table  # no Arabic or Persian names on an English page
    head = table.split("</thead>", 1)[0]
    assert [h for h in re.findall(r"<th>([^<]*)</th>", head)] == ["Template", "English", "Arabic", "Persian"]
    service.save_template(db.session, "promo", {"language": "ar", "name": "عرض الربيع", "body": "مرحبا"},
                          actor="test", now=NOW)
    service.save_template(db.session, "promo", {"language": "en", "name": "Spring offer", "body": "Hello"},
                          actor="test", now=NOW)
    db.session.commit()
    table = client.get("/letters/templates/").get_data(as_text=True).split('id="templates"', 1)[1]
    row = table.split('data-key="promo"', 1)[1].split("</tr>", 1)[0]
    assert "Spring offer" in row and "عرض الربيع" not in row and "missing" in row  # no Persian version yet


def test_the_editor_speaks_plain_language(app, client, auth, letter_world):
    _marketing(app, auth)
    page = client.get("/letters/templates/welcome/ar").get_data(as_text=True)
    assert "Jinja" not in page.split("<main>", 1)[1].split("<script", 1)[0]
    digits = page.split('name="digits"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r">([^<]+)</option>", digits) == ["Western (123)", "Arabic-Indic (١٢٣)", "Persian (۱۲۳)"]
    # every variable has an insert button
    inserts = re.findall(r'data-insert="\{\{ ([a-z_.]+) \}\}"', page)
    assert inserts == service.variables()
    # the letter text follows the template's language, each paragraph by its own first letter
    body = re.search(r"<textarea[^>]*id=\"body\"[^>]*>", page).group(0)
    assert 'dir="rtl"' in body and 'class="letter-text"' in body
    assert "unicode-bidi:plaintext" in page
    # placeholders are isolated, whole and left to right, in the reading view
    reading = page.split('id="reading"', 1)[1].split("</div>", 1)[0]
    assert '<bdi dir="ltr" class="ph">{{ company.name }}</bdi>' in reading


def test_a_refused_save_keeps_the_version_and_what_was_typed(app, client, auth, signer, letter_world):
    welcome_letter_for(client, signer, us_customer())
    _, csrf = _marketing(app, auth)
    typed = "Dear {{ customer.nickname }},\n\nSee you <soon>."
    answer = client.post("/letters/templates/welcome/en", data={"csrf_token": csrf, "body": typed,
                                                                 "closing": "Bye,", "digits": "arab"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "version 1" in re.search(r"<h1>.*?</h1>", page, re.S).group(0)   # not "version 0"
    assert "Dear {{ customer.nickname }},\n\nSee you &lt;soon&gt;." in page
    assert re.search(r'<option value="arab" selected>', page)
    error = re.search(r'id="save-error">([^<]*)<', page).group(1)
    assert error == ("Letter text: customer.nickname does not exist; you can use: customer.id, customer.name, "
                     "customer.first_name, customer.city, customer.country")
    # the preview keeps working with what is typed once the mistake is fixed
    fixed = client.post("/letters/templates/welcome/en/preview", data={
        "csrf_token": csrf, "body": typed.replace("nickname", "first_name"), "closing": "Bye,"})
    assert fixed.status_code == 200 and "See you <soon>." in page_text(open_pdf(fixed.data).pages[0])
    assert service.current_template(db.session, "welcome", "en").version == 1


def test_unknown_variable_lists_the_alternatives_in_the_readers_language(app, client, auth, signer, letter_world):
    welcome_letter_for(client, signer, persian_customer())
    _, csrf = _marketing(app, auth, "fa")
    answer = client.post("/letters/templates/welcome/fa/preview", data={"csrf_token": csrf,
                                                                         "body": "{{ customer.nickname }} عزیز"})
    message = answer.get_json()["message"]
    assert answer.status_code == 422
    assert "customer.nickname" in message and "customer.first_name" in message
    assert "does not exist" not in message and re.search("[\u0600-\u06ff]", message)
    # the API says it in English with the field's name
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'marketing'))}"}
    put = client.put("/api/v1/letter-templates/welcome/fa", json={"body": "{{ sale.colour }}"}, headers=headers)
    assert put.get_json()["message"] == ("body: sale.colour does not exist; you can use: sale.id, sale.product, "
                                         "sale.category, sale.amount, sale.currency, sale.date")
    unknown_top = client.put("/api/v1/letter-templates/welcome/fa", json={"body": "{{ cusomer.name }}"},
                             headers=headers)
    assert "cusomer does not exist; you can use: customer.id" in unknown_top.get_json()["message"]


@pytest.mark.parametrize("limit_body, words", [
    ("{% for i in range(20000) %}.{% endfor %}", "loops repeat more than 10,000 times in one letter"),
    ("{{ 'x' * 10**9 }}", "the letter would be longer than 100,000 characters"),
])
def test_sandbox_limits_are_named_in_words(app, limit_body, words):
    with pytest.raises(service.LetterLimitError) as refused:
        service.validate_template({"language": "en", "body": limit_body})
    assert refused.value.localized() == f"Letter text: {words}"


def test_history_diff_and_restore(app, client, auth, letter_world):
    maya, csrf = _marketing(app, auth)
    first = service.current_template(db.session, "welcome", "ar")
    old_body = first.body
    new_body = old_body.replace("سأتصل بك خلال أيام قليلة لأطمئن عليك.", "سنتصل بك <قريباً> {{ owner.name }}.")
    assert client.post("/letters/templates/welcome/ar", data={
        "csrf_token": csrf, "body": new_body, "closing": first.closing, "name": first.name,
        "digits": first.digits, "handwriting_signature": "on"}).status_code == 302
    second = service.current_template(db.session, "welcome", "ar")
    assert second.version == 2 and second.created_by_id == maya.id
    page = client.get("/letters/templates/welcome/ar/versions").get_data(as_text=True)
    row2 = page.split('data-version="2"', 1)[1].split("</tr>", 1)[0]
    assert "Maya Karimi" in row2 and "Letter text" in row2 and "current" in row2
    assert "Initial setup" in page.split('data-version="1"', 1)[1].split("</tr>", 1)[0]
    diff = page.split('id="body-diff"', 1)[1].split('id="closing-diff"', 1)[0]
    removed = re.findall(r'data-kind="removed">.*?</div>', diff)
    added = re.findall(r'data-kind="added">.*?</div>', diff)
    assert len(removed) == 1 and "سأتصل بك خلال أيام قليلة" in removed[0]
    assert len(added) == 1 and "&lt;قريباً&gt;" in added[0] and '<bdi dir="ltr">{{ owner.name }}</bdi>' in added[0]
    assert diff.count('data-kind="same"') == len(old_body.splitlines()) - 1
    # restore version 1: saved as version 3, equal to version 1; nothing rewritten
    assert 'data-confirm="' in page.split('data-version="1"', 1)[1].split("</tr>", 1)[0]
    answer = client.post("/letters/templates/welcome/ar/versions/1/restore", data={"csrf_token": csrf})
    assert answer.status_code == 302
    db.session.expire_all()
    third = service.current_template(db.session, "welcome", "ar")
    assert third.version == 3 and third.body == old_body and third.created_by_id == maya.id
    assert all(getattr(third, f) == getattr(first, f) for f in service.TEMPLATE_FIELDS)
    assert db.session.get(LetterTemplate, second.id).body == new_body  # history kept
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.entity_id, entry.changes) == ("letter_template.restored", "welcome/ar",
                                                              {"version": 3, "restored_from": 1})
    assert entry.actor == f"staff:{maya.id}"
    # restoring the current one changes nothing and says why; an unknown version is a 404
    again = client.post("/letters/templates/welcome/ar/versions/3/restore", data={"csrf_token": csrf})
    assert again.status_code == 303
    assert "already the current one" in client.get("/letters/templates/welcome/ar/versions").get_data(as_text=True)
    assert client.post("/letters/templates/welcome/ar/versions/99/restore",
                       data={"csrf_token": csrf}).status_code == 404
    assert service.current_template(db.session, "welcome", "ar").version == 3
    assert client.get("/letters/templates/welcome/ar/versions?a=1&b=3").status_code == 200
    assert client.get("/letters/templates/welcome/ar/versions?a=7").status_code == 404


def test_line_diff():
    lines = service.line_diff("a\nb\nc", "a\nB\nc\nd")
    assert [(l.kind, l.text) for l in lines] == [("same", "a"), ("removed", "b"), ("added", "B"), ("same", "c"),
                                                 ("added", "d")]
    assert db is not None and StaffUser is not None
