"""Queueing email: who may be emailed, the outbound_emails row, the unsubscribe link, rendering in a language.

Features call `queue_email` inside their own transaction; the row is sent after they commit (a job queued on
commit, and the tick as the safety net: retention/mail/sending.py), exactly once per `ref`.

Unsubscribe links: every customer email carries its own random token (24 bytes, 192 bits, URL-safe), of which
only the sha256 is stored on the row (`unsubscribe_hash`); `/unsubscribe/<token>` finds the email, hence the
customer. No customer number is in any link, and a token says nothing about any other customer.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel import force_locale, gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.errors import N_, ServiceError
from retention.mail.models import QUEUED, OutboundEmail
from retention.mail.optouts import opted_out

# Why a customer cannot be emailed, by code (can_email's answer), in the reader's language.
REASON_MSGIDS = {"no_email": N_("No email address"), "opted_out": N_("Opted out of email")}
REASONS = {"no_email": _l("No email address"), "opted_out": _l("Opted out of email")}
EMAIL_LANGUAGES = ("en", "ar", "fa")
RTL = ("ar", "fa")
FOOTER_MARK = "<!--mail:footer-->"
NUDGE_KEY = "mail"
SEND_JOB = "jobs.mail.send_emails"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,60}$")
_RESERVED = {"from", "to", "cc", "bcc", "subject", "message-id", "date", "content-type", "mime-version",
             "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post"}


class MailError(ServiceError):
    """An email that cannot be queued: the field ("email" when the customer may not be emailed) and a msgid.

    `reason` is can_email's code when that is why ("no_email", "opted_out"), else None.
    """

    reason: str | None = None


def email_language(locale: str | None) -> str:
    """The language an email is written in: the locale's base language when we write it, else English."""
    base = (locale or "en").replace("_", "-").split("-")[0].lower()
    return base if base in EMAIL_LANGUAGES else "en"


def _valid_address(address: str | None) -> bool:
    if not address or any(ch in address for ch in "\r\n\0<>,;\"") or len(address) > 254:
        return False
    name, parsed = parseaddr(address)
    return parsed == address.strip() and "@" in parsed and "." in parsed.rsplit("@", 1)[1]


def can_email(session: Session, customer: Customer) -> str | None:
    """None when we may email the customer, else the reason code ("no_email", "opted_out"; labels in REASONS)."""
    if not _valid_address(customer.email):
        return "no_email"
    if opted_out(session, customer.id, "email"):
        return "opted_out"
    return None


def public_url(path: str) -> str:
    """An absolute link to a public page of this app (PUBLIC_URL + path), for emails and letters."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/" + path.lstrip("/")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _message_id() -> str:
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    domain = sender.rsplit("@", 1)[1] if "@" in sender else "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def _clean_headers(headers: dict | None) -> dict:
    """Extra headers a feature asks for: plain names and one-line values; the mail module's own ones are kept."""
    clean = {}
    for name, value in (headers or {}).items():
        value = str(value)
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED or any(c in value for c in "\r\n\0"):
            raise MailError("headers", N_("A header name or value is not allowed: %(name)s"), name=name[:60])
        clean[name] = value[:900]
    return clean


def _one_line(subject: str) -> str:
    return " ".join(subject.split())[:400]


def _footer(language: str, url: str) -> tuple[str, str]:
    """The unsubscribe footer (html, text) in the email's language."""
    with force_locale(language):
        company = current_app.config["COMPANY_NAME"]
        why = gettext("You receive this email because you bought from %(company)s.", company=company)
        link = gettext("Unsubscribe from all emails")
        html = Markup('<p class="unsubscribe" style="font-size:13px;color:#555;margin-top:24px">{} '
                      '<a href="{}">{}</a></p>').format(why, url, link)
        text = f"{why}\n{link}: {url}"
    return str(html), text


def _with_footer(html: str | None, text: str, language: str, url: str) -> tuple[str | None, str]:
    footer_html, footer_text = _footer(language, url)
    text = text.rstrip("\n") + "\n\n-- \n" + footer_text + "\n"
    if html is None:
        return None, text
    if FOOTER_MARK in html:
        return html.replace(FOOTER_MARK, footer_html, 1), text
    match = re.search(r"</body\s*>", html, flags=re.I)
    if match:
        return html[:match.start()] + footer_html + html[match.start():], text
    return html + footer_html, text


