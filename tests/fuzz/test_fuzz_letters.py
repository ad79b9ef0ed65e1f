"""Fuzzing letter templates (issue 14, section 3): random Jinja (loops, filters, attribute access, huge repeats,
recursion attempts, undefined names, `{{ ''.__class__ }}`-style escapes, broken tags) through the one check
(postal.service.validate_template), the template editor page and the API.

What marketing would notice: never a server error; a refused template says which field (Letter text, Closing, QR
code link...) and why, and saves nothing; nothing a template writes reaches past the sandbox (no secret, no
environment, no internals of Python objects); an accepted template renders a PDF that reads back (a few
examples, pdfplumber).
"""
from __future__ import annotations

import os
import re

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from retention.extensions import db
from retention.postal import service
from retention.postal.models import LetterTemplate
from tests.factories import customer, sale_completed, staff, token_for
from tests.fuzz.forms import csrf_of, encoded
from tests.fuzz.strategies import bounded, junk_text
from tests.letters.letterkit import open_pdf, page_text

CANARY = "canary-7f3c9e-secret"
RENDER_SECONDS = 0.3   # the render time limit during these tests (its own tests use the default)

VARIABLES = ["customer.name", "customer.first_name", "customer.city", "customer.nickname", "sale.product",
             "sale.amount", "sale.colour", "today", "company.name", "owner.name", "owner.email", "survey_url",
             "nothing", "customer", "sale", "company", "referral.code"]
ESCAPES = ["''.__class__", "''.__class__.__mro__[1].__subclasses__()", "().__class__.__base__.__subclasses__()",
           "range.__globals__", "range.__globals__['os']", "cycler.__init__.__globals__", "joiner.__init__.__globals__",
           "namespace.__init__.__globals__.sys.modules", "dict.__subclasses__()", "dict.mro()", "self",
           "self.__init__.__globals__", "config", "request", "lipsum", "url_for", "g", "session", "customer.__class__",
           "customer.__init__", "customer.items()", "customer.keys()|list", "customer|attr('__class__')",
           "'x'|attr('__class__')|attr('__mro__')", "'{0.__class__}'.format(1)", "'{0.__globals__}'.format(range)",
           "'{.__class__.__mro__}'.format('')", "'{0[__builtins__]}'.format(range.__globals__)",
           "'%s'|format(range)", "[].append(1)", "{}.update(a=1)", "'x'.format_map({})", "customer.pop('name')",
           "[customer]|map(attribute='__class__')|list", "[3, 1]|sort(attribute='__class__')",
           "[customer]|selectattr('__class__')|list", "dict(__class__=1)", "namespace(a=1).__dict__",
           "cycler(1).__class__", "range(3).__iter__()", "loop", "varargs", "caller", "super()", "self._TemplateReference__context",
           "'a'.__add__", "sale.amount.__class__", "today.__class__", "today.strftime('%s')",
           "today.replace(year=1)", "customer.name.__len__()", "customer.name.encode()", "'x'.translate({})"]
HEAVY = ["range(10**9)", "10**10**10", "'x' * 10**8", "[1] * 10**9", "'{:>999999999}'.format(1)",
         "'%999999999d' % 1", "range(10000)|join('x' * 10000)", "'a'|center(10**9)", "(1/0)", "1 // 0", "'a' < 1",
         "'9' * 5000|int", "'1e400'|float", "range(5)|batch(0)|list", "range(5)|slice(10**9)|list",
         "customer.name|truncate(-1)", "customer.name|wordwrap(0)", "customer.name|indent(-5)", "[]|first",
         "[]|max", "none|length", "'x'|tojson", "'x'|urlize", "'x'|e", "'x'|safe", "'x'|striptags",
         "'x'|pprint", "'x'|xmlattr", "'x'|random", "lipsum(9999)", "customer.name * -1", "-(2**63)",
         "2**10000", "2**0.5", "1e308 * 10", "'%c' % 1114112", "'%(a)s' % {}", "'{}{}'.format(1)"]
PLAIN = ["1", "'text'", "\"quoted\"", "none", "true", "[1, 2, 3]", "{'a': 1}", "range(3)|list",
         "customer.name|upper", "customer.name|length", "sale.amount|round(1)", "'%s and %s'|format(1, 2)",
         "[1, 2]|join(', ')", "'a b'|title", "3 * 4", "'ab' ~ 'cd'", "'x'|replace('x', 'y')", "12 // 5",
         "(customer.name or 'friend')|trim", "customer.name|default('friend')", "'\\u202eRTL\\u200f'", "'\\x00'",
         "'\\ud800'", "'ك' * 50", "'a\\nb'|indent(2)"]
