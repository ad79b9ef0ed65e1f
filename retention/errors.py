"""What kind of refusal a service error is, by class: the API answers 404, 409 or 422 from it, never from its text."""
from __future__ import annotations


class NotFound(Exception):
    """The record asked for does not exist (404)."""


class Conflict(Exception):
    """The change does not fit the record's current state (409)."""


def http_status(exc: Exception) -> int:
    """404 for NotFound, 409 for Conflict, else 422 (bad input: the message names the field)."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 422


def refuse(exc: Exception):
    """Answer an API request with the status of the service error's class and its message (the session rolled back)."""
    from flask import abort
    from flask_smorest import abort as smorest_abort

    from retention.extensions import db

    db.session.rollback()
    status = http_status(exc)
    if status == 422:
        smorest_abort(422, message=str(exc))
    abort(status, description=str(exc))
