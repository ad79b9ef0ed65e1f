"""API schemas of journeys, steps and touchpoints."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate

from retention.journeys.models import ANCHORS, STATUSES, STEP_KINDS
from retention.journeys.service import EDIT_CHOICES, MAX_STEPS
from retention.validation import BoundedDateTime


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with a Z-free offset, e.g. 2026-03-04T06:00:00+00:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(dt.timezone.utc).isoformat()


class SaneAwareDateTime(BoundedDateTime):
    """A time staff or a client may ask about (filters, call-backs): years 1900-2200, a real offset."""

    def __init__(self, **kwargs):
        super().__init__(earliest=dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc),
                         latest=dt.datetime(2201, 1, 1, tzinfo=dt.timezone.utc),
                         year_pattern=r"(19\d\d|2[01]\d\d|2200)", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(dt.timezone.utc)


class TouchpointOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    step = fields.Function(lambda tp: tp.step.key if tp.step is not None else None)
    title = fields.Function(lambda tp: tp.step.title if tp.step is not None else None)
    purpose = fields.String(allow_none=True, metadata={
        "description": "an ad-hoc call (no journey step): why it was opened, e.g. fix_address"})
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
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    kind = fields.String(load_default=None, validate=validate.OneOf(STEP_KINDS))
    due_from = SaneAwareDateTime(load_default=None)
    due_to = SaneAwareDateTime(load_default=None)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class StepSchema(Schema):
    """The shape of a step, for the OpenAPI document and for output.

    Input is checked by journeys.service.validate_steps (the one validator of pages and API).
    """

    key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,60}$"))
    title = fields.String(load_default="", validate=validate.Length(max=200))
    day_offset = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    kind = fields.String(required=True, validate=validate.OneOf(STEP_KINDS))
    window_start = fields.String(load_default="10:00", validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    window_end = fields.String(load_default="18:00", validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    business_days = fields.Boolean(load_default=True)
    condition = fields.Raw(load_default=None, allow_none=True,
                           metadata={"description": "rule as text ('latest_nps >= 9', at most 1000 characters) "
                                                    "or JSON form"})
    scripts = fields.Dict(keys=fields.String(validate=validate.OneOf(("en", "ar", "fa"))),
                          values=fields.String(validate=validate.Length(max=5000)), load_default=dict, metadata={
                              "description": "what the caller says, per language read aloud: {\"en\": ..., "
                                             "\"ar\": ..., \"fa\": ...}; the customer's, else English, else any"})
    script = fields.String(load_default="", validate=validate.Length(max=5000), metadata={
        "description": "the English script (kept for older clients; `scripts.en` wins when both are sent)"})
    template_key = fields.String(load_default=None, allow_none=True, metadata={
        "description": "letter steps only: the letter template (default: the step key); it must exist in "
                       "en, ar and fa. NPS survey steps sent on paper: the survey letter (default: nps_survey)"})
    channel = fields.String(load_default=None, allow_none=True, metadata={
        "description": "NPS survey steps only: auto (email when the customer may be emailed, else a letter; "
                       "the default), email or letter"})


class StepsField(fields.List):
    """Steps as sent: documented as a list of StepSchema, passed through as given to validate_steps."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("Must be a list of steps.")
        return value


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
    steps = StepsField(fields.Nested(StepSchema), required=True,
                       validate=validate.Length(min=1, max=MAX_STEPS))
    choice = fields.String(required=True, validate=validate.OneOf(EDIT_CHOICES),
                           metadata={"description": "keep | move | new_only: what happens to customers mid-way"})


class ImpactIn(Schema):
    steps = StepsField(fields.Nested(StepSchema), required=True,
                       validate=validate.Length(min=1, max=MAX_STEPS))


class MoveSummaryOut(Schema):
    customers = fields.Integer(metadata={"description": "customers mid-way moved to the new version"})
    replanned = fields.Integer(metadata={"description": "steps not yet due, re-planned (matched by step key)"})
    kept = fields.Integer(metadata={"description": "due, open or held calls and steps kept as they are"})
    added = fields.Integer(metadata={"description": "steps new in this version, planned"})
    removed = fields.Integer(metadata={"description": "steps not yet due that the new version no longer has"})
    skipped = fields.Integer(metadata={"description": "re-planned steps that fall more than a day in the past"})


class ImpactOut(Schema):
    keep = fields.Integer(metadata={"description": "customers mid-way touched by keep (always 0)"})
    move = fields.Integer(metadata={"description": "customers mid-way touched by move"})
    new_only = fields.Integer(metadata={"description": "customers mid-way touched by new_only"})
    plans = fields.Dict(keys=fields.String(), values=fields.Nested(MoveSummaryOut),
                        metadata={"description": "per choice: what saving would do, step by step"})


class EditResultOut(Schema):
    journey = fields.Nested(JourneyOut)
    moved = fields.Integer()
    summary = fields.Nested(MoveSummaryOut)


class EnrollmentOut(Schema):
    id = fields.Integer()
    status = fields.String()
    journey = fields.Function(lambda e: e.journey.key)
    version = fields.Function(lambda e: e.journey.version)
    anchor_at = UTCDateTime()
    paused_at = UTCDateTime(allow_none=True)
