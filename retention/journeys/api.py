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
    EditResultOut, EnrollmentOut, ImpactOut, JourneyEditIn, JourneyOut, OutcomeIn, TouchpointOut, TouchpointQuery,
)
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
            _unprocessable(f"owner: no staff member {args['owner']}")
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
    """Log a call's outcome (reached, no_answer, voicemail, wrong_number, call_back)."""
    now = utcnow()
    try:
        tp = calls.log_outcome(db.session, touchpoint_id, staff=g.api_user, now=now, **args)
    except calls.CallError as exc:
        db.session.rollback()
        if "no call with this id" in str(exc) or "not waiting" in str(exc):
            abort(404 if "no call" in str(exc) else 409, description=str(exc))
        _unprocessable(str(exc))
    record(db.session, actor=actor_of(g.api_user), action="call.outcome", entity_type="touchpoint", entity_id=tp.id,
           now=now, changes={"outcome": tp.outcome})
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
        db.session.rollback()
        abort(409, description=str(exc))
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
    """How many customers mid-way each edit choice would touch."""
    if service.current_version(db.session, key) is None:
        abort(404, description=f"journey: no journey {key!r}")
    return service.edit_impact(db.session, key)


@journeys.route("/<key>", methods=["PUT"])
@api_roles("admin")
@journeys.arguments(JourneyEditIn)
@journeys.response(200, EditResultOut)
def put_journey(args, key: str):
    """Save an edit as a new version, applying the choice to customers mid-way."""
    if service.current_version(db.session, key) is None:
        abort(404, description=f"journey: no journey {key!r}")
    now = utcnow()
    try:
        new, moved = service.edit_journey(db.session, key, steps=args["steps"], choice=args["choice"], now=now,
                                          actor=actor_of(g.api_user), name=args["name"], anchor=args["anchor"])
    except service.JourneyError as exc:
        db.session.rollback()
        _unprocessable(str(exc))
    record(db.session, actor=actor_of(g.api_user), action="journey.edited", entity_type="journey", entity_id=key,
           now=now, changes={"version": new.version, "choice": args["choice"], "moved": moved})
    db.session.commit()
    return {"journey": new, "moved": moved}