EXPRS = st.one_of(st.sampled_from(VARIABLES), st.sampled_from(ESCAPES), st.sampled_from(HEAVY),
                  st.sampled_from(PLAIN))
TEXT = st.one_of(st.sampled_from(["Dear friend,\n\n", "Thank you. ", "\n", "شكرًا لك ", "ممنون ", "\u202e",
                                  "x" * 3000, "\x00", "\ud800"]), junk_text)
BROKEN = st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "{{ }}", "{% %}", "{%- if -%}", "{{ customer.name",
                          "{% endfor %}", "{% if %}", "{{ customer.name }"])
FILTERS = st.sampled_from(["upper", "length", "string", "list", "first", "join", "sum", "int", "format(1)",
                           "batch(2)|list", "attr('__class__')", "map('upper')|list", "center(20)", "no_such_filter"])


@st.composite
def templates(draw, depth: int = 0):
    """A letter template: text, output, conditions, loops, macros and sets, now and then a tag a letter may not
    use or a broken one."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        expr = draw(EXPRS)
        inner = draw(templates(depth + 1)) if depth < 2 and draw(st.booleans()) else draw(TEXT)
        if draw(st.integers(0, 5)) == 3:   # (hypothesis favours 0: a middle draw marks the rarer branch)
            parts.append(draw(st.sampled_from([
                f"{{% for x in [1, 2] recursive %}}{{{{ loop(x) }}}}{{% endfor %}}",
                f"{{% include '{draw(st.sampled_from(['base.html', '/etc/passwd', 'x']))}' %}}",
                "{% import 'x' as y %}", "{% from 'x' import y %}", "{% extends 'base.html' %}",
                f"{{% do {expr} %}}", draw(BROKEN)])))
            continue
        parts.append(draw(st.sampled_from([
            draw(TEXT), f"{{{{ {expr} }}}}", f"{{{{ {expr}|{draw(FILTERS)} }}}}",
            f"{{% if {expr} %}}{inner}{{% else %}}{draw(TEXT)}{{% endif %}}",
            f"{{% for x in {expr} %}}{inner}{{{{ x }}}}{{{{ loop.index }}}}{{% endfor %}}",
            f"{{% for x in range({draw(st.sampled_from([3, 100, 10001, 10**9]))}) %}}{inner}{{% endfor %}}",
            f"{{% set v = {expr} %}}{{{{ v }}}}",
            f"{{% macro m(n) %}}{{{{ m(n) }}}}{{% endmacro %}}{{{{ m({expr}) }}}}",
            f"{{% macro m() %}}{inner}{{{{ caller() }}}}{{% endmacro %}}{{% call m() %}}{draw(TEXT)}{{% endcall %}}",
            f"{{% raw %}}{{{{ {expr} }}}}{{% endraw %}}", f"{{% filter upper %}}{inner}{{% endfilter %}}",
            f"{{% with a = {expr} %}}{{{{ a }}}}{{% endwith %}}",
            f"{{% autoescape false %}}{{{{ {expr} }}}}{{% endautoescape %}}", f"{{# {expr} #}}",
            f"{{% set ns = namespace(s='x') %}}{{% for i in range(40) %}}{{% set ns.s = ns.s ~ ns.s %}}{{% endfor %}}",
        ])))
    return "".join(parts)


# Signs in an output or an error that the sandbox let something through: a secret, Python objects written out,
# paths of the server. (An error may name what was refused, `__globals__`; an output may not hold it.)
LEAKS = ["<class ", "<function ", "<built-in", "<module ", "<bound ", "<method", "<cell", "<frame", "<code ",
         "os.environ", "/work/", "site-packages"]


def _no_leak(text: str, output: bool = False) -> None:
    assert CANARY not in text, "a secret left the sandbox"
    for sign in LEAKS + (["__globals__", "__builtins__", "__subclasses__"] if output else []):
        assert sign not in text, (sign, text[:300])


def _with_canary(app):
    app.config["SECRET_KEY"] = CANARY
    app.config["LETTER_MAX_RENDER_SECONDS"] = RENDER_SECONDS
    os.environ["RETENTION_FUZZ_CANARY"] = CANARY


FIELD_PREFIXES = tuple(f"{label}: " for label in ("body", "closing", "qr_url", "name", "digits", "language",
                                                   "calendar", "key"))


@given(body=templates(), field=st.sampled_from(["body", "body", "body", "closing", "qr_url"]))
@example(body="{{ ''.__class__.__mro__[1].__subclasses__() }}", field="body")
@example(body="{{ range.__globals__['os'].environ }}", field="body")
@example(body="{% for x in [1, 2] recursive %}{{ loop(x) }}{% endfor %}", field="body")
@example(body="{{ []|first }}", field="closing")   # said "None does not exist" instead of why
@example(body="{{ customer.name|truncate(-1) }}", field="body")
@bounded(200)
def test_any_template_is_refused_by_field_or_renders_inside_the_sandbox(app, body, field):
    _with_canary(app)
    fields = {"language": "en", "body": body if field == "body" else "Dear {{ customer.name }},", field: body}
    try:
        clean = service.validate_template(fields)
    except service.LetterError as exc:
        message = str(exc)
        assert message.startswith(FIELD_PREFIXES), message
        assert "None does not exist" not in message, message   # the reason, not a name never looked up
        _no_leak(message)
        return
    for name in ("body", "closing", "qr_url"):
        if clean[name]:
            _no_leak(service.render_text(clean[name], service.sample_context("en"), name), output=True)


# --- The editor page, its preview, and the API -------------------------------------------------------------------

PAGE_LABELS = tuple(f"{str(label)}: " for label in service.TEMPLATE_FIELD_LABELS.values()) + FIELD_PREFIXES


def _templates_saved() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(LetterTemplate))


def test_the_editor_page_names_the_field_or_saves_a_template_that_prints(app, client, auth, signer, queue):
    _with_canary(app)
    assert signer.post(client, sale_completed("FZS-letter", customer("FZC-letter", "Layla Haddad"))).status_code == 202
    queue.drain()
    staff(app, "maya@example.com", "marketing")
    auth.login("maya@example.com")
    csrf = csrf_of(client.get("/letters/templates/welcome/en").get_data(as_text=True))
    printed = []

    @given(body=templates(), marker=st.sampled_from(["Warm regards", "Kind wishes", "See you soon"]),
           digits=st.sampled_from(["latn", "latn", "arab", "roman"]))
    @example(body="Thank you, {{ customer.name }}.", marker="Warm regards", digits="latn")
    @bounded(40)
    def run(body, marker, digits):
        before = _templates_saved()
        form = {"csrf_token": csrf, "body": body + "\n" + marker, "closing": "Yours,", "digits": digits}
        preview = client.post("/letters/templates/welcome/en/preview", **encoded(form))
        assert preview.status_code in (200, 422), preview.get_data(as_text=True)[:300]
        if preview.status_code == 422:
            message = preview.get_json()["message"]
            assert message.startswith(PAGE_LABELS), message
            _no_leak(message)
        elif len(printed) < 3:   # a few accepted ones are printed and read back
            text = "".join(page_text(p) for p in open_pdf(preview.data).pages)
            assert marker in text, text[:300]
            _no_leak(text, output=True)
            printed.append(marker)
        answer = client.post("/letters/templates/welcome/en", **encoded(form))
        page = answer.get_data(as_text=True)
        assert answer.status_code in (302, 422), page[:300]
        if answer.status_code == 422:
            error = re.search(r'id="save-error">([^<]*)<', page).group(1)
            assert error.startswith(PAGE_LABELS), error
            _no_leak(error)
            assert _templates_saved() == before
            assert preview.status_code == 422, error   # the preview said so first
        else:
            assert preview.status_code == 200 and _templates_saved() == before + 1
            assert client.get("/letters/templates/welcome/en").status_code == 200

    run()
    assert printed, "no accepted template was printed"


def test_the_api_names_the_field_or_saves(app, client):
    _with_canary(app)
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'mo@example.com', 'marketing'))}"}

    @given(body=templates(), closing=st.one_of(st.just("Yours,"), templates()),
           qr_url=st.one_of(st.just(""), st.just("{{ survey_url }}"), templates()))
    @bounded(40)
    def run(body, closing, qr_url):
        before = _templates_saved()
        answer = client.put("/api/v1/letter-templates/welcome/en", headers=headers,
                            json={"body": body, "closing": closing, "qr_url": qr_url})
        assert answer.status_code in (200, 422), answer.get_data(as_text=True)[:300]
        reply = answer.get_json()
        if answer.status_code == 200:
            assert _templates_saved() == before + 1
            return
        assert _templates_saved() == before
        if "errors" in reply:   # the schema's field by field errors
            assert set(reply["errors"]["json"]) <= {"body", "closing", "qr_url"}, reply
        else:
            assert reply["message"].startswith(FIELD_PREFIXES), reply
            _no_leak(reply["message"])

    run()
