"""Service errors are refused by their class (retention/errors.py), never by searching their message."""
from __future__ import annotations

import ast
from pathlib import Path

from retention.calls.service import CallConflict, CallError, CallNotFound
from retention.errors import http_status
from retention.journeys.service import JourneyError, JourneyNotFound, JourneyStateError

ROOT = Path(__file__).resolve().parent.parent


def test_the_class_decides_the_status_whatever_the_message_says():
    assert http_status(CallNotFound("touchpoint: already done")) == 404  # words of a conflict, class of 404
    assert http_status(JourneyNotFound("conflict")) == 404
    assert http_status(CallConflict("not found")) == 409
    assert http_status(JourneyStateError("no such journey")) == 409
    assert http_status(CallError("not found")) == 422 and http_status(JourneyError("already paused")) == 422


def _message_tests(tree: ast.AST) -> list[int]:
    """Lines testing an exception's text: `"..." in str(exc)`, `str(exc).startswith(...)`, `"..." in exc.args[0]`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            for side in node.comparators:
                if isinstance(side, ast.Call) and getattr(side.func, "id", None) == "str":
                    lines.append(node.lineno)
                if isinstance(side, ast.Subscript) and getattr(side.value, "attr", None) == "args":
                    lines.append(node.lineno)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("startswith", "endswith", "find", "index")
                and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", None) == "str"):
            lines.append(node.lineno)
    return lines


def test_no_code_matches_an_error_by_its_text():
    found = [f"{path.relative_to(ROOT)}:{line}"
             for package in ("retention", "jobs", "letters") for path in sorted((ROOT / package).rglob("*.py"))
             for line in _message_tests(ast.parse(path.read_text()))]
    assert found == []


def test_the_check_sees_a_message_test():
    assert _message_tests(ast.parse('if "not found" in str(exc):\n    pass\n')) == [1]
    assert _message_tests(ast.parse('str(exc).startswith("x")')) == [1]
