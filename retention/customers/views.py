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
    from sqlalchemy.orm import joinedload, selectinload

    from retention.journeys.models import Enrollment, Touchpoint

    may = policy.customer_access(current_user)
    enrollments = []
    if may.sees("plan"):
        enrollments = db.session.scalars(
            select(Enrollment).where(Enrollment.customer_id == customer.id)
            .options(joinedload(Enrollment.journey),
                     selectinload(Enrollment.touchpoints).options(joinedload(Touchpoint.step),
                                                                  joinedload(Touchpoint.owner)))
            .order_by(Enrollment.enrolled_at.desc())).all()
    return render_template("customers/show.html", customer=customer, may=may,
                           entries=timeline(db.session, customer, access=may), enrollments=enrollments)
