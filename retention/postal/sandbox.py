"""The letter template sandbox: Jinja with no file access and limits on time, size, loops and numbers.

Limits are enforced by construction, not by watching from outside: every operation that can make
something big (``*``, ``**``, ``%``, ``~``, string methods such as ``center`` or ``replace``,
``str.format``, filters, ``range``) checks the size of what it is about to make *before* making it;
every loop step, call, operator and output passes a step check against the render's deadline, so a
render stops within one bounded operation of its time limit. Work between two checks is bounded by
the size limits, so nothing runs on after the limit is reached.
"""
from __future__ import annotations

import contextvars
import operator
import re
import time
from dataclasses import dataclass

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import UndefinedError
from jinja2.utils import missing
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.exceptions import TemplateSyntaxError
from jinja2.runtime import Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer


@dataclass(frozen=True)
class TemplateLimits:
    """What one letter template may use; from settings (LETTER_MAX_*), with these defaults."""

    template_chars: int = 20_000      # the template text itself
    output_chars: int = 100_000       # the rendered text, and any one value made while rendering
    pages: int = 10                   # printed pages of one letter
    loop_steps: int = 10_000          # loop steps (and range size) in one render
    render_seconds: float = 2.0       # wall time of one render
    number_bits: int = 10_000         # about 3,000 digits

    @classmethod
    def from_config(cls, config) -> "TemplateLimits":
        d = cls()
        return cls(template_chars=int(config.get("LETTER_MAX_TEMPLATE_CHARS", d.template_chars)),
                   output_chars=int(config.get("LETTER_MAX_OUTPUT_CHARS", d.output_chars)),
                   pages=int(config.get("LETTER_MAX_PAGES", d.pages)),
                   loop_steps=int(config.get("LETTER_MAX_LOOP_STEPS", d.loop_steps)),
                   render_seconds=float(config.get("LETTER_MAX_RENDER_SECONDS", d.render_seconds)))


def current_limits() -> TemplateLimits:
    """The app's limits inside an app context, the defaults outside one."""
    from flask import current_app, has_app_context

    return TemplateLimits.from_config(current_app.config) if has_app_context() else TemplateLimits()


