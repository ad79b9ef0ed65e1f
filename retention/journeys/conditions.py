"""Step conditions: a small, safe rule language over customer facts, in JSON and text form.

A journey step may carry a condition such as ``latest_nps >= 9 and not open_complaint``. It is
stored as JSON::

    {"all": [cond, ...]}   {"any": [cond, ...]}   {"not": cond}
    {"fact": "latest_nps", "op": ">=", "value": 9}

and edited as text, read by the hand-written tokenizer and recursive-descent parser below. Nothing
is ever passed to ``eval``, ``exec``, ``compile`` or ``ast``: the only names a rule can mention are
the facts in ``KNOWN_FACTS`` and the literals ``true``, ``false`` and ``null``.

Semantics worth knowing:

* A missing fact (absent from the mapping, or ``None``) makes every ordering comparison
  (``< <= > >=``) false, so ``not latest_nps >= 9`` is true for a customer never surveyed while
  ``latest_nps < 9`` is false. ``!=`` and ``not_in`` are the exact negations of ``==`` and ``in``.
* Numbers are compared as ``Decimal``; a float found in a fact or a stored rule is read through its
  shortest repr, so ``500.1`` means 500.1, not 500.099999... Money comparisons ignore currency:
  pair ``purchase_value`` with ``currency == "EUR"`` when the currency matters.
* ``{"all": []}`` is true and ``{"any": []}`` is false; their text forms are ``true`` and ``false``.
  An empty rule (``None``, ``{}`` or blank text) means "no condition" and is true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Mapping

from retention.validation import bad_character

__all__ = [
    "Fact",
    "KNOWN_FACTS",
    "NOT_AVAILABLE_YET",
    "facts_in",
    "unavailable_facts",
    "OPERATORS",
    "MAX_DEPTH",
    "MAX_TEXT_LENGTH",
    "RuleError",
    "parse",
    "validate",
    "evaluate",
    "to_text",
    "to_json",
]


@dataclass(frozen=True)
class Fact:
    """What a rule may say about one fact: its kind, a human description and allowed values."""

    kind: str  # "integer", "decimal", "string", "boolean" or "choice"
    description: str
    choices: tuple[str, ...] = ()


KNOWN_FACTS: dict[str, Fact] = {
    "latest_nps": Fact("integer", "latest NPS score 0-10, null if never answered"),
    "purchase_value": Fact("decimal", "value of the sale that started the journey"),
    "currency": Fact("string", "ISO 4217 currency of purchase_value, e.g. \"EUR\""),
    "category": Fact("string", "product category of the sale"),
    # The type staff set on the customer (complaints step 2; complaints/types.py fills it): one of these or null.
    "customer_type": Fact("choice", "customer type staff set, null if not set",
                          ("meek", "aggressive", "high_roller", "rip_off", "chronic")),
    "open_complaint": Fact("boolean", "whether the customer has a complaint still open"),
    "days_since_delivery": Fact("integer", "days since delivery, null if not delivered"),
    "nps_category": Fact(
        "choice",
        "category of latest_nps, null if never answered",
        ("promoter", "passive", "detractor"),
    ),
}

NOT_AVAILABLE_YET: frozenset[str] = frozenset()
"""Facts the language knows but nothing fills yet: journey steps refuse rules naming them."""

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null")

_ORDERING = frozenset({"<", "<=", ">", ">="})
_LISTS = frozenset({"in", "not_in"})
_NULL_CHECKS = frozenset({"is_null", "not_null"})
_NUMERIC = frozenset({"integer", "decimal"})
_OPS_BY_KIND = {
    "integer": frozenset(OPERATORS),
    "decimal": frozenset(OPERATORS),
    "string": frozenset({"==", "!=", "in", "not_in", "is_null", "not_null"}),
    "choice": frozenset({"==", "!=", "in", "not_in", "is_null", "not_null"}),
    "boolean": frozenset({"==", "!=", "is_null", "not_null"}),
}

MAX_DEPTH = 16
"""Most compound nodes (all/any/not) or parentheses nested inside one another."""

MAX_TEXT_LENGTH = 4000

_NUMBER_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")


class RuleError(ValueError):
    """A rule that cannot be parsed or is not valid; the message names the position or path."""

    def __init__(self, message: str, *, position: int | None = None, path: str | None = None):
        super().__init__(message)
        self.position = position
        self.path = path


# --- values --------------------------------------------------------------------------------------


def _as_decimal(value: Any) -> Decimal | None:
    """Return `value` as a finite Decimal, or None if it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, float):
        # repr is the shortest string that reads back as this float: 500.1 stays 500.1.
        result = Decimal(repr(value))
    elif isinstance(value, str) and _NUMBER_TEXT.match(value):
        # Stored JSON keeps non-integral amounts as decimal strings (see to_json).
        result = Decimal(value)
    else:
        return None
    return result if result.is_finite() else None


