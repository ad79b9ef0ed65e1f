"""Conditions in words (conditions.describe): every fact, every comparison, and/or/not, in en, ar and fa."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from retention.journeys.conditions import KNOWN_FACTS, RuleError, describe, evaluate, parse

# One rule per fact (every fact of the language is described in words, none shows its code name).
BY_FACT = {
    "latest_nps": ("latest_nps >= 9", "latest NPS score at least 9"),
    "purchase_value": ("purchase_value > 500.5", "purchase value above 500.5"),
    "currency": ('currency == "EUR"', "currency is “EUR”"),
    "category": ('category in ("kitchen", "garden")', "product category one of “kitchen”, “garden”"),
    "customer_type": ("customer_type is not null", "customer type known"),
    "open_complaint": ("not open_complaint", "no open complaint"),
    "days_since_delivery": ("days_since_delivery <= 10", "days since delivery at most 10"),
    "nps_category": ('nps_category == "detractor"', "detractor"),
}


def test_every_fact_has_a_rule_here():
    assert set(BY_FACT) == set(KNOWN_FACTS)


@pytest.mark.parametrize("fact", sorted(BY_FACT))
def test_each_fact_in_words(app, fact):
    text, words = BY_FACT[fact]
    assert describe(parse(text)) == words
    assert "_" not in describe(parse(text))  # never a code name such as latest_nps


@pytest.mark.parametrize("text, words", [
    ('nps_category == "promoter" and not open_complaint', "promoter and no open complaint"),
    ('nps_category != "passive"', "not passive"),
    ("open_complaint", "open complaint"),
    ("open_complaint == false", "no open complaint"),
    ("latest_nps is null", "no NPS answer yet"),
    ("nps_category is not null", "has answered an NPS survey"),
    ("latest_nps < 7", "latest NPS score below 7"),
    ("latest_nps != 5", "latest NPS score is not 5"),
    ('category not in ("toys")', "product category none of “toys”"),
    ("days_since_delivery is null", "days since delivery not known"),
    ("true", "always"),
    ("false", "never"),
    ('category == "a" or (purchase_value > 1 and currency == "USD")',
     "product category is “a” or (purchase value above 1 and currency is “USD”)"),
])
def test_comparisons_and_groups(app, text, words):
    assert describe(parse(text)) == words


@pytest.mark.parametrize("text, words", [
    # A missing fact makes an ordering comparison false, so its negation also holds while it is unknown.
    ("not latest_nps >= 9", "latest NPS score below 9, or not known yet"),
    ("not latest_nps > 9", "latest NPS score at most 9, or not known yet"),
    ("not latest_nps < 9", "latest NPS score at least 9, or not known yet"),
    ("not latest_nps <= 9", "latest NPS score above 9, or not known yet"),
    ('not (nps_category == "passive" or open_complaint)', "not passive and no open complaint"),
    ('not (nps_category == "passive" and open_complaint)', "not passive or no open complaint"),
    ("not latest_nps is null", "has answered an NPS survey"),
    ('not category in ("a", "b")', "product category none of “a”, “b”"),
    ("not not open_complaint", "open complaint"),
])
def test_not_is_said_as_the_opposite_comparison(app, text, words):
    assert describe(parse(text)) == words


def test_or_not_known_yet_is_what_the_rule_does(app):
    """A customer never surveyed passes `not latest_nps >= 9` (and the words say so), one scoring 10 does not."""
    rule = parse("not latest_nps >= 9")
    assert "or not known yet" in describe(rule)
    assert evaluate(rule, {"latest_nps": None}) and evaluate(rule, {"latest_nps": 4})
    assert not evaluate(rule, {"latest_nps": 10})
    assert not evaluate(parse("latest_nps < 9"), {"latest_nps": None})  # hence no "or not known yet" here
    assert "not known" not in describe(parse("latest_nps < 9"))


def test_no_condition_is_no_words_and_an_invalid_rule_is_refused(app):
    assert describe(None) == "" and describe({}) == ""
    with pytest.raises(RuleError):
        describe({"fact": "nope", "op": "==", "value": 1})


def test_numbers_are_written_for_the_reader(app):
    assert describe(parse("latest_nps >= 9"), number=lambda n: f"<{n}>") == "latest NPS score at least <9>"
    assert describe(parse("purchase_value > 500.10")) == "purchase value above 500.10"
    assert describe({"fact": "purchase_value", "op": ">", "value": Decimal("7")}) == "purchase value above 7"


@pytest.mark.parametrize("language, words", [
    ("fa", "مشتری مروج باشد و شکایت باز نداشته باشد"),
    ("ar", "كان العميل مروّجًا ولم تكن لدى العميل شكوى مفتوحة"),
])
def test_in_arabic_and_persian(app, language, words):
    with app.test_request_context(), force_locale(language):
        assert describe(parse('nps_category == "promoter" and not open_complaint')) == words
        for text, _ in BY_FACT.values():  # every fact reads in the language (no English word left)
            described = describe(parse(text))
            assert not any(word in described for word in ("score", "value", "category", "complaint", "known",
                                                          "delivery", "currency", "type"))