class TemplateLimitError(Exception):
    """A render went over one of the limits; ``limit`` names which one."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


class BadFilterArgument(Exception):
    """A filter given a value it cannot use, said so that the template's author can fix it (never Python's words).

    `filter` and `argument` are named as a template writes them (`truncate`, `length`); `kind` is "range" (a whole
    number from `low` to `high`), "choice" (one of `choices`), "text", "usage" (values the filter does not take;
    `usage` is how it is written) or "format" (values that do not match the text's placeholders); `shown` is the
    value given, short and printable (never an object's insides).
    """

    def __init__(self, filter: str, kind: str, argument: str = "", value=None, *, low: int = 0, high: int = 0,
                 choices: tuple = (), usage: str = ""):
        self.filter, self.kind, self.argument, self.shown = filter, kind, argument, _shown(value)
        self.low, self.high, self.choices, self.usage = low, high, tuple(choices), usage
        super().__init__(f"{filter}: {kind} {argument} {self.shown}".strip())


def _shown(value) -> str:
    """A value as a template writes it, at most about 30 characters; a list, dict or object only by its kind."""
    if value is None or isinstance(value, bool):
        return {None: "none", True: "true", False: "false"}[value]
    if isinstance(value, (int, float)):
        text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a very large number"
        return text[:30]
    if isinstance(value, str):
        return '"' + (value[:30] + "…" if len(value) > 30 else value) + '"'
    if isinstance(value, (list, tuple)):
        return "[…]"
    if isinstance(value, dict):
        return "{…}"
    return "…"


class _Budget:
    """What one render has used so far."""

    __slots__ = ("limits", "deadline", "loop_steps", "made", "depth")

    def __init__(self, limits: TemplateLimits):
        self.limits = limits
        self.deadline = time.perf_counter() + limits.render_seconds
        self.loop_steps = 0
        self.made = 0          # characters made by operations, all told (bounds total work)
        self.depth = 0

    def step(self) -> None:
        if time.perf_counter() > self.deadline:
            raise TemplateLimitError("render time", f"rendering took longer than {self.limits.render_seconds:g} s")

    def loop_step(self) -> None:
        self.loop_steps += 1
        if self.loop_steps > self.limits.loop_steps:
            raise TemplateLimitError("loop steps", f"more than {self.limits.loop_steps:,} loop steps in one letter")
        self.step()

    def allow_chars(self, n: int, *, count: bool = True) -> None:
        """Refuse before making a text (or list) of ``n`` characters (items)."""
        if n > self.limits.output_chars:
            raise TemplateLimitError("output size", f"a text longer than {self.limits.output_chars:,} characters")
        if not count:
            return
        self.made += n
        if self.made > 20 * self.limits.output_chars:
            raise TemplateLimitError("output size", f"more than {20 * self.limits.output_chars:,} characters "
                                                    "made while rendering")
        self.step()

    def allow_bits(self, bits: int) -> None:
        if bits > self.limits.number_bits:
            raise TemplateLimitError("number size", f"a number of more than {self.limits.number_bits * 3 // 10:,} "
                                                    "digits")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("letter_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:   # used outside render(): the default limits still hold
        budget = _Budget(TemplateLimits())
        _BUDGET.set(budget)
    return budget


# --- Sizes -----------------------------------------------------------------------------------------

def _weight(value, cap: int) -> int:
    """About how many characters ``str(value)`` makes; stops counting past ``cap`` (shared parts count
    every time they appear, which is what str() does)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2
    if isinstance(value, float):
        return 24
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        total = 2
        stack = [iter(value.items() if isinstance(value, dict) else value)]
        while stack:
            item = next(stack[-1], _END)
            if item is _END:
                stack.pop()
                continue
            total += 2
            if isinstance(item, (list, tuple, set, frozenset, dict)):
                if len(stack) > 50:
                    return cap + 1
                stack.append(iter(item.items() if isinstance(item, dict) else item))
            else:
                total += _weight(item, cap)
            if total > cap:
                return total
        return total
    if isinstance(value, range):
        return len(value) * 8
    return 64


_END = object()


def _as_text(value) -> str:
    """str(value), refused before it is made when it would be too long."""
    if isinstance(value, str):
        return value
    budget = _budget()
    budget.allow_chars(_weight(value, budget.limits.output_chars))
    return str(value)


def _output(value) -> str:
    """Each {{ ... }}: its text is counted, wherever it goes (page, macro, {% set %} block)."""
    text = _as_text(value)
    _budget().allow_chars(len(text))
    return text


def _check_value(value):
    """A value made by an operation: within the size limits, or refused."""
    budget = _budget()
    if isinstance(value, int) and not isinstance(value, bool):
        budget.allow_bits(value.bit_length())
    elif isinstance(value, (str, list, tuple)):
        budget.allow_chars(len(value))
    return value


# --- Formatting: % and str.format, field by field ---------------------------------------------------

_PERCENT = re.compile(r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[-#0 +]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
                      r"[hlL]?(?P<type>.?)", re.S)


def _field_size(width: int, prec: int | None, budget: _Budget) -> None:
    budget.allow_chars(width + (prec or 0))


def percent_format(fmt: str, args) -> str:
    """``fmt % args`` made one field at a time, each checked before it is made."""
    budget = _budget()
    mapping = args if hasattr(args, "keys") and not isinstance(args, (tuple, str)) else None
    positional = list(args) if isinstance(args, tuple) else [args]
    used = 0
    out: list[str] = []
    total = 0
    pos = 0
    for m in _PERCENT.finditer(fmt):
        out.append(fmt[pos:m.start()])
        total += m.start() - pos
        pos = m.end()
        kind = m.group("type")
        if kind == "%" and not m.group("key"):
            out.append("%")
            total += 1
            continue
        if not kind:
            raise ValueError("incomplete format")

        def take():
            nonlocal used
            if used >= len(positional):
                raise TypeError("not enough arguments for format string")
            used += 1
            return positional[used - 1]

        width, prec = m.group("width"), m.group("prec")
        width = take() if width == "*" else int(width or 0)
        prec = take() if prec == "*" else (int(prec) if prec is not None else None)
        if not isinstance(width, int) or (prec is not None and not isinstance(prec, int)):
            raise TypeError("* wants int")
        _field_size(abs(width), prec, budget)
        if m.group("key") is not None:
            if mapping is None:
                raise TypeError("format requires a mapping")
            value = mapping[m.group("key")]
        else:
            value = take()
        if kind in "sra" and not isinstance(value, str):
            budget.allow_chars(_weight(value, budget.limits.output_chars))
        spec = "%" + m.group("flags") + str(width) + ("" if prec is None else f".{prec}") + kind
        piece = spec % (value,)
        total += len(piece)
        budget.allow_chars(total, count=False)
        out.append(piece)
    out.append(fmt[pos:])
    if mapping is None and used < len(positional):
        raise TypeError("not all arguments converted during string formatting")
    return "".join(out)


_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<prec>\d+))?[a-zA-Z%]?$", re.S)


class _CheckedFormatter(SandboxedFormatter):
    """str.format in the sandbox, with each field's width and precision checked before formatting."""

    total = 0

    def format_field(self, value, format_spec: str):
        budget = _budget()
        m = _SPEC.match(format_spec)
        if m is None:
            raise ValueError(f"invalid format specifier {format_spec!r}")
        _field_size(int(m.group("width") or 0), int(m.group("prec")) if m.group("prec") else None, budget)
        if not format_spec and not isinstance(value, str):
            budget.allow_chars(_weight(value, budget.limits.output_chars))
        text = _check_value(super().format_field(value, format_spec))
        self.total += len(text)
        budget.allow_chars(self.total, count=False)
        return text

    def convert_field(self, value, conversion):
        if conversion:
            budget = _budget()
            budget.allow_chars(_weight(value, budget.limits.output_chars))
        return super().convert_field(value, conversion)


# --- Methods of plain values ------------------------------------------------------------------------

_STR_METHODS = frozenset("""capitalize casefold count endswith find index isalnum isalpha isascii isdecimal isdigit
    isidentifier islower isnumeric isprintable isspace istitle isupper lower lstrip partition removeprefix removesuffix
    rfind rindex rpartition rsplit rstrip split splitlines startswith strip swapcase title upper""".split())
_SAFE_METHODS = {
    str: _STR_METHODS,
    int: frozenset({"bit_length", "conjugate"}),
    float: frozenset({"is_integer", "conjugate"}),
    list: frozenset({"count", "index", "copy"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"get", "items", "keys", "values", "copy"}),
    range: frozenset({"count", "index"}),
    set: frozenset({"isdisjoint", "issubset", "issuperset", "union", "intersection", "difference",
                    "symmetric_difference", "copy"}),
    frozenset: frozenset({"isdisjoint", "issubset", "issuperset", "union", "intersection", "difference",
                          "symmetric_difference", "copy"}),
    bytes: frozenset(),
}


def _str_growers(s: str, name: str, method):
    """A string method that can make a longer string, with its result's size checked first."""

    def center(width, *fill):
        _budget().allow_chars(max(len(s), width if isinstance(width, int) else 0))
        return method(width, *fill)

    def expandtabs(tabsize=8):
        _budget().allow_chars(len(s) + s.count("\t") * max(tabsize if isinstance(tabsize, int) else 0, 0))
        return method(tabsize)

    def replace(old, new, count=-1):
        if isinstance(old, str) and isinstance(new, str):
            hits = s.count(old) if old else len(s) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            _budget().allow_chars(len(s) + hits * max(len(new) - len(old), 0))
        return method(old, new, count)

    def join(iterable):
        budget = _budget()
        items = list(iterable)
        budget.allow_chars(len(items))
        budget.allow_chars(sum(_weight(i, budget.limits.output_chars) for i in items) + len(s) * len(items))
        return method(items)

    return {"center": center, "ljust": center, "rjust": center, "zfill": center, "expandtabs": expandtabs,
            "replace": replace, "join": join}.get(name)


# --- Filters ----------------------------------------------------------------------------------------

def _filter_format(value, *args, **kwargs):
    if args and kwargs:
        raise BadFilterArgument("format", "format")
    try:
        return percent_format(_as_text(value), kwargs or args)
    except (TypeError, ValueError, KeyError):
        raise BadFilterArgument("format", "format") from None


def _filter_join(value, d="", attribute=None):
    budget = _budget()
    items = list(value if attribute is None else (i.get(attribute) if isinstance(i, dict) else i for i in value))
    sep = _as_text(d)
    budget.allow_chars(len(items))
    budget.allow_chars(sum(_weight(i, budget.limits.output_chars) for i in items) + len(sep) * len(items))
    return sep.join(map(str, items))


def _filter_center(value, width=80):
    text = _as_text(value)
    _budget().allow_chars(max(len(text), width if isinstance(width, int) else 0))
    return text.center(width)


def _filter_indent(value, width=4, first=False, blank=False):
    text = _as_text(value)
    size = len(width) if isinstance(width, str) else (width if isinstance(width, int) else 0)
    _budget().allow_chars(len(text) + (text.count("\n") + 1) * max(size, 0))
    return DEFAULT_FILTERS["indent"](text, width, first, blank)


def _filter_replace(value, old, new, count=None):
    text = _as_text(value)
    old, new = _as_text(old), _as_text(new)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    _budget().allow_chars(len(text) + hits * max(len(new) - len(old), 0))
    return text.replace(old, new, -1 if count is None else count)


def _filter_batch(value, linecount, fill_with=None):
    """batch: its count makes lists of that many items (the count itself is checked by _ARGUMENTS)."""
    _budget().allow_chars(linecount)
    return DEFAULT_FILTERS["batch"](value, linecount, fill_with)


def _filter_slice(value, slices, fill_with=None):
    """slice: its count makes that many lists."""
    _budget().allow_chars(slices)
    return DEFAULT_FILTERS["slice"](value, slices, fill_with)


# Filters a letter can use; the rest (tojson, pprint, xmlattr, urlize, striptags, ...) are not offered.
_OFFERED = """abs attr batch capitalize center count d default dictsort first float format groupby indent int
    items join last length list lower map max min reject rejectattr replace reverse round select selectattr slice sort
    string sum title trim truncate unique upper urlencode wordcount""".split()
_SPECIAL = {"format": _filter_format, "join": _filter_join, "center": _filter_center, "indent": _filter_indent,
            "replace": _filter_replace, "batch": _filter_batch, "slice": _filter_slice}


# --- The values filters are given: checked before the filter runs, refused in words (BadFilterArgument) -------

def _whole(name: str, argument: str, value, low: int, high: int | None = None, *, optional: bool = False,
           above_by_limit: bool = False) -> None:
    """A whole number from `low` to `high` (the output size limit when None). `above_by_limit`: a value above
    is left to the size limits, which name the limit instead (center(10**9) is "longer than 100,000 characters")."""
    if optional and value is None:
        return
    high = _budget().limits.output_chars if high is None else high
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (value > high and not above_by_limit):
        raise BadFilterArgument(name, "range", argument, value, low=low, high=high)


def _text(name: str, argument: str, value, *, optional: bool = False) -> None:
    if not (isinstance(value, str) or (optional and value is None)):
        raise BadFilterArgument(name, "text", argument, value)


def _one_of(name: str, argument: str, value, choices) -> None:
    if not isinstance(value, str) or value not in choices:
        raise BadFilterArgument(name, "choice", argument, value, choices=tuple(sorted(choices)))


def _truncate(a: dict) -> None:
    _text("truncate", "end", a["end"])
    _whole("truncate", "length", a["length"], len(a["end"]))
    _whole("truncate", "leeway", a["leeway"], 0, optional=True)


def _indent(a: dict) -> None:
    if not isinstance(a["width"], str):
        _whole("indent", "width", a["width"], 0, above_by_limit=True)


def _named_filter(name: str, a: dict, *, attr: bool) -> None:
    """map('upper'), select('odd'), selectattr('x', 'odd'): the filter or test must be one letters can use."""
    positional = list(a.get("args") or ())
    if name == "map":
        if positional or "attribute" not in (a.get("kwargs") or {}):
            _one_of(name, "filter", positional[0] if positional else None, SANDBOX.filters)
        return
    if len(positional) > (1 if attr else 0):
        _one_of(name, "test", positional[1 if attr else 0], SANDBOX.tests)


_ARGUMENTS = {
    "truncate": _truncate,
    "center": lambda a: _whole("center", "width", a["width"], 0, above_by_limit=True),
    "indent": _indent,
    "batch": lambda a: _whole("batch", "linecount", a["linecount"], 1, above_by_limit=True),
    "slice": lambda a: _whole("slice", "slices", a["slices"], 1, above_by_limit=True),
    "round": lambda a: (_whole("round", "precision", a["precision"], 0, 15),
                        _one_of("round", "method", a["method"], ("common", "ceil", "floor"))),
    "int": lambda a: _whole("int", "base", a["base"], 2, 36),
    "replace": lambda a: (_text("replace", "old", a["old"]), _text("replace", "new", a["new"]),
                          _whole("replace", "count", a["count"], 0, optional=True)),
    "dictsort": lambda a: _one_of("dictsort", "by", a["by"], ("key", "value")),
    "attr": lambda a: _text("attr", "name", a["name"]),
    "trim": lambda a: _text("trim", "chars", a["chars"], optional=True),
    "map": lambda a: _named_filter("map", a, attr=False),
    "select": lambda a: _named_filter("select", a, attr=False),
    "reject": lambda a: _named_filter("reject", a, attr=False),
    "selectattr": lambda a: _named_filter("selectattr", a, attr=True),
    "rejectattr": lambda a: _named_filter("rejectattr", a, attr=True),
}


def _usage(name: str, signature, skip: int) -> str:
    """How a filter is written: `|truncate(length, killwords, end, leeway)`, `|wordcount`."""
    params = list(signature.parameters.values())[skip + 1:]
    names = ["…" if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) else p.name for p in params]
    return f"|{name}({', '.join(dict.fromkeys(names))})" if names else f"|{name}"


