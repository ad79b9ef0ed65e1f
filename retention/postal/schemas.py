"""API schemas of letter templates, letters and print batches."""
from marshmallow import Schema, fields, validate

from retention.postal.models import RETURN_REASONS
from retention.postal.service import CALENDARS, DIGITS, LANGUAGES
from retention.request_input import LimitField, PageField
from retention.validation import BoundedDateTime, Identifier, Text


class TemplateOut(Schema):
    key = fields.String()
    language = fields.String()
    version = fields.Integer()
    name = fields.String()
    body = fields.String()
    closing = fields.String()
    qr_url = fields.String()
    digits = fields.String()
    handwriting_signature = fields.Boolean()
    calendar = fields.String(metadata={"description": "the calendar of the letter's dates (gregorian; Arabic: hijri, both)"})


class TemplateIn(Schema):
    name = Text(200, blank=True, load_default="")
    body = Text(20000, multiline=True, required=True)
    closing = Text(200, blank=True, load_default="")
    qr_url = Text(500, blank=True, load_default="")
    digits = fields.String(load_default="latn", validate=validate.OneOf(DIGITS))
    handwriting_signature = fields.Boolean(load_default=True)
    calendar = fields.String(load_default="gregorian", validate=validate.OneOf(CALENDARS),
                             metadata={"description": "gregorian; Arabic templates may choose hijri (Umm al-Qura) or "
                                                      "both (Hijri, then the Gregorian date)"})


def _stage(letter) -> str:
    from retention.postal.labels import letter_stage

    return letter_stage(letter)


def _letter_actions(letter) -> list[str]:
    from retention.postal.batches import letter_actions

    return letter_actions(letter)


class LetterOut(Schema):
    id = fields.Integer()
    customer = fields.Function(lambda l: l.customer.external_id)
    template_key = fields.String()
    language = fields.String()
    status = fields.String()
    stage = fields.Function(_stage, metadata={"description": "where the letter stands: queued, left_out (not laid "
                                                             "out, see error), building, ready, failed (its batch), "
                                                             "printed, mailed, returned, cancelled (never printed: "
                                                             "the customer opted out of letters)"})
    actions = fields.Function(_letter_actions, metadata={"description": "what its state allows: reprint, returned, "
                                                                        "undo_return"})
    reprint_count = fields.Integer()
    batch_id = fields.Integer(allow_none=True)
    first_page = fields.Integer(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class LetterQuery(Schema):
    status = fields.String(load_default="queued", validate=validate.OneOf(("queued", "printed", "mailed", "returned")))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class BatchIn(Schema):
    template_key = Identifier(60, load_default=None)
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z]{2}$"))
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))
    since = BoundedDateTime(load_default=None)
    until = BoundedDateTime(load_default=None)
    duplex = fields.Boolean(load_default=False)


def _batch_actions(batch) -> list[str]:
    from retention import clock
    from retention.postal.batches import batch_actions

    return batch_actions(batch, clock.now())


class BatchOut(Schema):
    id = fields.Integer()
    status = fields.String()
    actions = fields.Function(_batch_actions, metadata={"description": "what its state allows: printed, mailed, "
                                                                       "rebuild (any other is refused with 409)"})
    total = fields.Integer()
    done = fields.Integer()
    skipped = fields.Integer()
    pages = fields.Integer()
    duplex = fields.Boolean()
    filters = fields.Dict()
    created_at = fields.AwareDateTime()


class ReturnIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(RETURN_REASONS))
    note = Text(500, blank=True, multiline=True, load_default="",
                metadata={"description": "required when the reason is other"})


class ReturnOut(Schema):
    id = fields.Integer()
    letter_id = fields.Integer()
    customer = fields.Function(lambda r: r.customer.external_id)
    reason = fields.String()
    note = fields.String()
    returned_at = fields.AwareDateTime()
    recorded_by = fields.String()
    call_id = fields.Integer(allow_none=True, metadata={"description": "the owner's call to fix the address"})
    undone_at = fields.AwareDateTime(allow_none=True)
    undone_by = fields.String(allow_none=True)


class ReturnQuery(Schema):
    reason = fields.String(load_default=None, validate=validate.OneOf(RETURN_REASONS))
    since = BoundedDateTime(load_default=None)
    until = BoundedDateTime(load_default=None)
    page = PageField()
    limit = LimitField(default=50)
