"""Letter template limits (time, size, loops, pages, numbers) and failures of one template: always a 422
naming the limit or the reason, in preview, save (page and API) alike; never a 500, never a runaway render."""
from __future__ import annotations

import resource
import time

import pytest

from retention.extensions import db
from retention.postal import service
from retention.postal.sandbox import TemplateLimits
from tests.factories import staff, token_for
from tests.letters.letterkit import open_pdf, page_text
from tests.postal.test_postal import NOW, letter_world, us_customer, welcome_letter_for  # noqa: F401

# Each a template that once ran for minutes, took gigabytes, or made thousands of pages; with the limit
# it names in its error.
RUNAWAY = [
    ("{{ '%*d'|format(10**9, 1) }}", "output size"),
    ("{{ '%*d'|format(1000000000, 1) }}", "output size"),          # folded at compile time otherwise
    ("{{ '%-*s|' % (10**9, 'x') }}", "output size"),
    ("{{ '%(a)s%(a)s%(a)s' % {'a': 'y' * 60000} }}", "output size"),
    ("{{ '{:>{w}}'.format(1, w=10**9) }}", "output size"),
    ("{{ '{0}{0}{0}'.format('z' * 60000) }}", "output size"),
    ("{{ 'x' * 10**9 }}", "output size"),
    ("{{ ['x' * 1000] * 10**6 }}", "output size"),
    ("{{ 'a'.ljust(10**9) }}", "output size"),
    ("{{ 'a'|center(10**9) }}", "output size"),
    ("{{ 'a\nb\nc'|indent(10**8) }}", "output size"),
    ("{{ 'x'.replace('', 'y' * 100000) }}", "output size"),
    ("{{ range(10000)|join('x' * 10000) }}", "output size"),
    ("{{ [1]|batch(10**9, 'x')|list }}", "output size"),
    ("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "output size"),
    ("{% set a = ['x' * 99000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b, b, b] %}"
     "{{ [c, c, c, c, c, c, c, c, c, c] }}", "output size"),
    ("{% set x %}{% for i in range(10000) %}" + "z" * 1000 + "{% endfor %}{% endset %}{{ x|length }}", "output size"),
    ("{% for i in range(10000) %}{{ 'w' * 90000 }}{% endfor %}", "output size"),
    ("{{ range(10**9)|list|length }}", "loop steps"),
    ("{% for i in range(9000) %}{% for j in range(9000) %}.{% endfor %}{% endfor %}", "loop steps"),
    ("{{ (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) }}", "number size"),
    ("{{ 7 ** 100000 }}", "number size"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "macro depth"),
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(45) }}", "render time"),
    ("{% for i in range(90) %}{% for j in range(90) %}Line {{ i }} {{ j }}\n\n{% endfor %}{% endfor %}", "pages"),
]


# Each limit as the error says it (in words, with the setting's value).
IN_WORDS = {"output size": "characters", "loop steps": "times in one letter", "number size": "digits",
            "macro depth": "macros call each other", "render time": "seconds to write", "pages": "pages"}


@pytest.mark.parametrize("source,limit", RUNAWAY)
def test_a_runaway_template_is_refused_within_its_limits(app, source, limit):
    limits = TemplateLimits(render_seconds=0.5)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(service.LetterLimitError) as refused:
        service.validate_template({"language": "en", "body": source}, limits)
    assert refused.value.limit == limit and IN_WORDS[limit] in str(refused.value)
    assert str(refused.value).startswith(("body:", "pages:"))
    assert time.perf_counter() - started < 3
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 200


def test_limits_come_from_the_settings(app):
    body = "{% for i in range(50) %}{{ i }} {% endfor %}"
    service.validate_template({"language": "en", "body": body})
    app.config["LETTER_MAX_LOOP_STEPS"] = 20
    with pytest.raises(service.LetterLimitError, match="body: loops repeat more than 20 times in one letter"):
        service.validate_template({"language": "en", "body": body})
    app.config["LETTER_MAX_TEMPLATE_CHARS"] = 10
    with pytest.raises(service.LetterLimitError, match="body: at most 10 characters"):
        service.validate_template({"language": "en", "body": "Dear customer, thank you."})


