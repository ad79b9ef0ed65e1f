"""API schemas of staff: absences (retention/staff/absences.py)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

from retention.staff import absences
from retention.validation import Text


class Day(fields.Date):
    """A day YYYY-MM-DD from 2000-01-01 to 2099-12-31 (the range absences accept; the document says so)."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)
        self.metadata.setdefault("pattern", absences.DAY_PATTERN)
        self.metadata.setdefault("description", f"a day of the person's own calendar, from "
                                                f"{absences.EARLIEST_DAY.isoformat()} to {absences.LATEST_DAY.isoformat()}")

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return absences.parse_day(attr or "day", value if isinstance(value, str) else None)
        except absences.AbsenceError as exc:
            raise ValidationError(str(exc).partition(": ")[2]) from None  # English, without the field's name


class AbsenceIn(Schema):
    starts_on = Day(required=True, metadata={"description": "the first day away (the person's own calendar)"})
    ends_on = Day(required=True, metadata={
        "description": "the last day away, inclusive: on or after starts_on, at most 366 days in all (409 otherwise)"})
    note = Text(absences.MAX_NOTE, blank=True, load_default="", metadata={"description": "e.g. holiday, sick"})


class AbsenceOut(Schema):
    id = fields.Integer()
    staff_id = fields.Integer()
    starts_on = fields.Date()
    ends_on = fields.Date()
    days = fields.Integer(metadata={"description": "days away, both ends counted"})
    note = fields.String()
    created_by = fields.Function(lambda a: a.created_by.email if a.created_by is not None else None,
                                 metadata={"description": "who entered it (email); null for a script"})
    created_at = fields.DateTime()