def _checked_filter(name, func):
    """Every filter: the values it is given checked (BadFilterArgument in words), its input measured first (so str()
    of it stays bounded), its result after."""
    import inspect

    from jinja2.utils import _PassArg

    pass_arg = _PassArg.from_obj(func)
    skip = 0 if pass_arg is None else 1
    signature = inspect.signature(func)
    rule = _ARGUMENTS.get(name)

    def run(*args, **kwargs):
        budget = _budget()
        budget.step()
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            raise BadFilterArgument(name, "usage", usage=_usage(name, signature, skip)) from None
        if rule is not None:
            bound.apply_defaults()
            rule(bound.arguments)
        if len(args) > skip and not isinstance(args[skip], str):
            budget.allow_chars(_weight(args[skip], budget.limits.output_chars))
        return _check_value(func(*args, **kwargs))

    run.__name__ = name
    if pass_arg is not None:
        run.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return run


def _bounded_range(*args):
    budget = _budget()
    r = range(*args)
    if len(r) > budget.limits.loop_steps:
        raise TemplateLimitError("loop steps", f"range() of more than {budget.limits.loop_steps:,} numbers")
    return r


# --- The environment --------------------------------------------------------------------------------

class _Guard(NodeTransformer):
    """Loops count their steps and ``~`` checks the size of what it joins; recursive loops and other
    templates (include, import, extends: there are no files to read) are refused."""

    def _refuse(self, node):
        tag = type(node).__name__.lower().replace("fromimport", "from ... import")
        raise TemplateSyntaxError(f"not allowed in a letter template: {{% {tag} %}}", node.lineno)

    visit_Include = visit_Import = visit_FromImport = visit_Extends = _refuse

    def visit_For(self, node):
        self.generic_visit(node)
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed in a letter", node.lineno)
        # Text written by each step without a {{ }} (counted per step, like the output of {{ }})
        static = sum(len(d.data) for part in (*node.body, *node.else_) for d in part.find_all(nodes.TemplateData))
        node.iter = nodes.Call(nodes.EnvironmentAttribute("letter_loop", lineno=node.lineno),
                               [node.iter, nodes.Const(static, lineno=node.lineno)], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("letter_concat", lineno=node.lineno), node.nodes, [], None, None,
                          lineno=node.lineno)


