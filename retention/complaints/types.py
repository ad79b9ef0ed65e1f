"""Step 2, know the customer: the customer type staff set, a suggestion from history, and the advice for each type.

The type (customers.customer_type, one of CUSTOMER_TYPES) is set by staff on the customer page, the case page or
the API, audited and on the timeline; it is the `customer_type` fact journey conditions read. The engine only
suggests: COMPLAINT_CHRONIC_COUNT cases (default 3) opened in CHRONIC_DAYS (90) -> chronic; a purchase in the top
tenth of the business's sales in its currency, or at least COMPLAINT_HIGH_ROLLER_MIN for that currency ->
high-roller. The advice is DESIGN section 9's table, written for staff; social-media cases get their own.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention import i18n
from retention.audit.models import AuditEntry
from retention.audit.service import record
from retention.complaints.labels import TYPE_LABELS, label
from retention.complaints.models import CUSTOMER_TYPES, Complaint
from retention.complaints.service import ComplaintError
from retention.customers.models import Customer, Sale
from retention.customers.timeline import Entry
from retention.errors import N_
from retention.queries import id_in

CHRONIC_DAYS = 90
DEFAULT_CHRONIC_COUNT = 3
# Fewer sales than this in a currency say nothing about its top tenth: only the configured minimum counts then.
MIN_SALES_FOR_DECILE = 20

# DESIGN section 9, for staff: how each type behaves, how to respond, and the risk.
ADVICE = {
    "meek": {
        "behaviour": _l("Avoids complaining and fears being ignored."),
        "respond": _l("Start the conversation yourself: a check-in call or a survey. Ask, then fix."),
        "risk": _l("Leaves quietly: about nine in ten unhappy customers who never complain simply go. "
                   "Silence is not satisfaction."),
    },
    "aggressive": {
        "behaviour": _l("Complains loudly and accepts no excuses."),
        "respond": _l("Thank them for raising it and listen. Stay polite and firm, agree on what the problem is, "
                      "and say what will be done and by when."),
        "risk": _l("Mirroring their tone makes it worse."),
    },
    "high_roller": {
        "behaviour": _l("Pays well, expects excellent support and is usually reasonable."),
        "respond": _l("Listen respectfully, acknowledge the problem, make no excuses and solve it as fast as "
                      "possible. Keep these customers where the team sees them first."),
        "risk": _l("Slowness or excuses lose a valuable customer."),
    },
    "rip_off": {
        "behaviour": _l("Looks for faults to get something undeserved and rejects every solution."),
        "respond": _l("Stay calm and objective. Back each answer with precise figures and records; "
                      "concessions within the rules only."),
        "risk": _l("Ends up with something they are not owed."),
    },
    "chronic": {
        "behaviour": _l("Never quite happy, gets in touch often and wants an apology."),
        "respond": _l("Be patient, listen with empathy, apologise and make a genuine effort to fix it."),
        "risk": _l("Will call again. Unlike the rip-off, they accept and value the effort, and often become "
                   "loyal, vocal customers."),
    },
}
SOCIAL_ADVICE = _l("Answer in public quickly and calmly, and acknowledge the problem: do not argue and do not "
                   "delete anything. Then move the conversation to a private channel (phone, direct message, "
                   "email) to solve it, and come back to the public thread once it is solved.")
HANDOVER_ADVICE = _l("When the case must go to someone else, tell the customer why.")
# A short public reply to copy under a social-media post, in the customer's language (not the reader's).
PUBLIC_REPLIES = {
    "en": "We're sorry to hear this, and thank you for telling us. We want to put it right: we have sent you a "
          "direct message so we can look into it together.",
    "ar": "نأسف لما حدث، وشكرًا لإخبارنا. نريد أن نصلح الأمر، وقد أرسلنا إليك رسالة خاصة لنتابع الموضوع معًا.",
    "fa": "از شنیدن این موضوع متأسفیم و از اینکه به ما خبر دادید ممنونیم. می‌خواهیم مشکل را برطرف کنیم؛ "
          "پیام خصوصی برایتان فرستادیم تا موضوع را با هم پیگیری کنیم.",
}


def public_reply(customer: Customer) -> tuple[str, str]:
    """(language, text) of the public reply to copy: the customer's language, else English."""
    language = (customer.locale or "en").split("-")[0].split("_")[0].lower()
    language = language if language in PUBLIC_REPLIES else "en"
    return language, PUBLIC_REPLIES[language]


def advice_for(customer_type: str | None) -> dict | None:
    """The type's advice as text in the reader's language: {label, behaviour, respond, risk}; None for no type."""
    if customer_type not in ADVICE:
        return None
    return {"type": customer_type, "label": label(TYPE_LABELS, customer_type),
            **{part: str(text) for part, text in ADVICE[customer_type].items()}}


def check_type(customer_type) -> str | None:
    """A type key, or None (no type); ComplaintError naming `customer_type` for anything else."""
    if customer_type in (None, ""):
        return None
    if customer_type not in CUSTOMER_TYPES:
        raise ComplaintError("customer_type", N_("Choose one of the customer types."))
    return customer_type