def _existing(session: Session, ref: str) -> OutboundEmail | None:
    return session.scalar(select(OutboundEmail).where(OutboundEmail.ref == ref))


def _insert(session: Session, row: OutboundEmail) -> OutboundEmail:
    """Add the row under a savepoint: a concurrent caller that stored the same ref first wins, and we return theirs."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _existing(session, row.ref)
        if existing is None:
            raise
        return existing
    session.info["mail_queued"] = True  # after the caller's commit a send job is queued (registration.py)
    return row


def queue_email(session: Session, customer: Customer, *, kind: str, subject: str, text: str, html: str | None,
                now: dt.datetime, ref: str, locale: str | None = None, headers: dict | None = None) -> OutboundEmail:
    """Add an email to the customer (status "queued") to the caller's transaction; it is sent after the commit.

    The same `ref` queued again returns the existing row (nothing doubled). MailError("email") when the customer
    may not be emailed (can_email). The unsubscribe header and footer are added here, in the email's language.
    """
    if not ref or len(ref) > 120:
        raise MailError("ref", N_("A reference of 1 to 120 characters is required."))
    existing = _existing(session, ref)
    if existing is not None:
        return existing
    reason = can_email(session, customer)
    if reason is not None:
        error = MailError("email", REASON_MSGIDS[reason])
        error.reason = reason
        raise error
    language = email_language(locale or customer.locale)
    token = secrets.token_urlsafe(24)
    url = public_url(f"/unsubscribe/{token}")
    html, text = _with_footer(html, text, language, url)
    all_headers = _clean_headers(headers)
    mailto = current_app.config.get("MAIL_UNSUBSCRIBE_MAILTO")
    links = [f"<{url}>"] + ([f"<mailto:{mailto}?subject=unsubscribe>"] if mailto else [])
    all_headers.update({"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    row = OutboundEmail(ref=ref, kind=kind[:40], customer_id=customer.id, to_address=customer.email.strip(),
                        locale=language, subject=_one_line(subject), text=text, html=html, headers=all_headers,
                        message_id=_message_id(), unsubscribe_hash=token_hash(token), status=QUEUED, attempts=0,
                        next_attempt_at=now, created_at=now)
    return _insert(session, row)


def queue_staff_email(session: Session, staff, *, kind: str, subject: str, text: str, html: str | None = None,
                      now: dt.datetime, ref: str) -> OutboundEmail:
    """Add a notice to a staff member (no unsubscribe: it is their work); idempotent per `ref` like queue_email."""
    if not ref or len(ref) > 120:
        raise MailError("ref", N_("A reference of 1 to 120 characters is required."))
    existing = _existing(session, ref)
    if existing is not None:
        return existing
    if not _valid_address(staff.email):
        raise MailError("email", REASON_MSGIDS["no_email"])
    row = OutboundEmail(ref=ref, kind=kind[:40], staff_id=staff.id, to_address=staff.email.strip(),
                        locale=email_language(getattr(staff, "locale", None)), subject=_one_line(subject),
                        text=text, html=html, headers={}, message_id=_message_id(), status=QUEUED, attempts=0,
                        next_attempt_at=now, created_at=now)
    return _insert(session, row)


def render_email(template: str, locale: str, **context) -> tuple[str, str]:
    """(html, text) of `mail/<template>.html` and `.txt` in the language of `locale` (templates/mail/).

    The html template extends mail/base.html (lang, dir="rtl" for ar/fa, the footer's place); the text template
    is plain. Both get `language`, `dir` and `company` besides `context`.
    """
    language = email_language(locale)
    values = {"language": language, "dir": "rtl" if language in RTL else "ltr",
              "company": current_app.config["COMPANY_NAME"], **context}
    with force_locale(language):
        html = render_template(f"mail/{template}.html", **values)
        text = render_template(f"mail/{template}.txt", **values)
    return html, text


def email_for_token(session: Session, token: str) -> OutboundEmail | None:
    """The customer email whose unsubscribe link carries `token`, or None."""
    if not token or len(token) > 200:
        return None
    return session.scalar(select(OutboundEmail).where(OutboundEmail.unsubscribe_hash == token_hash(token),
                                                      OutboundEmail.customer_id.is_not(None)))


def escape_text(value) -> str:
    """Plain text made safe to put in an email's HTML."""
    return str(escape(value))
