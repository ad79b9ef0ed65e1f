"""Tests for step conditions: the safe rule language, its JSON and text forms."""

import json
from decimal import Decimal

import pytest

from retention.journeys.conditions import (
    KNOWN_FACTS,
    MAX_DEPTH,
    RuleError,
    evaluate,
    parse,
    to_json,
    to_text,
    validate,
)

DETRACTOR = "latest_nps <= 6"
PASSIVE = "latest_nps >= 7 and latest_nps <= 8"
PASSIVE_AS_LIST = "latest_nps in (7, 8)"
PROMOTER = "latest_nps >= 9 and not open_complaint"


def facts(**overrides):
    base = {
        "latest_nps": None,
        "purchase_value": Decimal("1200.00"),
        "currency": "EUR",
        "category": "kitchen",
        "customer_type": "meek",
        "open_complaint": False,
        "days_since_delivery": 12,
        "nps_category": None,
    }
    base.update(overrides)
    return base


# --- the default journey's branches -----------------------------------------------------------


@pytest.mark.parametrize(
    "score, detractor, passive, promoter",
    [(0, True, False, False), (6, True, False, False), (7, False, True, False),
     (8, False, True, False), (9, False, False, True), (10, False, False, True)],
)
def test_nps_branches_of_the_default_journey(score, detractor, passive, promoter):
    customer = facts(latest_nps=score)
    assert evaluate(parse(DETRACTOR), customer) is detractor
    assert evaluate(parse(PASSIVE), customer) is passive
    assert evaluate(parse(PASSIVE_AS_LIST), customer) is passive
    assert evaluate(parse(PROMOTER), customer) is promoter


def test_promoter_with_an_open_complaint_gets_no_referral_offer():
    assert not evaluate(parse(PROMOTER), facts(latest_nps=10, open_complaint=True))


def test_nps_category_fact_selects_passives_and_detractors():
    rule = parse('nps_category in ("passive", "detractor")')
    assert evaluate(rule, facts(nps_category="detractor"))
    assert not evaluate(rule, facts(nps_category="promoter"))
    assert not evaluate(rule, facts(nps_category=None))


def test_json_form_from_the_database_evaluates_like_the_text():
    stored = json.loads(
        '{"all": [{"fact": "latest_nps", "op": ">=", "value": 9},'
        ' {"not": {"fact": "open_complaint", "op": "==", "value": true}}]}'
    )
    assert stored == parse(PROMOTER)
    assert evaluate(stored, facts(latest_nps=9))


# --- missing facts -------------------------------------------------------------------------------


def test_never_surveyed_customer_is_neither_promoter_nor_detractor():
    never = facts(latest_nps=None)
    assert not evaluate(parse(DETRACTOR), never)
    assert not evaluate(parse(PROMOTER), never)
    assert not evaluate(parse("latest_nps < 9"), never)


def test_absent_fact_counts_as_null():
    assert evaluate(parse("latest_nps is null"), {})
    assert not evaluate(parse("latest_nps is not null"), {})
    assert evaluate(parse("not latest_nps >= 9"), {})


def test_not_equal_and_not_in_are_true_for_a_missing_fact():
    assert evaluate(parse('nps_category != "detractor"'), {})
    assert evaluate(parse('nps_category not in ("detractor")'), {})
    assert evaluate(parse("latest_nps == null"), {})


def test_empty_rule_always_passes():
    assert evaluate(None, {})
    assert evaluate({}, {})
    assert evaluate(parse("   "), {})
    assert evaluate(parse("true"), {})
    assert not evaluate(parse("false"), {})


def test_wrongly_typed_fact_is_a_bug_not_a_silent_false():
    with pytest.raises(TypeError, match="latest_nps"):
        evaluate(parse(DETRACTOR), facts(latest_nps="5"))


# --- money -------------------------------------------------------------------------------------


def test_purchase_value_compares_as_decimal():
    rule = parse("purchase_value > 500.10")
    assert rule["value"] == Decimal("500.10")
    assert evaluate(rule, facts(purchase_value=Decimal("500.11")))
    assert not evaluate(rule, facts(purchase_value=Decimal("500.10")))
    assert not evaluate(parse("purchase_value >= 0.3"), facts(purchase_value=Decimal("0.29")))


def test_float_in_a_stored_rule_means_its_written_digits():
    stored = {"fact": "purchase_value", "op": "==", "value": 0.3}
    assert evaluate(stored, facts(purchase_value=Decimal("0.1") + Decimal("0.2")))


