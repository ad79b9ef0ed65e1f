"""The `email` journey step: a letter template's text, personalised like the letter, sent as an email.

The smallest design: an email step names a letter template (template_key, else its key, as a letter step does);
the email is written from the current version in the customer's language (en/ar/fa; the sandboxed template,
the same context and limits as the printed letter). Its subject is the template's name in that language, its
body the letter's body, closing and signer, HTML and plain text (templates/mail/letter.html, .txt). It goes out
through retention/mail (ref "touchpoint:<id>", so a replayed hand-out cannot double it). A customer we may not
email (no address, opted out) or whose email cannot be written is skipped, the reason on the timeline.
Lives in postal because it renders letter templates; mail is a lower layer, so postal may use it.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.customers.models import Customer, Sale
from retention.journeys import calendar, registry
from retention.journeys.models import SKIPPED, Touchpoint
from retention.mail.service import MailError, can_email, email_language, queue_email, render_email
from retention.postal.models import Letter
from retention.postal.service import LetterError, company_from, current_template, letter_content
from retention.queries import id_in

KIND = "email"


def _skip(session: Session, reasons: dict[str, list[int]], now: dt.datetime) -> None:
    for reason, ids in reasons.items():
        session.execute(update(Touchpoint).where(id_in(session, Touchpoint.id, ids))
                        .values(status=SKIPPED, reason=reason[:300], completed_at=now)
                        .execution_options(synchronize_session=False))


def write_email(session: Session, customer: Customer, sale: Sale | None, template_key: str, now: dt.datetime,
                ref: str, touchpoint_id: int | None = None):
    """Queue the email of `template_key` to the customer; returns the row, or raises LetterError / MailError."""
    language = email_language(customer.locale)
    template = current_template(session, template_key, language)
    if template is None:
        raise LetterError(f"template: no template {template_key!r}")
    letter = Letter(customer=customer, sale=sale, template_key=template_key, language=template.language,
                    touchpoint_id=touchpoint_id)  # never added: only what the letter's context reads
    today = now.astimezone(calendar.time_zone(customer.timezone)).date()
    content = letter_content(letter, template, company_from(current_app.config), today)
    subject = template.name or template_key
    html, text = render_email("letter", template.language, subject=subject, body=content.body,
                              closing=content.closing, signer_name=content.signer_name,
                              signer_title=content.signer_title, link=content.qr_url)
    return queue_email(session, customer, kind="journey_email", subject=subject, text=text, html=html, now=now,
                       ref=ref, locale=template.language)


def send_email_steps(session: Session, due: list[registry.Due], now: dt.datetime) -> None:
    """The hand-out of email steps: one queued email per due touchpoint, or the touchpoint skipped with why."""
    ids = list({d.customer_id for d in due})
    customers = {c.id: c for c in session.scalars(select(Customer).where(id_in(session, Customer.id, ids)))}
    sale_ids = list({d.sale_id for d in due if d.sale_id})
    sales = {s.id: s for s in session.scalars(select(Sale).where(id_in(session, Sale.id, sale_ids)))} \
        if sale_ids else {}
    skipped: dict[str, list[int]] = {}
    for d in due:
        customer = customers[d.customer_id]
        reason = can_email(session, customer)
        if reason is not None:
            skipped.setdefault(f"not emailed: {reason}", []).append(d.touchpoint_id)
            continue
        try:
            with session.begin_nested():
                write_email(session, customer, sales.get(d.sale_id), d.step.template_key or d.step.key, now,
                            ref=f"touchpoint:{d.touchpoint_id}", touchpoint_id=d.touchpoint_id)
        except (LetterError, MailError) as exc:
            skipped.setdefault(f"email not written: {exc}"[:300], []).append(d.touchpoint_id)
    _skip(session, skipped, now)


def register() -> None:
    from retention.postal.registration import check_letter_step

    registry.register_handout(registry.HandOut(KIND, write=send_email_steps, needs_sale=True))
    registry.register_step_check(KIND, check_letter_step)