# Failures of the computation itself, not wrapped by Jinja: one reason each, never a crash.
BROKEN = [
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ 10 // (customer.name|length - 15) }}", "division by zero"),
    ("{{ 2.0 ** 5000 }}", "too large"),
    ("{{ 10 ** 400 / 3 }}", "too large"),
    ("{{ 9" + "9" * 5000 + " }}", "body:"),
    ("{{ '%d'|format('text') }}", "the filter format needs one value in brackets for each placeholder"),
    ("{{ '{:q}'.format(1) }}", "body:"),
    ("{{ (10).to_bytes(10**9, 'big') }}", "not allowed"),
    ("{{ lipsum(10**9) }}", "lipsum does not exist; you can use: customer.id, customer.name"),
    ("{% include 'other' %}", "not allowed"),
    ("{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}", "not allowed"),
]


@pytest.mark.parametrize("source,reason", BROKEN)
def test_a_template_that_fails_to_compute_is_a_clear_error(app, source, reason):
    with pytest.raises(service.LetterError, match=reason):
        service.validate_template({"language": "en", "body": source})


# A filter given a value it cannot use: the filter, the value and what it takes, never Python's words
# ("expected length >= 3", "'str' object cannot be interpreted as an integer", "takes 1 positional argument").
FILTER_VALUES = [
    ("{{ customer.name|truncate(-1) }}", "in the filter truncate, length must be a whole number from 3 to 100,000 "
                                         "(it is -1)"),
    ("{{ customer.name|truncate(5, end='-') }}", None),   # a length of at least the end's: fine
    ("{{ customer.name|truncate(0, end='') }}", None),
    ("{{ customer.name|truncate(2) }}", "in the filter truncate, length must be a whole number from 3 to 100,000 "
                                        "(it is 2)"),
    ("{{ customer.name|truncate('ten') }}", "in the filter truncate, length must be a whole number from 3 to "
                                            "100,000 (it is \"ten\")"),
    ("{{ customer.name|truncate(9, leeway=-1) }}", "in the filter truncate, leeway must be a whole number from 0 to "
                                                   "100,000 (it is -1)"),
    ("{{ customer.name|truncate(9, end=3) }}", "in the filter truncate, end must be text in quotes (it is 3)"),
    ("{{ customer.name|center('wide') }}", "in the filter center, width must be a whole number from 0 to 100,000 "
                                           "(it is \"wide\")"),
    ("{{ customer.name|indent(-2) }}", "in the filter indent, width must be a whole number from 0 to 100,000 "
                                       "(it is -2)"),
    ("{{ sale.amount|round(2, 'up') }}", "in the filter round, method must be one of ceil, common, floor "
                                         "(it is \"up\")"),
    ("{{ sale.amount|round(99) }}", "in the filter round, precision must be a whole number from 0 to 15 (it is 99)"),
    ("{{ [1, 2]|batch(0)|list }}", "in the filter batch, linecount must be a whole number from 1 to 100,000 "
                                   "(it is 0)"),
    ("{{ [1, 2]|slice(-1)|list }}", "in the filter slice, slices must be a whole number from 1 to 100,000 "
                                    "(it is -1)"),
    ("{{ '12'|int(base=99) }}", "in the filter int, base must be a whole number from 2 to 36 (it is 99)"),
    ("{{ customer.name|replace('a', 'b', 'all') }}", "in the filter replace, count must be a whole number from 0 to "
                                                     "100,000 (it is \"all\")"),
    ("{{ {'a': 1}|dictsort(by='size') }}", "in the filter dictsort, by must be one of key, value (it is \"size\")"),
    ("{{ customer.name|trim(5) }}", "in the filter trim, chars must be text in quotes (it is 5)"),
    ("{{ customer|attr(5) }}", "in the filter attr, name must be text in quotes (it is 5)"),
    ("{{ [1, 2]|select('big')|list }}", "in the filter select, test must be one of !=, <, <="),
    ("{{ ['a']|map('shout')|list }}", "in the filter map, filter must be one of abs, attr, batch"),
    ("{{ customer.name|wordcount(3) }}", "the filter wordcount was given values it does not take; it is written "
                                         "|wordcount"),
    ("{{ customer.name|truncate(9, size=2) }}", "the filter truncate was given values it does not take; it is "
                                                "written |truncate(length, killwords, end, leeway)"),
    ("{{ '%s'|format(1, 2) }}", "the filter format needs one value in brackets for each placeholder of the text, "
                                "such as %s or %d, and of the right kind"),
]