def test_value_or_category_rule():
    rule = parse('purchase_value > 500 or category == "premium"')
    assert evaluate(rule, facts(purchase_value=Decimal("501"), category="kitchen"))
    assert evaluate(rule, facts(purchase_value=Decimal("20"), category="premium"))
    assert not evaluate(rule, facts(purchase_value=Decimal("500"), category="kitchen"))


def test_to_json_keeps_money_exact_and_serialisable():
    rule = parse('purchase_value > 499.99 and latest_nps >= 9 and currency == "EUR"')
    stored = json.loads(json.dumps(to_json(rule)))
    assert stored["all"][0]["value"] == "499.99"
    assert stored["all"][1]["value"] == 9
    assert evaluate(stored, facts(purchase_value=Decimal("500"), latest_nps=9))
    assert not evaluate(stored, facts(purchase_value=Decimal("499.99"), latest_nps=9))
    assert to_text(stored) == to_text(rule)


# --- parse errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("lifetime_value > 5", "unknown fact 'lifetime_value' at position 0"),
        ("latest_nps =~ 9", "unknown operator '=~' at position 11"),
        ("latest_nps = 9", "unknown operator '=' at position 11; use '==' to compare"),
        ("latest_nps equals 9", "unknown operator 'equals' at position 11"),
        ("(latest_nps > 6 and open_complaint",
         "unbalanced parenthesis: '(' is never closed at position 0"),
        ("latest_nps > 6)", "unbalanced parenthesis: ')' has no matching '(' at position 14"),
        (") latest_nps > 6", "unbalanced parenthesis: unexpected ')' at position 0"),
        ("latest_nps > 6 open_complaint",
         "unexpected 'open_complaint' after a complete condition at position 15"),
        ("latest_nps > 6 and", "unexpected end of rule, expected a condition at position 18"),
        ("latest_nps >", "expected a value, found end of rule at position 12"),
        ('category == "premium', "unterminated string starting at position 12"),
        ("latest_nps >= 9.5.1", "malformed number '9.5.1' at position 14"),
        ("latest_nps > 6 & open_complaint", "unexpected character '&' at position 15"),
        ("latest_nps",
         "fact 'latest_nps' needs a comparison, e.g. 'latest_nps == ...' at position 0"),
        ('latest_nps >= "9"', "expected a number, found '\"9\"' at position 14"),
        ("category == premium", "expected a value, found 'premium'; quote strings at position 12"),
        ('currency < "EUR"', "operator '<' does not apply to string fact 'currency' at position 9"),
        ('nps_category == "fan"',
         "fact 'nps_category' must be one of 'promoter', 'passive', 'detractor', got 'fan' "
         "at position 16"),
        ("latest_nps > null", "operator '>' cannot compare with null; use is_null at position 13"),
        ("latest_nps in ()", "a list needs at least one value at position 15"),
        ("latest_nps is 9", "expected 'null' after 'is', found '9' at position 14"),
        ("and latest_nps > 6", "expected a fact name, found 'and' at position 0"),
    ],
)
def test_parse_errors_name_what_and_where(text, message):
    with pytest.raises(RuleError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert caught.value.position is not None


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "__import__('os').system('rm -rf /')",
        "latest_nps.__class__",
        "open_complaint.real",
        "open_complaint()",
        "eval(\"1\")",
        "latest_nps > 6 ; import os",
        "[x for x in ()]",
        "lambda: 1",
        "latest_nps > 6 if open_complaint else true",
    ],
)
def test_code_is_refused(text):
    with pytest.raises(RuleError):
        parse(text)


def test_function_call_on_a_fact_is_named_as_such():
    with pytest.raises(RuleError, match="'open_complaint' is a fact, not a function"):
        parse("open_complaint()")


def test_attribute_access_stops_at_the_dot():
    with pytest.raises(RuleError, match=r"unexpected character '\.' at position 10"):
        parse("latest_nps.__class__")


