"""Input checked at the door for every route: ids in the database's range, no control characters, bounded pages."""
from __future__ import annotations

import re
from urllib.parse import quote

from flask import Flask, abort, request
from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter, PathConverter

# Ids are 32-bit integer columns on PostgreSQL; a larger number can name no row.
MAX_ID = 2**31 - 1
# A page further than this is never a real one (50 a page: 50 million rows), and keeps OFFSET small.
MAX_PAGE = 1_000_000
MAX_LIMIT = 1000

# C0 and C1 controls, DEL and lone surrogates: never part of a path or a query a person types, PostgreSQL
# refuses NUL in text, and the same characters are refused in every text field (retention/validation.py).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: a number past the largest id is simply not found (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class ExternalIdConverter(PathConverter):
    """`<external_id:...>`: a sender's id, which may hold `/` (even first) - the rest of the path, URL-encoded.

    Rules using it set merge_slashes=False, so an id holding `//` is not redirected to another id.
    """

    regex = ".+?"
    part_isolating = False  # it spans several path segments

    def to_url(self, value) -> str:
        return quote(str(value), safe="/")


def refuse_control_characters():
    """400 when the path or the query string holds a control character (NUL, CR, LF, tab, ...)."""
    if _CONTROL.search(request.path):
        abort(400, description="path: must not contain control characters")
    for name, values in request.args.lists():
        if _CONTROL.search(name) or any(_CONTROL.search(v) for v in values):
            abort(400, description=f"{_CONTROL.sub('?', name)[:60]}: must not contain control characters")


def _no_method_for_an_id_past_the_range():
    """A path whose only match failed on an id past the range is not found (404), even where werkzeug saw a
    rule for the same path with other methods (it checks methods before converters and would answer 405)."""
    from werkzeug.exceptions import MethodNotAllowed

    if isinstance(request.routing_exception, MethodNotAllowed) and any(
            part.isdigit() and int(part) > MAX_ID for part in request.path.split("/")):
        abort(404)


def install(app: Flask) -> None:
    """Register the bounded `int` converter (before any route) and the control-character guard."""
    app.url_map.converters["int"] = BoundedIntConverter
    # An API query parameter the route does not know is refused (422 naming it), not silently ignored.
    from flask_smorest import Blueprint

    Blueprint.ARGUMENTS_PARSER.DEFAULT_UNKNOWN_BY_LOCATION["query"] = "raise"
    Blueprint.ARGUMENTS_PARSER.DEFAULT_UNKNOWN_BY_LOCATION["querystring"] = "raise"
    app.url_map.converters["external_id"] = ExternalIdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_control_characters)
    app.before_request_funcs[None].insert(1, _no_method_for_an_id_past_the_range)


def int_arg(args, name: str, *, default: int | None = None, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number from a query string or form, inside [low, high]; 400 naming the parameter otherwise."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20:
        abort(400, description=f"{name}: must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        abort(400, description=f"{name}: must be between {low} and {high}")
    return value


def page_arg(args, name: str = "page") -> int:
    """The `page` of a listing page: 1 to MAX_PAGE."""
    return int_arg(args, name, default=1, high=MAX_PAGE)


def id_list(values, name: str) -> list[int]:
    """Ids from a repeated form field; 400 naming the field for anything that cannot be an id."""
    out = []
    for raw in values:
        raw = raw.strip()
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
            abort(400, description=f"{name}: {raw[:20]!r} is not an id")
        out.append(int(raw))
    return out


# The same rule as refuse_control_characters, in the form the OpenAPI document states it (path and query text).
NO_CONTROL_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


def QueryText(max_length: int = 200, **kwargs) -> fields.String:  # noqa: N802
    """Free text in a query string: bounded, and (like every query value) without control characters."""
    return fields.String(validate=[validate.Length(max=max_length), validate.Regexp(NO_CONTROL_PATTERN)], **kwargs)


def document_converters(api) -> None:
    """State in the OpenAPI document what the path converters accept (ids bounded, no control characters)."""
    from werkzeug.routing import UnicodeConverter

    api.register_converter(BoundedIntConverter, lambda c: {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    api.register_converter(UnicodeConverter, lambda c: {"type": "string", "minLength": 1,
                                                        "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$"})
    api.register_converter(ExternalIdConverter, lambda c: {"type": "string", "minLength": 1,
                                                           "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"})


# The refusals every API operation may answer besides its own (the request guards above: 400; api_roles in
# retention/staff/access.py: 401, 403; an id in the path that names nothing: 404), stated on each operation so
# that a client, and the schema check of tests/test_openapi.py, finds every status it can get in the document,
# not only under "default".
REFUSALS = {"400": ("BAD_REQUEST", "A path or query holding characters no text may hold (NUL, controls, broken "
                                   "Unicode), or a body that is not JSON"),
            "401": ("UNAUTHORIZED", "No valid Bearer token (WWW-Authenticate: Bearer)"),
            "403": ("FORBIDDEN", "The token's role may not use this operation"),
            "404": ("NOT_FOUND", "Nothing has the id in the path")}


def document_refusals(api) -> None:
    """Add 400, 401 and 403 to every operation of the document, and 404 to those with a path parameter."""
    from apispec import BasePlugin

    for code, (name, description) in REFUSALS.items():
        if name not in api.spec.components.responses:
            api.spec.components.response(name, {"description": description, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})

    class Refusals(BasePlugin):
        def operation_helper(self, path=None, operations=None, **kwargs):
            for operation in (operations or {}).values():
                responses = operation.setdefault("responses", {})
                for code, (name, _) in REFUSALS.items():
                    if code != "404" or "{" in (path or ""):
                        responses.setdefault(code, {"$ref": f"#/components/responses/{name}"})

    plugin = Refusals()
    plugin.init_spec(api.spec)
    api.spec.plugins.append(plugin)


def PageField(**kwargs) -> fields.Integer:  # noqa: N802 (a field factory, read like a field class)
    """`page` of an API listing: 1 to MAX_PAGE, documented in the OpenAPI document."""
    return fields.Integer(load_default=1, strict=False, validate=validate.Range(min=1, max=MAX_PAGE), **kwargs)


def LimitField(default: int = 200, **kwargs) -> fields.Integer:  # noqa: N802
    """`limit` of an API listing: 1 to MAX_LIMIT."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_LIMIT), **kwargs)