@pytest.mark.parametrize("source,words", FILTER_VALUES)
def test_a_filter_given_a_value_it_cannot_use_says_which_and_what_it_takes(app, source, words):
    if words is None:
        service.validate_template({"language": "en", "body": source})
        return
    with pytest.raises(service.LetterError) as refused:
        service.validate_template({"language": "en", "body": source})
    assert str(refused.value).startswith(f"body: {words}")
    assert refused.value.localized().startswith(f"Letter text: {words}")
    for python in ("Error", "expected", "object", "positional", "interpret", "<class"):
        assert python not in str(refused.value)


def test_a_filters_refusal_on_the_page_and_the_api(app, client, auth, signer, letter_world):
    welcome_letter_for(client, signer, us_customer())
    staff(app, "maya-ar@example.com", "marketing", name="Maya", locale="ar")
    auth.login("maya-ar@example.com")
    csrf = auth.csrf("/letters/templates/")
    body = "{{ customer.name|truncate(-1) }}"
    preview = client.post("/letters/templates/welcome/en/preview", data={"csrf_token": csrf, "body": body})
    message = preview.get_json()["message"]
    assert preview.status_code == 422
    assert message.startswith("نص الرسالة: ") and "truncate" in message and "-1" in message and "100,000" in message
    assert "expected" not in message and "must be" not in message   # said in Arabic, the filter named as written
    saved = client.post("/letters/templates/welcome/en", data={"csrf_token": csrf, "body": body})
    assert saved.status_code == 422 and "truncate" in saved.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'marketing'))}"}
    put = client.put("/api/v1/letter-templates/welcome/en", json={"body": body}, headers=headers)
    assert put.status_code == 422
    assert put.get_json()["message"] == ("body: in the filter truncate, length must be a whole number from 3 to "
                                         "100,000 (it is -1)")
    assert client.get("/api/v1/letter-templates/welcome/en", headers=headers).get_json()["version"] == 1


def test_qr_link_longer_than_a_code_holds_is_refused_on_save(app):
    with pytest.raises(service.LetterError, match="qr_url: .* longer than a QR code holds"):
        service.validate_template({"language": "en", "body": "Hi", "qr_url": "https://x.example/{{ 'a' * 3000 }}"})


def test_ordinary_templates_still_render(app):
    body = ("Dear {{ customer.first_name|upper }}, {{ '%.2f'|format(3.14159) }} {{ '{:05d}'.format(42) }} "
            "{{ 'a-b'.replace('-', '+') }} {{ ['a', 'b']|join(', ') }} {{ 'x'|center(5) }}|"
            "{% for i in range(3) %}{{ loop.index }}{% endfor %} {{ 'ab' ~ 'cd' }} {{ 2 ** 10 }} {{ '%s:%s' % (1, 2) }}")
    out = service.render_text(body, service.sample_context("en"))
    assert out == "Dear SAMPLE, 3.14 00042 a+b a, b   x  |123 abcd 1024 1:2"


def _marketing(app, client, auth):
    staff(app, "maya@example.com", "marketing")
    auth.login("maya@example.com")
    return auth.csrf("/letters/templates/welcome/en")


@pytest.mark.parametrize("body,words", [
    ("{{ '%*d'|format(10**9, 1) }}", "longer than 100,000 characters"),
    ("{% for i in range(90) %}{% for j in range(90) %}Line {{ i }}\n\n{% endfor %}{% endfor %}", "longer than 10 pages"),
    ("{{ range(10**9)|list }}", "loops repeat more than 10,000 times"),
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ 10 ** 400 / 3 }}", "too large"),
])
def test_preview_and_save_answer_422_naming_the_limit(app, client, auth, signer, letter_world, body, words):
    welcome_letter_for(client, signer, us_customer())
    csrf = _marketing(app, client, auth)
    preview = client.post("/letters/templates/welcome/en/preview", data={"csrf_token": csrf, "body": body})
    assert preview.status_code == 422 and words in preview.get_json()["message"]
    saved = client.post("/letters/templates/welcome/en", data={"csrf_token": csrf, "body": body})
    assert saved.status_code == 422 and words in saved.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'marketing'))}"}
    put = client.put("/api/v1/letter-templates/welcome/en", json={"body": body}, headers=headers)
    assert put.status_code == 422 and words in put.get_json()["message"]
    current = client.get("/api/v1/letter-templates/welcome/en", headers=headers).get_json()
    assert current["version"] == 1  # nothing was saved


