"""The journey editor for people who do not write rules: conditions from a form, errors by step number and
title in the reader's language, version history (who, when, what changed), diffs and restore as a new version."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.journeys import condition_form, conditions
from retention.journeys import service as journeys
from retention.journeys.models import Journey
from tests.factories import staff
from tests.fuzz.forms import form_data

KEY = "first-90-days"


def default_steps() -> list[dict]:
    return [dict(s) for s in journeys.DEFAULT_JOURNEY["steps"]]


# --- The condition form writes the rule language ---------------------------------------------------

@pytest.mark.parametrize("join, rows, text", [
    ("all", [{"fact": "nps_category", "op": "==", "value": "promoter"},
             {"fact": "open_complaint", "op": "==", "value": "false"}],
     'nps_category == "promoter" and not open_complaint'),
    ("any", [{"fact": "latest_nps", "op": "<=", "value": "6"},
             {"fact": "open_complaint", "op": "==", "value": "true"}],
     "latest_nps <= 6 or open_complaint"),
    ("all", [{"fact": "purchase_value", "op": ">=", "value": "۵۰۰.۵"},   # Persian digits typed
             {"fact": "currency", "op": "in", "value": "EUR, USD"}],
     'purchase_value >= 500.5 and currency in ("EUR", "USD")'),
    ("all", [{"fact": "days_since_delivery", "op": "is_null", "value": ""}], "days_since_delivery is null"),
    ("all", [{"fact": "nps_category", "op": "not_in", "value": "detractor, passive"}, {"fact": "", "op": "==",
                                                                                         "value": ""}],
     'nps_category not in ("detractor", "passive")'),
])
def test_the_condition_form_writes_the_same_rule_as_the_text(join, rows, text):
    written = condition_form.text_of(join, rows)
    assert conditions.parse(written) == conditions.parse(text)
    # and the stored rule shows in the form again as the same rows
    shown_join, shown_rows = condition_form.rows_of(conditions.to_json(conditions.parse(written)))
    assert condition_form.text_of(shown_join, shown_rows) == written


def test_rules_the_form_cannot_show_stay_as_text():
    for text in ("not latest_nps >= 9", "(latest_nps >= 9 or open_complaint) and currency == \"EUR\"", "true"):
        assert condition_form.rows_of(conditions.parse(text)) is None, text
    assert condition_form.rows_of(None) == ("all", [])


@pytest.mark.parametrize("row, words", [
    ({"fact": "latest_nps", "op": ">=", "value": "nine"}, "comparison 1: 'nine' is not a number"),
    ({"fact": "latest_nps", "op": ">=", "value": "8.5"}, "comparison 1: '8.5' is not a whole number"),
    ({"fact": "latest_nps", "op": ">=", "value": ""}, "comparison 1: a value is needed"),
    ({"fact": "latest_nps", "op": "in_between", "value": "1"}, "comparison 1: choose a comparison"),
    ({"fact": "customer_type", "op": "==", "value": "business"}, "comparison 1: choose one of meek"),
    ({"fact": "no_such_fact", "op": "==", "value": "x"}, "comparison 1: choose a fact"),
    ({"fact": "nps_category", "op": "==", "value": "fan"}, "comparison 1: choose one of promoter"),
])
def test_the_form_says_which_comparison_is_wrong(row, words):
    with pytest.raises(condition_form.FormError) as refused:
        condition_form.rule_of("all", [row])
    assert str(refused.value).startswith(words)


# --- Errors: step counted from 1, named by its title, field by its label, in the reader's language ---

def test_service_errors_count_steps_from_one_and_name_them_by_title(app, world):
    steps = default_steps()
    steps[2]["day_offset"] = 400
    with pytest.raises(journeys.JourneyError) as refused:
        journeys.validate_steps(steps, db.session)
    assert str(refused.value) == "step 3 (How is it going?): day_offset: between 0 and 365"  # the API's words
    assert refused.value.localized() == "Step 3 (How is it going?), Day: between 0 and 365"  # a page's words
    steps = default_steps()
    steps[0]["condition"] = "nps_score >= 9"
    with pytest.raises(journeys.JourneyError) as refused:
        journeys.validate_steps(steps, db.session)
    assert refused.value.localized().startswith("Step 1 (Welcome letter signed by the owner), Condition: nps_score "
                                                "is not a fact; you can use: latest_nps, purchase_value")


def _marketing(app, auth, locale="en"):
    staff(app, f"maya-{locale}@example.com", "marketing", name="Maya Karimi", locale=locale)
    auth.login(f"maya-{locale}@example.com")
    return auth.csrf(f"/journeys/{KEY}/edit")


def edit_form(page: str) -> dict:
    """The edit form as the page shows it (inputs, checked boxes and radios, selected options)."""
    return form_data(page, "journey-form")


def test_the_page_error_names_the_step_in_persian(app, client, auth, world):
    csrf = _marketing(app, auth, "fa")
    data = edit_form(client.get(f"/journeys/{KEY}/edit").get_data(as_text=True))
    data.update({"csrf_token": csrf, "action": "save", "choice": "keep", "day_offset-2": "400"})
    answer = client.post(f"/journeys/{KEY}/edit", data=data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    error = re.search(r'id="edit-error">([^<]*)<', page).group(1)
    assert "۳" in error and "How is it going?" in error and "step" not in error.lower()
    assert 'value="400"' in page  # what was typed is kept
    assert journeys.current_version(db.session, KEY).version == 1


def test_marketing_builds_a_condition_with_the_form_without_javascript(app, client, auth, world):
    csrf = _marketing(app, auth)
    page = client.get(f"/journeys/{KEY}/edit").get_data(as_text=True)
    assert "placeholder=" not in page.split('id="journey-form"', 1)[1]  # no grey text that looks like a value
    data = edit_form(page)
    # step 8 (Referral offer) is shown in the form: promoter and no open complaint
    assert (data["cond_mode-7"], data["cond_fact-7-0"], data["cond_value-7-0"]) == ("form", "nps_category", "promoter")
    assert (data["cond_fact-7-1"], data["cond_value-7-1"]) == ("open_complaint", "false")
    # the day-45 call gets a condition from the form: only if the latest score is 6 or lower, or a complaint is open
    data.update({"csrf_token": csrf, "action": "save", "choice": "keep", "cond_mode-6": "form", "cond_join-6": "any",
                 "cond_fact-6-0": "latest_nps", "cond_op-6-0": "<=", "cond_value-6-0": "6",
                 "cond_rows-6": "2", "cond_fact-6-1": "open_complaint", "cond_op-6-1": "==",
                 "cond_value-6-1": "true"})
    answer = client.post(f"/journeys/{KEY}/edit", data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    saved = journeys.current_version(db.session, KEY)
    step = next(s for s in saved.steps if s.key == "check_in_day_45")
    assert step.condition == conditions.to_json(conditions.parse("latest_nps <= 6 or open_complaint"))
    # nothing else changed: the other conditions are the same rules as before
    before = {s.key: s.condition for s in journeys.version(db.session, KEY, 1).steps}
    assert {s.key: s.condition for s in saved.steps if s.key != "check_in_day_45"} == \
        {k: v for k, v in before.items() if k != "check_in_day_45"}


def test_the_rule_text_is_still_there_for_those_who_prefer_it(app, client, auth, world):
    csrf = _marketing(app, auth)
    data = edit_form(client.get(f"/journeys/{KEY}/edit").get_data(as_text=True))
    data.update({"csrf_token": csrf, "action": "save", "choice": "keep", "cond_mode-6": "text",
                 "condition-6": "not latest_nps >= 9"})
    assert client.post(f"/journeys/{KEY}/edit", data=data).status_code == 302
    step = next(s for s in journeys.current_version(db.session, KEY).steps if s.key == "check_in_day_45")
    assert conditions.to_text(step.condition) == "not latest_nps >= 9"
    page = client.get(f"/journeys/{KEY}/edit").get_data(as_text=True)
    assert edit_form(page)["cond_mode-6"] == "text"  # the form cannot say it: it stays as the rule


def test_a_bad_comparison_in_the_form_names_the_step_and_comparison(app, client, auth, world):
    csrf = _marketing(app, auth)
    data = edit_form(client.get(f"/journeys/{KEY}/edit").get_data(as_text=True))
    data.update({"csrf_token": csrf, "action": "save", "choice": "keep", "cond_mode-6": "form",
                 "cond_fact-6-0": "latest_nps", "cond_op-6-0": ">=", "cond_value-6-0": "high"})
    answer = client.post(f"/journeys/{KEY}/edit", data=data)
    assert answer.status_code == 422
    assert ("Step 7 (Day 45 check-in), Condition: comparison 1: &#39;high&#39; is not a number"
            in answer.get_data(as_text=True))
    assert 'value="high"' in answer.get_data(as_text=True)


# --- Versions: who, when, what changed; diff; restore as a new version -----------------------------

def _edit(steps, actor="test", choice="keep"):
    new, _ = journeys.edit_journey(db.session, KEY, steps=steps, choice=choice, now=journeys_now(), actor=actor)
    db.session.commit()
    return new


def journeys_now():
    import datetime as dt

    return dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.timezone.utc)


def test_the_diff_shows_changed_added_and_removed_steps(app, world):
    steps = default_steps()
    steps[2]["day_offset"] = 21
    steps[4]["condition"] = 'nps_category in ("detractor", "passive")'
    steps = [s for s in steps if s["key"] != "check_in_day_45"]
    steps.append({"key": "day_10_call", "day_offset": 10, "kind": "call", "title": "Day 10 call"})
    new = _edit(steps)
    change = journeys.diff(journeys.version(db.session, KEY, 1), new)
    by_key = {c.key: c for c in change.steps}
    assert by_key["how_is_it_going_call"].status == "changed"
    assert by_key["how_is_it_going_call"].fields == [("day_offset", 14, 21)]
    assert by_key["detractor_recovery_call"].fields == [
        ("condition", 'nps_category == "detractor"', 'nps_category in ("detractor", "passive")')]
    assert by_key["check_in_day_45"].status == "removed" and by_key["check_in_day_45"].old_number == 7
    assert by_key["day_10_call"].status == "added" and by_key["day_10_call"].new_number == 10
    assert (change.count("changed"), change.count("added"), change.count("removed")) == (2, 1, 1)


def test_restore_saves_version_n_plus_1_equal_to_the_old_one(app, client, auth, world):
    csrf = _marketing(app, auth)
    maya = db.session.scalar(select(type(world["owners"][0])).where(type(world["owners"][0]).email ==
                                                                    "maya-en@example.com"))
    steps = default_steps()
    steps[2]["day_offset"] = 21
    _edit(steps, actor=f"staff:{maya.id}")          # version 2, by Maya
    # restore version 1 through the edit page: the same choice of what happens to customers mid-way
    page = client.get(f"/journeys/{KEY}/edit?restore=1").get_data(as_text=True)
    assert "Restore version 1" in page and 'name="restored_from" value="1"' in page
    data = edit_form(page)
    assert data["day_offset-2"] == "14"
    data.update({"csrf_token": csrf, "action": "save"})
    refused = client.post(f"/journeys/{KEY}/edit", data=data)   # no choice made: asked, nothing saved
    assert refused.status_code == 422 and "Customers already on this journey" in refused.get_data(as_text=True)
    assert journeys.current_version(db.session, KEY).version == 2
    data["choice"] = "move"
    assert client.post(f"/journeys/{KEY}/edit", data=data).status_code == 302
    db.session.expire_all()
    three = journeys.current_version(db.session, KEY)
    assert three.version == 3 and three.created_by_id == maya.id
    assert journeys.form_steps(three) == journeys.form_steps(journeys.version(db.session, KEY, 1))
    assert not journeys.diff(journeys.version(db.session, KEY, 1), three).changed
    assert [j.version for j in db.session.scalars(select(Journey).where(Journey.key == KEY))] == [1, 2, 3]
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "journey.edited")
                               .order_by(AuditEntry.id)).all()[-1]
    assert audit.changes["restored_from"] == 1 and audit.changes["version"] == 3 and audit.changes["choice"] == "move"


def test_the_history_page_says_who_when_and_what_changed(app, client, auth, world):
    _marketing(app, auth)
    maya = db.session.scalar(select(type(world["owners"][0])).where(type(world["owners"][0]).email ==
                                                                    "maya-en@example.com"))
    steps = default_steps()
    steps[2]["day_offset"] = 21
    steps[2]["title"] = "How is it going <b>now</b>?"
    _edit(steps, actor=f"staff:{maya.id}")
    page = client.get(f"/journeys/{KEY}/versions").get_data(as_text=True)
    row2 = page.split('data-version="2"', 1)[1].split("</tr>", 1)[0]
    assert "Maya Karimi" in row2 and "1 step changed" in row2
    row1 = page.split('data-version="1"', 1)[1].split("</tr>", 1)[0]
    assert "Initial setup" in row1 and "First version" in row1 and "Restore" in row1
    diff = page.split('id="diff"', 1)[1]
    assert "From version 1 to version 2" in diff
    assert "How is it going &lt;b&gt;now&lt;/b&gt;?" in diff and "<b>now</b>" not in diff  # escaped
    changed = diff.split('data-field="day_offset"', 1)[1].split("</tr>", 1)[0]
    assert "14" in changed and "21" in changed
    older = client.get(f"/journeys/{KEY}/versions?a=2&b=1")
    assert older.status_code == 200
    assert client.get(f"/journeys/{KEY}/versions?a=9").status_code == 404
    assert client.get(f"/journeys/{KEY}/edit?restore=9").status_code == 404
    assert client.get("/journeys/nope/versions").status_code == 404


def test_the_history_page_in_arabic(app, client, auth, world):
    _marketing(app, auth, "ar")
    steps = default_steps()
    steps[2]["day_offset"] = 21
    _edit(steps)
    page = client.get(f"/journeys/{KEY}/versions").get_data(as_text=True)
    assert 'dir="rtl"' in page and "Version history" not in page and "١" in page
