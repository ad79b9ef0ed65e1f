"""API schemas of calls: the outcome a caller logs."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from retention.calls.models import OUTCOMES, SENTIMENTS
from retention.journeys.schemas import SaneAwareDateTime


class OutcomeIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    notes = fields.String(load_default="", validate=validate.Length(max=5000))
    sentiment = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SENTIMENTS))
    call_back_at = SaneAwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "for call_back: when, with its offset; from now to at most a year ahead"})
    solution_held = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "a complaint's verification call that reached the customer: did the solution hold? "
                       "(required then; true closes the case, false reopens it)"})
