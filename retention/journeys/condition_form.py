"""Step conditions built from a form: fact, comparison, value (and/or for several), written as the rule text.

The journey editor offers each step's condition two ways: this form for people who do not write rules, and
the rule text (conditions.py) for those who do. The form works without JavaScript: its fields are turned
into the rule text here, on the server, and that text goes through the one parser like any typed rule.
A rule the form cannot show (nested groups, a negated comparison without an exact opposite) stays as text.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

from retention.journeys import conditions
from retention.validation import bad_character

# The comparisons offered for each kind of fact, in the order shown.
OPS_BY_KIND = {
    "integer": ("==", "!=", "<", "<=", ">", ">=", "is_null", "not_null"),
    "decimal": ("==", "!=", "<", "<=", ">", ">=", "is_null", "not_null"),
    "string": ("==", "!=", "in", "not_in", "is_null", "not_null"),
    "choice": ("==", "!=", "in", "not_in", "is_null", "not_null"),
    "boolean": ("==",),
}
OP_LABELS = {
    "==": _l("is"), "!=": _l("is not"), "<": _l("is less than"), "<=": _l("is at most"),
    ">": _l("is more than"), ">=": _l("is at least"), "in": _l("is one of"), "not_in": _l("is none of"),
    "is_null": _l("is not known"), "not_null": _l("is known"),
}
# Each fact as the form names it (a label, not a sentence: conditions.FACT_LABELS word the rule in sentences).
FACT_LABELS = {
    "latest_nps": _l("Latest NPS score (0–10)"), "purchase_value": _l("Purchase value"),
    "currency": _l("Currency of the purchase"), "category": _l("Product category"),
    "customer_type": _l("Customer type"), "open_complaint": _l("Has an open complaint"),
    "days_since_delivery": _l("Days since delivery"), "nps_category": _l("NPS group (promoter, passive, detractor)"),
}
JOIN_LABELS = {"all": _l("All of these (and)"), "any": _l("Any of these (or)")}
BOOLEAN_LABELS = {"true": _l("yes"), "false": _l("no")}
NO_VALUE = ("is_null", "not_null")
_OPPOSITE = {"==": "!=", "!=": "==", "in": "not_in", "not_in": "in", "is_null": "not_null", "not_null": "is_null"}
# Digits of any script typed into a number (Arabic-Indic, Persian) read as 0-9.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.")


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown (JourneyError.localized)."""
    return message


class FormError(ValueError):
    """A comparison of the form that cannot become a rule; `row` counts from 1, message is English with params."""

    def __init__(self, message: str, row: int, **params):
        self.msgid, self.row, self.params = message, row, params
        super().__init__(message % {**params, "row": row})


def fact_kind(name: str) -> str | None:
    fact = conditions.KNOWN_FACTS.get(name)
    return fact.kind if fact else None


def choices_of(name: str) -> tuple[str, ...]:
    fact = conditions.KNOWN_FACTS.get(name)
    if fact is None:
        return ()
    return ("true", "false") if fact.kind == "boolean" else fact.choices


def _value_text(kind: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(kind, v) for v in value)
    if value is None:
        return ""
    if kind in ("integer", "decimal"):
        return format(Decimal(str(value)), "f")
    return str(value)


def _row_of(leaf: Mapping[str, Any], negate: bool) -> dict | None:
    """A comparison as a form row {fact, op, value (text)}; None when the form cannot show it."""
    name, op = leaf["fact"], leaf["op"]
    kind = fact_kind(name)
    value = leaf.get("value")
    if kind == "boolean":
        if op not in ("==", "!=") or not isinstance(value, bool):
            return None
        truth = value if op == "==" else not value
        return {"fact": name, "op": "==", "value": "true" if truth != negate else "false"}
    if negate:
        if op not in _OPPOSITE:
            return None  # "not latest_nps >= 9" also holds when never answered: no comparison says that alone
        op = _OPPOSITE[op]
    if op not in OPS_BY_KIND.get(kind, ()):
        return None
    if op in ("==", "!=") and value is None:
        return None
    return {"fact": name, "op": op, "value": _value_text(kind, value)}


