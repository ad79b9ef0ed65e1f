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

from werkzeug.wrappers import Request, Response

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
        request = Request(environ)
        with self.app.app_context():
            try:
                status, body = receive(request.headers, request.stream, request.content_length)
            except Exception:
                if self.app.config.get("PROPAGATE_EXCEPTIONS") or self.app.testing:
                    raise
                log.exception("POST %s failed", PATH)
                status, body = 500, SERVER_ERROR
        response = Response(json.dumps(body, separators=(",", ":")), status, headers=HEADERS,
                            mimetype="application/json")
        return response(environ, start_response)
