"""Security headers: no framing by other sites, no sniffing, no caching of data, a CSP whose scripts carry a nonce."""
from __future__ import annotations

import re
from pathlib import Path

from retention.postal.service import ensure_default_templates
from retention.extensions import db
from retention.types import utcnow
from tests.conftest import Auth
from tests.factories import staff, token_for

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _page_headers_are_safe(response) -> None:
    h = response.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "SAMEORIGIN"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["Cache-Control"] == "no-store"
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "object-src" in csp and "base-uri 'none'" in csp
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src


def test_pages_carry_the_security_headers(app, client):
    _page_headers_are_safe(client.get("/login"))
    staff(app, "sara@example.com", "onboarding")
    Auth(client).login("sara@example.com")
    for path in ("/calls/", "/customers/", "/customers/NOPE"):
        _page_headers_are_safe(client.get(path))


def test_api_answers_are_not_sniffed_or_cached(app, client):
    token = token_for(app, staff(app, "sara@example.com", "onboarding"))
    for headers in ({"Authorization": f"Bearer {token}"}, {}):
        response = client.get("/api/v1/customers/", headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.mimetype == "application/json"


def test_static_files_may_be_cached(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_inline_scripts_run_only_with_the_pages_nonce(app, client):
    ensure_default_templates(db.session, utcnow())
    db.session.commit()
    staff(app, "mia@example.com", "marketing")
    Auth(client).login("mia@example.com")
    response = client.get("/letters/templates/thank_you/en")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)
    again = client.get("/letters/templates/thank_you/en").headers["Content-Security-Policy"]
    assert f"'nonce-{nonce}'" not in again  # a new nonce per answer


def test_every_inline_script_in_the_templates_carries_the_nonce():
    """An inline script without the nonce would be blocked by the CSP; inline event handlers too."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for attrs in re.findall(r"<script([^>]*)>", text):
            assert "src=" in attrs or 'nonce="{{ csp_nonce() }}"' in attrs, path
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {path}"
        assert "javascript:" not in text, path
