"""The unsubscribe link of a received email, the admin's outbox, opt-outs on the customer page."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from retention import clock
from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.mail.models import CustomerOptOut, OutboundEmail
from retention.mail.sending import send_queued
from retention.mail.service import MailError, queue_email, render_email
from tests.factories import staff
from tests.mail.conftest import NOW, add_customer


def _send(customer, ref, subject="Thank you"):
    html, text = render_email("message", customer.locale, subject=subject, paragraphs=["Thank you."])
    row = queue_email(db.session, customer, kind="test", subject=subject, text=text, html=html, now=NOW, ref=ref)
    db.session.commit()
    return row


def _link(message) -> str:
    header = str(message["List-Unsubscribe"]).strip()
    return urlsplit(header[1:header.index(">")]).path


def test_the_link_of_a_received_email_opts_the_customer_out_in_their_language(smtp_app, smtp_server, client):
    customer = add_customer(locale="fa")
    _send(customer, "a:1")
    send_queued(db.session, NOW)
    path = _link(smtp_server.messages[0])
    assert path in smtp_server.messages[0].get_body(("html",)).get_content()
    page = client.get(path)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="fa" dir="rtl">' in body
    assert "لغو اشتراک" in body and 'id="unsubscribe"' in body
    assert db.session.scalar(select(CustomerOptOut)) is None  # a GET (a link scanner) changes nothing
    queued = _send(customer, "a:2", subject="Another one")
    done = client.post(path)
    assert done.status_code == 200 and 'id="unsubscribed"' in done.get_data(as_text=True)
    opt_out = db.session.scalar(select(CustomerOptOut))
    assert (opt_out.customer_id, opt_out.channel, opt_out.source) == (customer.id, "email", "unsubscribe_link")
    db.session.expire_all()
    assert db.session.get(OutboundEmail, queued.id).status == "cancelled"
    send_queued(db.session, NOW)
    assert len(smtp_server.messages) == 1  # the queued one never went
    with pytest.raises(MailError) as refused:
        _send(customer, "a:3")
    assert refused.value.reason == "opted_out"
    assert client.post(path).status_code == 200  # twice: still one opt-out
    assert len(db.session.scalars(select(CustomerOptOut)).all()) == 1


def test_a_mail_clients_one_click_post_needs_no_cookie_or_form_token(smtp_app, smtp_server, client):
    customer = add_customer(locale="ar")
    _send(customer, "b:1")
    send_queued(db.session, NOW)
    response = client.post(_link(smtp_server.messages[0]), data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and 'dir="rtl"' in response.get_data(as_text=True)
    assert db.session.scalar(select(CustomerOptOut.source)) == "one_click"


def test_a_token_nobody_issued_gets_the_not_valid_page_and_changes_nothing(app, client):
    customer = add_customer()
    _send(customer, "c:1")
    for token in ("nope", "x" * 32, "A" * 300):
        assert client.get(f"/unsubscribe/{token}").status_code == 404
        assert client.post(f"/unsubscribe/{token}").status_code == 404
    assert db.session.scalar(select(CustomerOptOut)) is None


def test_the_outbox_lists_and_shows_emails_to_admins_only(app, client, auth):
    customer = add_customer(locale="ar", name="ليلى حداد")
    row = _send(customer, "d:1", subject="شكرا لك")
    send_queued(db.session, NOW)
    _send(add_customer(), "d:2", subject="Still queued")
    staff(app, "caller@example.com", "onboarding")
    auth.login("caller@example.com")
    assert client.get("/admin/outbox/").status_code == 403
    client.post("/logout", data={"csrf_token": auth.csrf("/customers/")})
    staff(app, "admin@example.com", "admin")
    auth.login("admin@example.com")
    listing = client.get("/admin/outbox/").get_data(as_text=True)
    assert "شكرا لك" in listing and "Still queued" in listing and 'href="/admin/outbox/"' in listing
    sent_only = client.get("/admin/outbox/?status=sent").get_data(as_text=True)
    assert "شكرا لك" in sent_only and "Still queued" not in sent_only
    assert client.get("/admin/outbox/?status=bogus").status_code == 400
    assert client.get("/admin/outbox/?page=0").status_code == 400
    shown = client.get(f"/admin/outbox/{row.id}").get_data(as_text=True)
    frame = re.search(r'<iframe[^>]*id="email-html"[^>]*>', shown).group(0)
    assert 'sandbox=""' in frame and 'srcdoc="&lt;!doctype html&gt;' in frame
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in shown and row.message_id.strip("<>") in shown


def test_an_admin_sends_a_failed_email_again(smtp_app, smtp_server, client, auth):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 1
    row = _send(add_customer(), "e:1")
    smtp_server.refuse = "550 no"
    send_queued(db.session, NOW)
    smtp_server.refuse = None
    staff(smtp_app, "admin@example.com", "admin")
    auth.login("admin@example.com")
    assert "550 no" in client.get(f"/admin/outbox/{row.id}").get_data(as_text=True)
    assert "Email could not be sent" in client.get(f"/customers/{row.customer.external_id}").get_data(as_text=True)
    token = auth.csrf(f"/admin/outbox/{row.id}")
    assert client.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": token}).status_code == 409
    customer_page = client.get(f"/customers/{row.customer.external_id}").get_data(as_text=True)
    assert "Email could not be sent" not in customer_page  # queued again: no longer failed
    send_queued(db.session, clock.now())
    assert len(smtp_server.messages) == 1
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "email.retried"))


def test_staff_see_and_change_opt_outs_on_the_customer_page(app, client, auth):
    customer = add_customer()
    _send(customer, "f:1", subject="Your espresso machine is on its way")
    send_queued(db.session, NOW)
    staff(app, "caller@example.com", "onboarding")
    auth.login("caller@example.com")
    page = client.get(f"/customers/{customer.external_id}").get_data(as_text=True)
    assert 'id="opt-out-email"' in page and 'value="out"' in page
    assert re.search(r"Email sent.*?Your espresso machine is on its way", page, flags=re.S)  # on the timeline
    token = auth.csrf(f"/customers/{customer.external_id}")
    url = f"/customers/{customer.external_id}/opt-outs"
    assert client.post(url, data={"csrf_token": token, "channel": "fax", "action": "out"}).status_code == 400
    assert client.post(url, data={"csrf_token": token, "channel": "letter", "action": "out"}).status_code == 302
    page = client.get(f"/customers/{customer.external_id}").get_data(as_text=True)
    assert re.search(r'id="opt-out-letter".*?Opted out', page, flags=re.S)
    assert "Opted out of letters" in page  # on the timeline
    client.post(url, data={"csrf_token": token, "channel": "letter", "action": "in"})
    assert db.session.scalar(select(CustomerOptOut)) is None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "customer")).all()
    assert sorted(actions) == ["customer.opted_in", "customer.opted_out"]
