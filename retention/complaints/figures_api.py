"""REST API of steps 3 and 5: the complaint queue (what is due first) and the figures (per category per week,
alerts, time to first response and to a solution per month in business hours)."""
from __future__ import annotations

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from retention import clock
from retention.complaints import sla, trends
from retention.extensions import db
from retention.journeys.schemas import UTCDateTime
from retention.staff.access import api_roles

blueprint = Blueprint("complaint_figures_api", __name__, url_prefix="/api/v1/complaints",
                      description="The complaint queue and complaint figures")


class ComplaintQueueQuery(Schema):
    who = fields.String(load_default="all", validate=validate.OneOf(("mine", "all")), metadata={
        "description": "mine: cases the token's owner handles; all: everyone's"})
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class ComplaintQueueItemOut(Schema):
    id = fields.Function(lambda item: item.case.id)
    customer = fields.Function(lambda item: item.case.customer.external_id)
    category = fields.Function(lambda item: item.case.category)
    severity = fields.Function(lambda item: item.case.severity)
    status = fields.Function(lambda item: item.case.status)
    owner = fields.Function(lambda item: item.case.owner.email if item.case.owner else None,
                            metadata={"type": "string", "nullable": True})
    target = fields.String(allow_none=True, metadata={"description": "the nearest unmet target: first_response or "
                                                                     "resolution; null when the case has none"})
    due_at = UTCDateTime(allow_none=True)
    business_seconds_left = fields.Function(
        lambda item: None if item.left is None else int(item.left.total_seconds()),
        metadata={"type": "integer", "nullable": True,
                  "description": "business time left on the owner's calendar; negative when overdue"})
    breached = fields.Boolean()
    near = fields.Boolean(metadata={"description": "within COMPLAINT_NEAR_BREACH_HOURS business hours of its target"})
    escalated = fields.Boolean()


class ComplaintWeekOut(Schema):
    week = fields.Date(metadata={"description": "Monday of the ISO week (UTC)"})
    count = fields.Integer()


class ComplaintCategoryWeeksOut(Schema):
    category = fields.String()
    weeks = fields.List(fields.Nested(ComplaintWeekOut))


class ComplaintAlertOut(Schema):
    category = fields.String()
    customers = fields.Integer(metadata={"description": "different customers in the last seven days"})
    cases = fields.Integer()
    since = UTCDateTime()


class ComplaintMonthOut(Schema):
    month = fields.Date(metadata={"description": "first day of the month (UTC) the cases were opened in"})
    opened = fields.Integer()
    responded = fields.Integer()
    first_response_median_hours = fields.Decimal(as_string=True, allow_none=True, attribute="first_median")
    first_response_p90_hours = fields.Decimal(as_string=True, allow_none=True, attribute="first_p90")
    solved = fields.Integer()
    solution_median_hours = fields.Decimal(as_string=True, allow_none=True, attribute="solution_median")
    solution_p90_hours = fields.Decimal(as_string=True, allow_none=True, attribute="solution_p90")


class ComplaintFiguresOut(Schema):
    per_category_per_week = fields.List(fields.Nested(ComplaintCategoryWeeksOut))
    alerts = fields.List(fields.Nested(ComplaintAlertOut))
    alert_threshold = fields.Integer()
    times = fields.List(fields.Nested(ComplaintMonthOut), metadata={
        "description": "business hours on the owner's calendar; median and 90th percentile (nearest rank)"})


@blueprint.route("/queue")
@api_roles("onboarding")
@blueprint.arguments(ComplaintQueueQuery, location="query")
@blueprint.response(200, ComplaintQueueItemOut(many=True))
def get_queue(args):
    """Open cases whose solution is still owed, the nearest unmet target first."""
    owner_id = g.api_user.id if args["who"] == "mine" else None
    return sla.queue(db.session, clock.now(), owner_id=owner_id, limit=args["limit"])


@blueprint.route("/figures")
@api_roles("onboarding", "marketing")
@blueprint.response(200, ComplaintFiguresOut)
def get_figures():
    """Complaints per category per week (eight weeks), the same-category alerts, response and solution times per
    month (six months)."""
    threshold = current_app.config["COMPLAINT_TREND_THRESHOLD"]
    found = trends.figures(db.session, clock.now(), threshold)
    weekly = found["weekly"]
    return {"per_category_per_week": [
                {"category": key, "weeks": [{"week": w, "count": n} for w, n in zip(weekly["weeks"], counts)]}
                for key, counts in weekly["categories"].items()],
            "alerts": found["alerts"], "alert_threshold": threshold, "times": found["times"]}
