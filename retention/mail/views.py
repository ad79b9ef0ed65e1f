"""Pages of the mail module: the customer's public unsubscribe page, and the admin's outbox (what was sent).

Unsubscribe: the link's random token (retention/mail/service.py) is the only thing that identifies the customer;
it also stands in for a CSRF token, so the form and a mail client's one-click POST (RFC 8058, no cookies) work
without one. A token nobody issued gets the same "link not valid" page whatever it looks like.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from retention import clock
from retention.audit.service import actor_of, record
from retention.customers.models import Customer
from retention.extensions import csrf, db
from retention.mail import optouts
from retention.mail.sending import server_problem
from retention.mail.models import CANCELLED, FAILED, QUEUED, SENDING, SENT, STATUSES, OutboundEmail
from retention.mail.service import email_for_token, email_language
from retention.request_input import page_arg
from retention.staff.access import roles_required

public = Blueprint("unsubscribe", __name__, url_prefix="/unsubscribe")
admin = Blueprint("outbox", __name__, url_prefix="/admin/outbox")

STATUS_LABELS = {QUEUED: _l("Queued"), SENDING: _l("Sending"), SENT: _l("Sent"), FAILED: _l("Failed"),
                 CANCELLED: _l("Cancelled")}
PAGE_SIZE = 50


@public.route("/<token>", methods=["GET", "POST"])
@csrf.exempt
def page(token: str):
    """GET: a button to stop all emails; POST (the button, or a mail client's one-click): opted out."""
    row = email_for_token(db.session, token)
    if row is None:
        return render_template("unsubscribe.html", valid=False), 404
    customer = db.session.get(Customer, row.customer_id)
    language = email_language(customer.locale or row.locale)
    if request.method == "POST":
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        optouts.opt_out(db.session, customer.id, "email", source="one_click" if one_click else "unsubscribe_link",
                        now=clock.now(), actor=f"customer:{customer.id}")
        db.session.commit()
    done = optouts.opted_out(db.session, customer.id, "email")
    with force_locale(language):
        return render_template("unsubscribe.html", valid=True, done=done, token=token)


@admin.route("/")
@roles_required("admin")
def index():
    """Outbound emails, newest first, filtered by status, a page at a time; above them, what keeps the mail server
    from taking email now (a wrong password, a server that cannot be reached...), since when."""
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        abort(400, description=_("Unknown status: choose one of the tabs."))
    page_number = page_arg(request.args)
    counts = dict(db.session.execute(select(OutboundEmail.status, func.count()).group_by(OutboundEmail.status)).all())
    query = select(OutboundEmail)
    if status:
        query = query.where(OutboundEmail.status == status)
    emails = db.session.scalars(query.order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
                                .offset((page_number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    more = len(emails) > PAGE_SIZE
    return render_template("outbox/index.html", emails=emails[:PAGE_SIZE], status=status, counts=counts,
                           statuses=STATUSES, labels=STATUS_LABELS, page=page_number, more=more,
                           total=sum(counts.values()), problem=server_problem(db.session))


@admin.route("/<int:email_id>")
@roles_required("admin")
def show(email_id: int):
    """One email: its state, headers, the plain text, and the HTML in a sandboxed frame (no scripts, no loads)."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None:
        abort(404, description=_("There is no email with this number."))
    customer = db.session.get(Customer, email.customer_id) if email.customer_id else None
    return render_template("outbox/email.html", email=email, customer=customer, labels=STATUS_LABELS)


@admin.route("/<int:email_id>/retry", methods=["POST"])
@roles_required("admin")
def retry(email_id: int):
    """Put a failed email back in the queue, due now (audited); the customer's opt-out is still checked."""
    if db.session.get(OutboundEmail, email_id) is None:
        abort(404, description=_("There is no email with this number."))
    now = clock.now()
    changed = db.session.execute(OutboundEmail.__table__.update().where(
        OutboundEmail.id == email_id, OutboundEmail.status == FAILED).values(
        status=QUEUED, attempts=0, next_attempt_at=now, last_error=None)).rowcount
    if not changed:
        abort(409, description=_("Only a failed email can be sent again."))
    record(db.session, actor=actor_of(current_user), action="email.retried", entity_type="outbound_email",
           entity_id=email_id, now=now)
    db.session.info["mail_queued"] = True
    db.session.commit()
    flash(_("Email %(id)s is queued to be sent again.", id=email_id))
    return redirect(url_for("outbox.show", email_id=email_id))


staff_pages = Blueprint("customer_opt_outs", __name__, url_prefix="/customers")


@staff_pages.route("/<external_id:external_id>/opt-outs", methods=["POST"], merge_slashes=False)
@roles_required("onboarding")
def change(external_id: str):
    """Opt a customer out of a channel, or back in, when they ask us (audited; on the timeline)."""
    customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        abort(404, description=_("There is no customer with this id."))
    channel, action = request.form.get("channel", ""), request.form.get("action", "")
    if action not in ("out", "in"):
        abort(400, description=_("action: choose opt out or allow again."))
    now = clock.now()
    try:
        if action == "out":
            optouts.opt_out(db.session, customer.id, channel, source="staff", now=now,
                            actor=actor_of(current_user), staff_id=current_user.id)
        else:
            optouts.opt_in(db.session, customer.id, channel, now=now, actor=actor_of(current_user))
    except optouts.OptOutError as exc:
        db.session.rollback()
        abort(400, description=exc.translated())
    db.session.commit()
    flash(_("Contact preferences saved."))
    return redirect(url_for("customers.show", external_id=customer.external_id) + "#opt-outs")
