"""REST API: touchpoints (by owner, status, date), call outcomes, enrollments, journeys."""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from sqlalchemy import select

from retention.audit.service import actor_of, record
from retention.calls import service as calls
from retention.extensions import db
from retention.journeys import service
from retention.journeys.models import Enrollment, Journey, Touchpoint
from retention.journeys.schemas import (
    EditResultOut, EnrollmentOut, ImpactIn, ImpactOut, JourneyEditIn, JourneyOut, OutcomeIn, TouchpointOut,
    TouchpointQuery,
)
from retention.staff import policy
from retention.staff.access import api_roles
from retention.staff.models import StaffUser
from retention.types import utcnow

touchpoints = Blueprint("touchpoints_api", __name__, url_prefix="/api/v1/touchpoints",
                        description="Planned and past touchpoints; call outcomes")
enrollments = Blueprint("enrollments_api", __name__, url_prefix="/api/v1/enrollments",
                        description="Pause and resume a customer's journey")
journeys = Blueprint("journeys_api", __name__, url_prefix="/api/v1/journeys",
                     description="Journeys (playbooks) and their versions")


def _unprocessable(message: str):
    from flask_smorest import abort as smorest_abort

    smorest_abort(422, message=message)


def _refuse(exc: Exception):
    """The HTTP answer for a service error, chosen by its class: 404 not found, 409 wrong state, else 422."""
    db.session.rollback()
    if isinstance(exc, (calls.CallNotFound, service.JourneyNotFound)):
        abort(404, description=str(exc))
    if isinstance(exc, (calls.CallConflict, service.JourneyStateError)):
        abort(409, description=str(exc))
    _unprocessable(str(exc))


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


@touchpoints.route("/<int:touchpoint_id>/outcome", methods=["POST"])
@api_roles("onboarding")
@touchpoints.arguments(OutcomeIn)
@touchpoints.response(200, TouchpointOut)
def post_outcome(args, touchpoint_id: int):
    """Log a call's outcome (reached, no_answer, voicemail, wrong_number, call_back).

    Only the call's owner, or an admin (recorded as on the owner's behalf); anyone else gets 403.
    """
    now = utcnow()
    try:
        on_behalf_of = policy.check_call_action(db.session, g.api_user, touchpoint_id)
    except policy.NotYourCall as exc:
        abort(403, description=str(exc))
    try:
        tp = calls.log_outcome(db.session, touchpoint_id, staff=g.api_user, now=now, **args)
    except calls.CallError as exc:
        _refuse(exc)
    record(db.session, actor=actor_of(g.api_user), action="call.outcome", entity_type="touchpoint", entity_id=tp.id,
           now=now, changes={"outcome": tp.outcome, **({"on_behalf_of": on_behalf_of} if on_behalf_of else {})})
    db.session.commit()
    return tp


@enrollments.route("/<int:enrollment_id>/<any(pause, resume):action>", methods=["POST"])
@api_roles("onboarding")
@enrollments.response(200, EnrollmentOut)
def control(enrollment_id: int, action: str):
    """Pause an enrollment, or resume it (future steps move by the pause length)."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        abort(404, description="enrollment: no enrollment with this id")
    now = utcnow()
    try:
        (service.pause if action == "pause" else service.resume)(db.session, enrollment, now)
    except service.JourneyError as exc:
        _refuse(exc)
    record(db.session, actor=actor_of(g.api_user), action=f"enrollment.{action}", entity_type="enrollment",
           entity_id=enrollment_id, now=now)
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
        return _impact_out(service.edit_impact(db.session, key, utcnow()))
    except service.JourneyError as exc:
        _refuse(exc)


@journeys.route("/<key>/impact", methods=["POST"])
@api_roles("admin")
@journeys.arguments(ImpactIn)
@journeys.response(200, ImpactOut)
def impact_of_edit(args, key: str):
    """What each edit choice would do if these steps were saved (nothing is saved): the counts the PUT then applies."""
    try:
        plans = service.edit_impact(db.session, key, utcnow(), steps=args["steps"])
    except service.JourneyError as exc:
        _refuse(exc)
    db.session.rollback()
    return _impact_out(plans)


@journeys.route("/<key>", methods=["PUT"])
@api_roles("admin")
@journeys.arguments(JourneyEditIn)
@journeys.response(200, EditResultOut)
def put_journey(args, key: str):
    """Save an edit as a new version, applying the choice to customers mid-way."""
    now = utcnow()
    try:
        new, summary = service.edit_journey(db.session, key, steps=args["steps"], choice=args["choice"], now=now,
                                            actor=actor_of(g.api_user), name=args["name"], anchor=args["anchor"])
    except service.JourneyError as exc:
        _refuse(exc)
    db.session.commit()
    return {"journey": new, "moved": summary.customers, "summary": summary.as_dict()}