# The numbers a rule compares with: what a purchase value (Money: 15 digits, 3 places), a score or a count of days
# can be. Larger ones match nothing and cannot be written in words (1e308 has no place in a sentence).
MAX_WHOLE_DIGITS, MAX_PLACES = 15, 3


def places(number: Decimal) -> int:
    """Digits after the point, trailing zeros not counted (from the digits themselves: normalize() would round
    a tiny exponent such as 1e-99999999 to zero under the default context)."""
    _sign, digits, exponent = number.as_tuple()
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def number_fits(number: Decimal) -> bool:
    """Whether a rule may compare with this number (zero always may, whatever its exponent)."""
    return not number or (number.adjusted() < MAX_WHOLE_DIGITS and places(number) <= MAX_PLACES)


def _value_problem(name: str, fact: Fact, value: Any) -> str | None:
    """Describe why `value` cannot be compared with fact `name`, or return None if it can."""
    if value is None:
        return None
    if fact.kind in _NUMERIC:
        number = _as_decimal(value)
        if number is None:
            return f"fact '{name}' is compared with numbers, got {_show(value)}"
        if not number_fits(number):
            return (f"fact '{name}' is compared with numbers of at most {MAX_WHOLE_DIGITS} digits before the point "
                    f"and {MAX_PLACES} after it, got {_show(value)[:40]}")
    elif fact.kind == "boolean":
        if not isinstance(value, bool):
            return f"fact '{name}' is compared with true or false, got {_show(value)}"
    elif not isinstance(value, str):
        return f"fact '{name}' is compared with strings, got {_show(value)}"
    elif bad_character(value):
        # no fact holds such text (every door refuses it), and pages could not show the rule
        return f"fact '{name}' is compared with text no fact can hold: {bad_character(value)}"
    elif fact.choices and value not in fact.choices:
        allowed = ", ".join(_show(c) for c in fact.choices)
        return f"fact '{name}' must be one of {allowed}, got {_show(value)}"
    return None


