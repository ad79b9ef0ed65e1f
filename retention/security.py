"""Security headers on every answer, and the client's address read through a configured number of proxies."""
from __future__ import annotations

import secrets

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix


def content_security_policy(nonce: str | None) -> str:
    """Scripts only from our files or inline blocks carrying this page's nonce; nothing framed from elsewhere.

    Inline style attributes stay allowed (they cannot run code); the letter preview shows (and reads back) a blob: PDF.
    """
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return ("default-src 'self'; "
            f"script-src {script}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; "
            "connect-src 'self' blob:; "
            "frame-src 'self' blob:; "
            "object-src 'self' blob:; "
            "base-uri 'none'; "
            "form-action 'self'; "
            "frame-ancestors 'self'")


def csp_nonce() -> str:
    """The nonce of this response, for `<script nonce="{{ csp_nonce() }}">` in templates."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_security_headers(response):
    """After every request: no framing by other sites, no sniffing, no referrer elsewhere, no caching.

    Everything but the static files carries customer or staff data, so it is never stored by a browser
    or a proxy (no-store) - pages, JSON answers and PDFs alike.
    """
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
        headers.pop("ETag", None)
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce"))
    return response


def forget_per_request_values() -> None:
    """The signed-in user, the nonce and the CSRF token belong to one request, even in a shared app context.

    Flask-Login keeps the user in `g`; a request reusing an outer app context would otherwise skip the
    server-side session check.
    """
    g.pop("_login_user", None)
    g.pop("csp_nonce", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF's cached token


def install(app: Flask) -> None:
    """ProxyFix when RETENTION_TRUSTED_PROXIES > 0 (the address throttling sign-ins is the client's), headers."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.before_request(forget_per_request_values)
    app.after_request(add_security_headers)
    app.context_processor(lambda: {"csp_nonce": csp_nonce})
