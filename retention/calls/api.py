"""REST API: call outcomes (the touchpoint's call, logged by its owner)."""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint

from retention.audit.service import actor_of
from retention.calls import service
from retention.calls.schemas import OutcomeIn
from retention.errors import refuse
from retention.extensions import db
from retention.journeys.schemas import TouchpointOut
from retention.staff import policy
from retention.staff.access import api_roles
from retention import clock

blueprint = Blueprint("calls_api", __name__, url_prefix="/api/v1/touchpoints", description="Call outcomes")


@blueprint.route("/<int:touchpoint_id>/outcome", methods=["POST"])
@api_roles("onboarding")
@blueprint.arguments(OutcomeIn)
@blueprint.response(200, TouchpointOut)
def post_outcome(args, touchpoint_id: int):
    """Log a call's outcome (reached, no_answer, voicemail, wrong_number, call_back).

    Only the call's owner, or an admin (recorded as on the owner's behalf); anyone else gets 403.
    """
    now = clock.now()
    try:
        service.check_call_action(db.session, g.api_user, touchpoint_id)
    except policy.NotYourCall as exc:
        abort(403, description=str(exc))
    try:
        answers = {"solution_held": args.pop("solution_held", None)}
        tp = service.log_outcome(db.session, touchpoint_id, staff=g.api_user, now=now, actor=actor_of(g.api_user),
                                 answers=answers, **args)
    except service.CallError as exc:
        refuse(exc)
    db.session.commit()
    return tp