def test_nesting_deeper_than_the_limit_is_refused():
    ok = "(" * (MAX_DEPTH - 1) + "open_complaint" + ")" * (MAX_DEPTH - 1)
    assert parse(ok) == {"fact": "open_complaint", "op": "==", "value": True}
    with pytest.raises(RuleError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        parse("(" * 1000 + "open_complaint" + ")" * 1000)
    with pytest.raises(RuleError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        parse("not " * (MAX_DEPTH + 1) + "open_complaint")
    parse("not " * MAX_DEPTH + "open_complaint")


def test_deep_json_from_the_database_is_refused_without_recursing_forever():
    rule = {"fact": "open_complaint", "op": "==", "value": True}
    for _ in range(5000):
        rule = {"not": rule}
    with pytest.raises(RuleError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        evaluate(rule, {})


def test_overlong_text_is_refused():
    with pytest.raises(RuleError, match="longer than"):
        parse("open_complaint or " * 1000 + "open_complaint")


# --- validate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"all": [{"fact": "latest_nps", "op": ">=", "value": 9},
                  {"fact": "latest_nps", "op": "=~", "value": 9}]},
         "all[1].op: unknown operator '=~'"),
        ({"any": [{"not": {"fact": "lifetime_value", "op": ">", "value": 1}}]},
         "any[0].not.fact: unknown fact 'lifetime_value'"),
        ({"fact": "nps_category", "op": "in", "value": ["passive", "fan"]},
         "value[1]: fact 'nps_category' must be one of 'promoter', 'passive', 'detractor', "
         "got 'fan'"),
        ({"fact": "latest_nps", "op": ">="}, "value: operator '>=' needs a value"),
        ({"fact": "latest_nps", "op": "is_null", "value": 3},
         "value: operator 'is_null' takes no value"),
        ({"fact": "open_complaint", "op": ">", "value": True},
         "op: operator '>' does not apply to boolean fact 'open_complaint'"),
        ({"fact": "latest_nps", "op": "in", "value": 7},
         "value: operator 'in' needs a non-empty list, got 7"),
        ({"all": {"fact": "latest_nps", "op": ">=", "value": 9}},
         "all: 'all' needs a list, got dict"),
        ({"all": [], "any": []}, "rule: unexpected key 'any' beside 'all'"),
        ({"field": "latest_nps"},
         "rule: expected 'all', 'any', 'not' or a comparison with 'fact', got 'field'"),
        ({"fact": "latest_nps", "op": "==", "value": 9, "extra": 1},
         "rule: unexpected key 'extra' in a comparison"),
        (["latest_nps"], "rule: expected a condition object, got list"),
        ({"fact": "purchase_value", "op": ">", "value": "lots"},
         "value: fact 'purchase_value' is compared with numbers, got 'lots'"),
    ],
)
def test_validate_names_the_path_at_fault(rule, message):
    with pytest.raises(RuleError) as caught:
        validate(rule)
    assert str(caught.value) == message


def test_validate_accepts_every_known_fact():
    for name in KNOWN_FACTS:
        validate({"fact": name, "op": "is_null"})


# --- round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        DETRACTOR,
        PASSIVE,
        PASSIVE_AS_LIST,
        PROMOTER,
        'nps_category in ("passive", "detractor")',
        'purchase_value > 500 or category == "premium"',
        "latest_nps is null",
        "days_since_delivery is not null and days_since_delivery >= 14",
        '(purchase_value >= 1000.50 or customer_type == "high_roller") and not open_complaint',
        "not (latest_nps >= 7 and latest_nps <= 8)",
        '(open_complaint and latest_nps <= 6) and currency != "USD"',
        'category not in ("spare parts", "say \\"hi\\"", "back\\\\slash")',
        "open_complaint == false or latest_nps == null",
        "latest_nps >= -1",
        "true",
        "false",
        "not not open_complaint",
    ],
)
def test_text_round_trips_through_json(text):
    rule = parse(text)
    assert to_text(rule) == text
    assert parse(to_text(rule)) == rule


def test_text_is_normalised_on_the_way_back():
    rule = parse("( latest_nps>=9 )and not(open_complaint)")
    assert to_text(rule) == "latest_nps >= 9 and not open_complaint"
    assert to_text(parse("nps_category in ('passive')")) == 'nps_category in ("passive")'


def test_single_child_group_renders_as_its_child():
    rule = {"all": [{"any": [{"fact": "latest_nps", "op": ">=", "value": 9}]}]}
    assert to_text(rule) == "latest_nps >= 9"
    assert evaluate(parse(to_text(rule)), {"latest_nps": 9}) == evaluate(rule, {"latest_nps": 9})


def test_empty_rule_renders_as_blank_text():
    assert to_text(None) == ""
    assert parse(to_text({})) == {}
