"""The signed hook's own lane: POST /hooks/events answered before Flask's request machinery.

The hook is the busiest door and a machine's: it needs no cookie session, CSRF check, page language, script nonce
or template, yet Flask set all of them up and tore them down for every event (about a third of the hook's CPU
time, bench/ingest.py, issue 14). This WSGI middleware answers exactly `POST /hooks/events` without a query
string itself: an app context (config, database session, clock, queue) around the same `hooks.views.receive`
the Flask view calls, and the headers `security.add_security_headers` gives a JSON answer. Everything else,
including the hook with a query string (which the request guards check), goes to Flask unchanged.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus

from werkzeug.wsgi import get_input_stream

from retention.hooks.views import receive

log = logging.getLogger(__name__)

PATH = "/hooks/events"
# What security.add_security_headers puts on a JSON answer (tests/staff/test_security_headers.py checks both doors).
HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "SAMEORIGIN"),
           ("Referrer-Policy", "same-origin"), ("Cache-Control", "no-store"))
SERVER_ERROR = {"code": 500, "status": "Internal Server Error", "message": "unexpected error"}


class HookLane:
    """WSGI middleware: the hook's POSTs here, the rest to `wsgi_app`."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("QUERY_STRING")):
            return self.wsgi_app(environ, start_response)
        with self.app.app_context():
            try:
                status, body = receive(_Headers(environ), get_input_stream(environ), _content_length(environ))
            except Exception:
                if self.app.config.get("PROPAGATE_EXCEPTIONS") or self.app.testing:
                    raise
                log.exception("POST %s failed", PATH)
                status, body = 500, SERVER_ERROR
        # Written out rather than through werkzeug's Request and Response objects (a tenth of the hook's CPU).
        payload = json.dumps(body, separators=(",", ":")).encode()
        start_response(_STATUS_LINES.get(status) or f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *HEADERS])
        return [payload]


_STATUS_LINES = {status: f"{status} {HTTPStatus(status).phrase}" for status in (200, 202, 401, 413, 422, 500)}


class _Headers:
    """The request headers `receive` reads, straight from the WSGI environ (`get`, case-insensitive)."""

    __slots__ = ("environ",)

    def __init__(self, environ):
        self.environ = environ

    def get(self, name: str, default=None):
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return self.environ.get(key, default)


def _content_length(environ) -> int | None:
    """The declared body length, None when absent or unreadable (werkzeug's `Request.content_length`)."""
    value = environ.get("CONTENT_LENGTH")
    if not value:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return None
