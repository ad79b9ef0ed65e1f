"""API shapes: surveys, NPS responses and the NPS figures."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from retention.request_input import QueryText
from retention.surveys.models import STATUSES
from retention.surveys.reports import CLASSES, PERIODS


class SurveyQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    customer = QueryText(120, load_default=None, metadata={"description": "the customer's id (external)"})
    after_id = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1),
                              metadata={"description": "only surveys with a larger id (the next page)"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class SurveyOut(Schema):
    id = fields.Integer()
    customer = fields.Function(lambda s: s.customer.external_id)
    status = fields.String(metadata={"description": "to_send, sent, answered, closed or skipped"})
    wanted_channel = fields.String(metadata={"description": "the step's choice: auto, email or letter"})
    channel = fields.String(allow_none=True, metadata={"description": "how it went: email or letter"})
    reason = fields.String(allow_none=True, metadata={"description": "why it was skipped or waits"})
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    score = fields.Integer(allow_none=True, metadata={"description": "the answer that stands (0-10), if any"})


class NpsResponseQuery(Schema):
    nps_class = fields.String(data_key="class", load_default=None, validate=validate.OneOf(CLASSES))
    period = fields.String(load_default="all", validate=validate.OneOf(tuple(PERIODS)))
    after_id = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class NpsResponseOut(Schema):
    id = fields.Integer()
    survey_id = fields.Integer(allow_none=True)
    customer = fields.String(allow_none=True, metadata={"description": "null for roles that do not read private text"})
    score = fields.Integer()
    nps_class = fields.String(data_key="class")
    comment = fields.String(allow_none=True)
    channel = fields.String()
    language = fields.String()
    product = fields.String(allow_none=True)
    sale_month = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    answered_at = fields.DateTime()


class NpsFiguresQuery(Schema):
    period = fields.String(load_default="12", validate=validate.OneOf(tuple(PERIODS)))


class NpsGroupOut(Schema):
    key = fields.String(allow_none=True)
    responses = fields.Integer()
    promoters = fields.Integer()
    passives = fields.Integer()
    detractors = fields.Integer()
    nps = fields.Float(allow_none=True)
    margin_of_error = fields.Float(allow_none=True, metadata={"description": "95%, in points"})


class NpsRateOut(Schema):
    channel = fields.String(allow_none=True)
    sent = fields.Integer()
    answered = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "percent answered"})


class NpsFiguresOut(Schema):
    total = fields.Nested(NpsGroupOut)
    distribution = fields.List(fields.Integer(), metadata={"description": "answers per score 0..10"})
    months = fields.List(fields.Nested(NpsGroupOut))
    cohorts = fields.List(fields.Nested(NpsGroupOut))
    products = fields.List(fields.Nested(NpsGroupOut))
    owners = fields.List(fields.Nested(NpsGroupOut))
    languages = fields.List(fields.Nested(NpsGroupOut))
    response_rates = fields.List(fields.Nested(NpsRateOut))
