"""POST /hooks/events: the signed inbound endpoint (DESIGN.md section 4)."""
from __future__ import annotations

import json
import re
import time

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from retention.extensions import db
from retention.hooks import service
from retention.hooks.schemas import load_event
from retention.hooks.signatures import SignatureError, verify
from retention.queue import get_queue
from retention import clock
from retention.validation import bad_character

# The deepest an event body nests is 4 (data.customer.address.lines); a body nested deeper than this
# is not an event, and refusing it early keeps recursion out of parsing and validation.
MAX_DEPTH = 16
WEBHOOK_ID_MAX = 200

blueprint = Blueprint("hooks", __name__, url_prefix="/hooks")


def _error(status: int, message: str, errors: dict | None = None) -> tuple[int, dict]:
    body = {"status": "rejected", "message": message}
    if errors is not None:
        body["errors"] = errors
    return status, body


@blueprint.route("/events", methods=["POST"])
def receive_event():
    """Verify, validate and store one event; 202 once it is committed, 200 for a replayed id.

    A POST without a query string never reaches this view: `HookLane` answers it before Flask's request machinery
    (the same `receive`); this view answers the rest (a query string, which the guards before every view check).
    """
    status, body = receive(request.headers, request.stream, request.content_length)
    return jsonify(body), status


def receive(headers, stream, content_length: int | None) -> tuple[int, dict]:
    """The hook itself, in an app context: (status, JSON body). Stores and commits before it answers 202, then
    queues the processing job (after the commit: the job never runs before its row exists)."""
    config = current_app.config
    limit = config["WEBHOOK_MAX_BYTES"]
    if content_length is not None and content_length > limit:
        return _error(413, f"body: larger than {limit} bytes")
    body = stream.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"body: larger than {limit} bytes")
    webhook_id = headers.get("webhook-id")
    try:
        verify(config["WEBHOOK_SECRETS"], webhook_id, headers.get("webhook-timestamp"),
               headers.get("webhook-signature"), body, time.time(), config["WEBHOOK_TOLERANCE_SECONDS"])
    except SignatureError as exc:
        return _error(401, str(exc))
    if len(webhook_id) > WEBHOOK_ID_MAX:
        return _error(422, f"webhook-id: longer than {WEBHOOK_ID_MAX} characters", {"webhook-id": ["Too long."]})
    problem = bad_character(webhook_id)
    if problem:
        return _error(422, f"webhook-id: {problem}", {"webhook-id": [problem]})
    try:
        payload = json.loads(body)
    except RecursionError:
        return _error(422, f"body: nested deeper than {MAX_DEPTH} levels",
                      {"body": [f"Nested deeper than {MAX_DEPTH} levels."]})
    except (ValueError, UnicodeDecodeError):
        return _error(422, "body: not valid JSON", {"body": ["Not valid JSON."]})
    if not isinstance(payload, dict):
        return _error(422, "body: must be a JSON object", {"body": ["Must be a JSON object."]})
    if _deeper_than(payload, MAX_DEPTH):
        return _error(422, f"body: nested deeper than {MAX_DEPTH} levels",
                      {"body": [f"Nested deeper than {MAX_DEPTH} levels."]})
    try:
        event = load_event(payload)
    except ValidationError as err:
        fields = ", ".join(_paths(err.messages))
        return _error(422, f"invalid fields: {fields}", err.messages)
    accepted = service.accept(db.engine, webhook_id, event, clock.now())
    if accepted.status == 202:
        service.nudge_soon(get_queue())
    return accepted.status, accepted.body


def _deeper_than(value, limit: int) -> bool:
    """Whether JSON containers nest deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")


def field_name(key) -> str:
    """A key as the one-line message names it: plain names as they are, any other (an unknown field named "",
    "a.b" or with controls) quoted as JSON, so every field named is visible and unambiguous."""
    key = str(key)
    return key if _PLAIN_NAME.fullmatch(key) else json.dumps(key)


def _paths(messages, prefix=""):
    """Dotted names of every field with an error, for the one-line message."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix + field_name(key)
            yield from _paths(value, name + ".") if isinstance(value, dict) else [name]
    else:
        yield prefix.rstrip(".")