def test_preview_of_a_qr_link_too_long_is_422(app, client, auth, signer, letter_world):
    welcome_letter_for(client, signer, us_customer())
    csrf = _marketing(app, client, auth)
    answer = client.post("/letters/templates/welcome/en/preview", data={
        "csrf_token": csrf, "body": "Hi", "qr_url": "https://x.example/?c={{ customer.id }}{{ 'a' * 3000 }}"})
    assert answer.status_code == 422 and "qr_url" in answer.get_json()["message"]


def test_template_fields_that_cannot_be_stored_are_422_naming_the_field(app, client, auth, signer, letter_world):
    welcome_letter_for(client, signer, us_customer())
    csrf = _marketing(app, client, auth)
    for data, field in [({"body": "Hi\x00there"}, "body"), ({"body": "Hi", "closing": "Bye\x00"}, "closing"),
                        ({"body": "Hi", "name": "n" * 201}, "name"), ({"body": "Hi", "closing": "c" * 201}, "closing"),
                        ({"body": "Hi", "customer": "C2\x00"}, "customer")]:
        answer = client.post("/letters/templates/welcome/en/preview", data={"csrf_token": csrf, **data})
        label = {"body": "Letter text", "closing": "Closing", "name": "Name", "customer": "Preview for customer"}[field]
        assert answer.status_code == 422 and answer.get_json()["message"].startswith(label + ":"), data
        if "customer" not in data:
            saved = client.post("/letters/templates/welcome/en", data={"csrf_token": csrf, **data})
            assert saved.status_code == 422 and f"{label}:" in saved.get_data(as_text=True)
    assert client.get("/letters/templates/bad%00key/en").status_code in (400, 404)
    assert client.get("/letters/templates/" + "k" * 61 + "/en").status_code == 404
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'marketing'))}"}
    assert client.get("/api/v1/letter-templates/bad%00key/en", headers=headers).status_code in (400, 404)
    put = client.put("/api/v1/letter-templates/bad%00key/en", json={"body": "Hi"}, headers=headers)
    assert put.status_code in (400, 422)
    put = client.put("/api/v1/letter-templates/" + "k" * 61 + "/en", json={"body": "Hi"}, headers=headers)
    assert put.status_code == 422 and put.get_json()["message"].startswith("key:")
    bad_language = client.put("/api/v1/letter-templates/welcome/xx", json={"body": "Hi"}, headers=headers)
    assert bad_language.status_code == 404 and bad_language.get_json()["message"].startswith("language:")
    with pytest.raises(service.LetterError, match="^key:"):
        service.save_template(db.session, "k" * 61, {"language": "en", "body": "Hi"}, actor="t", now=NOW)
    ok = client.post("/letters/templates/welcome/en/preview", data={"csrf_token": csrf, "body": "Hi {{ customer.name }}"})
    assert ok.status_code == 200 and "Hi Olivia Smith" in page_text(open_pdf(ok.data).pages[0])


def test_reprint_of_a_letter_whose_template_went_over_a_limit_is_422(app, client, auth, signer, letter_world):
    letter = welcome_letter_for(client, signer, us_customer())
    from sqlalchemy import select

    from retention.postal.models import LetterTemplate

    stored = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == "welcome",
                                                            LetterTemplate.language == "en",
                                                            LetterTemplate.is_current.is_(True)))
    stored.body = "{{ 'x' * 10**9 }}"   # saved before the limits existed
    db.session.commit()
    staff(app, "post@example.com", "print")
    auth.login("post@example.com")
    assert client.get(f"/letters/{letter.id}.pdf").status_code == 422
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'print'))}"}
    answer = client.get(f"/api/v1/letters/{letter.id}/pdf", headers=headers)
    assert answer.status_code == 422 and "longer than 100,000 characters" in answer.get_json()["message"]
