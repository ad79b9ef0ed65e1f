"""Fuzzing the journey condition form (issue 14, section 3): the step editor's fact/comparison/value rows and
and/or, on the page and through the API's rule text.

What a person would notice: never a server error; a refused condition says which step, that the condition is
at fault and which comparison; an accepted one is saved, reads back in words (describe), evaluates against any
customer's facts without error, and opens again in the editor.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from retention.extensions import db
from retention.journeys import condition_form, conditions
from retention.journeys import service as journeys
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from tests.factories import staff, token_for
from tests.fuzz.forms import csrf_of, encoded, form_data
from tests.fuzz.strategies import bounded, huge_text, junk_text

KEY = "first-90-days"
STEP = 6   # the day-45 check-in call (0-based card number on the page)
UTC = dt.timezone.utc

FACTS = list(conditions.KNOWN_FACTS)
OPS = list(conditions.OPERATORS) + ["=", "<>", "in_between", "", " == ", "IS_NULL"]
VALUES = st.one_of(
    st.sampled_from(["true", "false", "promoter", "detractor", "passive", "meek", "high_roller", "EUR", "EUR, USD",
                     "EUR، USD", "kitchen", "", "0", "-1", "10", "11", "6.5", "۵۰۰.۵", "٣", "1,000", "1e3",
                     "1e99999999", "1e-99999999", "0e-99999999", "-0", "NaN", "Infinity", "sNaN", "0x10", "1_000",
                     " 7 ", "9" * 20, "0." + "0" * 30 + "1", ",,,", "a, b, , c", "null", "yes"]),
    junk_text, st.integers(-10 ** 20, 10 ** 20).map(str), st.decimals(allow_nan=True).map(str), huge_text(4000),
)
ROWS = st.lists(st.fixed_dictionaries({"fact": st.one_of(st.sampled_from(FACTS), st.sampled_from(["", " "]),
                                                         junk_text),
                                       "op": st.sampled_from(OPS), "value": VALUES}), max_size=5)
JOINS = st.sampled_from(["all", "any", "", "ANY", "xor", "\x00"])

# Any customer's facts, of the kinds the journey fills in.
CUSTOMER_FACTS = st.fixed_dictionaries({
    "latest_nps": st.one_of(st.none(), st.integers(0, 10)),
    "purchase_value": st.one_of(st.none(), st.decimals(0, 10 ** 12, places=3)),
    "currency": st.one_of(st.none(), st.sampled_from(["EUR", "USD", "JPY"])),
    "category": st.one_of(st.none(), st.sampled_from(["kitchen", "garden", ""])),
    "customer_type": st.one_of(st.none(), st.sampled_from(conditions.KNOWN_FACTS["customer_type"].choices)),
    "open_complaint": st.booleans(),
    "days_since_delivery": st.one_of(st.none(), st.integers(0, 4000)),
    "nps_category": st.one_of(st.none(), st.sampled_from(conditions.KNOWN_FACTS["nps_category"].choices)),
})


def _accepted_rule_holds(rule: dict | None, facts_list) -> None:
    """A rule the form accepted: valid, in words, true or false for any customer, and shown in the form again."""
    if rule is None:
        return
    conditions.validate(rule)
    assert conditions.describe(rule).strip()
    text = conditions.to_text(rule)
    assert conditions.to_json(conditions.parse(text)) == conditions.to_json(rule)
    for facts in facts_list:
        assert conditions.evaluate(rule, facts) in (True, False)
    shown = condition_form.rows_of(conditions.to_json(rule))
    assert shown is not None, text
    assert conditions.parse(condition_form.text_of(*shown)) == conditions.parse(text)


@given(join=JOINS, rows=ROWS, facts_list=st.lists(CUSTOMER_FACTS, min_size=1, max_size=3))
@example(join="all", rows=[{"fact": "latest_nps", "op": ">=", "value": "1e99999999"}], facts_list=[{}])  # hung
@example(join="all", rows=[{"fact": "purchase_value", "op": "<", "value": "1e-99999999"}], facts_list=[{}])
@example(join="all", rows=[{"fact": "purchase_value", "op": "==", "value": "0e-99999999"}], facts_list=[{}])
@example(join="all", rows=[{"fact": "category", "op": "==", "value": "x" * 5000}], facts_list=[{}])  # too long to parse
@example(join="all", rows=[{"fact": "category", "op": "in", "value": "a, \ud800"}], facts_list=[{}])
@bounded(400)
def test_form_rows_become_a_rule_or_name_the_comparison(join, rows, facts_list):
    try:
        rule = condition_form.rule_of(join, rows)
    except condition_form.FormError as exc:
        assert re.match(r"comparison [1-9][0-9]*: ", str(exc)), str(exc)
        assert 1 <= exc.row <= len(rows) and (rows[exc.row - 1]["fact"] or "").strip()
        assert len(str(exc)) < 400
        return
    _accepted_rule_holds(rule, facts_list)


# --- The editor page -------------------------------------------------------------------------------------------

def _page_setup(app, client, auth, locale="en"):
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    staff(app, "maya@example.com", "marketing", name="Maya Karimi", locale=locale)
    auth.login("maya@example.com")
    page = client.get(f"/journeys/{KEY}/edit").get_data(as_text=True)
    data = form_data(page, "journey-form")
    data["csrf_token"] = csrf_of(page)
    for name in [n for n in data if n.startswith((f"cond_fact-{STEP}-", f"cond_op-{STEP}-", f"cond_value-{STEP}-"))]:
        del data[name]
    return data


def test_the_editor_page_never_fails_on_condition_rows(app, client, auth):
    base = _page_setup(app, client, auth)

    @given(join=JOINS, rows=ROWS, count=st.one_of(st.none(), st.sampled_from(["0", "3", "25", "-1", "x", "9" * 9])),
           action=st.sampled_from(["save", "preview"]))
    @example(join="all", rows=[{"fact": "days_since_delivery", "op": ">", "value": "1e99999999"}], count=None,
             action="save")
    @bounded(40)
    def run(join, rows, count, action):
        data = dict(base, action=action, choice="keep", **{f"cond_mode-{STEP}": "form", f"cond_join-{STEP}": join,
                                                           f"cond_rows-{STEP}": count or str(len(rows))})
        for j, row in enumerate(rows):
            data.update({f"cond_fact-{STEP}-{j}": row["fact"], f"cond_op-{STEP}-{j}": row["op"],
                         f"cond_value-{STEP}-{j}": row["value"]})
        before = journeys.current_version(db.session, KEY).version
        answer = client.post(f"/journeys/{KEY}/edit", **encoded(data))
        page = answer.get_data(as_text=True)
        db.session.rollback()
        assert answer.status_code in (200, 302, 422), page[:500]
        if answer.status_code == 422:
            error = re.search(r'id="edit-error">([^<]*)<', page).group(1)
            assert error.startswith("Step 7 (Day 45 check-in), Condition: comparison "), error
            assert journeys.current_version(db.session, KEY).version == before   # nothing saved
            return
        if answer.status_code == 200:
            assert action == "preview"
            return
        saved = journeys.current_version(db.session, KEY)
        assert saved.version == before + 1
        rule = next(s for s in saved.steps if s.key == "check_in_day_45").condition
        _accepted_rule_holds(rule, [{}, {"latest_nps": 3, "open_complaint": True, "purchase_value": Decimal("12.5")}])
        # the saved rule opens in the editor again
        assert client.get(f"/journeys/{KEY}/edit").status_code == 200

    run()


# --- The API: the same rules as text or JSON --------------------------------------------------------------------

TOKENS = st.sampled_from(FACTS + ["nps_score", "and", "or", "not", "(", ")", "==", "!=", "<", "<=", ">", ">=", "in",
                                  "not in", "is null", "is not null", "true", "false", '"promoter"', '"EUR"',
                                  "'kitchen'", "6", "9.5", "-1", "1e3", "(1, 2)", '("EUR", "USD")', ",", '"\\u0000"',
                                  '"unterminated', "\\", "~", "==="])
RULE_TEXT = st.one_of(
    st.lists(TOKENS, max_size=12).map(" ".join),
    junk_text, huge_text(1000),
    st.integers(1, 40).map(lambda n: "(" * n + "latest_nps >= 9" + ")" * n),
    st.integers(1, 40).map(lambda n: "not " * n + "open_complaint"),
    st.integers(1, 2000).map(lambda n: " and ".join(["open_complaint"] * n)),
)
RULE_JSON = st.recursive(
    st.fixed_dictionaries({"fact": st.one_of(st.sampled_from(FACTS), junk_text),
                           "op": st.sampled_from(OPS),
                           "value": st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), junk_text,
                                              st.lists(st.one_of(st.integers(), junk_text), max_size=3))}),
    lambda children: st.one_of(st.fixed_dictionaries({"all": st.lists(children, max_size=3)}),
                               st.fixed_dictionaries({"any": st.lists(children, max_size=3)}),
                               st.fixed_dictionaries({"not": children})),
    max_leaves=6,
)


def _rows_text(join, rows):
    try:
        return condition_form.text_of(join, rows)
    except condition_form.FormError:
        return "latest_nps >= 9"


def test_the_api_takes_any_rule_or_names_the_condition(app, client, auth):
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'root@example.com', 'admin'))}"}
    staff(app, "maya@example.com", "marketing")
    auth.login("maya@example.com")   # the pages show what the API saved
    steps = client.get(f"/api/v1/journeys/{KEY}", headers=headers).get_json()["steps"]

    @given(condition=st.one_of(RULE_TEXT, RULE_JSON, st.builds(_rows_text, JOINS, ROWS),
                               st.sampled_from([None, 7, [], ["latest_nps"], True, {"fact": None}, {}])),
           path=st.sampled_from(["impact", "put"]))
    @example(condition="latest_nps >= " + "9" * 3990, path="put")
    @example(condition={"fact": "purchase_value", "op": ">=", "value": 1e308}, path="put")
    # saved, then every journey page failed to render it (a lone surrogate cannot be written as UTF-8)
    @example(condition='category == "\ud800"', path="put")
    @example(condition={"fact": "category", "op": "in", "value": ["a\x00b"]}, path="put")
    @bounded(80)
    def run(condition, path):
        changed = [dict(s) for s in steps]
        changed[STEP]["condition"] = condition
        if path == "impact":
            answer = client.post(f"/api/v1/journeys/{KEY}/impact", json={"steps": changed}, headers=headers)
        else:
            answer = client.put(f"/api/v1/journeys/{KEY}", json={"steps": changed, "choice": "keep"},
                                headers=headers)
        db.session.rollback()
        assert answer.status_code in (200, 422), answer.get_data(as_text=True)[:500]
        body = answer.get_json()
        if answer.status_code == 422:
            assert body["message"].startswith("step 7 (Day 45 check-in): condition: "), body
            return
        if path == "put":
            rule = next(s for s in body["journey"]["steps"] if s["key"] == "check_in_day_45")["condition"]
            if rule is not None:
                conditions.validate(rule)
                assert conditions.describe(rule).strip()
                assert conditions.evaluate(rule, {"open_complaint": False}) in (True, False)
            for page in ("/journeys/", f"/journeys/{KEY}/edit", f"/journeys/{KEY}/versions"):
                assert client.get(page).status_code == 200, page

    run()
