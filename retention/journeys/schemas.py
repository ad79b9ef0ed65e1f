"""API schemas of journeys, steps, touchpoints and outcomes."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates

from retention.calls.models import OUTCOMES, SENTIMENTS
from retention.journeys.models import ANCHORS, STEP_KINDS
from retention.journeys.service import EDIT_CHOICES


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with a Z-free offset, e.g. 2026-03-04T06:00:00+00:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(dt.timezone.utc).isoformat()


class TouchpointOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    step = fields.Function(lambda tp: tp.step.key)
    title = fields.Function(lambda tp: tp.step.title)
    due_at = UTCDateTime()
    status = fields.String()
    owner = fields.Function(lambda tp: tp.owner.email if tp.owner else None)
    outcome = fields.String(allow_none=True)
    attempts = fields.Integer()
    reason = fields.String(allow_none=True)
    customer = fields.Function(lambda tp: tp.customer.external_id)
    enrollment = fields.Integer(attribute="enrollment_id")


class TouchpointQuery(Schema):
    owner = fields.Email(load_default=None, metadata={"description": "owner's email"})
    status = fields.String(load_default=None, validate=validate.OneOf(
        ("scheduled", "open", "handed", "done", "skipped", "cancelled", "paused")))
    kind = fields.String(load_default=None, validate=validate.OneOf(STEP_KINDS))
    due_from = fields.AwareDateTime(load_default=None)
    due_to = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class OutcomeIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    notes = fields.String(load_default="", validate=validate.Length(max=5000))
    sentiment = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SENTIMENTS))
    call_back_at = fields.AwareDateTime(load_default=None, allow_none=True)


class StepSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=60))
    title = fields.String(load_default="")
    day_offset = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    kind = fields.String(required=True, validate=validate.OneOf(STEP_KINDS))
    window_start = fields.String(load_default="10:00", validate=validate.Regexp(r"^\d{2}:\d{2}$"))
    window_end = fields.String(load_default="18:00", validate=validate.Regexp(r"^\d{2}:\d{2}$"))
    business_days = fields.Boolean(load_default=True)
    condition = fields.Raw(load_default=None, allow_none=True,
                           metadata={"description": "rule as text ('latest_nps >= 9') or JSON form"})
    script = fields.String(load_default="")
    template_key = fields.String(load_default=None, allow_none=True)


class JourneyOut(Schema):
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    trigger = fields.String()
    anchor = fields.String()
    exit_events = fields.List(fields.String())
    steps = fields.List(fields.Nested(StepSchema))


class JourneyEditIn(Schema):
    name = fields.String(load_default=None)
    anchor = fields.String(load_default=None, validate=validate.OneOf(ANCHORS))
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1))
    choice = fields.String(required=True, validate=validate.OneOf(EDIT_CHOICES),
                           metadata={"description": "keep | move | new_only: what happens to customers mid-way"})

    @validates("steps")
    def _unique(self, steps, **_):
        keys = [s["key"] for s in steps]
        if len(keys) != len(set(keys)):
            raise ValidationError("Step keys must be unique.")


class ImpactOut(Schema):
    keep = fields.Integer()
    move = fields.Integer()
    new_only = fields.Integer()


class EditResultOut(Schema):
    journey = fields.Nested(JourneyOut)
    moved = fields.Integer()


class EnrollmentOut(Schema):
    id = fields.Integer()
    status = fields.String()
    journey = fields.Function(lambda e: e.journey.key)
    version = fields.Function(lambda e: e.journey.version)
    anchor_at = UTCDateTime()
    paused_at = UTCDateTime(allow_none=True)