class UnknownName(UndefinedError):
    """A name or field the template uses that its context does not have: `obj` is what held no `name`
    (jinja2's `missing` for a top-level name), so the service can say which variable it was in words."""

    def __init__(self, message=None, *, obj=missing, name=None):
        super().__init__(message)
        self.obj, self.name = obj, name


class LetterUndefined(StrictUndefined):
    """StrictUndefined whose error says what was looked up in what (UnknownName)."""

    __slots__ = ()

    def __init__(self, hint=None, obj=missing, name=None, exc=UndefinedError):
        def unknown(message, obj=obj, name=name):
            return UnknownName(message, obj=obj, name=name)

        super().__init__(hint, obj, name, unknown if exc is UndefinedError else exc)


class LetterSandbox(ImmutableSandboxedEnvironment):
    """No attribute access to internals, no loader (so no files), unknown names are errors, and limits."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    _BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "//": operator.floordiv, "%": operator.mod, "**": operator.pow}

    def __init__(self):
        super().__init__(undefined=LetterUndefined, autoescape=False, keep_trailing_newline=False,
                         finalize=_output)
        self.filters = {name: _checked_filter(name, _SPECIAL.get(name, DEFAULT_FILTERS[name])) for name in _OFFERED}
        self.globals = {"range": _bounded_range, "dict": dict, "namespace": self.globals["namespace"],
                        "cycler": self.globals["cycler"], "joiner": self.globals["joiner"]}

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        tree = _Guard().visit(tree)
        tree.set_environment(self)
        return tree

    # hooks called by the compiled template
    def letter_loop(self, iterable, static_chars=0):
        budget = _budget()
        for item in iterable:
            budget.loop_step()
            if static_chars:
                budget.allow_chars(static_chars)
            yield item

    def letter_concat(self, *parts):
        texts = [_as_text(p) for p in parts]
        _budget().allow_chars(sum(map(len, texts)))
        return "".join(texts)

    def call_binop(self, context, operator_name, left, right):
        budget = _budget()
        budget.step()
        numbers = (int, float)
        if operator_name == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 \
                and left not in (0, 1, -1):
            budget.allow_bits(left.bit_length() * right)
        elif operator_name == "*":
            if isinstance(left, int) and isinstance(right, int):
                budget.allow_bits(left.bit_length() + right.bit_length())
            elif isinstance(right, int) and not isinstance(left, numbers):
                budget.allow_chars(_weight(left, budget.limits.output_chars) * max(right, 0))
            elif isinstance(left, int) and not isinstance(right, numbers):
                budget.allow_chars(_weight(right, budget.limits.output_chars) * max(left, 0))
        elif operator_name == "%" and isinstance(left, str):
            return percent_format(left, right)
        elif operator_name == "+" and not (isinstance(left, numbers) and isinstance(right, numbers)):
            budget.allow_chars(_weight(left, budget.limits.output_chars) + _weight(right, budget.limits.output_chars))
        return _check_value(self._BINOPS[operator_name](left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        budget = _budget()
        budget.step()
        if isinstance(__obj, Macro):
            budget.depth += 1
            try:
                if budget.depth > 50:
                    raise TemplateLimitError("macro depth", "macros nested more than 50 deep")
                return _check_value(super().call(__context, __obj, *args, **kwargs))
            finally:
                budget.depth -= 1
        return _check_value(super().call(__context, __obj, *args, **kwargs))

    def is_safe_attribute(self, obj, attr, value):
        allowed = next((_SAFE_METHODS[t] for t in type(obj).__mro__ if t in _SAFE_METHODS), None)
        if allowed is not None and callable(value) and attr not in allowed:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value):
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", None) in ("format", "format_map"):
            formatter = _CheckedFormatter(self)
            is_map = value.__name__ == "format_map"

            def formatted(*args, **kwargs):
                if is_map:
                    if kwargs or len(args) != 1:
                        raise TypeError("format_map() takes exactly one argument")
                    args, kwargs = (), args[0]
                return formatter.vformat(owner, args, kwargs)

            return formatted
        if isinstance(owner, str):
            grower = _str_growers(owner, value.__name__, value) if hasattr(value, "__name__") else None
            if grower is not None:
                return grower
        return super().wrap_str_format(value)


SANDBOX = LetterSandbox()
_COMPILED: dict[str, object] = {}


def render(source: str, context: dict, limits: TemplateLimits) -> str:
    """Render template text within the limits; TemplateLimitError naming the limit, or the template's
    own exception."""
    if len(source) > limits.template_chars:
        raise TemplateLimitError("template size", f"at most {limits.template_chars:,} characters")
    token = _BUDGET.set(_Budget(limits))
    try:
        template = _COMPILED.get(source)
        if template is None:
            template = SANDBOX.from_string(source)
            if len(_COMPILED) > 500:
                _COMPILED.clear()
            _COMPILED[source] = template
        out: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > limits.output_chars:
                raise TemplateLimitError("output size", f"the letter is longer than {limits.output_chars:,} "
                                                        "characters")
            out.append(chunk)
        return "".join(out)
    finally:
        _BUDGET.reset(token)


__all__ = ["BadFilterArgument", "LetterSandbox", "LetterUndefined", "SANDBOX", "TemplateLimitError", "TemplateLimits", "UnknownName", "current_limits", "percent_format",
           "render"]
