"""What kind of refusal a service error is, by class: the API answers 404, 409 or 422 from it, never from its text."""
from __future__ import annotations

from typing import NoReturn


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


def refuse_field(field: str, message: str) -> NoReturn:
    """Answer 422 for a field of the request body that names a record which does not exist (or may not be used):
    the body is wrong, not the URL (an id in the path is 404). `message` names the field, like `refuse`, and
    `errors` holds it as the schemas do ({"json": {field: [text]}}). The session is rolled back."""
    from flask_smorest import abort as smorest_abort

    from retention.extensions import db

    db.session.rollback()
    smorest_abort(422, message=f"{field}: {message}", errors={"json": {field: [message]}})


class ServiceError(ValueError):
    """A refused action (422 unless the subclass is also NotFound/Conflict): the field and a msgid.

    str(error) is the English "field: message" (API answers, logs); translated() is the message in the
    reader's language, for pages, which show it next to the field. Messages are msgids marked with N_ so
    `make i18n` extracts them; params fill their %(name)s placeholders (dates and numbers localized).
    """

    def __init__(self, field: str, message: str, **params):
        import datetime as dt

        self.field, self.message, self.params = field, message, params
        english = {k: f"{v:%Y-%m-%d}" if isinstance(v, (dt.date, dt.datetime)) else v for k, v in params.items()}
        text = message % english if params else message
        super().__init__(f"{field}: {text}" if field else text)

    def translated(self) -> str:
        import datetime as dt

        from flask_babel import gettext

        from retention import i18n

        local = {k: i18n.when(v, form="date") if isinstance(v, (dt.date, dt.datetime))
                 else i18n.number(v) if isinstance(v, int) else v for k, v in self.params.items()}
        return gettext(self.message, **local)

    def localized(self) -> str:
        """The same as translated(): the name the staff pages' error helpers call."""
        return self.translated()


def N_(message: str) -> str:
    """Mark a msgid for extraction without translating it now (it is translated where it is shown)."""
    return message
