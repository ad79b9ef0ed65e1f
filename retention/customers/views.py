"""Staff pages: the customer list and a customer's page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from retention import clock, i18n
from retention.audit.service import actor_of
from retention.customers import names, service
from retention.customers.models import Customer
from retention.customers.timeline import timeline
from retention.extensions import db
from retention.request_input import page_arg
from retention.staff import policy
from retention.staff.access import roles_required

blueprint = Blueprint("customers", __name__, url_prefix="/customers")

# name -> (the customer part a viewer must see, load(session, customer), value when not seen); filled by features
# at app wiring time (retention/wiring.py) so this page imports none of them.
PAGE_PARTS: dict[str, tuple] = {}


def register_page_part(name: str, part: str, load, default=None) -> None:
    PAGE_PARTS[name] = (part, load, default)


PER_PAGE = 50


@blueprint.route("/")
@roles_required("onboarding", "marketing", "print")
def index():
    """Customers, newest first, searchable by name, email, phone or id."""
    query = request.args.get("q", "").strip()
    page = page_arg(request.args)
    try:
        customers, total = service.search(db.session, query, page, PER_PAGE)
    except service.InvalidSearch:
        if len(query) > service.SEARCH_MAX_LENGTH:
            abort(400, description=_("Search (q): at most %(num)s characters.",
                                     num=i18n.number(service.SEARCH_MAX_LENGTH)))
        abort(400, description=_("Search (q): remove the control characters from the search text."))
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    return render_template("customers/index.html", customers=customers, total=total, page=page, pages=pages,
                           q=query, may=policy.customer_access(current_user), country_name=_country_name)


def _country_name(code: str | None) -> str:
    return names.country_name(code, i18n.ui_language())


def _language_name(tag: str | None) -> str:
    return names.language_name(tag, i18n.ui_language())


def _customer(external_id: str) -> Customer:
    customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        abort(404, description=_("No customer with this id."))
    return customer


@blueprint.route("/<external_id:external_id>", merge_slashes=False)
@roles_required("onboarding", "marketing", "print")
def show(external_id: str):
    """One customer: details, sales and the timeline, as much as the viewer's role sees (staff/policy.py)."""
    customer = _customer(external_id)
    may = policy.customer_access(current_user)
    # Parts features add to the page (e.g. journeys: the plan, as `enrollments`), each as its role allows.
    parts = {name: (load(db.session, customer) if may.sees(part) else default)
             for name, (part, load, default) in PAGE_PARTS.items()}
    return render_template("customers/show.html", customer=customer, may=may, now=clock.now(),
                           zone_of_viewer=i18n.viewer_zone(),
                           entries=timeline(db.session, customer, access=may), country_name=_country_name,
                           language_name=_language_name, form_of_address=names.form_of_address_label,
                           may_correct=current_user.has_role("onboarding"), **parts)


def _form_of(customer: Customer) -> dict:
    """The contact form filled with what we know."""
    return {"phone": customer.phone or "", "address_lines": "\n".join(customer.address_lines or []),
            "city": customer.city or "", "region": customer.region or "", "postal_code": customer.postal_code or "",
            "country": customer.country or "", "locale": customer.locale or "", "timezone": customer.timezone or "",
            "form_of_address": customer.form_of_address or ""}


CONTACT_FIELDS = ("phone", "address_lines", "city", "region", "postal_code", "country", "locale", "timezone",
                  "form_of_address")


@blueprint.route("/<external_id:external_id>/contact", methods=["GET", "POST"], merge_slashes=False)
@roles_required("onboarding")
def contact(external_id: str):
    """Correct a customer's phone, postal address, language or time zone (audited; on the timeline)."""
    customer = _customer(external_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in CONTACT_FIELDS}
        try:
            changed = service.correct_contact(db.session, customer, form, actor=actor_of(current_user),
                                              now=clock.now())
        except service.InvalidContact as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(_("Contact details saved.") if changed else _("Nothing changed."))
            return redirect(url_for("customers.show", external_id=customer.external_id), 303)
    else:
        form = _form_of(customer)
    language = i18n.ui_language()
    languages = list(names.language_choices(language))
    if form["locale"] and form["locale"] not in dict(languages):
        languages.insert(0, (form["locale"], names.language_name(form["locale"], language)))
    return render_template("customers/contact.html", customer=customer, form=form, errors=errors,
                           countries=names.country_choices(language), languages=languages,
                           zones=names.zone_names(), forms=names.FORM_OF_ADDRESS_LABELS), (422 if errors else 200)
