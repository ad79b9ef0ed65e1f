"""REST API: surveys, NPS responses and the NPS figures (marketing; onboarding reads surveys and responses)."""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from sqlalchemy import select

from retention import clock
from retention.customers.models import Customer
from retention.extensions import db
from retention.staff.access import api_roles
from retention.staff.policy import customer_access
from retention.surveys import reports
from retention.surveys.models import NpsAnswer, Survey, nps_category
from retention.surveys.schemas import (
    NpsFiguresOut, NpsFiguresQuery, NpsResponseOut, NpsResponseQuery, SurveyOut, SurveyQuery,
)

surveys = Blueprint("surveys_api", __name__, url_prefix="/api/v1/surveys", description="NPS surveys")
nps = Blueprint("nps_api", __name__, url_prefix="/api/v1/nps", description="NPS responses and figures")
READERS = ("marketing", "onboarding")


def _with_score(rows: list[Survey]) -> list[Survey]:
    scores = dict(db.session.execute(select(NpsAnswer.survey_id, NpsAnswer.score)
                                     .where(NpsAnswer.survey_id.in_([s.id for s in rows]))).all()) if rows else {}
    for survey in rows:
        survey.score = scores.get(survey.id)
    return rows


@surveys.route("/")
@api_roles(*READERS)
@surveys.arguments(SurveyQuery, location="query")
@surveys.response(200, SurveyOut(many=True))
def list_surveys(args):
    """Surveys by id (after_id pages on), optionally of one status or customer."""
    query = select(Survey).where(Survey.id > args["after_id"]).order_by(Survey.id).limit(args["limit"])
    if args["status"]:
        query = query.where(Survey.status == args["status"])
    if args["customer"]:
        query = query.join(Customer, Survey.customer_id == Customer.id).where(Customer.external_id == args["customer"])
    return _with_score(db.session.scalars(query).all())


@surveys.route("/<int:survey_id>")
@api_roles(*READERS)
@surveys.response(200, SurveyOut)
def get_survey(survey_id: int):
    """One survey, with the answer that stands."""
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        abort(404, description="survey: no such survey")
    return _with_score([survey])[0]


@nps.route("/responses")
@api_roles(*READERS)
@nps.arguments(NpsResponseQuery, location="query")
@nps.response(200, NpsResponseOut(many=True))
def list_responses(args):
    """Answers oldest first (after_id pages on); the customer only for roles that read private text."""
    since = reports.since_for(args["period"], clock.now())
    private = customer_access(g.api_user).private_text
    out = []
    for r in reports.rows(db.session, since):
        if r.answer_id <= args["after_id"]:
            continue
        if args["nps_class"] and nps_category(r.score) != args["nps_class"]:
            continue
        out.append({"id": r.answer_id, "survey_id": r.survey_id, "customer": r.customer_ref if private else None,
                    "score": r.score, "nps_class": nps_category(r.score), "comment": r.comment, "channel": r.channel,
                    "language": r.language, "product": r.product, "sale_month": r.cohort, "owner": r.owner,
                    "answered_at": r.answered_at})
    out.sort(key=lambda item: item["id"])
    return out[:args["limit"]]


def _groups(groups) -> list[dict]:
    return [{"key": key, **f.as_dict()} for key, f in groups]


@nps.route("/figures")
@api_roles("marketing")
@nps.arguments(NpsFiguresQuery, location="query")
@nps.response(200, NpsFiguresOut)
def figures(args):
    """NPS with its 95% margin of error, by month, cohort, product, owner and language; scores; response rates."""
    data = reports.figures(db.session, reports.since_for(args["period"], clock.now()))
    return {"total": {"key": None, **data["total"].as_dict()}, "distribution": data["total"].scores,
            "months": _groups(data["months"]), "cohorts": _groups(data["cohorts"]),
            "products": _groups(data["products"]), "owners": _groups(data["owners"]),
            "languages": _groups(data["languages"]), "response_rates": data["response_rates"]}
