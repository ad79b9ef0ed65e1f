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
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache

from flask import current_app, render_template
from flask_babel import force_locale, gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retention import bulk
from retention.customers.models import Customer
from retention.errors import N_, ServiceError
from retention.mail.models import QUEUED, OutboundEmail
from retention.mail.optouts import opted_out, opted_out_ids

# Why a customer cannot be emailed, by code (can_email's answer), in the reader's language.
REASON_MSGIDS = {"no_email": N_("No email address"), "opted_out": N_("Opted out of email")}
REASONS = {"no_email": _l("No email address"), "opted_out": _l("Opted out of email")}
EMAIL_LANGUAGES = ("en", "ar", "fa")
RTL = ("ar", "fa")
FOOTER_MARK = "<!--mail:footer-->"
_URL_MARK = "\ue000unsubscribe\ue000"  # where each email's own link goes in a footer made once per language
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


@lru_cache(maxsize=1024)  # a batch asks it twice of each address (the rule, then queue_emails)
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


def email_refusals(session: Session, customers) -> dict[int, str | None]:
    """can_email for many customers at once (one query): customer id -> None or the reason code."""
    valid = {c.id: _valid_address(c.email) for c in customers}
    opted = opted_out_ids(session, [cid for cid, ok in valid.items() if ok], "email")
    return {cid: "no_email" if not ok else "opted_out" if cid in opted else None for cid, ok in valid.items()}


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


def _with_footer(html: str | None, text: str, language: str, url: str, footer=None) -> tuple[str | None, str]:
    footer_html, footer_text = (footer or _footer)(language, url)
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


def _bad_ref(ref: str | None) -> MailError | None:
    if not ref or len(ref) > 120:
        return MailError("ref", N_("A reference of 1 to 120 characters is required."))
    return None


def _refusal(reason: str) -> MailError:
    error = MailError("email", REASON_MSGIDS[reason])
    error.reason = reason
    return error


def _customer_row(customer: Customer, *, kind: str, subject: str, text: str, html: str | None, now: dt.datetime,
                  ref: str, locale: str | None, headers: dict | None, footer=None,
                  message_id=None) -> OutboundEmail:
    """The row of a customer email that may go: its own unsubscribe token, the footer and List-Unsubscribe headers.

    `footer(language, url)` and `message_id()` default to `_with_footer`'s footer and `_message_id` (queue_emails
    passes cached ones: the same text, made once per language)."""
    language = email_language(locale or customer.locale)
    token = secrets.token_urlsafe(24)
    url = public_url(f"/unsubscribe/{token}")
    html, text = _with_footer(html, text, language, url, footer)
    all_headers = _clean_headers(headers)
    mailto = current_app.config.get("MAIL_UNSUBSCRIBE_MAILTO")
    links = [f"<{url}>"] + ([f"<mailto:{mailto}?subject=unsubscribe>"] if mailto else [])
    all_headers.update({"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    return OutboundEmail(ref=ref, kind=kind[:40], customer_id=customer.id, to_address=customer.email.strip(),
                         locale=language, subject=_one_line(subject), text=text, html=html, headers=all_headers,
                         message_id=(message_id or _message_id)(), unsubscribe_hash=token_hash(token), status=QUEUED,
                         attempts=0, next_attempt_at=now, created_at=now)


def queue_email(session: Session, customer: Customer, *, kind: str, subject: str, text: str, html: str | None,
                now: dt.datetime, ref: str, locale: str | None = None, headers: dict | None = None) -> OutboundEmail:
    """Add an email to the customer (status "queued") to the caller's transaction; it is sent after the commit.

    The same `ref` queued again returns the existing row (nothing doubled). MailError("email") when the customer
    may not be emailed (can_email). The unsubscribe header and footer are added here, in the email's language.
    """
    error = _bad_ref(ref)
    if error is not None:
        raise error
    existing = _existing(session, ref)
    if existing is not None:
        return existing
    reason = can_email(session, customer)
    if reason is not None:
        raise _refusal(reason)
    row = _customer_row(customer, kind=kind, subject=subject, text=text, html=html, now=now, ref=ref, locale=locale,
                        headers=headers)
    return _insert(session, row)


@dataclass(frozen=True)
class CustomerEmail:
    """One email of a `queue_emails` batch: queue_email's arguments but the session and `now`."""

    customer: Customer
    kind: str
    subject: str
    text: str
    html: str | None
    ref: str
    locale: str | None = None
    headers: dict | None = None


def queue_emails(session: Session, emails: list[CustomerEmail], *, now: dt.datetime) -> list[OutboundEmail | MailError]:
    """queue_email for many emails at once, with the same guarantees, in a few queries whatever their number.

    Returns, in the order given, each email's row (the existing one when its `ref` was queued before, or earlier in
    this list: nothing doubled) or the MailError that refused it (a bad ref; MailError("email") with `reason` when
    the customer may not be emailed: can_email's rule, one query for the opt-outs of all). Each new row gets its own
    unsubscribe token, the footer link and the List-Unsubscribe headers in its language, as queue_email gives them;
    the new rows are inserted together (under a savepoint: when a concurrent caller stored one of the refs first,
    each is inserted alone and that one returns theirs), and a send job is queued after the caller's commit.
    """
    results: list[OutboundEmail | MailError | None] = [_bad_ref(email.ref) for email in emails]
    refs = list({email.ref for email, result in zip(emails, results) if result is None})
    rows: dict[str, OutboundEmail] = {}
    for start in range(0, len(refs), 1000):
        rows.update((row.ref, row) for row in session.scalars(
            select(OutboundEmail).where(OutboundEmail.ref.in_(refs[start:start + 1000]))))
    refusals = email_refusals(session, {email.customer.id: email.customer for email, result in zip(emails, results)
                                        if result is None and email.ref not in rows}.values())
    footers: dict[str, tuple[str, str]] = {}

    def footer(language: str, url: str) -> tuple[str, str]:  # made once per language, each link put in its place
        if language not in footers:
            footers[language] = _footer(language, _URL_MARK)
        html, text = footers[language]
        return html.replace(_URL_MARK, str(escape(url))), text.replace(_URL_MARK, url)

    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    domain = sender.rsplit("@", 1)[1] if "@" in sender else "localhost"
    new: dict[str, OutboundEmail] = {}
    for i, email in enumerate(emails):
        if results[i] is not None:
            continue
        if email.ref in rows:
            results[i] = rows[email.ref]
            continue
        reason = refusals[email.customer.id]
        if reason is not None:
            results[i] = _refusal(reason)
            continue
        row = _customer_row(email.customer, kind=email.kind, subject=email.subject, text=email.text, html=email.html,
                            now=now, ref=email.ref, locale=email.locale, headers=email.headers, footer=footer,
                            message_id=lambda: f"<{uuid.uuid4().hex}@{domain}>")
        rows[email.ref] = new[email.ref] = results[i] = row
    if new:
        try:
            with session.begin_nested():
                bulk.insert_new(session, list(new.values()))
        except IntegrityError:  # a concurrent caller stored one of these refs first: one by one, theirs wins
            stored = {ref: _insert(session, row) for ref, row in new.items()}
            results = [stored.get(r.ref, r) if isinstance(r, OutboundEmail) else r for r in results]
        else:
            session.info["mail_queued"] = True  # after the caller's commit a send job is queued (registration.py)
    return results


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
