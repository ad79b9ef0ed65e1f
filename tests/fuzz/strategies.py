"""Hypothesis strategies shared by the fuzz tests: hostile text and values of every kind a sender may type or send.

Every test here runs with BOUNDED settings (a fixed number of examples, derandomized, no example database), so
the whole directory stays within a few minutes and a failure replays the same way on every machine.
"""
from __future__ import annotations

import math

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def bounded(examples: int):
    """The settings of one fuzz test: `examples` examples, same ones every run, no files left behind."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


# Characters that break naive handling: NUL and other controls, lone surrogates, bidi controls (RTL marks,
# overrides, isolates), zero-width and BOM, line and paragraph separators, combining marks, digits of other
# scripts, an emoji outside the BMP.
JUNK_CHARS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\r", "\n", "\t", "\ud800", "\udfff", "\u200e",
              "\u200f", "\u202e", "\u2066", "\u2069", "\u061c", "\u200b", "\ufeff", "\u2028", "\u2029", "\u0301",
              "\u0663", "\u06f5", "\uffff", "\U0001f600", "\\", '"', "'", "{", "}", "%", "<", ">", "&", "$"]

junk_text = st.one_of(
    st.text(alphabet=st.sampled_from(JUNK_CHARS), max_size=8),
    st.text(max_size=20),                                           # any code point, surrogates included
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=6), st.sampled_from(JUNK_CHARS), st.text(max_size=6)),
    st.sampled_from(["", " ", "   ", "null", "None", "undefined", "NaN", "-0", "0x10", "1e309", "٣٠٠", "۵۰۰",
                     "'; DROP TABLE customers; --", "{{ 7*7 }}", "%s%s%s", "../../etc/passwd", "\u202eevil"]),
)


def huge_text(limit: int) -> st.SearchStrategy[str]:
    """A text just over a field's limit, or far over it."""
    return st.sampled_from([limit + 1, limit * 10, 200_000]).map(lambda n: "x" * n)


numbers = st.one_of(
    st.integers(), st.integers(min_value=-(10 ** 40), max_value=10 ** 40),
    st.sampled_from([0, -1, 2 ** 63, -(2 ** 63) - 1, 10 ** 20]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308]),
)


def deep(depth: int, kind: str = "list"):
    """A JSON value nested `depth` levels."""
    value: object = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def deep_json(depth: int, kind: str = "list") -> bytes:
    """JSON text nested `depth` levels, written directly (json.dumps itself stops near 1,000 levels)."""
    opening, closing = ("[", "]") if kind == "list" else ('{"a": ', "}")
    return (opening * depth + "1" + closing * depth).encode()


scalars = st.one_of(st.none(), st.booleans(), numbers, junk_text)
junk_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(junk_text, scalars, max_size=3),
    st.sampled_from([5, 17, 40, 200]).flatmap(lambda d: st.sampled_from([deep(d), deep(d, "dict")])),
)
