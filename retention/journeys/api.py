"""REST API: touchpoints (by owner, status, date), enrollments, journeys (call outcomes: retention/calls/api.py)."""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.errors import refuse
from retention.extensions import db
from retention.journeys import service
from retention.customers.models import Customer
from retention.journeys.models import Enrollment, Journey, Touchpoint
from retention.journeys.schemas import (
    EditResultOut, EnrollmentOut, ImpactIn, ImpactOut, JourneyEditIn, JourneyOut, TouchpointOut,
    TouchpointQuery,
)
from retention.staff.access import api_roles
from retention.staff.models import StaffUser
from retention import clock

touchpoints = Blueprint("touchpoints_api", __name__, url_prefix="/api/v1/touchpoints",
                        description="Planned and past touchpoints")
enrollments = Blueprint("enrollments_api", __name__, url_prefix="/api/v1/enrollments",
                        description="Pause and resume a customer's journey")
journeys = Blueprint("journeys_api", __name__, url_prefix="/api/v1/journeys",
                     description="Journeys (playbooks) and their versions")
# A customer's touchpoints live with journeys (customers import nothing above them); same URL as before.
customer_touchpoints = Blueprint("customer_touchpoints_api", __name__, url_prefix="/api/v1/customers",
                                 description="A customer's touchpoints, by the sender's customer id")


def _impact_out(plans: dict) -> dict:
    return {**{choice: plan.customers for choice, plan in plans.items()},
            "plans": {choice: plan.as_dict() for choice, plan in plans.items()}}


@touchpoints.route("/")
@api_roles("onboarding", "marketing")
@touchpoints.arguments(TouchpointQuery, location="query")
@touchpoints.response(200, TouchpointOut(many=True))
def list_touchpoints(args):
    """Touchpoints filtered by owner, status, kind and due date, soonest first."""
    stmt = select(Touchpoint)
    if args["owner"]:
        owner = db.session.scalar(select(StaffUser).where(StaffUser.email == args["owner"].lower()))
        if owner is None:
            return []  # nobody with that email owns any touchpoint
        stmt = stmt.where(Touchpoint.owner_id == owner.id)
    if args["status"]:
        stmt = stmt.where(Touchpoint.status == args["status"])
    if args["kind"]:
        stmt = stmt.where(Touchpoint.kind == args["kind"])
    if args["due_from"]:
        stmt = stmt.where(Touchpoint.due_at >= args["due_from"])
    if args["due_to"]:
        stmt = stmt.where(Touchpoint.due_at < args["due_to"])
    return db.session.scalars(stmt.order_by(Touchpoint.due_at, Touchpoint.id).limit(args["limit"])).all()


@enrollments.route("/<int:enrollment_id>/<any(pause, resume):action>", methods=["POST"])
@api_roles("onboarding")
@enrollments.response(200, EnrollmentOut)
def control(enrollment_id: int, action: str):
    """Pause an enrollment, or resume it (future steps move by the pause length)."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        abort(404, description="enrollment: no enrollment with this id")
    now = clock.now()
    try:
        (service.pause if action == "pause" else service.resume)(db.session, enrollment, now,
                                                                 actor=actor_of(g.api_user))
    except service.JourneyError as exc:
        refuse(exc)
    db.session.commit()
    return enrollment


@journeys.route("/")
@api_roles("admin", "marketing", "onboarding")
@journeys.response(200, JourneyOut(many=True))
def list_journeys():
    """The current version of every journey."""
    return db.session.scalars(select(Journey).where(Journey.is_current.is_(True)).order_by(Journey.key)).all()


@journeys.route("/<key>")
@api_roles("admin", "marketing", "onboarding")
@journeys.response(200, JourneyOut)
def get_journey(key: str):
    """One journey's current version with its steps."""
    journey = service.current_version(db.session, key)
    if journey is None:
        abort(404, description=f"journey: no journey {key!r}")
    return journey


@journeys.route("/<key>/impact")
@api_roles("admin")
@journeys.response(200, ImpactOut)
def impact(key: str):
    """How many customers mid-way each edit choice would touch, saving the current steps unchanged."""
    try:
        return _impact_out(service.edit_impact(db.session, key, clock.now()))
    except service.JourneyError as exc:
        refuse(exc)


@journeys.route("/<key>/impact", methods=["POST"])
@api_roles("admin")
@journeys.arguments(ImpactIn)
@journeys.response(200, ImpactOut)
def impact_of_edit(args, key: str):
    """What each edit choice would do if these steps were saved (nothing is saved): the counts the PUT then applies."""
    try:
        plans = service.edit_impact(db.session, key, clock.now(), steps=args["steps"])
    except service.JourneyError as exc:
        refuse(exc)
    db.session.rollback()
    return _impact_out(plans)


@journeys.route("/<key>", methods=["PUT"])
@api_roles("admin")
@journeys.arguments(JourneyEditIn)
@journeys.response(200, EditResultOut)
def put_journey(args, key: str):
    """Save an edit as a new version, applying the choice to customers mid-way."""
    now = clock.now()
    try:
        new, summary = service.edit_journey(db.session, key, steps=args["steps"], choice=args["choice"], now=now,
                                            actor=actor_of(g.api_user), name=args["name"], anchor=args["anchor"])
    except service.JourneyError as exc:
        refuse(exc)
    db.session.commit()
    return {"journey": new, "moved": summary.customers, "summary": summary.as_dict()}


@customer_touchpoints.route("/<external_id:customer_id>/touchpoints", merge_slashes=False)
@api_roles("onboarding", "marketing")
@customer_touchpoints.response(200, TouchpointOut(many=True))
def list_customer_touchpoints(customer_id: str):
    """Every touchpoint of the customer: id, kind, step, due_at (UTC), status, owner, outcome."""
    customer = db.session.scalar(select(Customer).where(Customer.external_id == customer_id))
    if customer is None:
        abort(404, description=f"customer: no customer with id {customer_id!r}")
    return db.session.scalars(select(Touchpoint).where(Touchpoint.customer_id == customer.id)
                              .order_by(Touchpoint.due_at, Touchpoint.id)).all()
