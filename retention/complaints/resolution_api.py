"""REST API of step 4: a case's solution (which schedules its verification call), apology letter and concessions;
admins' decisions on concessions above the requester's limit.

Errors name the field (422); an unknown case or concession is 404; an action the case's or concession's state
does not allow is 409. Solutions, apologies and concessions are for onboarding staff; decisions for admins.
"""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from retention import clock
from retention.audit.service import actor_of
from retention.complaints import concessions, resolution, service
from retention.complaints.models import CONCESSION_KINDS, CONCESSION_STATUSES
from retention.errors import refuse
from retention.extensions import db
from retention.request_input import LimitField
from retention.staff.access import api_roles
from retention.validation import Text

case_api = Blueprint("complaint_resolution_api", __name__, url_prefix="/api/v1/complaints",
                     description="A complaint's solution, verification call, apology letter and concessions")
concession_api = Blueprint("concessions_api", __name__, url_prefix="/api/v1/concessions",
                           description="Concessions above the requester's limit: an admin approves or rejects")


class ConcessionOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    kind = fields.String()
    amount = fields.Function(lambda c: concessions.amount_text(c.amount, c.currency), metadata={
        "description": "a decimal string with the currency's decimals, e.g. \"15.50\"", "type": "string"})
    currency = fields.String()
    note = fields.String()
    status = fields.String()
    requested_by = fields.Function(lambda c: c.requested_by.email if c.requested_by else None, allow_none=True)
    requested_at = fields.DateTime()
    decided_by = fields.Function(lambda c: c.decided_by.email if c.decided_by else None, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ConcessionIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CONCESSION_KINDS))
    amount = fields.String(required=True, validate=validate.Regexp(
        r"^(0\.[0-9]{0,2}[1-9]|[1-9][0-9]{0,5}(\.[0-9]{1,3})?|1000000(\.0{1,3})?)$"), metadata={
        "description": "a decimal string in the currency of the case's sale, e.g. \"25.00\" (at most the currency's "
                       "decimals; a refund at most the sale)"})
    note = Text(concessions.MAX_NOTE, load_default="", blank=True, multiline=True)


class DecisionIn(Schema):
    note = Text(concessions.MAX_NOTE, load_default="", blank=True, multiline=True)


class ConcessionQuery(Schema):
    status = fields.String(load_default="pending", validate=validate.OneOf(CONCESSION_STATUSES))
    limit = LimitField(default=50)


class SolutionIn(Schema):
    resolution = Text(resolution.MAX_SOLUTION, required=True, multiline=True)


class VerificationOut(Schema):
    case_id = fields.Integer(attribute="id")
    status = fields.String()
    resolution = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    verification_touchpoint_id = fields.Integer(allow_none=True, metadata={
        "description": "the call that will ask whether the solution held (an ad-hoc call in the owner's list)"})
    verification_due_at = fields.Function(
        lambda c: c.verification_touchpoint.due_at.isoformat() if c.verification_touchpoint is not None else None,
        allow_none=True)


class ApologyIn(Schema):
    again = fields.Boolean(load_default=False, metadata={
        "description": "queue another apology letter although this case already has one"})


class ApologyOut(Schema):
    letter_id = fields.Integer(attribute="id")
    template_key = fields.String()
    language = fields.String()
    status = fields.String()


def _case(case_id: int, *, for_update: bool = False):
    try:
        return service.get_case(db.session, case_id, for_update=for_update)
    except service.ComplaintError as exc:
        refuse(exc)


class _Verified:
    """The case as VerificationOut reads it (with its verification call, if any)."""

    def __init__(self, case):
        self.id, self.status, self.resolution, self.resolved_at = case.id, case.status, case.resolution, case.resolved_at
        self.verification_touchpoint_id = case.verification_touchpoint_id
        from retention.journeys.models import Touchpoint

        self.verification_touchpoint = (db.session.get(Touchpoint, case.verification_touchpoint_id)
                                        if case.verification_touchpoint_id else None)


@case_api.route("/<int:case_id>/solution", methods=["POST"])
@api_roles("onboarding")
@case_api.arguments(SolutionIn)
@case_api.response(200, VerificationOut)
def post_solution(args, case_id: int):
    """Record the solution offered: the case becomes solution_offered and a verification call is scheduled for its
    owner (COMPLAINT_VERIFY_AFTER_DAYS business days later). 409 unless the case is being handled."""
    case = _case(case_id, for_update=True)
    try:
        resolution.record_solution(db.session, case, args["resolution"], now=clock.now(), actor=actor_of(g.api_user))
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return _Verified(case)


@case_api.route("/<int:case_id>/apology", methods=["POST"])
@api_roles("onboarding")
@case_api.arguments(ApologyIn)
@case_api.response(201, ApologyOut)
def post_apology(args, case_id: int):
    """Queue the apology letter for the next print batch, in the customer's language; once per case (409) unless
    `again` is true."""
    case = _case(case_id, for_update=True)
    try:
        letter = resolution.queue_apology(db.session, case, now=clock.now(), actor=actor_of(g.api_user),
                                          again=args["again"])
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return letter


@case_api.route("/<int:case_id>/concessions", methods=["GET"])
@api_roles("onboarding")
@case_api.response(200, ConcessionOut(many=True))
def list_case_concessions(case_id: int):
    """The case's concessions, oldest first."""
    return _case(case_id).concessions


@case_api.route("/<int:case_id>/concessions", methods=["POST"])
@api_roles("onboarding")
@case_api.arguments(ConcessionIn)
@case_api.response(201, ConcessionOut)
def post_concession(args, case_id: int):
    """Grant a concession in the currency of the case's sale: approved at once up to your limit in that currency,
    else pending until an admin decides."""
    case = _case(case_id, for_update=True)
    try:
        row = concessions.request(db.session, case, kind=args["kind"], amount=args["amount"], note=args["note"],
                                  staff=g.api_user, now=clock.now(), actor=actor_of(g.api_user))
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return row


@concession_api.route("/", methods=["GET"])
@api_roles("admin")
@concession_api.arguments(ConcessionQuery, location="query")
@concession_api.response(200, ConcessionOut(many=True))
def list_concessions(args):
    """Concessions by status (pending by default: those waiting for an admin), oldest first."""
    from sqlalchemy import select

    from retention.complaints.models import Concession

    if args["status"] == concessions.PENDING:
        return concessions.pending(db.session, args["limit"])
    return db.session.scalars(select(Concession).where(Concession.status == args["status"])
                              .order_by(Concession.requested_at.desc(), Concession.id.desc()).limit(args["limit"])).all()


def _decide(concession_id: int, note: str, approve: bool):
    try:
        row = concessions.get(db.session, concession_id, for_update=True)
        concessions.decide(db.session, row, approve=approve, staff=g.api_user, now=clock.now(),
                           actor=actor_of(g.api_user), note=note)
    except service.ComplaintError as exc:
        refuse(exc)
    db.session.commit()
    return row


@concession_api.route("/<int:concession_id>/approve", methods=["POST"])
@api_roles("admin")
@concession_api.arguments(DecisionIn)
@concession_api.response(200, ConcessionOut)
def approve(args, concession_id: int):
    """Approve a pending concession (409 once decided)."""
    return _decide(concession_id, args["note"], True)


@concession_api.route("/<int:concession_id>/reject", methods=["POST"])
@api_roles("admin")
@concession_api.arguments(DecisionIn)
@concession_api.response(200, ConcessionOut)
def reject(args, concession_id: int):
    """Reject a pending concession (409 once decided)."""
    return _decide(concession_id, args["note"], False)
