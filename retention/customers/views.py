"""Staff pages: the customer list and a customer's page."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from retention.customers import service
from retention.customers.models import Customer
from retention.customers.timeline import timeline
from retention.extensions import db
from retention.staff.access import roles_required

blueprint = Blueprint("customers", __name__, url_prefix="/customers")

PER_PAGE = 50


@blueprint.route("/")
@roles_required("onboarding", "marketing", "print")
def index():
    """Customers, newest first, searchable by name, email, phone or id."""
    query = request.args.get("q", "").strip()[:200]
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        abort(400, description="page: must be a whole number")
    customers, total = service.search(db.session, query, page, PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    return render_template("customers/index.html", customers=customers, total=total, page=page, pages=pages,
                           q=query)


@blueprint.route("/<external_id>")
@roles_required("onboarding", "marketing", "print")
def show(external_id: str):
    """One customer: details, sales and the timeline of everything received about them."""
    customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        abort(404, description="customer: no customer with this id")
    from sqlalchemy.orm import joinedload, selectinload

    from retention.journeys.models import Enrollment, Touchpoint

    enrollments = db.session.scalars(
        select(Enrollment).where(Enrollment.customer_id == customer.id)
        .options(joinedload(Enrollment.journey),
                 selectinload(Enrollment.touchpoints).options(joinedload(Touchpoint.step), joinedload(Touchpoint.owner)))
        .order_by(Enrollment.enrolled_at.desc())).all()
    return render_template("customers/show.html", customer=customer, entries=timeline(db.session, customer),
                           enrollments=enrollments)