def rows_of(rule: dict | None) -> tuple[str, list[dict]] | None:
    """(join, rows) showing a stored rule in the form, or None when it needs the text form. No rule: ("all", [])."""
    if not rule:
        return "all", []
    node = conditions._collapse(rule)
    join, children = "all", [node]
    for key in ("all", "any"):
        if key in node:
            join, children = key, node[key]
    if not children:
        return None  # "true"/"false": only the text says that
    rows = []
    for child in children:
        child = conditions._collapse(child)
        negate = "not" in child
        if negate:
            child = conditions._collapse(child["not"])
        if "fact" not in child:
            return None
        row = _row_of(child, negate)
        if row is None:
            return None
        rows.append(row)
    return join, rows


# A number typed into the form: what the rule language compares with (conditions.MAX_WHOLE_DIGITS / MAX_PLACES).
# "1e99999999" is a valid Decimal whose digits would take minutes to write out.
MAX_TEXT_VALUE = 120  # a category or currency as the hook takes it (categories are at most 120 characters)


def _shown(text: str) -> str:
    """What was typed, as an error quotes it (a long paste cut short)."""
    return text if len(text) <= 40 else text[:40] + "…"


def _number(text: str, row: int) -> Decimal:
    cleaned = text.translate(_DIGITS).replace(",", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise FormError(N_("comparison %(row)s: '%(value)s' is not a number"), row, value=_shown(text)) from None
    if not number.is_finite():
        raise FormError(N_("comparison %(row)s: '%(value)s' is not a number"), row, value=_shown(text))
    if not number:
        return Decimal(0)  # "0e-99999999" is zero too, without its million zeros
    if not conditions.number_fits(number):
        raise FormError(N_("comparison %(row)s: '%(value)s' has more than %(whole)s digits before the point or "
                           "%(places)s after it"), row, value=_shown(text), whole=conditions.MAX_WHOLE_DIGITS,
                        places=conditions.MAX_PLACES)
    return number.normalize()  # "0.5" + a million zeros is 0.5 (inside the limits above, nothing is rounded)


def _value(name: str, text: str, row: int) -> Any:
    kind = fact_kind(name)
    if kind in ("integer", "decimal"):
        number = _number(text, row)
        if kind == "integer" and number != number.to_integral_value():
            raise FormError(N_("comparison %(row)s: '%(value)s' is not a whole number"), row, value=_shown(text))
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        if text not in ("true", "false"):
            raise FormError(N_("comparison %(row)s: choose yes or no"), row)
        return text == "true"
    if len(text) > MAX_TEXT_VALUE:
        raise FormError(N_("comparison %(row)s: at most %(limit)s characters"), row, limit=MAX_TEXT_VALUE)
    if bad_character(text):
        raise FormError(N_("comparison %(row)s: the value contains a control character or broken text"), row)
    choices = choices_of(name)
    if choices and text not in choices:
        raise FormError(N_("comparison %(row)s: choose one of %(choices)s"), row, choices=", ".join(choices))
    return text


def rule_of(join: str, rows: list[dict]) -> dict | None:
    """The rule the form's rows say (None for no condition); FormError naming the comparison (from 1).

    A row without a fact is an unused row. A list ("is one of") takes its values separated by commas.
    """
    leaves = []
    for number, row in enumerate(rows, start=1):
        name = (row.get("fact") or "").strip()
        op = (row.get("op") or "").strip()
        text = (row.get("value") or "").strip()
        if not name:
            continue
        kind = fact_kind(name)
        if kind is None or name in conditions.NOT_AVAILABLE_YET:
            raise FormError(N_("comparison %(row)s: choose a fact"), number)
        if op not in OPS_BY_KIND[kind]:
            raise FormError(N_("comparison %(row)s: choose a comparison"), number)
        if op in NO_VALUE:
            leaves.append({"fact": name, "op": op})
            continue
        if not text:
            raise FormError(N_("comparison %(row)s: a value is needed"), number)
        if op in ("in", "not_in"):
            values = [part.strip() for part in text.replace("،", ",").split(",") if part.strip()]
            leaves.append({"fact": name, "op": op, "value": [_value(name, v, number) for v in values]})
        elif kind == "boolean":
            # written as the rule text says it: "open_complaint" / "not open_complaint"
            yes = {"fact": name, "op": "==", "value": True}
            leaves.append(yes if _value(name, text, number) else {"not": yes})
        else:
            leaves.append({"fact": name, "op": op, "value": _value(name, text, number)})
    if not leaves:
        return None
    if len(leaves) == 1:
        return leaves[0]
    return {"all" if join != "any" else "any": leaves}


def text_of(join: str, rows: list[dict]) -> str:
    """The rule text the form's rows write (blank for no condition)."""
    rule = rule_of(join, rows)
    return conditions.to_text(rule) if rule else ""
