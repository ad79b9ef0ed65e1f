"""Staff pages: the customer list and a customer's page."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from retention.customers import service
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
    except service.InvalidSearch as exc:
        abort(400, description=str(exc))
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    return render_template("customers/index.html", customers=customers, total=total, page=page, pages=pages,
                           q=query, may=policy.customer_access(current_user))


@blueprint.route("/<external_id:external_id>", merge_slashes=False)
@roles_required("onboarding", "marketing", "print")
def show(external_id: str):
    """One customer: details, sales and the timeline, as much as the viewer's role sees (staff/policy.py)."""
    customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        abort(404, description="customer: no customer with this id")
    may = policy.customer_access(current_user)
    # Parts features add to the page (e.g. journeys: the plan, as `enrollments`), each as its role allows.
    parts = {name: (load(db.session, customer) if may.sees(part) else default)
             for name, (part, load, default) in PAGE_PARTS.items()}
    return render_template("customers/show.html", customer=customer, may=may,
                           entries=timeline(db.session, customer, access=may), **parts)