def set_customer_type(session: Session, customer: Customer, customer_type: str | None, *, staff_id: int | None,
                      now: dt.datetime, actor: str) -> bool:
    """Set (or clear, None) the customer's type; audited and on the timeline. False when nothing changed."""
    customer_type = check_type(customer_type)
    if customer.customer_type == customer_type:
        return False
    old = customer.customer_type
    customer.customer_type = customer_type
    customer.customer_type_set_at = now
    customer.customer_type_set_by_id = staff_id
    record(session, actor=actor, action="customer.type_set", entity_type="customer", entity_id=customer.id,
           now=now, changes={"customer": customer.external_id, "old": old, "new": customer_type})
    return True


def _high_roller_minimums() -> dict[str, Decimal]:
    try:
        return dict(current_app.config.get("COMPLAINT_HIGH_ROLLER_MIN") or {})
    except RuntimeError:  # outside an app
        return {}


def _chronic_count() -> int:
    try:
        return int(current_app.config.get("COMPLAINT_CHRONIC_COUNT") or DEFAULT_CHRONIC_COUNT)
    except RuntimeError:
        return DEFAULT_CHRONIC_COUNT


def suggest_type(session: Session, customer: Customer, now: dt.datetime, *, chronic_count: int | None = None,
                 high_roller_min: dict[str, Decimal] | None = None,
                 recent: tuple[list[Complaint], int] | None = None) -> tuple[str | None, str]:
    """(suggested type or None, the reason in the reader's words) from the customer's history.

    Chronic first: at least `chronic_count` cases opened in the last 90 days. Then high-roller: their largest
    purchase is in the top tenth of the business's sales in that currency (with at least 20 sales in it), or
    at least the configured minimum for the currency.

    `recent`: (the customer's latest cases, newest opened first, as a page loaded them; the limit it used), so
    the count needs no query when those cases reach back past the 90 days or are all there are.
    """
    count_needed = chronic_count or _chronic_count()
    since = now - dt.timedelta(days=CHRONIC_DAYS)
    cases = _cases_since(recent, since, now)
    if cases is None:
        cases = session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.customer_id == customer.id, Complaint.opened_at > since, Complaint.opened_at <= now)) or 0
    if cases >= count_needed:
        return "chronic", _("%(count)s complaints in the last %(days)s days.", count=i18n.number(cases),
                            days=i18n.number(CHRONIC_DAYS))
    minimums = _high_roller_minimums() if high_roller_min is None else high_roller_min
    for sale in sorted(customer.sales, key=lambda s: s.amount, reverse=True):
        if sale.refunded_at is not None:
            continue
        minimum = minimums.get(sale.currency)
        if minimum is not None and sale.amount >= minimum:
            return "high_roller", _("A purchase of %(amount)s, at least %(minimum)s.",
                                    amount=i18n.money(sale.amount, sale.currency),
                                    minimum=i18n.money(minimum, sale.currency))
        if in_top_tenth(session, sale.currency, sale.amount):
            return "high_roller", _("A purchase of %(amount)s, in the top tenth of sales in %(currency)s.",
                                    amount=i18n.money(sale.amount, sale.currency), currency=sale.currency)
        break  # the largest purchase decides
    return None, ""


def _cases_since(recent: tuple[list[Complaint], int] | None, since: dt.datetime, now: dt.datetime) -> int | None:
    """Cases opened in (since, now] counted from the latest ones a page loaded; None when they may not be all."""
    if recent is None:
        return None
    cases, limit = recent
    if len(cases) >= limit and cases[-1].opened_at > since:
        return None  # more cases than were loaded may fall in the window
    return sum(1 for case in cases if since < case.opened_at <= now)


def in_top_tenth(session: Session, currency: str, amount: Decimal) -> bool:
    """Whether fewer than a tenth of the business's sales in `currency` are larger than `amount`, with at least
    MIN_SALES_FOR_DECILE sales in it. One statement: both counts from one pass over the currency's entries of
    ix_sales_currency_amount (an index-only scan on PostgreSQL), not two passes over the sales table."""
    total, higher = session.execute(select(func.count(), func.count().filter(Sale.amount > amount))
                                    .where(Sale.currency == currency)).one()
    return (total or 0) >= MIN_SALES_FOR_DECILE and (higher or 0) * 10 < total


def customer_type_facts(session: Session, customer_ids: set[int]) -> dict[int, dict]:
    """The `customer_type` fact of each customer who has one (journey conditions)."""
    ids = list(customer_ids)
    found: dict[int, dict] = {}
    for start in range(0, len(ids), 5000):
        for cid, kind in session.execute(select(Customer.id, Customer.customer_type).where(
                id_in(session, Customer.id, ids[start:start + 5000]), Customer.customer_type.is_not(None))):
            found[cid] = {"customer_type": kind}
    return found


def type_changes(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Timeline: the customer type staff set or cleared."""
    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer.id),
        AuditEntry.action == "customer.type_set").order_by(AuditEntry.at.desc()).limit(limit))
    entries = []
    for a in rows:
        new = (a.changes or {}).get("new")
        title = (_("Customer type set: %(type)s", type=label(TYPE_LABELS, new)) if new
                 else _("Customer type cleared"))
        entries.append(Entry(at=a.at, kind="complaint:type", title=title, extra={"actor": a.actor}))
    return entries