def _show(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if not isinstance(value, Decimal) else format(value, "f")


def _leaf_problem(node: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return (field, message) for what is wrong with a leaf, or None if it is valid."""
    extra = set(node) - {"fact", "op", "value"}
    if extra:
        return "", f"unexpected key {_show(sorted(map(str, extra))[0])} in a comparison"
    name = node.get("fact")
    if not isinstance(name, str):
        return "fact", f"fact must be a name, got {_show(name)}"
    fact = KNOWN_FACTS.get(name)
    if fact is None:
        return "fact", f"unknown fact {_show(name)}"
    if "op" not in node:
        return "op", "missing operator"
    op = node["op"]
    if not isinstance(op, str) or op not in OPERATORS:
        return "op", f"unknown operator {_show(op)}"
    if op not in _OPS_BY_KIND[fact.kind]:
        return "op", f"operator {_show(op)} does not apply to {fact.kind} fact '{name}'"
    if op in _NULL_CHECKS:
        if node.get("value") is not None:
            return "value", f"operator '{op}' takes no value"
        return None
    if "value" not in node:
        return "value", f"operator '{op}' needs a value"
    value = node["value"]
    if op in _LISTS:
        if not isinstance(value, (list, tuple)) or not value:
            return "value", f"operator '{op}' needs a non-empty list, got {_show(value)}"
        for index, item in enumerate(value):
            problem = _value_problem(name, fact, item)
            if problem:
                return f"value[{index}]", problem
        return None
    if op in _ORDERING and value is None:
        return "value", f"operator '{op}' cannot compare with null; use is_null"
    problem = _value_problem(name, fact, value)
    return ("value", problem) if problem else None


# --- validation ----------------------------------------------------------------------------------


def _join(path: str, part: str) -> str:
    if not part:
        return path
    if part.startswith("["):
        return path + part
    return f"{path}.{part}" if path else part


def _fail(path: str, message: str) -> RuleError:
    return RuleError(f"{path or 'rule'}: {message}", path=path or "rule")


def _validate(node: Any, path: str, depth: int) -> None:
    if not isinstance(node, Mapping):
        raise _fail(path, f"expected a condition object, got {type(node).__name__}")
    for key in ("all", "any", "not"):
        if key in node:
            if len(node) != 1:
                other = sorted(str(k) for k in node if k != key)[0]
                raise _fail(path, f"unexpected key {_show(other)} beside {_show(key)}")
            if depth >= MAX_DEPTH:
                raise _fail(path, f"nesting deeper than {MAX_DEPTH} levels")
            child_path = _join(path, key)
            if key == "not":
                _validate(node[key], child_path, depth + 1)
                return
            children = node[key]
            if not isinstance(children, (list, tuple)):
                raise _fail(child_path, f"'{key}' needs a list, got {type(children).__name__}")
            for index, child in enumerate(children):
                _validate(child, f"{child_path}[{index}]", depth + 1)
            return
    if "fact" not in node:
        keys = ", ".join(_show(k) for k in sorted(map(str, node))) or "nothing"
        raise _fail(path, f"expected 'all', 'any', 'not' or a comparison with 'fact', got {keys}")
    problem = _leaf_problem(node)
    if problem:
        field, message = problem
        raise _fail(_join(path, field), message)


def validate(rule: dict | None) -> None:
    """Raise RuleError, naming the path (e.g. "all[1].op"), if `rule` is not a valid condition."""
    if rule is None or (isinstance(rule, Mapping) and not rule):
        return
    _validate(rule, "", 0)


def facts_in(rule: dict | None) -> set[str]:
    """The fact names a (valid) rule mentions."""
    if not isinstance(rule, Mapping):
        return set()
    if "fact" in rule:
        return {rule["fact"]}
    if "not" in rule:
        return facts_in(rule["not"])
    names: set[str] = set()
    for child in rule.get("all", ()) or rule.get("any", ()):
        names |= facts_in(child)
    return names


def unavailable_facts(rule: dict | None) -> list[str]:
    """The facts a rule mentions that are not available yet (sorted), e.g. ["customer_type"]."""
    return sorted(facts_in(rule) & NOT_AVAILABLE_YET)


# --- evaluation ----------------------------------------------------------------------------------


def _fact_value(name: str, facts: Mapping[str, Any]) -> Any:
    """Return the fact's value ready for comparison (numbers as Decimal), or None if missing."""
    value = facts.get(name)
    if value is None:
        return None
    kind = KNOWN_FACTS[name].kind
    if kind in _NUMERIC:
        number = _as_decimal(value) if not isinstance(value, str) else None
        if number is None:
            raise TypeError(f"fact '{name}' should be a number, got {type(value).__name__}")
        return number
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"fact '{name}' should be a bool, got {type(value).__name__}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"fact '{name}' should be a string, got {type(value).__name__}")
    return value


def _rule_value(kind: str, value: Any) -> Any:
    if value is None or kind not in _NUMERIC:
        return value
    return _as_decimal(value)


def _equal(actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return actual == expected


def _evaluate(node: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    if "all" in node:
        return all(_evaluate(child, facts) for child in node["all"])
    if "any" in node:
        return any(_evaluate(child, facts) for child in node["any"])
    if "not" in node:
        return not _evaluate(node["not"], facts)
    name, op = node["fact"], node["op"]
    actual = _fact_value(name, facts)
    if op == "is_null":
        return actual is None
    if op == "not_null":
        return actual is not None
    kind = KNOWN_FACTS[name].kind
    if op in _LISTS:
        found = any(_equal(actual, _rule_value(kind, item)) for item in node["value"])
        return found if op == "in" else not found
    expected = _rule_value(kind, node["value"])
    if op == "==":
        return _equal(actual, expected)
    if op == "!=":
        return not _equal(actual, expected)
    if actual is None:
        return False
    if op == "<":
        return actual < expected
    if op == "<=":
        return actual <= expected
    if op == ">":
        return actual > expected
    return actual >= expected


def evaluate(rule: dict | None, facts: Mapping[str, Any]) -> bool:
    """Tell whether `facts` satisfy `rule`; an empty rule is always satisfied."""
    if rule is None or (isinstance(rule, Mapping) and not rule):
        return True
    validate(rule)
    return _evaluate(rule, facts)


def evaluator(rule: dict | None) -> Callable[[Mapping[str, Any]], bool]:
    """`evaluate` for many sets of facts (the tick's batch): the rule is validated once, here."""
    if rule is None or (isinstance(rule, Mapping) and not rule):
        return lambda facts: True
    validate(rule)
    return lambda facts: _evaluate(rule, facts)


# --- text form: tokenizer ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "number", "string", "op", "(", ")", ",", "end"
    text: str
    position: int
    value: Any = None


_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_OPERATOR_CHARS = frozenset("=!<>~")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})


def _is_name_start(char: str) -> bool:
    return char == "_" or ("a" <= char <= "z") or ("A" <= char <= "Z")


def _is_name_char(char: str) -> bool:
    return _is_name_start(char) or ("0" <= char <= "9")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char in " \t\r\n":
            i += 1
        elif char in "(),":
            tokens.append(_Token(char, char, i))
            i += 1
        elif _is_name_start(char):
            start = i
            while i < length and _is_name_char(text[i]):
                i += 1
            tokens.append(_Token("name", text[start:i], start))
        elif char.isdigit() and char.isascii() or (
            char == "-" and i + 1 < length and text[i + 1].isascii() and text[i + 1].isdigit()
        ):
            start = i
            i += 1
            while i < length and (text[i].isascii() and text[i].isdigit() or text[i] == "."):
                i += 1
            if i < length and _is_name_char(text[i]):
                i += 1
            literal = text[start:i]
            if not _NUMBER_TEXT.match(literal):
                raise RuleError(f"malformed number '{literal}' at position {start}", position=start)
            tokens.append(_Token("number", literal, start, Decimal(literal)))
        elif char in "\"'":
            tokens.append(_read_string(text, i))
            i = tokens[-1].position + len(tokens[-1].text)
        elif char in _OPERATOR_CHARS:
            start = i
            while i < length and text[i] in _OPERATOR_CHARS:
                i += 1
            op = text[start:i]
            if op not in _COMPARISONS:
                hint = "; use '==' to compare" if op == "=" else ""
                raise RuleError(
                    f"unknown operator '{op}' at position {start}{hint}", position=start
                )
            tokens.append(_Token("op", op, start))
        else:
            raise RuleError(f"unexpected character {char!r} at position {i}", position=i)
    tokens.append(_Token("end", "", length))
    return tokens


def _read_string(text: str, start: int) -> _Token:
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return _Token("string", text[start : i + 1], start, "".join(chars))
        if char == "\\":
            escaped = text[i + 1 : i + 2]
            if escaped not in _ESCAPES:
                raise RuleError(
                    f"unknown escape '\\{escaped}' in string at position {i}", position=i
                )
            chars.append(_ESCAPES[escaped])
            i += 2
            continue
        chars.append(char)
        i += 1
    raise RuleError(f"unterminated string starting at position {start}", position=start)


# --- text form: parser ---------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    return "end of rule" if token.kind == "end" else f"'{token.text}'"


class _Parser:
    """Recursive descent: or_expr := and_expr ("or" and_expr)*, and so on down to a comparison."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, word: str) -> bool:
        return self.token.kind == "name" and self.token.text == word

    def error(self, message: str, token: _Token | None = None) -> RuleError:
        token = token or self.token
        return RuleError(f"{message} at position {token.position}", position=token.position)

    # Each method returns (node, height): height counts nested all/any/not, matching validate().

    def parse_rule(self) -> dict:
        node, _ = self.parse_or(0)
        token = self.token
        if token.kind == ")":
            raise self.error("unbalanced parenthesis: ')' has no matching '('")
        if token.kind != "end":
            raise self.error(f"unexpected {_describe(token)} after a complete condition")
        return node

    def compound(self, key: str, parts: list[tuple[dict, int]], at: _Token) -> tuple[dict, int]:
        height = 1 + max((h for _, h in parts), default=0)
        if height > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", at)
        return {key: [node for node, _ in parts]}, height

    def parse_or(self, nesting: int) -> tuple[dict, int]:
        first = self.token
        parts = [self.parse_and(nesting)]
        while self.at_keyword("or"):
            self.advance()
            parts.append(self.parse_and(nesting))
        return parts[0] if len(parts) == 1 else self.compound("any", parts, first)

    def parse_and(self, nesting: int) -> tuple[dict, int]:
        first = self.token
        parts = [self.parse_not(nesting)]
        while self.at_keyword("and"):
            self.advance()
            parts.append(self.parse_not(nesting))
        return parts[0] if len(parts) == 1 else self.compound("all", parts, first)

    def parse_not(self, nesting: int) -> tuple[dict, int]:
        if self.at_keyword("not"):
            token = self.advance()
            # Bounds recursion on the text itself, before any node is built.
            if nesting >= MAX_DEPTH:
                raise self.error(f"nesting deeper than {MAX_DEPTH} levels", token)
            node, height = self.parse_not(nesting + 1)
            if height + 1 > MAX_DEPTH:
                raise self.error(f"nesting deeper than {MAX_DEPTH} levels", token)
            return {"not": node}, height + 1
        return self.parse_primary(nesting)

    def parse_primary(self, nesting: int) -> tuple[dict, int]:
        token = self.token
        if token.kind == "(":
            self.advance()
            if nesting >= MAX_DEPTH:
                raise self.error(f"nesting deeper than {MAX_DEPTH} levels", token)
            result = self.parse_or(nesting + 1)
            if self.token.kind == "end":
                raise self.error("unbalanced parenthesis: '(' is never closed", token)
            if self.token.kind != ")":
                raise self.error(f"expected ')' but found {_describe(self.token)}")
            self.advance()
            return result
        if token.kind == ")":
            raise self.error("unbalanced parenthesis: unexpected ')'")
        if token.kind == "end":
            raise self.error("unexpected end of rule, expected a condition")
        if token.kind != "name":
            raise self.error(f"expected a fact name, found {_describe(token)}")
        if token.text == "true":
            self.advance()
            return {"all": []}, 1
        if token.text == "false":
            self.advance()
            return {"any": []}, 1
        if token.text in _KEYWORDS:
            raise self.error(f"expected a fact name, found '{token.text}'")
        if token.text not in KNOWN_FACTS:
            raise self.error(f"unknown fact '{token.text}'")
        self.advance()
        return self.parse_comparison(token), 0

    def parse_comparison(self, fact_token: _Token) -> dict:
        name = fact_token.text
        fact = KNOWN_FACTS[name]
        token = self.token
        if token.kind == "op":
            self.advance()
            value_token = self.token
            node = {"fact": name, "op": token.text, "value": self.parse_value(fact)}
            return self.checked(node, token, value_token)
        if token.kind == "(":
            raise self.error(f"'{name}' is a fact, not a function; calls are not allowed")
        if self.at_keyword("in") or (
            self.at_keyword("not") and self.tokens[self.index + 1].text == "in"
        ):
            op = "in" if self.advance().text == "in" else "not_in"
            if op == "not_in":
                self.advance()
            list_token = self.token
            node = {"fact": name, "op": op, "value": self.parse_list(fact)}
            return self.checked(node, token, list_token)
        if self.at_keyword("is"):
            self.advance()
            op = "is_null"
            if self.at_keyword("not"):
                self.advance()
                op = "not_null"
            if not self.at_keyword("null"):
                raise self.error(f"expected 'null' after 'is', found {_describe(self.token)}")
            self.advance()
            return {"fact": name, "op": op}
        if token.kind == "name" and token.text not in ("and", "or"):
            raise self.error(f"unknown operator '{token.text}'")
        if token.kind in ("number", "string"):
            raise self.error(f"expected an operator after '{name}', found {_describe(token)}")
        if fact.kind == "boolean":
            return {"fact": name, "op": "==", "value": True}
        raise self.error(f"fact '{name}' needs a comparison, e.g. '{name} == ...'", fact_token)

    def checked(self, node: dict, op_token: _Token, value_token: _Token) -> dict:
        problem = _leaf_problem(node)
        if problem:
            field, message = problem
            raise self.error(message, op_token if field == "op" else value_token)
        return node

    def parse_value(self, fact: Fact) -> Any:
        token = self.token
        if token.kind == "number":
            self.advance()
            return token.value
        if token.kind == "string":
            if fact.kind in _NUMERIC:
                # Numbers are written bare in text; a quoted "9" is almost always a mistake.
                raise self.error(f"expected a number, found {_describe(token)}")
            self.advance()
            return token.value
        if token.kind == "name" and token.text in ("true", "false", "null"):
            self.advance()
            return {"true": True, "false": False, "null": None}[token.text]
        if token.kind == "name":
            raise self.error(f"expected a value, found '{token.text}'; quote strings")
        raise self.error(f"expected a value, found {_describe(token)}")

    def parse_list(self, fact: Fact) -> list[Any]:
        opening = self.token
        if opening.kind != "(":
            raise self.error(f"expected '(' to start a list, found {_describe(opening)}")
        self.advance()
        if self.token.kind == ")":
            raise self.error("a list needs at least one value")
        values = [self.parse_value(fact)]
        while self.token.kind == ",":
            self.advance()
            values.append(self.parse_value(fact))
        if self.token.kind == "end":
            raise self.error("unbalanced parenthesis: '(' is never closed", opening)
        if self.token.kind != ")":
            raise self.error(f"expected ',' or ')' in a list, found {_describe(self.token)}")
        self.advance()
        return values


def parse(text: str) -> dict:
    """Turn the text form of a condition into its JSON form; blank text gives {} (no condition)."""
    if not isinstance(text, str):
        raise RuleError(f"rule text must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise RuleError(f"rule is longer than {MAX_TEXT_LENGTH} characters")
    tokens = _tokenize(text)
    if tokens[0].kind == "end":
        return {}
    return _Parser(tokens).parse_rule()


# --- rendering -----------------------------------------------------------------------------------


def _collapse(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return a single-child all/any as its child, since text cannot tell them apart."""
    while True:
        for key in ("all", "any"):
            if key in node and len(node[key]) == 1:
                node = node[key][0]
                break
        else:
            return node


def _literal(kind: str, value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind in _NUMERIC:
        return format(_as_decimal(value), "f")
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _render(node: Mapping[str, Any]) -> str:
    node = _collapse(node)
    for key, joiner, empty in (("all", " and ", "true"), ("any", " or ", "false")):
        if key in node:
            if not node[key]:
                return empty
            return joiner.join(_render_operand(child) for child in node[key])
    if "not" in node:
        return "not " + _render_operand(node["not"])
    name, op = node["fact"], node["op"]
    kind = KNOWN_FACTS[name].kind
    if op == "is_null":
        return f"{name} is null"
    if op == "not_null":
        return f"{name} is not null"
    if op in _LISTS:
        items = ", ".join(_literal(kind, item) for item in node["value"])
        return f"{name} {'in' if op == 'in' else 'not in'} ({items})"
    if kind == "boolean" and op == "==" and node["value"] is True:
        return name
    return f"{name} {op} {_literal(kind, node['value'])}"


def _render_operand(node: Mapping[str, Any]) -> str:
    """Render a child of and/or/not, in parentheses when it is itself an and/or."""
    node = _collapse(node)
    text = _render(node)
    if any(len(node.get(key, ())) > 1 for key in ("all", "any")):
        return f"({text})"
    return text


def to_text(rule: dict | None) -> str:
    """Render a condition in its text form; parse(to_text(rule)) gives back an equivalent rule."""
    if rule is None or (isinstance(rule, Mapping) and not rule):
        return ""
    validate(rule)
    return _render(rule)


def _jsonable(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _jsonable(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_jsonable(item) for item in node]
    if isinstance(node, Decimal):
        # Whole numbers stay JSON numbers; others become decimal strings so money never
        # round-trips through float.
        return int(node) if node == node.to_integral_value() else format(node, "f")
    return node


def to_json(rule: dict | None) -> dict:
    """Return a copy of `rule` that json.dumps accepts (Decimals become ints or decimal strings)."""
    if rule is None:
        return {}
    validate(rule)
    return _jsonable(rule)


# --- in words ------------------------------------------------------------------------------------
# A condition as a staff member reads it on the customer page ("only if detractor"), in their language.
# Negations are pushed down to the comparisons so no sentence says "not (...)": `not latest_nps >= 9` reads
# "latest NPS score below 9, or not known yet" (a missing fact makes an ordering comparison false).

from flask_babel import gettext, lazy_gettext as _l, pgettext  # noqa: E402

FACT_LABELS = {
    "latest_nps": _l("latest NPS score"),
    "purchase_value": _l("purchase value"),
    "currency": _l("currency"),
    "category": _l("product category"),
    "customer_type": _l("customer type"),
    "open_complaint": _l("open complaint"),
    "days_since_delivery": _l("days since delivery"),
    "nps_category": _l("NPS category"),
}
"""Each fact's name in words (lazy: rendered in the reader's language)."""

NPS_CATEGORY_LABELS = {"promoter": _l("promoter"), "passive": _l("passive"), "detractor": _l("detractor")}
# The customer types as a condition says them ("customer type is high-roller").
CUSTOMER_TYPE_LABELS = {"meek": _l("meek"), "aggressive": _l("aggressive"), "high_roller": _l("high-roller"),
                        "rip_off": _l("rip-off"), "chronic": _l("chronic complainer")}

_NEGATED = {"==": "!=", "!=": "==", "<": ">=?", "<=": ">?", ">": "<=?", ">=": "<?", "in": "not_in",
            "not_in": "in", "is_null": "not_null", "not_null": "is_null"}


def _push_not(node: Mapping[str, Any], negate: bool) -> dict:
    """The rule with every `not` moved onto a comparison; an op ending in "?" also holds when the fact is missing."""
    node = _collapse(node)
    if "not" in node:
        return _push_not(node["not"], not negate)
    for key, other in (("all", "any"), ("any", "all")):
        if key in node:
            return {other if negate else key: [_push_not(child, negate) for child in node[key]]}
    if not negate:
        return dict(node)
    leaf = dict(node)
    if KNOWN_FACTS[leaf["fact"]].kind == "boolean" and leaf["op"] in ("==", "!=") and leaf.get("value") is not None:
        # not open_complaint -> open_complaint == false (a missing boolean fact is false for == true anyway)
        leaf["value"] = not leaf["value"] if leaf["op"] == "==" else leaf["value"]
        leaf["op"] = "=="
        return leaf
    leaf["op"] = _NEGATED[leaf["op"]]
    return leaf


def _value_words(name: str, value: Any, number) -> str:
    fact = KNOWN_FACTS[name]
    if fact.kind in _NUMERIC:
        return number(_as_decimal(value))
    if name == "nps_category" and value in NPS_CATEGORY_LABELS:
        return str(NPS_CATEGORY_LABELS[value])
    if name == "customer_type" and value in CUSTOMER_TYPE_LABELS:
        return str(CUSTOMER_TYPE_LABELS[value])
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return gettext("“%(value)s”", value=value)  # data, quoted as the reader's language quotes


def _leaf_words(leaf: Mapping[str, Any], number) -> str:
    name, op = leaf["fact"], leaf["op"]
    value = leaf.get("value")
    label = str(FACT_LABELS.get(name, name))
    # The facts people talk about in their own words.
    if name == "nps_category":
        if op == "==" and value in NPS_CATEGORY_LABELS:
            # As a whole condition ("only if detractor"): a phrase of its own in languages that need a verb.
            return {"promoter": pgettext("condition", "promoter"), "passive": pgettext("condition", "passive"),
                    "detractor": pgettext("condition", "detractor")}[value]
        if op == "!=" and value in NPS_CATEGORY_LABELS:
            return gettext("not %(category)s", category=NPS_CATEGORY_LABELS[value])
    if name in ("nps_category", "latest_nps") and op == "is_null":
        return gettext("no NPS answer yet")
    if name in ("nps_category", "latest_nps") and op == "not_null":
        return gettext("has answered an NPS survey")
    if name == "open_complaint" and op in ("==", "!=") and isinstance(value, bool):
        if (op == "==") == value:
            return gettext("open complaint")
        return gettext("no open complaint")
    if op == "is_null":
        return gettext("%(fact)s not known", fact=label)
    if op == "not_null":
        return gettext("%(fact)s known", fact=label)
    if op in _LISTS:
        values = gettext(", ").join(_value_words(name, item, number) for item in value)
        if op == "in":
            return gettext("%(fact)s one of %(values)s", fact=label, values=values)
        return gettext("%(fact)s none of %(values)s", fact=label, values=values)
    words = _value_words(name, value, number) if value is not None else ""
    if op == "==":
        if value is None:
            return gettext("%(fact)s not known", fact=label)
        return gettext("%(fact)s is %(value)s", fact=label, value=words)
    if op == "!=":
        if value is None:
            return gettext("%(fact)s known", fact=label)
        return gettext("%(fact)s is not %(value)s", fact=label, value=words)
    unknown_too = op.endswith("?")
    base = op.rstrip("?")
    if base == "<":
        text = (gettext("%(fact)s below %(value)s, or not known yet", fact=label, value=words) if unknown_too
                else gettext("%(fact)s below %(value)s", fact=label, value=words))
    elif base == "<=":
        text = (gettext("%(fact)s at most %(value)s, or not known yet", fact=label, value=words) if unknown_too
                else gettext("%(fact)s at most %(value)s", fact=label, value=words))
    elif base == ">":
        text = (gettext("%(fact)s above %(value)s, or not known yet", fact=label, value=words) if unknown_too
                else gettext("%(fact)s above %(value)s", fact=label, value=words))
    else:
        text = (gettext("%(fact)s at least %(value)s, or not known yet", fact=label, value=words) if unknown_too
                else gettext("%(fact)s at least %(value)s", fact=label, value=words))
    return text


def _words(node: Mapping[str, Any], number, top: bool) -> str:
    node = _collapse(node)
    for key in ("all", "any"):
        if key in node:
            children = node[key]
            if not children:
                return gettext("always") if key == "all" else gettext("never")
            text = _words(children[0], number, False)
            for child in children[1:]:
                if key == "all":
                    text = gettext("%(first)s and %(second)s", first=text, second=_words(child, number, False))
                else:
                    text = gettext("%(first)s or %(second)s", first=text, second=_words(child, number, False))
            return text if top else gettext("(%(group)s)", group=text)
    return _leaf_words(node, number)


def describe(rule: dict | None, number=None) -> str:
    """A valid condition in the reader's words, e.g. "promoter and no open complaint"; "" for no condition.

    Covers the whole language: every fact and comparison, and/or (groups in brackets), not (pushed onto the
    comparisons, so `not latest_nps >= 9` reads "latest NPS score below 9, or not known yet"). `number`
    formats numbers (the page passes the viewer's digits); by default they are written plainly.
    """
    if rule is None or (isinstance(rule, Mapping) and not rule):
        return ""
    validate(rule)
    number = number or (lambda value: format(value, "f"))
    return _words(_push_not(rule, False), number, True)
