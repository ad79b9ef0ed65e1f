"""REST API: a staff member's absences (admins for anyone, everyone for themselves).

GET lists them, POST enters days away (a day out of range or not a date: 422 naming the field; the end before
the start, longer than 366 days or overlapping another absence: 409 naming the field), DELETE cancels one.
"""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint

from retention import clock
from retention.audit.service import actor_of
from retention.errors import refuse
from retention.extensions import db
from retention.staff import absences
from retention.staff.access import api_roles
from retention.staff.models import StaffUser
from retention.staff.schemas import AbsenceIn, AbsenceOut

blueprint = Blueprint("staff_absences_api", __name__, url_prefix="/api/v1/staff",
                      description="Staff absences: days a person is away (their calls are covered meanwhile)")

EVERYONE = ("onboarding", "marketing", "print")  # and admins; who may see or change whose: `_person`


def _person(staff_id: int) -> StaffUser:
    """The staff member, when the token's owner may manage their absences: themselves, or anyone for an admin."""
    user = g.api_user
    if user.id != staff_id and user.role != "admin":
        abort(403, description="only an admin manages other people's absences")
    person = db.session.get(StaffUser, staff_id)
    if person is None:
        abort(404, description="there is no such staff member")
    return person


@blueprint.route("/<int:staff_id>/absences")
@api_roles(*EVERYONE)
@blueprint.response(200, AbsenceOut(many=True))
def list_absences(staff_id: int):
    """The person's absences, earliest first (at most 500)."""
    return absences.list_absences(db.session, _person(staff_id).id)


@blueprint.route("/<int:staff_id>/absences", methods=["POST"])
@api_roles(*EVERYONE)
@blueprint.arguments(AbsenceIn)
@blueprint.response(201, AbsenceOut)
@blueprint.alt_response(409, description="the end before the start, longer than 366 days, or days overlapping "
                                         "another absence (the message names the field)")
def add_absence(args, staff_id: int):
    """Enter days the person is away (both ends included, days of their own calendar)."""
    person = _person(staff_id)
    try:
        absence = absences.add_absence(db.session, person, actor=actor_of(g.api_user), now=clock.now(),
                                       created_by=g.api_user, **args)
    except absences.AbsenceError as exc:
        refuse(exc)
    db.session.commit()
    return absence


@blueprint.route("/<int:staff_id>/absences/<int:absence_id>", methods=["DELETE"])
@api_roles(*EVERYONE)
@blueprint.response(204)
def cancel_absence(staff_id: int, absence_id: int):
    """Cancel one of the person's absences (calls a colleague already covers stay with them)."""
    person = _person(staff_id)
    try:
        absences.cancel_absence(db.session, absence_id, staff_id=person.id, actor=actor_of(g.api_user),
                                now=clock.now())
    except absences.AbsenceError as exc:
        refuse(exc)
    db.session.commit()
    return None
